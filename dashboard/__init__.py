"""The Streamlit dashboard over run directories (``harness dashboard``); ``app.py`` and
``views/`` are the app's scripts, the rest are its data helpers.

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "Divergence": "dashboard.compare",
    "FILL_KEYS": "dashboard.compare",
    "ORDER_KEYS": "dashboard.compare",
    "first_divergence": "dashboard.compare",
    "headline_deltas": "dashboard.compare",
    "OPEN_RUN_ENV": "dashboard.data",
    "RUNS_DIR_ENV": "dashboard.data",
    "digest": "dashboard.data",
    "load_price": "dashboard.data",
    "load_rows": "dashboard.data",
    "load_summary": "dashboard.data",
    "runs_dir": "dashboard.data",
    "runs_in": "dashboard.data",
    "selected_run": "dashboard.data",
    "sweeps_in": "dashboard.data",
    "dashboard_command": "dashboard.launch",
    "dashboard_environment": "dashboard.launch",
    "streamlit_command": "dashboard.launch",
    "NO_FAULT": "dashboard.matrix",
    "scenario_matrix": "dashboard.matrix",
    "RunEntry": "dashboard.runs",
    "SweepEntry": "dashboard.runs",
    "find_runs": "dashboard.runs",
    "find_sweeps": "dashboard.runs",
    "resolve_run": "dashboard.runs",
}

__all__ = [
    "FILL_KEYS",
    "NO_FAULT",
    "OPEN_RUN_ENV",
    "ORDER_KEYS",
    "RUNS_DIR_ENV",
    "Divergence",
    "RunEntry",
    "SweepEntry",
    "dashboard_command",
    "dashboard_environment",
    "digest",
    "find_runs",
    "find_sweeps",
    "first_divergence",
    "headline_deltas",
    "load_price",
    "load_rows",
    "load_summary",
    "resolve_run",
    "runs_dir",
    "runs_in",
    "scenario_matrix",
    "selected_run",
    "streamlit_command",
    "sweeps_in",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from dashboard.compare import FILL_KEYS, ORDER_KEYS, Divergence, first_divergence, headline_deltas
    from dashboard.data import (
        OPEN_RUN_ENV,
        RUNS_DIR_ENV,
        digest,
        load_price,
        load_rows,
        load_summary,
        runs_dir,
        runs_in,
        selected_run,
        sweeps_in,
    )
    from dashboard.launch import dashboard_command, dashboard_environment, streamlit_command
    from dashboard.matrix import NO_FAULT, scenario_matrix
    from dashboard.runs import RunEntry, SweepEntry, find_runs, find_sweeps, resolve_run

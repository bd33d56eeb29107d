"""The dashboard's cached reads of run directories (``st.cache_data`` keyed by path and manifest digest).

Every loader takes the run's path and ``reports.run_source.manifest_digest`` of it: a run that
changes (its metrics written, a rerun replacing it) gets a new digest, so a stale entry is never
served. Values are plain rows (lists of dicts), which Streamlit can cache; a loader reads only
the tables it returns, and the price line is downsampled from Arrow batches
(``reports.market_data``), so a long run is never read whole.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard.runs import RunEntry, SweepEntry, find_runs, find_sweeps, resolve_run
from reports.market_data import PriceSeries
from reports.run_source import manifest_digest
from reports.run_view import RunView

__all__ = ["OPEN_RUN_ENV", "RUNS_DIR_ENV", "digest", "load_price", "load_rows", "load_summary", "runs_dir", "runs_in",
           "selected_run", "sweeps_in"]

RUNS_DIR_ENV = "HARNESS_RUNS_DIR"
OPEN_RUN_ENV = "HARNESS_OPEN_RUN"


def runs_dir() -> Path:
    """The runs folder the dashboard shows (``harness dashboard RUNS_DIR`` sets ``HARNESS_RUNS_DIR``)."""
    return Path(os.environ.get(RUNS_DIR_ENV, "runs"))


def digest(path: Path) -> str:
    """The cache key part that changes with the run."""
    return manifest_digest(path)


def runs_in(root: Path) -> list[RunEntry]:
    """The runs under ``root`` (not cached: listing a folder is cheap and must see new runs)."""
    return find_runs(root)


def sweeps_in(root: Path) -> list[SweepEntry]:
    """The sweep folders under ``root``."""
    return find_sweeps(root)


@st.cache_data(max_entries=512, show_spinner=False)
def load_summary(path: str, key: str) -> dict[str, Any]:
    """Headline figures of one run for the run list (computes its metrics once if missing)."""
    view = RunView(Path(path))
    return {"summary": view.summary(), "headline": view.headline, "error": view.source.error}


@st.cache_data(max_entries=256, show_spinner=False)
def load_rows(path: str, key: str, table: str) -> list[dict[str, Any]]:
    """The rows of one table (a run table or a ``metrics_*`` table) of one run."""
    view = RunView(Path(path))
    if table.startswith("metrics_"):
        return view.metric(table)
    return view.source.rows(table)


@st.cache_data(max_entries=64, show_spinner=False)
def load_price(path: str, key: str, market: tuple[str, str], window: tuple[int, int] | None = None,
               max_points: int = 2000) -> PriceSeries | None:
    """The downsampled price of one market of one run (None when its market data is not found)."""
    start, end = window if window is not None else (None, None)
    return RunView(Path(path)).price(market[0], market[1], start_ns=start, end_ns=end, max_points=max_points)


def selected_run(root: Path, key: str | None) -> Path | None:
    """The run directory of a page's ``run`` query parameter (or the one the launcher was asked to open)."""
    return resolve_run(root, key or os.environ.get(OPEN_RUN_ENV, ""))

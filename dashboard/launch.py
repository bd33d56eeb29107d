"""``harness dashboard [RUNS_DIR] [--port N] [--run RUN_ID]``: start Streamlit on the dashboard app.

The app (``dashboard/app.py``) learns the runs folder and the run to open from environment
variables (``HARNESS_RUNS_DIR``, ``HARNESS_OPEN_RUN``), and imports this package from the same
place this module was imported from (``PYTHONPATH``), so a checkout runs its own dashboard.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["dashboard_command", "dashboard_environment", "streamlit_command"]

APP = Path(__file__).resolve().parent / "app.py"


def streamlit_command(port: int, *, headless: bool, address: str | None = None) -> list[str]:
    """The ``streamlit run`` command line of the dashboard."""
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
               "--server.headless", "true" if headless else "false", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal"]
    if address:
        command += ["--server.address", address]
    return command


def dashboard_environment(runs_dir: Path, run: str | None) -> dict[str, str]:
    """The environment of the Streamlit process: runs folder, run to open, this checkout first on the path."""
    env = dict(os.environ)
    env["HARNESS_RUNS_DIR"] = str(runs_dir.resolve())
    if run:
        env["HARNESS_OPEN_RUN"] = run
    root = str(APP.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    return env


def dashboard_command(runs_dir: Path, *, port: int = 8501, run: str | None = None, headless: bool = False,
                      extra: Sequence[str] = ()) -> int:
    """Run the dashboard until it is stopped; 2 when ``runs_dir`` is not a folder."""
    if not runs_dir.is_dir():
        print(f"harness dashboard: {runs_dir}: no such folder (write runs with harness demo/replay/sweep --out)",
              file=sys.stderr)
        return 2
    print(f"dashboard of {runs_dir} on http://localhost:{port}/" + (f"run?run={run}" if run else ""))
    try:
        return subprocess.call([*streamlit_command(port, headless=headless), *extra],
                               env=dashboard_environment(runs_dir, run))
    except KeyboardInterrupt:
        return 0

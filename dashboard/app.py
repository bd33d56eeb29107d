"""The Streamlit dashboard over a folder of run directories: ``harness dashboard [RUNS_DIR]``.

Four pages (``dashboard/views/``; not ``pages/``, which Streamlit would also list on its own):
the run list, a run, a comparison of runs, and the scenario matrix of a sweep. Each reads run
directories only (``dashboard.data``), with caching. Started with ``--run RUN_ID``, the run page
opens first.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent

st.set_page_config(page_title="exec-harness runs", layout="wide")
open_run = bool(os.environ.get("HARNESS_OPEN_RUN"))
pages = [
    st.Page(str(HERE / "views" / "runs.py"), title="Runs", url_path="runs", default=not open_run),
    st.Page(str(HERE / "views" / "run.py"), title="Run", url_path="run", default=open_run),
    st.Page(str(HERE / "views" / "compare.py"), title="Compare runs", url_path="compare"),
    st.Page(str(HERE / "views" / "matrix.py"), title="Scenario matrix", url_path="matrix"),
]
st.navigation(pages).run()

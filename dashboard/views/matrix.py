"""Scenario matrix across a sweep: faults x invariants, how many runs passed each."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard.data import digest, load_rows, runs_dir, runs_in, sweeps_in
from dashboard.matrix import scenario_matrix

st.title("Scenario matrix")
root = runs_dir()
sweeps = sweeps_in(root)
choices = [s.key for s in sweeps] + ["(all runs)"]
asked = st.query_params.get("sweep")
choice = st.selectbox("sweep", choices, index=choices.index(asked) if asked in choices else 0)
st.query_params["sweep"] = choice
entries = runs_in(root)
if choice != "(all runs)":
    sweep = next(s for s in sweeps if s.key == choice)
    entries = [e for e in entries if e.sweep == choice]
    grid = sweep.manifest.get("grid", {})
    st.caption(f"sweep {choice}: {len(entries)} runs; grid {grid}; status {sweep.manifest.get('status', '?')}")
if not entries:
    st.info(f"No runs in {root}" + ("" if choice == "(all runs)" else f" for sweep {choice}") + ".")
    st.stop()

per_run = {}
for entry in entries:
    version = digest(entry.path)
    per_run[entry.key] = (load_rows(str(entry.path), version, "metrics_faults"),
                          load_rows(str(entry.path), version, "metrics_invariants"))
faults, invariants, cells = scenario_matrix(per_run)
if not invariants:
    st.info("No run here checked invariants (plain replays have no scorecard); the matrix needs fault scenarios.")
else:
    table = pd.DataFrame([{"fault": f, **{i: (f"{cells[(f, i)][0]}/{cells[(f, i)][1]}" if (f, i) in cells else "")
                                          for i in invariants}} for f in faults])

    def colour(value: object) -> str:
        if not isinstance(value, str) or "/" not in value:
            return ""
        passed, total = value.split("/")
        return f"background-color: {'#cfc' if passed == total else '#fcc'}"

    columns: list[Any] = list(invariants)
    st.dataframe(table.style.map(colour, subset=columns), hide_index=True, width="stretch")
    st.caption("cell: runs that passed the invariant / runs with that fault that checked it")

st.header("Runs")
st.dataframe(pd.DataFrame([{"run": e.key, "status": e.status, "seed": e.seed, "params": e.params,
                            "faults": ", ".join(sorted({str(f["kind"]) for f in per_run[e.key][0]})) or "-",
                            "failed invariants": ", ".join(str(i["invariant"]) for i in per_run[e.key][1]
                                                           if not i["passed"]) or "-",
                            "open": f"run?run={e.key}"} for e in entries]),
             hide_index=True, width="stretch",
             column_config={"open": st.column_config.LinkColumn("open", display_text="open run")})

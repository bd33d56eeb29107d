"""Run list: every run of the runs folder with strategy, scenario, seed, status and headline figures."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.data import digest, load_summary, runs_dir, runs_in

st.title("Runs")
root = runs_dir()
entries = runs_in(root)
if not entries:
    st.info(f"No runs in {root}. Write one with `harness demo --out {root}` or `harness replay ... --out {root}`.")
    st.stop()

rows = []
for entry in entries:
    figures = load_summary(str(entry.path), digest(entry.path))["summary"]
    rows.append({"run": entry.key, "sweep": entry.sweep, "strategy": entry.strategy, "scenario": entry.scenario,
                 "seed": entry.seed, "params": entry.params, "status": entry.status, **figures,
                 "open": f"run?run={entry.key}"})
frame = pd.DataFrame(rows)

left, middle, right = st.columns(3)
statuses = left.multiselect("status", sorted(frame["status"].unique()), default=sorted(frame["status"].unique()))
strategies = middle.multiselect("strategy", sorted(frame["strategy"].unique()))
text = right.text_input("run, sweep or params contain")
shown = frame[frame["status"].isin(statuses)]
if strategies:
    shown = shown[shown["strategy"].isin(strategies)]
if text:
    shown = shown[shown["run"].str.contains(text, regex=False) | shown["sweep"].str.contains(text, regex=False)
                  | shown["params"].str.contains(text, regex=False)]
st.caption(f"{len(shown)} of {len(frame)} runs in {root}; figures from each run's metrics_headline")
st.dataframe(shown, hide_index=True, width="stretch",
             column_config={"open": st.column_config.LinkColumn("open", display_text="open run")})
failed = shown[shown["status"] != "complete"]
if len(failed):
    st.warning(f"{len(failed)} run(s) not complete: " + ", ".join(f"{r.run} ({r.status})" for r in failed.itertuples()))

"""Compare two or more runs: headline deltas, PnL side by side, and where their orders or fills first diverge."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard.compare import FILL_KEYS, ORDER_KEYS, first_divergence, headline_deltas
from dashboard.data import digest, load_rows, load_summary, runs_dir, runs_in

st.title("Compare runs")
root = runs_dir()
entries = {e.key: e for e in runs_in(root)}
if len(entries) < 2:
    st.info(f"Comparing needs two runs; {root} holds {len(entries)}.")
    st.stop()
asked = [k for k in (st.query_params.get("runs") or "").split(",") if k in entries]
chosen = st.multiselect("runs (the first is the baseline)", list(entries), default=asked or list(entries)[:2])
if len(chosen) < 2:
    st.info("Choose two or more runs.")
    st.stop()
st.query_params["runs"] = ",".join(chosen)
versions = {k: digest(entries[k].path) for k in chosen}

st.header("Headline")
headlines = {k: load_summary(str(entries[k].path), versions[k])["headline"] for k in chosen}
deltas = pd.DataFrame(headline_deltas(headlines))
only_changed = st.checkbox("only figures that differ", value=False)
if only_changed:
    deltas = deltas[deltas[chosen].nunique(axis=1) > 1]
st.dataframe(deltas, hide_index=True, width="stretch")

st.header("Where they diverge")
base = chosen[0]
for other in chosen[1:]:
    for table, keys in (("orders", ORDER_KEYS), ("fills", FILL_KEYS)):
        left = load_rows(str(entries[base].path), versions[base], table)
        right = load_rows(str(entries[other].path), versions[other], table)
        found = first_divergence(left, right, keys)
        if found is None:
            st.success(f"{table}: {base} and {other} agree on all {len(left)} rows")
            continue
        when = next((t for t in found.ts_ns if t is not None), None)
        stamp = pd.Timestamp(when, unit="ns", tz="UTC") if when is not None else "-"
        st.warning(f"{table}: {base} and {other} first differ at row {found.index} ({stamp})")
        st.dataframe(pd.DataFrame([{"run": base, **(found.left or {})}, {"run": other, **(found.right or {})}]),
                     hide_index=True, width="stretch")

st.header("PnL")
fig = go.Figure()
for k in chosen:
    pnl = load_rows(str(entries[k].path), versions[k], "metrics_pnl")
    for instrument in sorted({str(r["instrument"]) for r in pnl}):
        points = [r for r in pnl if r["instrument"] == instrument]
        fig.add_trace(go.Scatter(x=[pd.Timestamp(int(r["ts_ns"]), unit="ns", tz="UTC").isoformat() for r in points],
                                 y=[float(str(r["total_pnl"])) for r in points], mode="lines",
                                 line={"shape": "hv"}, name=f"{k} {instrument}"))
fig.update_layout(title="total PnL per run", height=380, legend={"orientation": "h"})
st.plotly_chart(fig, width="stretch")

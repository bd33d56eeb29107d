"""One run: price with our orders and fills, PnL and drawdown, positions, latency, rate limits, faults, scorecard."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.data import digest, load_price, load_rows, load_summary, runs_dir, runs_in, selected_run
from reports import charts

root = runs_dir()
entries = runs_in(root)
if not entries:
    st.title("Run")
    st.info(f"No runs in {root}.")
    st.stop()
keys = [e.key for e in entries]
wanted = selected_run(root, st.query_params.get("run"))
current = wanted.relative_to(root.resolve()).as_posix() if wanted is not None else keys[0]
key = st.selectbox("run", keys, index=keys.index(current) if current in keys else 0)
st.query_params["run"] = key
entry = next(e for e in entries if e.key == key)
path, version = str(entry.path), digest(entry.path)

st.title(f"Run {entry.key}")
summary = load_summary(path, version)
if entry.status == "failed":
    st.error(f"This run FAILED: {summary['error'] or 'no error recorded'}. Its tables hold what it recorded before.")
elif entry.status != "complete":
    st.warning(f"This run is INCOMPLETE (status {entry.status}): still running or killed; its tables are partial.")
st.caption(f"strategy {entry.strategy} · scenario {entry.scenario} · seed {entry.seed} · params {entry.params or '-'}")

figures = summary["summary"]
cols = st.columns(6)
for col, (label, name) in zip(cols, [("orders", "orders"), ("fills", "fills"), ("fill ratio", "fill_ratio"),
                                     ("PnL", "pnl_total"), ("max drawdown", "pnl_max_drawdown"),
                                     ("invariants failed", "invariants_failed")], strict=True):
    value = figures.get(name, "")
    col.metric(label, format(Decimal(value), ".6g") if value else "n/a")  # display only: 6 significant digits
with st.expander("all headline figures"):
    st.dataframe(pd.DataFrame(summary["headline"]), hide_index=True, width="stretch")


def rows(table: str) -> list[dict[str, Any]]:
    return load_rows(path, version, table)


orders, fills = rows("metrics_orders"), rows("metrics_fills")
markets = sorted({(str(o["venue"]), str(o["symbol"])) for o in orders})
st.header("Price, orders and fills")
if markets:
    venue, symbol = st.selectbox("market", markets, format_func=lambda m: f"{m[0]} {m[1]}")
    times = [int(o["created_ns"]) for o in orders] + [int(f["ts_ns"]) for f in fills]
    first, last = min(times), max(times) + 1
    span_s = max(1, (last - first) // 10**9)
    window = st.slider("window (seconds from the first order)", 0, int(span_s), (0, int(span_s)))
    start, end = first + window[0] * 10**9, first + window[1] * 10**9 + 10**9
    price = load_price(path, version, (venue, symbol), (start, end))
    if price is None:
        st.caption("market data not found: no price line (the manifest names the files; see reports.run_source)")
    in_window = [o for o in orders if (o["venue"], o["symbol"]) == (venue, symbol) and start <= o["created_ns"] <= end]
    fills_in = [f for f in fills if (f["venue"], f["symbol"]) == (venue, symbol) and start <= f["ts_ns"] <= end]
    st.plotly_chart(charts.price_figure(price, in_window, fills_in), width="stretch")
else:
    st.caption("no orders")

st.header("PnL and drawdown")
st.plotly_chart(charts.pnl_figure(rows("metrics_pnl")), width="stretch")

st.header("Positions")
final = rows("positions_final")
instrument_of = {(str(p["venue"]), str(p["symbol"])): str(p["instrument"]) for p in final if not p.get("aggregate")}
st.plotly_chart(charts.positions_figure(rows("positions"), instrument_of), width="stretch")
st.dataframe(pd.DataFrame(final), hide_index=True, width="stretch")

st.header("Latency per leg")
st.plotly_chart(charts.latency_histograms(rows("metrics_latency")), width="stretch")
st.dataframe(pd.DataFrame(rows("metrics_latency_summary")), hide_index=True, width="stretch")

st.header("Rate-limit usage")
st.plotly_chart(charts.rate_limit_figure(rows("metrics_rate_limits")), width="stretch")

st.header("Faults beside orders")
faults = rows("metrics_faults")
st.plotly_chart(charts.fault_timeline(faults, orders, fills), width="stretch")
if faults:
    st.dataframe(pd.DataFrame(faults), hide_index=True, width="stretch")

st.header("Invariant scorecard")
scorecard = rows("metrics_invariants")
if scorecard:
    frame = pd.DataFrame(scorecard)
    frame.insert(1, "result", ["PASS" if p else "FAIL" for p in frame["passed"]])
    st.dataframe(frame.style.map(lambda v: f"background-color: {'#cfc' if v == 'PASS' else '#fcc'}",
                                 subset=["result"]), hide_index=True, width="stretch")
else:
    st.caption("no invariants checked (a plain replay has no scorecard)")

routing = rows("metrics_routing")
if routing:
    st.header("Routing decisions")
    st.dataframe(pd.DataFrame(routing), hide_index=True, width="stretch")

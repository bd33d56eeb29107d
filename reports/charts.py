"""Plotly figures of a run, shared by the static report and the dashboard.

Each function takes the rows it draws (from ``reports.metrics`` tables or the run's own) and
returns a ``plotly.graph_objects.Figure``. Values become floats here and only here: a chart
needs numbers, the tables keep the exact decimals. Times are drawn as UTC datetimes.

Large runs: the price line comes downsampled (``reports.market_data.price_series``), and marker
series are thinned to at most ``MAX_MARKERS`` evenly spaced points (the same points every time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reports.market_data import PriceSeries

__all__ = ["MAX_MARKERS", "fault_timeline", "latency_histograms", "pnl_figure", "positions_figure",
           "price_figure", "rate_limit_figure", "thin"]

MAX_MARKERS = 20_000
SIDE_COLOURS = {"BUY": "#1a9850", "SELL": "#d73027"}


def thin(rows: Sequence[Mapping[str, Any]], limit: int = MAX_MARKERS) -> list[Mapping[str, Any]]:
    """At most ``limit`` of ``rows``, evenly spaced, first and order kept."""
    if len(rows) <= limit:
        return list(rows)
    step = len(rows) / limit
    return [rows[int(i * step)] for i in range(limit)]


def _times(values: Sequence[int]) -> list[str]:
    """Int nanoseconds as UTC date strings to the microsecond (what a chart axis resolves; no float on the way)."""
    stamps = np.asarray([int(v) for v in values], dtype=np.int64).astype("datetime64[ns]")
    return [str(t) for t in np.datetime_as_string(stamps, unit="us")]


def _f(value: object) -> float | None:
    return None if value is None else float(str(value))


def _empty(title: str, note: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, annotations=[{"text": note, "showarrow": False, "x": 0.5, "y": 0.5,
                                                 "xref": "paper", "yref": "paper"}],
                      xaxis={"visible": False}, yaxis={"visible": False}, height=260)
    return fig


def price_figure(series: PriceSeries | None, orders: Sequence[Mapping[str, Any]],
                 fills: Sequence[Mapping[str, Any]], *, title: str = "Price, our orders and fills") -> go.Figure:
    """The market price (downsampled: last per bucket, with its low-high band), our orders at their limit
    price and time of creation, and our fills at their price and time; zoomable."""
    fig = go.Figure()
    if series is not None and len(series):
        x = _times(series.ts_ns.tolist())
        fig.add_trace(go.Scattergl(x=x, y=series.high, mode="lines", line={"width": 0}, showlegend=False,
                                   hoverinfo="skip", name="high"))
        fig.add_trace(go.Scattergl(x=x, y=series.low, mode="lines", line={"width": 0}, fill="tonexty",
                                   fillcolor="rgba(100,100,200,0.2)", name="low-high", hoverinfo="skip"))
        fig.add_trace(go.Scattergl(x=x, y=series.last, mode="lines", name=f"price ({series.source})",
                                   line={"color": "#4444aa", "width": 1}))
    for side in ("BUY", "SELL"):
        placed = thin([o for o in orders if o["side"] == side and o.get("price") is not None])
        if placed:
            fig.add_trace(go.Scattergl(x=_times([o["created_ns"] for o in placed]), y=[_f(o["price"]) for o in placed],
                                       mode="markers", name=f"{side.lower()} orders",
                                       marker={"symbol": "line-ew-open", "size": 9, "color": SIDE_COLOURS[side]},
                                       text=[str(o["client_order_id"]) for o in placed]))
        done = thin([f for f in fills if f["side"] == side])
        if done:
            fig.add_trace(go.Scattergl(x=_times([f["ts_ns"] for f in done]), y=[_f(f["price"]) for f in done],
                                       mode="markers", name=f"{side.lower()} fills",
                                       marker={"symbol": "triangle-up" if side == "BUY" else "triangle-down",
                                               "size": 8, "color": SIDE_COLOURS[side]},
                                       text=[str(f["execution_id"]) for f in done]))
    if not fig.data:
        return _empty(title, "no prices: market data not found and no orders or fills")
    fig.update_layout(title=title, height=420, xaxis={"rangeslider": {"visible": True}}, yaxis_title="price",
                      legend={"orientation": "h"})
    return fig


def pnl_figure(pnl: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Total, realized and unrealized PnL and fees per instrument, with the drawdown below."""
    if not pnl:
        return _empty("PnL", "no fills: no PnL")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.05)
    for instrument in sorted({str(r["instrument"]) for r in pnl}):
        rows = thin([r for r in pnl if r["instrument"] == instrument])
        x = _times([r["ts_ns"] for r in rows])
        for column, dash in (("total_pnl", None), ("realized_pnl", "dot"), ("unrealized_pnl", "dash"),
                             ("fees", "dashdot")):
            fig.add_trace(go.Scatter(x=x, y=[_f(r[column]) for r in rows], mode="lines", line={"dash": dash,
                                     "shape": "hv"}, name=f"{instrument} {column.replace('_', ' ')}"), row=1, col=1)
        fig.add_trace(go.Scatter(x=x, y=[-float(str(r["drawdown"])) for r in rows], mode="lines", fill="tozeroy",
                                 line={"shape": "hv"}, name=f"{instrument} drawdown"), row=2, col=1)
    quote = str(pnl[0]["quote_asset"])
    fig.update_layout(title=f"PnL ({quote}) and drawdown", height=460, legend={"orientation": "h"})
    fig.update_yaxes(title_text=quote, row=1, col=1)
    fig.update_yaxes(title_text="drawdown", row=2, col=1)
    return fig


def positions_figure(positions: Sequence[Mapping[str, Any]], instrument_of: Mapping[tuple[str, str], str]) -> go.Figure:
    """Net position per venue and symbol over time, and per instrument summed over venues."""
    if not positions:
        return _empty("Positions", "no positions")
    fig = go.Figure()
    legs: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in positions:
        legs.setdefault((str(row["venue"]), str(row["symbol"])), []).append(row)
    for (venue, symbol), rows in sorted(legs.items()):
        shown = thin(rows)
        fig.add_trace(go.Scatter(x=_times([r["ts_ns"] for r in shown]), y=[_f(r["quantity"]) for r in shown],
                                 mode="lines", line={"shape": "hv"}, name=f"{venue} {symbol}"))
    current: dict[tuple[str, str], float] = {}
    aggregated: dict[str, list[tuple[int, float]]] = {}
    for row in positions:  # in time order: each change moves its instrument's sum
        key = (str(row["venue"]), str(row["symbol"]))
        current[key] = float(str(row["quantity"]))
        instrument = instrument_of.get(key, key[1])
        total = sum(q for k, q in current.items() if instrument_of.get(k, k[1]) == instrument)
        aggregated.setdefault(instrument, []).append((int(row["ts_ns"]), total))
    if len(legs) > 1:
        for instrument, points in sorted(aggregated.items()):
            shown_points = thin([{"ts_ns": t, "q": q} for t, q in points])
            fig.add_trace(go.Scatter(x=_times([p["ts_ns"] for p in shown_points]), y=[p["q"] for p in shown_points],
                                     mode="lines", line={"shape": "hv", "width": 3}, name=f"ALL {instrument}"))
    fig.update_layout(title="Positions per venue and aggregated", height=340, yaxis_title="quantity",
                      legend={"orientation": "h"})
    return fig


def latency_histograms(samples: Sequence[Mapping[str, Any]]) -> go.Figure:
    """One histogram per latency leg (microseconds)."""
    legs = sorted({str(s["leg"]) for s in samples})
    if not legs:
        return _empty("Latency per leg", "no latency samples")
    fig = make_subplots(rows=1, cols=len(legs), subplot_titles=legs)
    for i, leg in enumerate(legs, start=1):
        values = [int(s["latency_ns"]) / 1000 for s in thin([s for s in samples if s["leg"] == leg], 200_000)]
        fig.add_trace(go.Histogram(x=values, name=leg, nbinsx=40, showlegend=False), row=1, col=i)
        fig.update_xaxes(title_text="µs", row=1, col=i)
    fig.update_layout(title="Latency per leg (market data: not recorded by the run)", height=300)
    return fig


def rate_limit_figure(rows: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Usage of each limit rule (used / limit) over time, per venue."""
    if not rows:
        return _empty("Rate-limit usage", "no rate-limit rules known for these venues")
    fig = go.Figure()
    for key in sorted({(str(r["venue"]), str(r["rule"])) for r in rows}):
        shown = thin([r for r in rows if (r["venue"], r["rule"]) == key])
        fig.add_trace(go.Scattergl(x=_times([r["ts_ns"] for r in shown]), y=[_f(r["usage"]) for r in shown],
                                   mode="lines", line={"shape": "hv"}, name=f"{key[0]} {key[1]}"))
    fig.add_hline(y=1.0, line={"color": "red", "dash": "dash"})
    fig.update_layout(title="Rate-limit usage (used / limit, client's sliding window)", height=320,
                      yaxis={"title": "share of limit", "rangemode": "tozero"}, legend={"orientation": "h"})
    return fig


def fault_timeline(faults: Sequence[Mapping[str, Any]], orders: Sequence[Mapping[str, Any]],
                   fills: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Faults as bars from start to end (detection and recovery marked) above the order timeline."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.45, 0.55], vertical_spacing=0.06,
                        subplot_titles=("faults", "orders and fills"))
    for i, f in enumerate(faults):
        label = f"{f['name']} ({f['kind']})"
        start, end = int(f["start_ns"] or 0), int(f["end_ns"] or f["start_ns"] or 0)
        fig.add_trace(go.Scatter(x=_times([start, end]), y=[label, label], mode="lines",
                                 line={"width": 12, "color": f"hsl({(i * 67) % 360},60%,50%)"},
                                 name=label, showlegend=False), row=1, col=1)
        for column, symbol in (("detected_ns", "x"), ("recovered_ns", "star")):
            if f.get(column) is not None:
                fig.add_trace(go.Scatter(x=_times([int(f[column])]), y=[label], mode="markers",
                                         marker={"symbol": symbol, "size": 12, "color": "black"},
                                         name=column.removesuffix("_ns"), showlegend=False), row=1, col=1)
    if not faults:
        fig.add_annotation(text="no faults injected", showarrow=False, row=1, col=1, x=0.5, y=0.5,
                           xref="x domain", yref="y domain")
    for status in sorted({str(o["final_status"]) for o in orders}):
        shown = thin([o for o in orders if o["final_status"] == status])
        fig.add_trace(go.Scattergl(x=_times([o["created_ns"] for o in shown]), y=[status] * len(shown),
                                   mode="markers", marker={"size": 5}, name=f"orders {status.lower()}",
                                   text=[str(o["client_order_id"]) for o in shown]), row=2, col=1)
    shown_fills = thin(list(fills))
    if shown_fills:
        fig.add_trace(go.Scattergl(x=_times([f["ts_ns"] for f in shown_fills]), y=["FILL"] * len(shown_fills),
                                   mode="markers", marker={"size": 5, "symbol": "diamond"}, name="fills"),
                      row=2, col=1)
    fig.update_layout(title="Fault timeline beside the order timeline", height=420, legend={"orientation": "h"})
    return fig

"""``harness report RUN_DIR``: one self-contained HTML file with a run's headline, charts and tables.

The file embeds plotly's JavaScript once (``include_plotlyjs=True`` on the first chart), so it
opens from disk without a server or a network. A run that failed or never completed says so in
a banner at the top, before anything else. Tables longer than ``MAX_TABLE_ROWS`` show their
first rows and say how many there are; the charts are downsampled as ``reports.charts`` says.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from reports import charts
from reports.run_source import RunSourceError
from reports.run_view import RunView

__all__ = ["MAX_TABLE_ROWS", "render_report", "report_command", "status_banner", "write_report"]

MAX_TABLE_ROWS = 200

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
th { background: #f0f0f0; }
.banner { padding: 0.8em 1em; font-weight: bold; border-radius: 4px; margin-bottom: 1em; }
.failed { background: #fdd; border: 2px solid #c00; }
.incomplete { background: #ffe9b3; border: 2px solid #d90; }
.note { color: #666; font-size: 0.9em; }
td.pass { background: #dfd; } td.fail { background: #fdd; }
"""


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    if not rows:
        return '<p class="note">none</p>'
    frame = pd.DataFrame(list(rows)[:MAX_TABLE_ROWS])
    if columns is not None:
        frame = frame[[c for c in columns if c in frame.columns]]
    text = frame.to_html(index=False, escape=True, na_rep="", border=0)
    if len(rows) > MAX_TABLE_ROWS:
        text += f'<p class="note">first {MAX_TABLE_ROWS} of {len(rows)} rows</p>'
    return text


def _scorecard(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return '<p class="note">no invariants checked (a plain replay has no scorecard)</p>'
    body = "".join(
        f'<tr><td style="text-align:left">{html.escape(str(r["invariant"]))}</td>'
        f'<td class="{"pass" if r["passed"] else "fail"}">{"PASS" if r["passed"] else "FAIL"}</td>'
        f'<td>{"" if r["first_violation_ns"] is None else r["first_violation_ns"]}</td>'
        f'<td style="text-align:left">{html.escape(str(r["detail"] or ""))}</td></tr>' for r in rows)
    head = "<tr><th>invariant</th><th>result</th><th>first violation (ns)</th><th>detail</th></tr>"
    return f"<table>{head}{body}</table>"


def status_banner(view: RunView) -> str:
    """The banner of a run that is not complete ('' for a complete one)."""
    status = view.source.status
    if status == "complete":
        return ""
    if status == "failed":
        return (f'<div class="banner failed">This run FAILED: {html.escape(view.source.error or "no error recorded")}. '
                "The tables below hold what it recorded before it stopped.</div>")
    return (f'<div class="banner incomplete">This run is INCOMPLETE (status: {html.escape(status)}; still running or '
            "killed): its tables are partial.</div>")


def render_report(view: RunView) -> str:
    """The report of ``view`` as one HTML document."""
    source = view.source
    config = source.config
    figures: list[tuple[str, go.Figure]] = []
    for venue, symbol in view.markets or [("", "")]:
        if not venue:
            break
        orders = [o for o in view.metric("metrics_orders") if (o["venue"], o["symbol"]) == (venue, symbol)]
        fills = [f for f in view.metric("metrics_fills") if (f["venue"], f["symbol"]) == (venue, symbol)]
        figures.append((f"Price: {venue} {symbol}", charts.price_figure(view.price(venue, symbol), orders, fills)))
    figures += [("PnL and drawdown", charts.pnl_figure(view.metric("metrics_pnl"))),
                ("Positions", charts.positions_figure(source.rows("positions"), view.instrument_of)),
                ("Latency", charts.latency_histograms(view.metric("metrics_latency"))),
                ("Rate limits", charts.rate_limit_figure(view.metric("metrics_rate_limits"))),
                ("Faults and orders", charts.fault_timeline(view.metric("metrics_faults"),
                                                            view.metric("metrics_orders"),
                                                            view.metric("metrics_fills")))]
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>run {html.escape(source.run_id)}</title>"
             f"<style>{_STYLE}</style></head><body>", status_banner(view),
             f"<h1>Run {html.escape(source.run_id)}</h1>",
             f"<p>strategy <b>{html.escape(str(config.get('strategy', '?')))}</b>, scenario "
             f"{html.escape(source.scenario)}, seed {html.escape(str(config.get('seed', '?')))}, venues "
             f"{html.escape(', '.join(str(v.get('name')) for v in config.get('venues', [])))}, status "
             f"<b>{html.escape(source.status)}</b></p>"]
    if source.missing_market_data:
        parts.append(f'<p class="note">market data not found (no price line): '
                     f"{html.escape(', '.join(source.missing_market_data))}</p>")
    parts += ["<h2>Headline</h2>", _table(view.headline)]
    for i, (title, fig) in enumerate(figures):
        parts.append(f"<h2>{html.escape(title)}</h2>")
        parts.append(pio.to_html(fig, include_plotlyjs=i == 0, full_html=False))
    parts += ["<h2>Invariant scorecard</h2>", _scorecard(view.metric("metrics_invariants")),
              "<h2>Faults</h2>", _table(view.metric("metrics_faults")),
              "<h2>Latency per leg</h2>", _table(view.metric("metrics_latency_summary")),
              "<h2>Routing decisions</h2>", _table(view.metric("metrics_routing")),
              "<h2>Final positions</h2>", _table(source.rows("positions_final")),
              "<h2>Alerts</h2>", _table(source.rows("alerts"), ["time", "severity", "source", "kind", "venue",
                                                                 "message"]),
              "<h2>Orders</h2>", _table(view.metric("metrics_orders")),
              "</body></html>"]
    return "\n".join(parts)


def write_report(run_dir: Path, out: Path | None = None) -> Path:
    """Write the report of ``run_dir`` to ``out`` (default ``<run_dir>/report.html``) atomically; return it."""
    view = RunView(run_dir)
    target = out if out is not None else Path(run_dir) / "report.html"
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(render_report(view), encoding="utf-8")
    tmp.replace(target)
    return target


def report_command(run_dir: Path, out: Path | None) -> int:
    """``harness report``: 0 and the file's path on stdout, 2 when ``run_dir`` is not a run directory."""
    try:
        path = write_report(run_dir, out)
    except RunSourceError as error:
        print(f"harness report: {error}", file=sys.stderr)
        return 2
    print(f"report written: {path}")
    return 0

"""Compute every metric table of a run directory (``compute_metrics``) and write them back into it."""


from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from reports.market_data import mids_at
from reports.metrics.common import Table, write_table_atomically
from reports.metrics.execution import execution_tables
from reports.metrics.headline import Headline
from reports.metrics.latency import latency_tables
from reports.metrics.outcomes import fault_table, invariant_table, routing_table
from reports.metrics.pnl import pnl_table
from reports.metrics.rate_limits import limit_hits, rate_limit_table
from reports.run_source import RunSource

__all__ = ["METRIC_TABLES", "MetricsResult", "compute_metrics"]

METRIC_TABLES = ("metrics_pnl", "metrics_orders", "metrics_fills", "metrics_latency", "metrics_latency_summary",
                 "metrics_rate_limits", "metrics_faults", "metrics_invariants", "metrics_routing",
                 "metrics_headline")


@dataclass
class MetricsResult:
    """The metric tables of one run (rows and schemas) and whether they were written into it."""

    tables: dict[str, Table]
    written: bool

    def rows(self, name: str) -> list[dict[str, Any]]:
        """The rows of metric table ``name``."""
        return self.tables[name][0]

    def headline(self, metric: str, scope: str = "") -> str:
        """The value of one headline figure ('' when absent or not measurable)."""
        return next((r["value"] for r in self.rows("metrics_headline")
                     if r["metric"] == metric and r["scope"] == scope), "")


def _arrival_mids(source: RunSource) -> Any:
    quotes = source.market_files_of_kind("quotes")
    if not quotes:
        return None
    data_venue = {str(v.get("name")): str(v.get("data_venue") or v.get("name"))
                  for v in source.config.get("venues", [])}

    def lookup(venue: str, symbol: str, times: Sequence[int]) -> list[Decimal | None]:
        return mids_at(quotes, data_venue.get(venue, venue), symbol, times)
    return lookup


def compute_metrics(run_dir: Path, *, write: bool = True) -> MetricsResult:
    """Every metric table of the run in ``run_dir`` (see the module docstring); written unless ``write`` is
    False or the run is still running."""
    source = RunSource(run_dir)
    with decimal.localcontext() as context:
        context.prec = 60  # products of prices and quantities keep every digit before quantizing
        tables = _tables(source)
    written = write and source.status in ("complete", "failed")
    if written:
        for name in METRIC_TABLES:  # the headline last: its presence says the others are there
            write_table_atomically(source.path, name, tables[name])
    return MetricsResult(tables, written)


def _tables(source: RunSource) -> dict[str, Table]:
    orders, fills = source.rows("orders"), source.rows("fills")
    audit, history = source.rows("audit"), source.rows("position_history")
    final = source.rows("positions_final")
    span = source.manifest.get("time_range_ns") or [0, 0]
    pnl = pnl_table(history, fills, final, int(span[1]))
    order_metrics, fill_metrics = execution_tables(orders, fills, audit, history, _arrival_mids(source))
    samples, summary = latency_tables(audit, fill_metrics[0])
    setups = source.config.get("venues", [])
    limits, limit_notes = rate_limit_table(audit, setups)
    faults = fault_table(source.rows("faults"))
    invariants = invariant_table(source.rows("scorecard"), source.start_ns)
    routing = routing_table(source.rows("decisions"))

    head = Headline()
    head.add("status", source.status)
    instrument_of = {(str(p["venue"]), str(p["symbol"])): str(p["instrument"]) for p in final if not p.get("aggregate")}
    head.orders_and_fills(order_metrics[0], fill_metrics[0], instrument_of)
    for instrument, figures in pnl.final.items():
        quote = figures["quote_asset"]
        for name in ("total_pnl", "realized_pnl", "unrealized_pnl", "fees", "max_drawdown"):
            head.add(f"pnl_{name.removesuffix('_pnl')}" if name != "fees" else "pnl_fees", figures[name], quote,
                     scope=instrument)
        for asset, value in figures["unconverted_fees"].items():
            head.add("pnl_unconverted_fees", Decimal(value), asset, scope=instrument)
    for row in summary[0]:
        scope = f"{row['leg']} {row['venue']}".strip()
        head.add("latency_p50", row["p50_ns"], "ns", scope=scope)
        head.add("latency_p99", row["p99_ns"], "ns", scope=scope)
    lowest: dict[str, dict[str, Any]] = {}
    for row in limits[0]:
        key = f"{row['venue']} {row['rule']}"
        if key not in lowest or row["headroom"] < lowest[key]["headroom"]:
            lowest[key] = row
    for key, row in sorted(lowest.items()):
        head.add("rate_limit_min_headroom", row["headroom"], f"of {row['limit']}", scope=key)
    for venue, note in sorted(limit_notes.items()):
        if note.startswith("limits unknown"):
            head.add("rate_limit_min_headroom", None, note, scope=venue)
    head.add("rate_limit_hits", limit_hits(audit), "429/418 answers")
    fault_rows = faults[0]
    head.add("faults", len(fault_rows))
    head.add("faults_detected", sum(1 for f in fault_rows if f["detected_ns"] is not None))
    head.add("faults_recovered", sum(1 for f in fault_rows if f["recovered_ns"] is not None))
    recover = [int(f["time_to_recover_ns"]) for f in fault_rows if f["time_to_recover_ns"] is not None]
    head.add("fault_max_time_to_recover", max(recover) if recover else None, "ns")
    head.add("invariants_passed", sum(1 for r in invariants[0] if r["passed"]))
    head.add("invariants_failed", sum(1 for r in invariants[0] if not r["passed"]))
    head.add("routing_allocations", len(routing[0]))
    head.add("routing_filled", sum(1 for r in routing[0] if r["outcome"] == "filled"))
    head.add("alerts", source.num_rows("alerts"))
    head.add("errors", len(source.manifest.get("errors") or []))
    return {"metrics_pnl": pnl.table, "metrics_orders": order_metrics, "metrics_fills": fill_metrics,
            "metrics_latency": samples, "metrics_latency_summary": summary, "metrics_rate_limits": limits,
            "metrics_faults": faults, "metrics_invariants": invariants, "metrics_routing": routing,
            "metrics_headline": head.table()}

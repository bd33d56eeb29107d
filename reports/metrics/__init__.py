"""Metrics of a run, computed from its run directory and written back into it as Parquet.

``compute_metrics(run_dir)`` reads the run's own tables (``reports.run_source``), plus the
market data it replayed when that can be found (arrival prices), and writes:

=========================== ==========================================================
``metrics_pnl``             PnL over time per instrument with drawdown (``pnl``)
``metrics_orders``          per order: fill ratio, arrival mid, slippage (``execution``)
``metrics_fills``           per fill: notional, maker queue time, report latency
``metrics_latency``         every latency sample per leg (``latency``)
``metrics_latency_summary`` per leg and venue: count, p50/p90/p99, max
``metrics_rate_limits``     usage and headroom per limit rule over time (``rate_limits``)
``metrics_faults``          faults injected, time to detect and recover (``outcomes``)
``metrics_invariants``      the invariant scorecard
``metrics_routing``         routing decisions and their outcomes
``metrics_headline``        the headline figures (``headline``), written last
=========================== ==========================================================

Writing is atomic per file (temporary file, rename) and idempotent (the same run gives the
same bytes). Money stays exact: ``decimal128`` columns, Decimal arithmetic (no floats). A run
that is still running is computed but not written to.

Names are imported from their modules on first use (``harness.lazy_exports``).

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "PERCENTILES": "reports.metrics.common",
    "Table": "reports.metrics.common",
    "base_quote": "reports.metrics.common",
    "dec": "reports.metrics.common",
    "first_by": "reports.metrics.common",
    "nearest_rank": "reports.metrics.common",
    "ratio": "reports.metrics.common",
    "write_table_atomically": "reports.metrics.common",
    "METRIC_TABLES": "reports.metrics.compute",
    "MetricsResult": "reports.metrics.compute",
    "compute_metrics": "reports.metrics.compute",
    "ArrivalMids": "reports.metrics.execution",
    "FILLS_METRICS_SCHEMA": "reports.metrics.execution",
    "ORDERS_METRICS_SCHEMA": "reports.metrics.execution",
    "execution_tables": "reports.metrics.execution",
    "submit_answers": "reports.metrics.execution",
    "HEADLINE_SCHEMA": "reports.metrics.headline",
    "Headline": "reports.metrics.headline",
    "format_value": "reports.metrics.headline",
    "LATENCY_SCHEMA": "reports.metrics.latency",
    "LATENCY_SUMMARY_SCHEMA": "reports.metrics.latency",
    "LEGS": "reports.metrics.latency",
    "latency_tables": "reports.metrics.latency",
    "FAULTS_METRICS_SCHEMA": "reports.metrics.outcomes",
    "INVARIANTS_SCHEMA": "reports.metrics.outcomes",
    "ROUTING_SCHEMA": "reports.metrics.outcomes",
    "fault_table": "reports.metrics.outcomes",
    "invariant_table": "reports.metrics.outcomes",
    "routing_table": "reports.metrics.outcomes",
    "PNL_SCHEMA": "reports.metrics.pnl",
    "PnlResult": "reports.metrics.pnl",
    "pnl_table": "reports.metrics.pnl",
    "RATE_LIMITS_SCHEMA": "reports.metrics.rate_limits",
    "descriptor_of_setup": "reports.metrics.rate_limits",
    "limit_hits": "reports.metrics.rate_limits",
    "rate_limit_table": "reports.metrics.rate_limits",
}

__all__ = [
    "FAULTS_METRICS_SCHEMA",
    "FILLS_METRICS_SCHEMA",
    "HEADLINE_SCHEMA",
    "INVARIANTS_SCHEMA",
    "LATENCY_SCHEMA",
    "LATENCY_SUMMARY_SCHEMA",
    "LEGS",
    "METRIC_TABLES",
    "ORDERS_METRICS_SCHEMA",
    "PERCENTILES",
    "PNL_SCHEMA",
    "RATE_LIMITS_SCHEMA",
    "ROUTING_SCHEMA",
    "ArrivalMids",
    "Headline",
    "MetricsResult",
    "PnlResult",
    "Table",
    "base_quote",
    "compute_metrics",
    "dec",
    "descriptor_of_setup",
    "execution_tables",
    "fault_table",
    "first_by",
    "format_value",
    "invariant_table",
    "latency_tables",
    "limit_hits",
    "nearest_rank",
    "pnl_table",
    "rate_limit_table",
    "ratio",
    "routing_table",
    "submit_answers",
    "write_table_atomically",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from reports.metrics.common import (
        PERCENTILES,
        Table,
        base_quote,
        dec,
        first_by,
        nearest_rank,
        ratio,
        write_table_atomically,
    )
    from reports.metrics.compute import METRIC_TABLES, MetricsResult, compute_metrics
    from reports.metrics.execution import (
        FILLS_METRICS_SCHEMA,
        ORDERS_METRICS_SCHEMA,
        ArrivalMids,
        execution_tables,
        submit_answers,
    )
    from reports.metrics.headline import HEADLINE_SCHEMA, Headline, format_value
    from reports.metrics.latency import LATENCY_SCHEMA, LATENCY_SUMMARY_SCHEMA, LEGS, latency_tables
    from reports.metrics.outcomes import (
        FAULTS_METRICS_SCHEMA,
        INVARIANTS_SCHEMA,
        ROUTING_SCHEMA,
        fault_table,
        invariant_table,
        routing_table,
    )
    from reports.metrics.pnl import PNL_SCHEMA, PnlResult, pnl_table
    from reports.metrics.rate_limits import RATE_LIMITS_SCHEMA, descriptor_of_setup, limit_hits, rate_limit_table

"""Run outputs and what is read from them: run tables and directories (complete, failed or
incomplete), column types, summaries, metrics, market data for charts and the HTML report.

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "MAX_MARKERS": "reports.charts",
    "fault_timeline": "reports.charts",
    "latency_histograms": "reports.charts",
    "pnl_figure": "reports.charts",
    "positions_figure": "reports.charts",
    "price_figure": "reports.charts",
    "rate_limit_figure": "reports.charts",
    "thin": "reports.charts",
    "AMOUNT": "reports.columns",
    "DERIVED": "reports.columns",
    "TIME": "reports.columns",
    "amount": "reports.columns",
    "derived": "reports.columns",
    "table_with_times": "reports.columns",
    "MAX_TABLE_ROWS": "reports.html_report",
    "render_report": "reports.html_report",
    "report_command": "reports.html_report",
    "status_banner": "reports.html_report",
    "write_report": "reports.html_report",
    "PriceSeries": "reports.market_data",
    "mids_at": "reports.market_data",
    "normalise_symbol": "reports.market_data",
    "price_series": "reports.market_data",
    "COMPLETE": "reports.run_dir",
    "FAILED": "reports.run_dir",
    "RUNNING": "reports.run_dir",
    "RunDirectory": "reports.run_dir",
    "read_status": "reports.run_dir",
    "write_json_atomically": "reports.run_dir",
    "BALANCES_SCHEMA": "reports.run_output",
    "EVENTS_SCHEMA": "reports.run_output",
    "FILLS_SCHEMA": "reports.run_output",
    "MONEY": "reports.run_output",
    "ORDERS_SCHEMA": "reports.run_output",
    "POSITIONS_SCHEMA": "reports.run_output",
    "RUN_PACKAGES": "reports.run_output",
    "RunRecorder": "reports.run_output",
    "package_versions": "reports.run_output",
    "RunSource": "reports.run_source",
    "RunSourceError": "reports.run_source",
    "data_kind": "reports.run_source",
    "manifest_digest": "reports.run_source",
    "Table": "reports.run_tables",
    "engine_tables": "reports.run_tables",
    "RunView": "reports.run_view",
    "run_summary": "reports.summary",
    "metrics": "reports.metrics",
}

__all__ = [
    "AMOUNT",
    "BALANCES_SCHEMA",
    "COMPLETE",
    "DERIVED",
    "EVENTS_SCHEMA",
    "FAILED",
    "FILLS_SCHEMA",
    "MAX_MARKERS",
    "MAX_TABLE_ROWS",
    "MONEY",
    "ORDERS_SCHEMA",
    "POSITIONS_SCHEMA",
    "RUNNING",
    "RUN_PACKAGES",
    "TIME",
    "PriceSeries",
    "RunDirectory",
    "RunRecorder",
    "RunSource",
    "RunSourceError",
    "RunView",
    "Table",
    "amount",
    "data_kind",
    "derived",
    "engine_tables",
    "fault_timeline",
    "latency_histograms",
    "manifest_digest",
    "metrics",
    "mids_at",
    "normalise_symbol",
    "package_versions",
    "pnl_figure",
    "positions_figure",
    "price_figure",
    "price_series",
    "rate_limit_figure",
    "read_status",
    "render_report",
    "report_command",
    "run_summary",
    "status_banner",
    "table_with_times",
    "thin",
    "write_json_atomically",
    "write_report",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from reports import metrics
    from reports.charts import (
        MAX_MARKERS,
        fault_timeline,
        latency_histograms,
        pnl_figure,
        positions_figure,
        price_figure,
        rate_limit_figure,
        thin,
    )
    from reports.columns import AMOUNT, DERIVED, TIME, amount, derived, table_with_times
    from reports.html_report import MAX_TABLE_ROWS, render_report, report_command, status_banner, write_report
    from reports.market_data import PriceSeries, mids_at, normalise_symbol, price_series
    from reports.run_dir import COMPLETE, FAILED, RUNNING, RunDirectory, read_status, write_json_atomically
    from reports.run_output import (
        BALANCES_SCHEMA,
        EVENTS_SCHEMA,
        FILLS_SCHEMA,
        MONEY,
        ORDERS_SCHEMA,
        POSITIONS_SCHEMA,
        RUN_PACKAGES,
        RunRecorder,
        package_versions,
    )
    from reports.run_source import RunSource, RunSourceError, data_kind, manifest_digest
    from reports.run_tables import Table, engine_tables
    from reports.run_view import RunView
    from reports.summary import run_summary

"""Everything a report or a dashboard page shows of one run, loaded once from its run directory.

``RunView`` opens the run (``reports.run_source``), makes sure its metrics exist (computing and
writing them when they are missing or the run changed since; a running run's are computed in
memory only) and hands out the rows each chart and table needs. Metric tables are read back
from their Parquet files, so a page that shows one table reads one file.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from reports.market_data import PriceSeries, price_series
from reports.metrics import METRIC_TABLES, MetricsResult, compute_metrics
from reports.run_source import RunSource

__all__ = ["RunView"]

HEADLINE_KEYS = ("orders", "fills", "fill_ratio", "maker_share", "slippage_bps", "pnl_total", "pnl_max_drawdown",
                 "faults", "invariants_failed")
"""The figures a run list shows per run (``scope`` is the first one of each)."""


class RunView:
    """One run's data for display (see the module docstring)."""

    def __init__(self, run_dir: Path) -> None:
        self.source = RunSource(run_dir)
        self._memory: MetricsResult | None = None
        self._ensure_metrics()

    def _ensure_metrics(self) -> None:
        path = self.source.path
        headline = path / "metrics_headline.parquet"
        tables = [p for p in path.glob("*.parquet") if not p.name.startswith("metrics_")]
        newest = max((p.stat().st_mtime_ns for p in tables), default=0)
        manifest = path / "manifest.json"
        if manifest.exists():
            newest = max(newest, manifest.stat().st_mtime_ns)
        fresh = headline.exists() and headline.stat().st_mtime_ns >= newest and all(
            (path / f"{name}.parquet").exists() for name in METRIC_TABLES)
        if not fresh or self.source.status == "running":
            result = compute_metrics(path)
            if not result.written:
                self._memory = result

    def metric(self, name: str) -> list[dict[str, Any]]:
        """The rows of metric table ``name`` (``reports.metrics``)."""
        if self._memory is not None:
            return self._memory.rows(name)
        return self.source.rows(name)

    @cached_property
    def headline(self) -> list[dict[str, Any]]:
        """The headline rows (metric, scope, value, unit)."""
        return self.metric("metrics_headline")

    def figure(self, metric: str, scope: str | None = None) -> str:
        """One headline value ('' when absent); without ``scope``, the first row of that metric."""
        for row in self.headline:
            if row["metric"] == metric and (scope is None or row["scope"] == scope):
                return str(row["value"])
        return ""

    def summary(self) -> dict[str, str]:
        """The run list's figures for this run (``HEADLINE_KEYS``)."""
        return {key: self.figure(key) for key in HEADLINE_KEYS}

    @cached_property
    def instrument_of(self) -> dict[tuple[str, str], str]:
        """(venue, symbol) -> instrument, from ``positions_final``."""
        return {(str(p["venue"]), str(p["symbol"])): str(p["instrument"])
                for p in self.source.rows("positions_final") if not p.get("aggregate")}

    @cached_property
    def markets(self) -> list[tuple[str, str]]:
        """The (venue, symbol) pairs the run traded, in order of first order."""
        seen: dict[tuple[str, str], None] = {}
        for row in self.metric("metrics_orders"):
            seen.setdefault((str(row["venue"]), str(row["symbol"])), None)
        return list(seen)

    def price(self, venue: str, symbol: str, *, max_points: int = 2000,
              start_ns: int | None = None, end_ns: int | None = None) -> PriceSeries | None:
        """The downsampled market price of ``symbol`` as ``venue`` saw it, None when its data is not found."""
        setups: Mapping[str, Any] = {str(v.get("name")): v for v in self.source.config.get("venues", [])}
        data_venue = str(setups.get(venue, {}).get("data_venue") or venue)
        span = self.source.manifest.get("time_range_ns") or [0, 0]
        start = int(span[0]) if start_ns is None else start_ns
        end = int(span[1]) if end_ns is None else end_ns
        if end <= start:
            times = [int(r["ts_ns"]) for r in self.metric("metrics_fills")] + [
                int(r["created_ns"]) for r in self.metric("metrics_orders")]
            start, end = (min(times), max(times) + 1) if times else (0, 1)
        return price_series(self.source.market_files_of_kind("trades"), self.source.market_files_of_kind("quotes"),
                            data_venue, symbol, start_ns=start, end_ns=end, max_points=max_points)

"""A run directory: Parquet tables of what happened plus a manifest saying how to reproduce it.

Layout of ``<out>/<run_id>/``::

    manifest.json     config, seed, data file hashes, package versions, row counts
    orders.parquet    every order report (acks, updates, final states), in time order
    fills.parquet     every execution of our orders
    balances.parquet  balances per venue and asset after each change
    positions.parquet net position per venue and symbol after each fill
    events.parquet    the run's event log (strategy logs, lifecycle, warnings)
    position_history, positions_final (per venue and aggregated), alerts, audit,
    discrepancies, decisions (routing)   the execution layer's records (reports.run_tables)
    journal.sqlite    the execution journal (intents, orders, fills, audit; SQLite WAL)

Everything written is a pure function of the run's inputs and seed: no wall-clock times, no
absolute paths of temporary directories, sorted keys, so two identical runs give
byte-identical files (the determinism test checks exactly that). Column types follow
``reports.columns``: exact amounts ``decimal128(38, 9)``, derived values (averages)
``decimal128(38, 18)``, a UTC ``time`` beside every ``ts_ns``; never floats. How the directory
itself is made complete or marked failed is ``reports.run_dir``.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from harness.model import Balance, Fill, OrderReport
from reports.columns import AMOUNT, DERIVED, amount, derived, table_with_times

__all__ = ["BALANCES_SCHEMA", "EVENTS_SCHEMA", "FILLS_SCHEMA", "MONEY", "ORDERS_SCHEMA", "POSITIONS_SCHEMA",
           "RUN_PACKAGES", "RunRecorder", "package_versions"]

MONEY = AMOUNT

ORDERS_SCHEMA = pa.schema([
    ("ts_ns", pa.int64()), ("venue", pa.string()), ("symbol", pa.string()),
    ("client_order_id", pa.string()), ("venue_order_id", pa.string()), ("status", pa.string()),
    ("side", pa.string()), ("order_type", pa.string()), ("time_in_force", pa.string()),
    ("quantity", AMOUNT), ("filled_quantity", AMOUNT), ("price", AMOUNT), ("average_price", DERIVED),
    ("reason", pa.string()),
])
FILLS_SCHEMA = pa.schema([
    ("ts_ns", pa.int64()), ("venue", pa.string()), ("symbol", pa.string()),
    ("execution_id", pa.string()), ("client_order_id", pa.string()), ("venue_order_id", pa.string()),
    ("side", pa.string()), ("price", MONEY), ("quantity", MONEY), ("fee", MONEY),
    ("fee_asset", pa.string()), ("liquidity", pa.string()),
])
BALANCES_SCHEMA = pa.schema([
    ("ts_ns", pa.int64()), ("venue", pa.string()), ("asset", pa.string()),
    ("free", MONEY), ("locked", MONEY),
])
POSITIONS_SCHEMA = pa.schema([
    ("ts_ns", pa.int64()), ("venue", pa.string()), ("symbol", pa.string()), ("quantity", MONEY),
])
EVENTS_SCHEMA = pa.schema([("ts_ns", pa.int64()), ("kind", pa.string()), ("message", pa.string())])

_money = amount


@dataclass
class RunRecorder:
    """Collects a run's records in memory (they are small next to market data) and writes them."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    balances: list[dict[str, Any]] = field(default_factory=list)
    positions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    extras: dict[str, tuple[list[dict[str, Any]], pa.Schema]] = field(default_factory=dict)

    def order(self, report: OrderReport) -> None:
        """Record an order report."""
        self.orders.append({
            "ts_ns": report.ts_ns, "venue": report.venue, "symbol": report.symbol,
            "client_order_id": report.client_order_id, "venue_order_id": report.venue_order_id,
            "status": report.status.value, "side": report.side.value, "order_type": report.order_type.value,
            "time_in_force": report.time_in_force.value, "quantity": _money(report.quantity),
            "filled_quantity": _money(report.filled_quantity), "price": _money(report.price),
            "average_price": derived(report.average_price), "reason": report.reason,
        })

    def fill(self, fill: Fill) -> None:
        """Record an execution."""
        self.fills.append({
            "ts_ns": fill.ts_ns, "venue": fill.venue, "symbol": fill.symbol,
            "execution_id": fill.execution_id, "client_order_id": fill.client_order_id,
            "venue_order_id": fill.venue_order_id, "side": fill.side.value, "price": _money(fill.price),
            "quantity": _money(fill.quantity), "fee": _money(fill.fee), "fee_asset": fill.fee_asset,
            "liquidity": fill.liquidity.value,
        })

    def balance(self, ts_ns: int, venue: str, balance: Balance) -> None:
        """Record one asset's balance after a change."""
        self.balances.append({"ts_ns": ts_ns, "venue": venue, "asset": balance.asset,
                              "free": _money(balance.free), "locked": _money(balance.locked)})

    def position(self, ts_ns: int, venue: str, symbol: str, quantity: Decimal) -> None:
        """Record a net position after a fill."""
        self.positions.append({"ts_ns": ts_ns, "venue": venue, "symbol": symbol,
                               "quantity": _money(quantity)})

    def event(self, ts_ns: int, kind: str, message: str) -> None:
        """Record a line of the event log."""
        self.events.append({"ts_ns": ts_ns, "kind": kind, "message": message})

    def extra(self, name: str, rows: list[dict[str, Any]], schema: pa.Schema) -> None:
        """Add another table to write (the execution layer's positions, alerts, audit, decisions)."""
        if name in ("orders", "fills", "balances", "positions", "events"):
            raise ValueError(f"table {name!r} is one of the recorder's own")
        self.extras[name] = (rows, schema)

    def write_tables(self, run_dir: Path) -> dict[str, int]:
        """Write every table into ``run_dir``; return the row count of each (for the manifest)."""
        tables = {
            "orders": (self.orders, ORDERS_SCHEMA), "fills": (self.fills, FILLS_SCHEMA),
            "balances": (self.balances, BALANCES_SCHEMA), "positions": (self.positions, POSITIONS_SCHEMA),
            "events": (self.events, EVENTS_SCHEMA), **self.extras,
        }
        counts = {}
        for name, (rows, schema) in tables.items():
            pq.write_table(table_with_times(rows, schema), run_dir / f"{name}.parquet", compression="zstd")
            counts[name] = len(rows)
        return counts


RUN_PACKAGES = ("exec-harness", "simpy", "pyarrow", "pandas", "numpy")


def package_versions(names: Iterable[str] = RUN_PACKAGES) -> dict[str, str]:
    """Versions of Python and the packages a run depends on."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions

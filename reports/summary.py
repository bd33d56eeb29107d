"""A short text account of a run directory: what was traded, at what cost, and where it ended.

Read from the run directory alone (``manifest.json`` and the Parquet tables), so it works on
any run, including ones copied from another machine; a run that is not complete (failed, or
killed while running) says so first. ``harness replay`` and
``harness demo`` print it at the end of a run.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

from reports.run_dir import read_status

__all__ = ["run_summary"]


def _rows(run_dir: Path, table: str) -> list[dict[str, object]]:
    path = run_dir / f"{table}.parquet"
    rows: list[dict[str, object]] = pq.read_table(path).to_pylist() if path.exists() else []
    return rows


def _dec(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _num(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros (``100000``, not ``1E+5``)."""
    return format(value.normalize(), "f")


def run_summary(run_dir: Path) -> list[str]:
    """Lines describing the run in ``run_dir``: orders by final status, fills, fees, balances."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    config = manifest.get("config", {})
    orders = _rows(run_dir, "orders")
    fills = _rows(run_dir, "fills")
    final: dict[str, str] = {}
    for row in orders:  # reports arrive in time order: the last one per order is its final state
        final[str(row["client_order_id"])] = str(row["status"])
    statuses = Counter(final.values())
    lines = [f"run {run_dir.name}: strategy {config.get('strategy')}, seed {config.get('seed')}, "
             f"venues {', '.join(v['name'] for v in config.get('venues', []))}"]
    status = read_status(run_dir)
    if status != "complete":
        lines.append(f"status: {status.upper()}" + (f" ({manifest['error']})" if manifest.get("error") else "")
                     + "; the tables below are partial")
    by_status = ", ".join(f"{n} {status.lower()}" for status, n in sorted(statuses.items()))
    lines.append(f"orders: {len(final)} ({by_status or 'none'})")
    if fills:
        volume = sum((_dec(f["quantity"]) for f in fills), Decimal(0))
        notional = sum((_dec(f["quantity"]) * _dec(f["price"]) for f in fills), Decimal(0))
        makers = sum(1 for f in fills if f["liquidity"] == "MAKER")
        fees: dict[str, Decimal] = {}
        for f in fills:
            asset = str(f["fee_asset"])
            fees[asset] = fees.get(asset, Decimal(0)) + _dec(f["fee"])
        fee_text = ", ".join(f"{_num(amount)} {asset}" for asset, amount in sorted(fees.items()))
        lines.append(f"fills: {len(fills)} ({makers} maker, {len(fills) - makers} taker), volume "
                     f"{_num(volume)}, notional {notional.quantize(Decimal('0.01'))}, fees {fee_text}")
    else:
        lines.append("fills: none")
    last: dict[tuple[str, str], dict[str, object]] = {}
    first: dict[tuple[str, str], dict[str, object]] = {}
    for row in _rows(run_dir, "balances"):
        key = (str(row["venue"]), str(row["asset"]))
        first.setdefault(key, row)
        last[key] = row
    for (venue, asset), row in sorted(last.items()):
        total = _dec(row["free"]) + _dec(row["locked"])
        start = _dec(first[(venue, asset)]["free"]) + _dec(first[(venue, asset)]["locked"])
        change = total - start
        if change:
            lines.append(f"{venue} {asset}: {_num(start)} -> {_num(total)} ({'+' if change > 0 else ''}{_num(change)})")
    for row in _rows(run_dir, "positions_final"):
        if not row.get("aggregate"):
            continue
        realized, unrealized = _dec(row["realized_pnl"]), _dec(row["unrealized_pnl"])
        lines.append(f"{row['instrument']}: position {_num(_dec(row['quantity']))}, realized PnL "
                     f"{realized.quantize(Decimal('0.01'))}, unrealized {unrealized.quantize(Decimal('0.01'))} "
                     f"at the closing mid (before fees)")
    funding: dict[tuple[str, str], Decimal] = {}
    payments = _rows(run_dir, "funding")  # derivatives venues only (scenarios.futures_run)
    for row in payments:
        key = (str(row["venue"]), str(row["asset"]))
        funding[key] = funding.get(key, Decimal(0)) + _dec(row["amount"])
    for (venue, asset), net in sorted(funding.items()):
        count = sum(1 for row in payments if (row["venue"], row["asset"]) == (venue, asset))
        lines.append(f"{venue} funding: {count} payment(s), net {'+' if net > 0 else ''}{_num(net)} {asset}")
    alerts = _rows(run_dir, "alerts")
    if alerts:
        kinds = Counter(str(a["kind"]) for a in alerts)
        lines.append("alerts: " + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())))
    errors = manifest.get("errors") or []
    if errors:
        lines.append(f"errors: {len(errors)} (first: {errors[0]})")
    lines.append(f"run directory: {run_dir}")
    return lines

"""PnL over time per instrument: realized, unrealized, fees, their total, and its drawdown.

One row per position change (``position_history``: each fill as the client applied it, and each
reconciliation correction), per instrument (positions on several venues of one instrument are
summed), then one closing row:

* ``realized_pnl``: the sum of the changes' ``realized_delta`` so far (before fees);
* ``unrealized_pnl``: each venue's position marked at the price of its latest fill so far (our
  fills are the only prices in a run's own tables), ``quantity * (mark - average entry)``; the
  closing row takes ``positions_final``'s unrealized PnL instead, marked at the venue's closing mid;
* ``fees``: fees paid so far in the instrument's quote asset; a fee charged in the base asset is
  converted at its fill's price; fees in any other asset (a venue token) are not converted and
  are reported beside the total (``unconverted_fees`` in the headline), never added to it;
* ``total_pnl = realized_pnl + unrealized_pnl - fees``; ``peak_pnl`` the highest total so far
  (starting at 0, the flat start); ``drawdown = peak_pnl - total_pnl`` (>= 0).

All exact decimals (``reports.columns.DERIVED``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa

from reports.columns import DERIVED, derived
from reports.metrics.common import Table, base_quote, dec

__all__ = ["PNL_SCHEMA", "PnlResult", "pnl_table"]

PNL_SCHEMA = pa.schema([
    ("ts_ns", pa.int64()), ("instrument", pa.string()), ("quote_asset", pa.string()),
    ("realized_pnl", DERIVED), ("unrealized_pnl", DERIVED), ("fees", DERIVED), ("total_pnl", DERIVED),
    ("peak_pnl", DERIVED), ("drawdown", DERIVED), ("mark_source", pa.string()),
])


@dataclass
class _Instrument:
    quote: str
    base: str
    realized: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    peak: Decimal = Decimal(0)
    max_drawdown: Decimal = Decimal(0)
    legs: dict[tuple[str, str], tuple[Decimal, Decimal, Decimal | None]] = field(default_factory=dict)
    unconverted: dict[str, Decimal] = field(default_factory=dict)

    def unrealized(self) -> Decimal:
        return sum((q * (mark - avg) for q, avg, mark in self.legs.values() if mark is not None and q),
                   Decimal(0))


@dataclass
class PnlResult:
    """The table and, per instrument, the closing figures for the headline."""

    table: Table
    final: dict[str, dict[str, Any]]


def pnl_table(history: Sequence[Mapping[str, Any]], fills: Sequence[Mapping[str, Any]],
              final_positions: Sequence[Mapping[str, Any]], end_ns: int) -> PnlResult:
    """PnL over time (see the module docstring) from the run's position history, fills and final positions."""
    instrument_of = {(str(p["venue"]), str(p["symbol"])): str(p["instrument"])
                     for p in final_positions if not p.get("aggregate")}
    by_execution = {(str(f["venue"]), str(f["execution_id"])): f for f in fills}
    state: dict[str, _Instrument] = {}
    rows: list[dict[str, Any]] = []

    def book(name: str, symbol: str) -> _Instrument:
        if name not in state:
            base, quote = base_quote(name, symbol)
            state[name] = _Instrument(quote=quote, base=base)
        return state[name]

    def emit(ts_ns: int, name: str, inst: _Instrument, unrealized: Decimal, source: str) -> None:
        total = inst.realized + unrealized - inst.fees
        inst.peak = max(inst.peak, total)
        drawdown = inst.peak - total
        inst.max_drawdown = max(inst.max_drawdown, drawdown)
        rows.append({"ts_ns": ts_ns, "instrument": name, "quote_asset": inst.quote,
                     "realized_pnl": derived(inst.realized), "unrealized_pnl": derived(unrealized),
                     "fees": derived(inst.fees), "total_pnl": derived(total), "peak_pnl": derived(inst.peak),
                     "drawdown": derived(drawdown), "mark_source": source})

    for change in history:
        venue, symbol = str(change["venue"]), str(change["symbol"])
        name = instrument_of.get((venue, symbol), symbol)
        inst = book(name, symbol)
        mark = inst.legs.get((venue, symbol), (Decimal(0), Decimal(0), None))[2]
        inst.realized += dec(change["realized_delta"])
        fill = by_execution.get((venue, str(change["trigger"])))
        if fill is not None:
            price = dec(fill["price"])
            mark = price
            fee, asset = dec(fill["fee"]), str(fill["fee_asset"])
            if asset == inst.quote or not inst.quote:
                inst.fees += fee
            elif asset == inst.base:
                inst.fees += fee * price
            elif fee:
                inst.unconverted[asset] = inst.unconverted.get(asset, Decimal(0)) + fee
        inst.legs[(venue, symbol)] = (dec(change["new_quantity"]), dec(change["new_average"]), mark)
        emit(int(change["ts_ns"]), name, inst, inst.unrealized(), "last fill")
    closing: dict[str, Decimal] = {}
    for p in final_positions:
        if not p.get("aggregate"):
            name = str(p["instrument"])
            closing[name] = closing.get(name, Decimal(0)) + dec(p["unrealized_pnl"])
    last_ts = max([int(r["ts_ns"]) for r in rows] + [end_ns])
    for name in sorted(set(state) | set(closing)):
        inst = book(name, name)
        emit(last_ts, name, inst, closing.get(name, inst.unrealized()), "close")
    final = {}
    for name, inst in sorted(state.items()):
        last = next(r for r in reversed(rows) if r["instrument"] == name)
        final[name] = {"quote_asset": inst.quote, "realized_pnl": last["realized_pnl"],
                       "unrealized_pnl": last["unrealized_pnl"], "fees": last["fees"],
                       "total_pnl": last["total_pnl"], "max_drawdown": derived(inst.max_drawdown),
                       "unconverted_fees": {a: str(v) for a, v in sorted(inst.unconverted.items())}}
    return PnlResult((rows, PNL_SCHEMA), final)

"""What a run records of its derivatives venues: funding payments and the venue's positions.

A replay with a linear perpetual venue (``sim.venue.futures_venue.FuturesVenue``) gains two
tables, written only when the run has such a venue (spot runs stay exactly as they were):

* ``funding``: every funding settlement, one row per position and funding time: the size, the
  mark price, the rate and the amount the account received (negative: paid), in the settle
  asset. The ``balances`` table gets the settle asset's balance after each settlement, so the
  ledger and the balance history agree;
* ``venue_positions``: each venue's positions at the end of the run as the venue reports them
  (``get_positions``: size, entry, mark, unrealized and realized PnL, leverage, margin mode,
  margin), beside the engine's own quantity and average entry for the same (venue, symbol) and
  whether the two agree, so a disagreement is visible without rerunning the reconciler.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from harness.positions import PositionBook
from reports.columns import AMOUNT, DERIVED, amount, derived
from reports.run_output import RunRecorder
from sim.venue.futures_venue import FundingPayment, FuturesVenue
from sim.venue.venue import SimVenue

__all__ = ["FUNDING_SCHEMA", "VENUE_POSITIONS_SCHEMA", "FuturesRecord"]

FUNDING_SCHEMA = pa.schema([
    ("ts_ns", pa.int64()), ("venue", pa.string()), ("symbol", pa.string()), ("quantity", AMOUNT),
    ("mark_price", DERIVED), ("rate", DERIVED), ("amount", AMOUNT), ("asset", pa.string()),
])
VENUE_POSITIONS_SCHEMA = pa.schema([
    ("ts_ns", pa.int64()), ("venue", pa.string()), ("symbol", pa.string()), ("quantity", AMOUNT),
    ("average_entry_price", DERIVED), ("mark_price", DERIVED), ("unrealized_pnl", AMOUNT),
    ("realized_pnl", AMOUNT), ("leverage", pa.int32()), ("margin_mode", pa.string()), ("margin", AMOUNT),
    ("engine_quantity", AMOUNT), ("engine_average_price", DERIVED), ("agrees", pa.bool_()),
])


@dataclass
class FuturesRecord:
    """Collects a run's funding payments and, at the end, its venues' positions (see the module docstring)."""

    recorder: RunRecorder
    venues: dict[str, FuturesVenue]
    funding_rows: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def attach(cls, recorder: RunRecorder, venues: Mapping[str, SimVenue]) -> FuturesRecord | None:
        """Listen to the funding of every derivatives venue of ``venues``; None when there is none."""
        futures = {name: venue for name, venue in venues.items() if isinstance(venue, FuturesVenue)}
        if not futures:
            return None
        record = cls(recorder, futures)
        for venue in futures.values():
            venue.funding_listeners.append(record._listener(venue))
        return record

    def _listener(self, venue: FuturesVenue) -> Callable[[FundingPayment], None]:
        def on_funding(payment: FundingPayment) -> None:
            self._on_funding(venue, payment)
        return on_funding

    def _on_funding(self, venue: FuturesVenue, payment: FundingPayment) -> None:
        self.funding_rows.append({
            "ts_ns": payment.ts_ns, "venue": payment.venue, "symbol": payment.symbol,
            "quantity": amount(payment.quantity), "mark_price": derived(payment.mark_price),
            "rate": derived(payment.rate), "amount": amount(payment.amount), "asset": payment.asset,
        })
        balance = venue.balances().get(payment.asset)
        if balance is not None:
            self.recorder.balance(payment.ts_ns, venue.name, balance)

    def finish(self, book: PositionBook) -> None:
        """Add the ``funding`` and ``venue_positions`` tables to the recorder (the engine's ``book``
        gives the other side of each position)."""
        rows: list[dict[str, Any]] = []
        for name, venue in sorted(self.venues.items()):
            reported = {r.symbol: r for r in venue.position_reports()}
            ours = {p.symbol: p for p in book.positions(name) if not p.is_flat}
            for symbol in sorted(set(reported) | set(ours)):
                report, mine = reported.get(symbol), ours.get(symbol)
                quantity = report.quantity if report is not None else None
                entry = report.average_entry_price if report is not None else None
                agrees = (report is not None and mine is not None and mine.quantity == report.quantity
                          and mine.average_price == report.average_entry_price)
                rows.append({
                    "ts_ns": venue.now(), "venue": name, "symbol": symbol, "quantity": amount(quantity),
                    "average_entry_price": derived(entry),
                    "mark_price": derived(report.mark_price) if report is not None else None,
                    "unrealized_pnl": amount(report.unrealized_pnl) if report is not None else None,
                    "realized_pnl": amount(report.realized_pnl) if report is not None else None,
                    "leverage": report.leverage if report is not None else None,
                    "margin_mode": report.margin_mode if report is not None else None,
                    "margin": amount(report.margin) if report is not None else None,
                    "engine_quantity": amount(mine.quantity) if mine is not None else None,
                    "engine_average_price": derived(mine.average_price) if mine is not None else None,
                    "agrees": agrees,
                })
        self.recorder.extra("funding", self.funding_rows, FUNDING_SCHEMA)
        self.recorder.extra("venue_positions", rows, VENUE_POSITIONS_SCHEMA)

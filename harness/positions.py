"""Position maths as pure functions: net quantity, average entry price, realized PnL.

A position is signed (positive long, negative short). A fill in the position's direction
increases it and moves the average entry price to the quantity-weighted average; a fill against
it decreases it and realizes ``(fill price - average entry) * closed quantity`` (sign-adjusted
for shorts); a fill larger than the position closes it and opens the rest on the other side at
the fill price. Unrealized PnL is ``(mark - average entry) * quantity``.

These are used by the simulated venue for its own books and by the execution layer's
``PositionBook``, so both sides of a reconciliation compute positions the same way.

``PositionBook`` (below the pure functions) is the execution layer's record of positions: one
``Position`` per (venue, symbol), an ``AggregatePosition`` per instrument across venues whose
quantity, PnL and commissions are exactly the sums of its legs, and a ``PositionHistoryRecord``
for every change, whether a fill caused it or a reconciliation with the venue (which is the
source of truth, see ``harness.reconcile``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple, Protocol

from harness.model import Fill, PositionReport

__all__ = [
    "AggregatePosition",
    "InstrumentOf",
    "Position",
    "PositionBook",
    "PositionChange",
    "PositionHistoryRecord",
    "PositionKey",
    "PositionState",
    "TimeSource",
    "aggregate_positions",
    "apply_fill",
    "symbol_as_instrument",
    "unrealized_pnl",
]

ZERO = Decimal(0)


_NO_IDS: frozenset[str] = frozenset()

class PositionChange(StrEnum):
    """What a fill did to a position (the history record's event type)."""

    OPEN = "OPEN"
    INCREASE = "INCREASE"
    DECREASE = "DECREASE"
    CLOSE = "CLOSE"
    REVERSE = "REVERSE"
    RECONCILE = "RECONCILE"


@dataclass(frozen=True, slots=True)
class PositionState:
    """Net signed quantity, average entry price and realized PnL (quote units) of one position."""

    quantity: Decimal = ZERO
    average_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO


def apply_fill(state: PositionState, signed_quantity: Decimal,
               price: Decimal) -> tuple[PositionState, PositionChange]:
    """The position after a fill of ``signed_quantity`` (buy > 0, sell < 0) at ``price``.

    Exact ``Decimal`` arithmetic; the average price is a quotient and keeps the context's
    precision (28 digits), which is far finer than any venue's tick.
    """
    if signed_quantity == 0:
        return state, PositionChange.RECONCILE
    qty, avg, realized = state.quantity, state.average_price, state.realized_pnl
    new_qty = qty + signed_quantity
    if qty == 0:
        return PositionState(new_qty, price, realized), PositionChange.OPEN
    if (qty > 0) == (signed_quantity > 0):
        new_avg = (avg * qty + price * signed_quantity) / new_qty
        return PositionState(new_qty, new_avg, realized), PositionChange.INCREASE
    closed = min(abs(signed_quantity), abs(qty))
    direction = 1 if qty > 0 else -1
    realized += (price - avg) * closed * direction
    if new_qty == 0:
        return PositionState(ZERO, ZERO, realized), PositionChange.CLOSE
    if (new_qty > 0) == (qty > 0):
        return PositionState(new_qty, avg, realized), PositionChange.DECREASE
    return PositionState(new_qty, price, realized), PositionChange.REVERSE


def unrealized_pnl(state: PositionState, mark_price: Decimal) -> Decimal:
    """``(mark - average entry) * quantity``: positive when the position is in profit."""
    return (mark_price - state.average_price) * state.quantity


# --------------------------------------------------------------------------- the book


class TimeSource(Protocol):
    """What the book needs of a ``harness.clock.Clock``: the current time in epoch ns."""

    def now_ns(self) -> int:
        """Current time, ns since the Unix epoch (UTC)."""


InstrumentOf = Callable[[str, str], str]
"""Maps (venue, venue symbol) to the instrument name positions are aggregated under."""


def symbol_as_instrument(venue: str, symbol: str) -> str:
    """The default ``InstrumentOf``: a symbol names the same instrument on every venue."""
    return symbol


class PositionKey(NamedTuple):
    """Identifies one position: a venue and that venue's symbol for the instrument."""

    venue: str
    symbol: str


def _frozen_commissions(commissions: Mapping[str, Decimal]) -> Mapping[str, Decimal]:
    """A read-only copy of a commissions mapping, assets in sorted order."""
    return MappingProxyType({asset: commissions[asset] for asset in sorted(commissions)})


def _no_commissions() -> Mapping[str, Decimal]:
    """An empty read-only commissions mapping (the default of a new position)."""
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Position:
    """Our view of one position at one venue.

    ``quantity`` is signed (negative = short); ``average_price`` is the weighted average entry
    (0 when flat); ``realized_pnl`` is in the symbol's quote asset. ``commissions`` maps each fee
    asset to the fees paid in it, *unconverted*: venues charge fees in the base asset, the quote
    asset or a third token (BNB), and converting them would need prices the book does not own.
    Fees are therefore not subtracted from ``realized_pnl``. ``last_price`` is the latest mark
    (``None`` until ``PositionBook.mark`` is called), ``updated_ns`` the book's time of the last
    change to the position.
    """

    venue: str
    symbol: str
    quantity: Decimal = ZERO
    average_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    commissions: Mapping[str, Decimal] = field(default_factory=_no_commissions)
    updated_ns: int = 0
    last_price: Decimal | None = None

    @property
    def key(self) -> PositionKey:
        """The (venue, symbol) this position is kept under."""
        return PositionKey(self.venue, self.symbol)

    @property
    def state(self) -> PositionState:
        """The pure-maths view (quantity, average, realized) used by ``apply_fill``."""
        return PositionState(self.quantity, self.average_price, self.realized_pnl)

    @property
    def is_flat(self) -> bool:
        """True when nothing is held either way."""
        return self.quantity == 0

    @property
    def unrealized_pnl(self) -> Decimal:
        """``(last_price - average_price) * quantity``; 0 while the position has no mark."""
        if self.last_price is None:
            return ZERO
        return unrealized_pnl(self.state, self.last_price)


@dataclass(frozen=True, slots=True)
class PositionHistoryRecord:
    """One change to one position: what kind, the quantity and average before and after, and why.

    ``trigger`` is the fill's execution id for a fill, ``"reconcile:<reason>"`` for a correction
    from the venue; ``realized_delta`` is the PnL the change realized (0 for a reconcile).
    """

    ts_ns: int
    venue: str
    symbol: str
    change: PositionChange
    previous_quantity: Decimal
    new_quantity: Decimal
    previous_average: Decimal
    new_average: Decimal
    trigger: str
    realized_delta: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class AggregatePosition:
    """One instrument summed over venues; every total is exactly the sum of ``legs``' values.

    ``average_price`` is ``sum(average_i * quantity_i) / quantity`` (0 when the net quantity is
    0): the entry price at which the net quantity carries the legs' combined cost, so that with
    one common mark ``(mark - average_price) * quantity`` equals the summed unrealized PnL (up
    to the quotient's 28-digit rounding).
    """

    instrument: str
    quantity: Decimal
    average_price: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    commissions: Mapping[str, Decimal]
    legs: tuple[Position, ...]


def _signed(fill: Fill) -> Decimal:
    """The fill's quantity with the sign its side gives a position (buy +, sell -)."""
    return fill.quantity * fill.side.sign


def _check_fill(fill: Fill) -> None:
    """Refuse fills that no venue could have sent, naming the bad field."""
    if not fill.quantity.is_finite() or fill.quantity <= 0:
        raise ValueError(f"fill {fill.execution_id!r}: quantity must be a positive finite Decimal, got {fill.quantity}")
    if not fill.price.is_finite() or fill.price <= 0:
        raise ValueError(f"fill {fill.execution_id!r}: price must be a positive finite Decimal, got {fill.price}")
    if not fill.fee.is_finite():
        raise ValueError(f"fill {fill.execution_id!r}: fee must be a finite Decimal, got {fill.fee}")


class PositionBook:
    """Positions per venue and symbol, built from fills and corrected from the venue.

    Every change appends a ``PositionHistoryRecord``. A fill whose (venue, execution id) was
    already applied is ignored, so replays and duplicated execution reports are harmless.
    ``instrument_of`` tells which positions on different venues are the same instrument
    (``BTCUSDT`` on one, ``BTC-USD`` on another) for ``aggregate``; by default the symbol is.
    """

    def __init__(self, clock: TimeSource, *, instrument_of: InstrumentOf = symbol_as_instrument) -> None:
        self._clock = clock
        self._instrument_of = instrument_of
        self._positions: dict[PositionKey, Position] = {}
        self._marks: dict[PositionKey, Decimal] = {}
        self._executions: dict[str, set[str]] = {}  # per venue, the execution ids applied
        self._history: list[PositionHistoryRecord] = []

    # ------------------------------------------------------------------ changes

    def apply_fill(self, fill: Fill) -> PositionHistoryRecord | None:
        """Apply one of our fills: buys add, sells subtract, the fee adds to commissions.

        Returns the history record, or ``None`` when the execution id was already applied.
        """
        applied = self._executions.setdefault(fill.venue, set())
        if fill.execution_id in applied:
            return None
        _check_fill(fill)
        applied.add(fill.execution_id)
        key = PositionKey(fill.venue, fill.symbol)
        before = self._positions.get(key) or Position(fill.venue, fill.symbol)
        state, change = apply_fill(before.state, _signed(fill), fill.price)
        commissions = dict(before.commissions)
        if fill.fee != 0 or fill.fee_asset:
            commissions[fill.fee_asset] = commissions.get(fill.fee_asset, ZERO) + fill.fee
        now = self._clock.now_ns()
        self._positions[key] = replace(before, quantity=state.quantity, average_price=state.average_price,
                                       realized_pnl=state.realized_pnl,
                                       commissions=_frozen_commissions(commissions), updated_ns=now)
        return self._record(PositionHistoryRecord(
            now, fill.venue, fill.symbol, change, before.quantity, state.quantity, before.average_price,
            state.average_price, fill.execution_id, state.realized_pnl - before.realized_pnl))

    def set_from_venue(self, report: PositionReport, reason: str) -> PositionHistoryRecord | None:
        """Make the venue's quantity and average entry ours (the venue is the source of truth).

        Realized PnL and commissions are kept. Returns the RECONCILE history record, or ``None``
        when the book already agrees exactly (so reconciling twice changes nothing).
        """
        if not report.quantity.is_finite() or not report.average_entry_price.is_finite():
            raise ValueError(f"position report {report.venue}/{report.symbol}: quantity and average_entry_price "
                             f"must be finite, got {report.quantity} and {report.average_entry_price}")
        key = PositionKey(report.venue, report.symbol)
        before = self._positions.get(key) or Position(report.venue, report.symbol)
        quantity = report.quantity
        average = report.average_entry_price if quantity != 0 else ZERO
        if before.quantity == quantity and before.average_price == average:
            return None
        now = self._clock.now_ns()
        self._positions[key] = replace(before, quantity=quantity, average_price=average, updated_ns=now)
        return self._record(PositionHistoryRecord(
            now, report.venue, report.symbol, PositionChange.RECONCILE, before.quantity, quantity,
            before.average_price, average, f"reconcile:{reason}"))

    def mark(self, venue: str, symbol: str, price: Decimal) -> None:
        """Set the mark price used for the unrealized PnL of (venue, symbol)."""
        if not price.is_finite() or price <= 0:
            raise ValueError(f"mark price for {venue}/{symbol} must be a positive finite Decimal, got {price}")
        self._marks[PositionKey(venue, symbol)] = price

    def _record(self, record: PositionHistoryRecord) -> PositionHistoryRecord:
        self._history.append(record)
        return record

    # ------------------------------------------------------------------ queries

    def position(self, venue: str, symbol: str) -> Position | None:
        """The position at one venue (with its current mark), or ``None`` if never traded or set."""
        key = PositionKey(venue, symbol)
        found = self._positions.get(key)
        if found is None:
            return None
        return replace(found, last_price=self._marks.get(key))

    def quantity(self, venue: str, symbol: str) -> Decimal:
        """The net quantity at one venue (0 if never traded or set): ``position(...).quantity``
        without copying the position, for callers that ask on every market event."""
        found = self._positions.get(PositionKey(venue, symbol))
        return found.quantity if found is not None else ZERO

    def unrealized(self, venue: str, symbol: str) -> Decimal:
        """``(mark - average entry) * quantity`` at one venue; 0 when flat, unknown or unmarked."""
        found = self.position(venue, symbol)
        return ZERO if found is None else found.unrealized_pnl

    def positions(self, venue: str | None = None, *, include_flat: bool = True) -> list[Position]:
        """Positions of one venue (or all venues), sorted by (venue, symbol)."""
        keys = sorted(k for k in self._positions if venue is None or k.venue == venue)
        found = [self.position(*k) for k in keys]
        return [p for p in found if p is not None and (include_flat or not p.is_flat)]

    def all(self) -> list[Position]:
        """Every position on every venue, flat ones included, sorted by (venue, symbol)."""
        return self.positions()

    def instrument_of(self, venue: str, symbol: str) -> str:
        """The instrument a venue's symbol is aggregated under."""
        return self._instrument_of(venue, symbol)

    def aggregate(self, instrument: str) -> AggregatePosition:
        """One instrument summed over every venue holding it (see ``AggregatePosition``)."""
        legs = tuple(p for p in self.all() if self._instrument_of(p.venue, p.symbol) == instrument)
        return aggregate_positions(instrument, legs)

    def aggregates(self) -> list[AggregatePosition]:
        """One ``AggregatePosition`` per instrument the book knows, sorted by instrument."""
        instruments = sorted({self._instrument_of(k.venue, k.symbol) for k in self._positions})
        return [self.aggregate(i) for i in instruments]

    def history(self, venue: str | None = None, symbol: str | None = None) -> list[PositionHistoryRecord]:
        """History records, oldest first, optionally of one venue and/or one symbol."""
        return [r for r in self._history
                if (venue is None or r.venue == venue) and (symbol is None or r.symbol == symbol)]

    def known_execution_ids(self, venue: str) -> AbstractSet[str]:
        """Execution ids of every fill of ``venue`` already applied (for fill reconciliation).

        The book's own set, kept as fills are applied (no copy: reconciliation asks for it on
        every run); read it, do not keep it across changes.
        """
        return self._executions.get(venue, _NO_IDS)


def aggregate_positions(instrument: str, legs: Iterable[Position]) -> AggregatePosition:
    """Sum positions of one instrument into an ``AggregatePosition`` (exact sums, weighted average)."""
    parts = tuple(legs)
    quantity = sum((p.quantity for p in parts), ZERO)
    cost = sum((p.average_price * p.quantity for p in parts), ZERO)
    commissions: dict[str, Decimal] = {}
    for p in parts:
        for asset, amount in p.commissions.items():
            commissions[asset] = commissions.get(asset, ZERO) + amount
    return AggregatePosition(
        instrument=instrument,
        quantity=quantity,
        average_price=cost / quantity if quantity != 0 else ZERO,
        realized_pnl=sum((p.realized_pnl for p in parts), ZERO),
        unrealized_pnl=sum((p.unrealized_pnl for p in parts), ZERO),
        commissions=_frozen_commissions(commissions),
        legs=parts,
    )

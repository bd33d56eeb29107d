"""Reconciliation: our orders, fills, positions and balances against the venue's; the venue wins.

Each ``reconcile_*`` function is pure: it takes our records and the venue's reports and returns
the discrepancies (each with our value and the venue's) and the corrections that make us agree
with the venue. Nothing here talks to a venue except ``fetch_venue_state``, a thin async helper
that collects one venue's reports through any ``ExchangeAdapter``; applying corrections to the
``PositionBook`` (``apply_missing_fills``, ``apply_position_corrections``) and raising one alert
per discrepancy (``raise_discrepancy_alerts``) are small, separate steps.

Reconciliation runs on start-up, after every reconnect and periodically; the orchestrator does,
per venue and in this order::

    state = await fetch_venue_state(adapter, symbols)
    orders = reconcile_orders(our_orders, state.open_orders, venue=venue, symbols=state.symbols)
    missing, fill_issues = reconcile_fills(book.known_execution_ids(venue), state.fills)
    apply_missing_fills(book, missing)      # fills first, so positions only differ for real
    corrections, issues = reconcile_positions(book.positions(venue), state.positions,
                                              symbols=state.symbols)
    apply_position_corrections(book, corrections, alerts, clock.now_ns())
    balance_issues = reconcile_balances(expected, state.balances, venue=venue)

Every step is idempotent: once its corrections are applied, running it again on the same venue
state finds nothing and changes nothing.

Orders the venue no longer lists as open but we think are live come back as ``missing``: the
venue's open-order list cannot say whether they filled or were cancelled, so the orchestrator
asks ``get_order`` for each and passes the answers back through ``reconcile_orders``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from harness.alerts import Alert, AlertSink, Severity
from harness.contract import ExchangeAdapter
from harness.model import Balance, Fill, OrderReport, OrderStatus, PositionReport
from harness.positions import Position, PositionBook, PositionHistoryRecord

__all__ = [
    "ALERT_KINDS",
    "Discrepancy",
    "DiscrepancyKind",
    "OrderView",
    "PositionCorrection",
    "ReconcileResult",
    "VenueState",
    "apply_missing_fills",
    "apply_position_corrections",
    "fetch_venue_state",
    "raise_discrepancy_alerts",
    "reconcile_balances",
    "reconcile_fills",
    "reconcile_orders",
    "reconcile_positions",
    "statuses_agree",
]

ZERO = Decimal(0)


class DiscrepancyKind(StrEnum):
    """What disagreed between our records and the venue's."""

    ORDER_STATUS = "ORDER_STATUS"
    ORDER_FILLED_QUANTITY = "ORDER_FILLED_QUANTITY"
    ORDER_MISSING_AT_VENUE = "ORDER_MISSING_AT_VENUE"
    ORDER_UNKNOWN_TO_US = "ORDER_UNKNOWN_TO_US"
    FILL_MISSING = "FILL_MISSING"
    POSITION_QUANTITY = "POSITION_QUANTITY"
    POSITION_PRICE = "POSITION_PRICE"
    BALANCE = "BALANCE"


ALERT_KINDS: Mapping[DiscrepancyKind, tuple[str, Severity]] = {
    DiscrepancyKind.ORDER_STATUS: ("order_discrepancy", Severity.WARNING),
    DiscrepancyKind.ORDER_FILLED_QUANTITY: ("order_discrepancy", Severity.WARNING),
    DiscrepancyKind.ORDER_MISSING_AT_VENUE: ("order_discrepancy", Severity.WARNING),
    DiscrepancyKind.ORDER_UNKNOWN_TO_US: ("order_discrepancy", Severity.CRITICAL),
    DiscrepancyKind.FILL_MISSING: ("fill_discrepancy", Severity.WARNING),
    DiscrepancyKind.POSITION_QUANTITY: ("position_discrepancy", Severity.CRITICAL),
    DiscrepancyKind.POSITION_PRICE: ("position_discrepancy", Severity.WARNING),
    DiscrepancyKind.BALANCE: ("balance_discrepancy", Severity.CRITICAL),
}
"""The alert kind and severity raised for each discrepancy kind."""


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One disagreement: what, where, which record (``key``), our value and the venue's, as text.

    ``key`` is the client order id (orders), execution id (fills), symbol (positions) or asset
    (balances). Values are strings so that statuses, quantities and "absent" read alike in
    alerts and logs.
    """

    kind: DiscrepancyKind
    venue: str
    key: str
    ours: str
    venue_value: str
    detail: str = ""


class OrderView(Protocol):
    """What order reconciliation reads of our orders (``harness.orders.ManagedOrder`` has it)."""

    @property
    def client_order_id(self) -> str:
        """Our id, sent to the venue."""

    @property
    def venue(self) -> str:
        """The venue the order was sent to."""

    @property
    def symbol(self) -> str:
        """The venue's symbol."""

    @property
    def status(self) -> OrderStatus:
        """Our idea of the order's state."""

    @property
    def filled_quantity(self) -> Decimal:
        """How much we have seen fill."""

    @property
    def quantity(self) -> Decimal:
        """The order's quantity."""


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    """Outcome of ``reconcile_orders``.

    ``corrections`` are the venue's reports for orders of ours whose state differs: apply each
    (the venue is the truth). ``unknown`` are venue orders we have no record of (adopt or cancel
    them: a human decision, hence a CRITICAL alert). ``missing`` are client order ids we think
    live that the venue did not report: ask the venue for each with ``get_order``.
    """

    checked: int
    discrepancies: tuple[Discrepancy, ...] = ()
    corrections: tuple[OrderReport, ...] = ()
    unknown: tuple[OrderReport, ...] = ()
    missing: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        """True when nothing disagreed."""
        return not self.discrepancies


@dataclass(frozen=True, slots=True)
class PositionCorrection:
    """The venue's position to adopt and the discrepancies that call for it."""

    report: PositionReport
    discrepancies: tuple[Discrepancy, ...]

    @property
    def reason(self) -> str:
        """Short text for the history record's trigger: the discrepancy kinds, comma-separated."""
        return ",".join(d.kind.value for d in self.discrepancies)


@dataclass(frozen=True, slots=True)
class VenueState:
    """One venue's reports at one moment, as ``fetch_venue_state`` collected them.

    ``symbols`` is the scope asked for (``None`` = every symbol): records of ours outside it must
    not be compared with this state, or they would look missing at the venue.
    """

    venue: str
    symbols: tuple[str, ...] | None
    open_orders: tuple[OrderReport, ...]
    fills: tuple[Fill, ...]
    positions: tuple[PositionReport, ...]
    balances: Mapping[str, Balance] = field(default_factory=dict)

    def covers(self, symbol: str) -> bool:
        """Whether ``symbol`` was in the fetched scope."""
        return self.symbols is None or symbol in self.symbols


# --------------------------------------------------------------------------- orders

_WORKING = frozenset({OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED})
_IN_FLIGHT = frozenset({OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_MODIFY})


def statuses_agree(ours: OrderStatus, venue: OrderStatus) -> bool:
    """Whether our status is consistent with the venue's.

    Equal statuses agree, and so does a cancel or modify we have sent but not seen answered
    (PENDING_CANCEL, PENDING_MODIFY) while the venue still shows the order working: the venue
    simply has not acted yet, and overwriting our status would forget the request in flight.
    """
    return ours == venue or (ours in _IN_FLIGHT and venue in _WORKING)


def reconcile_orders(ours: Iterable[OrderView], venue_reports: Sequence[OrderReport], *,
                     venue: str | None = None, symbols: Collection[str] | None = None) -> ReconcileResult:
    """Compare our orders with the venue's reports (open orders, or ``get_order`` answers).

    Only our orders of ``venue`` (if given) and ``symbols`` (if given) are considered. Orders we
    consider terminal are expected to be absent from an open-order list, and so are PENDING ones
    (not acknowledged yet: a submit in flight, which recovery resolves by client order id); every
    other order of ours must be reported, or it is ``missing``. Matching is by (venue, client
    order id).
    """
    scoped = [o for o in ours if (venue is None or o.venue == venue) and (symbols is None or o.symbol in symbols)]
    by_id = {(o.venue, o.client_order_id): o for o in scoped}
    discrepancies: list[Discrepancy] = []
    corrections: list[OrderReport] = []
    unknown: list[OrderReport] = []
    reported: set[tuple[str, str]] = set()
    for report in venue_reports:
        key = (report.venue, report.client_order_id)
        if key in reported:
            continue
        reported.add(key)
        order = by_id.get(key)
        if order is None:
            if (venue is None or report.venue == venue) and (symbols is None or report.symbol in symbols):
                unknown.append(report)
                discrepancies.append(Discrepancy(
                    DiscrepancyKind.ORDER_UNKNOWN_TO_US, report.venue, report.client_order_id, "absent",
                    report.status.value, f"{report.symbol} {report.side.value} {report.quantity} "
                    f"venue order id {report.venue_order_id}"))
            continue
        found = _compare_order(order, report)
        if found:
            discrepancies.extend(found)
            corrections.append(report)
    missing: list[str] = []
    for order in scoped:
        if ((order.venue, order.client_order_id) not in reported and not order.status.is_terminal
                and order.status is not OrderStatus.PENDING):
            missing.append(order.client_order_id)
            discrepancies.append(Discrepancy(
                DiscrepancyKind.ORDER_MISSING_AT_VENUE, order.venue, order.client_order_id, order.status.value,
                "absent", f"{order.symbol}: not among the venue's reports; ask the venue for its final state"))
    return ReconcileResult(len(scoped), tuple(discrepancies), tuple(corrections), tuple(unknown), tuple(missing))


def _compare_order(order: OrderView, report: OrderReport) -> list[Discrepancy]:
    """Status and filled-quantity disagreements between one order of ours and its report."""
    found: list[Discrepancy] = []
    if not statuses_agree(order.status, report.status):
        found.append(Discrepancy(DiscrepancyKind.ORDER_STATUS, order.venue, order.client_order_id,
                                 order.status.value, report.status.value, order.symbol))
    if order.filled_quantity != report.filled_quantity:
        found.append(Discrepancy(DiscrepancyKind.ORDER_FILLED_QUANTITY, order.venue, order.client_order_id,
                                 str(order.filled_quantity), str(report.filled_quantity),
                                 f"{order.symbol}: quantity {order.quantity}"))
    return found


# --------------------------------------------------------------------------- fills


def reconcile_fills(known_execution_ids: Collection[str],
                    venue_fills: Iterable[Fill]) -> tuple[tuple[Fill, ...], tuple[Discrepancy, ...]]:
    """The venue's fills we have not applied (oldest first) and one FILL_MISSING each.

    ``known_execution_ids`` are the ids already applied for the venue the fills come from
    (``PositionBook.known_execution_ids(venue)``); a fill the venue reports twice counts once.
    """
    missing: dict[str, Fill] = {}
    for fill in venue_fills:
        if fill.execution_id not in known_execution_ids and fill.execution_id not in missing:
            missing[fill.execution_id] = fill
    ordered = tuple(sorted(missing.values(), key=lambda f: (f.ts_ns, f.execution_id)))
    discrepancies = tuple(
        Discrepancy(DiscrepancyKind.FILL_MISSING, f.venue, f.execution_id, "absent",
                    f"{f.side.value} {f.quantity} @ {f.price}",
                    f"{f.symbol} order {f.client_order_id} at {f.ts_ns}")
        for f in ordered)
    return ordered, discrepancies


def apply_missing_fills(book: PositionBook, fills: Iterable[Fill]) -> list[PositionHistoryRecord]:
    """Apply fills found by ``reconcile_fills`` to the book; returns the history records made."""
    records = [book.apply_fill(f) for f in fills]
    return [r for r in records if r is not None]


# --------------------------------------------------------------------------- positions


def reconcile_positions(book_positions: Iterable[Position], venue_positions: Iterable[PositionReport], *,
                        tolerance: Decimal = ZERO, price_tolerance: Decimal = ZERO,
                        symbols: Collection[str] | None = None,
                        as_of_ns: int | None = None) -> tuple[tuple[PositionCorrection, ...], tuple[Discrepancy, ...]]:
    """Compare our positions with the venue's; the venue's values become the corrections.

    Pass our positions of the venue(s) the reports come from. A position of ours the venue does
    not report is flat at the venue (venues list non-zero positions only). Quantities within
    ``tolerance`` agree; average prices are compared when either side holds something, within
    ``price_tolerance``. Positions outside ``symbols`` (when given) are not compared. Synthesized
    flat reports carry ``as_of_ns`` (default: the newest report's time, else 0).
    """
    if tolerance < 0 or price_tolerance < 0:
        raise ValueError(f"tolerance and price_tolerance must not be negative, got {tolerance}, {price_tolerance}")
    reports = {(r.venue, r.symbol): r for r in venue_positions if symbols is None or r.symbol in symbols}
    ours = {(p.venue, p.symbol): p for p in book_positions if symbols is None or p.symbol in symbols}
    stamp = as_of_ns if as_of_ns is not None else max((r.ts_ns for r in reports.values()), default=0)
    corrections: list[PositionCorrection] = []
    for venue, symbol in sorted(set(reports) | set(ours)):
        report = reports.get((venue, symbol)) or PositionReport(venue, symbol, ZERO, ZERO, stamp)
        mine = ours.get((venue, symbol)) or Position(venue, symbol)
        found = _compare_position(mine, report, tolerance, price_tolerance)
        if found:
            corrections.append(PositionCorrection(report, tuple(found)))
    return tuple(corrections), tuple(d for c in corrections for d in c.discrepancies)


def _compare_position(mine: Position, report: PositionReport, tolerance: Decimal,
                      price_tolerance: Decimal) -> list[Discrepancy]:
    """Quantity and average-price disagreements between one position of ours and the venue's."""
    found: list[Discrepancy] = []
    if abs(mine.quantity - report.quantity) > tolerance:
        found.append(Discrepancy(DiscrepancyKind.POSITION_QUANTITY, report.venue, report.symbol,
                                 str(mine.quantity), str(report.quantity),
                                 f"difference {report.quantity - mine.quantity}"))
    venue_average = report.average_entry_price if report.quantity != 0 else ZERO
    holding = mine.quantity != 0 or report.quantity != 0
    if holding and abs(mine.average_price - venue_average) > price_tolerance:
        found.append(Discrepancy(DiscrepancyKind.POSITION_PRICE, report.venue, report.symbol,
                                 str(mine.average_price), str(venue_average), "average entry price"))
    return found


def apply_position_corrections(book: PositionBook, corrections: Iterable[PositionCorrection], alerts: AlertSink,
                               ts_ns: int) -> list[PositionHistoryRecord]:
    """Adopt the venue's positions and raise one alert per discrepancy; returns the history records."""
    records: list[PositionHistoryRecord] = []
    for correction in corrections:
        raise_discrepancy_alerts(alerts, correction.discrepancies, ts_ns)
        record = book.set_from_venue(correction.report, correction.reason)
        if record is not None:
            records.append(record)
    return records


# --------------------------------------------------------------------------- balances


def reconcile_balances(expected: Mapping[str, Decimal], venue_balances: Mapping[str, Balance], *,
                       venue: str = "", tolerance: Decimal = ZERO) -> tuple[Discrepancy, ...]:
    """Compare the totals we expect per asset with the venue's (free + locked); the venue's stand.

    Every asset on either side is compared, a missing one counting as 0, so ``expected`` must
    cover each asset the account holds. There is nothing to apply: our balances are whatever
    the venue reports; a discrepancy means our accounting (fills, fees, transfers) is off.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must not be negative, got {tolerance}")
    found: list[Discrepancy] = []
    for asset in sorted(set(expected) | set(venue_balances)):
        ours = expected.get(asset, ZERO)
        balance = venue_balances.get(asset)
        theirs = balance.total if balance is not None else ZERO
        if abs(ours - theirs) > tolerance:
            detail = f"difference {theirs - ours}"
            if balance is not None:
                detail += f"; free {balance.free}, locked {balance.locked}"
            found.append(Discrepancy(DiscrepancyKind.BALANCE, venue, asset, str(ours), str(theirs), detail))
    return tuple(found)


# --------------------------------------------------------------------------- alerts and fetching


def raise_discrepancy_alerts(alerts: AlertSink, discrepancies: Iterable[Discrepancy], ts_ns: int, *,
                             source: str = "reconcile") -> None:
    """Raise one alert per discrepancy, with both values in its details (see ``ALERT_KINDS``)."""
    for d in discrepancies:
        kind, severity = ALERT_KINDS[d.kind]
        alerts.raise_alert(Alert(
            ts_ns=ts_ns, severity=severity, source=source, kind=kind,
            message=f"{d.kind.value} {d.venue}/{d.key}: ours {d.ours}, venue {d.venue_value}",
            venue=d.venue,
            details={"discrepancy": d.kind.value, "key": d.key, "ours": d.ours, "venue_value": d.venue_value,
                     "detail": d.detail}))


async def fetch_venue_state(adapter: ExchangeAdapter, symbols: Sequence[str] | None = None, *,
                            since_ns: int = 0) -> VenueState:
    """Ask one venue for its open orders, fills since ``since_ns``, positions and balances.

    With ``symbols``, orders and fills are asked per symbol and positions kept for those
    symbols only; without, for the whole account. Requests go one after another, so the
    adapter's rate limiting sees an ordinary sequence; errors propagate as ``VenueError``.
    """
    scope = tuple(symbols) if symbols is not None else None
    orders: list[OrderReport] = []
    fills: list[Fill] = []
    if scope is None:
        orders.extend(await adapter.get_open_orders())
        fills.extend(await adapter.get_fills(None, since_ns))
    else:
        for symbol in scope:
            orders.extend(await adapter.get_open_orders(symbol))
            fills.extend(await adapter.get_fills(symbol, since_ns))
    positions = [p for p in await adapter.get_positions() if scope is None or p.symbol in scope]
    balances = await adapter.get_balances()
    return VenueState(adapter.venue, scope, tuple(orders), tuple(fills), tuple(positions), dict(balances))

"""Reconciliation against one venue under latency: what the engine runs on start, on a timer and after reconnects.

The comparisons themselves are the pure functions of ``harness.reconcile``; this class decides
what to compare when the venue's answers are snapshots travelling with latency (see ``run``),
adopts the venue's truth into the order manager and the position book, and raises the alerts.
"""

from __future__ import annotations

from bisect import bisect_right, insort_right
from collections.abc import Callable, Iterable
from decimal import Decimal

from harness.alerts import AlertSink
from harness.clock import Clock
from harness.contract import ExchangeAdapter, OrderNotFoundError, VenueError
from harness.model import Fill, OrderReport, PositionReport
from harness.orders import ManagedOrder, OrderManager
from harness.positions import PositionBook, PositionHistoryRecord
from harness.reconcile import (
    Discrepancy,
    DiscrepancyKind,
    apply_missing_fills,
    apply_position_corrections,
    fetch_venue_state,
    raise_discrepancy_alerts,
    reconcile_fills,
    reconcile_orders,
    reconcile_positions,
)
from harness.secrets import safe_logger

__all__ = ["VenueReconciler"]

logger = safe_logger(__name__)


def _fill_ts(fill: Fill) -> int:
    return fill.ts_ns


class VenueReconciler:
    """Reconciles an order manager and a position book with venues, one venue per ``run``.

    ``note_fill`` must see every fill the position book applies (the engine forwards them), so
    that a position snapshot can be carried forward by the fills that came after it.
    ``grace_ns`` is how young a missing fill may be and still be news in flight, not an alert.
    """

    def __init__(self, orders: OrderManager, positions: PositionBook, alerts: AlertSink, clock: Clock, *,
                 grace_ns: int, on_position: Callable[[PositionHistoryRecord], None]) -> None:
        self.orders = orders
        self.positions = positions
        self.alerts = alerts
        self.clock = clock
        self._grace_ns = grace_ns
        self._on_position = on_position
        # fills in the position book, per venue/symbol, in time order (equal times: as applied)
        self._applied: dict[tuple[str, str], list[Fill]] = {}
        self._fills_seen_ns: dict[str, int] = {}  # per venue: the fills before this were all compared

    def note_fill(self, fill: Fill) -> None:
        """Remember a fill the position book applied."""
        applied = self._applied.setdefault((fill.venue, fill.symbol), [])
        if applied and fill.ts_ns < applied[-1].ts_ns:
            insort_right(applied, fill, key=_fill_ts)  # a late one (e.g. found by reconciliation)
        else:
            applied.append(fill)

    async def run(self, gateway: ExchangeAdapter) -> list[Discrepancy]:
        """Compare orders, fills and positions with ``gateway``'s venue (the truth), adopt its values, alert.

        Reports are snapshots that travel with latency: a venue report older than what the
        venue has already told us about an order (its ``ts_ns`` before the order's last venue
        timestamp) is not a disagreement, only late news, and is skipped. Orders we think live
        that the venue no longer lists are looked up one by one, and only the answers count.
        Positions are asked first and fills after, so every fill inside the position snapshot is
        also in the fill list (and applied if we lacked it); our fills newer than the snapshot are
        taken out of our side before comparing. Fills are asked from ``grace_ns`` before the
        previous complete run began (all of them the first time): older ones were compared then,
        so a run costs what happened since, not the run's whole history. Idempotent: a second run
        on an unchanged venue finds nothing.
        """
        venue = gateway.venue
        sent = self.clock.now_ns()
        positions = await gateway.get_positions()
        received = self.clock.now_ns()
        state = await fetch_venue_state(gateway, since_ns=self._fills_seen_ns.get(venue, 0))
        now = self.clock.now_ns()
        # fills first: an order's filled quantity then differs only if the venue's record does
        missing_fills, fill_issues = reconcile_fills(self.positions.known_execution_ids(venue), state.fills)
        for fill in missing_fills:
            if not self.orders.on_fill(fill) and apply_missing_fills(self.positions, [fill]):
                self.note_fill(fill)  # not one of our orders: the book took it directly
        # our side: every working order, plus finished ones the venue still lists (a finished
        # order can only disagree by being listed; absent from the list is what we expect of it)
        ours = self.orders.list(venue=venue, open_only=True)
        finished: dict[str, ManagedOrder] = {}
        for report in state.open_orders:
            order = self.orders.by_client_id(report.client_order_id)
            if order is not None and order.venue == venue and order.is_terminal:
                finished[order.client_order_id] = order
        ours.extend(finished.values())
        fresh = [r for r in state.open_orders if not self._stale(r)]
        stale = {r.client_order_id for r in state.open_orders} - {r.client_order_id for r in fresh}
        result = reconcile_orders([o for o in ours if o.client_order_id not in stale], fresh, venue=venue)
        found = [d for d in result.discrepancies if d.kind is not DiscrepancyKind.ORDER_MISSING_AT_VENUE]
        # a fill younger than the grace period may still be on its way to us: applied, not alerted
        late = {f.execution_id for f in missing_fills if f.ts_ns < now - self._grace_ns}
        found[:0] = [d for d in fill_issues if d.key in late]
        self._adopt(result.corrections)
        answers: list[OrderReport] = []
        for client_order_id in result.missing:
            order = self.orders.by_client_id(client_order_id)
            if order is None or order.is_terminal:
                continue
            try:
                answers.append(await gateway.get_order(order.symbol, client_order_id))
            except OrderNotFoundError:
                found.append(Discrepancy(DiscrepancyKind.ORDER_MISSING_AT_VENUE, venue, client_order_id,
                                         order.status.value, "absent", "the venue has no such order"))
            except VenueError as error:
                logger.warning("reconcile: lookup of %s failed: %s", client_order_id, error)
        answers = [r for r in answers if not self._stale(r)]
        if answers:
            looked_up = {r.client_order_id for r in answers}
            second = reconcile_orders([o for o in ours if o.client_order_id in looked_up], answers, venue=venue)
            found.extend(second.discrepancies)
            self._adopt(second.corrections)
        venue_side, undecided = self._as_of_now(venue, positions, sent, received)
        ours_side = [p for p in self.positions.positions(venue) if p.symbol not in undecided]
        corrections, position_issues = reconcile_positions(ours_side, venue_side)
        raise_discrepancy_alerts(self.alerts, found, now)
        for record in apply_position_corrections(self.positions, corrections, self.alerts, now):
            self._on_position(record)
        found.extend(position_issues)
        # the venue listed every fill up to when it answered: the next run asks for the newer ones
        # only (from a grace period before this run began, for clocks and fills recorded late)
        self._fills_seen_ns[venue] = max(self._fills_seen_ns.get(venue, 0), sent - self._grace_ns)
        return found

    def _as_of_now(self, venue: str, reports: Iterable[PositionReport], sent_ns: int,
                   received_ns: int) -> tuple[list[PositionReport], set[str]]:
        """The venue's position snapshot carried forward by the fills we applied after it was taken.

        A snapshot is older than our newest fills; comparing it as it is would call those fills
        a discrepancy (and "correct" them away). Adding them to the venue's side keeps the venue
        the truth up to its snapshot and our fills after it; where fills were added, the average
        price cannot be carried forward and ours is used. A position the venue does not list
        (flat) carries no time: it was taken somewhere between sending and receiving, so a fill
        of ours inside that interval makes the comparison ambiguous and the symbol is left for
        the next run (returned in the second element).
        """
        by_symbol = {r.symbol: r for r in reports}
        symbols = set(by_symbol) | {p.symbol for p in self.positions.positions(venue)}
        adjusted: list[PositionReport] = []
        undecided: set[str] = set()
        for symbol in sorted(symbols):
            fills = self._applied.get((venue, symbol), [])
            report = by_symbol.get(symbol)
            if report is None:
                first = bisect_right(fills, sent_ns, key=_fill_ts)
                if first < len(fills) and fills[first].ts_ns <= received_ns:
                    undecided.add(symbol)
                    continue
                report = PositionReport(venue, symbol, Decimal(0), Decimal(0), sent_ns)
            after = fills[bisect_right(fills, report.ts_ns, key=_fill_ts):]  # only those after the snapshot
            later = sum((f.quantity * f.side.sign for f in after), Decimal(0))
            if later == 0:
                if report.quantity != 0:
                    adjusted.append(report)
                continue
            mine = self.positions.position(venue, symbol)
            average = mine.average_price if mine is not None else Decimal(0)
            if report.quantity + later != 0:
                adjusted.append(PositionReport(venue, symbol, report.quantity + later, average, report.ts_ns))
        return adjusted, undecided

    def _stale(self, report: OrderReport) -> bool:
        """True when we already hold newer news from the venue about this order than ``report``."""
        order = self.orders.by_client_id(report.client_order_id)
        if order is None:
            return False
        newest = max([order.venue_ts_ns or 0, *(f.ts_ns for f in order.fills[-1:])])
        return report.ts_ns < newest

    def _adopt(self, reports: Iterable[OrderReport]) -> None:
        for report in reports:
            order = self.orders.by_client_id(report.client_order_id)
            if order is not None:
                self.orders.apply_report(order, report, authoritative=True)

"""A hypothesis state machine driving an OrderManager against a tiny in-memory venue.

No SimWorld: the venue is a dictionary, requests complete at once (or, for cancels, wait on a
gate the machine opens later), and every order update and fill the venue pushes goes to an
outbox the machine delivers in any order, more than once, or late. Invariants after every step:
filled + remaining == quantity, the applied fills sum to the filled quantity, the position per
symbol is the signed sum of the distinct fills delivered, terminal states never change, the
manager is never further along than the venue, and no client order id serves two orders.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, cast

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from harness.clock import ManualClock
from harness.contract import ExchangeAdapter, InvalidRequestError, OrderNotFoundError, RetryableError, VenueError
from harness.model import (
    Fill,
    Liquidity,
    OrderModification,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    SymbolInfo,
    TimeInForce,
    VenueCapabilities,
    VenueFees,
    VenueInfo,
)
from harness.orders import ManagedOrder, OrderManager
from harness.reconcile import ReconcileResult, reconcile_fills, reconcile_orders

D = Decimal
VENUE = "fake"
SYMBOLS = ("AAA", "BBB")
STEP = D("0.001")


class Gate:
    """Suspends the awaiting coroutine once (the machine resumes it when it chooses)."""

    def __await__(self) -> Generator[None, None, None]:
        yield None


@dataclass
class VenueOrder:
    """The fake venue's record of one order."""

    request: OrderRequest
    status: OrderStatus
    filled: Decimal
    ts: int


class FakeVenue:
    """Just enough of the adapter contract for the order manager, backed by a dict."""

    def __init__(self, clock: ManualClock, native_modify: bool) -> None:
        self.clock = clock
        self.native_modify = native_modify
        self.orders: dict[str, VenueOrder] = {}
        self.outbox: list[OrderReport | Fill] = []
        self.hold_cancels = False
        self.fail_next: VenueError | None = None
        self.exec_seq = 0
        self.all_fills: list[Fill] = []  # the venue's own record (what a myTrades query returns)
        self.submits: dict[str, int] = {}  # client order id -> submit requests received

    @property
    def venue(self) -> str:
        return VENUE

    def report(self, coid: str) -> OrderReport:
        o = self.orders[coid]
        r = o.request
        return OrderReport(VENUE, r.symbol, coid, f"v-{coid}", o.status, r.side, r.order_type, r.quantity, o.filled,
                           r.price, None, o.ts)

    def _touch(self, coid: str) -> OrderReport:
        self.orders[coid].ts = self.clock.now
        report = self.report(coid)
        self.outbox.append(report)
        return report

    def _take_failure(self) -> None:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error

    async def get_venue_info(self) -> VenueInfo:
        symbols = {s: SymbolInfo(s, s, "USD", D("0.01"), STEP, STEP, D(1000), D(0)) for s in SYMBOLS}
        caps = VenueCapabilities(frozenset(OrderType), frozenset(TimeInForce), native_modify=self.native_modify)
        return VenueInfo(VENUE, symbols, VenueFees(D(0), D(0)), caps)

    async def submit_order(self, request: OrderRequest) -> OrderReport:
        self._take_failure()
        self.submits[request.client_order_id] = self.submits.get(request.client_order_id, 0) + 1
        if request.client_order_id in self.orders:
            raise InvalidRequestError("duplicate client order id", venue=VENUE)
        self.orders[request.client_order_id] = VenueOrder(request, OrderStatus.OPEN, D(0), self.clock.now)
        return self._touch(request.client_order_id)

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        if self.hold_cancels:
            await Gate()
        self._take_failure()
        order = self.orders.get(client_order_id)
        if order is None or order.status.is_terminal:
            raise OrderNotFoundError("unknown order", venue=VENUE)
        order.status = OrderStatus.CANCELLED
        return self._touch(client_order_id)

    async def modify_order(self, symbol: str, client_order_id: str, change: OrderModification) -> OrderReport:
        self._take_failure()
        order = self.orders.get(client_order_id)
        if order is None or order.status.is_terminal:
            raise OrderNotFoundError("unknown order", venue=VENUE)
        r = order.request
        order.request = replace(r, price=change.new_price or r.price, quantity=change.new_quantity or r.quantity)
        return self._touch(client_order_id)

    def fill(self, coid: str, qty: Decimal, price: Decimal) -> None:
        order = self.orders[coid]
        order.filled += qty
        order.status = OrderStatus.FILLED if order.filled == order.request.quantity else OrderStatus.PARTIALLY_FILLED
        self.exec_seq += 1
        r = order.request
        fill = Fill(VENUE, r.symbol, f"x{self.exec_seq}", coid, f"v-{coid}", r.side, price, qty,
                    qty * D("0.001"), "USD", Liquidity.TAKER, self.clock.now)
        self.all_fills.append(fill)
        self.outbox.append(fill)
        self._touch(coid)


def run_now(coro: Coroutine[Any, Any, Any]) -> Any:
    """Drive a coroutine that must not suspend to completion (exceptions propagate)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise AssertionError("the coroutine suspended")


_RANK = {OrderStatus.PENDING: 0, OrderStatus.UNKNOWN: 0, OrderStatus.OPEN: 1, OrderStatus.PARTIALLY_FILLED: 2}


class OrderMachine(RuleBasedStateMachine):
    """Random interleavings of submits, fills, reports (duplicated, stale, out of order), cancels,
    modifies and reconciliations with the venue."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(1_000_000)
        self.manager = OrderManager(self.clock, id_prefix="sm")
        self.venue = FakeVenue(self.clock, native_modify=False)
        self.adapter = cast(ExchangeAdapter, self.venue)
        self.positions: dict[str, Decimal] = dict.fromkeys(SYMBOLS, D(0))
        self.expected_positions: dict[str, Decimal] = dict.fromkeys(SYMBOLS, D(0))
        self.delivered: list[OrderReport | Fill] = []
        self.delivered_execs: set[str] = set()
        self.terminal: dict[str, OrderStatus] = {}
        self.in_flight: dict[str, Coroutine[Any, Any, Any]] = {}
        self.manager.fill_listeners.append(self._on_fill)

    def _on_fill(self, order: ManagedOrder, fill: Fill) -> None:
        self.positions[fill.symbol] += fill.quantity * fill.side.sign

    def tick(self) -> None:
        self.clock.now += 1

    def pick(self, data: st.DataObject, orders: list[ManagedOrder]) -> ManagedOrder:
        return data.draw(st.sampled_from(orders))

    def working(self) -> list[ManagedOrder]:
        return [o for o in self.manager if o.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
                and o.order_id not in self.in_flight]

    # ------------------------------------------------------------------ rules

    @initialize(native=st.booleans())
    def choose_venue(self, native: bool) -> None:
        self.venue.native_modify = native

    @rule(symbol=st.sampled_from(SYMBOLS), side=st.sampled_from(list(Side)), lots=st.integers(1, 50),
          price=st.integers(90, 110))
    def create(self, symbol: str, side: Side, lots: int, price: int) -> None:
        self.tick()
        order = self.manager.create(VENUE, symbol, side, lots * STEP, price=D(price))
        assert order.status is OrderStatus.PENDING and order.remaining_quantity == order.quantity

    @precondition(lambda self: any(o.status is OrderStatus.PENDING for o in self.manager))
    @rule(data=st.data())
    def submit(self, data: st.DataObject) -> None:
        self.tick()
        order = self.pick(data, [o for o in self.manager if o.status is OrderStatus.PENDING])
        run_now(self.manager.submit(order, self.adapter))
        assert order.status is OrderStatus.OPEN
        assert order.venue_order_id == f"v-{order.client_order_id}"

    @precondition(lambda self: any(not v.status.is_terminal for v in self.venue.orders.values()))
    @rule(data=st.data(), fraction=st.integers(1, 100), price=st.integers(90, 110))
    def venue_fills(self, data: st.DataObject, fraction: int, price: int) -> None:
        self.tick()
        coid = data.draw(st.sampled_from(sorted(c for c, v in self.venue.orders.items() if not v.status.is_terminal)))
        v = self.venue.orders[coid]
        left = v.request.quantity - v.filled
        qty = max(STEP, (left * fraction / 100).quantize(STEP))
        self.venue.fill(coid, min(qty, left), D(price))

    @precondition(lambda self: bool(self.venue.outbox))
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        self.tick()
        index = data.draw(st.integers(0, len(self.venue.outbox) - 1))
        message = self.venue.outbox.pop(index)
        self._deliver(message)

    @precondition(lambda self: bool(self.delivered))
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        """A duplicate or stale message: it must change nothing."""
        self.tick()
        message = data.draw(st.sampled_from(self.delivered))
        order = self.manager.by_client_id(message.client_order_id)
        assert order is not None
        before = (order.status, order.filled_quantity, order.remaining_quantity, len(order.fills))
        if isinstance(message, Fill):
            assert not self.manager.on_fill(message)
        else:
            self.manager.on_report(message)
        assert (order.status, order.filled_quantity, order.remaining_quantity, len(order.fills)) == before

    @precondition(lambda self: any(o.is_terminal for o in self.manager))
    @rule(data=st.data(), status=st.sampled_from(list(OrderStatus)))
    def contradicting_report(self, data: st.DataObject, status: OrderStatus) -> None:
        """A newer report that disagrees with a terminal state (a venue glitch, a manual resolution)."""
        self.tick()
        order = self.pick(data, [o for o in self.manager if o.is_terminal])
        before = order.status
        report = OrderReport(VENUE, order.symbol, order.client_order_id, f"v-{order.client_order_id}", status,
                             order.side, OrderType.LIMIT, order.quantity, order.venue_filled_quantity,
                             order.request.price, None, self.clock.now)
        assert not self.manager.on_report(report)
        assert order.status is before

    @precondition(lambda self: not self.in_flight)
    @rule()
    def reconcile(self) -> None:
        """Reconcile with the venue (the truth): adopt its order states and missing fills; twice changes nothing."""
        self.tick()
        self._reconcile_once()
        before = [(o.status, o.filled_quantity, len(o.fills)) for o in self.manager]
        orders, fills = self._reconcile_once()
        assert orders.clean and not orders.missing and fills == ()
        assert [(o.status, o.filled_quantity, len(o.fills)) for o in self.manager] == before

    def _reconcile_once(self) -> tuple[ReconcileResult, tuple[Fill, ...]]:
        known = {e for o in self.manager for e in o.execution_ids}
        missing, _ = reconcile_fills(known, self.venue.all_fills)
        for fill in missing:
            self._deliver(fill)
        open_reports = [self.venue.report(c) for c, v in self.venue.orders.items() if not v.status.is_terminal]
        result = reconcile_orders(list(self.manager), open_reports, venue=VENUE)
        answers = [self.venue.report(c) for c in result.missing if c in self.venue.orders]
        for report in (*result.corrections, *answers):
            order = self.manager.by_client_id(report.client_order_id)
            assert order is not None
            self.manager.apply_report(order, report, authoritative=True)
        return result, missing

    def _deliver(self, message: OrderReport | Fill) -> None:
        self.delivered.append(message)
        if isinstance(message, Fill):
            first = message.execution_id not in self.delivered_execs
            assert self.manager.on_fill(message) is first
            if first:
                self.delivered_execs.add(message.execution_id)
                self.expected_positions[message.symbol] += message.quantity * message.side.sign
        else:
            self.manager.on_report(message)

    @precondition(lambda self: any(o.is_open and o.status not in (OrderStatus.PENDING_CANCEL,
                                                                  OrderStatus.PENDING_MODIFY)
                                   and o.order_id not in self.in_flight for o in self.manager))
    @rule(data=st.data())
    def begin_cancel(self, data: st.DataObject) -> None:
        self.tick()
        order = self.pick(data, [o for o in self.manager if o.is_open and o.order_id not in self.in_flight
                                 and o.status not in (OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_MODIFY)])
        self.venue.hold_cancels = True
        coro = self.manager.cancel(order, self.adapter)
        coro.send(None)  # sent; the answer waits for finish_cancel
        self.venue.hold_cancels = False
        self.in_flight[order.order_id] = coro
        assert order.status is OrderStatus.PENDING_CANCEL

    @precondition(lambda self: bool(self.in_flight))
    @rule(data=st.data(), fail=st.booleans())
    def finish_cancel(self, data: st.DataObject, fail: bool) -> None:
        self.tick()
        order_id = data.draw(st.sampled_from(sorted(self.in_flight)))
        order = self.manager.lookup(order_id)
        coro = self.in_flight.pop(order_id)
        if fail:
            self.venue.fail_next = RetryableError("504 on cancel", venue=VENUE)
        try:
            coro.send(None)
        except StopIteration:
            assert not fail
            assert order.status is OrderStatus.CANCELLED or order.status is OrderStatus.FILLED
        except VenueError:
            assert order.status not in (OrderStatus.PENDING_CANCEL, OrderStatus.CANCELLED)
        else:
            raise AssertionError("the cancel did not finish")
        self.venue.fail_next = None

    @precondition(lambda self: bool(self.working()))
    @rule(data=st.data(), new_price=st.one_of(st.none(), st.integers(90, 110)), extra_lots=st.integers(0, 20),
          fail=st.booleans())
    def modify(self, data: st.DataObject, new_price: int | None, extra_lots: int, fail: bool) -> None:
        self.tick()
        order = self.pick(data, self.working())
        venue_filled = self.venue.orders[order.client_order_id].filled
        new_qty = venue_filled + (extra_lots + 1) * STEP if extra_lots else None
        change = OrderModification(new_price=D(new_price) if new_price is not None else D(100),
                                   new_quantity=new_qty)
        before = (order.status, order.request, order.filled_quantity, len(self.manager))
        gone = self.venue.orders[order.client_order_id].status.is_terminal  # filled; news not delivered yet
        if fail or gone:
            if not gone:
                self.venue.fail_next = InvalidRequestError("amend refused", venue=VENUE)
            try:
                run_now(self.manager.modify(order, self.adapter, change))
            except InvalidRequestError:
                pass
            else:
                raise AssertionError("the failure was swallowed")
            assert (order.status, order.request, order.filled_quantity, len(self.manager)) == before
            return
        result = run_now(self.manager.modify(order, self.adapter, change))
        venue_view = self.venue.orders[result.client_order_id].request
        assert result.request.price == venue_view.price == change.new_price
        assert result.quantity == venue_view.quantity
        if self.venue.native_modify:
            assert result is order
        elif result is not order:
            assert order.status is OrderStatus.CANCELLED and result.replaces == order.order_id

    # ------------------------------------------------------------------ invariants

    @invariant()
    def quantities_add_up(self) -> None:
        for order in self.manager:
            assert order.filled_quantity + order.remaining_quantity == order.quantity
            assert sum((f.quantity for f in order.fills), D(0)) == order.filled_quantity
            assert order.filled_quantity <= order.quantity
            assert len(order.fills) == len(order.execution_ids)

    @invariant()
    def positions_are_the_signed_sum_of_applied_fills(self) -> None:
        assert self.positions == self.expected_positions
        from_orders = dict.fromkeys(SYMBOLS, D(0))
        for order in self.manager:
            for fill in order.fills:
                from_orders[fill.symbol] += fill.quantity * fill.side.sign
        assert from_orders == self.positions

    @invariant()
    def terminal_states_absorb(self) -> None:
        for order in self.manager:
            seen = self.terminal.get(order.order_id)
            if seen is not None:
                assert order.status is seen
            elif order.is_terminal:
                self.terminal[order.order_id] = order.status

    @invariant()
    def never_ahead_of_the_venue(self) -> None:
        for order in self.manager:
            truth = self.venue.orders.get(order.client_order_id)
            if truth is None:
                assert order.status in (OrderStatus.PENDING, OrderStatus.PENDING_CANCEL)
                assert order.filled_quantity == 0
                continue
            assert order.filled_quantity <= truth.filled
            if order.is_terminal:
                assert order.status is truth.status
            elif order.status in _RANK:
                assert truth.status.is_terminal or _RANK[order.status] <= _RANK[truth.status]

    @invariant()
    def no_order_submitted_twice(self) -> None:
        assert all(count == 1 for count in self.venue.submits.values())

    @invariant()
    def client_order_ids_are_unique(self) -> None:
        coids = [o.client_order_id for o in self.manager]
        assert len(coids) == len(set(coids))
        assert all(self.manager.by_client_id(o.client_order_id) is o for o in self.manager)

    def teardown(self) -> None:
        for coro in self.in_flight.values():
            coro.close()


OrderMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_order_manager_state_machine = OrderMachine.TestCase

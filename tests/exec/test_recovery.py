"""Recovery of ambiguous submits and stuck orders: Properties 36, 37 and 39.

``LossyAdapter`` is a ``SimAdapter`` whose submits can be lost before reaching the venue, lost
after the venue accepted them (the answer never comes back), hang (so the caller's timeout
fires) or land late at the venue, and whose lookups can fail transiently. It logs every call so
tests can check that nothing was resent while the venue had the order, and that each resend
followed a proven absence.
"""

from __future__ import annotations

from collections.abc import Coroutine
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.alerts import AlertSink
from harness.clock import ManualClock
from harness.contract import AmbiguousError, OrderNotFoundError, RetryableError
from harness.model import OrderReport, OrderRequest, OrderStatus, OrderType, Side
from harness.orders import ManagedOrder, OrderManager, OrderStateError
from harness.recovery import Resolution, StuckOrderMonitor, recover_unknown, submit_with_recovery
from scenarios.world import SimWorld
from sim.adapter import SimAdapter

D = Decimal
HANG_NS = 3_600 * 10**9
TIMEOUT_NS = 500_000_000
SETTLE_NS = 200_000_000


class LossyAdapter(SimAdapter):
    """A SimAdapter with scripted submit outcomes and lookup failures, logging every call."""

    def __init__(self, world: SimWorld, venue: str) -> None:
        super().__init__(world.venues[venue], world.runtime)
        self.submit_plan: list[str] = []
        self.lookup_failures = 0
        self.log: list[tuple[str, str]] = []
        self.sent: list[OrderRequest] = []
        self.resent_while_present: list[str] = []
        self._late: list[OrderRequest] = []

    async def submit_order(self, request: OrderRequest) -> OrderReport:
        self.sent.append(request)
        if request.client_order_id in self.sim_venue.orders:
            self.resent_while_present.append(request.client_order_id)
        plan = self.submit_plan.pop(0) if self.submit_plan else "ok"
        self.log.append(("submit", plan))
        if plan == "lost_before":
            raise AmbiguousError("502 Bad Gateway on POST /order", venue=self.venue)
        if plan == "hang_before":
            await self._clock.sleep_ns(HANG_NS)
        if plan == "late":  # the request is still on its way: it lands right after the next lookup
            self._late.append(request)
            raise AmbiguousError("connection reset while sending", venue=self.venue)
        report = await super().submit_order(request)
        if plan == "lost_after":
            raise AmbiguousError("502 Bad Gateway after the venue accepted", venue=self.venue)
        if plan == "hang_after":
            await self._clock.sleep_ns(HANG_NS)
        return report

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        if self.lookup_failures:
            self.lookup_failures -= 1
            self.log.append(("lookup", "fail"))
            raise RetryableError("503 Service Unavailable", venue=self.venue)
        try:
            report = await super().get_order(symbol, client_order_id)
        except OrderNotFoundError:
            self.log.append(("lookup", "absent"))
            while self._late:
                self.sim_venue.submit(self._late.pop(0))
            raise
        self.log.append(("lookup", "found"))
        return report


def backoff(attempt: int) -> int:
    """Doubling delays from 10 ms."""
    return 10_000_000 << (attempt - 1)


def setup(world: SimWorld, venue: str = "binance", *, alerts: AlertSink | None = None,
          attach: bool = True) -> tuple[OrderManager, LossyAdapter]:
    """A manager on a connected LossyAdapter, subscribed to its pushed updates when ``attach``."""
    manager = OrderManager(world.runtime.clock, alerts=alerts)
    adapter = LossyAdapter(world, venue)

    async def go() -> None:
        await adapter.connect()
        if attach:
            await manager.attach(adapter)

    world.run(go())
    return manager, adapter


def recover(world: SimWorld, manager: OrderManager, order: ManagedOrder, adapter: LossyAdapter,
            max_lookups: int) -> ManagedOrder:
    """Run ``submit_with_recovery`` with the test backoff and timeout."""
    return world.run(submit_with_recovery(manager, order, adapter, clock=world.runtime.clock, backoff=backoff,
                                          max_lookups=max_lookups, timeout_ns=TIMEOUT_NS))


def settle(world: SimWorld, ns: int = SETTLE_NS) -> None:
    """Let pushed updates arrive."""
    world.run(world.runtime.clock.sleep_ns(ns))


PLANS = st.sampled_from(["ok", "lost_before", "lost_after", "hang_before", "hang_after", "late"])


# --------------------------------------------------------------------------- Property 36


@settings(max_examples=80, deadline=None)
@given(plan=st.lists(PLANS, min_size=1, max_size=4), lookup_failures=st.integers(0, 3),
       max_lookups=st.integers(1, 5), crossing=st.booleans(), seed=st.integers(0, 1000))
def test_property_36_a_failed_submit_is_checked_at_the_venue_and_never_duplicated(
        plan: list[str], lookup_failures: int, max_lookups: int, crossing: bool, seed: int) -> None:
    with SimWorld(["binance"], seed=seed) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        manager, adapter = setup(world)
        adapter.submit_plan = list(plan)
        adapter.lookup_failures = lookup_failures
        order = manager.create("binance", "BTCUSDT", Side.BUY, D("0.01"), price=D(60001) if crossing else D(59000))
        result = recover(world, manager, order, adapter, max_lookups)
        assert result is order
        # never resent while the venue had it (unless a late request overtook the proof of absence);
        # every resend follows a proven absence
        if "late" not in plan:
            assert adapter.resent_while_present == []
        submits = [i for i, (kind, _) in enumerate(adapter.log) if kind == "submit"]
        assert submits[0] == 0
        for i in submits[1:]:
            assert adapter.log[i - 1] == ("lookup", "absent")
        lookups = sum(1 for kind, _ in adapter.log if kind == "lookup")
        assert lookups <= max_lookups + (len(submits) - 1)  # one extra lookup per refused resend at most
        venue_orders = world.venues["binance"].orders
        assert set(venue_orders) <= {order.client_order_id}
        assert len(manager) == 1
        settle(world)
        if order.client_order_id in venue_orders:
            assert order.status is venue_orders[order.client_order_id].status
        else:
            assert order.status in (OrderStatus.UNKNOWN, OrderStatus.PENDING)
            assert plan[0] != "ok"
        if plan[0] == "ok":
            assert len(submits) == 1 and lookups == 0


def test_property_36_lookups_exhausted_leave_the_order_unknown() -> None:
    with SimWorld(["binance"]) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        manager, adapter = setup(world, attach=False)  # only lookups can tell the manager anything
        adapter.submit_plan = ["lost_after"]
        adapter.lookup_failures = 3
        order = manager.create("binance", "BTCUSDT", Side.BUY, D("0.01"), price=D(59000))
        start = world.now_ns()
        recover(world, manager, order, adapter, 3)
        assert order.status is OrderStatus.UNKNOWN
        assert [kind for kind, _ in adapter.log] == ["submit", "lookup", "lookup", "lookup"]
        assert len(adapter.sent) == 1
        assert world.now_ns() - start >= backoff(1) + backoff(2)


# --------------------------------------------------------------------------- Property 37


@settings(max_examples=40, deadline=None)
@given(first=st.sampled_from(["lost_before", "hang_before", "late"]), seed=st.integers(0, 1000))
def test_property_37_resubmits_carry_the_same_key_and_return_the_existing_order(first: str, seed: int) -> None:
    with SimWorld(["binance"], seed=seed) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        manager, adapter = setup(world)
        adapter.submit_plan = [first]
        order = manager.create("binance", "BTCUSDT", Side.SELL, D("0.01"), price=D(61000))
        recover(world, manager, order, adapter, 3)
        assert len(adapter.sent) == 2
        assert {r.client_order_id for r in adapter.sent} == {order.client_order_id}
        assert all(r == order.request for r in adapter.sent)
        venue = world.venues["binance"]
        assert list(venue.orders) == [order.client_order_id]
        assert order.status is OrderStatus.OPEN
        assert order.venue_order_id == venue.orders[order.client_order_id].venue_order_id
        if first == "late":  # the resend was refused as a duplicate; the existing order was adopted
            assert adapter.log[-1] == ("lookup", "found")


def test_property_37_the_venue_refuses_a_second_order_under_the_same_key() -> None:
    with SimWorld(["binance"]) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        manager, adapter = setup(world)
        order = manager.create("binance", "BTCUSDT", Side.BUY, D("0.01"), price=D(59000))
        world.run(manager.submit(order, adapter))
        with pytest.raises(OrderStateError):
            world.run(manager.submit(order, adapter))  # the manager never resends a live order
        twin = manager.create("binance", "BTCUSDT", Side.BUY, D("0.02"), price=D(58000))
        world.run(manager.submit(twin, adapter))
        assert twin.client_order_id != order.client_order_id
        assert len(world.venues["binance"].orders) == 2


# --------------------------------------------------------------------------- Property 39


class _Never:
    """An awaitable that suspends forever (a request whose answer never comes)."""

    def __await__(self) -> Any:
        yield None


class HangingCanceller:
    """Just enough adapter for ``OrderManager.cancel`` to send a cancel that never returns."""

    venue = "binance"

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        await _Never()
        raise AssertionError("unreachable")


def _ack(order: ManagedOrder, ts: int) -> OrderReport:
    return OrderReport(order.venue, order.symbol, order.client_order_id, "v", OrderStatus.OPEN, order.side,
                       OrderType.LIMIT, order.quantity, D(0), order.request.price, None, ts)


KINDS = ["pending", "unknown", "open_quiet", "open_heard", "filled", "pending_cancel"]
UNCERTAIN = {"pending", "unknown", "pending_cancel"}


@settings(max_examples=100)
@given(specs=st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 100)), max_size=12),
       threshold_s=st.integers(1, 60), quiet_s=st.integers(1, 90),
       resolutions=st.lists(st.sampled_from([Resolution.CANCEL, Resolution.MARK_FILLED, Resolution.MARK_REJECTED]),
                            min_size=12, max_size=12))
def test_property_39_orders_uncertain_past_the_threshold_are_flagged_once_and_resolvable(
        specs: list[tuple[str, int]], threshold_s: int, quiet_s: int, resolutions: list[Resolution]) -> None:
    clock = ManualClock(1_000 * 10**9)
    alerts = AlertSink()
    manager = OrderManager(clock, alerts=alerts)
    monitor = StuckOrderMonitor(manager, clock, threshold_ns=threshold_s * 10**9, alerts=alerts,
                                quiet_threshold_ns=quiet_s * 10**9)
    start = clock.now
    end = start + 100 * 10**9
    hanging: list[Coroutine[Any, Any, ManagedOrder]] = []
    expected: set[str] = set()
    for kind, age_s in specs:
        clock.now = start
        order = manager.create("binance", "BTCUSDT", Side.BUY, D(1), price=D(100))
        entered = end - age_s * 10**9  # when it entered its current state (or last heard from the venue)
        clock.now = entered
        if kind == "unknown":
            manager.set_unknown(order, "submit timed out")
        elif kind != "pending":
            manager.on_report(_ack(order, clock.now))
        if kind == "filled":
            manager.force_status(order, OrderStatus.FILLED, "test")
        elif kind == "pending_cancel":
            coro = manager.cancel(order, HangingCanceller())  # type: ignore[arg-type]
            coro.send(None)
            hanging.append(coro)
            assert order.status is OrderStatus.PENDING_CANCEL
        age = end - (start if kind == "pending" else entered)
        limit = quiet_s if kind.startswith("open") else threshold_s
        if kind != "filled" and age > limit * 10**9:
            expected.add(order.order_id)
    clock.now = end
    stuck = monitor.scan()
    assert {s.order_id for s in stuck} == expected
    assert all(s.requires_manual_intervention and s.stuck_since_ns <= end for s in stuck)
    assert len(monitor.scan()) == len(stuck)
    assert len(alerts.of_kind("stuck_order")) == len(stuck)
    for s, action in zip(stuck, resolutions, strict=False):
        rec = _run(monitor.resolve(s.order_id, action, reason="venue support confirmed", resolved_by="ops"))
        assert rec.new_status is manager.lookup(s.order_id).status
        assert rec.new_status.is_terminal and rec.resolved_by == "ops"
    assert len(monitor.resolutions) == len(stuck)
    assert monitor.scan() == []
    for coro in hanging:
        coro.close()


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Drive a coroutine that never really suspends to completion."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("coroutine suspended")


def test_property_39_an_unresolved_submit_becomes_stuck_and_reconciles_to_the_venue_truth() -> None:
    with SimWorld(["binance"]) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        alerts = AlertSink()
        manager, adapter = setup(world, alerts=alerts, attach=False)
        monitor = StuckOrderMonitor(manager, world.runtime.clock, threshold_ns=5 * 10**9, alerts=alerts)
        adapter.submit_plan = ["lost_after"]
        adapter.lookup_failures = 2
        order = manager.create("binance", "BTCUSDT", Side.BUY, D("0.01"), price=D(59000))
        recover(world, manager, order, adapter, 2)
        assert order.status is OrderStatus.UNKNOWN
        assert monitor.scan() == []
        settle(world, 6 * 10**9)
        [stuck] = monitor.scan()
        assert (stuck.order_id, stuck.status) == (order.order_id, OrderStatus.UNKNOWN)
        reconciled = world.run(monitor.force_reconcile(order.order_id, adapter))
        assert reconciled.status is OrderStatus.OPEN
        assert order.venue_order_id == world.venues["binance"].orders[order.client_order_id].venue_order_id
        cancelled = world.run(monitor.force_cancel(order.order_id, adapter))
        assert cancelled.status is OrderStatus.CANCELLED
        assert world.venues["binance"].orders[order.client_order_id].status is OrderStatus.CANCELLED
        assert monitor.scan() == []
        assert len(alerts.of_kind("stuck_order")) == 1


def test_reconcile_of_an_order_the_venue_never_got_marks_it_rejected() -> None:
    with SimWorld(["binance"]) as world:
        manager, adapter = setup(world)
        monitor = StuckOrderMonitor(manager, world.runtime.clock, threshold_ns=10**9)
        order = manager.create("binance", "BTCUSDT", Side.BUY, D("0.01"), price=D(59000))
        manager.set_unknown(order, "test")
        record = world.run(monitor.resolve(order.order_id, Resolution.RECONCILE, reason="check", resolved_by="me",
                                           adapter=adapter))
        assert record.old_status is OrderStatus.UNKNOWN and record.new_status is OrderStatus.REJECTED
        with pytest.raises(ValueError, match="adapter"):
            world.run(monitor.resolve(order.order_id, Resolution.RECONCILE, reason="x", resolved_by="me"))


def test_recover_unknown_applies_a_found_order() -> None:
    with SimWorld(["binance"]) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        manager, adapter = setup(world)
        order = manager.create("binance", "BTCUSDT", Side.BUY, D("0.01"), price=D(59000))
        world.run(adapter.submit_order(order.request))  # it reached the venue behind the manager's back
        manager.set_unknown(order, "crash before the ack was journaled")
        world.run(recover_unknown(manager, order, adapter, clock=world.runtime.clock, backoff=backoff,
                                  max_lookups=1))
        assert order.status is OrderStatus.OPEN
        assert len(adapter.sent) == 1


def test_an_order_cancelled_while_in_doubt_is_closed_not_resent() -> None:
    # found by the randomized fault search (scenarios/catalog/order-cancel-while-in-doubt.toml): a submit lost on
    # its way in left the order UNKNOWN; its owner cancelled it (PENDING_CANCEL) while recovery was asking the
    # venue; the venue had no such order, and recovery tried to resend it: OrderStateError, a crashed run
    with SimWorld(["binance"]) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        manager, adapter = setup(world)
        adapter.submit_plan = ["lost_before"]
        order = manager.create("binance", "BTCUSDT", Side.BUY, D("0.01"), price=D(59000))

        async def body() -> None:
            clock = world.runtime.clock
            recovery = world.runtime.loop.create_task(submit_with_recovery(
                manager, order, adapter, clock=clock, backoff=backoff, max_lookups=3, timeout_ns=TIMEOUT_NS))
            await clock.sleep_ns(1)
            assert order.status is OrderStatus.UNKNOWN  # the submit failed ambiguously; recovery looks it up
            with pytest.raises(OrderNotFoundError):
                await manager.cancel(order, adapter)  # its cancel goes out meanwhile; the venue knows nothing
            await recovery

        world.run(body())
        assert order.status is OrderStatus.REJECTED and "cancelled while in doubt" in order.history[-1].reason
        assert [kind for kind, _ in adapter.log if kind == "submit"] == ["submit"]  # never resent
        assert order.client_order_id not in world.venues["binance"].orders

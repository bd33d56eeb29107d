"""OrderManager against simulated venues: types, ids, modify, cancel, partial fills, time in force.

Properties 16, 17, 17a, 18, 19 and 20 of the seed, plus unit tests of the transition rules.
A ``FlakyAdapter`` (a ``SimAdapter`` subclass) injects failures before a request reaches the
venue and records the manager's view of the order at the moment each request is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.alerts import AlertSink
from harness.contract import InvalidRequestError, OrderNotFoundError, RetryableError, VenueError
from harness.model import (
    Aggressor,
    Fill,
    Liquidity,
    OrderModification,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from harness.orders import (
    CLIENT_ORDER_ID_PATTERN,
    ManagedOrder,
    OrderManager,
    OrderStateError,
    OrderValidationError,
    validate_request,
)
from scenarios.world import SimWorld
from sim.adapter import SimAdapter

D = Decimal
SLOW = settings(max_examples=30, deadline=None)
SETTLE_NS = 200_000_000  # long enough for every pushed update of these profiles to arrive


class FlakyAdapter(SimAdapter):
    """A SimAdapter whose next cancels/modifies fail before reaching the venue, on demand."""

    def __init__(self, world: SimWorld, venue: str) -> None:
        super().__init__(world.venues[venue], world.runtime)
        self.cancel_failures: list[VenueError] = []
        self.modify_failures: list[VenueError] = []
        self.observer: Callable[[str], None] | None = None

    def _observe(self, what: str) -> None:
        if self.observer is not None:
            self.observer(what)

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        self._observe("cancel")
        if self.cancel_failures:
            raise self.cancel_failures.pop(0)
        return await super().cancel_order(symbol, client_order_id)

    async def modify_order(self, symbol: str, client_order_id: str,
                           modification: OrderModification) -> OrderReport:
        self._observe("modify")
        if self.modify_failures:
            raise self.modify_failures.pop(0)
        return await super().modify_order(symbol, client_order_id, modification)


def wired(world: SimWorld, venue: str, *, alerts: AlertSink | None = None) -> tuple[OrderManager, FlakyAdapter]:
    """A manager subscribed to a connected FlakyAdapter on ``venue``."""
    manager = OrderManager(world.runtime.clock, alerts=alerts)
    adapter = FlakyAdapter(world, venue)

    async def setup() -> None:
        await adapter.connect()
        await manager.attach(adapter)

    world.run(setup())
    return manager, adapter


def settle(world: SimWorld, ns: int = SETTLE_NS) -> None:
    """Let pushed updates arrive."""
    world.run(world.runtime.clock.sleep_ns(ns))


BID, ASK = D(50000), D(50010)
SYMBOL = {"binance": "BTCUSDT", "bybit": "BTCUSDT", "kraken": "XBT/EUR", "coinbase": "BTC-USD"}


def request(otype: OrderType, side: Side = Side.BUY, *, venue: str = "kraken", qty: str = "0.01",
            tif: TimeInForce = TimeInForce.GTC, expire_at_ns: int | None = None,
            bid: Decimal = BID, ask: Decimal = ASK) -> OrderRequest:
    """A valid request of type ``otype`` priced sensibly around bid/ask (resting or pending)."""
    price = stop = trail = None
    away = D(1000) if side is Side.BUY else D(-1000)
    if otype is OrderType.LIMIT:
        price = bid - away if side is Side.BUY else ask - away
    elif otype is OrderType.STOP_MARKET:
        stop = ask + away if side is Side.BUY else bid + away
    elif otype is OrderType.STOP_LIMIT:
        stop = ask + away if side is Side.BUY else bid + away
        price = stop + away // 10
    elif otype is OrderType.TAKE_PROFIT:
        stop = bid - away if side is Side.BUY else ask - away
    elif otype is OrderType.TRAILING_STOP:
        trail = D(100)
    return OrderRequest("", venue, SYMBOL[venue], side, otype, D(qty), price, stop, trail, tif, expire_at_ns)


def without(req: OrderRequest, field_name: str) -> OrderRequest:
    """``req`` with one field cleared."""
    values = {f: getattr(req, f) for f in req.__dataclass_fields__}
    values[field_name] = None
    return OrderRequest(**values)


REQUIRED = {
    OrderType.MARKET: (),
    OrderType.LIMIT: ("price",),
    OrderType.STOP_MARKET: ("stop_price",),
    OrderType.STOP_LIMIT: ("price", "stop_price"),
    OrderType.TAKE_PROFIT: ("stop_price",),
    OrderType.TRAILING_STOP: ("trailing_delta",),
}


# --------------------------------------------------------------------------- Property 16


@SLOW
@given(otype=st.sampled_from(list(OrderType)), side=st.sampled_from(list(Side)), seed=st.integers(0, 1000))
def test_property_16_every_order_type_is_accepted_and_required_fields_are_checked(
        otype: OrderType, side: Side, seed: int) -> None:
    with SimWorld(["kraken"], seed=seed) as world:
        world.quote("kraken", "XBT/EUR", bid="50000", ask="50010")
        manager, adapter = wired(world, "kraken")
        info = manager.venue_info("kraken")
        good = request(otype, side)
        validate_request(good, info)
        for missing in REQUIRED[otype]:
            with pytest.raises(OrderValidationError) as caught:
                manager.create_from(without(good, missing))
            assert caught.value.field == missing
        count = len(manager)
        order = manager.create_from(good)
        assert len(manager) == count + 1
        world.run(manager.submit(order, adapter))
        assert order.status is not OrderStatus.REJECTED, order.history
        venue_view = world.venues["kraken"].orders[order.client_order_id]
        assert venue_view.request.order_type is otype
        assert venue_view.request.side is side


@pytest.mark.parametrize("venue", ["binance", "coinbase", "bybit"])
def test_property_16_types_a_venue_lacks_are_refused_before_sending(venue: str) -> None:
    with SimWorld([venue]) as world:
        manager, _ = wired(world, venue)
        info = manager.venue_info(venue)
        assert info is not None
        lacking = [t for t in OrderType if t not in info.capabilities.order_types]
        assert lacking  # each of these venues lacks at least one type
        for otype in lacking:
            with pytest.raises(OrderValidationError) as caught:
                manager.create_from(request(otype, venue=venue))
            assert caught.value.field == "order_type"
        assert len(manager) == 0


@pytest.mark.parametrize(("change", "field_name"), [
    ({"quantity": D(0)}, "quantity"),
    ({"quantity": D(-1)}, "quantity"),
    ({"price": D(-5)}, "price"),
    ({"order_type": OrderType.MARKET}, "price"),
    ({"post_only": True, "order_type": OrderType.STOP_LIMIT, "stop_price": D(49000)}, "post_only"),
    ({"symbol": "NOPE"}, "symbol"),
])
def test_validation_errors_name_the_field(change: dict[str, object], field_name: str) -> None:
    with SimWorld(["kraken"]) as world:
        manager, _ = wired(world, "kraken")
        base = request(OrderType.LIMIT)
        values = {f: getattr(base, f) for f in base.__dataclass_fields__} | change
        with pytest.raises(OrderValidationError) as caught:
            manager.create_from(OrderRequest(**values))
        assert caught.value.field == field_name
        assert isinstance(caught.value, InvalidRequestError)


# --------------------------------------------------------------------------- Property 17


@settings(max_examples=60)
@given(ops=st.lists(st.one_of(st.just(""), st.from_regex(r"x[a-z0-9]{0,6}", fullmatch=True),
                              st.from_regex(r"h0000000[1-9]", fullmatch=True)), max_size=40))
def test_property_17_order_and_client_ids_are_unique(ops: list[str]) -> None:
    with SimWorld(["binance"]) as world:
        manager = OrderManager(world.runtime.clock)
        other = OrderManager(world.runtime.clock, id_prefix="g")
        created: list[ManagedOrder] = []
        for explicit in ops:
            req = OrderRequest(explicit, "binance", "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.01"), D(50000))
            if explicit and manager.by_client_id(explicit) is not None:
                with pytest.raises(OrderValidationError):
                    manager.create_from(req)
                continue
            created.append(manager.create_from(req))
            other.create_from(OrderRequest("", "binance", "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.01"), D(1)))
        order_ids = [o.order_id for o in created]
        coids = [o.client_order_id for o in created]
        assert len(set(order_ids)) == len(order_ids) == len(manager)
        assert len(set(coids)) == len(coids)
        assert all(CLIENT_ORDER_ID_PATTERN.fullmatch(c) for c in coids)
        assert all(o.request.client_order_id == o.client_order_id for o in created)
        generated = {o.client_order_id for o in created if not o.client_order_id.startswith("x")}
        assert not generated & {o.client_order_id for o in other}


def test_property_17_the_venue_sees_one_order_per_client_order_id() -> None:
    with SimWorld(["binance"]) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        manager, adapter = wired(world, "binance")
        orders = [manager.create("binance", "BTCUSDT", Side.BUY, D("0.001"), price=D(59000 + i)) for i in range(20)]
        for order in orders:
            world.run(manager.submit(order, adapter))
        venue_orders = world.venues["binance"].orders
        assert sorted(venue_orders) == sorted(o.client_order_id for o in orders)
        assert len({o.venue_order_id for o in orders}) == len(orders)


# --------------------------------------------------------------------------- Property 17a


@SLOW
@given(venue=st.sampled_from(["binance", "bybit"]), price_ticks=st.integers(-50, 50),
       new_qty=st.one_of(st.none(), st.sampled_from(["0.002", "0.005", "0.02"])),
       failure=st.sampled_from(["none", "refused", "transient"]), seed=st.integers(0, 1000))
def test_property_17a_modify_changes_the_record_only_after_confirmation(
        venue: str, price_ticks: int, new_qty: str | None, failure: str, seed: int) -> None:
    with SimWorld([venue], seed=seed) as world:
        world.quote(venue, "BTCUSDT", bid="60000", ask="60001")
        manager, adapter = wired(world, venue)
        order = manager.create(venue, "BTCUSDT", Side.BUY, D("0.01"), price=D(59000))
        world.run(manager.submit(order, adapter))
        info = manager.venue_info(venue)
        assert info is not None
        native = info.capabilities.native_modify
        before = (order.status, order.request, order.filled_quantity, order.remaining_quantity)
        seen: list[tuple[OrderStatus, OrderRequest]] = []
        adapter.observer = lambda _what: seen.append((order.status, order.request))
        error: VenueError | None = {"none": None, "refused": InvalidRequestError("amend refused"),
                                    "transient": RetryableError("502")}[failure]
        if error is not None:
            (adapter.modify_failures if native else adapter.cancel_failures).append(error)
        change = OrderModification(new_price=D(59000) + D("0.1") * price_ticks if price_ticks else None,
                                   new_quantity=D(new_qty) if new_qty else None)
        if change.new_price is None and change.new_quantity is None:
            change = OrderModification(new_price=D(58000))
        # while in flight the request is unchanged
        if error is not None:
            with pytest.raises(type(error)):
                world.run(manager.modify(order, adapter, change))
            assert (order.status, order.request, order.filled_quantity, order.remaining_quantity) == before
            assert len(manager) == 1
            assert all(req == before[1] for _, req in seen)
            return
        result = world.run(manager.modify(order, adapter, change))
        assert seen and all(req == before[1] for _, req in seen)
        assert seen[0][0] is (OrderStatus.PENDING_MODIFY if native else OrderStatus.PENDING_CANCEL)
        settle(world)
        want_price = change.new_price if change.new_price is not None else D(59000)
        want_qty = change.new_quantity if change.new_quantity is not None else D("0.01")
        venue_order = world.venues[venue].orders[result.client_order_id]
        assert result.request.price == venue_order.request.price == want_price
        assert result.quantity == venue_order.request.quantity == want_qty
        assert result.filled_quantity + result.remaining_quantity == result.quantity
        if native:
            assert result is order and order.status is OrderStatus.OPEN
        else:
            assert result is not order and result.replaces == order.order_id and order.replaced_by == result.order_id
            assert order.status is OrderStatus.CANCELLED and result.status is OrderStatus.OPEN
            assert result.client_order_id != order.client_order_id


def test_modify_refuses_orders_that_are_not_working() -> None:
    with SimWorld(["bybit"]) as world:
        world.quote("bybit", "BTCUSDT", bid="60000", ask="60001")
        manager, adapter = wired(world, "bybit")
        order = manager.create("bybit", "BTCUSDT", Side.BUY, D("0.01"), price=D(59000))
        world.run(manager.submit(order, adapter))
        with pytest.raises(OrderValidationError) as caught:
            world.run(manager.modify(order, adapter, OrderModification()))
        assert caught.value.field == "modification"
        world.run(manager.cancel(order, adapter))
        with pytest.raises(OrderStateError):
            world.run(manager.modify(order, adapter, OrderModification(new_price=D(58000))))


# --------------------------------------------------------------------------- Property 18


@SLOW
@given(venue=st.sampled_from(["binance", "bybit"]), failure=st.sampled_from(["none", "refused", "transient"]),
       partial=st.booleans(), seed=st.integers(0, 1000))
def test_property_18_cancelled_only_after_confirmation_else_previous_status(
        venue: str, failure: str, partial: bool, seed: int) -> None:
    with SimWorld([venue], seed=seed) as world:
        world.quote(venue, "BTCUSDT", bid="60000", ask="60001")
        manager, adapter = wired(world, venue)
        order = manager.create(venue, "BTCUSDT", Side.BUY, D("0.01"), price=D(60000))
        world.run(manager.submit(order, adapter))
        if partial:
            world.trade(venue, "BTCUSDT", price="59999", size="0.004", aggressor=Aggressor.SELLER)
            settle(world)
        previous = order.status
        assert previous is (OrderStatus.PARTIALLY_FILLED if partial else OrderStatus.OPEN)
        seen: list[OrderStatus] = []
        adapter.observer = lambda _what: seen.append(order.status)
        if failure != "none":
            adapter.cancel_failures.append(OrderNotFoundError("unknown order") if failure == "refused"
                                           else RetryableError("timeout on a read"))
            with pytest.raises(VenueError):
                world.run(manager.cancel(order, adapter))
            assert order.status is previous
            assert world.venues[venue].orders[order.client_order_id].status is previous
        else:
            world.run(manager.cancel(order, adapter))
            assert order.status is OrderStatus.CANCELLED
            assert world.venues[venue].orders[order.client_order_id].status is OrderStatus.CANCELLED
        assert seen == [OrderStatus.PENDING_CANCEL]
        assert OrderStatus.CANCELLED not in [t.new for t in order.history[:-1]]


def test_property_18_cancel_of_an_order_that_filled_keeps_it_filled() -> None:
    with SimWorld(["binance"]) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        manager, adapter = wired(world, "binance")
        order = manager.create("binance", "BTCUSDT", Side.BUY, D("0.01"), price=D(60000))
        world.run(manager.submit(order, adapter))
        world.trade("binance", "BTCUSDT", price="59999", size="1", aggressor=Aggressor.SELLER)
        with pytest.raises(OrderNotFoundError):
            world.run(manager.cancel(order, adapter))  # the venue filled it before the cancel arrived
        settle(world)
        assert order.status is OrderStatus.FILLED
        assert order.filled_quantity == order.quantity


# --------------------------------------------------------------------------- Property 19


@SLOW
@given(sizes=st.lists(st.sampled_from(["0.001", "0.002", "0.003", "0.005"]), min_size=1, max_size=8),
       redeliver=st.booleans(), seed=st.integers(0, 1000))
def test_property_19_partial_fills_sum_to_filled_and_remaining_is_the_rest(
        sizes: list[str], redeliver: bool, seed: int) -> None:
    with SimWorld(["binance"], seed=seed) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        manager, adapter = wired(world, "binance")
        order = manager.create("binance", "BTCUSDT", Side.BUY, D("0.01"), price=D(60000))
        world.run(manager.submit(order, adapter))
        for size in sizes:
            world.trade("binance", "BTCUSDT", price="59999", size=size, aggressor=Aggressor.SELLER)
            settle(world, 10_000_000)
        settle(world)
        venue_fills = [f for f in world.venues["binance"].fills if f.client_order_id == order.client_order_id]
        if redeliver:
            assert not any(manager.on_fill(f) for f in venue_fills)
        assert sum((f.quantity for f in order.fills), D(0)) == order.filled_quantity
        assert order.remaining_quantity == order.quantity - order.filled_quantity
        assert order.filled_quantity == sum((f.quantity for f in venue_fills), D(0))
        assert order.filled_quantity == min(sum(D(s) for s in sizes), order.quantity)
        assert len(order.fills) == len(venue_fills) == len(order.execution_ids)
        expected = OrderStatus.FILLED if order.remaining_quantity == 0 else OrderStatus.PARTIALLY_FILLED
        assert order.status is expected
        if order.filled_quantity:
            cost = sum((f.price * f.quantity for f in venue_fills), D(0))
            assert order.average_price == cost / order.filled_quantity
            assert order.fees == {"BTC": sum((f.fee for f in venue_fills), D(0))}


def _fill(order: ManagedOrder, exec_id: str, qty: str, price: str = "100") -> Fill:
    return Fill(order.venue, order.symbol, exec_id, order.client_order_id, "1", order.side, D(price), D(qty),
                D(0), "USDT", Liquidity.MAKER, 0)


def test_overfill_is_ignored_with_an_alert() -> None:
    with SimWorld(["binance"]) as world:
        alerts = AlertSink()
        manager = OrderManager(world.runtime.clock, alerts=alerts)
        order = manager.create("binance", "BTCUSDT", Side.SELL, D("1"), price=D(100))
        positions: list[Decimal] = []
        manager.fill_listeners.append(lambda _o, f: positions.append(f.quantity))
        assert manager.on_fill(_fill(order, "a", "0.6"))
        assert not manager.on_fill(_fill(order, "b", "0.6"))
        assert not manager.on_fill(_fill(order, "a", "0.6"))
        assert order.filled_quantity == D("0.6") and order.remaining_quantity == D("0.4")
        assert positions == [D("0.6")]
        assert len(alerts.of_kind("overfill")) == 1


# --------------------------------------------------------------------------- Property 20


@settings(max_examples=60)
@given(tif=st.sampled_from(list(TimeInForce)), expiry=st.one_of(st.none(), st.integers(-10**9, 10**10)))
def test_property_20_time_in_force_and_gtd_expiry_validation(tif: TimeInForce, expiry: int | None) -> None:
    with SimWorld(["coinbase"]) as world:
        manager, _ = wired(world, "coinbase")
        now = world.now_ns()
        expire_at = None if expiry is None else now + expiry
        req = request(OrderType.LIMIT, venue="coinbase", tif=tif, expire_at_ns=expire_at)
        valid = (expire_at is not None and expire_at > now) if tif is TimeInForce.GTD else expire_at is None
        if valid:
            order = manager.create_from(req)
            assert order.request.time_in_force is tif
        else:
            with pytest.raises(OrderValidationError) as caught:
                manager.create_from(req)
            assert caught.value.field == "expire_at_ns"


@SLOW
@given(tif=st.sampled_from(list(TimeInForce)), crossing=st.booleans(), seed=st.integers(0, 1000))
def test_property_20_time_in_force_is_honoured_at_the_venue(tif: TimeInForce, crossing: bool, seed: int) -> None:
    with SimWorld(["coinbase"], seed=seed) as world:
        world.quote("coinbase", "BTC-USD", bid="50000", ask="50010", ask_size="0.005")
        manager, adapter = wired(world, "coinbase")
        expire_at = world.now_ns() + 10**9 if tif is TimeInForce.GTD else None
        price = D(50010) if crossing else D(49000)
        order = manager.create("coinbase", "BTC-USD", Side.BUY, D("0.01"), price=price, time_in_force=tif,
                               expire_at_ns=expire_at)
        world.run(manager.submit(order, adapter))
        settle(world, 2 * 10**9)
        world.quote("coinbase", "BTC-USD", bid="50000", ask="50020", ask_size="0.005")  # the venue's time moves on
        settle(world)
        venue_status = world.venues["coinbase"].orders[order.client_order_id].status
        assert order.status is venue_status
        if tif is TimeInForce.FOK:
            assert order.status is OrderStatus.EXPIRED and order.filled_quantity == 0
        elif tif is TimeInForce.IOC:
            assert order.status is OrderStatus.EXPIRED
            assert order.filled_quantity == (D("0.005") if crossing else D(0))
        elif tif is TimeInForce.GTD:
            assert order.status is OrderStatus.EXPIRED
        else:
            assert order.status is (OrderStatus.PARTIALLY_FILLED if crossing else OrderStatus.OPEN)


# --------------------------------------------------------------------------- transition rules


def _report(order: ManagedOrder, status: OrderStatus, filled: str, ts: int) -> OrderReport:
    return OrderReport(order.venue, order.symbol, order.client_order_id, "v1", status, order.side,
                       order.request.order_type, order.quantity, D(filled), order.request.price, None, ts)


def test_stale_and_out_of_order_reports_never_move_the_state_back() -> None:
    with SimWorld(["binance"]) as world:
        alerts = AlertSink()
        manager = OrderManager(world.runtime.clock, alerts=alerts)
        order = manager.create("binance", "BTCUSDT", Side.BUY, D("1"), price=D(100))
        assert manager.on_report(_report(order, OrderStatus.PARTIALLY_FILLED, "0.5", 20))
        assert not manager.on_report(_report(order, OrderStatus.OPEN, "0", 10))  # older
        assert not manager.on_report(_report(order, OrderStatus.OPEN, "0.5", 30))  # never backwards
        assert not manager.on_report(_report(order, OrderStatus.PARTIALLY_FILLED, "0.4", 40))  # less filled
        assert (order.status, order.venue_filled_quantity) == (OrderStatus.PARTIALLY_FILLED, D("0.5"))
        assert manager.on_report(_report(order, OrderStatus.CANCELLED, "0.5", 50))
        assert not manager.on_report(_report(order, OrderStatus.FILLED, "1", 60))
        assert order.history[-1].new is order.status is OrderStatus.CANCELLED
        assert len(alerts.of_kind("order_conflict")) == 1
        assert [t.new for t in order.history] == [OrderStatus.PARTIALLY_FILLED, OrderStatus.CANCELLED]
        assert not manager.on_report(OrderReport("binance", "BTCUSDT", "nobody", "", OrderStatus.OPEN, Side.BUY,
                                                 OrderType.LIMIT, D(1), D(0), D(1), None, 1))
        assert len(manager.unmatched_reports) == 1


def test_list_filters() -> None:
    with SimWorld(["binance"]) as world:
        manager = OrderManager(world.runtime.clock)
        a = manager.create("binance", "BTCUSDT", Side.BUY, D(1), price=D(1), strategy_id="mm")
        b = manager.create("binance", "ETHUSDT", Side.SELL, D(1), price=D(1), strategy_id="twap")
        manager.on_report(_report(b, OrderStatus.CANCELLED, "0", 1))
        assert manager.list(strategy="mm") == [a]
        assert manager.list(symbol="ETHUSDT") == [b]
        assert manager.list(side=Side.BUY) == [a]
        assert manager.list(open_only=True) == [a]
        assert manager.list(status=[OrderStatus.CANCELLED]) == [b]
        assert manager.list(venue="okx") == []
        assert manager.list(since_ns=a.created_ns, until_ns=a.created_ns) == [a, b]
        assert manager.get(a.order_id) is a and manager.by_client_id(b.client_order_id) is b

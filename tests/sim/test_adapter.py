"""The simulated venue through its adapter: order types, time in force, queue, filters, funds, limits, latency.

Everything here goes through ``SimAdapter`` (the contract, with latency), not the engine: the
engine's own rules are covered in ``test_matching*.py``. Most tests use a world whose latency
models are constants, so virtual timestamps can be asserted exactly; the latency tests also
check orderings under the profile's own log-normal models.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest

from harness.contract import (
    DuplicateOrderError,
    InvalidRequestError,
    NotSupportedError,
    OrderNotFoundError,
    RateLimitedError,
)
from harness.model import (
    Aggressor,
    Balance,
    Fill,
    Liquidity,
    OrderModification,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    Quote,
    Side,
    TimeInForce,
    Trade,
)
from harness.money import from_fixed
from scenarios.world import SimWorld
from sim.venue.latency import Constant, LatencyProfile
from sim.venue.profile import VenueProfile, load_profile

D = Decimal
V, S = "binance", "BTCUSDT"
ENTRY, RESPONSE, MARKET = 1_000_000, 2_000_000, 500_000  # constant latencies (ns) of ``world``
START_BTC, START_USDT = D(10), D(1_000_000)
FEE = D("0.001")  # Binance VIP 0, maker and taker


def constant_world(profile: VenueProfile | None = None, *, seed: int = 1) -> SimWorld:
    """A SimWorld whose binance venue has constant latencies (ENTRY, RESPONSE, MARKET)."""
    base = profile or load_profile(V)
    profile = replace(base, latency=LatencyProfile(Constant(ENTRY), Constant(RESPONSE), Constant(MARKET)))
    return SimWorld({V: profile}, seed=seed)


@pytest.fixture
def world() -> SimWorld:
    """Constant latencies, a 60000/60001 market (5 each side) and a last trade at 60000.50."""
    w = constant_world()
    w.quote(V, S, bid="60000", ask="60001")
    w.trade(V, S, price="60000.50", size="0.1")
    return w


def order(cid: str, side: Side, otype: OrderType, qty: str, price: str | None = None, **kw: object) -> OrderRequest:
    """A BTCUSDT order on binance."""
    return OrderRequest(cid, V, S, side, otype, D(qty), price=None if price is None else D(price),
                        **kw)  # type: ignore[arg-type]


def submit(world: SimWorld, request: OrderRequest) -> OrderReport:
    """Submit through the adapter in virtual time."""
    return world.run(world.adapters[V].submit_order(request))


def balances(world: SimWorld) -> dict[str, Balance]:
    """The account through the adapter."""
    return world.run(world.adapters[V].get_balances())


def refused(world: SimWorld, request: OrderRequest) -> InvalidRequestError:
    """The contract error a refused submit raises."""
    with pytest.raises(InvalidRequestError) as info:
        submit(world, request)
    return info.value


def fills(world: SimWorld, cid: str) -> list[Fill]:
    """Our executions of one order, through the adapter."""
    return [f for f in world.run(world.adapters[V].get_fills(S)) if f.client_order_id == cid]


def assert_untouched(world: SimWorld) -> None:
    """Every balance as it started and nothing held."""
    b = balances(world)
    assert (b["BTC"].free, b["BTC"].locked, b["USDT"].free, b["USDT"].locked) == (START_BTC, D(0), START_USDT, D(0))


# ---------------------------------------------------------------------------- market orders and fees


def test_market_buy_takes_the_ask_pays_the_fee_in_btc_and_settles_exactly(world: SimWorld) -> None:
    report = submit(world, order("m1", Side.BUY, OrderType.MARKET, "0.01"))
    assert report.status is OrderStatus.FILLED
    assert (report.filled_quantity, report.average_price) == (D("0.01"), D("60001"))
    [fill] = fills(world, "m1")
    assert (fill.price, fill.quantity, fill.liquidity) == (D("60001"), D("0.01"), Liquidity.TAKER)
    assert (fill.fee, fill.fee_asset) == (D("0.00001"), "BTC")  # 0.1 % of the BTC received
    b = balances(world)
    assert b["BTC"] == Balance("BTC", START_BTC + D("0.01") - D("0.00001"), D(0))
    assert b["USDT"] == Balance("USDT", START_USDT - D("600.01"), D(0))  # the 5 % market hold is all released
    assert str(b["USDT"].free) == "999399.990000000"  # on the 1e-9 grid, not 18 decimals


def test_market_sell_pays_the_fee_in_usdt(world: SimWorld) -> None:
    submit(world, order("m2", Side.SELL, OrderType.MARKET, "0.02"))
    [fill] = fills(world, "m2")
    assert (fill.price, fill.fee, fill.fee_asset) == (D("60000"), D("1.2"), "USDT")  # 1200 * 0.001
    b = balances(world)
    assert b["BTC"] == Balance("BTC", START_BTC - D("0.02"), D(0))
    assert b["USDT"] == Balance("USDT", START_USDT + D("1200") - D("1.2"), D(0))


def test_market_order_beyond_the_displayed_top_fills_the_rest_a_tick_worse(world: SimWorld) -> None:
    report = submit(world, order("m3", Side.BUY, OrderType.MARKET, "6"))
    assert report.status is OrderStatus.FILLED
    assert [(f.price, f.quantity) for f in fills(world, "m3")] == [(D("60001"), D(5)), (D("60001.01"), D(1))]
    assert report.average_price == (D("60001") * 5 + D("60001.01")) / 6


# ---------------------------------------------------------------------------- limit orders, locking, TIF


def test_resting_limit_buy_locks_price_times_quantity_and_cancel_releases_it(world: SimWorld) -> None:
    report = submit(world, order("l1", Side.BUY, OrderType.LIMIT, "0.5", "59990.00"))
    assert report.status is OrderStatus.OPEN and report.filled_quantity == 0
    b = balances(world)
    assert b["USDT"] == Balance("USDT", START_USDT - D("29995"), D("29995"))
    sell = submit(world, order("l2", Side.SELL, OrderType.LIMIT, "0.3", "60010"))
    assert sell.status is OrderStatus.OPEN
    assert balances(world)["BTC"] == Balance("BTC", START_BTC - D("0.3"), D("0.3"))
    open_ids = [r.client_order_id for r in world.run(world.adapters[V].get_open_orders(S))]
    assert open_ids == ["l1", "l2"]
    assert world.run(world.adapters[V].cancel_order(S, "l1")).status is OrderStatus.CANCELLED
    assert world.run(world.adapters[V].cancel_order(S, "l2")).status is OrderStatus.CANCELLED
    assert_untouched(world)
    assert world.run(world.adapters[V].get_order(S, "l1")).status is OrderStatus.CANCELLED
    with pytest.raises(OrderNotFoundError) as info:
        world.run(world.adapters[V].cancel_order(S, "l1"))
    assert (info.value.code, info.value.message) == (-2011, "Unknown order sent.")
    with pytest.raises(OrderNotFoundError) as missing:
        world.run(world.adapters[V].get_order(S, "nope"))
    assert (missing.value.code, missing.value.message) == (-2013, "Order does not exist.")


def test_marketable_gtc_limit_takes_the_top_then_rests_the_rest(world: SimWorld) -> None:
    report = submit(world, order("g1", Side.BUY, OrderType.LIMIT, "7", "60001"))
    assert report.status is OrderStatus.PARTIALLY_FILLED and report.filled_quantity == 5
    [fill] = fills(world, "g1")
    assert (fill.quantity, fill.liquidity, fill.fee) == (D(5), Liquidity.TAKER, D("0.005"))
    b = balances(world)["USDT"]
    assert (b.free, b.locked) == (START_USDT - D("300005") - D("120002"), D("120002"))  # 2 left at 60001


def test_ioc_fills_what_it_can_and_expires_the_rest(world: SimWorld) -> None:
    report = submit(world, order("i1", Side.BUY, OrderType.LIMIT, "7", "60001", time_in_force=TimeInForce.IOC))
    assert report.status is OrderStatus.EXPIRED and report.filled_quantity == 5
    b = balances(world)
    assert b["USDT"] == Balance("USDT", START_USDT - D("300005"), D(0))
    assert b["BTC"] == Balance("BTC", START_BTC + D(5) - D("0.005"), D(0))
    assert world.run(world.adapters[V].get_open_orders()) == []


def test_fok_is_all_or_nothing(world: SimWorld) -> None:
    killed = submit(world, order("f1", Side.SELL, OrderType.LIMIT, "6", "60000", time_in_force=TimeInForce.FOK))
    assert killed.status is OrderStatus.EXPIRED and killed.filled_quantity == 0
    assert fills(world, "f1") == []
    assert_untouched(world)
    filled = submit(world, order("f2", Side.SELL, OrderType.LIMIT, "5", "60000", time_in_force=TimeInForce.FOK))
    assert filled.status is OrderStatus.FILLED and filled.filled_quantity == 5


def test_gtd_is_not_a_binance_spot_time_in_force(world: SimWorld) -> None:
    error = refused(world, order("d1", Side.BUY, OrderType.LIMIT, "0.01", "59000", time_in_force=TimeInForce.GTD,
                                 expire_at_ns=world.now_ns() + 10**9))
    assert (error.code, error.message, error.http_status) == (-1115, "Invalid timeInForce.", 400)


def test_binance_has_no_native_modify(world: SimWorld) -> None:
    submit(world, order("n1", Side.BUY, OrderType.LIMIT, "0.01", "59000"))
    with pytest.raises(NotSupportedError):
        world.run(world.adapters[V].modify_order(S, "n1", OrderModification(new_price=D("59001"))))


# ---------------------------------------------------------------------------- queue position, partial fills


def test_order_behind_displayed_size_fills_only_after_that_volume_trades(world: SimWorld) -> None:
    world.quote(V, S, bid="60000", ask="60001", bid_size="2")
    submit(world, order("q1", Side.BUY, OrderType.LIMIT, "0.5", "60000"))
    world.trade(V, S, price="60000", size="1.5", aggressor=Aggressor.SELLER)
    world.trade(V, S, price="60000", size="0.4", aggressor=Aggressor.SELLER)
    assert fills(world, "q1") == []  # 1.9 of the 2 ahead of us traded
    world.trade(V, S, price="60000", size="0.3", aggressor=Aggressor.SELLER)  # 0.1 ahead, 0.2 reach us
    report = world.run(world.adapters[V].get_order(S, "q1"))
    assert report.status is OrderStatus.PARTIALLY_FILLED and report.filled_quantity == D("0.2")
    assert balances(world)["USDT"] == Balance("USDT", START_USDT - D("30000"), D("18000"))  # 0.3 still held
    world.trade(V, S, price="60000", size="1", aggressor=Aggressor.SELLER)
    report = world.run(world.adapters[V].get_order(S, "q1"))
    assert report.status is OrderStatus.FILLED
    got = fills(world, "q1")
    assert [(f.quantity, f.liquidity, f.fee) for f in got] == [
        (D("0.2"), Liquidity.MAKER, D("0.0002")), (D("0.3"), Liquidity.MAKER, D("0.0003"))]
    b = balances(world)
    assert b["USDT"] == Balance("USDT", START_USDT - D("30000"), D(0))
    assert b["BTC"] == Balance("BTC", START_BTC + D("0.5") - D("0.0005"), D(0))


def test_a_buyer_initiated_print_at_our_bid_does_not_fill_it(world: SimWorld) -> None:
    submit(world, order("q2", Side.BUY, OrderType.LIMIT, "0.5", "59999"))  # better than nothing, worse than bid
    world.trade(V, S, price="59999", size="3", aggressor=Aggressor.BUYER)
    assert fills(world, "q2") == []
    world.trade(V, S, price="59998", size="0.2", aggressor=Aggressor.SELLER)  # through our price
    assert [f.quantity for f in fills(world, "q2")] == [D("0.2")]


def test_two_of_our_orders_at_one_level_share_one_trade(world: SimWorld) -> None:
    world.quote(V, S, bid="60000", ask="60001", bid_size="1")
    submit(world, order("s1", Side.BUY, OrderType.LIMIT, "0.5", "60000"))
    submit(world, order("s2", Side.BUY, OrderType.LIMIT, "0.5", "60000"))
    world.trade(V, S, price="60000", size="1.6", aggressor=Aggressor.SELLER)  # 1 ahead, then 0.6 for us
    assert [f.quantity for f in fills(world, "s1")] == [D("0.5")]
    assert [f.quantity for f in fills(world, "s2")] == [D("0.1")]


# ---------------------------------------------------------------------------- post-only and filters


def test_post_only_that_would_cross_is_rejected_with_binances_code(world: SimWorld) -> None:
    error = refused(world, order("p1", Side.BUY, OrderType.LIMIT, "0.01", "60001", post_only=True))
    assert (error.code, error.message, error.http_status) == (-2010, "Order would immediately match and take.", 400)
    assert_untouched(world)
    ok = submit(world, order("p2", Side.BUY, OrderType.LIMIT, "0.01", "60000", post_only=True))
    assert ok.status is OrderStatus.OPEN


@pytest.mark.parametrize(("kw", "expected"), [
    ({"price": "60000.001"}, (-1013, "Filter failure: PRICE_FILTER")),
    ({"price": "1000000.01"}, (-1013, "Filter failure: PRICE_FILTER")),
    ({"qty": "0.000015"}, (-1013, "Filter failure: LOT_SIZE")),
    ({"qty": "9000.00001"}, (-1013, "Filter failure: LOT_SIZE")),
    ({"qty": "0.00008"}, (-1013, "Filter failure: NOTIONAL")),
    ({"qty": "17", "price": "60000"}, (-2010, "Account has insufficient balance for requested action.")),
    ({"qty": "11", "side": Side.SELL, "price": "60010"},
     (-2010, "Account has insufficient balance for requested action.")),
    ({"symbol": "BTCUSDX"}, (-1121, "Invalid symbol.")),
    ({"otype": OrderType.TRAILING_STOP, "trailing_delta": "10"}, (-1116, "Invalid orderType.")),
    ({"otype": OrderType.STOP_LIMIT}, (-1102, "Mandatory parameter 'stopPrice' was not sent, was empty/null, "
                                             "or malformed.")),
])
def test_filter_rejections_carry_binances_codes_and_messages(world: SimWorld, kw: dict[str, object],
                                                             expected: tuple[int, str]) -> None:
    side = kw.get("side", Side.BUY)
    otype = kw.get("otype", OrderType.LIMIT)
    trailing = kw.get("trailing_delta")
    request = OrderRequest("x1", V, str(kw.get("symbol", S)), side, otype,  # type: ignore[arg-type]
                           D(str(kw.get("qty", "0.01"))), price=D(str(kw.get("price", "59000"))),
                           trailing_delta=None if trailing is None else D(str(trailing)))
    error = refused(world, request)
    assert (error.code, error.message, error.http_status) == (*expected, 400)
    assert_untouched(world)
    assert world.run(world.adapters[V].get_open_orders()) == []


def test_duplicate_client_order_id_is_refused(world: SimWorld) -> None:
    submit(world, order("dup", Side.BUY, OrderType.LIMIT, "0.01", "59000"))
    error = refused(world, order("dup", Side.BUY, OrderType.LIMIT, "0.01", "59000"))
    assert (error.code, error.message) == (-2010, "Duplicate order sent.")
    assert isinstance(error, DuplicateOrderError)  # recovery adopts the existing order on this type
    assert balances(world)["USDT"].locked == D("590")  # only the first order holds funds


# ---------------------------------------------------------------------------- conditional orders


def test_stop_market_sell_waits_for_a_trade_at_its_stop_then_sells_at_the_bid(world: SimWorld) -> None:
    report = submit(world, order("st1", Side.SELL, OrderType.STOP_MARKET, "0.1", stop_price=D("59990")))
    assert report.status is OrderStatus.OPEN
    assert balances(world)["BTC"] == Balance("BTC", START_BTC - D("0.1"), D("0.1"))
    world.quote(V, S, bid="59989", ask="59991")
    world.trade(V, S, price="59991", size="1")
    assert fills(world, "st1") == []
    world.trade(V, S, price="59990", size="1")  # touches the stop
    [fill] = fills(world, "st1")
    assert (fill.price, fill.quantity, fill.liquidity, fill.fee) == (D("59989"), D("0.1"), Liquidity.TAKER,
                                                                     D("5.9989"))
    b = balances(world)
    assert b["BTC"] == Balance("BTC", START_BTC - D("0.1"), D(0))
    assert b["USDT"] == Balance("USDT", START_USDT + D("5998.9") - D("5.9989"), D(0))


def test_stop_that_would_trigger_at_once_is_rejected(world: SimWorld) -> None:
    error = refused(world, order("st2", Side.BUY, OrderType.STOP_MARKET, "0.1", stop_price=D("60000")))
    assert (error.code, error.message) == (-2010, "Order would trigger immediately.")
    assert_untouched(world)


def test_stop_limit_buy_becomes_a_limit_at_its_price_when_triggered(world: SimWorld) -> None:
    report = submit(world, order("sl1", Side.BUY, OrderType.STOP_LIMIT, "0.1", "60012", stop_price=D("60010")))
    assert report.status is OrderStatus.OPEN
    assert balances(world)["USDT"].locked == D("6001.2")  # price x quantity, held from the start
    world.quote(V, S, bid="60009", ask="60011")
    world.trade(V, S, price="60010", size="1")
    [fill] = fills(world, "sl1")
    assert (fill.price, fill.liquidity) == (D("60011"), Liquidity.TAKER)
    assert balances(world)["USDT"] == Balance("USDT", START_USDT - D("6001.1"), D(0))  # unused 0.1 released


def test_take_profit_sell_triggers_on_a_rise(world: SimWorld) -> None:
    submit(world, order("tp1", Side.SELL, OrderType.TAKE_PROFIT, "0.1", stop_price=D("60100")))
    world.quote(V, S, bid="60099", ask="60101")
    world.trade(V, S, price="60050", size="1")
    assert fills(world, "tp1") == []
    world.trade(V, S, price="60100", size="1")
    assert [(f.price, f.quantity) for f in fills(world, "tp1")] == [(D("60099"), D("0.1"))]


def test_trailing_stop_follows_the_high_and_fires_on_the_retrace() -> None:
    base = load_profile(V)
    profile = replace(base, capabilities=replace(
        base.capabilities, order_types=base.capabilities.order_types | {OrderType.TRAILING_STOP}))
    with constant_world(profile) as world:
        world.quote(V, S, bid="60000", ask="60001")
        world.trade(V, S, price="60000", size="1")
        report = submit(world, order("tr1", Side.SELL, OrderType.TRAILING_STOP, "0.1", trailing_delta=D("10")))
        assert report.status is OrderStatus.OPEN
        for price in ("60005", "60020", "60011"):
            world.trade(V, S, price=price, size="1")
        assert fills(world, "tr1") == []  # the high is 60020; 60011 is 9 below it
        world.quote(V, S, bid="60009", ask="60011")
        world.trade(V, S, price="60010", size="1")
        assert [(f.price, f.liquidity) for f in fills(world, "tr1")] == [(D("60009"), Liquidity.TAKER)]


# ---------------------------------------------------------------------------- rate limits


def test_weight_limit_gives_429_with_retry_after_then_418_bans_that_grow(world: SimWorld) -> None:
    adapter = world.adapters[V]
    minute = 60 * 10**9

    async def exhaust() -> tuple[int, RateLimitedError]:
        """Account queries (weight 20) until the 1200-per-minute limit refuses one."""
        while True:
            arrives = world.now_ns() + ENTRY
            try:
                await adapter.get_balances()
            except RateLimitedError as error:
                return arrives, error

    async def scenario() -> list[tuple[int, RateLimitedError]]:
        seen = []
        for _ in range(2):
            arrives, limited = await exhaust()
            seen.append((arrives, limited))
            try:  # sending again during Retry-After is a strike: banned
                await adapter.get_ticker(S)
            except RateLimitedError as error:
                seen.append((world.now_ns() - RESPONSE, error))
            status = await adapter.get_rate_limit_status()
            assert status.banned_until_ns is not None
            await world.runtime.clock.sleep_ns(status.banned_until_ns - world.now_ns())
        return seen

    (t1, first), (b1, ban1), (t2, second), (b2, ban2) = world.run(scenario())
    for at, error in ((t1, first), (t2, second)):
        assert (error.http_status, error.code, error.banned) == (429, -1003, False)
        assert error.retry_after_s == -(-(minute - at % minute) // 10**9)  # whole seconds to the minute's end
        assert "1200 request weight per 1 MINUTE" in error.message
    assert (ban1.http_status, ban1.code, ban1.banned, ban1.retry_after_s) == (418, -1003, True, D(120))
    assert (ban2.http_status, ban2.banned, ban2.retry_after_s) == (418, True, D(240))  # the second ban doubles
    assert "IP banned until" in ban1.message
    assert b2 > b1 + 120 * 10**9


def test_orders_per_10_seconds_give_429_without_a_ban(world: SimWorld) -> None:
    adapter = world.adapters[V]

    async def burst() -> RateLimitedError:
        for i in range(50):
            await adapter.submit_order(order(f"b{i}", Side.BUY, OrderType.LIMIT, "0.001", "50000"))
        with pytest.raises(RateLimitedError) as info:
            await adapter.submit_order(order("b50", Side.BUY, OrderType.LIMIT, "0.001", "50000"))
        return info.value

    error = world.run(burst())
    assert (error.http_status, error.code, error.banned) == (429, -1015, False)
    assert error.message == "Too many new orders; current limit is 50 orders per 10 SECOND."
    assert balances(world)["USDT"].locked == 50 * D(50)  # the refused order holds nothing


# ---------------------------------------------------------------------------- latency and ordering


def test_submit_ack_arrives_after_entry_plus_response_latency(world: SimWorld) -> None:
    adapter = world.adapters[V]
    sent = world.now_ns()

    async def go() -> tuple[OrderReport, int]:
        report = await adapter.submit_order(order("a1", Side.BUY, OrderType.LIMIT, "0.01", "59000"))
        return report, world.now_ns()

    report, acked = world.run(go())
    assert report.ts_ns == sent + ENTRY  # the venue stamped it when the request arrived
    assert acked == sent + ENTRY + RESPONSE


def test_pushed_order_updates_arrive_one_response_latency_after_the_venue_event(world: SimWorld) -> None:
    adapter = world.adapters[V]
    updates: list[tuple[int, OrderStatus, Decimal]] = []
    executions: list[tuple[int, Fill]] = []

    async def go() -> int:
        await adapter.subscribe_order_updates(lambda r: updates.append((world.now_ns(), r.status, r.filled_quantity)))
        await adapter.subscribe_fills(lambda f: executions.append((world.now_ns(), f)))
        sent = world.now_ns()
        await adapter.submit_order(order("u1", Side.SELL, OrderType.LIMIT, "0.3", "60001"))
        return sent

    sent = world.run(go())
    accepted = sent + ENTRY
    assert updates == [(accepted + RESPONSE, OrderStatus.OPEN, D(0))]
    world.quote(V, S, bid="60000", ask="60002", ask_size="1")  # our ask is now better than the market's
    trade_at = world.now_ns()
    world.trade(V, S, price="60001", size="0.1", aggressor=Aggressor.BUYER)
    world.trade(V, S, price="60001", size="0.5", aggressor=Aggressor.BUYER)
    world.run(asyncio.sleep(0.01))
    assert updates[1:] == [(trade_at + RESPONSE, OrderStatus.PARTIALLY_FILLED, D("0.1")),
                           (trade_at + RESPONSE, OrderStatus.FILLED, D("0.3"))]
    assert [(at, f.quantity, f.ts_ns) for at, f in executions] == [
        (trade_at + RESPONSE, D("0.1"), trade_at), (trade_at + RESPONSE, D("0.2"), trade_at)]


def test_market_data_reaches_subscribers_after_the_latency_in_fifo_order(world: SimWorld) -> None:
    adapter = world.adapters[V]
    got: list[tuple[int, str, int]] = []

    async def subscribe() -> None:
        await adapter.subscribe_trades(S, lambda t: got.append((world.now_ns(), "trade", t.price)))
        await adapter.subscribe_quotes(S, lambda q: got.append((world.now_ns(), "quote", q.bid_price)))
        await asyncio.sleep(0.01)  # let the fixture's market events arrive first

    world.run(subscribe())
    got.clear()
    sent = world.now_ns()
    a = world.trade(V, S, price="60000.10", size="1")
    q = world.quote(V, S, bid="59999", ask="60002")
    b = world.trade(V, S, price="60000.20", size="1")
    assert got == []  # nothing arrives at the moment it happens at the venue
    world.run(asyncio.sleep(0.01))
    assert got == [(sent + MARKET, "trade", a.price), (sent + MARKET, "quote", q.bid_price),
                   (sent + MARKET, "trade", b.price)]


def test_a_cancel_in_flight_loses_the_race_to_a_trade_at_the_venue(world: SimWorld) -> None:
    adapter = world.adapters[V]
    submit(world, order("r1", Side.BUY, OrderType.LIMIT, "0.2", "59999"))

    async def race() -> OrderNotFoundError:
        cancel = asyncio.ensure_future(adapter.cancel_order(S, "r1"))
        await world.runtime.clock.sleep_ns(ENTRY // 2)  # the cancel is still on its way to the venue
        world.trade(V, S, price="59998", size="1", aggressor=Aggressor.SELLER)
        with pytest.raises(OrderNotFoundError) as info:
            await cancel
        return info.value

    error = world.run(race())
    assert (error.code, error.message) == (-2011, "Unknown order sent.")
    assert world.run(adapter.get_order(S, "r1")).status is OrderStatus.FILLED


def test_orderings_hold_under_the_profiles_random_latencies() -> None:
    with SimWorld([V], seed=11) as world:
        adapter = world.adapters[V]
        latency = world.venues[V].profile.latency
        floors = {name: getattr(latency, name).floor_ns for name in ("order_entry", "response", "market_data")}
        trades: list[tuple[int, Trade]] = []
        updates: list[tuple[int, OrderReport]] = []
        arrivals: list[int] = []

        def on_trade(trade: Trade) -> None:
            trades.append((world.now_ns(), trade))
            arrivals.append(world.now_ns())

        def on_update(report: OrderReport) -> None:
            updates.append((world.now_ns(), report))
            arrivals.append(world.now_ns())

        async def subscribe() -> None:
            await adapter.subscribe_trades(S, on_trade)
            await adapter.subscribe_order_updates(on_update)

        world.run(subscribe())
        world.quote(V, S, bid="60000", ask="60001")
        sent: list[tuple[int, Trade]] = []
        for i in range(200):  # bursts closer together than the latency's spread
            world.run(asyncio.sleep(0.0001 * (i % 7)))
            sent.append((world.now_ns(), world.trade(V, S, price=str(60005 + i % 3), size="0.01")))
        world.run(asyncio.sleep(1))
        assert [t for _, t in trades] == [t for _, t in sent]  # FIFO: none lost, none reordered
        for (at, _), (sent_at, _) in zip(trades, sent, strict=True):
            assert at >= sent_at + floors["market_data"]

        t0 = world.now_ns()

        async def submit_one() -> tuple[OrderReport, int]:
            report = await adapter.submit_order(order("z1", Side.SELL, OrderType.LIMIT, "0.5", "60003"))
            return report, world.now_ns()

        report, acked = world.run(submit_one())
        assert t0 + floors["order_entry"] <= report.ts_ns <= acked - floors["response"]
        world.quote(V, S, bid="60000", ask="60004")
        world.trade(V, S, price="60003", size="0.2", aggressor=Aggressor.BUYER)
        world.run(asyncio.sleep(1))
        assert [r.status for _, r in updates] == [OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED]
        for at, r in updates:
            assert at >= r.ts_ns + floors["response"]  # pushed after the venue event, never before
        assert arrivals == sorted(arrivals)


def test_ticker_through_the_adapter_is_the_venues_quote(world: SimWorld) -> None:
    quote: Quote = world.run(world.adapters[V].get_ticker(S))
    assert (from_fixed(quote.bid_price), from_fixed(quote.ask_price)) == (D("60000"), D("60001"))

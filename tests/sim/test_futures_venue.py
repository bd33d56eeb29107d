"""The simulated linear perpetual venues through their adapter: margin, positions, reduce-only,
leverage, margin mode, and funding paid or received with exact amounts.

Every amount asserted here is computed by hand from the profile's numbers (Bybit linear: 0.02 %
maker, 0.055 % taker, 10x by default; Binance USD-M: 0.02 % / 0.05 %, 20x).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from constant_latency import constant_profile

from harness.contract import InvalidRequestError, MarginMode, NotSupportedError
from harness.model import Aggressor, Balance, OrderRequest, OrderStatus, OrderType, PositionReport, Side
from scenarios.world import SimWorld
from sim.venue.futures_venue import FuturesVenue
from sim.venue.profile import ProfileError, parse_profile

D = Decimal
V, S = "bybit", "BTCUSDT"
START = D(1_000_000)
TAKER, MAKER = D("0.00055"), D("0.0002")
HOUR_S = 3600


def _world(profile: str = "bybit-linear", balance: Decimal = START) -> SimWorld:
    world = SimWorld({V: constant_profile(profile)}, seed=3, balances={V: {"USDT": balance}})
    world.quote(V, S, bid="60000", ask="60000.1")
    return world


def _order(coid: str, side: Side, qty: str, *, price: str | None = None, reduce_only: bool = False) -> OrderRequest:
    kind = OrderType.LIMIT if price is not None else OrderType.MARKET
    return OrderRequest(coid, V, S, side, kind, D(qty), price=D(price) if price is not None else None,
                        reduce_only=reduce_only)


def _usdt(world: SimWorld) -> Balance:
    return world.run(world.adapters[V].get_balances())["USDT"]


def _positions(world: SimWorld) -> list[PositionReport]:
    return world.run(world.adapters[V].get_positions())


def _venue(world: SimWorld) -> FuturesVenue:
    venue = world.venues[V]
    assert isinstance(venue, FuturesVenue)
    return venue


def test_a_resting_order_holds_initial_margin_until_cancelled() -> None:
    with _world() as world:
        adapter = world.adapters[V]
        world.run(adapter.submit_order(_order("m1", Side.BUY, "0.5", price="59000")))
        held = _usdt(world)
        assert (held.free, held.locked) == (START - D("2950"), D("2950"))  # 59000 * 0.5 / 10
        world.run(adapter.cancel_order(S, "m1"))
        assert _usdt(world) == Balance("USDT", START, D(0))


def test_an_order_beyond_the_available_margin_is_refused_with_the_venues_code() -> None:
    for profile, code in (("bybit-linear", 110007), ("binance-usdm", -2019)):
        with _world(profile, balance=D(1000)) as world:
            adapter = world.adapters[V]
            # 0.2 BTC at 60000 is 12000 notional: 1200 margin at 10x, 600 at 20x (Binance) ...
            qty = "0.2" if profile == "bybit-linear" else "0.4"
            with pytest.raises(InvalidRequestError) as refused:
                world.run(adapter.submit_order(_order("big", Side.SELL, qty, price="60000")))
            assert refused.value.code == code
            assert _usdt(world) == Balance("USDT", D(1000), D(0))
            # ... and half of it fits
            half = str(D(qty) / 2)
            report = world.run(adapter.submit_order(_order("half", Side.SELL, half, price="60000.1")))
            assert report.status is OrderStatus.OPEN


def test_fills_build_a_signed_position_and_pay_pnl_and_fees_in_the_settle_asset() -> None:
    with _world() as world:
        adapter = world.adapters[V]
        world.run(adapter.submit_order(_order("s1", Side.SELL, "0.3")))  # short at the bid, no BTC needed
        [short] = _positions(world)
        assert (short.quantity, short.average_entry_price, short.leverage, short.margin_mode) == (
            D("-0.3"), D("60000"), 10, "CROSS")
        assert short.margin == D("1800")
        assert short.mark_price == D("60000.05") and short.unrealized_pnl == D("-0.015")
        fee_open = D("18000") * TAKER  # 9.9
        assert _usdt(world) == Balance("USDT", START - fee_open - D("1800"), D("1800"))

        world.quote(V, S, bid="58999.9", ask="59000")
        world.run(world.clock.sleep(1))
        world.run(adapter.submit_order(_order("b1", Side.BUY, "0.1")))  # cover a third at 59000
        [rest] = _positions(world)
        assert (rest.quantity, rest.average_entry_price, rest.realized_pnl) == (D("-0.2"), D("60000"), D("100"))
        fee_cover = D("5900") * TAKER  # 3.245
        wallet = START - fee_open + D("100") - fee_cover
        assert _usdt(world) == Balance("USDT", wallet - D("1200"), D("1200"))

        world.run(adapter.submit_order(_order("b2", Side.BUY, "0.2", reduce_only=True)))  # close the rest
        assert _positions(world) == []
        wallet += D("200") - D("11800") * TAKER
        assert _usdt(world) == Balance("USDT", wallet, D(0))
        fills = world.run(adapter.get_fills(S))
        assert {f.fee_asset for f in fills} == {"USDT"}
        assert sum(f.fee for f in fills) == (D("18000") + D("5900") + D("11800")) * TAKER


def test_the_closing_part_of_an_order_holds_no_margin() -> None:
    with _world() as world:
        adapter = world.adapters[V]
        world.run(adapter.submit_order(_order("long", Side.BUY, "0.1")))  # long 0.1 at 60000.1
        before = _usdt(world)
        world.run(adapter.submit_order(_order("flat", Side.SELL, "0.1", price="61000")))
        assert _usdt(world) == before  # closes: nothing more held
        world.run(adapter.submit_order(_order("flip", Side.SELL, "0.15", price="61000")))
        after = _usdt(world)
        assert after.locked - before.locked == D("305")  # only the 0.05 that would open a short: 61000 * 0.05 / 10


def test_reduce_only_must_shrink_the_position() -> None:
    with _world() as world:
        adapter = world.adapters[V]
        with pytest.raises(InvalidRequestError) as flat:
            world.run(adapter.submit_order(_order("r0", Side.SELL, "0.1", reduce_only=True)))
        assert flat.value.code == 110017
        world.run(adapter.submit_order(_order("long", Side.BUY, "0.1")))
        for coid, side, qty in (("same-side", Side.BUY, "0.05"), ("too-big", Side.SELL, "0.2")):
            with pytest.raises(InvalidRequestError) as refused:
                world.run(adapter.submit_order(_order(coid, side, qty, price="61000", reduce_only=True)))
            assert refused.value.code == 110017, coid
        before = _usdt(world)
        report = world.run(adapter.submit_order(_order("ok", Side.SELL, "0.1", price="61000", reduce_only=True)))
        assert report.status is OrderStatus.OPEN
        assert _usdt(world) == before  # a reduce-only order holds no margin
        world.trade(V, S, price="61000", size="5", aggressor=Aggressor.BUYER)
        world.run(world.clock.sleep(1))
        assert world.run(adapter.get_order(S, "ok")).status is OrderStatus.FILLED
        assert _positions(world) == []


def test_a_reduce_only_order_closes_a_position_below_the_minimum_notional() -> None:
    with _world("binance-usdm") as world:  # BTCUSDT's minimum notional is 100 USDT
        adapter = world.adapters[V]
        world.run(adapter.submit_order(_order("open", Side.BUY, "0.002")))  # 120 notional
        with pytest.raises(InvalidRequestError) as small:
            world.run(adapter.submit_order(_order("small", Side.SELL, "0.001")))  # 60: below the minimum
        assert small.value.code == -4164
        world.run(adapter.submit_order(_order("part", Side.SELL, "0.001", reduce_only=True)))
        [position] = _positions(world)
        assert position.quantity == D("0.001")


def test_leverage_changes_the_margin_held_and_is_checked() -> None:
    with _world() as world:
        adapter = world.adapters[V]
        world.run(adapter.submit_order(_order("long", Side.BUY, "1")))  # 60000.1 notional
        assert _usdt(world).locked == D("6000.01")
        world.run(adapter.set_leverage(S, 50))
        [position] = _positions(world)
        assert position.leverage == 50 and position.margin == D("1200.002")
        assert _usdt(world).locked == D("1200.002")
        for bad in (0, 101):
            with pytest.raises(InvalidRequestError) as refused:
                world.run(adapter.set_leverage(S, bad))
            assert refused.value.code == 110013
        world.run(adapter.set_leverage(S, 50))  # the same value: nothing to do
        world.run(adapter.submit_order(_order("m", Side.BUY, "1", price="50000")))
        assert _usdt(world).locked == D("1200.002") + D("1000")  # the new order at 50x


def test_lowering_leverage_beyond_the_available_balance_is_refused() -> None:
    with _world(balance=D(7000)) as world:
        adapter = world.adapters[V]
        world.run(adapter.submit_order(_order("long", Side.BUY, "1")))  # 6000.01 held at 10x
        with pytest.raises(InvalidRequestError) as refused:
            world.run(adapter.set_leverage(S, 5))  # would hold 12000.02
        assert refused.value.code == 110007
        assert _positions(world)[0].leverage == 10


def test_margin_mode_changes_only_without_a_position_or_an_order() -> None:
    with _world("binance-usdm") as world:
        adapter = world.adapters[V]
        world.run(adapter.set_margin_mode(S, MarginMode.ISOLATED))
        world.run(adapter.set_margin_mode(S, MarginMode.ISOLATED))  # already so: a no-op
        world.run(adapter.submit_order(_order("long", Side.BUY, "0.01")))
        [position] = _positions(world)
        assert (position.margin_mode, position.leverage) == ("ISOLATED", 20)
        with pytest.raises(InvalidRequestError) as refused:
            world.run(adapter.set_margin_mode(S, MarginMode.CROSS))
        assert refused.value.code == -4048
        assert _positions(world)[0].margin_mode == "ISOLATED"


def test_a_spot_venue_refuses_leverage_and_margin_mode_as_not_supported() -> None:
    with SimWorld(["binance"], seed=1) as world:
        adapter = world.adapters["binance"]
        with pytest.raises(NotSupportedError):
            world.run(adapter.set_leverage("BTCUSDT", 5))
        with pytest.raises(NotSupportedError):
            world.run(adapter.set_margin_mode("BTCUSDT", MarginMode.ISOLATED))
        assert adapter.requests == 0  # refused before anything was sent


@pytest.mark.parametrize(("side", "rate", "expected"), [
    (Side.BUY, "0.0001", "-0.6000005"),  # a long pays a positive rate: 0.1 * 60000.05 * 0.0001
    (Side.BUY, "-0.000375", "2.250001875"),  # and receives a negative one
    (Side.SELL, "0.0001", "0.6000005"),  # a short receives a positive rate
    (Side.SELL, "-0.000375", "-2.250001875"),  # and pays a negative one
])
def test_funding_moves_size_times_mark_times_rate(side: Side, rate: str, expected: str) -> None:
    with _world() as world:
        adapter = world.adapters[V]
        world.run(adapter.submit_order(_order("pos", side, "0.1")))
        before = _usdt(world)
        payments = _venue(world).apply_funding(world.now_ns(), {S: D(rate)})
        assert [p.amount for p in payments] == [D(expected)]
        assert payments[0].mark_price == D("60000.05") and payments[0].quantity == D("0.1") * side.sign
        after = _usdt(world)
        assert after.free - before.free == D(expected) and after.locked == before.locked


def test_funding_is_applied_at_each_funding_time_at_the_profiles_rate() -> None:
    with _world() as world:  # starts 2024-08-08 00:00 UTC: funding at 08:00 and 16:00
        adapter = world.adapters[V]
        world.run(adapter.submit_order(_order("long", Side.BUY, "2")))
        venue = _venue(world)
        world.run(world.clock.sleep(8 * HOUR_S - 60))
        assert venue.funding_payments == []
        world.run(world.clock.sleep(8 * HOUR_S + 120))
        times = [p.ts_ns for p in venue.funding_payments]
        start = 1_723_075_200 * 10**9
        assert times == [start + 8 * HOUR_S * 10**9, start + 16 * HOUR_S * 10**9]
        assert [p.amount for p in venue.funding_payments] == [D("-12.00001")] * 2  # 2 * 60000.05 * 0.0001
        assert [p.rate for p in venue.funding_payments] == [D("0.0001")] * 2


PROFILE_TEXT = (Path(__file__).resolve().parents[2] / "sim" / "venue" / "profiles" / "bybit-linear.toml").read_text()


@pytest.mark.parametrize(("change", "message"), [
    (("futures = true", "futures = false"), "a [futures] table needs capabilities.futures = true"),
    (('funding_rate = "0.0001"', "funding_rate = 0.0001"), "futures.funding_rate"),
    (("default_leverage = 10", "default_leverage = 200"), "futures.default_leverage: 200 is above max_leverage"),
    (('default_margin_mode = "CROSS"', 'default_margin_mode = "PORTFOLIO"'), "futures.default_margin_mode"),
    (("funding_offset_s = 0", "funding_offset_s = 0\nfunding_hours = 8"), "futures.funding_hours"),
])
def test_a_bad_futures_table_is_refused_naming_the_key(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in PROFILE_TEXT
    with pytest.raises(ProfileError) as refused:
        parse_profile(PROFILE_TEXT.replace(old, new), source="bybit-linear.toml")
    assert message in str(refused.value) and "bybit-linear.toml" in str(refused.value)


def test_leverage_without_a_futures_table_is_refused() -> None:
    start, end = PROFILE_TEXT.index("[futures]"), PROFILE_TEXT.index("[symbols.BTCUSDT]")
    with pytest.raises(ProfileError, match="need a \\[futures\\] table"):
        parse_profile(PROFILE_TEXT[:start] + PROFILE_TEXT[end:], source="bybit-linear.toml")

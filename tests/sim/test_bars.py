"""SimAdapter's bar stream: closed bars from the venue's trade tape, at the close plus market-data latency."""

from __future__ import annotations

import pytest
from constant_latency import MARKET_NS, constant_profile

from harness.contract import InvalidRequestError
from harness.model import Candle, Trade
from harness.money import to_fixed
from scenarios.world import DEFAULT_START_NS, SimWorld

NS = 1_000_000_000
MINUTE = 60 * NS
START = DEFAULT_START_NS  # a minute boundary


def px(text: str) -> int:
    return to_fixed(text)


def test_bars_close_at_the_interval_end_plus_latency_flat_when_quiet_none_before_the_first_trade() -> None:
    got: list[tuple[int, Candle]] = []
    five: list[tuple[int, Candle]] = []
    with SimWorld({"binance": constant_profile()}, seed=1) as world:
        adapter, clock = world.adapters["binance"], world.runtime.clock

        async def at(ts: int) -> None:
            await clock.sleep_ns(ts - clock.now_ns())

        async def body() -> None:
            await adapter.subscribe_bars("BTCUSDT", MINUTE, lambda c: got.append((clock.now_ns(), c)))
            await adapter.subscribe_bars("BTCUSDT", 5 * MINUTE, lambda c: five.append((clock.now_ns(), c)))
            # minute 0: no trade at all (no bar); minute 1: four trades; minute 2 opens with a trade
            # on its first nanosecond; minute 3: nothing (a flat bar); minute 4: one trade
            for ts, price, size in [(START + MINUTE + 10 * NS, "60000", "1"), (START + MINUTE + 20 * NS, "60010", "2"),
                                    (START + MINUTE + 30 * NS, "59990", "0.5"), (START + 2 * MINUTE - 1, "60005", "1"),
                                    (START + 2 * MINUTE, "61000", "0.25"), (START + 4 * MINUTE + NS, "60500", "3")]:
                await at(ts)
                world.trade("binance", "BTCUSDT", price=price, size=size)
            await at(START + 5 * MINUTE + NS)

        world.run(body())

    def bar(ts_open: int, o: str, h: str, low: str, c: str, v: str, interval: int = MINUTE) -> Candle:
        return Candle(ts_open, interval, "binance", "BTCUSDT", px(o), px(h), px(low), px(c), px(v))

    assert got == [
        (START + 2 * MINUTE + MARKET_NS, bar(START + MINUTE, "60000", "60010", "59990", "60005", "4.5")),
        (START + 3 * MINUTE + MARKET_NS, bar(START + 2 * MINUTE, "61000", "61000", "61000", "61000", "0.25")),
        (START + 4 * MINUTE + MARKET_NS, bar(START + 3 * MINUTE, "61000", "61000", "61000", "61000", "0")),
        (START + 5 * MINUTE + MARKET_NS, bar(START + 4 * MINUTE, "60500", "60500", "60500", "60500", "3")),
    ]
    assert five == [(START + 5 * MINUTE + MARKET_NS,
                     bar(START, "60000", "61000", "59990", "60500", "7.75", 5 * MINUTE))]


def test_closing_a_bar_subscription_stops_its_bars_and_timer() -> None:
    got: list[Candle] = []
    with SimWorld({"binance": constant_profile()}, seed=2) as world:
        adapter, clock = world.adapters["binance"], world.runtime.clock

        async def body() -> None:
            world.trade("binance", "BTCUSDT", price="60000", size="1")
            subscription = await adapter.subscribe_bars("BTCUSDT", MINUTE, got.append)
            await clock.sleep_ns(START + 2 * MINUTE - clock.now_ns())
            await subscription.close()
            await subscription.close()  # idempotent
            await clock.sleep_ns(3 * MINUTE)

        world.run(body())
        assert adapter.bars._timers == {}
    assert [c.ts_open for c in got] == [START]  # the minute-1 bar was not delivered: closed before its close


@pytest.mark.parametrize("interval_ns", [0, -MINUTE, 90 * NS, NS])
def test_intervals_the_tape_cannot_build_are_refused(interval_ns: int) -> None:
    with SimWorld(["binance"], seed=3) as world, pytest.raises(InvalidRequestError, match="whole minutes"):
        world.run(world.adapters["binance"].subscribe_bars("BTCUSDT", interval_ns, lambda c: None))


def test_subscribing_to_bars_leaves_the_trade_stream_untouched() -> None:
    """Bars draw their latency on a stream of their own: trades arrive when they would without bars."""

    def arrivals(with_bars: bool) -> list[tuple[int, Trade]]:
        seen: list[tuple[int, Trade]] = []
        with SimWorld(["binance"], seed=4) as world:  # the profile's lognormal market-data latency
            adapter, clock = world.adapters["binance"], world.runtime.clock

            async def body() -> None:
                await adapter.subscribe_trades("BTCUSDT", lambda t: seen.append((clock.now_ns(), t)))
                if with_bars:
                    await adapter.subscribe_bars("BTCUSDT", MINUTE, lambda c: None)
                for i in range(400):
                    world.trade("binance", "BTCUSDT", price=str(60_000 + i % 7), size="0.1")
                    await clock.sleep_ns(NS // 2)

            world.run(body())
        return seen

    plain = arrivals(False)
    assert len(plain) == 400 and arrivals(True) == plain

"""Strategies receive every kind of market data they ask for (or handle), through ``ExecutionContext``.

A hand-driven simulated Binance with constant latencies (market data 5 ms), so every delivery
time is exact: the venue's event time plus 5 ms.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from constant_latency import MARKET_NS, constant_profile

from harness.context import ExecutionContext
from harness.model import BookLevel, BookSnapshot, Candle, Quote, Trade
from harness.money import to_fixed
from harness.strategy import Strategy, StrategyConfigError, StrategyContext
from scenarios.world import DEFAULT_START_NS, SimWorld

NS = 1_000_000_000
MINUTE = 60 * NS
START = DEFAULT_START_NS


def lv(price: str, size: str) -> BookLevel:
    return BookLevel(to_fixed(price), to_fixed(size))


class Events:
    """A ``RunLog`` keeping only the event lines."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def order(self, report: Any) -> None:
        """Ignored."""

    def fill(self, fill: Any) -> None:
        """Ignored."""

    def position(self, ts_ns: int, venue: str, symbol: str, quantity: Decimal) -> None:
        """Ignored."""

    def event(self, ts_ns: int, kind: str, message: str) -> None:
        """Keep the line."""
        self.lines.append((kind, message))


class Watcher(Strategy):
    """Logs the books and bars it receives with their arrival time; asks for them when told to."""

    def on_start(self, ctx: StrategyContext) -> None:
        """Subscribe as the parameters say (nothing: rely on the defaults for what it handles)."""
        super().on_start(ctx)
        self.seen: list[tuple[int, Any]] = []
        if "depth" in self.params:
            ctx.subscribe_book("binance", "BTCUSDT", depth=int(self.params["depth"]))
        if "interval_s" in self.params:
            ctx.subscribe_bars("binance", "BTCUSDT", interval_s=int(self.params["interval_s"]))

    def on_book(self, book: BookSnapshot) -> None:
        """Log it."""
        self.seen.append((self.ctx.clock.now_ns(), book))

    def on_bar(self, candle: Candle) -> None:
        """Log it."""
        self.seen.append((self.ctx.clock.now_ns(), candle))


def run_watcher(strategy: Strategy, script: Any, *, instruments: list[tuple[str, str]] | None = None,
                log: Events | None = None) -> SimWorld:
    """Start ``strategy`` on a constant-latency Binance, run ``script(world)`` (async), stop."""
    world = SimWorld({"binance": constant_profile()}, seed=5)
    context = ExecutionContext(world.adapters, world.runtime.clock, world.runtime.rng.stream("s"), log=log,
                               instruments=instruments)

    async def body() -> None:
        await context.start(strategy)
        await script(world)
        await context.stop()

    try:
        world.run(body())
    finally:
        world.close()
    return world


async def sleep_until(world: SimWorld, ts: int) -> None:
    await world.runtime.clock.sleep_ns(ts - world.now_ns())


def test_on_book_and_on_bar_deliver_the_asked_depth_and_interval_at_event_time_plus_latency() -> None:
    strategy = Watcher(depth="2", interval_s="60")

    async def script(world: SimWorld) -> None:
        await sleep_until(world, START + 10 * NS)
        world.book("binance", "BTCUSDT", bids=[("60000", "1"), ("59999", "2"), ("59998", "3")],
                   asks=[("60001", "1.5"), ("60002", "2.5"), ("60003", "4")])
        await sleep_until(world, START + 20 * NS)
        world.trade("binance", "BTCUSDT", price="60000.5", size="0.2")
        await sleep_until(world, START + 30 * NS)
        world.trade("binance", "BTCUSDT", price="60002", size="0.3")
        world.book("binance", "BTCUSDT", bids=[("60001", "0.5")], asks=[("60002", "1")])
        await sleep_until(world, START + MINUTE + NS)

    run_watcher(strategy, script)
    assert strategy.seen == [
        (START + 10 * NS + MARKET_NS, BookSnapshot(START + 10 * NS, "binance", "BTCUSDT",
                                                   (lv("60000", "1"), lv("59999", "2")),
                                                   (lv("60001", "1.5"), lv("60002", "2.5")), -1)),
        (START + 30 * NS + MARKET_NS, BookSnapshot(START + 30 * NS, "binance", "BTCUSDT", (lv("60001", "0.5"),),
                                                   (lv("60002", "1"),), -1)),
        (START + MINUTE + MARKET_NS, Candle(START, MINUTE, "binance", "BTCUSDT", to_fixed("60000.5"),
                                            to_fixed("60002"), to_fixed("60000.5"), to_fixed("60002"),
                                            to_fixed("0.5"))),
    ]


def test_a_strategy_that_handles_books_and_bars_gets_them_by_default_for_every_instrument() -> None:
    strategy = Watcher()
    world = run_watcher(strategy, lambda world: sleep_until(world, START + NS),
                        instruments=[("binance", "BTCUSDT"), ("binance", "ETHUSDT")])
    adapter = world.adapters["binance"]
    # stop closed them: the lists of what was subscribed are empty, the bar timers gone
    assert sorted(adapter.market.book_subs) == ["BTCUSDT", "ETHUSDT"]
    assert adapter.market.book_subs["BTCUSDT"] == [] and adapter.bars._timers == {}
    assert adapter.market.trades == {} and adapter.market.quotes == {}  # handled by nobody, sent to nobody


def test_defaults_use_the_default_depth_and_interval_and_an_explicit_request_replaces_only_its_kind() -> None:
    opened: list[tuple[str, Any]] = []

    class Recorded(Watcher):
        def on_start(self, ctx: StrategyContext) -> None:
            super().on_start(ctx)
            adapter = world.adapters["binance"]
            original_book, original_bars = adapter.subscribe_book, adapter.subscribe_bars

            async def book(symbol: str, callback: Any, depth: int = 20) -> Any:
                opened.append(("book", (symbol, depth)))
                return await original_book(symbol, callback, depth)

            async def bars(symbol: str, interval_ns: int, callback: Any) -> Any:
                opened.append(("bars", (symbol, interval_ns)))
                return await original_bars(symbol, interval_ns, callback)

            adapter.subscribe_book = book  # type: ignore[method-assign]
            adapter.subscribe_bars = bars  # type: ignore[method-assign]

    world = SimWorld({"binance": constant_profile()}, seed=5)
    strategy = Recorded(interval_s="300")
    context = ExecutionContext(world.adapters, world.runtime.clock, world.runtime.rng.stream("s"),
                               instruments=[("binance", "BTCUSDT"), ("binance", "ETHUSDT")])
    with world:
        world.run(context.start(strategy))
    assert opened == [("bars", ("BTCUSDT", 300 * NS)), ("book", ("BTCUSDT", 20)), ("book", ("ETHUSDT", 20))]


def test_bad_subscriptions_fail_in_on_start_and_missing_data_is_a_warning() -> None:
    with pytest.raises(StrategyConfigError, match=r"binance lists no symbol 'BTC-USDT' \(it lists BTCUSDT"):
        run_watcher(_Asking("binance", "BTC-USDT"), lambda w: sleep_until(w, START))
    with pytest.raises(StrategyConfigError, match="no venue 'okx' in this run"):
        run_watcher(_Asking("okx", "BTC-USDT"), lambda w: sleep_until(w, START))
    with pytest.raises(StrategyConfigError, match="depth must be a positive whole number, got 0"):
        run_watcher(Watcher(depth="0"), lambda w: sleep_until(w, START))
    with pytest.raises(StrategyConfigError, match=r"cannot subscribe to the bars of binance BTCUSDT \(90 s\)"):
        run_watcher(Watcher(interval_s="90"), lambda w: sleep_until(w, START))
    log = Events()
    run_watcher(_Asking("binance", "ETHUSDT"), lambda w: sleep_until(w, START + NS), log=log,
                instruments=[("binance", "BTCUSDT")])
    assert ("warning", "no market data for binance ETHUSDT in this run: the book of binance ETHUSDT (depth 20) "
                       "stays silent") in log.lines


class _Asking(Watcher):
    """Asks for the book of the instrument it is given."""

    def __init__(self, venue: str, symbol: str) -> None:
        super().__init__()
        self.instrument = (venue, symbol)

    def on_start(self, ctx: StrategyContext) -> None:
        super().on_start(ctx)
        ctx.subscribe_book(*self.instrument)


def test_a_subscription_made_from_a_callback_opens_at_once_and_a_repeated_one_is_ignored() -> None:
    class Late(Strategy):
        """Asks for ETHUSDT quotes at start; after the first BTCUSDT trade, for BTCUSDT quotes too (twice)."""

        def on_start(self, ctx: StrategyContext) -> None:
            super().on_start(ctx)
            self.log: list[tuple[int, str, str, int]] = []
            ctx.subscribe_trades("binance", "BTCUSDT")
            ctx.subscribe_quotes("binance", "ETHUSDT")

        def on_trade(self, trade: Trade) -> None:
            self.log.append((self.ctx.clock.now_ns(), "trade", trade.symbol, trade.price))
            self.ctx.subscribe_quotes(trade.venue, trade.symbol)
            self.ctx.subscribe_quotes(trade.venue, trade.symbol)

        def on_quote(self, quote: Quote) -> None:
            self.log.append((self.ctx.clock.now_ns(), "quote", quote.symbol, quote.bid_price))

    strategy = Late()

    async def script(world: SimWorld) -> None:
        world.quote("binance", "BTCUSDT", bid="59990", ask="60010")  # nobody asked for it yet
        world.quote("binance", "ETHUSDT", bid="3000", ask="3001")
        await sleep_until(world, START + NS)
        world.trade("binance", "BTCUSDT", price="60000", size="1")
        world.trade("binance", "ETHUSDT", price="3000", size="1")  # ETHUSDT trades were not asked for
        await sleep_until(world, START + 2 * NS)
        world.quote("binance", "BTCUSDT", bid="59999", ask="60001")
        await sleep_until(world, START + 3 * NS)

    run_watcher(strategy, script, instruments=[("binance", "BTCUSDT"), ("binance", "ETHUSDT")])
    quoted = strategy.log[0][0]
    assert strategy.log == [(quoted, "quote", "ETHUSDT", to_fixed("3000")),
                            (START + NS + MARKET_NS, "trade", "BTCUSDT", to_fixed("60000")),
                            (START + 2 * NS + MARKET_NS, "quote", "BTCUSDT", to_fixed("59999"))]
    assert START < quoted <= START + NS


def test_a_strategy_used_before_on_start_says_so() -> None:
    with pytest.raises(RuntimeError, match=r"strategy used before on_start \(ctx.clock\)"):
        Watcher().ctx.clock  # noqa: B018

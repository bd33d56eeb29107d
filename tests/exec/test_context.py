"""ExecutionContext: strategies get the market data they handle, and nothing else travels for them."""

from __future__ import annotations

from harness.context import ExecutionContext
from harness.model import Quote
from harness.strategy import Strategy
from scenarios.world import SimWorld


class QuotesOnly(Strategy):
    """Handles quotes, ignores trades."""

    def on_start(self, ctx: object) -> None:  # type: ignore[override]
        super().on_start(ctx)  # type: ignore[arg-type]
        self.quotes: list[Quote] = []

    def on_quote(self, quote: Quote) -> None:
        self.quotes.append(quote)


def test_only_the_callbacks_a_strategy_overrides_are_subscribed() -> None:
    with SimWorld(["binance"], seed=3) as world:
        adapter = world.adapters["binance"]
        strategy = QuotesOnly()
        context = ExecutionContext(world.adapters, world.runtime.clock, world.runtime.rng.stream("s"))

        async def body() -> None:
            await context.start(strategy, {"binance": ["BTCUSDT"]})
            world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
            world.trade("binance", "BTCUSDT", price="60000", size="1")
            await world.runtime.clock.sleep_ns(1_000_000_000)
            await context.stop()

        world.run(body())
    assert [q.bid_price for q in strategy.quotes] == [60_000 * 10**9]
    assert adapter.market.trades == {}  # no trade is sent down the market-data channel for nobody
    assert list(adapter.market.quotes) == ["BTCUSDT"]

"""ExecutionContext: strategies get the market data they handle, and nothing else travels for them."""

from __future__ import annotations

from decimal import Decimal

from harness.context import ExecutionContext
from harness.model import OrderReport, OrderStatus, Quote, Side
from harness.strategy import Strategy, StrategyContext
from scenarios.world import SimWorld


class QuotesOnly(Strategy):
    """Handles quotes, ignores trades."""

    def on_start(self, ctx: StrategyContext) -> None:
        super().on_start(ctx)
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


class Records(Strategy):
    """Remembers every order update."""

    def on_start(self, ctx: StrategyContext) -> None:
        super().on_start(ctx)
        self.updates: list[OrderReport] = []

    def on_order_update(self, report: OrderReport) -> None:
        self.updates.append(report)


def test_an_order_proven_not_placed_reaches_the_strategy_as_rejected() -> None:
    # found by scenarios/catalog/rest-429-rate-limited.toml: a submit the venue refused with 429 (or one refused by
    # an open breaker) stayed PENDING for ever: never placed, never resent, and the strategy never heard of it
    with SimWorld(["binance"], seed=3) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        strategy = Records()
        context = ExecutionContext(world.adapters, world.runtime.clock, world.runtime.rng.stream("s"))
        limiter = world.venues["binance"].limiter

        async def body() -> str:
            await context.start(strategy, {"binance": []})
            while limiter.share(world.now_ns(), 1):  # other traffic on our IP used the whole budget
                pass
            coid = context.submit("binance", "BTCUSDT", Side.BUY, Decimal("0.01"), price=Decimal("59000"))
            await world.runtime.clock.sleep_ns(1_000_000_000)
            await context.stop()
            return coid

        coid = world.run(body())
    order = context.engine.orders.by_client_id(coid)
    assert order is not None and order.status is OrderStatus.REJECTED
    assert "not sent" in order.history[-1].reason and "RATE_LIMITED" in order.history[-1].reason
    assert [u.status for u in strategy.updates if u.client_order_id == coid] == [OrderStatus.REJECTED]

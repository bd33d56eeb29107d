"""``Strategy.on_trades``: trades as column batches give the same replay as ``on_trade``.

One seeded tape is replayed twice: a strategy counting trades and volume in ``on_trade`` and
the same logic in ``on_trades``, both acting only on a timer (every 2 virtual seconds: cancel
and requote two ticks either side of the last price, so orders rest at traded prices, fill and
keep a queue position). Orders, fills, the venue's queue estimates (probed on a timer of the
run), the counts seen at each timer and the strategies' fills must be identical; the batches
must be real (many trades in one call, no object per row) and never span a fill or a timer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from test_fast_trades import START, TICK, random_tape, write_tape

from harness.clock import ManualClock
from harness.context import ExecutionContext
from harness.model import Aggressor, Fill, Side, Trade
from harness.money import SCALE, from_fixed
from harness.strategy import Instrument, Strategy, StrategyContext
from harness.subscriptions import MarketDataRequest, MarketDataSubscriptions
from harness.trade_batch import BatchedTrades, TradeBatch
from scenarios.world import VenueSetup, build_venue
from sim.kernel.runtime import SimRuntime
from sim.market.chunked_events import CHUNK_ROWS, FIRST_CHUNK_ROWS, ChunkedEvents, TextColumn
from sim.market.feed import ReplayFeed
from sim.venue.matching.types import DepthMode
from sim.venue.profile import load_profile

VENUE, SYMBOL = "binance", "BTCUSDT"
EVERY_NS = 2 * SCALE


class TimerQuoter(Strategy):
    """Counts trades and volume per trade; every 2 s requotes around the last price (``on_trade``)."""

    def on_start(self, ctx: StrategyContext) -> None:
        """Start the requote timer."""
        super().on_start(ctx)
        self.trades = self.volume = self.last = 0
        self.log: list[tuple[Any, ...]] = []
        ctx.clock.call_later(EVERY_NS, self.requote)

    def on_trade(self, trade: Trade) -> None:
        """Count the trade."""
        self.trades += 1
        self.volume += trade.size
        self.last = trade.price

    def requote(self) -> None:
        """Log what was seen; replace the quotes two ticks either side of the last price."""
        ctx = self.ctx
        self.log.append(("timer", ctx.clock.now_ns(), self.trades, self.volume, self.last))
        ctx.clock.call_later(EVERY_NS, self.requote)
        if not self.last:
            return
        for order in ctx.open_orders(VENUE, SYMBOL):
            ctx.cancel(order.client_order_id)
        price, size = from_fixed(self.last), Decimal("0.002")
        ctx.submit(VENUE, SYMBOL, Side.BUY, size, price=price - 2 * from_fixed(TICK))
        ctx.submit(VENUE, SYMBOL, Side.SELL, size, price=price + 2 * from_fixed(TICK))

    def on_fill(self, fill: Fill) -> None:
        """Log the fill as the strategy received it."""
        self.log.append(("fill", self.ctx.clock.now_ns(), fill.client_order_id, fill.price, fill.quantity))


class BatchTimerQuoter(TimerQuoter):
    """The same logic, reading trades as column batches (``on_trades``); also logs each batch."""

    def on_start(self, ctx: StrategyContext) -> None:
        """Start the timer and the batch log."""
        super().on_start(ctx)
        self.batches: list[tuple[int, int, int]] = []  # (first delivery, last delivery, rows)

    def on_trades(self, batch: TradeBatch) -> None:
        """Count the batch's trades and volume; the clock is at its last delivery."""
        assert self.ctx.clock.now_ns() == int(batch.ts[-1])
        self.trades += len(batch)
        self.volume += int(batch.size.sum())
        self.last = int(batch.price[-1])
        self.batches.append((int(batch.ts[0]), int(batch.ts[-1]), len(batch)))


def replay(path: Path, strategy: TimerQuoter) -> dict[str, Any]:
    """Replay ``path`` against a simulated Binance with ``strategy``; return what can be compared."""
    feed = ReplayFeed([path], order_by="ts_event")
    first = feed.peek_ts()
    assert first is not None
    queues: list[tuple[int, list[tuple[str, int, int, int]]]] = []
    venue_times: list[int] = []
    with SimRuntime(seed=7, start_ns=first - SCALE) as runtime:
        runtime.add_source(feed)
        setup = VenueSetup(VENUE, VENUE, balances={"USDT": Decimal(100_000), "BTC": Decimal(1)})
        venue, adapter, market_side = build_venue(runtime, setup, load_profile(VENUE), depth=DepthMode.TRADES)
        market_side.connect(feed)
        context = ExecutionContext({VENUE: adapter}, runtime.clock, runtime.rng.stream("strategy"))
        engine = venue.engines[SYMBOL]  # with no book to see, every new order has 0.03 BTC ahead of it
        engine.config = dataclasses.replace(engine.config, default_queue_ahead=3 * SCALE // 100)
        engine_orders = engine.open_orders

        def probe() -> None:  # the venue's queue estimates of our resting orders, every 0.7 s
            queues.append((runtime.now_ns(), [(o.client_id, o.queue_ahead, o.queue_carry, o.filled)
                                              for o in engine_orders()]))
            runtime.clock.call_later(7 * SCALE // 10, probe)

        async def main() -> None:
            await context.start(strategy, {VENUE: [SYMBOL]})
            probe()
            while feed.peek_ts() is not None:
                await runtime.clock.sleep_ns(SCALE)
            await runtime.clock.sleep_ns(SCALE)
            await context.stop()

        runtime.run(main())
        feed.close()
        venue_times = [fill.ts_ns for fill in venue.fills]
    return {
        "log": strategy.log,
        "venue_orders": [(o.request.client_order_id, o.status, o.filled) for o in venue.orders.values()],
        "venue_fills": list(venue.fills),
        "queues": queues,
        "counts": (strategy.trades, strategy.volume),
        "fill_times": venue_times,
    }


def test_on_trades_replays_exactly_as_on_trade(tmp_path: Path) -> None:
    path = random_tape(tmp_path / "t.parquet", seed=17, n=20_000, max_gap_ns=40_000_000)
    plain = replay(path, TimerQuoter())
    batched_strategy = BatchTimerQuoter()
    batched = replay(path, batched_strategy)
    assert plain["venue_fills"], "nothing filled: the comparison would prove nothing about fills"
    assert any(queue for _, snapshot in plain["queues"] for queue in snapshot), "no order ever rested"
    assert plain["counts"][0] == 20_000
    for key, value in plain.items():
        assert batched[key] == value, f"on_trades changed {key}"
    sizes = [rows for _, _, rows in batched_strategy.batches]
    assert sum(sizes) == 20_000
    assert max(sizes) >= 100, "no run was delivered as one batch"
    assert len(sizes) < 20_000 // 4, "the trades came mostly one at a time"


def test_a_batch_never_spans_a_fill_or_a_timer(tmp_path: Path) -> None:
    path = random_tape(tmp_path / "t.parquet", seed=29, n=12_000, max_gap_ns=40_000_000)
    strategy = BatchTimerQuoter()
    result = replay(path, strategy)
    timers = [entry[1] for entry in strategy.log if entry[0] == "timer"]
    client_fills = [entry[1] for entry in strategy.log if entry[0] == "fill"]
    probes = [at for at, _ in result["queues"]]
    assert result["fill_times"] and client_fills
    multi = [(first, last) for first, last, rows in strategy.batches if rows > 1]
    assert multi
    for first, last in multi:  # the callback runs at ``last``: nothing that happened before it may lie inside
        for at in timers + probes + result["fill_times"] + client_fills:
            assert not first <= at < last, f"a batch delivered over [{first}, {last}] spans an event at {at}"


def test_trade_batch_rows_and_batches_of_one() -> None:
    trade = Trade(START, START + 5, VENUE, SYMBOL, 60_000 * SCALE, 3 * SCALE // 1000, int(Aggressor.SELLER), "t9")
    one = TradeBatch.of_trade(trade, START + 1_000)
    assert len(one) == 1 and one.trade(0) == trade and one.trade(-1) == trade
    assert [column.dtype for column in (one.ts, one.ts_event, one.ts_recv, one.price, one.size, one.side)] \
        == [np.dtype(np.int64)] * 6
    clock = ManualClock(START + 42)
    received: list[TradeBatch] = []
    BatchedTrades(received.append, clock)(trade)  # what a live adapter's per-trade delivery becomes
    assert len(received) == 1 and received[0].trade(0) == trade and int(received[0].ts[0]) == START + 42


def test_a_strategy_overriding_on_trades_is_subscribed_through_batched_trades() -> None:
    class Gateway:
        def __init__(self) -> None:
            self.callbacks: list[Any] = []

        async def subscribe_trades(self, symbol: str, callback: Any) -> Any:
            self.callbacks.append(callback)
            return None

    subscriptions = MarketDataSubscriptions(ManualClock(0))
    strategy = BatchTimerQuoter()
    request = MarketDataRequest("trades", VENUE, SYMBOL)
    assert subscriptions.defaults_for(strategy, [Instrument(VENUE, SYMBOL)]) == [request]
    gateway = Gateway()
    asyncio.run(subscriptions.open(request, gateway, strategy))  # type: ignore[arg-type]
    asyncio.run(subscriptions.open(request, gateway, TimerQuoter()))  # type: ignore[arg-type]
    batched, plain = gateway.callbacks
    assert isinstance(batched, BatchedTrades) and batched.on_batch == strategy.on_trades
    assert not isinstance(plain, BatchedTrades)


def test_renamed_venue_batches_carry_the_simulated_venues_names(tmp_path: Path) -> None:
    n = 500
    ts = [START + i * 1_000_000 for i in range(n)]
    path = write_tape(tmp_path / "t.parquet", ts, ts, [60_000 * SCALE] * n, [1_000] * n)
    seen: list[tuple[str, str, int]] = []

    class Reader(Strategy):
        def on_trades(self, batch: TradeBatch) -> None:
            seen.append((batch.venue, batch.symbol, len(batch)))
            assert batch.trade(-1).trade_id == str(int(batch.ts_event[-1] - START) // 1_000_000)

    feed = ReplayFeed([path], order_by="ts_event")
    first = feed.peek_ts()
    assert first is not None
    with SimRuntime(seed=1, start_ns=first - SCALE) as runtime:
        runtime.add_source(feed)
        setup = VenueSetup("okx", "okx", balances={"USDT": Decimal(1_000)}, data_venue=VENUE)
        _, adapter, market_side = build_venue(runtime, setup, load_profile("okx"), depth=DepthMode.TRADES)
        market_side.connect(feed)
        context = ExecutionContext({"okx": adapter}, runtime.clock, runtime.rng.stream("strategy"))

        async def main() -> None:
            await context.start(Reader(), {"okx": ["BTC-USDT"]})
            while feed.peek_ts() is not None:
                await runtime.clock.sleep_ns(SCALE)
            await context.stop()

        runtime.run(main())
        feed.close()
    assert {(v, s) for v, s, _ in seen} == {("okx", "BTC-USDT")}
    assert sum(rows for _, _, rows in seen) == n and max(rows for _, _, rows in seen) > 1


def test_chunked_events_skip_anywhere_and_pull_the_rest_unchanged() -> None:
    n = 3 * CHUNK_ROWS + 123
    ints = np.arange(n, dtype=np.int64) * 7
    texts = pa.array([f"id{i}" for i in range(n)])
    columns = [partial(_rows, ints), partial(_text, texts)]
    rng = random.Random(4)
    for _ in range(20):
        chunked = ChunkedEvents(tuple, columns, n)
        row, pulled = 0, []
        while row < n:
            step = rng.choice((1, 2, FIRST_CHUNK_ROWS - 1, CHUNK_ROWS, rng.randrange(1, 3 * CHUNK_ROWS)))
            step = min(step, n - row)
            if rng.random() < 0.5:
                chunked.skip(row, step)
            else:
                pulled += [(row + k, next(chunked.events)) for k in range(step)]
            row += step
        assert next(chunked.events, None) is None
        assert all(event == (7 * k, f"id{k}") for k, event in pulled)
    column = TextColumn(texts)
    assert len(column) == n and column[5] == "id5" and column[-1] == f"id{n - 1}"
    part = column[10:20]
    assert isinstance(part, TextColumn) and list(part) == [f"id{k}" for k in range(10, 20)]


def _rows(values: Any, lo: int, hi: int) -> list[Any]:
    rows: list[Any] = values[lo:hi].tolist()
    return rows


def _text(values: Any, lo: int, hi: int) -> list[Any]:
    rows: list[Any] = values.slice(lo, hi - lo).to_pylist()
    return rows

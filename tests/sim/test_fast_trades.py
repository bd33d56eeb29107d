"""The replay's trade fast path (``sim.venue.trade_runs``) changes speed, never results.

Every test here runs the same replay twice, once with ``ReplayFeed.fast`` off (one trade at a
time through the venue, the tap and the client) and once on, and asserts that everything
observable is identical: what the strategy saw and when (to the nanosecond), its orders and
fills, the venue's orders, fills, balances and candles, and the latency channel's state. The
tapes are chosen to stress the seams: timestamp ties, latencies that tie with timers, a market
maker whose orders sit right at the traded prices (so runs are cut short all the time), and
files ordered by receive time whose exchange times go backwards.
"""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.context import ExecutionContext
from harness.data.schema import TRADES
from harness.model import Fill, OrderReport, OrderType, Side, TimeInForce, Trade
from harness.money import SCALE
from harness.strategy import Strategy, StrategyContext
from scenarios.world import VenueSetup, build_venue, symbol_map_between
from sim.kernel.runtime import SimRuntime
from sim.market.feed import ReplayFeed
from sim.venue.candles import BASE_INTERVAL_NS, CandleBuilder
from sim.venue.latency import Constant, LatencyChannel, LatencyModel, LatencyProfile, LogNormal
from sim.venue.matching.types import DepthMode
from sim.venue.profile import load_profile
from strategies.market_maker import PassiveMarketMaker

START = 1_723_075_200_000_000_000
TICK = SCALE // 100


def write_tape(path: Path, ts_event: list[int], ts_recv: list[int], prices: list[int], sizes: list[int]) -> Path:
    """A canonical Binance BTCUSDT trades file."""
    n = len(ts_event)
    table = pa.Table.from_arrays([
        pa.array(ts_event, pa.int64()), pa.array(ts_recv, pa.int64()),
        pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), ["binance"]),
        pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), ["BTCUSDT"]),
        pa.array(prices, pa.int64()), pa.array(sizes, pa.int64()),
        pa.array([1 if i % 3 else -1 for i in range(n)], pa.int8()),
        pa.array([str(i) for i in range(n)])], schema=TRADES)
    pq.write_table(table, path, row_group_size=max(1, n // 3))  # several batches
    return path


def random_tape(path: Path, seed: int, n: int, *, max_gap_ns: int, recv_jitter_ns: int = 0) -> Path:
    """A random walk of ``n`` trades with gaps up to ``max_gap_ns`` (0 gaps give ties)."""
    rng = random.Random(seed)
    ts, price = START, 60_000 * SCALE
    ts_event, ts_recv, prices, sizes = [], [], [], []
    for _ in range(n):
        ts += rng.choice((0, 0, 1, rng.randrange(max_gap_ns + 1)))
        price += rng.choice((-1, 0, 1)) * TICK
        ts_event.append(ts)
        ts_recv.append(ts + 1_000_000 + rng.randrange(recv_jitter_ns + 1))
        prices.append(price)
        sizes.append(rng.randrange(1, 20_000) * (SCALE // 1_000_000))
    if recv_jitter_ns:  # a recorder's arrival order: exchange times may then go backwards
        order = sorted(range(n), key=lambda i: ts_recv[i])
        ts_event, ts_recv = [ts_event[i] for i in order], [ts_recv[i] for i in order]
        prices, sizes = [prices[i] for i in order], [sizes[i] for i in order]
    return write_tape(path, ts_event, ts_recv, prices, sizes)


class Recording(PassiveMarketMaker):
    """The market maker (quoting on trades), logging what it sees and when."""

    def on_start(self, ctx: StrategyContext) -> None:
        """Start logging."""
        super().on_start(ctx)
        self.log: list[tuple[Any, ...]] = []

    def on_trade(self, trade: Trade) -> None:
        """Log the trade with the virtual time it arrived at."""
        self.log.append(("trade", self.ctx.clock.now_ns(), trade))
        super().on_trade(trade)

    def on_order_update(self, report: OrderReport) -> None:
        """Log the report."""
        self.log.append(("order", self.ctx.clock.now_ns(), report.client_order_id, report.status.value,
                         report.filled_quantity))
        super().on_order_update(report)

    def on_fill(self, fill: Fill) -> None:
        """Log the fill."""
        self.log.append(("fill", self.ctx.clock.now_ns(), fill.client_order_id, fill.price, fill.quantity))


class Watching(Strategy):
    """Only watches trades (every run is quiet: nothing rests at the venue)."""

    def on_start(self, ctx: StrategyContext) -> None:
        """Start logging."""
        super().on_start(ctx)
        self.log: list[tuple[Any, ...]] = []

    def on_trade(self, trade: Trade) -> None:
        """Log the trade with the virtual time it arrived at."""
        self.log.append(("trade", self.ctx.clock.now_ns(), trade))


def replay(path: Path, strategy: Strategy, *, fast: bool, market: LatencyModel | None, order_by: str,
           seed: int = 3, poll_ns: int = SCALE, request_ns: tuple[int, int] = (300_000, 200_000),
           gtd: bool = False, venue_name: str = "binance") -> dict[str, Any]:
    """Run ``strategy`` over ``path`` (a Binance BTCUSDT recording) against a simulated
    ``venue_name`` (``gtd``: one that also takes GTD orders); return everything observable."""
    profile = load_profile(venue_name)
    if gtd:
        capabilities = dataclasses.replace(profile.capabilities,
                                           time_in_force=profile.capabilities.time_in_force | {TimeInForce.GTD})
        profile = dataclasses.replace(profile, capabilities=capabilities)
    if market is not None:
        profile = dataclasses.replace(profile, latency=LatencyProfile(
            Constant(request_ns[0]), Constant(request_ns[1]), market))
    feed = ReplayFeed([path], order_by=order_by)
    feed.fast = fast
    first = feed.peek_ts()
    assert first is not None
    balances = {"USDT": Decimal(100_000), "BTC": Decimal(1)}
    with SimRuntime(seed=seed, start_ns=first - SCALE) as runtime:
        runtime.add_source(feed)
        setup = VenueSetup(venue_name, venue_name, balances=balances, data_venue="binance")
        venue, adapter, market_side = build_venue(runtime, setup, profile, depth=DepthMode.TRADES)
        market_side.connect(feed)
        symbols = symbol_map_between("binance", profile)
        symbol = symbols.get("BTCUSDT", "BTCUSDT")
        context = ExecutionContext({venue_name: adapter}, runtime.clock, runtime.rng.stream("strategy"))

        async def main() -> None:
            await context.start(strategy, {venue_name: [symbol]})
            while feed.peek_ts() is not None:
                await runtime.clock.sleep_ns(poll_ns)
            await runtime.clock.sleep_ns(SCALE)
            await context.stop()

        runtime.run(main())
        feed.close()
        end = runtime.now_ns()
    channel = adapter.market_channel.latency
    return {
        "log": getattr(strategy, "log", None),
        "venue_orders": [(o.request.client_order_id, o.status, o.filled) for o in venue.orders.values()],
        "venue_kinds": [(str(o.request.order_type), o.status) for o in venue.orders.values()],
        "venue_fills": list(venue.fills),
        "balances": venue.balances(),
        "candles": venue.candles.candles(symbol, BASE_INTERVAL_NS, 10_000, end),
        "last_price": venue.engines[symbol].last_trade_price,
        "channel": (channel.last_delivery_ns, list(channel.delays), channel.rng.getstate()),
        "end": end,
    }


def assert_same_both_ways(path: Path, make: Any, **kwargs: Any) -> dict[str, Any]:
    """Run with the fast path off and on; every observable must match."""
    slow = replay(path, make(), fast=False, **kwargs)
    quick = replay(path, make(), fast=True, **kwargs)
    assert slow["log"], "the strategy saw nothing: the test would prove nothing"
    for key, value in slow.items():
        assert quick[key] == value, f"fast path changed {key}"
    return slow


MM = {"quote_on": "trade", "size": "0.001", "max_position": "0.01", "requote_ticks": "1",
      "min_requote_ms": "20", "offset_ticks": "1"}


@pytest.mark.parametrize("market", [None, Constant(0), Constant(1_000_000), LogNormal(2_000_000, 0.8)],
                         ids=["profile", "zero", "constant", "lognormal"])
def test_market_maker_replay_is_identical_with_the_fast_path(tmp_path: Path, market: LatencyModel | None) -> None:
    path = random_tape(tmp_path / "t.parquet", seed=11, n=4_000, max_gap_ns=6_000_000)
    result = assert_same_both_ways(path, lambda: Recording(**MM), market=market, order_by="ts_event")
    assert result["venue_fills"], "the market maker never filled: runs were never cut by a fill"


@pytest.mark.parametrize("order_by", ["ts_event", "ts_recv"])
def test_watcher_replay_is_identical_with_the_fast_path(tmp_path: Path, order_by: str) -> None:
    path = random_tape(tmp_path / "t.parquet", seed=5, n=3_000, max_gap_ns=3_000_000, recv_jitter_ns=2_000_000)
    assert_same_both_ways(path, Watching, market=LogNormal(1_500_000, 1.0), order_by=order_by)


class StopsAndDeadlines(Recording):
    """A slow market maker plus, every 150th trade, a stop-market sell under the price, a
    stop-limit buy over it and a GTD bid that expires 30 ms later: the quiet band's stop and
    deadline edges (within the client's order rate limit)."""

    def on_start(self, ctx: StrategyContext) -> None:
        """Start counting trades."""
        super().on_start(ctx)
        self.trades_counted = 0

    def on_trade(self, trade: Trade) -> None:
        """Quote, and now and then add the conditional and expiring orders."""
        super().on_trade(trade)
        self.trades_counted += 1
        if self.trades_counted % 150:
            return
        price = trade.price
        ctx, venue, symbol, size = self.ctx, self.venue, self.symbol, self.size
        now = ctx.clock.now_ns()
        ctx.submit(venue, symbol, Side.SELL, size, order_type=OrderType.STOP_MARKET,
                   stop_price=Decimal(price - 3 * TICK) / SCALE)
        ctx.submit(venue, symbol, Side.BUY, size, order_type=OrderType.STOP_LIMIT,
                   stop_price=Decimal(price + 2 * TICK) / SCALE, price=Decimal(price + 4 * TICK) / SCALE)
        ctx.submit(venue, symbol, Side.BUY, size, price=Decimal(price - 4 * TICK) / SCALE,
                   time_in_force=TimeInForce.GTD, expire_at_ns=now + 30_000_000)


def test_stops_and_deadlines_replay_is_identical_with_the_fast_path(tmp_path: Path) -> None:
    path = random_tape(tmp_path / "t.parquet", seed=21, n=8_000, max_gap_ns=8_000_000)
    params = dict(MM, max_position="1", min_requote_ms="3000")
    result = assert_same_both_ways(path, lambda: StopsAndDeadlines(**params), market=LogNormal(1_000_000, 0.6),
                                   order_by="ts_event", gtd=True)
    kinds = {(order_type, str(status)) for order_type, status in result["venue_kinds"]}
    assert {("STOP_MARKET", "FILLED"), ("STOP_LIMIT", "FILLED"), ("LIMIT", "EXPIRED")} <= kinds, kinds


def test_a_venue_driven_by_another_venues_recording_is_identical_with_the_fast_path(tmp_path: Path) -> None:
    """OKX driven by the Binance tape: trades reach venue and client renamed to OKX's BTC-USDT."""
    path = random_tape(tmp_path / "t.parquet", seed=13, n=4_000, max_gap_ns=6_000_000)
    params = dict(MM, venue="okx", symbol="BTC-USDT", offset_ticks="0", requote_ticks="2")  # OKX tick: 0.1
    result = assert_same_both_ways(path, lambda: Recording(**params), market=LogNormal(1_000_000, 0.6),
                                   order_by="ts_event", venue_name="okx")
    trades = [entry[2] for entry in result["log"] if entry[0] == "trade"]
    assert {(trade.venue, trade.symbol) for trade in trades} == {("okx", "BTC-USDT")}
    assert result["venue_fills"], "the market maker never filled on the renamed venue"


def test_latency_that_ties_with_timers_keeps_the_general_order(tmp_path: Path) -> None:
    """Trades on whole milliseconds, constant latencies in whole milliseconds, a 1 ms poll timer:
    trade arrivals tie with venue events, order reports and timers all the time, and the tie
    rules decide which the strategy sees first."""
    n = 6_000
    ts = [START + (i // 20) * 1_000_000 for i in range(n)]  # runs of 20 trades per ms
    prices = [60_000 * SCALE + ((i * 7) % 5 - 2) * TICK for i in range(n)]
    path = write_tape(tmp_path / "t.parquet", ts, ts, prices, [1_000_000] * n)
    result = assert_same_both_ways(path, lambda: Recording(**MM), market=Constant(2_000_000), order_by="ts_event",
                                   poll_ns=1_000_000, request_ns=(1_000_000, 1_000_000))
    times = [entry[1] for entry in result["log"] if entry[0] == "order"]
    assert set(times) & {entry[1] for entry in result["log"] if entry[0] == "trade"}, "no tie was exercised"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), gap=st.sampled_from([0, 1, 500_000, 5_000_000]),
       median=st.sampled_from([1, 800_000, 4_000_000]), poll=st.sampled_from([SCALE // 1_000, SCALE // 7, SCALE]))
def test_property_fast_path_never_changes_a_replay(tmp_path: Path, seed: int, gap: int, median: int,
                                                   poll: int) -> None:
    path = random_tape(tmp_path / f"t{seed}.parquet", seed=seed, n=600, max_gap_ns=gap)
    assert_same_both_ways(path, lambda: Recording(**MM), market=LogNormal(median, 0.7), order_by="ts_event",
                          poll_ns=poll, seed=seed)


def candles_both_ways(rows: list[tuple[int, int, int]], first_ts: int, cuts: list[int]) -> None:
    """Bars from ``add`` per trade equal bars from the same trades fed in pieces: every other
    piece (between the ``cuts``) through ``add_many``, the rest one by one, so kept runs are
    folded both on their own and before a trade added singly."""
    one = CandleBuilder("binance")
    many = CandleBuilder("binance")
    for builder in (one, many):
        builder.add(Trade(first_ts, first_ts, "binance", "X", 500, 1, 1, "0"))
    for ts, price, size in rows:
        one.add(Trade(ts, ts, "binance", "X", price, size, 1, "0"))
    bounds = [0, *sorted(cut % (len(rows) + 1) for cut in cuts), len(rows)]
    for k, (lo, hi) in enumerate(pairwise(bounds)):
        piece = rows[lo:hi]
        if not piece:
            continue
        if k % 2:
            for ts, price, size in piece:
                many.add(Trade(ts, ts, "binance", "X", price, size, 1, "0"))
        else:
            ts_a, price_a, size_a = (np.array(column, dtype=np.int64) for column in zip(*piece, strict=True))
            many.add_many("X", ts_a, price_a, size_a)
    horizon = 10 * BASE_INTERVAL_NS
    assert many.candles("X", BASE_INTERVAL_NS, 1_000, horizon) == one.candles("X", BASE_INTERVAL_NS, 1_000, horizon)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5 * BASE_INTERVAL_NS), st.integers(1, 1_000), st.integers(1, 50)),
                min_size=1, max_size=400),
       st.integers(0, 3 * BASE_INTERVAL_NS), st.booleans(), st.lists(st.integers(0, 10_000), max_size=4))
def test_candles_add_many_matches_add(rows: list[tuple[int, int, int]], first_ts: int, ordered: bool,
                                      cuts: list[int]) -> None:
    candles_both_ways(sorted(rows) if ordered else rows, first_ts, cuts)


@pytest.mark.parametrize("step", [-1, 1], ids=["falling", "rising"])
def test_candles_add_many_folds_long_ordered_runs_with_numpy(step: int) -> None:
    """Runs long enough for the vectorised fold (more than ``_VECTOR_MIN`` rows, several minutes).
    Prices only fall (or only rise), so a run folded into an open bar must keep that bar's
    earlier high (or low)."""
    rng = random.Random(3)
    ts = sorted(rng.randrange(0, 6 * BASE_INTERVAL_NS) for _ in range(3_000))
    rows = [(t, 5_000 + step * k, rng.randrange(1, 50)) for k, t in enumerate(ts)]
    # pieces: numpy, singles, numpy from mid-minute into the bar the singles opened, singles, numpy;
    # the first piece starts before the bar already open, so its oldest trades are dropped
    candles_both_ways(rows, 2 * BASE_INTERVAL_NS, [700, 900, 1_500, 1_600])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, BASE_INTERVAL_NS - 1), st.integers(1, 1_000), st.integers(1, 50)),
                min_size=1, max_size=90), st.lists(st.integers(0, 10_000), max_size=4))
def test_candles_short_runs_inside_the_open_bar_match_add(rows: list[tuple[int, int, int]], cuts: list[int]) -> None:
    """Short runs (under ``_VECTOR_MIN`` rows) inside the bar already open, in any order, folded
    with list builtins: the bar keeps its earlier extremes, takes the run's last price as close."""
    minute = 2 * BASE_INTERVAL_NS
    candles_both_ways([(minute + t, price, size) for t, price, size in rows], minute, cuts)


@given(st.integers(1, 40), st.integers(0, 40), st.integers(1, 9))
def test_latency_take_then_give_back_draws_the_same_delays(take: int, keep: int, batch: int) -> None:
    model = LogNormal(1_000_000, 0.5)
    reference = LatencyChannel(model, random.Random(4), fifo=False, batch=batch)
    expected = [reference.delivery_time(0) for _ in range(80)]
    channel = LatencyChannel(model, random.Random(4), fifo=False, batch=batch)
    taken = channel.take(take)
    keep = min(keep, take)
    channel.give_back(taken[keep:])
    assert taken[:keep] + [channel.delivery_time(0) for _ in range(80 - keep)] == expected


def hosted_feed(path: Path, vt: Any, channel: LatencyChannel, client: Any, *, on_venue: Any = None,
                candles: CandleBuilder | None = None) -> ReplayFeed:
    """A feed whose trades reach ``client`` through a market-data channel, wired as
    ``VenueMarketSide.connect`` does: a venue handler (``on_venue`` first) that pushes into the
    channel, subscribed with a runner over a venue that only keeps candles."""
    from sim.channels import MarketDataChannel
    from sim.venue.trade_runs import TradeRunner

    feed = ReplayFeed([path], order_by="ts_event")
    tap = MarketDataChannel(channel, vt)
    tap.streams["trades"]["BTCUSDT"] = client
    tape = _CandlesOnly(candles or CandleBuilder("binance"))

    def venue(trade: Trade) -> None:
        if on_venue is not None:
            on_venue(trade)
        tape.candles.add(trade)
        tap.push(trade, client)

    feed.subscribe_trades(venue, runs=TradeRunner(tap, tape))
    feed.add_tap(tap)
    return feed


class _CandlesOnly:
    """A venue side without matching: every trade is quiet and only makes candles."""

    def __init__(self, candles: CandleBuilder) -> None:
        self.candles = candles

    def quiet_band(self, symbol: str) -> None:
        """No engine: nothing bounds a quiet run."""

    def on_quiet_trades(self, symbol: str, ts_event: Any, price: Any, size: Any) -> None:
        """Fold the run into candles."""
        self.candles.add_many(symbol, ts_event, price, size)


def tapped_feed(path: Path, runtime: SimRuntime, log: list[tuple[Any, ...]], latency_ns: int,
                react: Any = None) -> ReplayFeed:
    """A hosted feed in ``runtime`` whose trades reach a ``log`` after a constant latency."""

    def client(trade: Trade) -> None:
        log.append(("client", runtime.now_ns(), trade.trade_id))
        if react is not None:
            react(trade)

    feed = hosted_feed(path, runtime.vt, LatencyChannel(Constant(latency_ns), random.Random(1), batch=64), client,
                       on_venue=lambda trade: log.append(("venue", runtime.now_ns(), trade.trade_id)))
    runtime.add_source(feed)
    return feed


def feed_order(path: Path, *, fast: bool, latency_ns: int, timers: list[int],
               react_every: int = 0) -> list[tuple[Any, ...]]:
    """The order in which venue events (unless the fast path skips them), client deliveries and
    timers happen; with ``react_every`` every k-th delivery schedules something for right now."""
    log: list[tuple[Any, ...]] = []
    with SimRuntime(seed=1, start_ns=START - SCALE) as runtime:
        count = [0]

        def react(trade: Trade) -> None:
            count[0] += 1
            if react_every and count[0] % react_every == 0:
                runtime.clock.call_later(0, lambda: log.append(("ready", runtime.now_ns())))

        feed = tapped_feed(path, runtime, log, latency_ns, react)
        feed.fast = fast
        for when in timers:
            runtime.clock.call_at(when, lambda when=when: log.append(("timer", when)))

        async def main() -> None:
            while feed.peek_ts() is not None:
                await runtime.clock.sleep_ns(SCALE)

        runtime.run(main())
    return [entry for entry in log if entry[0] != "venue"]  # the fast path defers what the venue does


def test_tie_rules_at_the_horizon_match_the_general_path(tmp_path: Path) -> None:
    """Timers at exactly the time of venue events and of client arrivals, and callbacks that make
    something ready at the very nanosecond of further arrivals: the fast path keeps the general
    path's order of all of them."""
    n = 400
    ts = [START + (i // 40) * 1_000_000 for i in range(n)]  # 40 trades per ms
    path = write_tape(tmp_path / "t.parquet", ts, ts, [60_000 * SCALE] * n, [1_000] * n)
    timers = [START + k * 1_000_000 for k in range(2, 9)]  # on the ms, where venue events and arrivals tie
    for react_every in (0, 7):
        slow = feed_order(path, fast=False, latency_ns=2_000_000, timers=timers, react_every=react_every)
        quick = feed_order(path, fast=True, latency_ns=2_000_000, timers=timers, react_every=react_every)
        assert quick == slow
        tied = {entry[1] for entry in slow if entry[0] == "client"} & set(timers)
        assert tied, "no arrival tied with a timer: the test would prove nothing"


class _Time:
    """A bare ``VirtualTime``: the test moves the horizon by hand."""

    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns
        self.horizon_ns = now_ns


def deliver_with_failures(path: Path, *, fast: bool, fail_every: int) -> list[tuple[Any, ...]]:
    """Drive a feed by hand in 3 ms horizons; the client raises on every ``fail_every``-th trade
    and the driver carries on. Returns the client's log, errors included."""
    log: list[tuple[Any, ...]] = []
    vt = _Time(START - 1)
    candles = CandleBuilder("binance")

    def client(trade: Trade) -> None:
        log.append(("client", vt.now_ns, trade.trade_id))
        if int(trade.trade_id) % fail_every == fail_every - 1:
            raise RuntimeError(trade.trade_id)

    channel = LatencyChannel(LogNormal(1_000_000, 0.6), random.Random(2), batch=100)
    feed = hosted_feed(path, vt, channel, client, candles=candles)
    feed.fast = fast
    while (ts := feed.peek_ts()) is not None:
        vt.horizon_ns = max(vt.horizon_ns, ts) + 3_000_000
        try:
            feed.deliver(vt)
        except RuntimeError as error:
            log.append(("error", vt.now_ns, str(error)))
    log.append(("candles", tuple(candles.candles("BTCUSDT", BASE_INTERVAL_NS, 100, vt.now_ns))))
    return log


def test_a_raising_callback_leaves_the_feed_consistent_either_way(tmp_path: Path) -> None:
    """A callback that raises inside a run counts as delivered; the run's bookkeeping still
    happens (what the venue saw is queued, unused latency draws are returned), so the feed
    carries on exactly as the one-at-a-time path does."""
    path = random_tape(tmp_path / "t.parquet", seed=8, n=3_000, max_gap_ns=400_000)
    slow = deliver_with_failures(path, fast=False, fail_every=97)
    quick = deliver_with_failures(path, fast=True, fail_every=97)
    assert quick == slow
    delivered = [entry for entry in slow if entry[0] == "client"]
    assert len(delivered) == 3_000 and sum(entry[0] == "error" for entry in slow) == 3_000 // 97

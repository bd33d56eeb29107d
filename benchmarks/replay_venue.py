"""Benchmark: a strategy replayed through the simulated venue, against two floors, in one run.

Generates ``--n`` seeded synthetic BTCUSDT trades (numpy, fixed-point ints: a random walk around
60,000.00 with a 0.01 tick), writes them as one canonical trades Parquet file in a temp dir, then
measures over the same ticks:

(a) ``plain``: a plain Python loop over the ticks (read from the same file to lists) calling a
    no-op function per trade;
(b) ``simpy``: the naive SimPy floor, one ``env.timeout`` per tick whose process calls the no-op;
(c) ``noop``: the full replay path, ``ReplayFeed`` -> ``SimVenue`` (matching engine) ->
    ``SimAdapter`` (market-data latency on its ``MarketDataChannel``) -> ``ExecutionContext`` -> a no-op
    strategy's ``on_trade``, once per trade, driven by ``SimRuntime`` as ``scenarios.replay.run_replay``
    wires it (without writing a run directory);
(d) ``mm``: the same with ``strategies.market_maker:PassiveMarketMaker`` quoting from trades
    (``quote_on=trade``), which places, cancels and fills real orders; it runs exactly as users
    run it, so the check that every trade arrived is the venue's: its bars' volume is the file's.

It prints events per second for each and the ratios the issue sets as goals: no-op / SimPy floor
(>= 4), no-op / plain loop (>= 1/3), market maker / SimPy floor (>= 1.2). For scale it also
prints the replay's ceiling: the same file through ``ReplayFeed`` alone into a no-op callback
(reading and converting only; every replay pays it), and the two loops timed without reading,
over ticks already in memory, with the same ratios against them. Timings are the best of
``--repeat`` runs.
Nothing is asserted: this is a measurement, not a test. ``--profile`` prints where the time of
the no-op and market-maker replays goes (cProfile, top functions by own time), separately.

    python3 benchmarks/replay_venue.py             # 1,000,000 trades
    python3 benchmarks/replay_venue.py --n 20000   # CI smoke
    python3 benchmarks/replay_venue.py --n 200000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Generator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import simpy
from trade_columns import trade_columns

from harness.context import ExecutionContext
from harness.data.schema import TRADES
from harness.model import Trade
from harness.money import SCALE
from harness.strategy import Strategy
from scenarios.replay import data_time_range, poll_step
from scenarios.world import VenueSetup, build_venue
from sim.kernel.runtime import SimRuntime
from sim.market.feed import ReplayFeed
from sim.venue.matching.types import DepthMode
from sim.venue.profile import load_profile
from sim.venue.venue import SimVenue
from strategies.market_maker import PassiveMarketMaker

START_NS = 1_723_075_200_000_000_000
TICK = SCALE // 100
MM_PARAMS = {"quote_on": "trade", "size": "0.001", "max_position": "0.01", "requote_ticks": "2",
             "min_requote_ms": "500"}


def make_trades(n: int, seed: int) -> pa.Table:
    """``n`` trades: ~4 ms apart, price a +-1 tick random walk from 60,000.00, sizes 0.00001-0.1."""
    rng = np.random.default_rng(seed)
    ts = START_NS + np.cumsum(rng.integers(1, 8_000_000, n, dtype=np.int64))
    price = 60_000 * SCALE + np.cumsum(rng.integers(-1, 2, n, dtype=np.int64)) * TICK
    size = rng.integers(1, 10_000, n, dtype=np.int64) * (SCALE // 100_000)
    aggressor = rng.choice(np.array([1, -1], dtype=np.int8), n)
    trade_id = np.arange(1, n + 1).astype(str)
    venue = pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), ["binance"])
    symbol = pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), ["BTCUSDT"])
    return pa.Table.from_arrays([ts, ts, venue, symbol, price, size, aggressor, pa.array(trade_id)], schema=TRADES)


def noop(event: object) -> None:
    """The per-trade work of the floors: nothing."""


class NoopStrategy(Strategy):
    """A strategy that only counts its trades: the cost of the path to ``on_trade``."""

    trades_seen = 0

    def on_trade(self, trade: Trade) -> None:
        """Count the trade (the benchmark checks every trade arrived)."""
        self.trades_seen += 1


# ----------------------------------------------------------------------------- floors


def read_ticks(path: Path) -> list[Trade]:
    """The file's trades as ``Trade`` tuples, the cheapest way (timed in both floors: the replay reads too)."""
    new = tuple.__new__
    return [new(Trade, row) for row in zip(*trade_columns(path), strict=True)]


def loop_plain(ticks: list[Trade]) -> int:
    """A plain loop calling ``noop`` per trade."""
    for trade in ticks:
        noop(trade)
    return len(ticks)


def run_plain(path: Path) -> int:
    """(a) Read the ticks, then the plain loop."""
    return loop_plain(read_ticks(path))


def run_feed(path: Path) -> int:
    """The ceiling: the file through ``ReplayFeed`` alone (read, convert, merge) into ``noop``."""
    count = 0

    def counted(trade: Trade) -> None:
        nonlocal count
        count += 1

    with ReplayFeed([path], order_by="ts_event", on_trade=counted) as feed:
        feed.run_all()
    return count


def loop_simpy(ticks: list[Trade]) -> int:
    """One SimPy ``timeout`` per tick (integer ns delays) calling ``noop``."""
    env = simpy.Environment(initial_time=ticks[0].ts_event if ticks else 0)
    count = 0

    def process() -> Generator[simpy.Event, Any, None]:
        nonlocal count
        timeout = env.timeout
        for trade in ticks:
            delay = trade.ts_event - env.now
            if delay > 0:
                yield timeout(delay)
            else:
                yield timeout(0)
            noop(trade)
            count += 1

    env.process(process())
    env.run()
    return count


def run_simpy(path: Path) -> int:
    """(b) Read the ticks, then the SimPy loop."""
    return loop_simpy(read_ticks(path))


# ----------------------------------------------------------------------------- the replay


def run_replay(path: Path, strategy: Strategy, *, seed: int = 0) -> tuple[int, SimVenue, ExecutionContext, int]:
    """(c)/(d) Replay ``path`` through one Binance ``SimVenue`` + ``SimAdapter`` into ``strategy``.

    Wired as ``scenarios.replay.run_replay`` does (feed first, then the venue's market side and channel; the execution
    context in front of the strategy; the main task polls for the end of the data with
    ``scenarios.replay.poll_step``), in TRADES depth since the data has trades only. Returns how many trades
    reached the strategy (its ``trades_seen``, 0 if it does not count), the venue, the context and the
    volume the venue's one-minute bars add up to (every trade it saw).
    """
    feed = ReplayFeed([path], order_by="ts_event")
    first = feed.peek_ts()
    last = data_time_range([path])[1]
    balances: Mapping[str, Decimal] = {"USDT": Decimal(100_000), "BTC": Decimal(1), "ETH": Decimal(10)}
    # start a second early: the strategy subscribes after connecting, before the first trade
    with SimRuntime(seed=seed, start_ns=(first or SCALE) - SCALE) as runtime:
        runtime.add_source(feed)
        venue, adapter, market = build_venue(runtime, VenueSetup("binance", "binance", balances=balances),
                                             load_profile("binance"), depth=DepthMode.TRADES)
        market.connect(feed)
        context = ExecutionContext({"binance": adapter}, runtime.clock, runtime.rng.stream("strategy"))

        async def main() -> None:
            await context.start(strategy, {"binance": ["BTCUSDT"]})
            while feed.peek_ts() is not None:
                await runtime.clock.sleep_ns(poll_step(runtime.now_ns(), last))
            await runtime.clock.sleep_ns(SCALE)  # what is still in flight to the client arrives
            await context.stop()

        runtime.run(main())
        feed.close()
        volume = sum(bar.volume for bar in venue.candles.candles("BTCUSDT", 60 * SCALE, 1 << 30, runtime.now_ns()))
    return int(getattr(strategy, "trades_seen", 0)), venue, context, volume


# ----------------------------------------------------------------------------- timing


def best_rate(n: int, repeat: int, fn: Callable[[], int]) -> float:
    """Best events/s over ``repeat`` timings of ``fn``; ``fn`` must report all ``n`` events handled."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter_ns()
        handled = fn()
        elapsed = time.perf_counter_ns() - start
        if handled != n:
            raise SystemExit(f"replay_venue: {handled} events handled, expected {n}")
        best = min(best, elapsed)
    return n * 1e9 / best


def fmt(rate: float) -> str:
    """Events/s, human sized."""
    return f"{rate / 1e6:.3f}M ev/s" if rate >= 1e6 else f"{rate / 1e3:.1f}k ev/s"


def profile(label: str, fn: Callable[[], object], top: int = 25) -> None:
    """Run ``fn`` once under cProfile and print its ``top`` functions by own time."""
    profiler = cProfile.Profile()
    profiler.runcall(fn)
    print(f"--- profile: {label}")
    pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    """Generate the data, run the four measurements, print rates and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=1_000_000, help="number of trades (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="timings per measurement; best is kept")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one no-op and one market-maker replay (cProfile, top functions)")
    args = parser.parse_args(argv)
    n: int = args.n
    with tempfile.TemporaryDirectory(prefix="replay_venue_") as tmp:
        path = Path(tmp) / "trades.parquet"
        table = make_trades(n, args.seed)
        total_size = int(table.column("size").to_numpy().sum())
        pq.write_table(table, path, compression="zstd", row_group_size=128_000)
        if args.profile:
            profile("no-op replay", lambda: run_replay(path, NoopStrategy()))
            profile("market maker", lambda: run_replay(path, PassiveMarketMaker(**MM_PARAMS)))
        run_feed(path)  # warm-up (file cache, lazy imports), untimed, so the first timing is not penalised
        feed_rate = best_rate(n, args.repeat, lambda: run_feed(path))
        plain = best_rate(n, args.repeat, lambda: run_plain(path))
        floor = best_rate(n, args.repeat, lambda: run_simpy(path))
        ticks = read_ticks(path)
        plain_mem = best_rate(n, args.repeat, lambda: loop_plain(ticks))
        floor_mem = best_rate(n, args.repeat, lambda: loop_simpy(ticks))
        ticks.clear()  # 1M live tuples would slow every later cyclic GC pass
        noop_rate = best_rate(n, args.repeat, lambda: run_replay(path, NoopStrategy())[0])
        mm_stats: list[str] = []

        def run_mm() -> int:
            _, venue, _, volume = run_replay(path, PassiveMarketMaker(**MM_PARAMS))
            mm_stats[:] = [f"{len(venue.orders)} orders", f"{len(venue.fills)} fills"]
            if volume != total_size:
                raise SystemExit(f"replay_venue: the venue saw {volume} of the {total_size} traded")
            return n

        mm = best_rate(n, args.repeat, run_mm)
    print(f"replay_venue: {n} trades, every measurement reading the same Parquet file")
    print(f"  plain loop     {fmt(plain)}   (read the file into ticks, then loop)")
    print(f"  SimPy floor    {fmt(floor)}   (read the file into ticks, then one env.timeout per tick)")
    print(f"  no-op replay   {fmt(noop_rate)}")
    print(f"  market maker   {fmt(mm)}  ({', '.join(mm_stats)})")
    print(f"  feed alone     {fmt(feed_rate)}   (the replay's ceiling: reading and converting, no simulation)")
    print(f"  no-op / SimPy floor  {noop_rate / floor:.2f}  (goal >= 4)")
    print(f"  no-op / plain loop   {noop_rate / plain:.3f}  (goal >= 0.333)")
    print(f"  MM / SimPy floor     {mm / floor:.2f}  (goal >= 1.2)")
    print(f"  no-op / feed alone   {noop_rate / feed_rate:.2f}  (share of the ceiling)")
    print(f"the loops alone, over ticks already in memory: plain {fmt(plain_mem)}, SimPy {fmt(floor_mem)}")
    print(f"  no-op / SimPy (in memory)  {noop_rate / floor_mem:.2f}   no-op / plain (in memory)  "
          f"{noop_rate / plain_mem:.3f}   MM / SimPy (in memory)  {mm / floor_mem:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

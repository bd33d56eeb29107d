"""Benchmark: the replay feed against the floor of a plain Python loop over the same data.

Generates ``--n`` synthetic trades with a seeded numpy Generator, writes them as canonical
Parquet (zstd, dictionary venue/symbol, 128k-row row groups like ``ParquetSink``), then in one
run measures, each the best of ``--repeat`` timings:

1. ``feed``: ``ReplayFeed`` delivering every trade to a no-op ``on_trade``, file reading included;
2. ``floor``: read the same columns to Python lists and ``for`` over their ``zip``, building
   the same ``Trade`` tuples (``tuple.__new__``, the cheapest way in a loop) and calling the
   same no-op, reading included; ``ratio`` = feed / floor throughput (goal: >= 0.33);
3. the feed over the same trades split into 4 files, once as 4 consecutive time ranges (like
   day files of one stream) and once round-robin (4 interleaved streams: the k-way merge path).

A checked pass (untimed) confirms every event arrives once and in time order.

    python3 benchmarks/replay_feed.py            # 1,000,000 trades
    python3 benchmarks/replay_feed.py --n 50000  # CI smoke
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from trade_columns import trade_columns

from harness.data.schema import TRADES
from harness.model import Trade
from sim.market.feed import ReplayFeed

ROW_GROUP = 128_000


def make_trades(n: int, seed: int) -> pa.Table:
    """``n`` synthetic BTCUSDT trades: increasing ts_recv, ts_event a little earlier, a price walk."""
    rng = np.random.default_rng(seed)
    ts_recv = 1_723_075_200_000_000_000 + np.cumsum(rng.integers(0, 2_000_000, n, dtype=np.int64))
    ts_event = ts_recv - rng.integers(100_000, 5_000_000, n, dtype=np.int64)
    price = 60_000 * 10**9 + np.cumsum(rng.integers(-10**9, 10**9 + 1, n, dtype=np.int64))
    size = rng.integers(1, 10**9, n, dtype=np.int64)
    aggressor = rng.choice(np.array([1, -1], dtype=np.int8), n)
    trade_id = np.arange(10**8, 10**8 + n).astype(str)
    venue = pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), ["binance"])
    symbol = pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), ["BTCUSDT"])
    return pa.Table.from_arrays(
        [ts_event, ts_recv, venue, symbol, price, size, aggressor, pa.array(trade_id)], schema=TRADES)


def write(table: pa.Table, path: Path) -> Path:
    """Write ``table`` as a canonical trades file."""
    pq.write_table(table, path, compression="zstd", row_group_size=ROW_GROUP)
    return path


def noop(trade: Trade) -> None:
    """The subscriber of every timing: does nothing, so only the feed's cost is measured."""


def run_feed(paths: list[Path]) -> None:
    """Open the files and deliver every trade to ``noop``."""
    with ReplayFeed(paths, on_trade=noop) as feed:
        feed.run_all()


def run_floor(path: Path) -> None:
    """Read the columns to lists, then a plain loop building each ``Trade`` and calling ``noop``."""
    columns = trade_columns(path)
    new = tuple.__new__
    for row in zip(*columns, strict=True):
        noop(new(Trade, row))


def best_rate(n: int, repeat: int, fn: Callable[[], None]) -> float:
    """Best events/s of ``repeat`` timings of ``fn`` (which handles ``n`` events)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter_ns()
        fn()
        best = min(best, time.perf_counter_ns() - start)
    return n * 1e9 / best


def check(paths: list[Path], n: int) -> None:
    """Untimed: every trade delivered exactly once, in ts_recv order."""
    seen: list[Trade] = []
    with ReplayFeed(paths, on_trade=seen.append) as feed:
        feed.run_all()
    ts = [t.ts_recv for t in seen]
    if len(seen) != n or len({t.trade_id for t in seen}) != n or ts != sorted(ts):
        raise SystemExit(f"replay_feed: check failed for {len(paths)} file(s)")


def fmt(rate: float) -> str:
    """Events/s in millions."""
    return f"{rate / 1e6:.2f}M ev/s"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=1_000_000, help="number of trades (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="timings per measurement; best is kept")
    args = parser.parse_args(argv)
    n: int = args.n
    table = make_trades(n, args.seed)
    with tempfile.TemporaryDirectory(prefix="replay_bench_") as tmp:
        d = Path(tmp)
        single = write(table, d / "trades.parquet")
        quarter = -(-n // 4)
        sequential = [write(table.slice(i * quarter, quarter), d / f"seq{i}.parquet") for i in range(4)]
        index = np.arange(n)
        interleaved = [write(table.take(index[i::4]), d / f"rr{i}.parquet") for i in range(4)]
        for paths in ([single], sequential, interleaved):
            check(paths, n)

        feed = best_rate(n, args.repeat, lambda: run_feed([single]))
        floor = best_rate(n, args.repeat, lambda: run_floor(single))
        seq = best_rate(n, args.repeat, lambda: run_feed(sequential))
        rr = best_rate(n, args.repeat, lambda: run_feed(interleaved))
    print(f"replay_feed: {n} events, feed {fmt(feed)}, floor {fmt(floor)}, ratio {feed / floor:.2f}")
    print(f"replay_feed: 4 files sequential, feed {fmt(seq)}, ratio {seq / floor:.2f}")
    print(f"replay_feed: 4 files interleaved, feed {fmt(rr)}, ratio {rr / floor:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the dashboard's reads of a large run's market data, streamed instead of loaded whole.

Writes ``--n`` seeded synthetic trades and as many quotes as canonical Parquet (128k-row row
groups, zstd), then measures what the run page and the metrics do with them:

1. ``price_series``: the price line downsampled to ``--points`` buckets (first/last/low/high);
2. ``mids_at``: the arrival mid at ``--orders`` evenly spread order times (as-of lookup).

Each is measured in a fresh process (spawned after the tape is written, so writing it does not
count): wall time, rows read per second, the peak of Arrow's memory pool and the process's peak
resident memory; beside them, what one int64 column of the table takes in memory if read whole
(8 bytes a row), the floor any load-everything approach starts from (it needs three or four).

    python3 benchmarks/large_run_charts.py               # 10,000,000 trades + 10,000,000 quotes
    python3 benchmarks/large_run_charts.py --n 200000    # CI smoke
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from harness.data.schema import QUOTES, SCHEMA_VERSION, TRADES
from reports.market_data import mids_at, price_series

START = 1_723_075_200_000_000_000
ROW_GROUP = 128_000


def write_tape(folder: Path, n: int, seed: int = 1) -> tuple[Path, Path, int, int]:
    """Trades and quotes files of ``n`` rows each; returns their paths and the time span."""
    rng = np.random.default_rng(seed)
    ts = START + np.cumsum(rng.integers(1_000_000, 100_000_000, n)).astype(np.int64)
    price = (60_000 * 10**9 + np.cumsum(rng.integers(-3, 4, n)) * 10**7).astype(np.int64)
    zeros = pa.array(np.zeros(n, dtype=np.int32))
    venue = pa.DictionaryArray.from_arrays(zeros, ["binance"])
    symbol = pa.DictionaryArray.from_arrays(zeros, ["BTCUSDT"])
    size = np.full(n, 10**6, dtype=np.int64)
    meta = {"harness.schema_version": SCHEMA_VERSION}
    trades = pa.Table.from_arrays([ts, ts, venue, symbol, price, size, np.ones(n, dtype=np.int8),
                                   pa.array(np.arange(n).astype(str))],
                                  schema=TRADES.with_metadata({**meta, "harness.kind": "trades"}))
    quotes = pa.Table.from_arrays([ts - 1000, ts - 1000, venue, symbol, price - 10**7, size, price + 10**7, size,
                                   np.full(n, -1, dtype=np.int64)],
                                  schema=QUOTES.with_metadata({**meta, "harness.kind": "quotes"}))
    paths = folder / "t.trades.parquet", folder / "t.quotes.parquet"
    pq.write_table(trades, paths[0], row_group_size=ROW_GROUP, compression="zstd")
    pq.write_table(quotes, paths[1], row_group_size=ROW_GROUP, compression="zstd")
    return paths[0], paths[1], int(ts[0]), int(ts[-1])


def _measure(what: str, trades: Path, quotes: Path, span: tuple[int, int], points: int, orders: int,
             rows: int) -> None:
    """One measurement, run in a fresh process (see the module docstring)."""
    start = time.perf_counter()
    if what == "price_series":
        label = f"price_series ({points} buckets)"
        price_series([trades], [], "binance", "BTCUSDT", start_ns=span[0], end_ns=span[1], max_points=points)
    else:
        label = f"mids_at ({orders:,} order times)"
        mids_at([quotes], "binance", "BTCUSDT", np.linspace(span[0], span[1], orders).astype(np.int64).tolist())
    elapsed = time.perf_counter() - start
    status = Path("/proc/self/status")
    hwm = [line for line in status.read_text().splitlines() if line.startswith("VmHWM")] if status.exists() else []
    peak_rss = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{label}: {elapsed:.2f} s, {rows / elapsed / 1e6:.1f} M rows/s, Arrow pool peak "
          f"{pa.default_memory_pool().max_memory() / 2**20:.0f} MiB, process peak RSS {peak_rss:.0f} MiB; "
          f"one int64 column read whole: {rows * 8 / 2**20:.0f} MiB", flush=True)


def main() -> None:
    """Parse arguments, write the tape, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        trades, quotes, first, last = write_tape(Path(tmp), args.n)
        size = (trades.stat().st_size + quotes.stat().st_size) / 2**20
        took = time.perf_counter() - start
        print(f"wrote {args.n:,} trades + {args.n:,} quotes ({size:.0f} MiB Parquet) in {took:.1f} s")
        context = multiprocessing.get_context("spawn")
        for what in ("price_series", "mids_at"):
            child = context.Process(target=_measure, args=(what, trades, quotes, (first, last), args.points,
                                                           args.orders, args.n))
            child.start()
            child.join()


if __name__ == "__main__":
    main()

"""Small seeded synthetic canonical market data for any venue profile (tests only).

``write_tape`` writes a trades file and a quotes file for one venue and symbol: a random walk
on the symbol's tick around 60,000, one quote half a millisecond before each trade with the
touch one tick either side. Fixed-point ints throughout, as ``harness.data.schema`` stores them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from harness.data.schema import QUOTES, SCHEMA_VERSION, TRADES

START_NS = 1_723_075_200_000_000_000  # 2024-08-08T00:00:00Z


def write_tape(out: Path, venue: str, symbol: str, *, n: int = 3000, seed: int = 1,
               tick: int = 10**8) -> list[Path]:
    """Write ``<venue>_<symbol>.trades.parquet`` and ``.quotes.parquet`` into ``out``; return both paths."""
    rng = np.random.default_rng(seed)
    ts = START_NS + np.cumsum(rng.integers(1_000_000, 200_000_000, n)).astype(np.int64)
    mid = 60_000 * 10**9 + np.cumsum(rng.integers(-3, 4, n)) * tick
    price = (mid // tick) * tick
    size = rng.integers(1, 200, n).astype(np.int64) * 10**5
    aggressor = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)
    zeros = np.zeros(n, dtype=np.int32)
    venues = pa.DictionaryArray.from_arrays(zeros, [venue])
    symbols = pa.DictionaryArray.from_arrays(zeros, [symbol])
    meta = {"harness.schema_version": SCHEMA_VERSION}
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{venue}_{symbol.replace('/', '').replace('-', '')}"
    trades = pa.Table.from_arrays(
        [ts, ts, venues, symbols, price, size, aggressor, pa.array([str(i) for i in range(n)])],
        schema=TRADES.with_metadata({**meta, "harness.kind": "trades"}))
    quote_ts = ts - 500_000
    quotes = pa.Table.from_arrays(
        [quote_ts, quote_ts, venues, symbols, price - tick, size * 3, price + tick, size * 2,
         np.full(n, -1, dtype=np.int64)],
        schema=QUOTES.with_metadata({**meta, "harness.kind": "quotes"}))
    paths = [out / f"{stem}.trades.parquet", out / f"{stem}.quotes.parquet"]
    pq.write_table(trades, paths[0])
    pq.write_table(quotes, paths[1])
    return paths

"""The market data a run replayed, read back for reports: arrival mids and downsampled price series.

Both read canonical Parquet (``harness.data.schema``) as Arrow record batches, a few columns and
one row group at a time, so a recording of tens of millions of rows is never held in memory at once:

* ``mids_at``: the recorded mid ``(bid + ask) / 2`` of the latest quote with ``ts_event <= t``
  for each asked time ``t`` (an as-of lookup), exact (``Decimal``), streamed batch by batch;
* ``price_series``: a price line for charts, at most ``max_points`` buckets of equal time width,
  each with its first, last, lowest and highest price (so spikes survive the downsampling),
  from trades, or from quote mids when the run has no trades.

Symbols are matched after normalising (``BTC-USDT``, ``BTC/USDT`` and ``BTCUSDT`` are one), so
a venue driven by another venue's recording (``--data-venue``) finds its prices.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["PriceSeries", "mids_at", "normalise_symbol", "price_series"]

_SCALE = Decimal(10) ** 9


def normalise_symbol(symbol: str) -> str:
    """``symbol`` upper-cased with separators removed (``btc-usdt`` -> ``BTCUSDT``)."""
    return "".join(ch for ch in symbol.upper() if ch.isalnum())


def _batches(files: Sequence[Path], venue: str | None, symbol: str,
             columns: Sequence[str]) -> Iterator[tuple[npt.NDArray[Any], ...]]:
    """Per record batch, numpy arrays of ``columns`` for the rows of ``venue`` (any when None) and ``symbol``."""
    wanted = normalise_symbol(symbol)
    for path in files:
        # row group by row group: memory stays one batch deep however long the file
        reader = pq.ParquetFile(path, pre_buffer=False)  # pre-buffering would read every row group ahead
        for batch in reader.iter_batches(batch_size=262_144, columns=[*columns, "venue", "symbol"]):
            symbols = pc.cast(batch.column("symbol"), pa.string())
            keep = pc.equal(pc.utf8_upper(pc.replace_substring_regex(symbols, r"[^A-Za-z0-9]", "")), wanted)
            if venue is not None:
                keep = pc.and_(keep, pc.equal(pc.cast(batch.column("venue"), pa.string()), venue))
            chosen = batch.filter(keep)
            if chosen.num_rows:
                yield tuple(chosen.column(c).to_numpy(zero_copy_only=False) for c in columns)


def mids_at(files: Sequence[Path], venue: str | None, symbol: str, times_ns: Sequence[int]) -> list[Decimal | None]:
    """The recorded mid at each of ``times_ns`` (latest quote with ``ts_event <= t``; None before the first).

    Rows need not be in time order: each batch offers its latest quote at or before each time,
    and the latest over all batches wins (at equal times, the row read last).
    """
    times = np.asarray(times_ns, dtype=np.int64)
    best_ts = np.full(len(times), np.iinfo(np.int64).min, dtype=np.int64)
    best_sum = np.zeros(len(times), dtype=object)
    if not len(times):
        return []
    for raw_ts, raw_bid, raw_ask in _batches(files, venue, symbol, ("ts_event", "bid_price", "ask_price")):
        order = np.argsort(raw_ts, kind="stable")
        ts, bid, ask = raw_ts[order], raw_bid[order], raw_ask[order]
        index = np.searchsorted(ts, times, side="right") - 1
        has = index >= 0
        candidate = np.where(has, ts[np.clip(index, 0, None)], np.iinfo(np.int64).min)
        better = has & (candidate >= best_ts)
        for i in np.flatnonzero(better):
            j = index[i]
            best_ts[i] = candidate[i]
            best_sum[i] = int(bid[j]) + int(ask[j])
    found = best_ts != np.iinfo(np.int64).min
    return [Decimal(int(best_sum[i])) / 2 / _SCALE if found[i] else None for i in range(len(times))]


@dataclass(frozen=True)
class PriceSeries:
    """A downsampled price line: per bucket its start time and first, last, low and high price (floats, for charts)."""

    source: str
    bucket_ns: int
    ts_ns: npt.NDArray[Any]
    first: npt.NDArray[Any]
    last: npt.NDArray[Any]
    low: npt.NDArray[Any]
    high: npt.NDArray[Any]
    rows_read: int

    def __len__(self) -> int:
        return len(self.ts_ns)


def price_series(trades: Sequence[Path], quotes: Sequence[Path], venue: str | None, symbol: str, *,
                 start_ns: int, end_ns: int, max_points: int = 2000) -> PriceSeries | None:
    """The price of ``symbol`` between ``start_ns`` and ``end_ns`` in at most ``max_points`` buckets.

    From trade prices when there are trades files, else from quote mids; None when neither
    has a row of the symbol. Chart values only: the prices are converted to float here.
    """
    width = max(1, -(-(max(end_ns, start_ns + 1) - start_ns) // max_points))
    for source, files, columns in (("trades", trades, ("ts_event", "price")),
                                   ("quote mid", quotes, ("ts_event", "bid_price", "ask_price"))):
        if not files:
            continue
        first_ts = np.full(max_points, np.iinfo(np.int64).max, dtype=np.int64)
        last_ts = np.full(max_points, np.iinfo(np.int64).min, dtype=np.int64)
        first = np.zeros(max_points)
        last = np.zeros(max_points)
        low = np.full(max_points, np.inf)
        high = np.full(max_points, -np.inf)
        rows = 0
        for arrays in _batches(files, venue, symbol, columns):
            ts = arrays[0]
            price = arrays[1] / 1e9 if len(arrays) == 2 else (arrays[1] + arrays[2]) / 2e9
            inside = (ts >= start_ns) & (ts <= end_ns)
            ts, price = ts[inside], price[inside]
            rows += len(ts)
            bucket = np.minimum((ts - start_ns) // width, max_points - 1)
            np.minimum.at(low, bucket, price)
            np.maximum.at(high, bucket, price)
            for target, pick, better in ((first_ts, first, np.less), (last_ts, last, np.greater_equal)):
                order = np.lexsort((ts, bucket))  # by bucket, then time: each bucket's rows in time order
                b, t, p = bucket[order], ts[order], price[order]
                edge = np.r_[True, b[1:] != b[:-1]] if target is first_ts else np.r_[b[1:] != b[:-1], True]
                b, t, p = b[edge], t[edge], p[edge]
                wins = better(t, target[b])
                target[b[wins]] = t[wins]
                pick[b[wins]] = p[wins]
        if rows:
            used = np.isfinite(low)
            return PriceSeries(source, width, start_ns + np.flatnonzero(used) * width, first[used], last[used],
                               low[used], high[used], rows)
    return None

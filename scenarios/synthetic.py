"""Seeded synthetic market data for scenarios: trades, quotes and an L2 book with Binance update ids.

A scenario that needs an hour, a day or a book with sequence numbers does not need a recording:
``SyntheticTape`` describes one venue's symbol (a random walk of the mid on the symbol's tick,
a one-tick spread), and ``write_tape`` writes canonical Parquet (``harness.data.schema``) for it:

* ``trades`` every ``trade_every_ms`` (jittered), at the bid or the ask, random size;
* ``quotes`` every ``quote_every_ms``: the touch around the mid;
* ``book`` (optional): a ``levels``-deep snapshot at the start, then a diff message every
  ``book_every_ms`` that moves the ladder to the current mid, with Binance spot ids
  (``U`` = previous ``u`` + 1), so a client can detect a lost message.

Fixed-point ints throughout; the same tape and seed give the same files byte for byte.
``cached_tape`` writes a tape once into a cache directory keyed by its parameters.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from harness.data.schema import BOOK, QUOTES, SCHEMA_VERSION, TRADES
from harness.model import BOOK_ASK, BOOK_BID, F_LAST, F_SNAPSHOT

__all__ = ["SyntheticTape", "cached_tape", "write_tape"]

NS_PER_MS = 1_000_000
_FIXED = 10**9
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SyntheticTape:
    """What to generate (see the module docstring); prices and sizes as decimal strings."""

    venue: str = "binance"
    symbol: str = "BTCUSDT"
    minutes: int = 10
    seed: int = 1
    start_ns: int = 1_723_075_200_000_000_000  # 2024-08-08T00:00:00Z
    price: str = "60000"
    tick: str = "0.01"
    lot: str = "0.00001"
    trade_every_ms: int = 500
    quote_every_ms: int = 500
    book: bool = False
    book_every_ms: int = 1000
    levels: int = 10
    step_ticks: int = 3

    def __post_init__(self) -> None:
        for name in ("minutes", "trade_every_ms", "quote_every_ms", "book_every_ms", "levels", "step_ticks"):
            if getattr(self, name) < 1:
                raise ValueError(f"synthetic tape: {name} must be >= 1, got {getattr(self, name)}")

    @property
    def duration_ns(self) -> int:
        """How long the tape lasts."""
        return self.minutes * 60_000 * NS_PER_MS

    def key(self) -> str:
        """A short hash of every parameter (the cache key)."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


def _fixed(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * _FIXED + int((frac + "0" * 9)[:9] or 0)


def _times(rng: np.random.Generator, start: int, end: int, every_ms: int) -> I64:
    """Event times from ``start`` to ``end``, one per ``every_ms`` on average (jittered, strictly increasing)."""
    n = max(1, (end - start) // (every_ms * NS_PER_MS))
    gaps = rng.integers(every_ms * NS_PER_MS // 2, every_ms * NS_PER_MS * 3 // 2 + 1, n)
    times = start + np.cumsum(gaps).astype(np.int64)
    return times[times < end]


def _mid_at(walk_times: I64, mids: I64, times: I64) -> I64:
    """The mid in force at each of ``times`` (the walk's last step at or before)."""
    index = np.searchsorted(walk_times, times, side="right") - 1
    result: I64 = mids[np.maximum(index, 0)]
    return result


def _dicts(n: int, venue: str, symbol: str) -> tuple[pa.DictionaryArray, pa.DictionaryArray]:
    zeros = np.zeros(n, dtype=np.int32)
    return pa.DictionaryArray.from_arrays(zeros, [venue]), pa.DictionaryArray.from_arrays(zeros, [symbol])


def write_tape(tape: SyntheticTape, out_dir: Path) -> list[Path]:
    """Write the tape's ``trades``, ``quotes`` (and ``book``) Parquet files into ``out_dir``; return them."""
    rng = np.random.default_rng(tape.seed)
    tick, lot = _fixed(tape.tick), _fixed(tape.lot)
    start, end = tape.start_ns, tape.start_ns + tape.duration_ns
    walk_times = _times(rng, start, end, min(tape.trade_every_ms, tape.quote_every_ms))
    steps = rng.integers(-tape.step_ticks, tape.step_ticks + 1, len(walk_times)) * tick
    mids = (_fixed(tape.price) // tick) * tick + np.cumsum(steps).astype(np.int64)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{tape.venue}_{tape.symbol.replace('/', '').replace('-', '')}"
    meta = {"harness.schema_version": SCHEMA_VERSION, "harness.source": f"synthetic {tape.key()}"}
    paths: list[Path] = []

    trade_ts = _times(rng, start, end, tape.trade_every_ms)
    mid = _mid_at(walk_times, mids, trade_ts)
    aggressor = np.where(rng.integers(0, 2, len(trade_ts)) == 1, 1, -1).astype(np.int8)
    price = np.where(aggressor > 0, mid + tick, mid - tick).astype(np.int64)
    size = rng.integers(1, 500, len(trade_ts)).astype(np.int64) * lot * 10
    venues, symbols = _dicts(len(trade_ts), tape.venue, tape.symbol)
    trades = pa.Table.from_arrays(
        [trade_ts, trade_ts, venues, symbols, price, size, aggressor,
         pa.array([f"s{i}" for i in range(len(trade_ts))])],
        schema=TRADES.with_metadata({**meta, "harness.kind": "trades"}))
    paths.append(out_dir / f"{stem}.trades.parquet")
    pq.write_table(trades, paths[-1])

    quote_ts = _times(rng, start, end, tape.quote_every_ms)
    mid = _mid_at(walk_times, mids, quote_ts)
    venues, symbols = _dicts(len(quote_ts), tape.venue, tape.symbol)
    bid_size = rng.integers(1, 300, len(quote_ts)).astype(np.int64) * lot * 100
    ask_size = rng.integers(1, 300, len(quote_ts)).astype(np.int64) * lot * 100
    quotes = pa.Table.from_arrays(
        [quote_ts, quote_ts, venues, symbols, mid - tick, bid_size, mid + tick, ask_size,
         np.full(len(quote_ts), -1, dtype=np.int64)],
        schema=QUOTES.with_metadata({**meta, "harness.kind": "quotes"}))
    paths.append(out_dir / f"{stem}.quotes.parquet")
    pq.write_table(quotes, paths[-1])

    if tape.book:
        paths.append(out_dir / f"{stem}.book.parquet")
        pq.write_table(_book_table(tape, rng, (walk_times, mids), tick=tick, lot=lot, meta=meta), paths[-1])
    return paths


def _book_table(tape: SyntheticTape, rng: np.random.Generator, walk: tuple[I64, I64], *, tick: int, lot: int,
                meta: dict[str, str]) -> pa.Table:
    """A snapshot, then one diff per ``book_every_ms`` moving a ``levels``-deep ladder to the mid."""
    walk_times, mids = walk
    start, end = tape.start_ns, tape.start_ns + tape.duration_ns
    times = np.concatenate([[start], _times(rng, start, end, tape.book_every_ms)])
    cols: dict[str, list[int]] = {k: [] for k in ("ts", "side", "price", "size", "first", "last", "flags")}
    book: dict[tuple[int, int], int] = {}
    update_id = 1_000
    for i, ts in enumerate(times.tolist()):
        mid = int(_mid_at(walk_times, mids, np.array([ts], dtype=np.int64))[0])
        ladder = [(BOOK_BID, mid - k * tick) for k in range(1, tape.levels + 1)]
        ladder += [(BOOK_ASK, mid + k * tick) for k in range(1, tape.levels + 1)]
        wanted = {key: book.get(key) or int(rng.integers(1, 400)) * lot * 100 for key in ladder}
        for index in rng.integers(0, len(ladder), 2).tolist():  # two levels change size
            wanted[ladder[index]] = int(rng.integers(1, 400)) * lot * 100
        if i == 0:
            rows = sorted(wanted.items())
            first = last = update_id
            flags = F_SNAPSHOT
        else:
            changes = {key: 0 for key in book if key not in wanted}
            changes.update({key: size for key, size in wanted.items() if book.get(key) != size})
            rows = sorted(changes.items())
            first, last = update_id + 1, update_id + max(1, len(rows))
            flags = 0
        if not rows:
            continue
        update_id = last
        book = wanted
        for j, ((side, price), size) in enumerate(rows):
            cols["ts"].append(ts)
            cols["side"].append(side)
            cols["price"].append(price)
            cols["size"].append(size)
            cols["first"].append(first)
            cols["last"].append(last)
            cols["flags"].append(flags | (F_LAST if j == len(rows) - 1 else 0))
    n = len(cols["ts"])
    ts = np.array(cols["ts"], dtype=np.int64)
    venues, symbols = _dicts(n, tape.venue, tape.symbol)
    return pa.Table.from_arrays(
        [ts, ts, venues, symbols, np.array(cols["side"], dtype=np.int8), np.array(cols["price"], dtype=np.int64),
         np.array(cols["size"], dtype=np.int64), np.array(cols["first"], dtype=np.int64),
         np.array(cols["last"], dtype=np.int64), np.full(n, -1, dtype=np.int64),
         np.array(cols["flags"], dtype=np.int8)],
        schema=BOOK.with_metadata({**meta, "harness.kind": "book"}))


def cached_tape(tape: SyntheticTape, cache_dir: Path) -> list[Path]:
    """The tape's files in ``cache_dir/synthetic-<key>/``, written once (atomically) and reused."""
    final = cache_dir / f"synthetic-{tape.key()}"
    if final.is_dir():
        return sorted(final.glob("*.parquet"))
    work = cache_dir / f".synthetic-{tape.key()}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    write_tape(tape, work)
    try:
        work.rename(final)
    except OSError:  # another process wrote it first
        shutil.rmtree(work, ignore_errors=True)
    return sorted(final.glob("*.parquet"))

"""The canonical market-data schema: one Parquet layout per kind of data.

Every importer turns a venue's raw recording into rows of these kinds, and everything after
import (book rebuild, verify, replay) reads only these. Prices and sizes are fixed-point int64
(``harness.money``, 9 decimals); timestamps are int64 ns since the epoch. Files written by
``harness.data.sink.ParquetSink`` record that scale in their schema metadata
(``harness.price_scale`` and ``harness.size_scale``, both ``"9"``), and readers refuse a file
that states another one (``harness.data.canonical``); a file without the keys (written by hand,
or by an earlier version) is read at the documented scale.

* ``ts_event`` is the venue's time for the event (exchange clock), and where a venue gives
  several, the time its matching engine acted: Binance's transaction time ``T`` rather than the
  event time ``E`` at which the stream published it (futures depth diffs, bookTicker and REST
  snapshots carry both; trades ``T``; spot depth only ``E``). When the venue gives none
  (Binance spot bookTicker), importers estimate it from ``ts_recv`` and the recording's
  measured clock offset, and say so in the file's metadata. Formats that carry one exchange
  time (Tardis ``timestamp``, Nautilus CSV ``timestamp``) keep the one they carry.
* ``ts_recv`` is when the recorder received it (local clock), or ``ts_event`` when unknown.
* Rows keep the recording's order. ``ReplayFeed`` orders files by ``ts_recv`` (as recorded) by
  default; replay runs (``scenarios.replay``) order them by ``ts_event``.

Kinds: ``trades``, ``quotes``, ``book`` (snapshots and deltas in one table, with update ids and
flags), ``candles``.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = ["BOOK", "CANDLES", "F_LAST", "F_SNAPSHOT", "KINDS", "PRICE_SCALE_KEY", "QUOTES", "SCALE_KEYS", "SCHEMAS",
           "SCHEMA_VERSION", "SIZE_SCALE_KEY", "TRADES"]

KINDS = ("trades", "quotes", "book", "candles")

_COMMON = [
    pa.field("ts_event", pa.int64(), nullable=False),
    pa.field("ts_recv", pa.int64(), nullable=False),
    pa.field("venue", pa.dictionary(pa.int32(), pa.string()), nullable=False),
    pa.field("symbol", pa.dictionary(pa.int32(), pa.string()), nullable=False),
]

TRADES = pa.schema(
    [
        *_COMMON,
        pa.field("price", pa.int64(), nullable=False),
        pa.field("size", pa.int64(), nullable=False),
        pa.field("aggressor", pa.int8(), nullable=False),  # 1 buyer, -1 seller, 0 unknown
        pa.field("trade_id", pa.string(), nullable=False),
    ]
)

QUOTES = pa.schema(
    [
        *_COMMON,
        pa.field("bid_price", pa.int64(), nullable=False),
        pa.field("bid_size", pa.int64(), nullable=False),
        pa.field("ask_price", pa.int64(), nullable=False),
        pa.field("ask_size", pa.int64(), nullable=False),
        pa.field("update_id", pa.int64(), nullable=False),  # -1 when the venue has none
    ]
)

BOOK = pa.schema(
    [
        *_COMMON,
        pa.field("side", pa.int8(), nullable=False),  # 1 bid, -1 ask
        pa.field("price", pa.int64(), nullable=False),
        pa.field("size", pa.int64(), nullable=False),  # absolute size at the level; 0 removes it
        pa.field("first_update_id", pa.int64(), nullable=False),  # Binance U, else -1
        pa.field("update_id", pa.int64(), nullable=False),  # Binance u / lastUpdateId, else -1
        pa.field("prev_update_id", pa.int64(), nullable=False),  # Binance futures pu, else -1
        pa.field("flags", pa.int8(), nullable=False),  # 1 snapshot row, 2 last row of its message
    ]
)

CANDLES = pa.schema(
    [
        pa.field("ts_event", pa.int64(), nullable=False),  # bar open time
        pa.field("ts_recv", pa.int64(), nullable=False),  # bar close time (when it is known)
        pa.field("venue", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("symbol", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("interval_ns", pa.int64(), nullable=False),
        pa.field("open", pa.int64(), nullable=False),
        pa.field("high", pa.int64(), nullable=False),
        pa.field("low", pa.int64(), nullable=False),
        pa.field("close", pa.int64(), nullable=False),
        pa.field("volume", pa.int64(), nullable=False),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {"trades": TRADES, "quotes": QUOTES, "book": BOOK, "candles": CANDLES}

F_SNAPSHOT = 1
F_LAST = 2

SCHEMA_VERSION = "1"

PRICE_SCALE_KEY = "harness.price_scale"
SIZE_SCALE_KEY = "harness.size_scale"
SCALE_KEYS = (PRICE_SCALE_KEY, SIZE_SCALE_KEY)
"""Metadata keys holding the number of decimals of the fixed-point price and size columns."""

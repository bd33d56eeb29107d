"""One canonical Parquet file, read lazily for the replay feed (``sim.market.feed``).

A ``FileCursor`` walks one file record batch by record batch (``pyarrow`` reads row groups on
demand, so memory holds about one batch per file). Each batch is turned, once and with
column-at-a-time conversions only, into what the feed's hot loop wants:

* ``keys``: the order key of every row as Python ints (the chosen timestamp column, made
  monotone; see below), plus the same keys as a numpy array for vectorized merging;
* ``events``: a *lazy* iterator that builds the market-data ``NamedTuple`` of each row in C
  (``tuple.__new__`` mapped over a ``zip`` of column lists). The tuples are created only when
  the feed pulls them, so a batch never holds tens of thousands of live tuples (that would
  cost cyclic-GC passes on every batch);
* ``handlers``: the subscriber callable of every row, resolved once per distinct
  (venue, symbol) of the batch from the dictionary codes, never per row by string lookup.

Order keys are forced to be non-decreasing within a file (running maximum, carried across
batches): a file is expected to be sorted by its order column, and a row that goes back in
time is delivered in file order at the time already reached instead of moving the virtual
clock backwards. Book rows get one more rule: every row of a message (a run of rows ending
with the ``F_LAST`` flag) takes the key of the message's first row, so a message is never
interleaved with other files' events nor cut by the horizon.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from itertools import islice
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from harness.data.canonical import canonical_kind
from harness.data.errors import CanonicalFileError
from harness.data.schema import F_LAST
from harness.model import BookDelta, Candle, Quote, Trade
from sim.market.chunked_events import ChunkedEvents, Column, TextColumn

__all__ = [
    "EVENT_TYPES",
    "KIND_OF_TYPE",
    "ORDER_COLUMNS",
    "TRADE_ARRAYS",
    "Batch",
    "FileCursor",
    "Handler",
    "Int64Array",
    "ReplayFileError",
    "Resolver",
    "infer_kind",
    "open_cursors",
]

Handler = Callable[[Any], None]
"""A subscriber callback as the feed stores it: takes one market-data tuple, returns nothing."""

Resolver = Callable[[str, str, str], Handler]
"""Maps (kind, venue, symbol) to the one callable that delivers such an event to its subscribers."""

Int64Array = npt.NDArray[np.int64]

EVENT_TYPES: dict[str, type[tuple[Any, ...]]] = {
    "trades": Trade,
    "quotes": Quote,
    "book": BookDelta,
    "candles": Candle,
}
"""The ``NamedTuple`` each kind of canonical file is delivered as."""

KIND_OF_TYPE: dict[type[tuple[Any, ...]], str] = {cls: kind for kind, cls in EVENT_TYPES.items()}
"""Inverse of ``EVENT_TYPES``: the kind of a delivered event, from its type."""

# Parquet column feeding each NamedTuple field, in field order. Candles differ from their
# file: the bar's open time is the file's ts_event and the close time (ts_recv) is not a field.
_COLUMNS: dict[str, tuple[str, ...]] = {
    kind: tuple("ts_event" if name == "ts_open" else name for name in cls._fields)  # type: ignore[attr-defined]
    for kind, cls in EVENT_TYPES.items()
}

TRADE_ARRAYS = ("ts_event", "ts_recv", "price", "size", "aggressor")
"""Trade columns a ``Batch`` also keeps as numpy int64 arrays (``Batch.arrays``)."""

ORDER_COLUMNS = ("ts_recv", "ts_event")
"""Timestamp columns the feed can order by."""


class ReplayFileError(CanonicalFileError):
    """A file given to the replay feed is not a canonical market-data Parquet file."""


def infer_kind(path: str | os.PathLike[str], schema: Any) -> str:
    """The canonical kind of a Parquet file, checked by ``harness.data.canonical.canonical_kind``.

    Files written by ``harness.data.sink.ParquetSink`` carry the kind in their metadata; files
    written by hand are recognised by their column names. Missing or mistyped columns and a
    fixed-point scale other than ours are refused.
    """
    try:
        return canonical_kind(path, schema)
    except CanonicalFileError as exc:
        raise ReplayFileError(str(exc)) from exc


def _int_list(array: Any) -> list[int]:
    """An int column as a Python list, through numpy (about twice as fast as ``to_pylist``)."""
    values: list[int] = array.to_numpy().tolist()
    return values


def _skip_lists(iterators: list[Any], start: int, count: int) -> None:
    """Set list iterators from row ``start`` to row ``start + count`` (``Batch.skip_events``)."""
    row = start + count
    for iterator in iterators:
        iterator.__setstate__(row)


def _list_rows(values: list[Any], lo: int, hi: int) -> list[Any]:
    """Rows ``[lo, hi)`` of a column already held as a list."""
    return values[lo:hi]


def _int_rows(values: npt.NDArray[Any], lo: int, hi: int) -> list[int]:
    """Rows ``[lo, hi)`` of an int column as Python ints."""
    rows: list[int] = values[lo:hi].tolist()
    return rows


def _text_rows(array: Any, lo: int, hi: int) -> list[Any]:
    """Rows ``[lo, hi)`` of a text column as Python values (as the whole column converts)."""
    rows: list[Any] = array.slice(lo, hi - lo).to_numpy(zero_copy_only=False).tolist()
    return rows


def _dictionary_parts(array: Any) -> tuple[list[str], npt.NDArray[np.int32]]:
    """(dictionary values, per-row codes) of a venue/symbol column, dictionary-encoded or not."""
    if not pa.types.is_dictionary(array.type):
        array = array.dictionary_encode()
    values: list[str] = array.dictionary.to_pylist()
    codes: npt.NDArray[np.int32] = array.indices.to_numpy()
    return values, codes


def _allowed_codes(values: list[str], allowed: frozenset[str] | None) -> npt.NDArray[np.bool_] | None:
    """Per dictionary entry: is it allowed by the filter (None when there is no filter)."""
    if allowed is None:
        return None
    return np.fromiter((v in allowed for v in values), dtype=np.bool_, count=len(values))


class Batch:
    """One converted record batch of a file, consumed front to back by the feed.

    ``pos`` counts rows already handed to the feed (their events pulled or about to be);
    ``events`` advances in step with it; ``keys``, ``keys_np`` and ``handlers`` are indexed
    from the start of the batch.
    """

    __slots__ = ("_skip", "arrays", "events", "handlers", "keys", "keys_np", "n", "pos", "route_codes",
                 "routes", "trade_ids")

    def __init__(self, keys: list[int], keys_np: Int64Array, events: Iterator[Any],
                 routes: list[tuple[str, str]], route_codes: list[int] | None, *,
                 arrays: dict[str, Int64Array] | None = None, trade_ids: Sequence[str] | None = None,
                 skip: Callable[[int, int], None] | None = None) -> None:
        self._skip = skip
        """Moves ``events`` past rows without building them (trade batches, ``skip_events``)."""
        self.arrays = arrays
        """Numpy columns kept for vectorized consumers (trades: ``TRADE_ARRAYS``)."""
        self.trade_ids = trade_ids
        """Trades: the ``trade_id`` column, read lazily."""
        self.keys = keys
        self.keys_np = keys_np
        self.events = events
        self.routes = routes
        self.route_codes = route_codes
        self.n = len(keys)
        self.pos = 0
        self.handlers: list[Handler] = []

    def skip_events(self, start: int, count: int) -> None:
        """Move ``events`` from row ``start`` (where it is) past ``count`` rows without building them.

        A trade batch's events are built from column lists (list iterators set forward) or, when
        its client takes trades as columns, chunk by chunk (``ChunkedEvents``: the skipped rows'
        values are then never made). Otherwise the events are pulled and dropped.
        """
        if self._skip is None:
            deque(islice(self.events, count), maxlen=0)
            return
        self._skip(start, count)

    def handlers_from(self, row: int) -> Iterator[Handler]:
        """The handlers of the rows from ``row`` on, read live (``resolve`` changes show at once)."""
        return islice(self.handlers, row, None)

    def resolve(self, kind: str, resolver: Resolver) -> None:
        """(Re)compute every row's handler, in place so iterators already running see the change."""
        table = [resolver(kind, venue, symbol) for venue, symbol in self.routes]
        fresh = [table[0]] * self.n if self.route_codes is None else list(map(table.__getitem__, self.route_codes))
        self.handlers[:] = fresh


class FileCursor:
    """Lazy reader of one canonical Parquet file, producing ``Batch`` objects in file order.

    ``file_idx`` is the caller's position of the file: it breaks timestamp ties between files.
    """

    def __init__(self, path: str | os.PathLike[str], file_idx: int, *, order_by: str,
                 batch_size: int, venues: frozenset[str] | None,
                 symbols: frozenset[str] | None) -> None:
        if order_by not in ORDER_COLUMNS:
            raise ValueError(f"order_by must be one of {ORDER_COLUMNS}, not {order_by!r}")
        self.path = os.fspath(path)
        self.file_idx = file_idx
        try:
            self._file: Any = pq.ParquetFile(self.path)
        except (OSError, pa.ArrowException) as exc:
            raise ReplayFileError(f"{self.path}: cannot open as Parquet: {exc}") from exc
        schema = self._file.schema_arrow
        self.kind = infer_kind(self.path, schema)
        self.event_type = EVENT_TYPES[self.kind]
        self._make: Callable[[tuple[Any, ...]], Any] = partial(tuple.__new__, self.event_type)
        self._order_by = order_by
        self._venues = venues
        self._symbols = symbols
        self._fields = _COLUMNS[self.kind]
        read_columns = sorted(set(self._fields) | {order_by, "venue", "symbol"}
                              | ({"flags"} if self.kind == "book" else set()),
                              key=list(schema.names).index)
        self._batches: Iterator[Any] | None = self._read(batch_size, read_columns)
        self._carry_max: int | None = None  # running maximum of the order key so far
        self._open_message_key: int | None = None  # book: key of a message still missing F_LAST
        self.batch: Batch | None = None
        self.columns_wanted: Callable[[list[tuple[str, str]]], bool] | None = None
        """Trades: says of a batch's routes whether their client takes trades as columns; its
        events are then built chunk by chunk (``ChunkedEvents``), otherwise all at once."""

    def _read(self, batch_size: int, columns: list[str]) -> Iterator[Any]:
        """The file's record batches, one row group at a time.

        One reader over every row group keeps memory it has used for the whole file (peak memory
        grew with the file's length); a reader per row group frees each group once it is read.
        """
        for group in range(self._file.num_row_groups):
            yield from self._file.iter_batches(batch_size=batch_size, row_groups=[group], columns=columns,
                                               use_threads=False)

    @property
    def exhausted(self) -> bool:
        """True once every row of the file has been read (the last batch may still be pending)."""
        return self._batches is None

    def close(self) -> None:
        """Release the file; the cursor then behaves as exhausted."""
        self._batches = None
        self._file.close()

    def load(self, resolver: Resolver) -> bool:
        """Make ``self.batch`` the next non-empty batch; False when the file has no more rows."""
        while self._batches is not None:
            record_batch = next(self._batches, None)
            if record_batch is None:
                self.close()
                break
            batch = self._convert(record_batch)
            if batch is not None:
                batch.resolve(self.kind, resolver)
                self.batch = batch
                return True
        self.batch = None
        return False

    def _convert(self, rb: Any) -> Batch | None:
        """Turn one pyarrow RecordBatch into a ``Batch`` (None when the filters leave no row)."""
        venue_values, venue_codes = _dictionary_parts(rb.column("venue"))
        symbol_values, symbol_codes = _dictionary_parts(rb.column("symbol"))
        allowed_v = _allowed_codes(venue_values, self._venues)
        allowed_s = _allowed_codes(symbol_values, self._symbols)
        if allowed_v is not None or allowed_s is not None:
            mask = np.ones(rb.num_rows, dtype=np.bool_)
            if allowed_v is not None:
                mask &= allowed_v[venue_codes]
            if allowed_s is not None:
                mask &= allowed_s[symbol_codes]
            if not mask.all():
                rb = rb.filter(pa.array(mask))
                venue_values, venue_codes = _dictionary_parts(rb.column("venue"))
                symbol_values, symbol_codes = _dictionary_parts(rb.column("symbol"))
        n = rb.num_rows
        if n == 0:
            return None

        # Routes: the distinct (venue, symbol) pairs of the batch and each row's pair index.
        if venue_codes.min() == venue_codes.max() and symbol_codes.min() == symbol_codes.max():
            venue, symbol = venue_values[int(venue_codes[0])], symbol_values[int(symbol_codes[0])]
            routes = [(venue, symbol)]
            route_codes: list[int] | None = None
            venue_list: list[str] = [venue] * n
            symbol_list: list[str] = [symbol] * n
        else:
            pair = venue_codes.astype(np.int64) * len(symbol_values) + symbol_codes
            unique_pairs, inverse = np.unique(pair, return_inverse=True)
            routes = [(venue_values[int(p) // len(symbol_values)], symbol_values[int(p) % len(symbol_values)])
                      for p in unique_pairs]
            route_codes = inverse.reshape(-1).tolist()
            venue_list = np.asarray(venue_values, dtype=object)[venue_codes].tolist()
            symbol_list = np.asarray(symbol_values, dtype=object)[symbol_codes].tolist()

        if self.kind == "trades":
            return self._trades_batch(rb, venue_list, symbol_list, routes, route_codes)
        columns: dict[str, list[Any]] = {"venue": venue_list, "symbol": symbol_list}
        for name in self._fields:
            if name in columns:
                continue
            array = rb.column(name)
            if pa.types.is_integer(array.type):
                columns[name] = _int_list(array)
            else:
                columns[name] = array.to_numpy(zero_copy_only=False).tolist()

        keys_np, keys = self._keys(rb, columns)
        events = map(self._make, zip(*(columns[name] for name in self._fields), strict=False))
        return Batch(keys, keys_np, events, routes, route_codes)

    def _trades_batch(self, rb: Any, venue_list: list[str], symbol_list: list[str], routes: list[tuple[str, str]],
                      route_codes: list[int] | None) -> Batch:
        """A trade batch: its int columns also kept as numpy arrays and its trade ids as a lazy
        ``TextColumn`` (the trade fast path and ``Strategy.on_trades`` read those,
        ``sim.venue.trade_runs``); its events built all at once, or chunk by chunk
        (``ChunkedEvents``) when ``columns_wanted`` says the client takes trades as columns."""
        keys_np, keys = self._keys(rb, {})
        lists: dict[str, list[Any]] = {"venue": venue_list, "symbol": symbol_list}
        if np.array_equal(keys_np, rb.column(self._order_by).to_numpy()):
            lists[self._order_by] = keys  # the keys are that column's values: share their ints
        columns: list[Column] = []
        for name in self._fields:
            if name in lists:
                columns.append(partial(_list_rows, lists[name]))
                continue
            array = rb.column(name)
            columns.append(partial(_int_rows, array.to_numpy()) if pa.types.is_integer(array.type)
                           else partial(_text_rows, array))
        n = rb.num_rows
        arrays = {name: rb.column(name).to_numpy().astype(np.int64, copy=False) for name in TRADE_ARRAYS}
        trade_ids = TextColumn(rb.column("trade_id"))
        if self.columns_wanted is not None and self.columns_wanted(routes):
            chunks = ChunkedEvents(self._make, columns, n)
            return Batch(keys, keys_np, chunks.events, routes, route_codes, arrays=arrays, trade_ids=trade_ids,
                         skip=chunks.skip)
        iterators = [iter(lists[name] if name in lists else column(0, n))
                     for name, column in zip(self._fields, columns, strict=True)]
        events = map(self._make, zip(*iterators, strict=False))
        return Batch(keys, keys_np, events, routes, route_codes, arrays=arrays, trade_ids=trade_ids,
                     skip=partial(_skip_lists, iterators))

    def _keys(self, rb: Any, columns: dict[str, list[Any]]) -> tuple[Int64Array, list[int]]:
        """Order keys of a batch: the order column made monotone (and per message for book)."""
        raw: Int64Array = rb.column(self._order_by).to_numpy()
        carry = self._carry_max
        monotone = bool(np.all(raw[1:] >= raw[:-1])) and (carry is None or int(raw[0]) >= carry)
        keys_np = raw if monotone else np.maximum.accumulate(
            raw if carry is None else np.maximum(raw, carry))
        self._carry_max = int(keys_np[-1])
        if self.kind == "book":
            keys_np = self._message_keys(rb, keys_np)
        elif monotone and self._order_by in columns:
            return keys_np, columns[self._order_by]  # the column list already holds the keys
        return keys_np, keys_np.tolist()

    def _message_keys(self, rb: Any, keys_np: Int64Array) -> Int64Array:
        """Give every book row the key of its message's first row (messages end at ``F_LAST``)."""
        last = (rb.column("flags").to_numpy() & F_LAST) != 0
        n = len(keys_np)
        starts = np.empty(n, dtype=np.bool_)
        starts[0] = self._open_message_key is None
        starts[1:] = last[:-1]
        start_idx = np.maximum.accumulate(np.where(starts, np.arange(n), -1))
        filled = keys_np[np.maximum(start_idx, 0)]
        if self._open_message_key is not None:  # rows continuing a message from the last batch
            filled = np.where(start_idx < 0, self._open_message_key, filled)
        self._open_message_key = None if bool(last[-1]) else int(filled[-1])
        result: Int64Array = filled.astype(np.int64, copy=False)
        return result


def open_cursors(paths: Sequence[str | os.PathLike[str]], *, order_by: str, batch_size: int,
                 venues: frozenset[str] | None, symbols: frozenset[str] | None) -> list[FileCursor]:
    """Open one ``FileCursor`` per path, the list index being the file's tie-break rank."""
    cursors: list[FileCursor] = []
    try:
        for idx, path in enumerate(paths):
            cursors.append(FileCursor(path, idx, order_by=order_by, batch_size=batch_size,
                                      venues=venues, symbols=symbols))
    except BaseException:
        for cursor in cursors:
            cursor.close()
        raise
    return cursors

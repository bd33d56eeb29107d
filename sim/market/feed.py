"""The replay feed: recorded market data from canonical Parquet files, in time order, to subscribers.

``ReplayFeed`` merges any number of canonical files (trades, quotes, book, candles; several
venues and symbols; a stream split over several files such as ``_20240808`` then
``_20240809``) into one stream ordered by a timestamp column (``ts_recv``, "as recorded", by
default; or ``ts_event``). Ties are broken by the file's position in the list the caller gave,
then by row order, so a replay is deterministic.

It is a ``sim.kernel.sources.MarketSource``: the runtime calls ``deliver(vt)`` and the feed runs plain
synchronous callbacks (``on_trade(Trade)``, ``on_quote(Quote)``, ``on_book(BookDelta)``,
``on_candle(Candle)``) for every event up to ``vt.horizon_ns``, setting ``vt.now_ns`` first and
re-reading the horizon before each event. ``run_all()`` delivers everything with no runtime.

How it stays fast (this is the hot loop of every backtest):

* Each file is read lazily, one record batch at a time, and converted column-wise in C
  (``sim.market.cursor``); tuples are built lazily by ``map`` over ``zip`` of column lists and
  each row's subscriber is resolved per (venue, symbol), not per row.
* Files are merged a *window* at a time instead of one heap operation per event: the rows of
  all buffered batches that can safely go next (they sort before anything not yet read) are
  ordered with one stable numpy sort, then delivered by a single tight loop
  ``for ts, event, handler in run``. When only one file contributes to a window (sequential
  day files, or one file far ahead of the others) there is no sort and no copy at all.
* The per-event work is: unpack, compare with ``vt.horizon_ns``, store ``vt.now_ns``, call.

Semantics worth knowing: ``vt.now_ns`` is the event's order key, which is its timestamp except
for rows that go back in time within a file (delivered in file order at the time already
reached) and book rows (all rows of a message, up to the ``F_LAST`` flag, take the message's
first timestamp, so a message is never split or interleaved). A callback that raises leaves
the feed consistent: the event counts as delivered.
"""

from __future__ import annotations

import os
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any

import numpy as np

from harness.model import BookDelta, Candle, Quote, Trade
from harness.money import INT64_MAX
from sim.channels import IDLE, ClientTap, TapSet
from sim.kernel.sources import VirtualTime
from sim.market.cursor import (
    EVENT_TYPES,
    KIND_OF_TYPE,
    ORDER_COLUMNS,
    Batch,
    FileCursor,
    Handler,
    ReplayFileError,
    open_cursors,
)
from sim.venue.trade_runs import TradeRunner

__all__ = ["BUFFERED_ROWS", "DEFAULT_BATCH_SIZE", "MIN_BATCH_SIZE", "ReplayFeed", "ReplayFileError"]

DEFAULT_BATCH_SIZE = 65_536
"""Most rows per record batch read from one file: big enough to amortise conversions."""

BUFFERED_ROWS = 262_144
"""Default budget of converted rows held across all files (about 100 MB of Python objects for
trades); with many files each one gets a smaller batch, never below ``MIN_BATCH_SIZE``."""

MIN_BATCH_SIZE = 4_096

_Event = tuple[int, Any, Handler]


def _noop(event: Any) -> None:
    """Handler of events nobody subscribed to."""


def _fanout(callbacks: tuple[Handler, ...]) -> Handler:
    """One handler calling several subscribers in subscription order."""

    def deliver_to_all(event: Any) -> None:
        for callback in callbacks:
            callback(event)

    return deliver_to_all


class _Unbounded:
    """A ``VirtualTime`` whose horizon never stops delivery (for ``run_all``)."""

    __slots__ = ("horizon_ns", "now_ns")

    def __init__(self) -> None:
        self.now_ns = 0
        self.horizon_ns = INT64_MAX


class _Window:
    """Rows [pos, end) of one file's batch, delivered by index so a ``TradeRunner`` can take runs."""

    __slots__ = ("batch", "end", "pos")

    def __init__(self, batch: Batch, pos: int, end: int) -> None:
        self.batch, self.pos, self.end = batch, pos, end


class ReplayFeed:
    """Canonical Parquet market data delivered to synchronous subscribers in time order.

    ``files`` are merged by ``order_by`` (``"ts_recv"`` or ``"ts_event"``); a tie goes to the
    file given first, then to the earlier row. ``venues``/``symbols`` drop every other row at
    read time. Subscribers may be given here (``on_trade`` ...) or added later with
    ``subscribe`` and the typed ``subscribe_*`` helpers, each optionally restricted to one venue
    and/or symbol; they take effect from the next undelivered event, even when added from
    inside a callback. Files are opened at once (bad files fail here) and read lazily,
    ``batch_size`` rows at a time per file (default: 65,536, less when there are more than four
    files, so memory stays bounded).
    """

    def __init__(
        self,
        files: Sequence[str | os.PathLike[str]],
        *,
        order_by: str = "ts_recv",
        venues: Iterable[str] | None = None,
        symbols: Iterable[str] | None = None,
        on_trade: Callable[[Trade], None] | None = None,
        on_quote: Callable[[Quote], None] | None = None,
        on_book: Callable[[BookDelta], None] | None = None,
        on_candle: Callable[[Candle], None] | None = None,
        batch_size: int | None = None,
    ) -> None:
        if order_by not in ORDER_COLUMNS:
            raise ValueError(f"order_by must be one of {ORDER_COLUMNS}, not {order_by!r}")
        if isinstance(files, (str, os.PathLike)):
            raise TypeError("files must be a sequence of paths, not one path")
        if batch_size is None:
            batch_size = min(DEFAULT_BATCH_SIZE, max(MIN_BATCH_SIZE, BUFFERED_ROWS // max(1, len(files))))
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, not {batch_size}")
        self.order_by = order_by
        self._subscriptions: list[tuple[str, str | None, str | None, Handler]] = []
        self._routes: dict[tuple[str, str, str], Handler] = {}
        self._cursors = open_cursors(
            files, order_by=order_by, batch_size=batch_size,
            venues=None if venues is None else frozenset(venues),
            symbols=None if symbols is None else frozenset(symbols))
        self._live: list[FileCursor] = list(self._cursors)
        self._run: Iterator[_Event] = iter(())
        self._pending: _Event | None = None
        self._win: _Window | None = None
        self.fast = True
        """Let trade handlers with a ``TradeRunner`` take runs of quiet trades (``sim.venue.trade_runs``);
        False forces the one-event-at-a-time path (the fast path's tests compare the two)."""
        self._busy = False
        self._taps: TapSet | None = None
        for kind, callback in (("trades", on_trade), ("quotes", on_quote), ("book", on_book),
                               ("candles", on_candle)):
            if callback is not None:
                self.subscribe(kind, callback)

    # ----------------------------------------------------------------- subscriptions

    @property
    def kinds(self) -> list[str]:
        """The kind of each file, in the order the files were given."""
        return [cursor.kind for cursor in self._cursors]

    def subscribe(self, kind: str, callback: Callable[[Any], None], *, venue: str | None = None,
                  symbol: str | None = None) -> None:
        """Call ``callback(event)`` for every event of ``kind`` (optionally one venue/symbol).

        ``kind`` is ``"trades"``, ``"quotes"``, ``"book"`` or ``"candles"``. Several
        subscribers of one event are called in subscription order.
        """
        if kind not in EVENT_TYPES:
            raise ValueError(f"kind must be one of {tuple(EVENT_TYPES)}, not {kind!r}")
        self._subscriptions.append((kind, venue, symbol, callback))
        self._routes.clear()
        for cursor in self._cursors:
            if cursor.batch is not None:
                cursor.batch.resolve(cursor.kind, self._route)
        if self._pending is not None:
            ts, event, _ = self._pending
            self._pending = (ts, event, self._route(KIND_OF_TYPE[type(event)], event.venue, event.symbol))

    def subscribe_trades(self, callback: Callable[[Trade], None], *, venue: str | None = None,
                         symbol: str | None = None) -> None:
        """Subscribe ``callback`` to trades (optionally of one venue and/or symbol)."""
        self.subscribe("trades", callback, venue=venue, symbol=symbol)

    def subscribe_quotes(self, callback: Callable[[Quote], None], *, venue: str | None = None,
                         symbol: str | None = None) -> None:
        """Subscribe ``callback`` to best bid/ask quotes (optionally of one venue and/or symbol)."""
        self.subscribe("quotes", callback, venue=venue, symbol=symbol)

    def subscribe_book(self, callback: Callable[[BookDelta], None], *, venue: str | None = None,
                       symbol: str | None = None) -> None:
        """Subscribe ``callback`` to book rows, one call per row; ``F_LAST`` ends a message."""
        self.subscribe("book", callback, venue=venue, symbol=symbol)

    def subscribe_candles(self, callback: Callable[[Candle], None], *, venue: str | None = None,
                          symbol: str | None = None) -> None:
        """Subscribe ``callback`` to candles (optionally of one venue and/or symbol)."""
        self.subscribe("candles", callback, venue=venue, symbol=symbol)

    def _route(self, kind: str, venue: str, symbol: str) -> Handler:
        """The one handler for events of (kind, venue, symbol), cached until subscriptions change."""
        key = (kind, venue, symbol)
        handler = self._routes.get(key)
        if handler is None:
            callbacks = tuple(cb for k, v, s, cb in self._subscriptions
                              if k == kind and v in (None, venue) and s in (None, symbol))
            handler = _noop if not callbacks else callbacks[0] if len(callbacks) == 1 else _fanout(callbacks)
            self._routes[key] = handler
        return handler

    # ----------------------------------------------------------------- MarketSource

    def add_tap(self, tap: ClientTap) -> None:
        """Host a ``ClientTap`` that this feed's callbacks push into (``SimAdapter.attach_feed``).

        From then on the feed is the tap's source too: it delivers the tap's entries (the
        client's delayed copies of the market data) merged with its own events, by time, its
        own events first at equal times, taps in the order they were added (``sim.channels``).
        """
        if self._taps is None:
            self._taps = TapSet()
        self._taps.add(tap)

    def peek_ts(self) -> int | None:
        """Time (ns) of the next undelivered event or tap arrival, or None when nothing is left."""
        self._check_not_busy()
        ts = self._next_key()
        due = IDLE if self._taps is None else self._taps.due_ns
        if ts is None:
            return None if due == IDLE else due
        return ts if ts <= due else due

    def _next_key(self) -> int | None:
        """Order key of the next undelivered feed event (not tap arrival), None when none is left."""
        while True:
            win = self._win
            if win is not None:
                if win.pos < win.end:
                    return win.batch.keys[win.pos]
                self._win = None
            if self._pending is None:
                self._pending = next(self._run, None)
            if self._pending is not None:
                return self._pending[0]
            if not self._next_run():
                return None

    def deliver(self, vt: VirtualTime) -> None:
        """Deliver events (and hosted taps' arrivals) in time order up to ``vt.horizon_ns``.

        Sets ``vt.now_ns`` to each event's timestamp before its callbacks and re-reads
        ``vt.horizon_ns`` before every event, so a callback that lowers the horizon stops the
        batch right after itself (the rest of the current nanosecond still comes first). Returns
        when the next event is beyond the horizon or everything is delivered; with taps it may
        also return at a tie with the current time after a callback made something ready
        (``sim.channels``), the one case where its next time equals the horizon.
        """
        self._check_not_busy()
        self._busy = True
        try:
            if self._taps is None:
                self._deliver_plain(vt)
            else:
                self._deliver_tapped(vt, self._taps)
        finally:
            self._busy = False

    def _deliver_plain(self, vt: VirtualTime) -> None:
        """``deliver`` without taps."""
        pending = self._pending
        while True:
            win = self._win
            if win is not None:
                if not self._deliver_window_plain(win, vt):
                    return
                self._win = None
            if pending is None:
                pending = next(self._run, None)
                if pending is None:
                    if not self._next_run():
                        return
                    continue
            ts, event, handler = pending
            if ts > vt.horizon_ns:
                self._pending = pending
                return
            self._pending = None
            vt.now_ns = ts
            handler(event)
            # The hot loop: everything else in this class exists to keep it this small.
            for ts, event, handler in self._run:
                if ts > vt.horizon_ns:
                    self._pending = (ts, event, handler)
                    return
                vt.now_ns = ts
                handler(event)
            pending = None

    @staticmethod
    def _deliver_window_plain(win: _Window, vt: VirtualTime) -> bool:
        """A window's rows without taps; True when the window is done, False at the horizon."""
        batch, end = win.batch, win.end
        keys, handlers = batch.keys, batch.handlers
        i = win.pos
        try:
            while i < end:
                ts = keys[i]
                if ts > vt.horizon_ns:
                    return False
                vt.now_ns = ts
                i += 1
                handlers[i - 1](next(batch.events))
            return True
        finally:
            win.pos = i

    def _deliver_tapped(self, vt: VirtualTime, taps: TapSet) -> None:
        """``deliver`` merged with hosted taps: before each event, flush the arrivals due before it."""
        pending = self._pending
        started = False
        while True:
            if self._win is not None:
                if not self._deliver_window(self._win, vt, taps, started):
                    return
                started = True
                self._win = None
            if pending is None:
                pending = next(self._run, None)
                if pending is None:
                    if not self._next_run():
                        if taps.due_ns <= vt.horizon_ns:
                            taps.flush(vt, IDLE, started)
                        return
                    continue
            ts, event, handler = pending
            if ts > taps.due_ns:
                taps.flush(vt, ts, started)
                started = True
            if ts > vt.horizon_ns or ts > taps.due_ns:
                self._pending = pending
                return
            self._pending = None
            vt.now_ns = ts
            handler(event)
            started = True
            # The hot loop: the client's copies usually arrive between two events.
            for ts, event, handler in self._run:
                if ts > taps.due_ns:
                    taps.flush(vt, ts, True)
                    if ts > taps.due_ns or ts > vt.horizon_ns:
                        pending = (ts, event, handler)
                        break
                elif ts > vt.horizon_ns:
                    pending = (ts, event, handler)
                    break
                vt.now_ns = ts
                handler(event)
            else:
                pending = None

    def _deliver_window(self, win: _Window, vt: VirtualTime, taps: TapSet, started: bool) -> bool:
        """Deliver a window's rows like ``_deliver_tapped`` does, handing runs of quiet trades to
        its ``TradeRunner``; True when the window is done, False when the horizon stopped it."""
        batch, end = win.batch, win.end
        runner = self._runner_for(batch)
        keys, handlers = batch.keys, batch.handlers
        i = win.pos
        try:
            while i < end:
                ts = keys[i]
                if ts > taps.due_ns:
                    taps.flush(vt, ts, started)
                    started = True
                    if ts > taps.due_ns or ts > vt.horizon_ns:
                        return False
                elif ts > vt.horizon_ns:
                    return False
                if runner is not None and vt.now_ns < vt.horizon_ns:
                    try:
                        taken = runner.run(batch, i, end, vt)
                    except BaseException:
                        i = runner.position
                        raise
                    if taken != i:
                        i = taken
                        started = True
                        continue
                vt.now_ns = ts
                i += 1
                handlers[i - 1](next(batch.events))
                started = True
            return True
        finally:
            win.pos = i

    def run_all(self) -> None:
        """Deliver every remaining event, ignoring time (for tools and benchmarks)."""
        self.deliver(_Unbounded())

    def close(self) -> None:
        """Release every file; the feed then delivers nothing more."""
        for cursor in self._cursors:
            cursor.close()
            cursor.batch = None
        self._live = []
        self._run = iter(())
        self._pending = None
        self._win = None

    def __enter__(self) -> ReplayFeed:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _check_not_busy(self) -> None:
        if self._busy:
            raise RuntimeError("ReplayFeed.peek_ts/deliver called from inside one of its own callbacks")

    # ----------------------------------------------------------------- merging

    def _next_run(self) -> bool:
        """Set ``self._run`` to the next window of events in order; False when nothing is left.

        Every file keeps one batch buffered. Let ``t`` be the file, among those with unread
        rows, whose buffered batch ends with the smallest (key, file index), ``B`` its last key.
        Any unread row sorts after (B, t), so every buffered row up to (B, t) can go now: from
        files before or equal to ``t`` the rows with key <= B, from files after it those with
        key < B. That always includes the whole batch of ``t``, so each window makes progress.
        """
        live: list[FileCursor] = []
        for cursor in self._live:
            batch = cursor.batch
            if (batch is None or batch.pos >= batch.n) and not cursor.load(self._route):
                continue
            live.append(cursor)
        self._live = live
        if not live:
            return False
        limit: FileCursor | None = None
        bound = 0
        for cursor in live:
            assert cursor.batch is not None
            if not cursor.exhausted and (limit is None or cursor.batch.keys[-1] < bound):
                limit, bound = cursor, cursor.batch.keys[-1]
        takes: list[tuple[FileCursor, int, int]] = []
        for cursor in live:
            batch = cursor.batch
            assert batch is not None
            if limit is None:
                end = batch.n
            else:
                search = bisect_right if cursor.file_idx <= limit.file_idx else bisect_left
                end = search(batch.keys, bound, batch.pos)
            if end > batch.pos:
                takes.append((cursor, batch.pos, end))
        if len(takes) == 1:
            cursor, start, end = takes[0]
            batch = cursor.batch
            assert batch is not None
            batch.pos = end
            if batch.arrays is not None and batch.route_codes is None:  # trades of one route
                self._win = _Window(batch, start, end)
                self._run = iter(())
                return True
            keys = batch.keys if start == 0 and end == batch.n else batch.keys[start:end]
            self._run = zip(keys, batch.events, batch.handlers_from(start), strict=False)
            return True
        self._run = self._merge(takes)
        return True

    def _runner_for(self, batch: Batch) -> TradeRunner | None:
        """The ``TradeRunner`` that may take runs of this batch: only for a batch of one route whose
        handler has one, when that handler's tap is the only one this feed hosts."""
        if not self.fast or batch.route_codes is not None or not batch.handlers or batch.arrays is None:
            return None
        runner = getattr(batch.handlers[0], "fast", None)
        if not isinstance(runner, TradeRunner) or self._taps is None or self._taps.taps != [runner.tap]:
            return None
        return runner

    @staticmethod
    def _merge(takes: list[tuple[FileCursor, int, int]]) -> Iterator[_Event]:
        """Interleave row ranges of several files by (key, file index, row) with one stable sort.

        Rows of one file stay in file order, so the merged events are pulled from each file's
        own lazy event and handler iterators, picked by a per-row source index.
        """
        events: list[Iterator[Any]] = []
        handlers: list[Iterator[Handler]] = []
        key_parts = []
        counts = []
        for cursor, start, end in takes:
            batch = cursor.batch
            assert batch is not None
            key_parts.append(batch.keys_np[start:end])
            counts.append(end - start)
            events.append(batch.events)
            handlers.append(batch.handlers_from(start))
            batch.pos = end
        keys = np.concatenate(key_parts)
        order = np.argsort(keys, kind="stable")
        source: list[int] = np.repeat(np.arange(len(takes)), counts)[order].tolist()
        return zip(keys[order].tolist(),
                   map(next, map(events.__getitem__, source)),
                   map(next, map(handlers.__getitem__, source)), strict=False)

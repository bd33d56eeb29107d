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
  ordered with one stable numpy sort. When only one file contributes to a window (sequential
  day files, or one file far ahead of the others) there is no sort and no copy at all.
* Every window, merged or not, is delivered by the one loop of ``_deliver_window``: per event
  it compares with the next arrival of the hosted market-data channels and with
  ``vt.horizon_ns``, stores ``vt.now_ns``, and calls the row's handler on the next event.
* A subscriber registered with a ``TradeRunTaker`` (``subscribe_trades(..., runs=...)``) is
  offered the rows of each window of its own route and may take a whole run at once (the
  venue's trade fast path, ``sim.venue.trade_runs``).

Semantics worth knowing: ``vt.now_ns`` is the event's order key, which is its timestamp except
for rows that go back in time within a file (delivered in file order at the time already
reached) and book rows (all rows of a message, up to the ``F_LAST`` flag, take the message's
first timestamp, so a message is never split or interleaved). A callback that raises leaves
the feed consistent: the event counts as delivered.
"""

from __future__ import annotations

import os
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Protocol

import numpy as np

from harness.model import BookDelta, Candle, Quote, Trade
from harness.money import INT64_MAX
from sim.channels import IDLE, MarketDataChannel, TapSet
from sim.kernel.sources import VirtualTime
from sim.market.cursor import (
    EVENT_TYPES,
    ORDER_COLUMNS,
    Batch,
    FileCursor,
    Handler,
    ReplayFileError,
    open_cursors,
)

__all__ = ["BUFFERED_ROWS", "DEFAULT_BATCH_SIZE", "MIN_BATCH_SIZE", "ReplayFeed", "ReplayFileError",
           "TradeRunTaker"]

DEFAULT_BATCH_SIZE = 65_536
"""Most rows per record batch read from one file: big enough to amortise conversions."""

BUFFERED_ROWS = 262_144
"""Default budget of converted rows held across all files (about 100 MB of Python objects for
trades); with many files each one gets a smaller batch, never below ``MIN_BATCH_SIZE``."""

MIN_BATCH_SIZE = 4_096

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


class TradeRunTaker(Protocol):
    """A trade subscriber's companion that can take a run of a window's rows at once.

    Offered every row of a window of its subscriber's route (one file, one venue and symbol) when
    that subscriber is the route's only one; it returns the first row it did not take (``start``
    when it takes nothing). ``position`` holds that row even when a callback raised inside.
    """

    position: int

    @property
    def takes_columns(self) -> bool:
        """Whether the client takes trades as column batches (rows it takes need no ``Trade`` objects)."""

    def take(self, batch: Batch, start: int, end: int, vt: VirtualTime, taps: TapSet) -> int:
        """Hand rows ``[start, result)`` of ``batch`` to the venue and the client; rows up to ``end``
        are the window's."""


class _Window:
    """The next rows to deliver: order keys, a lazy event iterator and each row's handler.

    A single file's window reads its batch's own lists from ``pos`` to ``end``; a merged window
    holds the interleaved keys and handlers of several files (``sources`` rebuilds the handlers
    when subscriptions change). ``batch`` is set for a single-route trade window, whose rows a
    ``TradeRunTaker`` may take.
    """

    __slots__ = ("batch", "end", "events", "handlers", "keys", "pos", "sources")

    def __init__(self, keys: list[int], events: Any, handlers: list[Handler], pos: int, end: int, *,
                 batch: Batch | None = None,
                 sources: tuple[list[Batch], list[int], list[int]] | None = None) -> None:
        self.keys, self.events, self.handlers = keys, events, handlers
        self.pos, self.end = pos, end
        self.batch = batch
        self.sources = sources

    def resolve(self) -> None:
        """Re-read the merged rows' handlers from their batches (after ``Batch.resolve``)."""
        if self.sources is not None:
            batches, source, rows = self.sources
            self.handlers[:] = [batches[s].handlers[r] for s, r in zip(source, rows, strict=True)]


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
        self._subscriptions: list[tuple[str, str | None, str | None, Handler, TradeRunTaker | None]] = []
        self._routes: dict[tuple[str, str, str], Handler] = {}
        self._cursors = open_cursors(
            files, order_by=order_by, batch_size=batch_size,
            venues=None if venues is None else frozenset(venues),
            symbols=None if symbols is None else frozenset(symbols))
        for cursor in self._cursors:
            cursor.columns_wanted = self._columns_wanted
        self._live: list[FileCursor] = list(self._cursors)
        self._win: _Window | None = None
        self.fast = True
        """Let trade subscribers with a ``TradeRunTaker`` take runs of trades (``sim.venue.trade_runs``);
        False forces the one-event-at-a-time path (the fast path's tests compare the two)."""
        self._busy = False
        self._taps = TapSet()
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
                  symbol: str | None = None, runs: TradeRunTaker | None = None) -> None:
        """Call ``callback(event)`` for every event of ``kind`` (optionally one venue/symbol).

        ``kind`` is ``"trades"``, ``"quotes"``, ``"book"`` or ``"candles"``. Several
        subscribers of one event are called in subscription order. ``runs`` (trades only) may
        take runs of the subscriber's rows at once while it is the only subscriber of a route.
        """
        if kind not in EVENT_TYPES:
            raise ValueError(f"kind must be one of {tuple(EVENT_TYPES)}, not {kind!r}")
        if runs is not None and kind != "trades":
            raise ValueError("only trade subscriptions take runs")
        self._subscriptions.append((kind, venue, symbol, callback, runs))
        self._routes.clear()
        for cursor in self._cursors:
            if cursor.batch is not None:
                cursor.batch.resolve(cursor.kind, self._route)
        if self._win is not None:
            self._win.resolve()

    def subscribe_trades(self, callback: Callable[[Trade], None], *, venue: str | None = None,
                         symbol: str | None = None, runs: TradeRunTaker | None = None) -> None:
        """Subscribe ``callback`` to trades (optionally of one venue and/or symbol; see ``subscribe``)."""
        self.subscribe("trades", callback, venue=venue, symbol=symbol, runs=runs)

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
            callbacks = tuple(cb for k, v, s, cb, _ in self._subscriptions
                              if k == kind and v in (None, venue) and s in (None, symbol))
            handler = _noop if not callbacks else callbacks[0] if len(callbacks) == 1 else _fanout(callbacks)
            self._routes[key] = handler
        return handler

    def _columns_wanted(self, routes: list[tuple[str, str]]) -> bool:
        """Whether a trade batch of ``routes`` goes to a client that takes trades as columns (one route,
        its only subscriber's ``TradeRunTaker`` says so): its rows are then built only when pulled."""
        if not self.fast or len(routes) != 1:
            return False
        venue, symbol = routes[0]
        matching = [runs for k, v, s, _, runs in self._subscriptions
                    if k == "trades" and v in (None, venue) and s in (None, symbol)]
        return len(matching) == 1 and matching[0] is not None and matching[0].takes_columns

    def _runs_for(self, win: _Window) -> TradeRunTaker | None:
        """The ``TradeRunTaker`` that may take runs of this window: a single-route trade window whose
        route has exactly one subscriber, registered with one."""
        batch = win.batch
        if not self.fast or batch is None:
            return None
        venue, symbol = batch.routes[0]
        matching = [runs for k, v, s, _, runs in self._subscriptions
                    if k == "trades" and v in (None, venue) and s in (None, symbol)]
        return matching[0] if len(matching) == 1 else None

    # ----------------------------------------------------------------- MarketSource

    def add_tap(self, tap: MarketDataChannel) -> None:
        """Host a market-data channel that this feed's subscribers push into.

        From then on the feed is the channel's source too: it delivers the channel's entries
        (the client's delayed copies of the market data) merged with its own events, by time,
        its own events first at equal times, channels in the order they were added
        (``sim.channels``).
        """
        self._taps.add(tap)

    def peek_ts(self) -> int | None:
        """Time (ns) of the next undelivered event or channel arrival, or None when nothing is left."""
        self._check_not_busy()
        ts = self._next_key()
        due = self._taps.due_ns
        if ts is None:
            return None if due == IDLE else due
        return ts if ts <= due else due

    def _next_key(self) -> int | None:
        """Order key of the next undelivered feed event (not channel arrival), None when none is left."""
        win = self._window()
        return None if win is None else win.keys[win.pos]

    def _window(self) -> _Window | None:
        """The window holding the next undelivered event, reading on as needed; None at the end."""
        win = self._win
        while win is None or win.pos >= win.end:
            win = self._win = self._next_window()
            if win is None:
                return None
        return win

    def deliver(self, vt: VirtualTime) -> None:
        """Deliver events (and hosted channels' arrivals) in time order up to ``vt.horizon_ns``.

        Sets ``vt.now_ns`` to each event's timestamp before its callbacks and re-reads
        ``vt.horizon_ns`` before every event, so a callback that lowers the horizon stops the
        batch right after itself (the rest of the current nanosecond still comes first). Returns
        when the next event is beyond the horizon or everything is delivered; with channels it
        may also return at a tie with the current time after a callback made something ready
        (``sim.channels``), the one case where its next time equals the horizon.
        """
        self._check_not_busy()
        self._busy = True
        taps = self._taps
        started = False
        try:
            while True:
                win = self._window()
                if win is None:
                    if taps.due_ns <= vt.horizon_ns:
                        taps.flush(vt, IDLE, started)
                    return
                done, started = self._deliver_window(win, vt, taps, started)
                if not done:
                    return
        finally:
            self._busy = False

    def _deliver_window(self, win: _Window, vt: VirtualTime, taps: TapSet, started: bool) -> tuple[bool, bool]:
        """The one delivery loop: a window's rows merged with the channels' arrivals due before each.

        Returns (the window is done, something was delivered in this batch). A ``TradeRunTaker``
        for the window is offered each row while nothing is ready at the current nanosecond.
        """
        keys, handlers, end = win.keys, win.handlers, win.end
        pull = win.events.__next__
        runs = self._runs_for(win)
        pos = win.pos
        try:
            while pos < end:
                for i in range(pos, end):
                    ts = keys[i]
                    if ts > taps.due_ns:
                        taps.flush(vt, ts, started)
                        started = True
                        if ts > taps.due_ns or ts > vt.horizon_ns:
                            return False, started
                    elif ts > vt.horizon_ns:
                        return False, started
                    if runs is not None and vt.now_ns < vt.horizon_ns:
                        assert win.batch is not None
                        try:
                            taken = runs.take(win.batch, i, end, vt, taps)
                        except BaseException:
                            pos = runs.position
                            raise
                        if taken != i:
                            pos = taken
                            started = True
                            break  # go on after the run
                    vt.now_ns = ts
                    pos = i + 1  # before the call: a callback that raises counts as delivered
                    handlers[i](pull())
                    started = True
            return True, started
        finally:
            win.pos = pos

    def run_all(self) -> None:
        """Deliver every remaining event, ignoring time (for tools and benchmarks)."""
        self.deliver(_Unbounded())

    def close(self) -> None:
        """Release every file; the feed then delivers nothing more."""
        for cursor in self._cursors:
            cursor.close()
            cursor.batch = None
        self._live = []
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

    def _next_window(self) -> _Window | None:
        """The next window of events in order; None when nothing is left.

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
            return None
        limit: FileCursor | None = None
        bound = 0
        for cursor in live:
            assert cursor.batch is not None
            if not cursor.exhausted and (limit is None or cursor.batch.keys[-1] < bound):
                limit, bound = cursor, cursor.batch.keys[-1]
        takes: list[tuple[Batch, int, int]] = []
        for cursor in live:
            batch = cursor.batch
            assert batch is not None
            if limit is None:
                end = batch.n
            else:
                search = bisect_right if cursor.file_idx <= limit.file_idx else bisect_left
                end = search(batch.keys, bound, batch.pos)
            if end > batch.pos:
                takes.append((batch, batch.pos, end))
                batch.pos = end
        if len(takes) == 1:
            batch, start, end = takes[0]
            single_trades = batch.arrays is not None and batch.route_codes is None
            return _Window(batch.keys, batch.events, batch.handlers, start, end,
                           batch=batch if single_trades else None)
        return self._merge(takes)

    @staticmethod
    def _merge(takes: list[tuple[Batch, int, int]]) -> _Window:
        """Interleave row ranges of several files by (key, file index, row) with one stable sort.

        Rows of one file stay in file order, so the merged events are pulled from each file's
        own lazy event iterator, picked by a per-row source index.
        """
        batches = [batch for batch, _, _ in takes]
        keys = np.concatenate([batch.keys_np[start:end] for batch, start, end in takes])
        order = np.argsort(keys, kind="stable")
        counts = [end - start for _, start, end in takes]
        source_np = np.repeat(np.arange(len(takes)), counts)[order]
        rows_np = np.concatenate([np.arange(start, end) for _, start, end in takes])[order]
        source: list[int] = source_np.tolist()
        events = map(next, map([batch.events for batch in batches].__getitem__, source))
        win = _Window(keys[order].tolist(), events, [], 0, len(source),
                      sources=(batches, source, rows_np.tolist()))
        win.resolve()
        return win

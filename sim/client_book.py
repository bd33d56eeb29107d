"""The simulated client's copy of one symbol's order book, kept the way Binance clients keep it.

Book rows arrive on the market-data stream (``harness.data.book.BookStream`` groups them into
messages and ``BookSync`` applies the venue's sequencing rules). Whenever the book is not valid
after a message (a sequence gap, a fresh subscription with no snapshot yet, a reconnect) the
client asks the venue for a REST snapshot (``get_order_book``), loads it and replays the diffs it
buffered meanwhile, exactly as Binance documents for a local order book. A snapshot older than
the buffered diffs (``SNAPSHOT_TOO_OLD``) leaves the book invalid, and the next message asks
again, at most once per ``retry_ns``.

Every gap and every completed resync is reported to the adapter's ``EventLog``; ``observers``
are called after every message (with whether a resync just completed), which is how a scenario
checks that the client's book equals the venue's after each resync.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from harness.clock import NS_PER_SECOND, Clock
from harness.contract import VenueError
from harness.data.book import BookStream, BookSync, Level
from harness.model import BOOK_ASK, BOOK_BID, BookSnapshot
from sim.client_links import EventLog

__all__ = ["SNAPSHOT_DEPTH", "ClientBook", "snapshot_levels"]

SNAPSHOT_DEPTH = 5000
"""Levels per side asked for in a resync snapshot (Binance's maximum for ``/api/v3/depth``)."""

BookObserver = Callable[["ClientBook", bool], None]
"""``observer(book, resynced)`` after each message the client's book took."""


def snapshot_levels(snapshot: BookSnapshot) -> list[Level]:
    """A REST snapshot's levels as ``BookSync`` rows (bids then asks)."""
    return ([(BOOK_BID, level.price, level.size) for level in snapshot.bids]
            + [(BOOK_ASK, level.price, level.size) for level in snapshot.asks])


class ClientBook:
    """One symbol's client-side book with resync from REST snapshots (see the module docstring).

    ``fetch`` asks the venue for a snapshot (the adapter's own, audited request); ``on_valid``
    is called with the sync state after every message that leaves the book valid.
    """

    def __init__(self, symbol: str, *, clock: Clock, events: EventLog,
                 fetch: Callable[[str, int], Awaitable[BookSnapshot]],
                 on_valid: Callable[[BookSync], None], retry_ns: int = NS_PER_SECOND) -> None:
        self.symbol = symbol
        self._clock = clock
        self._events = events
        self._fetch = fetch
        self._on_valid = on_valid
        self._retry_ns = retry_ns
        self.stream = BookStream(on_message=self._on_message)
        self.resyncs = 0
        self.observers: list[BookObserver] = []
        self._task: asyncio.Task[Any] | None = None
        self._last_request_ns = -(2**62)
        self._gaps_seen = 0
        self._reported = False  # the current invalid spell was reported as a book_gap

    @property
    def sync(self) -> BookSync:
        """The sync state machine holding the book."""
        return self.stream.sync

    def push(self, row: Any) -> None:
        """One book row arrived on the stream."""
        self.stream.push(row)

    def reset(self) -> None:
        """Forget the book (after a reconnect): invalid until a snapshot, diffs buffered meanwhile."""
        self.stream = BookStream(BookSync(self.sync.mode), on_message=self._on_message)
        self._gaps_seen = 0
        self._reported = False

    def _on_message(self, sync: BookSync) -> None:
        if sync.valid:
            self._reported = False
            self._on_valid(sync)
            self._notify(False)
            return
        if not self._reported or len(sync.gaps) > self._gaps_seen:
            self._reported = True
            self._gaps_seen = len(sync.gaps)
            self._events.emit(self._clock.now_ns(), f"book:{self.symbol}", "book_gap",
                              sync.gaps[-1].describe() if sync.gaps else "no snapshot yet")
        self._request_snapshot()

    def _request_snapshot(self) -> None:
        now = self._clock.now_ns()
        if self._task is not None or now - self._last_request_ns < self._retry_ns:
            return
        self._last_request_ns = now
        self._task = asyncio.ensure_future(self._resync())

    async def _resync(self) -> None:
        try:
            try:
                snapshot = await self._fetch(self.symbol, SNAPSHOT_DEPTH)
            except VenueError:
                return  # the next message asks again (after retry_ns)
            sync = self.sync
            sync.on_snapshot(snapshot.update_id, snapshot_levels(snapshot), "resync")
        finally:
            self._task = None
        if sync is not self.sync or not sync.valid:
            return  # reset meanwhile, or the snapshot was older than the buffered diffs: ask again later
        self.resyncs += 1
        self._gaps_seen = len(sync.gaps)
        self._reported = False
        self._events.emit(self._clock.now_ns(), f"book:{self.symbol}", "book_resynced",
                          f"snapshot {snapshot.update_id}, book at {sync.update_id}")
        self._on_valid(sync)
        self._notify(True)

    def _notify(self, resynced: bool) -> None:
        for observer in list(self.observers):
            observer(self, resynced)

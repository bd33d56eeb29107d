"""One symbol's order book kept from Binance's diff stream and REST snapshots, by the shared sync rules.

Binance's procedure (``spec/venues.md`` §1.8), with ``harness.data.book.BookSync`` (the same
state machine the simulated venue and the importers use) doing the bookkeeping: diffs are fed
as they come (buffered while there is no valid book), a REST snapshot is fetched once the
stream is subscribed, and the buffered diffs are replayed over it. When a diff does not chain
(``U > book id + 1``, e.g. a message lost on the way) the book becomes invalid and a new
snapshot is fetched; a snapshot older than the buffered diffs is fetched again. After every
applied message, subscribers get the top ``depth`` levels as a ``BookSnapshot``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from harness.clock import Clock
from harness.contract import BookCallback, VenueError
from harness.data.book import BookSync, DiffResult, Level, SyncMode
from harness.model import BookSnapshot
from live.binance.codec import levels

__all__ = ["BookFollower"]

logger = logging.getLogger(__name__)

SnapshotFetcher = Callable[[], Awaitable[Mapping[str, Any]]]
_RETRY_NS = 100_000_000


def _levels(bids: object, asks: object) -> list[Level]:
    return [(1, p, q) for p, q in levels(bids, "b")] + [(-1, p, q) for p, q in levels(asks, "a")]


class BookFollower:
    """The synced book of one symbol and its subscribers (see the module docstring)."""

    def __init__(self, venue: str, symbol: str, fetch: SnapshotFetcher, clock: Clock) -> None:
        self.venue = venue
        self.symbol = symbol
        self.sync = BookSync(SyncMode.SPOT)
        self.subscribers: list[tuple[BookCallback, int]] = []
        self._fetch = fetch
        self._clock = clock
        self._resync: asyncio.Task[None] | None = None
        self.snapshots_fetched = 0

    def on_diff(self, event: Mapping[str, Any]) -> None:
        """One ``depthUpdate``: applied, buffered or a gap (then a resync is started)."""
        first, last = event.get("U"), event.get("u")
        if not isinstance(first, int) or not isinstance(last, int):
            return
        result = self.sync.on_diff(first, last, -1, _levels(event.get("b"), event.get("a")))
        if result is DiffResult.APPLIED:
            self._notify()
        elif not self.sync.valid and self.sync.snapshots:
            self.start_resync()

    def start_resync(self) -> None:
        """Fetch a new snapshot in the background (once at a time)."""
        if self._resync is None or self._resync.done():
            self._resync = asyncio.get_running_loop().create_task(self.resync(), name=f"book-{self.symbol}")

    async def resync(self) -> None:
        """Fetch snapshots until one syncs with the buffered diffs."""
        while True:
            try:
                data = await self._fetch()
            except VenueError as error:
                logger.warning("%s book: snapshot failed: %s", self.symbol, error)
                await self._clock.sleep_ns(_RETRY_NS)
                continue
            self.snapshots_fetched += 1
            update_id = data.get("lastUpdateId")
            if not isinstance(update_id, int):
                logger.warning("%s book: snapshot without lastUpdateId", self.symbol)
                return
            self.sync.on_snapshot(update_id, _levels(data.get("bids"), data.get("asks")))
            if self.sync.valid:
                self._notify()
                return
            await self._clock.sleep_ns(_RETRY_NS)

    async def close(self) -> None:
        """Stop a resync in progress."""
        if self._resync is not None:
            self._resync.cancel()
            await asyncio.gather(self._resync, return_exceptions=True)

    def _notify(self) -> None:
        if not self.subscribers:
            return
        book = self.sync.book
        now = self._clock.now_ns()
        for callback, depth in list(self.subscribers):
            callback(BookSnapshot(now, self.venue, self.symbol, tuple(book.depth(1, depth)),
                                  tuple(book.depth(-1, depth)), self.sync.update_id))

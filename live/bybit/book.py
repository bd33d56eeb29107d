"""One symbol's order book kept from Bybit's ``orderbook.<depth>.<symbol>`` topic, with ``u`` continuity.

Bybit's rules (``docs/v5/websocket/public/orderbook.mdx``, ``spec/venues.md`` §2): the first
message is a snapshot, and **any** snapshot resets the book (``u`` = 1 after a service restart
too); a delta's size 0 deletes a level, an unknown price inserts, a known price updates; each
message's ``u`` follows the previous one by one. ``harness.data.book.BookSync`` (the state machine
shared with the simulator and the importers) does the bookkeeping: every snapshot starts a fresh
sync, each delta is a diff ``U = u = message u``, so a repeated delta is dropped as old and a
missing one is a gap. On a gap the book is invalid and ``resync`` is asked for (the adapter
re-subscribes the topic, and the venue answers with a new snapshot). After every applied message
the subscribers get the top ``depth`` levels as a ``BookSnapshot``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from harness.clock import Clock
from harness.contract import BookCallback, ExchangeError
from harness.data.book import BookSync, DiffResult, Level, SyncMode
from harness.model import BookSnapshot
from live.bybit.codec import book_levels, field

__all__ = ["BybitBook"]

logger = logging.getLogger(__name__)


def _levels(data: Mapping[str, Any]) -> list[Level]:
    return [(1, p, q) for p, q in book_levels(field(data, "b"), "b")] + \
        [(-1, p, q) for p, q in book_levels(field(data, "a"), "a")]


class BybitBook:
    """The synced book of one symbol from one orderbook topic (see the module docstring)."""

    def __init__(self, venue: str, symbol: str, clock: Clock, resync: Callable[[], None]) -> None:
        self.venue = venue
        self.symbol = symbol
        self.sync = BookSync(SyncMode.SPOT)
        self.subscribers: list[tuple[BookCallback, int]] = []
        self.snapshots = 0
        self.gaps = 0
        self._clock = clock
        self._resync = resync
        self._waiting = False  # a resync was asked for and no snapshot came yet

    def on_message(self, message: Mapping[str, Any]) -> None:
        """One orderbook push: a snapshot (reset), or a delta (applied, dropped as old, or a gap)."""
        kind = field(message, "type")
        data = field(message, "data")
        update = field(data, "u")
        if isinstance(update, bool) or not isinstance(update, int):
            raise ExchangeError(f"bybit orderbook 'u' is not an integer: {update!r}", venue=self.venue)
        levels = _levels(data)
        if kind == "snapshot":
            self.sync = BookSync(SyncMode.SPOT)
            self.sync.on_snapshot(update, levels)
            self.snapshots += 1
            self._waiting = False
            self._notify()
            return
        if kind != "delta":
            raise ExchangeError(f"bybit orderbook message of unknown type {kind!r}", venue=self.venue)
        if not self.sync.valid:
            if not self._waiting and self.sync.snapshots:
                self._ask_resync()
            return
        result = self.sync.on_diff(update, update, -1, levels)
        if result is DiffResult.APPLIED:
            self._notify()
        elif result is DiffResult.GAP:
            self.gaps += 1
            logger.warning("%s book: delta u=%d after u=%d; resubscribing for a new snapshot", self.symbol, update,
                           self.sync.gaps[-1].book_id)
            self._ask_resync()

    def _ask_resync(self) -> None:
        self._waiting = True
        self._resync()

    def _notify(self) -> None:
        if not self.subscribers:
            return
        book = self.sync.book
        now = self._clock.now_ns()
        for callback, depth in list(self.subscribers):
            callback(BookSnapshot(now, self.venue, self.symbol, tuple(book.depth(1, depth)),
                                  tuple(book.depth(-1, depth)), self.sync.update_id))

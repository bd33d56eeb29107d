"""Canonical Parquet replayed into the local venue at the pace of its clock.

``ReplayDriver`` reads the files with the simulation's own feed (``sim.market.feed.ReplayFeed``,
ordered by exchange time) and hands each event to the venue's market side when the venue's
clock reaches it. The recording is moved in time by one constant ``shift`` (whole
milliseconds), so that its first event happens ``lead_ns`` after the venue started: events keep
their spacing, and at ``--speed X`` the venue's clock, and so the data, runs X times faster than
the wall. Events are delivered in batches of at most ``BATCH_NS`` of data time, and the driver
yields to the event loop between batches so the venue's answers and streams keep flowing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from harness.clock import Clock
from harness.model import BookDelta, Quote, Trade
from live.serve.market import MarketFront
from sim.market.feed import ReplayFeed

__all__ = ["BATCH_NS", "ReplayDriver"]

BATCH_NS = 100_000_000
"""Most data time delivered in one go (100 ms)."""

_MS = 1_000_000
_IDLE_NS = 1_000_000_000


class _Horizon:
    """The ``VirtualTime`` the feed delivers against: up to the venue clock's present."""

    __slots__ = ("horizon_ns", "now_ns")

    def __init__(self) -> None:
        self.now_ns = 0
        self.horizon_ns = 0


class ReplayDriver:
    """Delivers recorded events to ``market`` when ``clock`` (venue time) reaches them (plus ``shift``)."""

    def __init__(self, files: Sequence[Path], market: MarketFront, clock: Clock, *, start_ns: int,
                 lead_ns: int = 0, data_venue: str | None = None) -> None:
        self.feed = ReplayFeed([Path(f) for f in files], order_by="ts_event")
        self.market = market
        self.clock = clock
        first = self.feed.peek_ts()
        shift = (start_ns + lead_ns - first) if first is not None else 0
        self.shift = shift - shift % _MS
        """ns added to every recorded timestamp (a whole number of ms)."""
        self.delivered = 0
        venue = market.venue.name
        self._rename = venue if data_venue not in (None, venue) else None
        self.feed.subscribe_trades(self._trade, venue=data_venue)
        self.feed.subscribe_quotes(self._quote, venue=data_venue)
        self.feed.subscribe_book(self._book, venue=data_venue)

    @property
    def kinds(self) -> list[str]:
        """The kinds of data the files hold (``trades``, ``quotes``, ``book``, ...)."""
        return self.feed.kinds

    def _trade(self, trade: Trade) -> None:
        shift = self.shift
        moved = trade._replace(ts_event=trade.ts_event + shift, ts_recv=trade.ts_recv + shift)
        self.delivered += 1
        self.market.on_trade(moved if self._rename is None else moved._replace(venue=self._rename))

    def _quote(self, quote: Quote) -> None:
        shift = self.shift
        moved = quote._replace(ts_event=quote.ts_event + shift, ts_recv=quote.ts_recv + shift)
        self.delivered += 1
        self.market.on_quote(moved if self._rename is None else moved._replace(venue=self._rename))

    def _book(self, delta: BookDelta) -> None:
        shift = self.shift
        moved = delta._replace(ts_event=delta.ts_event + shift, ts_recv=delta.ts_recv + shift)
        self.delivered += 1
        self.market.on_book(moved if self._rename is None else moved._replace(venue=self._rename))

    def step(self) -> int | None:
        """Deliver what is due now (at most ``BATCH_NS`` of it); the data time of the next event, or None."""
        upcoming = self.feed.peek_ts()
        if upcoming is None:
            return None
        now = self.clock.now_ns() - self.shift
        if upcoming <= now:
            vt = _Horizon()
            vt.now_ns = upcoming
            vt.horizon_ns = min(now, upcoming + BATCH_NS)
            self.feed.deliver(vt)
        return self.feed.peek_ts()

    async def run(self) -> None:
        """Replay to the end of the data, sleeping on the venue clock between events."""
        try:
            while True:
                upcoming = self.step()
                if upcoming is None:
                    return
                wait = upcoming + self.shift - self.clock.now_ns()
                if wait > 0:
                    await self.clock.sleep_ns(min(wait, _IDLE_NS))
                else:
                    await asyncio.sleep(0)
        finally:
            self.feed.close()

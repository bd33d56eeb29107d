"""The simulated client's market-data subscriptions: kept, refused and retried, restored after a reconnect.

``MarketSubscriptions`` is the market-data half of ``SimAdapter``. It remembers every
subscription the client made (trades, quotes and books per symbol) and points the venue's
``MarketDataChannel`` streams at them while the market-data link is up. The venue may refuse a
subscription (a ``SubscriptionRefusal`` fault): it is retried with a growing delay, and a run of
``LinkSettings.persistent_failures`` refusals is reported as persistent. When the link is lost
the channel forgets every stream; the client reconnects with backoff
(``LinkSettings.backoff_ns``), subscribes again, and starts every book over from a REST snapshot
(``sim.client_book``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from harness.clock import Clock
from harness.contract import BookCallback, QuoteCallback, TradeCallback
from harness.data.book import BookSync
from harness.model import BookSnapshot
from sim.channels import Deliver, MarketDataChannel, RequestChannel
from sim.client_book import ClientBook
from sim.client_session import ClientSession

__all__ = ["MarketSubscriptions"]


def _stream_handler(callbacks: list[Any]) -> Deliver:
    """What a market-data stream hands each event to: the one subscriber itself, or all in order."""
    if len(callbacks) == 1:
        return callbacks[0]  # type: ignore[no-any-return]

    def to_all(event: Any) -> None:
        for callback in list(callbacks):
            callback(event)

    return to_all


class MarketSubscriptions:
    """One adapter's market-data subscriptions over its channel and link (see the module docstring).

    ``connected`` tells whether the adapter as a whole is connected (reconnecting stops when not).
    """

    def __init__(self, venue: str, *, clock: Clock, channel: MarketDataChannel, requests: RequestChannel,
                 session: ClientSession, connected: Callable[[], bool]) -> None:
        self.venue = venue
        self._clock = clock
        self._channel = channel
        self._requests = requests
        self._session = session
        self._connected = connected
        self.trades: dict[str, list[TradeCallback]] = {}
        self.quotes: dict[str, list[QuoteCallback]] = {}
        self.book_subs: dict[str, list[tuple[BookCallback, int]]] = {}
        self.books: dict[str, ClientBook] = {}
        """The client's book per subscribed symbol (resynced from REST snapshots)."""
        self.book_listeners: list[Callable[[ClientBook], None]] = []
        """Called with each client book when it is made (scenario observers check books after resyncs)."""
        self._refused: dict[tuple[str, str], int] = {}  # (kind, symbol) -> refusals in a row
        self._reconnecting: asyncio.Task[None] | None = None
        session.on_market_lost = self.lost

    def _registry(self, kind: str) -> dict[str, list[Any]]:
        registries: dict[str, dict[str, list[Any]]] = {"trades": self.trades, "quotes": self.quotes,
                                                        "book": self.book_subs}
        return registries[kind]

    def book(self, symbol: str, fetch: Callable[[str, int], Any],
             on_valid: Callable[[str, BookSync], None]) -> ClientBook:
        """The client's book of ``symbol``, made on first use."""
        book = self.books.get(symbol)
        if book is None:
            book = self.books[symbol] = ClientBook(symbol, clock=self._clock, events=self._session.events,
                                                   fetch=fetch, on_valid=lambda sync: on_valid(symbol, sync))
            for listener in self.book_listeners:
                listener(book)
        return book

    def open(self, kind: str, symbol: str) -> None:
        """Point the channel's ``kind`` stream of ``symbol`` at its subscribers (or close it when none)."""
        callbacks = self._registry(kind).get(symbol, [])
        streams = self._channel.streams[kind]
        if not callbacks:
            streams.pop(symbol, None)
            return
        if not self._session.market.carried:
            return  # sent again once the stream reconnects
        now = self._clock.now_ns()
        if any(refusal.refuses(kind, symbol, now) for refusal in self._channel.refusals):
            self._refuse(kind, symbol)
            return
        if self._refused.pop((kind, symbol), 0):
            self._session.events.emit(now, "market", "subscribed", f"{kind} {symbol}")
        streams[symbol] = self.books[symbol].push if kind == "book" else _stream_handler(callbacks)

    def _refuse(self, kind: str, symbol: str) -> None:
        """The venue refused a subscription: retry it later, and call a run of refusals persistent."""
        key = (kind, symbol)
        failures = self._refused[key] = self._refused.get(key, 0) + 1
        events = self._session.events
        now = self._clock.now_ns()
        events.emit(now, "market", "subscription_failed", f"{kind} {symbol} (attempt {failures})")
        settings = self._session.settings
        if failures == settings.persistent_failures:
            events.emit(now, "market", "subscription_persistent_failure", f"{kind} {symbol}")
        self._clock.call_later(settings.subscription_retry_ns * min(failures, 30), self.open, kind, symbol)

    def restore(self) -> None:
        """Subscribe again to every stream after a (re)connect; every book starts over from a snapshot."""
        restored = 0
        for kind in ("trades", "quotes", "book"):
            for symbol, subscribers in list(self._registry(kind).items()):
                if not subscribers:
                    continue
                if kind == "book":
                    self.books[symbol].reset()
                self.open(kind, symbol)
                restored += 1
        if restored:
            self._session.events.emit(self._clock.now_ns(), "market", "resubscribed", f"{restored} stream(s)")

    def lost(self) -> None:
        """The market-data link is gone: reconnect it with backoff (unless already trying)."""
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.ensure_future(self._reconnect())

    async def _reconnect(self) -> None:
        session = self._session
        attempt = 0
        while self._connected():
            attempt += 1
            await self._clock.sleep_ns(session.settings.backoff_ns(attempt))
            await self._requests.reach_venue()
            now = self._clock.now_ns()
            if session.market.may_open(now, session.desk.reachable):
                session.market.open(now)
                session.events.emit(now, "market", "up", f"reconnected after {attempt} attempt(s)")
                self.restore()
                return
            await self._requests.come_back()
            session.events.emit(self._clock.now_ns(), "market", "reconnect_failed", f"attempt {attempt}")

    @staticmethod
    def snapshot_of(venue: str, symbol: str, sync: BookSync, depth: int, ts_ns: int) -> BookSnapshot:
        """The top ``depth`` levels of a synced book as the contract's ``BookSnapshot``, stamped ``ts_ns``."""
        book = sync.book
        return BookSnapshot(ts_ns, venue, symbol, tuple(book.depth(1, depth)), tuple(book.depth(-1, depth)),
                            sync.update_id)

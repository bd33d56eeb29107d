"""Bybit's public market-data topics as the contract's subscriptions, on one public WS connection.

``BybitMarketData`` turns ``publicTrade.<symbol>`` into ``Trade``s, ``orderbook.1.<symbol>`` into
``Quote``s (spot's ``tickers`` carry no bid or ask), ``orderbook.50|200.<symbol>`` into the synced
book (``live.bybit.book``: a gap re-subscribes the topic for a fresh snapshot) and
``kline.<interval>.<symbol>`` into each closed bar once; ``tickers.<symbol>`` is offered as is
(venue-specific: spot's ticker has no bid or ask). Each subscription is a ``live.handles.UndoHandle`` (its
``close`` stops the delivery).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from harness.clock import Clock
from harness.contract import (
    BarCallback,
    BookCallback,
    ExchangeError,
    InvalidRequestError,
    QuoteCallback,
    TradeCallback,
)
from live.bybit import codec
from live.bybit.book import BybitBook
from live.bybit.socket import BybitSocket
from live.handles import UndoHandle

__all__ = ["BybitMarketData", "interval_name"]

_NS = 1_000_000_000


def interval_name(interval_ns: int, venue: str = "bybit") -> str:
    """Bybit's kline interval name for ``interval_ns``; ``InvalidRequestError`` (10001) when it has none."""
    name = codec.INTERVALS.get(interval_ns // _NS) if interval_ns % _NS == 0 else None
    if name is None:
        raise InvalidRequestError(f"Bybit has no {interval_ns} ns kline interval", venue=venue, code=10001)
    return name


class BybitMarketData:
    """The contract's market-data subscriptions over one ``BybitSocket`` (see the module docstring)."""

    def __init__(self, public: BybitSocket, clock: Clock, venue: str = "bybit") -> None:
        self.public = public
        self._clock = clock
        self._venue = venue
        self.books: dict[str, BybitBook] = {}
        self._resyncs: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        """Stop resyncs in progress."""
        for task in list(self._resyncs):
            task.cancel()
        await asyncio.gather(*self._resyncs, return_exceptions=True)

    async def subscribe_trades(self, symbol: str, callback: TradeCallback) -> UndoHandle:
        """``publicTrade.<symbol>``."""
        venue, clock = self._venue, self._clock

        def on_message(message: Mapping[str, Any]) -> None:
            for trade in codec.trades_from_ws(message, clock.now_ns(), venue):
                callback(trade)

        topic = f"publicTrade.{symbol}"
        await self.public.subscribe(topic, on_message)
        return UndoHandle(lambda: self.public.unsubscribe(topic, on_message))

    async def subscribe_quotes(self, symbol: str, callback: QuoteCallback) -> UndoHandle:
        """``orderbook.1.<symbol>`` (the top level)."""
        venue, clock = self._venue, self._clock

        def on_message(message: Mapping[str, Any]) -> None:
            callback(codec.quote_from_book(message, clock.now_ns(), venue))

        topic = f"orderbook.1.{symbol}"
        await self.public.subscribe(topic, on_message)
        return UndoHandle(lambda: self.public.unsubscribe(topic, on_message))

    async def subscribe_tickers(self, symbol: str, callback: Callable[[Mapping[str, str]], None]) -> UndoHandle:
        """``tickers.<symbol>``: the ticker as last known (a snapshot replaces it, a delta updates its fields).

        Venue-specific (no contract type): spot tickers carry the last price and 24 h figures but no
        bid or ask, so quotes come from ``orderbook.1`` instead.
        """
        state: dict[str, str] = {}

        def on_message(message: Mapping[str, Any]) -> None:
            data = codec.field(message, "data")
            if not isinstance(data, Mapping):
                raise ExchangeError("bybit tickers 'data' is not an object", venue=self._venue)
            if message.get("type") != "delta":
                state.clear()
            state.update({str(k): str(v) for k, v in data.items()})
            callback(dict(state))

        topic = f"tickers.{symbol}"
        await self.public.subscribe(topic, on_message)
        return UndoHandle(lambda: self.public.unsubscribe(topic, on_message))

    async def subscribe_book(self, symbol: str, callback: BookCallback, depth: int = 20) -> UndoHandle:
        """``orderbook.50.<symbol>`` (``200`` beyond 50 levels): snapshot + deltas with ``u`` continuity."""
        topic = f"orderbook.{50 if depth <= 50 else 200}.{symbol}"
        entry = (callback, depth)
        book = self.books.get(topic)
        if book is None:
            book = self.books[topic] = BybitBook(self._venue, symbol, self._clock, lambda: self._resync(topic))
            book.subscribers.append(entry)
            await self.public.subscribe(topic, book.on_message)
        else:
            book.subscribers.append(entry)
        follower = book
        return UndoHandle(lambda: follower.subscribers.remove(entry) if entry in follower.subscribers else None)

    def _resync(self, topic: str) -> None:
        task = asyncio.get_running_loop().create_task(self.public.resubscribe(topic), name=f"bybit-resync-{topic}")
        self._resyncs.add(task)
        task.add_done_callback(self._resyncs.discard)

    async def subscribe_bars(self, symbol: str, interval_ns: int, callback: BarCallback) -> UndoHandle:
        """``kline.<interval>.<symbol>``: each bar once the venue confirms it closed, once."""
        name = interval_name(interval_ns, self._venue)
        venue = self._venue
        last_closed = [-1]

        def on_message(message: Mapping[str, Any]) -> None:
            rows = codec.field(message, "data")
            for row in rows if isinstance(rows, list) else []:
                bar, closed = codec.candle_from_ws(row, symbol, interval_ns, venue)
                if closed and bar.ts_open > last_closed[0]:
                    last_closed[0] = bar.ts_open
                    callback(bar)

        topic = f"kline.{name}.{symbol}"
        await self.public.subscribe(topic, on_message)
        return UndoHandle(lambda: self.public.unsubscribe(topic, on_message))

"""Coinbase Advanced Trade market data over WebSocket: tickers, trades and the level-2 book.

One ``websockets`` connection (the URL checked by ``live.guard``: SANDBOX never reaches a
production host) carrying the public channels (``live.serve.coinbase_ws`` serves the same
protocol locally): ``ticker`` becomes ``Quote``s, ``market_trades`` ``Trade``s, and ``level2`` a
local book kept from its ``snapshot`` and ``update`` events (``new_quantity`` 0 removes a level).
Each message's ``sequence_num`` must be the previous one plus one: a gap means a lost message,
so every book is dropped and its level-2 subscription renewed (a fresh snapshot), as Coinbase
advises. ``round_trip`` is a delivery barrier: a (re)subscription to ``heartbeats``, whose
``subscriptions`` answer comes after everything sent before it. Prices and sizes are parsed
from Coinbase's decimal strings into fixed point; times are RFC 3339 with ns.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import websockets

from harness.clock import Clock
from harness.contract import RetryableError
from harness.model import BookLevel, BookSnapshot, Quote, Trade, VenueMode
from harness.money import to_fixed
from harness.secrets import safe_logger
from live.guard import check_transport_url

__all__ = ["CoinbaseMarketData", "parse_rfc3339"]

logger = safe_logger(__name__)
_NS = 1_000_000_000


def parse_rfc3339(text: str) -> int:
    """ns since the epoch of ``2023-02-09T20:32:50.714964855Z`` (any number of fraction digits up to 9)."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    stamp = dt.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC)
    return int(stamp.timestamp()) * _NS + int(fraction[:9].ljust(9, "0") or 0)


def _fixed(text: object) -> int:
    return to_fixed(Decimal(str(text)))


class CoinbaseMarketData:
    """The market-data connection (see the module docstring)."""

    def __init__(self, url: str, clock: Clock, *, venue: str = "coinbase", mode: VenueMode = VenueMode.SANDBOX,
                 timeout_ns: int = 10 * _NS) -> None:
        check_transport_url(venue, mode, url, "ws")
        self.url, self.venue, self._clock, self._timeout_ns = url, venue, clock, timeout_ns
        self.quotes: dict[str, Quote] = {}
        self.books: dict[str, dict[str, dict[int, int]]] = {}
        self.last_timestamp_ns = 0
        self.gaps = 0
        self.quote_subs: dict[str, list[Callable[[Quote], None]]] = {}
        self.trade_subs: dict[str, list[Callable[[Trade], None]]] = {}
        self.book_subs: dict[str, list[Callable[[BookSnapshot], None]]] = {}
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._sequence = -1
        self._acks: list[asyncio.Future[None]] = []
        self._subscribed: set[tuple[str, str]] = set()

    async def start(self) -> None:
        """Connect; ``RetryableError`` when the venue cannot be reached."""
        try:
            self._ws = await websockets.connect(self.url, open_timeout=self._timeout_ns / _NS)
        except (OSError, websockets.WebSocketException, TimeoutError) as exc:
            raise RetryableError(f"Coinbase market data: cannot connect: {exc}", venue=self.venue) from None
        self._sequence = -1
        self._reader = asyncio.get_running_loop().create_task(self._read(), name="coinbase-market-data")
        for channel, product in sorted(self._subscribed):
            await self.subscribe(channel, product)

    async def close(self) -> None:
        """Close the connection."""
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        if self._ws is not None:
            await self._ws.close()
            self._ws = None
        for ack in self._acks:
            ack.cancel()
        self._acks.clear()

    async def subscribe(self, channel: str, product: str) -> None:
        """Subscribe ``product`` to ``channel`` and wait for the venue's ``subscriptions`` answer."""
        if self._ws is None:
            raise RetryableError("Coinbase market data: not connected", venue=self.venue)
        self._subscribed.add((channel, product))
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._acks.append(ack)
        await self._ws.send(json.dumps({"type": "subscribe", "product_ids": [product], "channel": channel}))
        sleeper = asyncio.ensure_future(self._clock.sleep_ns(self._timeout_ns))
        await asyncio.wait({ack, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        sleeper.cancel()
        if not ack.done():
            raise RetryableError(f"Coinbase market data: no answer to subscribe {channel}", venue=self.venue)

    async def round_trip(self, product: str) -> None:
        """A delivery barrier: what the venue sent before has been handled."""
        await self.subscribe("heartbeats", product)

    def book(self, symbol: str, depth: int) -> BookSnapshot | None:
        """The local level-2 book of ``symbol`` to ``depth`` levels, or None before its snapshot."""
        sides = self.books.get(symbol)
        if sides is None:
            return None
        bids = tuple(BookLevel(p, q) for p, q in sorted(sides["bid"].items(), reverse=True)[:depth])
        asks = tuple(BookLevel(p, q) for p, q in sorted(sides["offer"].items())[:depth])
        return BookSnapshot(self.last_timestamp_ns, self.venue, symbol, bids, asks, -1)

    # ------------------------------------------------------------------ inbound

    async def _read(self) -> None:
        try:
            async for text in self._ws:
                self._handle(json.loads(text))
        except (websockets.WebSocketException, OSError) as exc:
            logger.warning("Coinbase market data: connection lost: %s", exc)

    def _handle(self, message: dict[str, Any]) -> None:
        if message.get("type") == "error":
            logger.warning("Coinbase market data: %s", message.get("message"))
            return
        sequence = int(message.get("sequence_num", 0))
        if self._sequence >= 0 and sequence != self._sequence + 1:
            self.gaps += 1
            self.books.clear()  # a lost message: the books are unknown until fresh snapshots
            asyncio.get_running_loop().create_task(self._resync())
        self._sequence = sequence
        if message.get("timestamp"):
            self.last_timestamp_ns = parse_rfc3339(str(message["timestamp"]))
        channel = message.get("channel")
        for event in message.get("events", []):
            if channel == "subscriptions":
                for ack in self._acks:
                    if not ack.done():
                        ack.set_result(None)
                self._acks = [a for a in self._acks if not a.done()]
            elif channel == "ticker":
                for ticker in event.get("tickers", []):
                    self._ticker(ticker)
            elif channel == "market_trades":
                for trade in event.get("trades", []):
                    self._trade(trade)
            elif channel == "l2_data":
                self._level2(event)

    async def _resync(self) -> None:
        for channel, product in sorted(self._subscribed):
            if channel == "level2" and self._ws is not None:
                await self._ws.send(json.dumps({"type": "unsubscribe", "product_ids": [product], "channel": channel}))
                await self.subscribe(channel, product)

    def _ticker(self, ticker: dict[str, Any]) -> None:
        symbol = str(ticker["product_id"])
        now = self.last_timestamp_ns
        quote = Quote(now, self._clock.now_ns(), self.venue, symbol, _fixed(ticker["best_bid"]),
                      _fixed(ticker["best_bid_quantity"]), _fixed(ticker["best_ask"]),
                      _fixed(ticker["best_ask_quantity"]), -1)
        self.quotes[symbol] = quote
        for callback in list(self.quote_subs.get(symbol, [])):
            callback(quote)

    def _trade(self, trade: dict[str, Any]) -> None:
        symbol = str(trade["product_id"])
        aggressor = 1 if trade.get("side") == "BUY" else -1
        event = Trade(parse_rfc3339(str(trade["time"])), self._clock.now_ns(), self.venue, symbol,
                      _fixed(trade["price"]), _fixed(trade["size"]), aggressor, str(trade.get("trade_id", "")))
        for callback in list(self.trade_subs.get(symbol, [])):
            callback(event)

    def _level2(self, event: dict[str, Any]) -> None:
        symbol = str(event["product_id"])
        if event.get("type") == "snapshot":
            self.books[symbol] = {"bid": {}, "offer": {}}
        sides = self.books.get(symbol)
        if sides is None:
            return  # updates before the snapshot after a gap
        for update in event.get("updates", []):
            side = sides["bid" if update["side"] == "bid" else "offer"]
            price, qty = _fixed(update["price_level"]), _fixed(update["new_quantity"])
            if qty == 0:
                side.pop(price, None)
            else:
                side[price] = qty
        for callback in list(self.book_subs.get(symbol, [])):
            snapshot = self.book(symbol, 1000)
            if snapshot is not None:
                callback(snapshot)

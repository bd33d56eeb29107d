"""Coinbase Advanced Trade market data over WebSocket, served by the local venue (``--profile coinbase``).

The channels of Coinbase's Advanced Trade WebSocket (docs.cdp.coinbase.com, "WebSocket channels"),
public, no authentication, at the root path as ``wss://advanced-trade-ws.coinbase.com`` is:

* subscribe with ``{"type": "subscribe", "product_ids": [...], "channel": "level2" | "ticker" |
  "market_trades" | "heartbeats"}`` (``unsubscribe`` alike); answered by a ``subscriptions`` message;
* every message is ``{"channel", "client_id": "", "timestamp" (RFC 3339, ns), "sequence_num", "events"}``
  with ``sequence_num`` counting the connection's messages from 0 (a client sees a gap by it);
* ``level2`` (messages on channel ``l2_data``): a ``snapshot`` of the book at subscription, then
  ``update`` events of the levels that changed (``side`` ``bid``/``offer``, ``price_level``,
  ``new_quantity``, ``"0"`` removes the level);
* ``ticker``: best bid and offer with sizes and the last price; ``market_trades``: each trade
  (``trade_id``, ``price``, ``size``, ``side`` of the taker as recalled from the docs, ``time``);
  ``heartbeats``: a counter every second.

What is served is the venue's own book and tape (``SimVenue.order_book``, the trades the venue
saw): ``ServedMarket`` calls ``on_market`` after every event, and the book is compared with what
was last published, so every change goes out once, in order. Message faults (``ServeFaults.market``,
``item`` = ``(channel, message)``) and disconnects (kind ``"coinbase"``) apply as on Binance's streams.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

from aiohttp import WSMsgType, web

from harness.clock import Clock
from harness.model import Trade
from harness.money import from_fixed
from live.serve.faults import ServeFaults
from live.serve.peer import Peer
from live.signing import format_value
from sim.venue.venue import SimVenue

__all__ = ["CHANNELS", "CoinbaseFeed", "rfc3339"]

CHANNELS = ("level2", "ticker", "market_trades", "heartbeats")
_DEPTH = 50
_NS = 1_000_000_000


def rfc3339(ts_ns: int) -> str:
    """``2023-02-09T20:32:50.714964855Z``: RFC 3339 UTC with nanoseconds, as Coinbase writes times."""
    seconds, rest = divmod(ts_ns, _NS)
    return f"{dt.datetime.fromtimestamp(seconds, tz=dt.UTC):%Y-%m-%dT%H:%M:%S}.{rest:09d}Z"


class _Client:
    """One connection: its subscriptions and message counter."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.channels: dict[str, set[str]] = {name: set() for name in CHANNELS}
        self.sequence = 0


class CoinbaseFeed:
    """Coinbase's market-data WebSocket for one ``SimVenue`` (see the module docstring)."""

    def __init__(self, venue: SimVenue, clock: Clock, faults: ServeFaults) -> None:
        self.venue = venue
        self.clock = clock
        self.faults = faults
        self.clients: list[_Client] = []
        self._books: dict[str, dict[tuple[str, str], str]] = {}
        self._last_price: dict[str, str] = {}
        self._trade_ids = 0
        self._beats = 0
        self._heartbeat: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ the endpoint

    async def handle(self, request: web.Request, peers: list[Peer]) -> web.WebSocketResponse:
        """One WebSocket connection until it closes."""
        ws = web.WebSocketResponse(heartbeat=20.0)
        await ws.prepare(request)
        peer = Peer(ws, request, "coinbase", self.clock, faults=self.faults.market,
                    disconnects=self.faults.disconnects)
        peers.append(peer)
        peer.start()
        client = _Client(peer)
        self.clients.append(client)
        if self._heartbeat is None:
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat(), name="coinbase-heartbeats")
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self._control(client, message.data)
        finally:
            self.clients.remove(client)
            if peer in peers:
                peers.remove(peer)
            await peer.close()
        return ws

    async def stop(self) -> None:
        """Stop the heartbeat task."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)

    def _control(self, client: _Client, text: str) -> None:
        try:
            request = json.loads(text)
            kind, channel = request["type"], request["channel"]
            products = [str(p) for p in request.get("product_ids", [])]
        except (ValueError, KeyError, TypeError):
            self._send(client, "error", [], extra={"type": "error", "message": "malformed subscription request"})
            return
        unknown = [p for p in products if p not in self.venue.profile.symbols]
        if kind not in ("subscribe", "unsubscribe") or channel not in CHANNELS or unknown:
            self._send(client, "error", [], extra={"type": "error",
                                                   "message": f"bad request: {kind} {channel} {unknown}"})
            return
        wanted = client.channels[channel]
        if kind == "unsubscribe":
            wanted.difference_update(products)
        else:
            fresh = [p for p in products if p not in wanted]
            wanted.update(products)
        subscriptions = {name: sorted(ids) for name, ids in client.channels.items() if ids}
        self._send(client, "subscriptions", [{"subscriptions": subscriptions}])
        if kind == "subscribe":
            for product in fresh:
                self._snapshot(client, channel, product)

    # ------------------------------------------------------------------ what the venue's market did

    def on_market(self, symbol: str, trade: Trade | None = None) -> None:
        """After every market event of ``symbol``: its trade, the ticker, the changed book levels."""
        if not self.clients or symbol not in self.venue.profile.symbols:
            return
        if trade is not None:
            self._trade_ids += 1
            price = format_value(from_fixed(trade.price))
            self._last_price[symbol] = price
            event = {"type": "update", "trades": [{
                "trade_id": trade.trade_id or str(self._trade_ids), "product_id": symbol, "price": price,
                "size": format_value(from_fixed(trade.size)),
                "side": "BUY" if trade.aggressor == 1 else "SELL", "time": rfc3339(trade.ts_event)}]}
            self._publish("market_trades", symbol, [event])
        self._publish("ticker", symbol, [{"type": "update", "tickers": [self._ticker(symbol)]}])
        levels = self._levels(symbol)
        last = self._books.get(symbol, {})
        changes = [(key, qty) for key, qty in levels.items() if last.get(key) != qty]
        changes += [(key, "0") for key in last if key not in levels]
        self._books[symbol] = levels
        if changes:
            updates = [self._level(side, price, qty) for (side, price), qty in sorted(changes)]
            self._publish("level2", symbol, [{"type": "update", "product_id": symbol, "updates": updates}])

    def _levels(self, symbol: str) -> dict[tuple[str, str], str]:
        book = self.venue.order_book(symbol, _DEPTH)
        levels: dict[tuple[str, str], str] = {}
        for side, rows in (("bid", book.bids), ("offer", book.asks)):
            for row in rows:
                levels[(side, format_value(from_fixed(row.price)))] = format_value(from_fixed(row.size))
        return levels

    def _level(self, side: str, price: str, qty: str) -> dict[str, str]:
        return {"side": side, "event_time": rfc3339(self.clock.now_ns()), "price_level": price, "new_quantity": qty}

    def _ticker(self, symbol: str) -> dict[str, Any]:
        quote = self.venue.ticker(symbol)
        bid, ask = from_fixed(quote.bid_price), from_fixed(quote.ask_price)
        return {"type": "ticker", "product_id": symbol, "price": self._last_price.get(symbol, format_value(bid)),
                "best_bid": format_value(bid), "best_bid_quantity": format_value(from_fixed(quote.bid_size)),
                "best_ask": format_value(ask), "best_ask_quantity": format_value(from_fixed(quote.ask_size))}

    def _snapshot(self, client: _Client, channel: str, symbol: str) -> None:
        if channel == "level2":
            levels = self._books.setdefault(symbol, self._levels(symbol))
            updates = [self._level(side, price, qty) for (side, price), qty in sorted(levels.items())]
            self._send(client, "l2_data", [{"type": "snapshot", "product_id": symbol, "updates": updates}])
        elif channel == "ticker":
            self._send(client, "ticker", [{"type": "snapshot", "tickers": [self._ticker(symbol)]}])
        elif channel == "market_trades":
            self._send(client, "market_trades", [{"type": "snapshot", "trades": []}])

    def _publish(self, channel: str, symbol: str, events: list[dict[str, Any]]) -> None:
        wire = "l2_data" if channel == "level2" else channel
        for client in list(self.clients):
            if symbol in client.channels[channel]:
                self._send(client, wire, events)

    def _send(self, client: _Client, channel: str, events: list[Any], extra: dict[str, Any] | None = None) -> None:
        message = extra or {"channel": channel, "client_id": "", "timestamp": rfc3339(self.clock.now_ns()),
                            "sequence_num": client.sequence, "events": events}
        client.sequence += 1
        client.peer.send(message, (channel, message))

    async def _beat(self) -> None:
        while True:
            await self.clock.sleep_ns(_NS)
            self._beats += 1
            for client in list(self.clients):
                if client.channels["heartbeats"]:
                    self._send(client, "heartbeats", [{"current_time": rfc3339(self.clock.now_ns()),
                                                      "heartbeat_counter": self._beats}])

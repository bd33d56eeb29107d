"""Bybit's public WS at the local venue: topics, their snapshots and deltas, and what market data sends.

Every market event reaches the ``SimVenue`` first (matching, candles, its book), then the
topics, as ``live.serve.market.ServedMarket`` does for the Binance front:

* ``orderbook.<1|50|200>.<symbol>`` (``docs/v5/websocket/public/orderbook.mdx``): a subscriber
  first gets a snapshot of the top levels, then a delta per change (size 0 deletes a level) whose
  ``u`` is the previous one plus one; level 1 sends snapshots only. The served book is the
  quote's two levels until book rows come, then the synced L2 book (``harness.data.book``).
* ``publicTrade.<symbol>``: one message per trade (``S`` the taker's side);
* ``tickers.<symbol>``: spot's shape (last price, no bid/ask), after each trade;
* ``kline.<interval>.<symbol>``: the bar so far after each trade, and the closed bar
  (``confirm`` true) at its close (``close_bars``, called at each whole minute).

A subscription is active from its acknowledgement, but what it sends a connection (its snapshot
first) is held back ``first_push_delay_ns`` (venue time) and then sent in order: pybit registers
its callback only after its subscribe call returns, so an instant snapshot on loopback would be
lost, and a delay that dropped messages instead would leave a gap. Messages go
through the market-stream faults as ``(topic, message)``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.clock import Clock
from harness.data.book import BookStream, Level
from harness.model import BookDelta, BookLevel, Quote, Trade
from live.serve.bybit.shapes import INTERVAL_SECONDS, fmt_fixed, kline_bar, levels_json, ms
from live.serve.peer import Peer
from sim.venue.venue import SimVenue

__all__ = ["BybitMarket", "PublicPeer", "parse_topic"]

_DEPTHS = (1, 50, 200)


def parse_topic(topic: str, symbols: object) -> tuple[str, str, str] | None:
    """``(kind, arg, symbol)`` of a public topic the venue serves, or None."""
    parts = topic.split(".")
    if len(parts) == 2 and parts[0] in ("publicTrade", "tickers") and parts[1] in symbols:  # type: ignore[operator]
        return parts[0], "", parts[1]
    if len(parts) == 3 and parts[2] in symbols:  # type: ignore[operator]
        if parts[0] == "orderbook" and parts[1].isdigit() and int(parts[1]) in _DEPTHS:
            return "orderbook", parts[1], parts[2]
        if parts[0] == "kline" and parts[1] in INTERVAL_SECONDS:
            return "kline", parts[1], parts[2]
    return None


@dataclass(eq=False)
class PublicPeer:
    """One public WS connection: its peer, its active topics and the activations it waits for."""

    peer: Peer
    conn_id: str
    topics: set[str] = field(default_factory=set)
    pending: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    held: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class _Book:
    """The served book of one symbol (levels as last published) and per-topic delta state."""

    def __init__(self) -> None:
        self.stream = BookStream()
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.from_rows = False
        self.update_id = 0
        self.topics: dict[str, tuple[int, dict[int, int], dict[int, int]]] = {}  # topic -> (u, bids, asks sent)

    def top(self, depth: int) -> tuple[list[BookLevel], list[BookLevel]]:
        bids = [BookLevel(p, self.bids[p]) for p in sorted(self.bids, reverse=True)[:depth]]
        asks = [BookLevel(p, self.asks[p]) for p in sorted(self.asks)[:depth]]
        return bids, asks


class BybitMarket:
    """The venue's handlers for public market data: the venue first, then the Bybit topics."""

    def __init__(self, venue: SimVenue, clock: Clock, first_push_delay_ns: int = 150_000_000) -> None:
        self.venue = venue
        self.clock = clock
        self.now_ns: Callable[[], int] = clock.now_ns
        self.first_push_delay_ns = first_push_delay_ns
        self.peers: list[PublicPeer] = []
        self._books: dict[str, _Book] = {}
        self._trade_seq = 0
        self.published = 0

    # ------------------------------------------------------------------ subscriptions

    def control(self, peer: PublicPeer, text: str) -> None:
        """Answer one ``op`` message (``subscribe``, ``unsubscribe``, ``ping``)."""
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            peer.peer.send({"success": False, "ret_msg": "error: invalid request format", "conn_id": peer.conn_id,
                            "op": ""})
            return
        op, req_id = message.get("op"), message.get("req_id", "")
        raw_args = message.get("args")
        args: list[Any] = raw_args if isinstance(raw_args, list) else []
        reply: dict[str, Any] = {"success": True, "ret_msg": "", "conn_id": peer.conn_id, "req_id": req_id, "op": op}
        if op == "ping":
            peer.peer.send({**reply, "ret_msg": "pong"})
        elif op == "subscribe":
            bad = [a for a in args if not isinstance(a, str) or parse_topic(a, self.venue.profile.symbols) is None]
            if bad or not args:
                peer.peer.send({**reply, "success": False, "ret_msg": f"error:handler not found,topic:{bad[:1]}"})
                return
            peer.peer.send(reply)
            for topic in args:
                self._schedule(peer, str(topic))
        elif op == "unsubscribe":
            for topic in args:
                peer.topics.discard(str(topic))
                peer.held.pop(str(topic), None)
                task = peer.pending.pop(str(topic), None)
                if task is not None:
                    task.cancel()
            peer.peer.send(reply)
        else:
            peer.peer.send({**reply, "success": False, "ret_msg": f"error: unknown op {op!r}"})

    def _schedule(self, peer: PublicPeer, topic: str) -> None:
        """Subscribe now; hold what the topic sends this connection for ``first_push_delay_ns``."""
        if topic in peer.topics:
            return
        peer.topics.add(topic)
        if self.first_push_delay_ns > 0:
            peer.held[topic] = []

            async def release() -> None:
                await self.clock.sleep_ns(self.first_push_delay_ns)
                peer.pending.pop(topic, None)
                for message in peer.held.pop(topic, []):
                    self._send(peer, topic, message)

            peer.pending[topic] = asyncio.get_running_loop().create_task(release(), name=f"bybit-hold-{topic}")
        parsed = parse_topic(topic, self.venue.profile.symbols)
        assert parsed is not None
        kind, arg, symbol = parsed
        if kind == "orderbook":
            book = self._book(symbol)
            u, bids, asks = self._topic_state(book, topic, int(arg))
            self._send(peer, topic, self._book_message(topic, symbol, "snapshot", u,
                                                       bids=sorted(bids.items(), reverse=True),
                                                       asks=sorted(asks.items())))

    def remove(self, peer: PublicPeer) -> None:
        """A connection went away."""
        for task in peer.pending.values():
            task.cancel()
        peer.pending.clear()
        peer.held.clear()
        peer.topics.clear()
        if peer in self.peers:
            self.peers.remove(peer)

    def _subscribers(self, topic: str) -> list[PublicPeer]:
        return [p for p in self.peers if topic in p.topics and not p.peer.closed]

    def _send(self, peer: PublicPeer, topic: str, message: dict[str, Any]) -> None:
        held = peer.held.get(topic)
        if held is not None:
            held.append(message)
            return
        self.published += 1
        peer.peer.send(message, (topic, message))

    def _publish(self, topic: str, message: dict[str, Any]) -> None:
        for peer in self._subscribers(topic):
            self._send(peer, topic, message)

    # ------------------------------------------------------------------ events in

    def on_trade(self, trade: Trade) -> None:
        """A public trade: matching and candles at the venue, then trades, tickers and klines."""
        self.venue.on_trade(trade)
        now = ms(self.now_ns())
        symbol = trade.symbol
        self._trade_seq += 1
        topic = f"publicTrade.{symbol}"
        if self._subscribers(topic):
            row = {"T": ms(trade.ts_event), "s": symbol, "S": "Sell" if trade.aggressor < 0 else "Buy",
                   "v": fmt_fixed(trade.size), "p": fmt_fixed(trade.price), "L": "ZeroPlusTick",
                   "i": trade.trade_id or f"{symbol}-{self._trade_seq}", "BT": False, "seq": self._trade_seq}
            self._publish(topic, {"topic": topic, "type": "snapshot", "ts": now, "data": [row]})
        topic = f"tickers.{symbol}"
        if self._subscribers(topic):
            data = {"symbol": symbol, "lastPrice": fmt_fixed(trade.price), "highPrice24h": "", "lowPrice24h": "",
                    "prevPrice24h": "", "volume24h": "", "turnover24h": "", "price24hPcnt": "", "usdIndexPrice": ""}
            self._publish(topic, {"topic": topic, "ts": now, "type": "snapshot", "cs": self._trade_seq,
                                  "data": data})
        for interval in INTERVAL_SECONDS:
            topic = f"kline.{interval}.{symbol}"
            if self._subscribers(topic):
                bars = self.venue.candles.candles(symbol, INTERVAL_SECONDS[interval] * 1_000_000_000, 1,
                                                  self.now_ns())
                if bars:
                    bar = kline_bar(bars[-1], interval, self.now_ns(), False)
                    self._publish(topic, {"topic": topic, "data": [bar], "ts": now, "type": "snapshot"})

    def on_quote(self, quote: Quote) -> None:
        """A best bid/offer change: the venue's quote, then the book topics (while no book rows came)."""
        self.venue.on_quote(quote)
        book = self._book(quote.symbol)
        if not book.from_rows:
            book.bids = {quote.bid_price: quote.bid_size} if quote.bid_price > 0 and quote.bid_size > 0 else {}
            book.asks = {quote.ask_price: quote.ask_size} if quote.ask_price > 0 and quote.ask_size > 0 else {}
            self._book_changed(quote.symbol, book)

    def on_book(self, delta: BookDelta) -> None:
        """One book row: the venue's book, then the served book (published per message)."""
        self.venue.on_book(delta)
        book = self._book(delta.symbol)
        book.from_rows = True
        book.stream.push(delta)

    def close_bars(self, now_ns: int) -> None:
        """Send every subscribed kline bar that closed at ``now_ns`` (a whole minute), confirmed."""
        topics = sorted({t for p in self.peers for t in p.topics if t.startswith("kline.")})
        for topic in topics:
            _, interval, symbol = topic.split(".")
            interval_ns = INTERVAL_SECONDS[interval] * 1_000_000_000
            if now_ns % interval_ns:
                continue
            bar = self.venue.candles.bar(symbol, now_ns - interval_ns, interval_ns)
            if bar is not None:
                self._publish(topic, {"topic": topic, "data": [kline_bar(bar, interval, now_ns, True)],
                                      "ts": ms(now_ns), "type": "snapshot"})

    def depth(self, symbol: str, limit: int) -> tuple[int, list[BookLevel], list[BookLevel]]:
        """``(u, bids, asks)`` of the served book to ``limit`` levels (what REST's orderbook answers)."""
        book = self._book(symbol)
        if not book.from_rows and not book.bids and not book.asks:
            snapshot = self.venue.order_book(symbol, limit)
            return max(snapshot.update_id, 0), list(snapshot.bids), list(snapshot.asks)
        bids, asks = book.top(limit)
        return book.update_id, bids, asks

    # ------------------------------------------------------------------ the served book

    def _book(self, symbol: str) -> _Book:
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = _Book()
            book.stream.sync.on_apply = lambda levels, snapshot: self._apply_rows(symbol, book, levels, snapshot)
        return book

    def _apply_rows(self, symbol: str, book: _Book, levels: list[Level], snapshot: bool) -> None:
        if snapshot:
            book.bids = {p: q for side, p, q in levels if side == 1 and q > 0}
            book.asks = {p: q for side, p, q in levels if side == -1 and q > 0}
        else:
            for side, price, size in levels:
                target = book.bids if side == 1 else book.asks if side == -1 else None
                if target is None:
                    continue
                if size == 0:
                    target.pop(price, None)
                else:
                    target[price] = size
        self._book_changed(symbol, book)

    def _topic_state(self, book: _Book, topic: str, depth: int) -> tuple[int, dict[int, int], dict[int, int]]:
        state = book.topics.get(topic)
        if state is None:
            bids, asks = book.top(depth)
            state = book.topics[topic] = (1, {b.price: b.size for b in bids}, {a.price: a.size for a in asks})
        return state

    def _book_changed(self, symbol: str, book: _Book) -> None:
        book.update_id += 1
        for depth in _DEPTHS:
            topic = f"orderbook.{depth}.{symbol}"
            if topic not in book.topics:
                continue
            u, old_bids, old_asks = book.topics[topic]
            bids, asks = book.top(depth)
            new_bids, new_asks = {b.price: b.size for b in bids}, {a.price: a.size for a in asks}
            if (new_bids, new_asks) == (old_bids, old_asks):
                continue
            book.topics[topic] = (u + 1, new_bids, new_asks)
            if not self._subscribers(topic):
                continue
            if depth == 1:
                message = self._book_message(topic, symbol, "snapshot", u + 1, bids=list(new_bids.items()),
                                             asks=list(new_asks.items()))
            else:
                changed_bids = _changes(old_bids, new_bids, reverse=True)
                changed_asks = _changes(old_asks, new_asks, reverse=False)
                message = self._book_message(topic, symbol, "delta", u + 1, bids=changed_bids, asks=changed_asks)
            self._publish(topic, message)

    def _book_message(self, topic: str, symbol: str, kind: str, u: int, *, bids: list[tuple[int, int]],
                      asks: list[tuple[int, int]]) -> dict[str, Any]:
        now = ms(self.now_ns())
        return {"topic": topic, "ts": now, "type": kind,
                "data": {"s": symbol, "b": levels_json(BookLevel(p, q) for p, q in bids),
                         "a": levels_json(BookLevel(p, q) for p, q in asks), "u": u, "seq": u}, "cts": now}


def _changes(old: dict[int, int], new: dict[int, int], *, reverse: bool) -> list[tuple[int, int]]:
    out = [(p, 0) for p in old if p not in new] + [(p, q) for p, q in new.items() if old.get(p) != q]
    return sorted(out, reverse=reverse)

"""Binance market streams: stream names, who is subscribed to what, and the live SUBSCRIBE protocol.

Stream names (``web-socket-streams.md``, lower-case symbols): ``<s>@trade``, ``<s>@aggTrade``,
``<s>@bookTicker``, ``<s>@depth``, ``<s>@depth@100ms``, ``<s>@depth<5|10|20>[@100ms]`` and
``<s>@kline_<interval>``. A connection opened on ``/ws/<name>[/<name>...]`` or
``/stream?streams=a/b`` starts subscribed to those names (a ``/ws/<x>`` suffix that is no stream
name, as ccxt.pro uses, is accepted and ignored); ``/stream`` wraps every event as
``{"stream": name, "data": event}``. Control messages: ``SUBSCRIBE`` / ``UNSUBSCRIBE`` answer
``{"result": null, "id": n}``, ``LIST_SUBSCRIPTIONS`` the names, ``SET_PROPERTY``/``GET_PROPERTY``
``combined``; anything else gets ``{"error": {"code": 2, "msg": ...}, "id": n}``.

``StreamHub.publish`` is called by the venue's market side for each event, and hands it to
every peer subscribed to the stream (``has_subscribers`` lets the caller skip formatting an
event nobody wants). Deterministic: peers are served in connection order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from live.serve.peer import Peer
from live.serve.wire import BINANCE_INTERVALS

__all__ = ["StreamHub", "StreamName", "StreamPeer", "parse_stream"]

_SIMPLE = ("trade", "aggTrade", "bookTicker")
_PARTIAL = ("5", "10", "20")


@dataclass(frozen=True, slots=True)
class StreamName:
    """A parsed stream name: upper-case ``symbol``, ``kind`` (trade, aggTrade, bookTicker, depth,
    partial, kline) and ``arg`` (the partial depth's levels or the kline interval)."""

    name: str
    symbol: str
    kind: str
    arg: str = ""


def parse_stream(name: str) -> StreamName | None:
    """The stream named ``name`` (None when it names no stream the venue serves)."""
    symbol, sep, rest = name.partition("@")
    if not sep or not symbol or symbol != symbol.lower():
        return None
    upper = symbol.upper()
    if rest in _SIMPLE:
        return StreamName(name, upper, rest)
    if rest in ("depth", "depth@100ms", "depth@1000ms"):
        return StreamName(name, upper, "depth")
    if rest.startswith("depth"):
        levels, _, speed = rest[5:].partition("@")
        if levels in _PARTIAL and speed in ("", "100ms", "1000ms"):
            return StreamName(name, upper, "partial", levels)
        return None
    if rest.startswith("kline_") and rest[6:] in BINANCE_INTERVALS:
        return StreamName(name, upper, "kline", rest[6:])
    return None


@dataclass(eq=False)
class StreamPeer:
    """A market-stream connection: its peer, whether events are wrapped, and its streams."""

    peer: Peer
    combined: bool
    streams: list[str] = field(default_factory=list)


class StreamHub:
    """Every market-stream connection and its subscriptions (see the module docstring)."""

    def __init__(self) -> None:
        self.peers: list[StreamPeer] = []
        self._by_stream: dict[str, list[StreamPeer]] = {}
        self.published = 0

    # ------------------------------------------------------------------ subscriptions

    def add(self, peer: StreamPeer, names: list[str]) -> None:
        """A new connection, subscribed to ``names`` (unknown names are ignored)."""
        self.peers.append(peer)
        self.subscribe(peer, names)

    def remove(self, peer: StreamPeer) -> None:
        """A connection went away."""
        if peer in self.peers:
            self.peers.remove(peer)
        for name in list(peer.streams):
            self._unsubscribe_one(peer, name)

    def subscribe(self, peer: StreamPeer, names: list[str]) -> None:
        """Add ``names`` (those that parse) to the peer's streams."""
        for name in names:
            if parse_stream(name) is None or name in peer.streams:
                continue
            peer.streams.append(name)
            self._by_stream.setdefault(name, []).append(peer)

    def unsubscribe(self, peer: StreamPeer, names: list[str]) -> None:
        """Remove ``names`` from the peer's streams."""
        for name in names:
            self._unsubscribe_one(peer, name)

    def _unsubscribe_one(self, peer: StreamPeer, name: str) -> None:
        if name in peer.streams:
            peer.streams.remove(name)
        subscribers = self._by_stream.get(name)
        if subscribers and peer in subscribers:
            subscribers.remove(peer)
            if not subscribers:
                del self._by_stream[name]

    def subscribed(self) -> list[StreamName]:
        """Every stream somebody is subscribed to (parsed)."""
        return [s for s in (parse_stream(n) for n in self._by_stream) if s is not None]

    def has_subscribers(self, name: str) -> bool:
        """True when at least one connection receives ``name``."""
        return name in self._by_stream

    # ------------------------------------------------------------------ sending

    def publish(self, name: str, event: dict[str, Any]) -> None:
        """Send ``event`` on stream ``name`` to its subscribers (wrapped for combined connections)."""
        subscribers = self._by_stream.get(name)
        if not subscribers:
            return
        self.published += 1
        item = (name, event)
        for sub in subscribers:
            sub.peer.send({"stream": name, "data": event} if sub.combined else event, item)

    def control(self, peer: StreamPeer, text: str) -> None:
        """Answer one control message from the client (``SUBSCRIBE``, ``UNSUBSCRIBE``, ...)."""
        try:
            message = json.loads(text)
        except ValueError:
            peer.peer.send({"error": {"code": 3, "msg": "Invalid JSON"}, "id": None})
            return
        if not isinstance(message, dict):
            peer.peer.send({"error": {"code": 2, "msg": "Invalid request"}, "id": None})
            return
        request_id = message.get("id")
        method = message.get("method")
        params = message.get("params", [])
        names = [str(p) for p in params] if isinstance(params, list) else []
        if method == "SUBSCRIBE":
            bad = [n for n in names if parse_stream(n) is None]
            if bad:
                peer.peer.send({"error": {"code": 2, "msg": f"Invalid request: unknown stream {bad[0]!r}"},
                                "id": request_id})
                return
            self.subscribe(peer, names)
            peer.peer.send({"result": None, "id": request_id})
        elif method == "UNSUBSCRIBE":
            self.unsubscribe(peer, names)
            peer.peer.send({"result": None, "id": request_id})
        elif method == "LIST_SUBSCRIPTIONS":
            peer.peer.send({"result": list(peer.streams), "id": request_id})
        elif method == "SET_PROPERTY" and len(names) == 2 and names[0] == "combined":
            peer.combined = names[1].lower() == "true"
            peer.peer.send({"result": None, "id": request_id})
        elif method == "GET_PROPERTY" and names == ["combined"]:
            peer.peer.send({"result": peer.combined, "id": request_id})
        else:
            peer.peer.send({"error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"},
                            "id": request_id})

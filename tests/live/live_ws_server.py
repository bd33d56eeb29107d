"""A tiny WebSocket server on 127.0.0.1 for the transport tests, with the faults they need.

Speaks just enough of Binance's stream protocol: ``{"method": "SUBSCRIBE", "params": [...], "id": n}``
is acknowledged with ``{"result": null, "id": n}``; every other text is recorded. ``tick()``
sends a global sequence number to every subscribed connection (so two connections see the
same numbers); ``drop(path)`` aborts connections server-side; ``deaf`` connections stop
reading (so they never answer a ping); ``stop``/``restart`` take the listening port away and back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed


@dataclass
class Peer:
    """One accepted connection and what it sent."""

    index: int
    path: str
    ws: ServerConnection
    received: list[str] = field(default_factory=list)
    subscribed: list[str] = field(default_factory=list)
    closed: bool = False


class WsServer:
    """See the module docstring."""

    def __init__(self) -> None:
        self.peers: list[Peer] = []
        self.deaf_connections = 0  # the next N connections stop reading at once
        self.port = 0
        self.seq = 0
        self._server: Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.api: Callable[[Peer, dict[str, Any]], Awaitable[None]] | None = None  # WS API requests

    def url(self, path: str = "/ws") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        self._server = await serve(self._handle, "127.0.0.1", self.port, ping_interval=None)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and abort every connection."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def drop(self, path: str | None = None) -> int:
        """Abort the open connections (on ``path`` only, if given), as a crashing venue would."""
        count = 0
        for peer in self.open_peers(path):
            peer.ws.transport.abort()
            peer.closed = True
            count += 1
        return count

    def open_peers(self, path: str | None = None) -> list[Peer]:
        return [p for p in self.peers if not p.closed and (path is None or p.path == path)]

    def peers_on(self, path: str) -> list[Peer]:
        return [p for p in self.peers if p.path == path]

    def tick_every(self, interval_s: float) -> None:
        async def run() -> None:
            while True:
                await self.tick()
                await asyncio.sleep(interval_s)

        self._ticker = asyncio.create_task(run())

    async def tick(self) -> None:
        self.seq += 1
        message = json.dumps({"seq": self.seq})
        for peer in self.open_peers():
            if peer.subscribed:
                try:
                    await peer.ws.send(message)
                except ConnectionClosed:
                    peer.closed = True

    async def _handle(self, ws: ServerConnection) -> None:
        peer = Peer(len(self.peers), ws.request.path if ws.request else "", ws)
        self.peers.append(peer)
        if self.deaf_connections > 0:
            self.deaf_connections -= 1
            ws.transport.pause_reading()
        try:
            async for raw in ws:
                text = raw if isinstance(raw, str) else raw.decode()
                peer.received.append(text)
                data = json.loads(text) if text.startswith("{") else None
                if isinstance(data, dict) and data.get("method") == "SUBSCRIBE":
                    peer.subscribed.extend(data["params"])
                    await ws.send(json.dumps({"result": None, "id": data["id"]}))
                elif isinstance(data, dict) and "method" in data and self.api is not None:
                    await self.api(peer, data)
        except ConnectionClosed:
            pass
        finally:
            peer.closed = True

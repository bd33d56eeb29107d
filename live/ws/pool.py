"""Several WebSocket connections of one venue, each kept alive and monitored on its own (Property 12a).

A venue needs more than one stream: market data, user data, the WS API. ``WsPool`` holds them
by name, starts and closes them together, and reports each one's ``WsHealth``; a drop of one
never touches another (each ``WsConnection`` has its own state, tasks and backoff). With a
``harness.health.ConnectionMonitor`` the pool also feeds every connect, drop and reconnect into
the shared connection metrics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from harness.health import ConnectionMonitor
from live.ws.connection import WsConnection, WsEvent
from live.ws.state import WsHealth

__all__ = ["WsPool"]


class WsPool:
    """Named ``WsConnection``s of one venue, started, monitored and closed together."""

    def __init__(self, venue: str, *, monitor: ConnectionMonitor | None = None) -> None:
        self.venue = venue
        self._monitor = monitor
        self._connections: dict[str, WsConnection] = {}

    def add(self, connection: WsConnection) -> WsConnection:
        """Adopt ``connection`` under its name (names are unique within the pool)."""
        if connection.name in self._connections:
            raise ValueError(f"a connection named {connection.name!r} is already in the pool")
        self._connections[connection.name] = connection
        if self._monitor is not None:
            connection.add_listener(self._record)
        return connection

    def __getitem__(self, name: str) -> WsConnection:
        return self._connections[name]

    def __iter__(self) -> Iterator[WsConnection]:
        return iter(self._connections.values())

    def __len__(self) -> int:
        return len(self._connections)

    async def start(self) -> None:
        """Start every connection (each connects in the background)."""
        for connection in self._connections.values():
            await connection.start()

    async def close(self) -> None:
        """Close every connection."""
        await asyncio.gather(*(c.close() for c in self._connections.values()))

    def health(self) -> dict[str, WsHealth]:
        """Each connection's own health, by name."""
        return {name: c.health() for name, c in self._connections.items()}

    def _record(self, event: WsEvent) -> None:
        monitor = self._monitor
        assert monitor is not None
        if event.kind == "connected":
            monitor.record_connect(self.venue, event.connection)
        elif event.kind == "reconnected":
            monitor.record_reconnect(self.venue, event.connection)
        elif event.kind in ("disconnected", "closed"):
            monitor.record_disconnect(self.venue, event.connection)

"""The WebSocket transport: pure connection state, a thin websockets driver, pools, the WS API.

* ``state``: ``ConnectionState`` (backoff, subscriptions, buffer, heartbeat, rotation), ``WsSettings``.
* ``connection``: ``WsConnection``, one self-healing connection over ``websockets``.
* ``pool``: ``WsPool``, several named connections of one venue, each monitored on its own.
* ``api``: ``WsApiClient``, request/response over a connection with id correlation (Binance WS API).

Names are imported from their modules on first use (``harness.lazy_exports``).

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "PushHandler": "live.ws.api",
    "WsApiClient": "live.ws.api",
    "MessageHandler": "live.ws.connection",
    "WsConnection": "live.ws.connection",
    "WsEvent": "live.ws.connection",
    "WsListener": "live.ws.connection",
    "wait_with_timeout": "live.ws.connection",
    "WsPool": "live.ws.pool",
    "BufferFullError": "live.ws.state",
    "ConnectionState": "live.ws.state",
    "LinkState": "live.ws.state",
    "WsHealth": "live.ws.state",
    "WsSettings": "live.ws.state",
}

__all__ = [
    "BufferFullError",
    "ConnectionState",
    "LinkState",
    "MessageHandler",
    "PushHandler",
    "WsApiClient",
    "WsConnection",
    "WsEvent",
    "WsHealth",
    "WsListener",
    "WsPool",
    "WsSettings",
    "wait_with_timeout",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from live.ws.api import PushHandler, WsApiClient
    from live.ws.connection import MessageHandler, WsConnection, WsEvent, WsListener, wait_with_timeout
    from live.ws.pool import WsPool
    from live.ws.state import BufferFullError, ConnectionState, LinkState, WsHealth, WsSettings

"""The WebSocket transport: pure connection state, a thin websockets driver, pools, the WS API.

* ``state``: ``ConnectionState`` (backoff, subscriptions, buffer, heartbeat, rotation), ``WsSettings``.
* ``connection``: ``WsConnection``, one self-healing connection over ``websockets``.
* ``pool``: ``WsPool``, several named connections of one venue, each monitored on its own.
* ``api``: ``WsApiClient``, request/response over a connection with id correlation (Binance WS API).
"""

from live.ws.api import PushHandler, WsApiClient
from live.ws.connection import MessageHandler, WsConnection, WsEvent, WsListener, wait_with_timeout
from live.ws.pool import WsPool
from live.ws.state import BufferFullError, ConnectionState, LinkState, WsHealth, WsSettings

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

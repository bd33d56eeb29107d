"""The local venue's WS API (``/ws-api/v3``): request/response by ``id``, and the user-data stream.

Requests are ``{"id", "method", "params"}``; answers ``{"id", "status": 200, "result"}`` or
``{"id", "status", "error": {"code", "msg"}}`` (``web-socket-api.md``). Methods:

* ``userDataStream.subscribe.signature`` (signed: ``apiKey``, ``timestamp``, ``signature``,
  optional ``recvWindow``) -> ``{"subscriptionId": n}``; events then arrive as
  ``{"subscriptionId": n, "event": {...}}`` (``live.serve.userdata``);
  ``userDataStream.unsubscribe`` ends one (``subscriptionId``) or all;
* ``session.logon`` (signed) then ``userDataStream.subscribe`` (unsigned, for that key);
* the REST endpoints under their WS names, checked and limited as over REST
  (``live.serve.pipeline``): ``ping``, ``time``, ``exchangeInfo``, ``depth``, ``ticker.book``,
  ``klines``, ``order.place``, ``order.test``, ``order.cancel``, ``order.status``,
  ``openOrders.status``, ``account.status``, ``myTrades``.

Numbers in parameters are read as ``Decimal`` (never float) and passed on as text.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from live.serve.auth import BinanceApiError, RequestParams
from live.serve.peer import Peer
from live.serve.pipeline import DropConnection, RequestPipeline
from live.serve.userdata import UserDataHub

__all__ = ["WS_ENDPOINTS", "WsApiSession"]

WS_ENDPOINTS: dict[str, str] = {
    "ping": "GET /api/v3/ping", "time": "GET /api/v3/time", "exchangeInfo": "GET /api/v3/exchangeInfo",
    "depth": "GET /api/v3/depth", "ticker.book": "GET /api/v3/ticker/bookTicker", "klines": "GET /api/v3/klines",
    "order.place": "POST /api/v3/order", "order.test": "POST /api/v3/order/test",
    "order.cancel": "DELETE /api/v3/order", "order.status": "GET /api/v3/order",
    "openOrders.status": "GET /api/v3/openOrders", "account.status": "GET /api/v3/account",
    "myTrades": "GET /api/v3/myTrades",
}
"""WS-API methods served by a REST endpoint's action."""


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list):
        return json.dumps(value)
    return str(value)


class WsApiSession:
    """One WS-API connection: its requests, its logon and its user-data subscriptions."""

    def __init__(self, peer: Peer, pipeline: RequestPipeline, users: UserDataHub) -> None:
        self.peer = peer
        self.pipeline = pipeline
        self.users = users
        self.logged_on: str | None = None

    def close(self) -> None:
        """The connection went away: its subscriptions end."""
        self.users.drop(self.peer)

    def handle(self, text: str) -> None:
        """Answer one request (raises ``DropConnection`` when a fault wants the connection gone)."""
        try:
            message = json.loads(text, parse_float=Decimal)
        except ValueError:
            self.peer.send({"id": None, "status": 400, "error": {"code": -1100, "msg": "Invalid JSON."}})
            return
        if not isinstance(message, dict):
            self.peer.send({"id": None, "status": 400, "error": {"code": -1100, "msg": "Invalid request."}})
            return
        request_id = message.get("id")
        try:
            result = self._dispatch(str(message.get("method", "")), message.get("params") or {})
        except BinanceApiError as refused:
            self.peer.send({"id": request_id, "status": refused.status, "error": refused.body()})
            return
        except DropConnection:
            raise
        self.peer.send({"id": request_id, "status": 200, "result": result})

    def _dispatch(self, method: str, raw: Any) -> Any:
        if not isinstance(raw, dict):
            raise BinanceApiError(400, -1100, "Param 'params' must be an object.")
        params = RequestParams({k: _text(v) for k, v in raw.items()})
        if method == "userDataStream.subscribe.signature":
            self.pipeline.authenticate_ws(raw)
            return {"subscriptionId": self.users.subscribe(self.peer)}
        if method == "session.logon":
            self.logged_on = self.pipeline.authenticate_ws(raw)
            return {"apiKey": self.logged_on, "authorizedSince": 0, "connectedSince": 0, "returnRateLimits": False,
                    "serverTime": 0, "userDataStream": False}
        if method == "userDataStream.subscribe":
            if self.logged_on is None:
                raise BinanceApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
            return {"subscriptionId": self.users.subscribe(self.peer)}
        if method == "userDataStream.unsubscribe":
            sub = params.integer("subscriptionId")
            self.users.unsubscribe(self.peer, sub)
            return {}
        endpoint = WS_ENDPOINTS.get(method)
        if endpoint is None:
            raise BinanceApiError(400, -1100, f"Unknown method {method!r}.")
        answer = self.pipeline.handle(endpoint, params, None, ws_params=raw)
        return answer.result

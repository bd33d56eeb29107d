"""Request/response over a WebSocket with id correlation: the Binance WS API (``/ws-api/v3``).

Each request gets the next integer ``id``; the answer with that ``id`` resolves it, whatever the
order answers arrive in (``{"id": 7, "status": 200, "result": ...}``). Messages without a known
id (user-data events ``{"subscriptionId": 0, "event": ...}``) go to ``on_push``. A failed answer
becomes a typed error through the same mapping as REST (``live.rest.errors.binance_error``).

No answer within ``timeout_ns`` on the injected clock, or the connection dropping after the
request went out: ``AmbiguousError`` for order entry (the order may exist), ``RetryableError``
otherwise. A request made while disconnected waits in the connection's buffer and goes out on
reconnect. Signed requests use the WS-API rule (sorted parameters, ``apiKey`` included).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from harness.clock import NS_PER_SECOND, Clock
from harness.contract import AmbiguousError, ExchangeError, RetryableError
from harness.model import VenueMode
from harness.registry import Credentials
from harness.secrets import safe_logger
from live.redaction import SecretRedactor
from live.rest.errors import binance_error
from live.rest.protocol import TimeSync
from live.signing import ParamValue, hmac_signer, sign_binance_ws_params
from live.ws.connection import WsConnection, WsEvent, wait_with_timeout
from live.ws.state import WsSettings

__all__ = ["PushHandler", "WsApiClient"]

logger = safe_logger(__name__)

PushHandler = Callable[[Mapping[str, object]], None]
"""Receives every message that answers no request (user-data events, notices)."""


@dataclass
class _Pending:
    future: asyncio.Future[object]
    order_entry: bool
    sent: bool


class WsApiClient:
    """Binance-style WS API requests over one self-healing ``WsConnection``."""

    def __init__(self, name: str, url: str, *, clock: Clock, credentials: Credentials | None = None,
                 settings: WsSettings | None = None, rng: random.Random | None = None,
                 timeout_ns: int = 10 * NS_PER_SECOND, recv_window_ms: int = 5000, venue: str = "binance",
                 mode: VenueMode = VenueMode.SANDBOX, on_push: PushHandler | None = None) -> None:
        self.connection = WsConnection(name, url, clock=clock, on_message=self._dispatch, settings=settings, rng=rng,
                                       venue=venue, mode=mode, listeners=(self._on_event,))
        self.time = TimeSync()
        self._clock = clock
        self._credentials = credentials
        self._signer = hmac_signer(credentials.secret) if credentials else None
        self._redactor = SecretRedactor((credentials.api_key, credentials.secret) if credentials else ())
        self._timeout_ns = timeout_ns
        self._recv_window_ms = recv_window_ms
        self._venue = venue
        self._on_push = on_push
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}

    async def start(self) -> None:
        """Start the connection."""
        await self.connection.start()

    async def close(self) -> None:
        """Close the connection; pending requests fail as after a drop."""
        await self.connection.close()
        self._fail_pending("connection closed", only_sent=False)

    async def sync_time(self) -> int:
        """Learn the clock offset from the ``time`` method; returns it in ms."""
        sent = self._clock.now_ns()
        result = await self.request("time")
        server = result.get("serverTime") if isinstance(result, dict) else None
        if isinstance(server, bool) or not isinstance(server, int):
            raise ExchangeError("malformed time answer", venue=self._venue)
        return self.time.update(server, sent, self._clock.now_ns())

    async def request(self, method: str, params: Mapping[str, ParamValue] | None = None, *, signed: bool = False,
                      order_entry: bool = False) -> object:
        """Send one request and return its ``result``, or raise a typed ``VenueError``."""
        request_id = next(self._ids)
        body: dict[str, object] = {"id": request_id, "method": method}
        if signed:
            if self._credentials is None or self._signer is None:
                raise ValueError(f"{method} is signed but the client has no credentials")
            stamped = {**(params or {}), "recvWindow": self._recv_window_ms,
                       "timestamp": self.time.timestamp_ms(self._clock.now_ns())}
            body["params"] = sign_binance_ws_params(stamped, api_key=self._credentials.api_key, signer=self._signer)
        elif params:
            body["params"] = dict(params)
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        pending = _Pending(future, order_entry, sent=False)
        self._pending[request_id] = pending
        try:
            pending.sent = await self.connection.send(json.dumps(body, default=str))
            done = await wait_with_timeout(future, self._timeout_ns, self._clock)
            if done is None:
                cls = AmbiguousError if order_entry else RetryableError
                raise cls(f"{method}: no answer within {self._timeout_ns} ns", venue=self._venue)
            return done.result()
        finally:
            self._pending.pop(request_id, None)

    def _dispatch(self, message: str | bytes) -> None:
        data = json.loads(message)
        request_id = data.get("id") if isinstance(data, dict) else None
        pending = self._pending.get(request_id) if isinstance(request_id, int) else None
        if pending is None:
            if self._on_push is not None and isinstance(data, dict):
                self._on_push(data)
            return
        if pending.future.done():
            return
        status = data.get("status", 200)
        if status == 200 and "error" not in data:
            pending.future.set_result(data.get("result"))
            return
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        code = error.get("code")
        pending.future.set_exception(binance_error(
            int(status), code=code if isinstance(code, int) else None, message=str(error.get("msg", "")),
            retry_after_s=None, order_entry=pending.order_entry, venue=self._venue, redactor=self._redactor))

    def _on_event(self, event: WsEvent) -> None:
        if event.kind in ("disconnected", "heartbeat_timeout"):
            self._fail_pending(event.detail or event.kind, only_sent=True)
        elif event.kind in ("connected", "reconnected"):
            for pending in self._pending.values():
                pending.sent = True  # the buffer was flushed on this connection

    def _fail_pending(self, reason: str, *, only_sent: bool) -> None:
        for pending in self._pending.values():
            if pending.future.done() or (only_sent and not pending.sent):
                continue
            cls = AmbiguousError if pending.order_entry else RetryableError
            pending.future.set_exception(cls(f"connection dropped before the answer: {reason}", venue=self._venue))

"""One Bybit v5 WebSocket (public or private): topics, acknowledged requests and a delivery barrier.

Bybit's WS speaks in ``op`` messages: ``{"op": "subscribe", "req_id": r, "args": [topic]}`` is
answered ``{"success": true, "ret_msg": "", "conn_id": c, "req_id": r, "op": "subscribe"}``,
``{"op": "ping", "req_id": r}`` is answered with ``op`` ``ping`` (``ret_msg`` ``pong``) or ``pong``,
and ``{"op": "auth", "args": [key, expires, sign]}`` (private only) with ``op`` ``auth``. Pushes
carry a ``topic`` and go, synchronously, to that topic's handlers.

``BybitSocket`` keeps one self-healing ``WsConnection``. After every (re)connect it first runs
``on_open`` (the private stream authenticates there, with a fresh signature) and then subscribes
every topic again, so a reconnect brings every snapshot back. ``request`` sends one ``op`` and
waits for its answer by ``req_id``; a ``success: false`` answer raises, and so does a lost
connection (``RetryableError``: the request is not resent). ``round_trip`` (a ping) is
a delivery barrier: everything the venue sent before its answer has been handled. A message that
is not JSON, or a push that does not parse, is logged and counted (``malformed``), never raised
into the connection.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from harness.clock import Clock
from harness.contract import ExchangeError, RetryableError
from harness.model import VenueMode
from live.ws.connection import WsConnection, WsEvent, wait_with_timeout
from live.ws.state import WsSettings

__all__ = ["BybitSocket", "TopicHandler"]

logger = logging.getLogger(__name__)

TopicHandler = Callable[[Mapping[str, Any]], None]
"""Receives one pushed message of a topic (the whole message: ``topic``, ``type``, ``ts``, ``data``)."""


class BybitSocket:
    """Topics and ``op`` requests on one Bybit WS connection (see the module docstring)."""

    def __init__(self, name: str, url: str, *, clock: Clock, settings: WsSettings | None = None,
                 rng: random.Random | None = None, mode: VenueMode = VenueMode.SANDBOX,
                 timeout_ns: int = 10_000_000_000, on_open: Callable[[], Awaitable[None]] | None = None,
                 venue: str = "bybit") -> None:
        self.connection = WsConnection(name, url, clock=clock, on_message=self._on_message, settings=settings,
                                       rng=rng, venue=venue, mode=mode)
        self.connection.add_listener(self._on_connection)
        self.name = name
        self.venue = venue
        self._clock = clock
        self._timeout_ns = timeout_ns
        self._on_open = on_open
        self._handlers: dict[str, list[TopicHandler]] = {}
        self._answers: dict[str, asyncio.Future[Mapping[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._reopen: asyncio.Task[None] | None = None
        self._started = False
        self.malformed = 0
        self.events = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self, open_timeout_ns: int) -> None:
        """Connect, run ``on_open``, subscribe the topics already registered; returns when done."""
        await self.connection.start()
        if not await self.connection.wait_open(open_timeout_ns):
            raise RetryableError(f"{self.name}: could not open {self.connection.url}", venue=self.venue)
        await self._opened()
        self._started = True

    async def close(self) -> None:
        """Close the connection (topics are kept and subscribed again if started again)."""
        self._started = False
        if self._reopen is not None:
            self._reopen.cancel()
            await asyncio.gather(self._reopen, return_exceptions=True)
            self._reopen = None
        await self.connection.close()
        for future in self._answers.values():
            if not future.done():
                future.set_exception(RetryableError(f"{self.name}: closed", venue=self.venue))
        self._answers.clear()

    def _on_connection(self, event: WsEvent) -> None:
        if event.kind == "disconnected":  # what was asked on the lost connection will never be answered
            for future in self._answers.values():
                if not future.done():
                    future.set_exception(RetryableError(f"{self.name}: connection lost: {event.detail}",
                                                        venue=self.venue))
        if event.kind == "reconnected" and self._started:
            self._reopen = asyncio.get_running_loop().create_task(self._reopened(), name=f"{self.name}-reopen")

    async def _reopened(self) -> None:
        try:
            await self._opened()
        except Exception as error:  # dropped again or refused: logged, the next reconnect retries
            logger.warning("bybit %s: re-subscribe after reconnect failed: %s", self.name, error)

    async def _opened(self) -> None:
        if self._on_open is not None:
            await self._on_open()
        for topic in list(self._handlers):
            await self.request("subscribe", [topic])

    # ------------------------------------------------------------------ topics and requests

    async def subscribe(self, topic: str, handler: TopicHandler) -> None:
        """Deliver ``topic``'s pushes to ``handler``; subscribes at the venue on the first handler."""
        handlers = self._handlers.setdefault(topic, [])
        handlers.append(handler)
        if len(handlers) == 1 and self._started:
            try:
                await self.request("subscribe", [topic])
            except BaseException:
                handlers.remove(handler)
                if not handlers:
                    del self._handlers[topic]
                raise

    async def unsubscribe(self, topic: str, handler: TopicHandler) -> None:
        """Stop delivering to ``handler``; unsubscribes at the venue after the last one."""
        handlers = self._handlers.get(topic, [])
        if handler in handlers:
            handlers.remove(handler)
        if handlers or topic not in self._handlers:
            return
        del self._handlers[topic]
        if self._started:
            await self.connection.send(json.dumps({"op": "unsubscribe", "req_id": self._req_id(), "args": [topic]}))

    async def resubscribe(self, topic: str) -> None:
        """Unsubscribe and subscribe ``topic`` again: the venue sends a fresh snapshot."""
        if topic not in self._handlers or not self._started:
            return
        await self.connection.send(json.dumps({"op": "unsubscribe", "req_id": self._req_id(), "args": [topic]}))
        await self.request("subscribe", [topic])

    async def round_trip(self) -> None:
        """A ``ping`` answered: everything sent before it has been delivered."""
        await self.request("ping")

    def _req_id(self) -> str:
        return f"{self.name}-{next(self._ids)}"

    async def request(self, op: str, args: list[Any] | None = None) -> Mapping[str, Any]:
        """Send one ``op`` and wait for its answer; ``success: false`` raises ``ExchangeError``."""
        req_id = self._req_id()
        message: dict[str, Any] = {"op": op, "req_id": req_id}
        if args is not None:
            message["args"] = args
        future: asyncio.Future[Mapping[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[req_id] = future
        try:
            await self.connection.send(json.dumps(message))
            done = await wait_with_timeout(future, self._timeout_ns, self._clock)
        finally:
            self._answers.pop(req_id, None)
        if done is None:
            raise RetryableError(f"{self.name}: no answer to {op}", venue=self.venue)
        answer = done.result()
        assert isinstance(answer, Mapping)
        if answer.get("success") is False:
            raise ExchangeError(f"{self.name}: {op} refused: {answer.get('ret_msg', '')}", venue=self.venue)
        return answer

    # ------------------------------------------------------------------ incoming

    def _on_message(self, message: str | bytes) -> None:
        try:
            data = json.loads(message)
        except ValueError:
            self._malformed(f"not JSON: {message[:80]!r}")
            return
        if not isinstance(data, dict):
            self._malformed(f"not an object: {message[:80]!r}")
            return
        topic = data.get("topic")
        if isinstance(topic, str):
            handlers = self._handlers.get(topic)
            if not handlers:
                return
            self.events += 1
            for handler in list(handlers):
                try:
                    handler(data)
                except ExchangeError as error:
                    self._malformed(f"{topic}: {error}")
            return
        req_id = data.get("req_id")
        future = self._answers.get(req_id) if isinstance(req_id, str) else None
        if future is None and data.get("op") in ("auth",) and len(self._answers) == 1:
            future = next(iter(self._answers.values()))  # an auth answer without our req_id
        if future is not None and not future.done():
            future.set_result(data)

    def _malformed(self, what: str) -> None:
        self.malformed += 1
        logger.warning("bybit %s: malformed message ignored: %s", self.name, what)

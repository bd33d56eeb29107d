"""The thin websockets driver of one connection: it moves frames and follows ``ConnectionState``.

A ``WsConnection`` keeps one logical stream alive for as long as it is started: it connects,
replays the subscriptions and the buffered sends, reads messages into ``on_message``, pings on
the heartbeat interval, and on any drop waits the state's backoff and connects again. When the
connection reaches its maximum age it is *rotated*: a replacement is opened and subscribed while
the old one still delivers, and the old one is closed only once the new one has delivered a
message (or ``rotation_overlap_ns`` has passed), and the old one is then read to its end: whatever
the venue sent on it before its close frame is still delivered (TCP keeps the order per socket).
Anything published after the replacement's subscription took effect arrives on the replacement,
so a planned disconnect leaves no gap; messages of the overlap may arrive twice (consumers dedupe
by the venue's sequence ids, as book sync does anyway).

Sleeps and timeouts go through the injected ``Clock``; websockets' own keepalive is off (our
heartbeat replaces it). Every transition is reported as a ``WsEvent`` to the listeners.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from harness.clock import NS_PER_SECOND, Clock
from harness.model import VenueMode
from harness.secrets import safe_logger
from live.guard import check_transport_url
from live.ws.state import ConnectionState, WsHealth, WsSettings

__all__ = ["MessageHandler", "WsConnection", "WsEvent", "WsListener", "wait_with_timeout"]

logger = safe_logger(__name__)

MessageHandler = Callable[[str | bytes], None]
"""Receives every message (text or binary frame), synchronously: the market-data hot path."""


@dataclass(frozen=True, slots=True)
class WsEvent:
    """One transition of a connection: ``connected``, ``reconnected``, ``disconnected``, ``backoff``,
    ``heartbeat_timeout``, ``rotation_started``, ``rotated``, ``rotation_failed``, ``handler_error``, ``closed``."""

    ts_ns: int
    connection: str
    kind: str
    detail: str = ""
    delay_ns: int | None = None


WsListener = Callable[[WsEvent], None]
"""Receives every ``WsEvent`` of a connection."""


class _Link:
    """One open socket and its reader task."""

    __slots__ = ("first_message", "reader", "ws")

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.reader: asyncio.Task[str] | None = None
        self.first_message = asyncio.Event()


async def wait_with_timeout(aw: Awaitable[object], timeout_ns: int, clock: Clock) -> asyncio.Future[object] | None:
    """Await ``aw`` for at most ``timeout_ns`` on ``clock``: its finished future, or ``None`` on timeout."""
    fut = asyncio.ensure_future(aw)
    sleeper = asyncio.ensure_future(clock.sleep_ns(timeout_ns))
    try:
        await asyncio.wait({fut, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()
    if fut.done():
        return fut
    fut.cancel()
    return None


class WsConnection:
    """One self-healing WebSocket connection (see the module docstring)."""

    def __init__(self, name: str, url: str, *, clock: Clock, on_message: MessageHandler,
                 settings: WsSettings | None = None, rng: random.Random | None = None, venue: str = "binance",
                 mode: VenueMode = VenueMode.SANDBOX, listeners: tuple[WsListener, ...] = ()) -> None:
        check_transport_url(venue, mode, url, "ws")
        self.name = name
        self.url = url
        self.venue = venue
        self.state = ConnectionState(name, settings or WsSettings(), rng)
        self._clock = clock
        self._on_message = on_message
        self._listeners = list(listeners)
        self._link: _Link | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._open = asyncio.Event()
        self._closing = False
        self._rotation_not_before_ns = 0

    # ------------------------------------------------------------------ public

    def add_listener(self, listener: WsListener) -> None:
        """Also report events to ``listener``."""
        self._listeners.append(listener)

    async def start(self) -> None:
        """Start connecting (in the background); returns at once."""
        if self._supervisor is None:
            self._closing = False
            self._supervisor = asyncio.create_task(self._supervise(), name=f"ws-{self.name}")

    async def wait_open(self, timeout_ns: int) -> bool:
        """Wait until a connection is open (True) or ``timeout_ns`` passes on the clock (False)."""
        return await wait_with_timeout(self._open.wait(), timeout_ns, self._clock) is not None

    async def send(self, message: str) -> bool:
        """Send now if open (True), else buffer it for the next connection (False)."""
        if self._closing:
            raise RuntimeError(f"{self.name}: connection is closed")
        if not self.state.outgoing(message):
            return False
        return await self._send_now(message)

    async def subscribe(self, key: str, message: str) -> None:
        """Register a subscription (replayed after every reconnect) and send it now if open."""
        if self.state.subscribe(key, message):
            await self._send_now(message, requeue=False)

    async def unsubscribe(self, key: str, message: str | None = None) -> None:
        """Forget a subscription; send ``message`` (the venue's unsubscribe) now if open."""
        if self.state.unsubscribe(key) and message is not None:
            await self._send_now(message, requeue=False)

    def health(self) -> WsHealth:
        """This connection's health, independent of any other connection."""
        return self.state.health()

    async def close(self) -> None:
        """Stop for good: close the socket, stop reconnecting."""
        self._closing = True
        link, self._link = self._link, None
        if link is not None:
            await link.ws.close()
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
            self._supervisor = None
        self._open.clear()
        self.state.closed()
        self._emit("closed")

    # ------------------------------------------------------------------ supervision

    def _emit(self, kind: str, detail: str = "", delay_ns: int | None = None) -> None:
        event = WsEvent(self._clock.now_ns(), self.name, kind, detail, delay_ns)
        log = logger.warning if kind in ("disconnected", "heartbeat_timeout", "rotation_failed") else logger.info
        log("ws %s: %s %s", self.name, kind, detail)
        for listener in self._listeners:
            listener(event)

    async def _connect(self) -> _Link | str:
        settings = self.state.settings
        try:
            ws = await connect(self.url, open_timeout=settings.open_timeout_ns / NS_PER_SECOND,
                               ping_interval=None, ping_timeout=None, close_timeout=1)
        except (OSError, TimeoutError, WebSocketException) as exc:
            return f"connect failed: {type(exc).__name__}: {exc}"
        return _Link(ws)

    async def _supervise(self) -> None:
        while not self._closing:
            self.state.connecting()
            link = await self._connect()
            if isinstance(link, str):
                await self._backoff(link)
                continue
            reconnects = self.state.reconnects
            pending = self.state.opened(self._clock.now_ns())
            self._link = link
            self._open.set()
            self._emit("reconnected" if self.state.reconnects > reconnects else "connected", self.url)
            await self._flush(link, pending, len(self.state.subscriptions))
            reason = await self._serve(link)
            self._open.clear()
            self._link = None
            if self._closing:
                return
            self._emit("disconnected", reason)
            await self._backoff(reason)

    async def _backoff(self, reason: str) -> None:
        delay = self.state.dropped(reason)
        self._emit("backoff", reason, delay)
        await self._clock.sleep_ns(delay)

    async def _flush(self, link: _Link, pending: list[str], subscriptions: int) -> None:
        for index, message in enumerate(pending):
            try:
                await link.ws.send(message)
            except ConnectionClosed:
                for lost in reversed(pending[max(index, subscriptions):]):
                    self.state.requeue(lost)  # subscriptions are replayed anyway; sends wait again
                return

    async def _send_now(self, message: str, *, requeue: bool = True) -> bool:
        link = self._link
        if link is None:
            if requeue:
                self.state.requeue(message)
            return False
        try:
            await link.ws.send(message)
        except ConnectionClosed:
            if requeue:
                self.state.requeue(message)
            return False
        return True

    async def _serve(self, link: _Link) -> str:
        """Run ``link`` (and its rotations) until the current one is lost; returns why."""
        while True:
            if link.reader is None:
                link.reader = asyncio.create_task(self._read(link))
            watchers: list[asyncio.Task[Any]] = []
            heartbeat = rotation = None
            if self.state.settings.ping_interval_ns is not None:
                heartbeat = asyncio.create_task(self._heartbeat(link))
                watchers.append(heartbeat)
            if self.state.rotation_due_at() is not None:
                rotation = asyncio.create_task(self._rotation_timer())
                watchers.append(rotation)
            try:
                await asyncio.wait({link.reader, *watchers}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in watchers:
                    task.cancel()
                await asyncio.gather(*watchers, return_exceptions=True)
            if link.reader.done():
                return link.reader.result()
            if heartbeat is not None and heartbeat.done() and not heartbeat.cancelled() and heartbeat.result():
                self.state.heartbeat_timeout()
                self._emit("heartbeat_timeout", f"no pong within {self.state.settings.ping_timeout_ns} ns")
                link.ws.transport.abort()  # a dead peer would never finish a closing handshake
                await asyncio.gather(link.reader, return_exceptions=True)
                return "heartbeat timeout"
            if rotation is not None and rotation.done() and not rotation.cancelled():
                link = await self._rotate(link)

    async def _read(self, link: _Link) -> str:
        try:
            async for message in link.ws:
                self.state.received(self._clock.now_ns())
                link.first_message.set()
                try:
                    self._on_message(message)
                except Exception:  # a bad message must not kill the stream: log it, count it, go on
                    self.state.handler_errors += 1
                    logger.exception("ws %s: message handler failed on %r", self.name, message[:200])
                    self._emit("handler_error")
        except ConnectionClosed as exc:
            return f"connection lost: {exc}"
        return f"closed by peer: {link.ws.close_code} {link.ws.close_reason or ''}".rstrip()

    async def _heartbeat(self, link: _Link) -> bool:
        """Ping every interval; returns True on a pong timeout, False if the socket closed first."""
        settings = self.state.settings
        assert settings.ping_interval_ns is not None
        while True:
            await self._clock.sleep_ns(settings.ping_interval_ns)
            try:
                pong = await link.ws.ping()
            except ConnectionClosed:
                return False
            self.state.ping_sent(self._clock.now_ns())
            answered = await wait_with_timeout(pong, settings.ping_timeout_ns, self._clock)
            if answered is None:
                return True
            if answered.exception() is not None:
                return False
            self.state.pong_received()

    async def _rotation_timer(self) -> None:
        due = self.state.rotation_due_at()
        assert due is not None
        await self._clock.sleep_ns(max(0, max(due, self._rotation_not_before_ns) - self._clock.now_ns()))

    async def _rotate(self, old: _Link) -> _Link:
        """Open the replacement, subscribe it, switch to it, then close ``old``; keep ``old`` on failure."""
        self._emit("rotation_started")
        new = await self._connect()
        if isinstance(new, str):  # the old link still serves; try again after the first backoff step
            self._rotation_not_before_ns = self._clock.now_ns() + self.state.settings.backoff.base_delay_ns(0)
            self._emit("rotation_failed", new)
            return old
        new.reader = asyncio.create_task(self._read(new))
        subscriptions = self.state.rotated(self._clock.now_ns())
        await self._flush(new, subscriptions, len(subscriptions))
        self._link = new  # sends go to the replacement from here on
        await wait_with_timeout(new.first_message.wait(), self.state.settings.rotation_overlap_ns, self._clock)
        await old.ws.close()
        if old.reader is not None:
            await asyncio.gather(old.reader, return_exceptions=True)
        self._emit("rotated", self.url)
        return new

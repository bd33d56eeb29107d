"""The state of one WebSocket connection, without sockets: backoff, subscriptions, buffer, health.

``ConnectionState`` is what ``WsConnection`` (the thin websockets driver) consults and updates;
every decision is here, so it is tested without a network:

* **Backoff** (Property 11): after a drop or a failed attempt, wait ``backoff.base_delay_ns(n)``
  for the n-th consecutive failure: 1, 2, 4, 8, 16, 30, 30 ... s by default
  (``live.backoff.DEFAULT_BACKOFF``, a ``harness.errors.RetryPolicy``); with ``jitter`` > 0 and
  an injected seeded ``rng``, +/- jitter. The count restarts when a connection opens.
* **Subscriptions**: a registry of key -> subscribe message; all of them are sent again, in the
  order they were made, on every new connection (Property 11).
* **Outgoing buffer**: messages sent while no connection is open wait (bounded) and are flushed,
  after the subscriptions, as soon as one is.
* **Heartbeat** (Property 12): a ping is due every ``ping_interval_ns``; one unanswered for
  ``ping_timeout_ns`` marks the connection unhealthy (the driver then drops and reconnects).
* **Rotation**: a connection older than ``max_age_ns`` (Binance cuts them at 24 h) is due for
  a planned replacement, opened before the old one is closed.

Times are int ns passed in by the caller (from the injected ``Clock``).
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from harness.clock import NS_PER_SECOND
from harness.errors import RetryPolicy
from live.backoff import DEFAULT_BACKOFF

__all__ = ["BufferFullError", "ConnectionState", "LinkState", "WsHealth", "WsSettings"]



@dataclass(frozen=True, slots=True)
class WsSettings:
    """Timing and limits of one connection (all durations int ns).

    ``max_age_ns`` ``None`` disables rotation; ``rotation_overlap_ns`` bounds how long the old
    connection is kept once the replacement is open and subscribed, waiting for its first message.
    ``open_timeout_ns`` bounds a connection attempt (handshake included).
    """

    ping_interval_ns: int | None = 20 * NS_PER_SECOND
    ping_timeout_ns: int = 10 * NS_PER_SECOND
    backoff: RetryPolicy = DEFAULT_BACKOFF
    max_age_ns: int | None = 23 * 3600 * NS_PER_SECOND
    rotation_overlap_ns: int = 5 * NS_PER_SECOND
    open_timeout_ns: int = 10 * NS_PER_SECOND
    buffer_limit: int = 10_000

    def __post_init__(self) -> None:
        for name in ("ping_interval_ns", "max_age_ns"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise ValueError(f"{name} must be a positive int or None, got {value!r}")
        for name in ("ping_timeout_ns", "rotation_overlap_ns", "open_timeout_ns", "buffer_limit"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")


class LinkState(StrEnum):
    """Where a connection is in its life."""

    IDLE = "IDLE"
    CONNECTING = "CONNECTING"
    OPEN = "OPEN"
    BACKOFF = "BACKOFF"
    CLOSED = "CLOSED"


@dataclass(frozen=True, slots=True)
class WsHealth:
    """A snapshot of one connection's health (Property 12a: each connection is monitored on its own)."""

    name: str
    state: LinkState
    connected: bool
    healthy: bool
    last_message_ns: int | None
    connected_since_ns: int | None
    reconnects: int
    rotations: int
    heartbeat_timeouts: int
    pings: int
    pongs: int
    messages: int
    handler_errors: int
    buffered: int
    last_error: str = ""


class BufferFullError(RuntimeError):
    """The outgoing buffer is at ``buffer_limit`` while disconnected; the message was not queued."""


@dataclass
class _Heartbeat:
    ping_sent_ns: int | None = None
    timeouts: int = 0
    pings: int = 0
    pongs: int = 0


@dataclass
class ConnectionState:
    """Everything one connection remembers across reconnects (see the module docstring)."""

    name: str
    settings: WsSettings = field(default_factory=WsSettings)
    rng: random.Random | None = None
    state: LinkState = LinkState.IDLE
    healthy: bool = False
    failures: int = 0
    reconnects: int = 0
    rotations: int = 0
    messages: int = 0
    handler_errors: int = 0
    last_message_ns: int | None = None
    connected_since_ns: int | None = None
    last_error: str = ""
    _ever_connected: bool = False
    _subscriptions: dict[str, str] = field(default_factory=dict)
    _buffer: deque[str] = field(default_factory=deque)
    _heartbeat: _Heartbeat = field(default_factory=_Heartbeat)

    # ------------------------------------------------------------------ subscriptions and sends

    @property
    def is_open(self) -> bool:
        """True while a connection is open (messages go out at once)."""
        return self.state is LinkState.OPEN

    def subscribe(self, key: str, message: str) -> bool:
        """Register ``message`` under ``key`` (replacing an older one); True if it should be sent now."""
        self._subscriptions.pop(key, None)
        self._subscriptions[key] = message
        return self.is_open

    def unsubscribe(self, key: str) -> bool:
        """Forget ``key``; True if it was registered and a connection is open (send the unsubscribe now)."""
        return self._subscriptions.pop(key, None) is not None and self.is_open

    @property
    def subscriptions(self) -> tuple[str, ...]:
        """The subscribe messages to replay on a new connection, oldest first."""
        return tuple(self._subscriptions.values())

    def outgoing(self, message: str) -> bool:
        """True if ``message`` can be sent now; otherwise it is buffered (``BufferFullError`` when full)."""
        if self.is_open:
            return True
        if len(self._buffer) >= self.settings.buffer_limit:
            raise BufferFullError(f"{self.name}: {len(self._buffer)} messages already wait for a connection")
        self._buffer.append(message)
        return False

    def requeue(self, message: str) -> None:
        """Put back at the head of the buffer a message whose send failed as the connection dropped."""
        self._buffer.appendleft(message)

    @property
    def buffered(self) -> int:
        """How many messages wait for a connection."""
        return len(self._buffer)

    # ------------------------------------------------------------------ lifecycle

    def connecting(self) -> None:
        """An attempt starts."""
        self.state = LinkState.CONNECTING

    def opened(self, now_ns: int) -> list[str]:
        """A connection is open: returns what to send first (every subscription, then the buffer).

        Counts a reconnect when a connection was open before; resets the backoff.
        """
        if self._ever_connected:
            self.reconnects += 1
        self._ever_connected = True
        self.state = LinkState.OPEN
        self.healthy = True
        self.failures = 0
        self.connected_since_ns = now_ns
        self._heartbeat.ping_sent_ns = None
        pending = [*self._subscriptions.values(), *self._buffer]
        self._buffer.clear()
        return pending

    def rotated(self, now_ns: int) -> list[str]:
        """A planned replacement is open: returns the subscriptions to send on it (the buffer stays)."""
        self.rotations += 1
        self.connected_since_ns = now_ns
        self._heartbeat.ping_sent_ns = None
        return list(self._subscriptions.values())

    def dropped(self, reason: str) -> int:
        """The connection dropped or an attempt failed: returns the backoff delay (ns) before the next one."""
        self.state = LinkState.BACKOFF
        self.healthy = False
        self.connected_since_ns = None
        self.last_error = reason
        policy = self.settings.backoff
        if self.rng is not None and policy.jitter > 0:
            delay = policy.delay_ns(self.failures, self.rng)
        else:
            delay = policy.base_delay_ns(self.failures)
        self.failures += 1
        return delay

    def closed(self) -> None:
        """Closed on purpose: no reconnect."""
        self.state = LinkState.CLOSED
        self.healthy = False
        self.connected_since_ns = None

    def received(self, now_ns: int) -> None:
        """A message arrived."""
        self.messages += 1
        self.last_message_ns = now_ns

    # ------------------------------------------------------------------ heartbeat and rotation

    def ping_sent(self, now_ns: int) -> None:
        """A ping went out and awaits its pong."""
        self._heartbeat.ping_sent_ns = now_ns
        self._heartbeat.pings += 1

    def pong_received(self) -> None:
        """The outstanding ping was answered."""
        self._heartbeat.ping_sent_ns = None
        self._heartbeat.pongs += 1

    def ping_overdue(self, now_ns: int) -> bool:
        """True when the outstanding ping has waited ``ping_timeout_ns`` without a pong."""
        sent = self._heartbeat.ping_sent_ns
        return sent is not None and now_ns - sent >= self.settings.ping_timeout_ns

    def heartbeat_timeout(self) -> None:
        """The outstanding ping went unanswered: the connection is unhealthy (the driver drops it)."""
        if self.healthy:
            self._heartbeat.timeouts += 1
        self.healthy = False
        self._heartbeat.ping_sent_ns = None

    def rotation_due_at(self) -> int | None:
        """When the open connection reaches ``max_age_ns`` (``None``: not open, or rotation disabled)."""
        if self.settings.max_age_ns is None or self.connected_since_ns is None:
            return None
        return self.connected_since_ns + self.settings.max_age_ns

    def health(self) -> WsHealth:
        """A snapshot for dashboards and tests."""
        return WsHealth(name=self.name, state=self.state, connected=self.is_open, healthy=self.healthy,
                        last_message_ns=self.last_message_ns, connected_since_ns=self.connected_since_ns,
                        reconnects=self.reconnects, rotations=self.rotations,
                        heartbeat_timeouts=self._heartbeat.timeouts,
                        pings=self._heartbeat.pings, pongs=self._heartbeat.pongs, messages=self.messages,
                        handler_errors=self.handler_errors, buffered=len(self._buffer), last_error=self.last_error)

"""The simulated client's connections to a venue's streams, and what it noticed about them.

A live client keeps each WebSocket stream alive itself: it hears a close (or notices silence at
its next heartbeat), reconnects with exponential backoff and subscribes again. ``SimAdapter``
does the same for its market-data stream and its user-data stream, with one ``StreamLink`` each:

* ``carried``: the venue side holds the connection and sends on it. Fault injectors cut it
  (``sim.channels``' ``cut`` drops what is in flight; the venue forgets the subscriptions).
* ``known_up``: the client believes the connection is up. It learns of a cut by a close frame
  (one response latency later) or, when the connection died silently, by a heartbeat that gets
  no pong (``LinkSettings.ping_interval_ns``, then ``pong_timeout_ns``).
* ``refused_until_ns``: new connections are refused before this time (a partition, a venue
  that is away), so reconnect attempts fail and back off.

Everything the client notices is a ``StreamEvent`` in an ``EventLog`` (kinds in ``EVENT_KINDS``):
the client's own account of its connections, which scenario scorecards read to time detection
and recovery of faults. Nothing here reads a clock except the injected one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from harness.clock import NS_PER_SECOND

__all__ = ["EVENT_KINDS", "EventLog", "LinkSettings", "StreamEvent", "StreamLink"]

EVENT_KINDS: Final = (
    "down",                  # the client noticed a stream is gone (detail: close | heartbeat timeout)
    "up",                    # a stream (re)connected
    "reconnect_failed",      # a reconnect attempt was refused
    "resubscribed",          # market-data subscriptions sent again after a reconnect
    "subscription_failed",   # the venue refused a subscription (retried with backoff)
    "subscription_persistent_failure",  # ... for the configured number of attempts in a row
    "subscribed",            # a subscription the venue had refused went through
    "book_gap",              # the client's book found a sequence gap (or has no snapshot yet)
    "book_resynced",         # the client's book was rebuilt from a REST snapshot
    "parse_error",           # a message could not be parsed: logged raw, skipped, counted
    "time_resync",           # the clock offset was learned again after a -1021
    "request_timeout",       # a request got no answer within the request timeout
    "stale",                 # market data in flight is older than the staleness limit
    "fresh",                 # ... and is recent again
)
"""Every ``StreamEvent.kind`` the simulated client reports."""


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One thing the client noticed about a stream (``stream``: ``market``, ``user``, ``rest``,
    ``book:<symbol>``) at virtual time ``ts_ns``."""

    ts_ns: int
    venue: str
    stream: str
    kind: str
    detail: str = ""


class EventLog:
    """The ordered ``StreamEvent``s of one adapter, with listeners called on each."""

    __slots__ = ("events", "listeners", "venue")

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self.events: list[StreamEvent] = []
        self.listeners: list[Callable[[StreamEvent], None]] = []

    def emit(self, ts_ns: int, stream: str, kind: str, detail: str = "") -> StreamEvent:
        """Record one event and tell the listeners."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown stream event kind {kind!r}")
        event = StreamEvent(ts_ns, self.venue, stream, kind, detail)
        self.events.append(event)
        for listener in list(self.listeners):
            listener(event)
        return event

    def count(self, kind: str, stream: str | None = None) -> int:
        """How many events of ``kind`` (on ``stream``, if given) were recorded."""
        return sum(1 for e in self.events if e.kind == kind and (stream is None or e.stream == stream))


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """How the client keeps its streams: heartbeat, reconnect backoff, subscription retries, staleness.

    Defaults follow the seeds: a ping every 30 s, reconnects after 1 s, 2 s, 4 s, ... at most
    30 s apart; a subscription refused 5 times in a row is a persistent failure. ``stale_after_ns``
    is how old market data still in flight may be before the client calls its data stale.
    """

    ping_interval_ns: int = 30 * NS_PER_SECOND
    pong_timeout_ns: int = 10 * NS_PER_SECOND
    reconnect_initial_ns: int = NS_PER_SECOND
    reconnect_max_ns: int = 30 * NS_PER_SECOND
    subscription_retry_ns: int = NS_PER_SECOND
    persistent_failures: int = 5
    stale_after_ns: int = 2 * NS_PER_SECOND
    stale_check_ns: int = NS_PER_SECOND
    request_timeout_ns: int = 10 * NS_PER_SECOND
    recv_window_ns: int = 5 * NS_PER_SECOND

    def backoff_ns(self, attempt: int) -> int:
        """The wait before reconnect attempt ``attempt`` (1-based): doubling, capped."""
        return min(self.reconnect_max_ns, self.reconnect_initial_ns << min(attempt - 1, 30))


class StreamLink:
    """One client connection to one venue stream, seen from both ends (see the module docstring)."""

    __slots__ = ("carried", "known_up", "name", "opened_ns", "refused_until_ns")

    def __init__(self, name: str) -> None:
        self.name = name
        self.carried = False
        self.known_up = False
        self.refused_until_ns = 0
        self.opened_ns = 0

    def open(self, now_ns: int) -> None:
        """The connection is established: both ends have it."""
        self.carried = True
        self.known_up = True
        self.opened_ns = now_ns

    def cut(self, *, refuse_until_ns: int = 0) -> bool:
        """The venue side lost the connection; new ones are refused before ``refuse_until_ns``.

        Returns whether a live connection was cut (False when it was already down).
        """
        self.refused_until_ns = max(self.refused_until_ns, refuse_until_ns)
        was = self.carried
        self.carried = False
        return was

    def notice_loss(self) -> bool:
        """The client learns the connection is gone; True the first time (it believed it up)."""
        if self.known_up and not self.carried:
            self.known_up = False
            return True
        return False

    def may_open(self, now_ns: int, reachable: bool) -> bool:
        """Whether a connection attempt at ``now_ns`` would succeed."""
        return reachable and now_ns >= self.refused_until_ns

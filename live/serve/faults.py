"""The local venue's fault hook: what may go wrong on its streams and with its requests.

One small hook, so that scenario files and the injectors of ``sim.faults`` plug in here as they
do into a simulated venue's channels (``sim.channels``), with the same two protocols:

* ``StreamFault`` (``on_message(sent_ns, arrival_ns, item) -> arrival times``): asked for every
  message the venue sends on a market stream (``ServeFaults.market``; ``item`` is
  ``(stream_name, payload)``) or on the user-data stream (``ServeFaults.user``; ``item`` is the
  event payload). No time drops the message (a dropped ``depthUpdate`` is a sequence gap), two
  duplicate it, a later one delays it (past later messages: reordered).
* ``RequestFault`` (``before_venue`` / ``after_venue``, by contract request name such as
  ``submit_order``): an exception instead of the venue's answer, before the venue saw the
  request or after it acted (the ambiguous 5xx). ``VenueError``s are answered as the venue
  would (``http_status``, else 503 for retryable errors; 429/418 with Retry-After for
  ``RateLimitedError``); a ``TimeoutError`` closes the connection without an answer.
* ``DisconnectFault`` (``cut(kind, now_ns) -> bool``): asked before each message on a
  connection of ``kind`` (``"market"`` or ``"ws-api"``); True drops that connection.
* FIX faults (``ServeFaults.fix``): the ``sim.faults.fix`` injectors, installed on the FIX
  acceptor (``live.serve.fix_acceptor.FixVenue``), which offers the seams of their ``FixWorld``.
* ``RequestDelay`` (``extra_ns(method, now_ns, leg)``, ``ServeFaults.delays``): extra time before
  a REST answer, per leg (``request``, ``response``), as ``sim.channels`` delays requests.
* ``ScheduledFault`` (``start(world, origin_ns)``, ``ServeFaults.scheduled``): a scenario file's
  fault (``live.serve.scheduled``), started when the replay starts (``origin_ns``, venue time):
  it then adds itself to the lists above and sets its timers on the venue's clock.

Times are the venue's clock (``LocalVenue.clock``). The few ready-made faults below are what the
tests and small scenarios need; anything with the same methods works.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.clock import Clock
from sim.channels import RequestFault, StreamFault

__all__ = ["CutConnections", "DisconnectFault", "DropMatching", "DuplicateMatching", "FailRequests", "RequestDelay",
           "RequestFault", "ScheduledFault", "ServeFaults", "ServeWorld", "StreamFault"]


class DisconnectFault(Protocol):
    """Decides whether a connection is cut before its next message."""

    def cut(self, kind: str, now_ns: int) -> bool:
        """True to drop the connection of ``kind`` (``"market"``, ``"ws-api"``) now."""


class RequestDelay(Protocol):
    """Extra time a request spends on one leg (``request``: on the way in, ``response``: back)."""

    def extra_ns(self, method: str, now_ns: int, leg: str) -> int:
        """Nanoseconds (venue time) added to this leg of a ``method`` request now (0: none)."""


class ServeWorld(Protocol):
    """What a scheduled fault may touch of a running local venue (``LocalVenue`` is one)."""

    @property
    def clock(self) -> Clock:
        """The venue's clock (timers: ``call_at``)."""

    @property
    def faults(self) -> ServeFaults:
        """The venue's fault lists, which the fault joins."""

    @property
    def limiter(self) -> Any:
        """The venue's rate limiter (``sim.venue.limits.VenueRateLimiter``)."""

    @property
    def fix(self) -> Any:
        """The FIX acceptor (a ``FixWorld``), or None without ``--fix``."""

    def disconnect(self, kind: str = "market") -> int:
        """Cut every connection of ``kind`` (``"market"``, ``"ws-api"``) now."""


class ScheduledFault(Protocol):
    """A fault that starts with the replay: it joins the venue's fault lists and sets its timers."""

    def start(self, world: ServeWorld, origin_ns: int) -> None:
        """Begin; the fault's times count from ``origin_ns`` (venue time)."""


@dataclass
class ServeFaults:
    """The faults a running local venue applies; lists may change while it runs."""

    market: list[StreamFault] = field(default_factory=list)
    user: list[StreamFault] = field(default_factory=list)
    requests: list[RequestFault] = field(default_factory=list)
    disconnects: list[DisconnectFault] = field(default_factory=list)
    fix: list[Any] = field(default_factory=list)
    """FIX faults (``sim.faults.fix``: session drop, sequence gap, reject, logon failure), installed on
    the FIX acceptor when it starts (it is their ``FixWorld``: ``install(acceptor)``)."""
    delays: list[RequestDelay] = field(default_factory=list)
    scheduled: list[ScheduledFault] = field(default_factory=list)
    """A scenario's faults (``live.serve.scheduled``), started when the replay starts."""


def _matcher(stream: str | None, event: str | None) -> Callable[[object], bool]:
    def matches(item: object) -> bool:
        if isinstance(item, tuple):  # a market-stream message: (stream name, event)
            if stream is not None and stream not in str(item[0]):
                return False
            item = item[1]
        elif stream is not None:
            return False
        return event is None or (isinstance(item, dict) and item.get("e") == event)
    return matches


@dataclass
class DropMatching:
    """Drops the ``skip``-th to ``skip + count - 1``-th messages (from 0) whose stream name contains
    ``stream`` (market streams) and whose ``e`` is ``event`` (None: any)."""

    stream: str | None = None
    event: str | None = None
    skip: int = 0
    count: int = 1
    seen: int = 0
    dropped: int = 0

    def on_message(self, sent_ns: int, arrival_ns: int, item: object) -> Sequence[int]:
        """No arrival for the chosen messages, the usual one for the others."""
        if not _matcher(self.stream, self.event)(item):
            return (arrival_ns,)
        index, self.seen = self.seen, self.seen + 1
        if self.skip <= index < self.skip + self.count:
            self.dropped += 1
            return ()
        return (arrival_ns,)


@dataclass
class DuplicateMatching:
    """Sends each matching message twice (``count`` of them at most)."""

    stream: str | None = None
    event: str | None = None
    count: int = 1
    duplicated: int = 0

    def on_message(self, sent_ns: int, arrival_ns: int, item: object) -> Sequence[int]:
        """Two arrivals for a matching message while ``count`` lasts."""
        if self.duplicated < self.count and _matcher(self.stream, self.event)(item):
            self.duplicated += 1
            return (arrival_ns, arrival_ns)
        return (arrival_ns,)


@dataclass
class CutConnections:
    """Cuts the next ``count`` connections of ``kind`` after ``after`` messages each saw."""

    kind: str = "market"
    after: int = 0
    count: int = 1
    cuts: int = 0
    _messages: int = 0

    def cut(self, kind: str, now_ns: int) -> bool:
        """True on the message after ``after`` of a connection of ``kind`` (``count`` times)."""
        if kind != self.kind or self.cuts >= self.count:
            return False
        self._messages += 1
        if self._messages > self.after:
            self._messages = 0
            self.cuts += 1
            return True
        return False


@dataclass
class FailRequests:
    """Answers ``count`` requests of contract method ``method`` with ``error``, before or after the venue acted."""

    method: str
    error: Callable[[], BaseException]
    after: bool = False
    count: int = 1
    failed: int = 0

    def _maybe(self, method: str) -> BaseException | None:
        if method != self.method or self.failed >= self.count:
            return None
        self.failed += 1
        return self.error()

    def before_venue(self, method: str, now_ns: int) -> BaseException | None:
        """The error, when this fault strikes before the venue."""
        return None if self.after else self._maybe(method)

    def after_venue(self, method: str, now_ns: int) -> BaseException | None:
        """The error, when this fault hides the venue's answer."""
        return self._maybe(method) if self.after else None

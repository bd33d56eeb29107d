"""A scenario file's faults on the served venue: the kinds of ``sim.faults``, on the venue's seams.

Each ``[[faults]]`` entry becomes one ``ServedFault`` (``served_fault``), a ``ScheduledFault`` of
``live.serve.faults``. It holds a builder of the simulator's own injector (``sim.faults.build_fault``:
the same parameters, defaults, validation, seeded ``Gate`` and trigger), and when the local venue
starts its replay (``origin_ns``, venue time) it builds the injector with its schedule counted
from there (so ``at_s`` scales with ``--speed``) and joins the venue's fault lists:

* stream kinds (``drop``, ``duplicate``, ``delay``, ``reorder``, ``sequence_gap``, ``latency_spike``,
  ``stale`` on ``VENUE.market`` / ``VENUE.user``): the injector decides each message's arrivals,
  shown the event kind (``trade``, ``quote``, ``book`` from the stream name; ``fill`` or
  ``order_update`` for a user ``executionReport``); ``sequence_gap`` drops whole ``depthUpdate``
  messages; WS-API answers are never touched by user-stream faults;
* request kinds (``http_5xx``, ``timeout``, ``exchange_error``, ``invalid``, ``fatal``, target
  ``VENUE``): the injector's error instead of the venue's answer, before the venue or after it
  acted (``reached_venue`` / ``accepted``: the ambiguous submit); a timeout closes the connection;
* ``latency_spike`` on ``VENUE``: REST answers wait ``extra_ms`` per leg (``ServeFaults.delays``);
* ``rate_limit``: other traffic uses up the venue limiter's budget at the start (its own 429s with
  Retry-After follow), with ``ignore_429`` on until the IP is banned (418);
* ``disconnect`` (``VENUE.market``, ``VENUE.user``: the WS API): the connections are cut at the
  start, and any connection of that kind is cut again during ``for_s`` (reconnecting fails);
* ``venue_outage`` / ``maintenance`` (``VENUE``): every stream is cut at the start and while the
  window lasts; every request is refused (maintenance: 503; outage: the connection closes unanswered);
* FIX kinds: installed on the FIX acceptor (``--fix``), which is their ``FixWorld``.

A state fault with a trigger begins at the triggering request. Kinds with no seam here are
refused by the loader, with the reason in ``REFUSED``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.contract import RetryableError
from live.serve.faults import ServeWorld
from sim.faults.base import Fault, FaultError, Gate
from sim.faults.requests import RateLimit, RequestFailure, Timeout
from sim.faults.streams import LatencySpike, SequenceGap, StreamMessageFault

__all__ = ["REFUSED", "ServedFault", "served_fault"]

REFUSED = {
    "crash": "it kills the harness process, and a served venue runs no harness (use harness scenario run)",
    "clock_skew": "it skews the simulated client's clock; a served venue's clients keep their own clocks",
    "heartbeat_timeout": "a silent connection death needs the venue to stop answering pings, which aiohttp "
                         "answers itself",
    "connection_age": "the served venue keeps no per-connection age to cut on (use disconnect)",
    "subscription_failure": "the served venue's stream hub has no refusal seam yet",
    "parse_error": "the served venue sends only well-formed JSON (no garbling seam yet)",
    "cancel_race": "it needs the simulated market to trade through an order on cue, which the replay drives",
}
"""Kinds that cannot apply to a served venue, and why (the loader's error says it)."""

_MARKET_EVENTS = {"trade": "trade", "aggTrade": "trade", "bookTicker": "quote", "depth": "book", "kline": "message"}


def _market_event(item: object) -> tuple[str, bool]:
    """A market message's event kind and whether it is a book diff (``depthUpdate``)."""
    if not isinstance(item, tuple) or len(item) != 2:
        return "message", False
    name, payload = item
    rest = str(name).partition("@")[2]
    base = rest.split("@")[0]
    kind = "depth" if base.startswith("depth") else "kline" if base.startswith("kline_") else base
    diff = isinstance(payload, dict) and payload.get("e") == "depthUpdate"
    return _MARKET_EVENTS.get(kind, "message"), diff


def _user_event(item: object) -> str | None:
    """A user-stream event's kind (``fill``, ``order_update``, ``message``), None for a WS-API answer."""
    if not isinstance(item, dict) or "event" not in item:
        return None
    event = item["event"]
    if isinstance(event, dict) and event.get("e") == "executionReport":
        return "fill" if event.get("x") == "TRADE" else "order_update"
    return "message"


@dataclass
class _StreamSeam:
    """A stream injector on the served venue's ``StreamFault`` seam."""

    fault: StreamMessageFault
    user: bool
    _last: int = -(2**62)

    def on_message(self, sent_ns: int, arrival_ns: int, item: object) -> Sequence[int]:
        """The arrivals of one message, decided by the injector."""
        fault = self.fault
        if self.user:
            event = _user_event(item)
            if event is None:
                return (arrival_ns,)
            diff = False
        else:
            event, diff = _market_event(item)
        if isinstance(fault, LatencySpike):  # in order: nothing overtakes a slow message
            if fault.gate.fires(sent_ns, event):
                fault.touched(sent_ns, event)
                arrival_ns += int(fault.param(fault.lag_param)) * 1_000_000
            arrival_ns = max(arrival_ns, self._last)
            self._last = arrival_ns
            return (arrival_ns,)
        if isinstance(fault, SequenceGap) and not diff:
            return (arrival_ns,)
        if not fault.gate.fires(sent_ns, event):
            return (arrival_ns,)
        fault.touched(sent_ns, event)
        return fault.arrivals(arrival_ns, item, first=True)


@dataclass
class _RequestSeam:
    """A request injector on the served venue's ``RequestFault`` seam."""

    fault: RequestFailure

    def _strike(self, method: str, now_ns: int, after: bool) -> BaseException | None:
        fault = self.fault
        acted_first = bool(fault.after and fault.param(fault.after))
        if acted_first != after:
            return None
        methods = fault.param("methods")
        if methods and method not in methods:
            return None
        if not fault.gate.fires(now_ns, method):
            return None
        fault.touched(now_ns, method)
        if isinstance(fault, Timeout):
            return TimeoutError(f"{method} lost (injected by {fault.name})")
        return fault.error(method)

    def before_venue(self, method: str, now_ns: int) -> BaseException | None:
        """The error when the fault strikes before the venue."""
        return self._strike(method, now_ns, after=False)

    def after_venue(self, method: str, now_ns: int) -> BaseException | None:
        """The error hiding the venue's answer (the venue acted)."""
        return self._strike(method, now_ns, after=True)


@dataclass
class _Window:
    """While open: refuses every request (``refuse``) and cuts connections of ``kinds``."""

    kinds: tuple[str, ...]
    refuse: Callable[[str], BaseException] | None = None
    until_ns: int | None = None
    open: bool = False

    def active(self, now_ns: int) -> bool:
        """Whether the window is open now."""
        return self.open and (self.until_ns is None or now_ns < self.until_ns)

    def cut(self, kind: str, now_ns: int) -> bool:
        """``DisconnectFault``: cut connections of ``kinds`` while open."""
        return kind in self.kinds and self.active(now_ns)

    def before_venue(self, method: str, now_ns: int) -> BaseException | None:
        """``RequestFault``: refuse every request while open."""
        return self.refuse(method) if self.refuse is not None and self.active(now_ns) else None

    def after_venue(self, method: str, now_ns: int) -> BaseException | None:
        """Nothing after the venue."""
        return None


@dataclass
class _TriggerWatch:
    """Starts a state fault on its trigger's request (passes every request)."""

    gate: Gate
    fire: Callable[[int], None]
    fired: bool = False

    def before_venue(self, method: str, now_ns: int) -> BaseException | None:
        """Fire once when the gate picks this request."""
        if not self.fired and self.gate.fires(now_ns, method):
            self.fired = True
            self.fire(now_ns)
        return None

    def after_venue(self, method: str, now_ns: int) -> BaseException | None:
        """Nothing after the venue."""
        return None


@dataclass
class ServedFault:
    """One scenario fault on a served venue (a ``ScheduledFault``; see the module docstring).

    ``build(origin_ns)`` makes the simulator's injector with its schedule counted from
    ``origin_ns``; ``fault`` is that injector once started (its ``record()`` says what it did).
    """

    name: str
    kind: str
    build: Callable[[int], Fault]
    fault: Fault | None = None
    seams: list[Any] = field(default_factory=list)

    def start(self, world: ServeWorld, origin_ns: int) -> None:
        """Build the injector for this run and hook it into the venue's seams."""
        fault = self.fault = self.build(origin_ns)
        faults = world.faults
        if fault.kind.startswith("fix_"):
            if world.fix is None:
                raise FaultError(f"fault {self.name!r} ({self.kind}): the venue serves no FIX (--fix PORT)")
            fault.install(world.fix)
        elif isinstance(fault, LatencySpike) and not fault.stream:
            faults.delays.append(fault)
        elif isinstance(fault, StreamMessageFault):
            seam = _StreamSeam(fault, user=fault.stream == "user")
            (faults.user if fault.stream == "user" else faults.market).append(seam)
            self.seams.append(seam)
        elif isinstance(fault, RequestFailure):
            request_seam = _RequestSeam(fault)
            faults.requests.append(request_seam)
            self.seams.append(request_seam)
        else:
            self._start_state(world, fault)

    def _start_state(self, world: ServeWorld, fault: Fault) -> None:
        duration = fault.schedule.duration_ns
        window = self._window(fault)
        if window is not None:
            world.faults.disconnects.append(window)
            world.faults.requests.append(window)
            self.seams.append(window)

        def begin(now_ns: int) -> None:
            fault.touched(now_ns)
            if isinstance(fault, RateLimit):
                fault.burst(world.limiter, now_ns)
                return
            assert window is not None
            window.open = True
            if duration is not None:
                window.until_ns = now_ns + duration
            elif fault.kind == "disconnect":
                window.until_ns = now_ns
            for kind in window.kinds:
                world.disconnect(kind)

        if fault.schedule.trigger is None:
            world.clock.call_at(fault.schedule.start_ns, lambda: begin(world.clock.now_ns()))
        else:
            world.faults.requests.append(_TriggerWatch(fault.gate, begin))

    def _window(self, fault: Fault) -> _Window | None:
        if fault.kind == "disconnect":
            return _Window(("ws-api",) if fault.stream == "user" else ("market",))
        if fault.kind == "maintenance":
            return _Window(("market", "ws-api"), refuse=lambda method: RetryableError(
                "Service unavailable: the venue is in maintenance. (injected)", venue=fault.venue, http_status=503))
        if fault.kind == "venue_outage":
            return _Window(("market", "ws-api"),
                           refuse=lambda method: TimeoutError(f"{method}: the venue is away (injected)"))
        return None


_SERVED = frozenset({"drop", "duplicate", "delay", "reorder", "sequence_gap", "latency_spike", "stale",
                     "http_5xx", "timeout", "exchange_error", "invalid", "fatal", "rate_limit",
                     "disconnect", "venue_outage", "maintenance",
                     "fix_session_drop", "fix_sequence_gap", "fix_reject", "fix_logon_failure"})
"""Every kind the served venue applies."""


def served_fault(name: str, kind: str, build: Callable[[int], Fault]) -> ServedFault:
    """The served form of fault ``name`` of ``kind``; ``FaultError`` (naming why) for a kind with no seam here."""
    if kind in REFUSED:
        raise FaultError(f"fault {name!r}: kind {kind} cannot apply to a served venue: {REFUSED[kind]}")
    if kind not in _SERVED:
        raise FaultError(f"fault {name!r}: kind {kind} is not served by the local venue")
    return ServedFault(name, kind, build)

"""What every fault injector shares: a schedule, a trigger, a seeded gate, and the record of what it did.

A fault is *named*, *seeded* and *scheduled*:

* ``Schedule``: active from ``start_ns`` until ``end_ns`` (``None``: to the end of the run), and
  within that window it acts on each eligible event with ``probability`` (``Decimal``, 1 by
  default) drawn from the fault's own ``random.Random`` (a ``SeededRng`` stream named after the
  fault, so adding a fault never changes another's draws);
* ``Trigger``: optionally, only the ``nth`` .. ``nth + count - 1`` events called ``on`` inside
  the window count ("the next order submit" is ``on = "submit_order"``, "the 3rd fill" is
  ``on = "fill", nth = 3``). Events are request methods on request paths and message kinds
  (``fill``, ``order_update``, ``trade``, ``quote``, ``book``, or ``message`` for any) on streams;
* a fault that changes a state (a disconnect, an outage, a skewed clock) begins at ``start_ns``,
  or, with a trigger, when the trigger fires; it lasts ``duration_ns`` from then (``None``:
  instantaneous, or to the end of the run for states that need an end).

``Gate`` makes those decisions; ``Fault`` is the base class of every injector: ``install`` hooks
it into a ``FaultWorld`` (the adapters, market sides and clock of a simulated run), and
``record`` reports what it did as a ``FaultRecord`` (the row of a run's ``faults.parquet``:
detection and recovery times are filled in later by the scenario's scorecard).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from harness.clock import Clock

if TYPE_CHECKING:  # the injectors reach the simulated world only through these
    from sim.adapter import SimAdapter
    from sim.venue.market_side import VenueMarketSide

__all__ = ["Fault", "FaultError", "FaultRecord", "FaultWorld", "Gate", "Schedule", "Trigger", "message_kind"]

_RESOLUTION = 1_000_000
"""Probabilities are drawn as integers in [0, 10**6): no float arithmetic decides a fault."""


class FaultError(ValueError):
    """A fault is configured wrongly (unknown target, bad parameter); the message names it."""


@dataclass(frozen=True, slots=True)
class Trigger:
    """Act only on the ``nth`` .. ``nth + count - 1`` events called ``on`` inside the window."""

    on: str
    nth: int = 1
    count: int = 1

    def __post_init__(self) -> None:
        if not self.on:
            raise FaultError("trigger.on must name an event (a request method or a message kind)")
        if self.nth < 1 or self.count < 1:
            raise FaultError(f"trigger.nth and trigger.count must be >= 1, got {self.nth}, {self.count}")


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a fault may act (see the module docstring); times are absolute virtual ns."""

    start_ns: int
    end_ns: int | None = None
    probability: Decimal = Decimal(1)
    trigger: Trigger | None = None
    duration_ns: int | None = None

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.probability <= 1:
            raise FaultError(f"probability must be within [0, 1], got {self.probability}")
        if self.end_ns is not None and self.end_ns < self.start_ns:
            raise FaultError("a fault's window must not end before it starts")
        if self.duration_ns is not None and self.duration_ns < 0:
            raise FaultError("a fault's duration must not be negative")


class Gate:
    """Per event: inside the window, the trigger's turn, then a seeded draw (see ``Schedule``)."""

    __slots__ = ("_seen", "_threshold", "rng", "schedule")

    def __init__(self, schedule: Schedule, rng: random.Random) -> None:
        self.schedule = schedule
        self.rng = rng
        self._seen = 0
        self._threshold = int(schedule.probability * _RESOLUTION)

    def active(self, now_ns: int) -> bool:
        """Whether ``now_ns`` is inside the window."""
        schedule = self.schedule
        return now_ns >= schedule.start_ns and (schedule.end_ns is None or now_ns < schedule.end_ns)

    def fires(self, now_ns: int, event: str, *, also: str = "") -> bool:
        """Whether the fault acts on this event (``event``, or its other name ``also``) now."""
        if not self.active(now_ns):
            return False
        trigger = self.schedule.trigger
        if trigger is not None:
            if trigger.on not in (event, also) and trigger.on != "message":
                return False
            self._seen += 1
            if not trigger.nth <= self._seen < trigger.nth + trigger.count:
                return False
        if self._threshold >= _RESOLUTION:
            return True
        return self.rng.randrange(_RESOLUTION) < self._threshold

    @property
    def exhausted(self) -> bool:
        """True once a trigger has had all its turns (nothing more can fire)."""
        trigger = self.schedule.trigger
        return trigger is not None and self._seen >= trigger.nth + trigger.count - 1


@dataclass
class FaultRecord:
    """One fault as it happened: the row of ``faults.parquet`` (times are virtual ns, None: never).

    ``start_ns``/``end_ns`` are when it began and stopped acting (the first and last message or
    request it touched, or the state it put the venue in); ``detected_ns``/``recovered_ns`` are
    filled in by the scenario's scorecard; ``effects`` counts what it touched.
    """

    name: str
    kind: str
    target: str
    start_ns: int | None
    end_ns: int | None
    detected_ns: int | None = None
    recovered_ns: int | None = None
    detail: str = ""
    effects: int = 0
    scheduled_start_ns: int = 0


class FaultWorld(Protocol):
    """What injectors may touch of a simulated run: its clock, adapters and market sides by venue."""

    @property
    def clock(self) -> Clock:
        """The run's virtual clock."""

    @property
    def adapters(self) -> Mapping[str, SimAdapter]:
        """Each venue's ``SimAdapter`` (its channels, session and desk)."""

    @property
    def markets(self) -> Mapping[str, VenueMarketSide]:
        """Each venue's market side (where public events enter the venue)."""


@dataclass
class Fault:
    """Base class of every injector: a name, a target, a schedule, a seeded gate and counters.

    Subclasses set ``kind`` and ``targets`` (what ``target`` may name: ``venue`` for the venue's
    request path or state, ``venue.market``/``venue.user`` for a stream) and implement ``install``.
    ``params`` are the kind's own settings, already validated by ``from_params``.
    """

    name: str
    target: str
    schedule: Schedule
    rng: random.Random
    params: Mapping[str, Any] = field(default_factory=dict)
    effects: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    notes: list[str] = field(default_factory=list)
    gate: Gate = field(init=False)

    kind: ClassVar[str] = ""
    targets: ClassVar[tuple[str, ...]] = ("venue",)
    defaults: ClassVar[Mapping[str, Any]] = {}
    """The kind's parameters and their defaults (a parameter not listed here is refused)."""

    def __post_init__(self) -> None:
        self.gate = Gate(self.schedule, self.rng)
        scope = self.target.partition(".")[2] or "venue"
        if scope not in self.targets:
            raise FaultError(f"fault {self.name!r} ({self.kind}): target {self.target!r} must be "
                             + " or ".join(f"VENUE.{t}" if t != "venue" else "VENUE" for t in self.targets))
        unknown = sorted(set(self.params) - set(self.defaults))
        if unknown:
            raise FaultError(f"fault {self.name!r} ({self.kind}): unknown parameter {unknown[0]!r} "
                             f"(known: {', '.join(sorted(self.defaults)) or 'none'})")
        self.params = {**self.defaults, **self.params}

    @property
    def venue(self) -> str:
        """The venue the target names."""
        return self.target.partition(".")[0]

    @property
    def stream(self) -> str:
        """The stream the target names (``market``, ``user``), or ``""`` for the venue itself."""
        return self.target.partition(".")[2]

    def param(self, name: str) -> Any:
        """One of the fault's parameters (its default when the scenario did not give it)."""
        return self.params[name]

    def adapter(self, world: FaultWorld) -> SimAdapter:
        """The target venue's adapter in ``world`` (a clear error for an unknown venue)."""
        adapter = world.adapters.get(self.venue)
        if adapter is None:
            raise FaultError(f"fault {self.name!r}: no venue {self.venue!r} in this run "
                             f"(venues: {', '.join(world.adapters)})")
        return adapter

    def touched(self, now_ns: int, note: str = "") -> None:
        """Count one effect at ``now_ns`` (and keep a few notes for the record's detail)."""
        self.effects += 1
        if self.first_ns is None:
            self.first_ns = now_ns
        self.last_ns = now_ns
        if note and len(self.notes) < 5:
            self.notes.append(note)

    def install(self, world: FaultWorld) -> None:
        """Hook the injector into ``world`` (channels, desks, timers)."""
        raise NotImplementedError

    def at_start(self, world: FaultWorld, begin: Callable[[], None], end: Callable[[], None] | None = None) -> None:
        """Run ``begin`` when the schedule starts (or its trigger fires) and ``end`` after its duration.

        A trigger is watched on the target venue's request path (request methods) and user
        stream (``fill``, ``order_update``).
        """
        clock = world.clock
        duration = self.schedule.duration_ns

        def started() -> None:
            begin()
            if end is not None and duration is not None:
                clock.call_later(duration, end)

        trigger = self.schedule.trigger
        if trigger is None:
            clock.call_at(self.schedule.start_ns, started)
            return
        adapter = self.adapter(world)
        watch = _TriggerWatch(self.gate, clock, started)
        adapter.requests_channel.faults.append(watch)
        adapter.user_stream.faults.append(watch)

    def record(self) -> FaultRecord:
        """What the fault did, as a ``FaultRecord`` (detection and recovery left for the scorecard)."""
        detail = f"{self.effects} effect(s)" + (f": {'; '.join(self.notes)}" if self.notes else "")
        return FaultRecord(self.name, self.kind, self.target, self.first_ns, self.end_time(), detail=detail,
                           effects=self.effects, scheduled_start_ns=self.schedule.start_ns)

    def end_time(self) -> int | None:
        """When the fault stopped acting: its last effect (subclasses with a state say when it ended)."""
        return self.last_ns


class _TriggerWatch:
    """Watches a venue's requests and user-stream messages for a state fault's trigger (passes everything)."""

    def __init__(self, gate: Gate, clock: Clock, fire: Callable[[], None]) -> None:
        self.gate = gate
        self.clock = clock
        self.fire = fire
        self.fired = False

    def _check(self, event: str) -> None:
        if not self.fired and self.gate.fires(self.clock.now_ns(), event):
            self.fired = True
            self.fire()

    def before_venue(self, method: str, now_ns: int) -> BaseException | None:
        self._check(method)
        return None

    def after_venue(self, method: str, now_ns: int) -> BaseException | None:
        return None

    def on_message(self, sent_ns: int, arrival_ns: int, item: object) -> list[int]:
        self._check(message_kind(item))
        return [arrival_ns]


def message_kind(item: object) -> str:
    """The event name of a stream message: ``fill``, ``order_update``, ``trade``, ``quote``, ``book``."""
    name = type(item).__name__
    return {"Fill": "fill", "OrderReport": "order_update", "Trade": "trade", "Quote": "quote",
            "BookDelta": "book"}.get(name, "message")

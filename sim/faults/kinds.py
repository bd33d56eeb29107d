"""Every fault kind by name, and making one injector from the plain values a scenario file gives."""


from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.rng import SeededRng
from sim.faults.base import Fault, FaultError, Schedule
from sim.faults.connections import (
    ConnectionAge,
    Disconnect,
    HeartbeatTimeout,
    Maintenance,
    SubscriptionFailure,
    VenueOutage,
)
from sim.faults.crash import Crash
from sim.faults.fix import FixLogonFailure, FixReject, FixSequenceGap, FixSessionDrop
from sim.faults.requests import CancelRace, ClockSkew, ExchangeFailure, Fatal, Http5xx, Invalid, RateLimit, Timeout
from sim.faults.streams import Delay, Drop, Duplicate, LatencySpike, ParseError, Reorder, SequenceGap, Stale

__all__ = ["FAULT_KINDS", "build_fault"]

FAULT_KINDS: Mapping[str, type[Fault]] = {cls.kind: cls for cls in (
    Drop, Duplicate, Delay, Reorder, LatencySpike, Stale, SequenceGap, ParseError,
    Disconnect, HeartbeatTimeout, ConnectionAge, SubscriptionFailure, VenueOutage, Maintenance,
    Http5xx, Timeout, ExchangeFailure, Invalid, Fatal, RateLimit, ClockSkew, CancelRace,
    Crash,
    FixSessionDrop, FixSequenceGap, FixReject, FixLogonFailure,
)}
"""Every fault kind by name."""


def build_fault(name: str, kind: str, target: str, schedule: Schedule, rng: SeededRng, *,
                params: Mapping[str, Any] | None = None) -> Fault:
    """The injector of ``kind`` called ``name`` on ``target``, drawing from ``rng.stream("fault.<name>")``."""
    cls = FAULT_KINDS.get(kind)
    if cls is None:
        raise FaultError(f"fault {name!r}: unknown kind {kind!r} (kinds: {', '.join(sorted(FAULT_KINDS))})")
    return cls(name, target, schedule, rng.stream(f"fault.{name}"), dict(params or {}))

"""Fault injectors: named, seeded, scheduled ways to break the simulated world on purpose.

Every injector plugs into one seam of ``sim.channels`` or the venue's front desk
(``sim.venue.desk``), never into shared code: message faults decide arrivals on a stream,
request faults answer instead of the venue, state faults cut connections or change the venue's
availability, and ``crash`` kills the process. One module per family:

* ``sim.faults.streams``: drop, duplicate, delay, reorder, latency_spike, stale, sequence_gap,
  parse_error;
* ``sim.faults.connections``: disconnect, heartbeat_timeout, connection_age,
  subscription_failure, venue_outage, maintenance;
* ``sim.faults.requests``: http_5xx, timeout, exchange_error, invalid, fatal, rate_limit,
  clock_skew, cancel_race;
* ``sim.faults.crash``: crash (a real SIGKILL of the harness process);
* ``sim.faults.fix``: faults on a FIX session's byte stream (session drop, sequence gap,
  reject, logon failure), exercised against the FIX session layer (``live.fix``) until a
  simulated venue speaks FIX.

``FAULT_KINDS`` maps each kind to its class; ``build_fault`` makes one from plain values (what a
scenario file gives), seeded from the run's RNG under the fault's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.rng import SeededRng
from sim.faults.base import Fault, FaultError, FaultRecord, FaultWorld, Gate, Schedule, Trigger
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

__all__ = ["FAULT_KINDS", "Fault", "FaultError", "FaultRecord", "FaultWorld", "Gate", "Schedule", "Trigger",
           "build_fault"]

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

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

``sim.faults.kinds``: ``FAULT_KINDS`` maps each kind to its class; ``build_fault`` makes one from plain values (what a
scenario file gives), seeded from the run's RNG under the fault's name.

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "Fault": "sim.faults.base",
    "FaultError": "sim.faults.base",
    "FaultRecord": "sim.faults.base",
    "FaultWorld": "sim.faults.base",
    "Gate": "sim.faults.base",
    "Schedule": "sim.faults.base",
    "Trigger": "sim.faults.base",
    "message_kind": "sim.faults.base",
    "ConnectionAge": "sim.faults.connections",
    "Disconnect": "sim.faults.connections",
    "HeartbeatTimeout": "sim.faults.connections",
    "Maintenance": "sim.faults.connections",
    "SubscriptionFailure": "sim.faults.connections",
    "VenueOutage": "sim.faults.connections",
    "Crash": "sim.faults.crash",
    "kill_this_process": "sim.faults.crash",
    "FixLinkHooks": "sim.faults.fix",
    "FixLogonFailure": "sim.faults.fix",
    "FixReject": "sim.faults.fix",
    "FixSequenceGap": "sim.faults.fix",
    "FixSessionDrop": "sim.faults.fix",
    "FixWorld": "sim.faults.fix",
    "FAULT_KINDS": "sim.faults.kinds",
    "build_fault": "sim.faults.kinds",
    "CancelRace": "sim.faults.requests",
    "ClockSkew": "sim.faults.requests",
    "ExchangeFailure": "sim.faults.requests",
    "Fatal": "sim.faults.requests",
    "Http5xx": "sim.faults.requests",
    "Invalid": "sim.faults.requests",
    "RateLimit": "sim.faults.requests",
    "RequestFailure": "sim.faults.requests",
    "Timeout": "sim.faults.requests",
    "Delay": "sim.faults.streams",
    "Drop": "sim.faults.streams",
    "Duplicate": "sim.faults.streams",
    "LatencySpike": "sim.faults.streams",
    "ParseError": "sim.faults.streams",
    "Reorder": "sim.faults.streams",
    "SequenceGap": "sim.faults.streams",
    "Stale": "sim.faults.streams",
    "StreamMessageFault": "sim.faults.streams",
}

__all__ = [
    "FAULT_KINDS",
    "CancelRace",
    "ClockSkew",
    "ConnectionAge",
    "Crash",
    "Delay",
    "Disconnect",
    "Drop",
    "Duplicate",
    "ExchangeFailure",
    "Fatal",
    "Fault",
    "FaultError",
    "FaultRecord",
    "FaultWorld",
    "FixLinkHooks",
    "FixLogonFailure",
    "FixReject",
    "FixSequenceGap",
    "FixSessionDrop",
    "FixWorld",
    "Gate",
    "HeartbeatTimeout",
    "Http5xx",
    "Invalid",
    "LatencySpike",
    "Maintenance",
    "ParseError",
    "RateLimit",
    "Reorder",
    "RequestFailure",
    "Schedule",
    "SequenceGap",
    "Stale",
    "StreamMessageFault",
    "SubscriptionFailure",
    "Timeout",
    "Trigger",
    "VenueOutage",
    "build_fault",
    "kill_this_process",
    "message_kind",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from sim.faults.base import Fault, FaultError, FaultRecord, FaultWorld, Gate, Schedule, Trigger, message_kind
    from sim.faults.connections import (
        ConnectionAge,
        Disconnect,
        HeartbeatTimeout,
        Maintenance,
        SubscriptionFailure,
        VenueOutage,
    )
    from sim.faults.crash import Crash, kill_this_process
    from sim.faults.fix import FixLinkHooks, FixLogonFailure, FixReject, FixSequenceGap, FixSessionDrop, FixWorld
    from sim.faults.kinds import FAULT_KINDS, build_fault
    from sim.faults.requests import (
        CancelRace,
        ClockSkew,
        ExchangeFailure,
        Fatal,
        Http5xx,
        Invalid,
        RateLimit,
        RequestFailure,
        Timeout,
    )
    from sim.faults.streams import (
        Delay,
        Drop,
        Duplicate,
        LatencySpike,
        ParseError,
        Reorder,
        SequenceGap,
        Stale,
        StreamMessageFault,
    )

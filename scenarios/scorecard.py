"""The scorecard of a scenario run: per fault, when it was detected and when the harness had recovered.

Detection and recovery are read off the run's signal timeline (``scenarios.observer``), by a
``Rule`` per fault kind:

* **detected** at the first signal in ``detect`` at or after the fault began acting, on the
  fault's venue (for a crash: the restart);
* **recovered** at the end of the ``recover`` chain: the first signal of its first set after the
  detection (and, for a fault with a window, after the fault ended), then the first of the next
  set after that, and so on. For a dropped user stream that is ``user:up`` then a completed
  reconciliation: the state every invariant depends on (our orders and fills) is the venue's
  again from that moment.

A rule without detection signals (``duplicate``, ``delay``, ...) means the fault is absorbed by
design (fills are applied once, reports never move an order back): nothing needs detecting, and
the scorecard says so. ``must_recover`` kinds leave the run failing when no recovery was seen
before the end (unless the scenario lists the fault in ``[expect] unrecovered``).

Expectations (``[expect]``) and "every fault acted at least once" become scorecard rows beside
the invariants, so a scenario whose fault never fired cannot pass by doing nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from scenarios.invariants import InvariantResult
from scenarios.observer import Signal
from scenarios.scenario_file import Expectations
from sim.faults import FaultRecord

__all__ = ["RULES", "Rule", "check_expectations", "score_faults"]

_DOWN = ("user:down", "market:down")
_FAILED = ("audit:RETRYABLE", "audit:AMBIGUOUS", "audit:EXCHANGE_ERROR", "rest:request_timeout")


@dataclass(frozen=True)
class Rule:
    """How a fault kind is detected and when the harness has recovered (see the module docstring)."""

    detect: tuple[str, ...]
    recover: tuple[tuple[str, ...], ...]
    must_recover: bool = False
    after_end: bool = False
    note: str = ""


_STREAM = {
    "user": Rule(("user:down",), (("user:up",), ("reconcile:clean", "reconcile:found")), must_recover=True),
    "market": Rule(("market:down",), (("market:up",),), must_recover=True),
}

RULES: Mapping[str, Rule] = {
    "drop": Rule(("reconcile:found", "book:book_gap"), (("reconcile:clean", "book:book_resynced"),),
                 note="a lost push is found by the next reconciliation (a lost book message by the sequence)"),
    "duplicate": Rule((), (), note="absorbed: fills are applied once per execution id"),
    "delay": Rule((), (), note="absorbed: late reports never move an order back"),
    "reorder": Rule((), (), note="absorbed: reports are ordered by venue time"),
    "latency_spike": Rule(("alert:connection_latency", "market:stale"), (("audit:ok", "market:fresh"),),
                          after_end=True, note="absorbed unless it is long enough to alert"),
    "stale": Rule(("market:stale",), (("market:fresh",),), must_recover=True),
    "sequence_gap": Rule(("book:book_gap",), (("book:book_resynced",),), must_recover=True),
    "parse_error": Rule(("market:parse_error", "user:parse_error"), (("market:parse_error", "user:parse_error"),),
                        note="skipped and counted"),
    "subscription_failure": Rule(("market:subscription_failed",), (("market:subscribed",),), must_recover=True),
    "venue_outage": Rule(_DOWN + _FAILED, (("user:up",), ("reconcile:clean", "reconcile:found")),
                         must_recover=True, after_end=True),
    "maintenance": Rule(_DOWN + _FAILED, (("user:up",), ("reconcile:clean", "reconcile:found")),
                        must_recover=True, after_end=True),
    "http_5xx": Rule(_FAILED, (("audit:ok",),), must_recover=True, after_end=True),
    "timeout": Rule(_FAILED, (("audit:ok",),), must_recover=True, after_end=True),
    "exchange_error": Rule(("audit:EXCHANGE_ERROR", "alert:exchange_error"), (("audit:ok",),), must_recover=True,
                           after_end=True),
    "invalid": Rule(("audit:INVALID_REQUEST",), (("audit:INVALID_REQUEST",),), note="returned to the caller"),
    "fatal": Rule(("alert:venue_fatal", "audit:FATAL"), (), note="the venue stays disabled: manual intervention"),
    "rate_limit": Rule(("audit:RATE_LIMITED",), (("audit:ok",),), must_recover=True),
    "clock_skew": Rule(("rest:time_resync",), (("audit:ok",),), must_recover=True),
    "cancel_race": Rule(("audit:INVALID_REQUEST",), (("fill",),), must_recover=True),
    "crash": Rule(("restart",), (("reconcile:clean", "reconcile:found"),), must_recover=True),
    "fix_session_drop": Rule(("connection_dropped",), (("logged_on",),), must_recover=True),
    "fix_sequence_gap": Rule(("gap_detected",), (("gap_filled",),), must_recover=True),
    "fix_reject": Rule(("order_rejected",), (("order_rejected",),), note="a final answer, logged with its reason"),
    "fix_logon_failure": Rule(("logon_failed",), (),
                              note="FIX is disabled after repeated failures: the administrator must act"),
}
"""Detection and recovery rules per fault kind (stream faults by stream: ``STREAM_RULES``)."""

STREAM_RULES = {"disconnect", "heartbeat_timeout", "connection_age"}


def _rule(record: FaultRecord) -> Rule:
    if record.kind in STREAM_RULES:
        return _STREAM[record.target.partition(".")[2]]
    return RULES[record.kind]


def _first(signals: Sequence[Signal], names: Sequence[str], after: int, venue: str) -> Signal | None:
    for signal in signals:
        if signal.ts_ns >= after and signal.name in names and (not venue or signal.venue in (venue, "")):
            return signal
    return None


def score_faults(records: Sequence[FaultRecord], signals: Sequence[Signal]) -> list[FaultRecord]:
    """Fill in ``detected_ns`` and ``recovered_ns`` of each record (and say how in its detail)."""
    ordered = sorted(signals, key=lambda s: s.ts_ns)
    for record in records:
        rule = _rule(record)
        venue = "" if record.kind == "crash" else record.target.partition(".")[0]
        if record.start_ns is None:
            record.detail = f"never acted; {record.detail}"
            continue
        if not rule.detect:
            record.detail = f"{rule.note}; {record.detail}"
            continue
        detected = _first(ordered, rule.detect, record.start_ns, venue)
        if detected is None:
            record.detail = f"not detected; {record.detail}"
            continue
        record.detected_ns = detected.ts_ns
        at = detected.ts_ns
        if rule.after_end and record.end_ns is not None:
            at = max(at, record.end_ns)
        recovered: Signal | None = None
        for names in rule.recover:
            recovered = _first(ordered, names, at, venue)
            if recovered is None:
                break
            at = recovered.ts_ns
        how = f"detected by {detected.name}"
        if recovered is not None:
            record.recovered_ns = recovered.ts_ns
            how += f", recovered at {recovered.name}"
        elif rule.recover:
            how += ", not recovered by the end of the run"
        else:
            how += f" ({rule.note})"
        record.detail = f"{how}; {record.detail}"
    return list(records)


def check_expectations(expect: Expectations, records: Sequence[FaultRecord], signals: Sequence[Signal],
                       orders_sent: Mapping[str, int], end_ns: int, *,
                       feed_gaps: Mapping[str, int] | None = None) -> list[InvariantResult]:
    """Scorecard rows for ``[expect]``, for every fault having acted, and for required recoveries."""
    rows: list[InvariantResult] = []
    for record in records:
        acted = record.start_ns is not None
        rows.append(InvariantResult(f"fault acted: {record.name}", acted, None if acted else end_ns,
                                    record.detail if acted else "the fault never fired: the scenario tested nothing"))
        rule = _rule(record)
        if acted and rule.must_recover and record.name not in expect.unrecovered:
            ok = record.recovered_ns is not None
            rows.append(InvariantResult(f"fault recovered: {record.name}", ok, None if ok else end_ns,
                                        record.detail))
    after = min((r.start_ns for r in records if r.start_ns is not None), default=0)
    for wanted in expect.events:  # in order, the first after the first fault began
        venue, _, event = wanted.partition(":")
        hit = next((s for s in signals if s.ts_ns >= after and s.venue == venue and s.name == event), None)
        rows.append(InvariantResult(f"expect event {wanted}", hit is not None, None if hit else end_ns,
                                    f"at {hit.ts_ns}" if hit else "never happened (in this order)"))
        if hit is not None:
            after = hit.ts_ns
    for kind in expect.alerts:
        hit = next((s for s in signals if s.name == f"alert:{kind}"), None)
        rows.append(InvariantResult(f"expect alert {kind}", hit is not None, None if hit else end_ns,
                                    hit.detail if hit else "never raised"))
    if expect.breaker:
        states = [s.name.partition(":")[2] for s in signals if s.name.startswith("breaker:")]
        ok = _subsequence(list(expect.breaker), states)
        rows.append(InvariantResult("expect breaker " + " -> ".join(expect.breaker), ok, None if ok else end_ns,
                                    "transitions: " + (" -> ".join(states) or "none")))
    for venue, minimum in expect.min_orders.items():
        sent = orders_sent.get(venue, 0)
        rows.append(InvariantResult(f"expect orders on {venue} >= {minimum}", sent >= minimum,
                                    None if sent >= minimum else end_ns, f"{sent} sent"))
    if expect.feed_gap_ns is not None:
        gaps = dict(feed_gaps or {})
        worst = max(gaps.values(), default=None)
        ok = worst is not None and worst <= expect.feed_gap_ns
        seconds = f"{Decimal(worst) / 1_000_000_000:.3f} s" if worst is not None else "no quotes watched"
        rows.append(InvariantResult(f"expect feed gap <= {Decimal(expect.feed_gap_ns) / 1_000_000_000} s", ok,
                                    None if ok else end_ns, f"longest pause {seconds}"))
    for stream in expect.stable:
        venue, _, name = stream.partition(":")
        drops = [s for s in signals if s.venue == venue and s.name == f"{name}:down"]
        rows.append(InvariantResult(f"expect stable {stream}", not drops, drops[0].ts_ns if drops else None,
                                    f"{len(drops)} drop(s)" if drops else "never dropped"))
    return rows


def _subsequence(wanted: list[str], seen: list[str]) -> bool:
    it = iter(seen)
    return all(any(state == w for state in it) for w in wanted)

"""Faults and their detection and recovery, the invariant scorecard, and routing decisions' outcomes.

Faults and invariants come from the tables a fault-injection scenario adds to its run directory
(a plain replay has neither, and these tables are then empty):

* ``faults`` (one row per injected fault): ``name, kind, target, start_ns, end_ns, detected_ns,
  recovered_ns`` (the last two empty when it was never detected / never recovered from);
  ``metrics_faults`` adds ``duration_ns = end - start``, ``time_to_detect_ns = detected - start``
  and ``time_to_recover_ns = recovered - start`` (both from the fault's start), and ``outcome``:
  ``recovered``, ``detected`` (not recovered), ``undetected``;
* ``scorecard`` (one row per invariant checked): ``invariant, passed, first_violation_ns,
  detail``, kept as it is in ``metrics_invariants`` with the run-relative time of the first
  violation (``first_violation_ns - run start``).

Routing (``decisions``, when a router was used): ``metrics_routing`` has per allocation the
allocated and filled quantity, its fill ratio, expected and actual price, slippage and time to
fill as the router recorded them, and ``outcome``: ``filled``, ``partial`` or ``unfilled``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from reports.columns import AMOUNT, DERIVED
from reports.metrics.common import Table, dec, ratio

__all__ = ["FAULTS_METRICS_SCHEMA", "INVARIANTS_SCHEMA", "ROUTING_SCHEMA", "fault_table", "invariant_table",
           "routing_table"]

FAULTS_METRICS_SCHEMA = pa.schema([
    ("name", pa.string()), ("kind", pa.string()), ("target", pa.string()), ("start_ns", pa.int64()),
    ("end_ns", pa.int64()), ("detected_ns", pa.int64()), ("recovered_ns", pa.int64()), ("duration_ns", pa.int64()),
    ("time_to_detect_ns", pa.int64()), ("time_to_recover_ns", pa.int64()), ("outcome", pa.string()),
])
INVARIANTS_SCHEMA = pa.schema([
    ("invariant", pa.string()), ("passed", pa.bool_()), ("first_violation_ns", pa.int64()),
    ("violation_after_ns", pa.int64()), ("detail", pa.string()),
])
ROUTING_SCHEMA = pa.schema([
    ("decision_id", pa.string()), ("ts_ns", pa.int64()), ("instrument", pa.string()), ("side", pa.string()),
    ("criteria", pa.string()), ("venue", pa.string()), ("allocated_quantity", AMOUNT),
    ("filled_quantity", AMOUNT), ("fill_ratio", DERIVED), ("expected_price", DERIVED), ("fill_price", DERIVED),
    ("slippage_bps", DERIVED), ("time_to_fill_ns", pa.int64()), ("outcome", pa.string()),
])


def _after(value: Any, start: Any) -> int | None:
    return None if value is None or start is None else int(value) - int(start)


def fault_table(faults: Sequence[Mapping[str, Any]]) -> Table:
    """``metrics_faults`` from the run's ``faults`` rows, in injection order."""
    rows = []
    for f in sorted(faults, key=lambda f: (f.get("start_ns") or 0, str(f.get("name")))):
        outcome = ("recovered" if f.get("recovered_ns") is not None
                   else "detected" if f.get("detected_ns") is not None else "undetected")
        rows.append({"name": f.get("name"), "kind": f.get("kind"), "target": f.get("target"),
                     "start_ns": f.get("start_ns"), "end_ns": f.get("end_ns"), "detected_ns": f.get("detected_ns"),
                     "recovered_ns": f.get("recovered_ns"), "duration_ns": _after(f.get("end_ns"), f.get("start_ns")),
                     "time_to_detect_ns": _after(f.get("detected_ns"), f.get("start_ns")),
                     "time_to_recover_ns": _after(f.get("recovered_ns"), f.get("start_ns")), "outcome": outcome})
    return rows, FAULTS_METRICS_SCHEMA


def invariant_table(scorecard: Sequence[Mapping[str, Any]], start_ns: int) -> Table:
    """``metrics_invariants`` from the run's ``scorecard`` rows."""
    rows = [{"invariant": s.get("invariant"), "passed": bool(s.get("passed")),
             "first_violation_ns": s.get("first_violation_ns"),
             "violation_after_ns": _after(s.get("first_violation_ns"), start_ns if start_ns else None),
             "detail": s.get("detail")} for s in scorecard]
    return rows, INVARIANTS_SCHEMA


def routing_table(decisions: Sequence[Mapping[str, Any]]) -> Table:
    """``metrics_routing`` from the run's ``decisions`` rows."""
    rows = []
    for d in decisions:
        allocated, filled = dec(d.get("allocated_quantity")), dec(d.get("filled_quantity"))
        outcome = "unfilled" if not filled else "filled" if filled >= allocated else "partial"
        rows.append({"decision_id": d.get("decision_id"), "ts_ns": d.get("ts_ns"), "instrument": d.get("instrument"),
                     "side": d.get("side"), "criteria": d.get("criteria"), "venue": d.get("venue"),
                     "allocated_quantity": d.get("allocated_quantity"), "filled_quantity": d.get("filled_quantity"),
                     "fill_ratio": ratio(filled, allocated), "expected_price": d.get("expected_price"),
                     "fill_price": d.get("fill_price"), "slippage_bps": d.get("slippage_bps"),
                     "time_to_fill_ns": d.get("time_to_fill_ns"), "outcome": outcome})
    return rows, ROUTING_SCHEMA

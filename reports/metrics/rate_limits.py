"""Rate-limit usage and headroom over time, rebuilt from the audit trail and the venues' descriptors.

The run does not log the limiter's counters, but it does not need to: every request that left is
in the audit (a result with a ``latency_ns``; it left at ``ts_ns - latency_ns``), and what each
request costs under each limit is in the venue's descriptor (``harness.venues``: rules with
category, limit and window; costs per contract method). For every rule and every request that
costs something under it, ``used`` is the total cost of the requests sent in the window ending
at that request (``(t - window, t]``, the request itself included) and ``headroom = limit -
used``. This is the client's view, counted when requests leave; a venue counts them when they
arrive and often in fixed windows, and the client's limiter keeps a guard of its own on top.

A venue whose descriptor has no rules (its limits are mirrored from what the venue reports)
gets no rows; the headline says its limits are unknown. Requests the venue refused with 429 or
418 are counted separately (``limit_hits``): they show where the venue's view was the tighter one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from harness.venues import VenueDescriptor, descriptor_for
from reports.columns import DERIVED
from reports.metrics.common import Table, ratio

__all__ = ["RATE_LIMITS_SCHEMA", "descriptor_of_setup", "limit_hits", "rate_limit_table"]

RATE_LIMITS_SCHEMA = pa.schema([
    ("venue", pa.string()), ("rule", pa.string()), ("category", pa.string()), ("ts_ns", pa.int64()),
    ("used", pa.int64()), ("limit", pa.int64()), ("headroom", pa.int64()), ("usage", DERIVED),
])

DescriptorLookup = Callable[[Mapping[str, Any]], VenueDescriptor | None]


def descriptor_of_setup(setup: Mapping[str, Any]) -> VenueDescriptor | None:
    """The shipped descriptor of a manifest venue entry's profile (a profile file by its stem)."""
    profile = str(setup.get("profile") or setup.get("name") or "")
    return descriptor_for(Path(profile).stem if profile.endswith(".toml") else profile)


def rate_limit_table(audit: Sequence[Mapping[str, Any]], setups: Sequence[Mapping[str, Any]],
                     lookup: DescriptorLookup = descriptor_of_setup) -> tuple[Table, dict[str, str]]:
    """``metrics_rate_limits`` and, per venue, a note on where its limits came from."""
    sent: dict[str, list[tuple[int, str]]] = {}
    for row in audit:
        if row["phase"] == "result" and row.get("latency_ns") is not None:
            sent.setdefault(str(row["venue"]), []).append((int(row["ts_ns"]) - int(row["latency_ns"]),
                                                           str(row.get("method") or "")))
    rows: list[dict[str, Any]] = []
    notes: dict[str, str] = {}
    for setup in setups:
        venue = str(setup.get("name"))
        descriptor = lookup(setup)
        if descriptor is None or not descriptor.limits_known:
            notes[venue] = "limits unknown (no rules in the venue's descriptor)"
            continue
        notes[venue] = f"rules of descriptor {descriptor.name}"
        requests = sorted(sent.get(venue, []))
        for rule in descriptor.rules:
            window: deque[tuple[int, int]] = deque()
            used = 0
            for ts, method in requests:
                cost = descriptor.cost_of(method).get(rule.category.value, 0)
                if not cost:
                    continue
                while window and window[0][0] <= ts - rule.window_ns:
                    used -= window.popleft()[1]
                window.append((ts, cost))
                used += cost
                rows.append({"venue": venue, "rule": rule.label, "category": rule.category.value, "ts_ns": ts,
                             "used": used, "limit": rule.limit, "headroom": rule.limit - used,
                             "usage": ratio(Decimal(used), Decimal(rule.limit))})
    return (rows, RATE_LIMITS_SCHEMA), notes


def limit_hits(audit: Sequence[Mapping[str, Any]]) -> int:
    """How many requests the venue refused for rate limits (category RATE_LIMITED)."""
    return sum(1 for row in audit if row["phase"] == "result" and row.get("error_category") == "RATE_LIMITED")

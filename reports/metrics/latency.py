"""Latency per leg of an order's life, from the audit trail and the fills (integer nanoseconds).

Legs (``LEGS``), each measured only where the run recorded both ends:

* ``order_entry``: a submit, cancel or modify leaving the client (the result's ``ts_ns -
  latency_ns``) to the venue handling it (the answer's ``venue_ts_ns``, the venue's clock);
  only for requests the venue answered with an order report;
* ``ack``: the venue handling it (``venue_ts_ns``) to the client receiving the answer (the
  result's ``ts_ns``). In simulation the venue and client share one clock, so ``order_entry +
  ack`` is the round trip exactly; live, the two differ by the venue's clock offset;
* ``round_trip``: every request's ``latency_ns`` (sent to answered, per method), errors included
  when the request left (a request refused before leaving has none);
* ``limiter_wait``: a submit's intent to its leaving: time spent queued by the client-side rate
  limiter (and breakers);
* ``fill_report``: a fill at the venue (``fills.ts_ns``) to the client applying it to its
  position (``position_history.ts_ns`` of its execution id): the user stream's delay, or for a
  fill recovered by reconciliation, how long it took to find it;
* ``market_data``: **not measurable from a run directory**: the run records no market-data
  deliveries (they are the hot path). The simulated delay is the venue profile's
  ``market_data`` latency model; the summary keeps the leg with no samples and says so.

Percentiles are nearest rank (``reports.metrics.common.nearest_rank``): observed values, exact.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pyarrow as pa

from reports.metrics.common import PERCENTILES, Table, nearest_rank

__all__ = ["LATENCY_SCHEMA", "LATENCY_SUMMARY_SCHEMA", "LEGS", "latency_tables"]

LEGS: Final = {
    "order_entry": "request sent -> venue handled it (venue clock)",
    "ack": "venue handled it -> answer received",
    "round_trip": "request sent -> answer received, every request",
    "limiter_wait": "submit intent -> request sent (client rate limiter queue)",
    "fill_report": "fill at the venue -> client applied it to its position",
    "market_data": "not measurable: the run records no market-data deliveries (the profile's model applies)",
}
ORDER_METHODS: Final = ("submit_order", "cancel_order", "modify_order")

LATENCY_SCHEMA = pa.schema([
    ("leg", pa.string()), ("venue", pa.string()), ("method", pa.string()), ("ts_ns", pa.int64()),
    ("latency_ns", pa.int64()),
])
LATENCY_SUMMARY_SCHEMA = pa.schema([
    ("leg", pa.string()), ("venue", pa.string()), ("count", pa.int64()),
    *[(f"p{p}_ns", pa.int64()) for p in PERCENTILES], ("max_ns", pa.int64()), ("measures", pa.string()),
])


def latency_tables(audit: Sequence[Mapping[str, Any]], fills: Sequence[Mapping[str, Any]]) -> tuple[Table, Table]:
    """``(metrics_latency, metrics_latency_summary)``: every sample, and per leg and venue its percentiles."""
    samples: list[dict[str, Any]] = []

    def add(leg: str, row: Mapping[str, Any], ts_ns: int, latency: int) -> None:
        samples.append({"leg": leg, "venue": row["venue"], "method": row.get("method") or row.get("endpoint"),
                        "ts_ns": ts_ns, "latency_ns": latency})

    intents: dict[str, int] = {}
    for row in audit:
        ts = int(row["ts_ns"])
        if row["phase"] == "intent":
            if row.get("client_order_id"):
                intents[str(row["client_order_id"])] = ts
            continue
        latency = row.get("latency_ns")
        if latency is None:
            continue
        latency = int(latency)
        sent = ts - latency
        add("round_trip", row, ts, latency)
        if row.get("method") == "submit_order" and row.get("client_order_id") in intents:
            add("limiter_wait", row, sent, sent - intents.pop(str(row["client_order_id"])))
        if row.get("method") in ORDER_METHODS and row.get("success"):
            venue_ts = json.loads(row.get("response") or "{}").get("venue_ts_ns")
            if venue_ts:
                add("order_entry", row, int(venue_ts), int(venue_ts) - sent)
                add("ack", row, ts, ts - int(venue_ts))
    for f in fills:
        if f.get("report_latency_ns") is not None:
            add("fill_report", {"venue": f["venue"], "method": "fill"}, int(f["ts_ns"]) + int(f["report_latency_ns"]),
                int(f["report_latency_ns"]))
    samples.sort(key=lambda s: (list(LEGS).index(s["leg"]), s["ts_ns"]))
    by_leg: dict[tuple[str, str], list[int]] = {}
    for s in samples:
        by_leg.setdefault((s["leg"], str(s["venue"])), []).append(int(s["latency_ns"]))
    venues = sorted({venue for _, venue in by_leg}) or [""]
    summary = []
    for leg, meaning in LEGS.items():
        for venue in venues:
            values = sorted(by_leg.get((leg, venue), []))
            if not values and leg != "market_data":
                continue
            summary.append({"leg": leg, "venue": venue, "count": len(values),
                            **{f"p{p}_ns": nearest_rank(values, p) for p in PERCENTILES},
                            "max_ns": values[-1] if values else None, "measures": meaning})
    return (samples, LATENCY_SCHEMA), (summary, LATENCY_SUMMARY_SCHEMA)

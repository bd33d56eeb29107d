"""The execution layer's records as run-directory tables: positions, alerts, audit, decisions.

``engine_tables(engine, decisions)`` turns an ``ExecutionEngine``'s state at the end of a run
into rows and Arrow schemas for ``RunRecorder.extra``:

* ``position_history``: every change to every position (OPEN, INCREASE, DECREASE, CLOSE,
  REVERSE, RECONCILE) with quantities and averages before and after and what caused it;
* ``positions_final``: each position per venue, then each instrument aggregated across venues
  (``aggregate`` true, ``venue = "ALL"`` and no symbol), with average entry, realized and
  unrealized PnL and commissions;
* ``alerts``, ``audit`` (one row per venue request phase), ``discrepancies`` (reconciliation);
* ``decisions``: routing decisions with their reasoning and outcome, when a router was used.

Column types follow ``reports.columns``: quantities are exact amounts (scale 9); averages,
PnL, expected prices and fees, slippage are derived (scale 18). No column holds a float.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

from harness.engine import ExecutionEngine
from reports.columns import AMOUNT, DERIVED, amount, derived

__all__ = ["Table", "engine_tables"]

Table = tuple[list[dict[str, Any]], pa.Schema]

EXACT = DERIVED
_exact = derived


POSITION_HISTORY_SCHEMA = pa.schema([
    ("ts_ns", pa.int64()), ("venue", pa.string()), ("symbol", pa.string()), ("change", pa.string()),
    ("previous_quantity", AMOUNT), ("new_quantity", AMOUNT), ("previous_average", EXACT), ("new_average", EXACT),
    ("realized_delta", EXACT), ("trigger", pa.string()),
])
POSITIONS_FINAL_SCHEMA = pa.schema([
    ("venue", pa.string()), ("instrument", pa.string()), ("symbol", pa.string()), ("aggregate", pa.bool_()),
    ("quantity", AMOUNT), ("average_price", EXACT), ("realized_pnl", EXACT), ("unrealized_pnl", EXACT),
    ("commissions", pa.string()),
])
ALERTS_SCHEMA = pa.schema([
    ("ts_ns", pa.int64()), ("severity", pa.string()), ("source", pa.string()), ("kind", pa.string()),
    ("venue", pa.string()), ("message", pa.string()), ("details", pa.string()),
])
AUDIT_SCHEMA = pa.schema([
    ("ts_ns", pa.int64()), ("venue", pa.string()), ("method", pa.string()), ("endpoint", pa.string()),
    ("phase", pa.string()), ("client_order_id", pa.string()), ("success", pa.bool_()), ("latency_ns", pa.int64()),
    ("error_category", pa.string()), ("error", pa.string()), ("request", pa.string()), ("response", pa.string()),
])
DISCREPANCIES_SCHEMA = pa.schema([
    ("kind", pa.string()), ("venue", pa.string()), ("key", pa.string()), ("ours", pa.string()),
    ("venue_value", pa.string()), ("detail", pa.string()),
])
DECISIONS_SCHEMA = pa.schema([
    ("decision_id", pa.string()), ("ts_ns", pa.int64()), ("instrument", pa.string()), ("side", pa.string()),
    ("order_type", pa.string()), ("quantity", AMOUNT), ("criteria", pa.string()), ("split", pa.bool_()),
    ("venue", pa.string()), ("symbol", pa.string()), ("allocated_quantity", AMOUNT), ("expected_price", EXACT),
    ("expected_fee", EXACT), ("alternatives", pa.string()), ("skipped", pa.string()), ("fill_price", EXACT),
    ("filled_quantity", AMOUNT), ("slippage_bps", EXACT), ("time_to_fill_ns", pa.int64()), ("reasoning", pa.string()),
])


def _json(data: Mapping[str, Any]) -> str:
    return json.dumps(dict(data), sort_keys=True, default=str)


def engine_tables(engine: ExecutionEngine) -> dict[str, Table]:
    """The engine's records as tables (see the module docstring)."""
    decisions: Sequence[Mapping[str, Any]] = engine.router.decisions_table() if engine.router is not None else ()
    history = [{
        "ts_ns": r.ts_ns, "venue": r.venue, "symbol": r.symbol, "change": r.change.value,
        "previous_quantity": amount(r.previous_quantity), "new_quantity": amount(r.new_quantity),
        "previous_average": _exact(r.previous_average), "new_average": _exact(r.new_average),
        "realized_delta": _exact(r.realized_delta), "trigger": r.trigger,
    } for r in engine.positions.history()]
    final: list[dict[str, Any]] = []
    book = engine.positions
    for p in book.positions():
        final.append({"venue": p.venue, "instrument": book.instrument_of(p.venue, p.symbol), "symbol": p.symbol,
                      "aggregate": False, "quantity": amount(p.quantity), "average_price": _exact(p.average_price),
                      "realized_pnl": _exact(p.realized_pnl), "unrealized_pnl": _exact(p.unrealized_pnl),
                      "commissions": _json({a: str(v) for a, v in sorted(p.commissions.items())})})
    for agg in book.aggregates():
        final.append({"venue": "ALL", "instrument": agg.instrument, "symbol": None, "aggregate": True,
                      "quantity": amount(agg.quantity), "average_price": _exact(agg.average_price),
                      "realized_pnl": _exact(agg.realized_pnl), "unrealized_pnl": _exact(agg.unrealized_pnl),
                      "commissions": _json({a: str(v) for a, v in sorted(agg.commissions.items())})})
    alerts = [{"ts_ns": a.ts_ns, "severity": a.severity.value, "source": a.source, "kind": a.kind,
               "venue": a.venue, "message": a.message, "details": _json(a.details)} for a in engine.alerts.alerts]
    audit = [{"ts_ns": r.ts_ns, "venue": r.venue, "method": r.method, "endpoint": r.endpoint, "phase": r.phase,
              "client_order_id": r.client_order_id, "success": r.success, "latency_ns": r.latency_ns,
              "error_category": r.error_category, "error": r.error, "request": _json(r.request),
              "response": _json(r.response)} for r in engine.audit_records()]
    found = [{"kind": d.kind.value, "venue": d.venue, "key": d.key, "ours": d.ours, "venue_value": d.venue_value,
              "detail": d.detail} for d in engine.discrepancies]
    tables: dict[str, Table] = {
        "position_history": (history, POSITION_HISTORY_SCHEMA),
        "positions_final": (final, POSITIONS_FINAL_SCHEMA),
        "alerts": (alerts, ALERTS_SCHEMA),
        "audit": (audit, AUDIT_SCHEMA),
        "discrepancies": (found, DISCREPANCIES_SCHEMA),
    }
    if decisions:
        tables["decisions"] = (_decision_rows(decisions), DECISIONS_SCHEMA)
    return tables


def _decision_rows(decisions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per allocation: the decision, what was expected, what happened, and the reasoning (JSON)."""
    rows = []
    for d in decisions:
        row = {name: d.get(name) for name in DECISIONS_SCHEMA.names}
        row["split"] = bool(row["split"])
        for name in ("quantity", "allocated_quantity", "filled_quantity"):
            value = row[name]
            row[name] = None if value is None else amount(Decimal(str(value)))
        for name in ("expected_price", "expected_fee", "fill_price", "slippage_bps"):
            value = row[name]
            row[name] = None if value is None else _exact(Decimal(str(value)))
        rows.append(row)
    return rows

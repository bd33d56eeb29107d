"""Execution quality per order and per fill: fill ratio, slippage, maker/taker split, queue time.

``metrics_orders`` (one row per client order id):

* ``created_ns``: the audit's submit *intent* (the order left the strategy for the gateway), or
  the order's first row when it was refused before any request (no audit);
* ``accepted``: the venue answered the submit with an order (its result succeeded);
  ``venue_accepted_ns``: the venue's own time of accepting it (the answer's ``venue_ts_ns``);
* ``filled_quantity``, ``average_fill_price``, ``maker_quantity``, ``taker_quantity``: from the fills;
* ``arrival_mid``: the **arrival price**, the recorded mid ``(best bid + best ask) / 2`` of the
  order's venue and symbol at ``created_ns`` (the latest quote with ``ts_event <= created_ns``:
  the venue's book when we decided, not our delayed view of it); empty when the run's quotes
  data cannot be found (``reports.run_source``) or has no quote before the order;
* ``slippage_bps``: for filled orders with an arrival mid, what the average fill cost against
  it, positive when worse: ``(average - mid) / mid * 10^4`` for a buy, ``(mid - average) / mid *
  10^4`` for a sell. A passive maker's is usually negative (it earns part of the spread).

``metrics_fills`` (one row per fill): ``notional = price * quantity``; ``queue_time_ns`` for maker
fills, from the venue accepting the order to this fill, both on the venue's clock (``fill.ts_ns -
venue_accepted_ns``); ``report_latency_ns``, from the fill at the venue to the client applying
it to its position (``position_history.ts_ns`` of the fill's execution id - ``fill.ts_ns``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

from reports.columns import AMOUNT, DERIVED, amount, derived
from reports.metrics.common import Table, dec

__all__ = ["FILLS_METRICS_SCHEMA", "ORDERS_METRICS_SCHEMA", "ArrivalMids", "execution_tables", "submit_answers"]

ArrivalMids = Callable[[str, str, Sequence[int]], list[Decimal | None]]
"""``(venue, symbol, times) -> mid at each time`` (None where unknown)."""

ORDERS_METRICS_SCHEMA = pa.schema([
    ("client_order_id", pa.string()), ("venue", pa.string()), ("symbol", pa.string()), ("side", pa.string()),
    ("order_type", pa.string()), ("quantity", AMOUNT), ("price", AMOUNT), ("created_ns", pa.int64()),
    ("accepted", pa.bool_()), ("venue_accepted_ns", pa.int64()), ("final_status", pa.string()),
    ("filled_quantity", AMOUNT), ("average_fill_price", DERIVED), ("maker_quantity", AMOUNT),
    ("taker_quantity", AMOUNT), ("fills", pa.int64()), ("first_fill_ns", pa.int64()), ("arrival_mid", DERIVED),
    ("slippage_bps", DERIVED),
])
FILLS_METRICS_SCHEMA = pa.schema([
    ("ts_ns", pa.int64()), ("venue", pa.string()), ("symbol", pa.string()), ("execution_id", pa.string()),
    ("client_order_id", pa.string()), ("side", pa.string()), ("liquidity", pa.string()), ("price", AMOUNT),
    ("quantity", AMOUNT), ("notional", DERIVED), ("fee", AMOUNT), ("fee_asset", pa.string()),
    ("queue_time_ns", pa.int64()), ("report_latency_ns", pa.int64()),
])


def submit_answers(audit: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per client order id: the submit's intent time, and whether and when (client and venue) it was accepted."""
    out: dict[str, dict[str, Any]] = {}
    for row in audit:
        if row.get("method") != "submit_order" or not row.get("client_order_id"):
            continue
        entry = out.setdefault(str(row["client_order_id"]), {"intent_ns": None, "accepted": False,
                                                             "acked_ns": None, "venue_ns": None})
        if row["phase"] == "intent":
            if entry["intent_ns"] is None:
                entry["intent_ns"] = int(row["ts_ns"])
        elif row.get("success"):
            entry["accepted"] = True
            entry["acked_ns"] = int(row["ts_ns"])
            venue_ts = json.loads(row.get("response") or "{}").get("venue_ts_ns")
            entry["venue_ns"] = int(venue_ts) if venue_ts else None
    return out


def execution_tables(orders: Sequence[Mapping[str, Any]], fills: Sequence[Mapping[str, Any]],
                     audit: Sequence[Mapping[str, Any]], history: Sequence[Mapping[str, Any]],
                     arrival_mids: ArrivalMids | None) -> tuple[Table, Table]:
    """``(metrics_orders, metrics_fills)`` as described in the module docstring."""
    answers = submit_answers(audit)
    applied: dict[tuple[str, str], int] = {}
    for change in history:
        applied.setdefault((str(change["venue"]), str(change["trigger"])), int(change["ts_ns"]))
    by_order: dict[str, dict[str, Any]] = {}
    for row in orders:
        coid = str(row["client_order_id"])
        entry = by_order.get(coid)
        if entry is None:
            answer = answers.get(coid, {})
            entry = by_order[coid] = {
                "client_order_id": coid, "venue": row["venue"], "symbol": row["symbol"], "side": row["side"],
                "order_type": row["order_type"], "quantity": row["quantity"], "price": row["price"],
                "created_ns": answer.get("intent_ns") or int(row["ts_ns"]), "accepted": bool(answer.get("accepted")),
                "venue_accepted_ns": answer.get("venue_ns"), "fills": 0, "first_fill_ns": None,
                "_filled": Decimal(0), "_cost": Decimal(0), "_maker": Decimal(0), "_taker": Decimal(0)}
        entry["final_status"] = row["status"]
    fill_rows = []
    for f in fills:
        coid = str(f["client_order_id"])
        qty, price = dec(f["quantity"]), dec(f["price"])
        order = by_order.get(coid)
        queue = None
        if order is not None:
            order["fills"] += 1
            order["_filled"] += qty
            order["_cost"] += qty * price
            order["_maker" if f["liquidity"] == "MAKER" else "_taker"] += qty
            if order["first_fill_ns"] is None:
                order["first_fill_ns"] = int(f["ts_ns"])
            if f["liquidity"] == "MAKER" and order["venue_accepted_ns"] is not None:
                queue = int(f["ts_ns"]) - int(order["venue_accepted_ns"])
        seen = applied.get((str(f["venue"]), str(f["execution_id"])))
        fill_rows.append({
            "ts_ns": int(f["ts_ns"]), "venue": f["venue"], "symbol": f["symbol"], "execution_id": f["execution_id"],
            "client_order_id": coid, "side": f["side"], "liquidity": f["liquidity"], "price": f["price"],
            "quantity": f["quantity"], "notional": derived(qty * price), "fee": f["fee"], "fee_asset": f["fee_asset"],
            "queue_time_ns": queue, "report_latency_ns": None if seen is None else seen - int(f["ts_ns"])})
    order_rows = list(by_order.values())
    _arrivals(order_rows, arrival_mids)
    for order in order_rows:
        filled, cost = order.pop("_filled"), order.pop("_cost")
        order["filled_quantity"] = amount(filled)
        order["average_fill_price"] = derived(cost / filled) if filled else None
        order["maker_quantity"], order["taker_quantity"] = amount(order.pop("_maker")), amount(order.pop("_taker"))
        mid = order.get("arrival_mid")
        order["slippage_bps"] = None
        if mid and filled:
            sign = 1 if order["side"] == "BUY" else -1
            order["slippage_bps"] = derived(sign * (cost / filled - mid) / mid * 10_000)
        order["arrival_mid"] = derived(mid) if mid is not None else None
    return (order_rows, ORDERS_METRICS_SCHEMA), (fill_rows, FILLS_METRICS_SCHEMA)


def _arrivals(order_rows: list[dict[str, Any]], arrival_mids: ArrivalMids | None) -> None:
    """Set each row's ``arrival_mid`` (None everywhere without market data)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for order in order_rows:
        order["arrival_mid"] = None
        groups.setdefault((str(order["venue"]), str(order["symbol"])), []).append(order)
    if arrival_mids is None:
        return
    for (venue, symbol), members in groups.items():
        for order, mid in zip(members, arrival_mids(venue, symbol, [o["created_ns"] for o in members]), strict=True):
            order["arrival_mid"] = mid

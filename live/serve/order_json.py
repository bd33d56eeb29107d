"""Binance's order, trade and account shapes, from the simulated venue's order records.

The venue (``sim.venue.venue.SimVenue``) keeps one ``VenueOrder`` per client order id with its
request, status and progress; these functions write it the way ``GET /api/v3/order``,
``POST /api/v3/order`` (ACK / RESULT / FULL), ``DELETE /api/v3/order``, ``GET /api/v3/myTrades``
and the user-data stream's ``executionReport`` do (``spec/venues.md`` §1.4, §1.9). Our own
executions get integer trade ids from ``TradeIds`` (Binance's ``tradeId``/``id``/``t``), the
same in every shape, so a client can match pushed and queried fills.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from harness.model import Fill
from live.serve.wire import (
    STATUS_NAMES,
    binance_order_type,
    fmt,
    is_maker,
    ms,
    time_in_force_name,
)
from sim.venue.venue import VenueOrder

__all__ = ["RESPONSE_TYPES", "TradeIds", "cancel_json", "execution_report", "my_trade_json", "new_order_json",
           "order_json"]

RESPONSE_TYPES = ("ACK", "RESULT", "FULL")
_ZERO = Decimal(0)


class TradeIds:
    """Integer trade ids for our executions, in the order the venue made them (from 1)."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def of(self, fill: Fill) -> int:
        """The trade id of ``fill`` (assigned on first sight)."""
        trade_id = self._ids.get(fill.execution_id)
        if trade_id is None:
            trade_id = self._ids[fill.execution_id] = len(self._ids) + 1
        return trade_id


def _price(value: Decimal | None) -> str:
    return fmt(value if value is not None else _ZERO)


def _order_id(order: VenueOrder) -> int:
    return int(order.venue_order_id)


def _result_fields(order: VenueOrder) -> dict[str, Any]:
    request = order.request
    return {"price": _price(request.price), "origQty": fmt(request.quantity), "executedQty": fmt(order.filled),
            "origQuoteOrderQty": "0.00000000", "cummulativeQuoteQty": fmt(order.cum_quote),
            "status": STATUS_NAMES[order.status], "timeInForce": time_in_force_name(request),
            "type": binance_order_type(request), "side": request.side.value}


def order_json(order: VenueOrder) -> dict[str, Any]:
    """``GET /api/v3/order`` (and each entry of ``openOrders``)."""
    request = order.request
    return {"symbol": request.symbol, "orderId": _order_id(order), "orderListId": -1,
            "clientOrderId": request.client_order_id, **_result_fields(order),
            "stopPrice": _price(request.stop_price), "icebergQty": "0.00000000", "time": ms(order.created_ns),
            "updateTime": ms(order.updated_ns), "isWorking": order.status.is_open, "workingTime": ms(order.created_ns),
            "selfTradePreventionMode": "NONE"}


def new_order_json(order: VenueOrder, response_type: str, fills: Sequence[Fill], trade_ids: TradeIds) -> dict[str, Any]:
    """``POST /api/v3/order``: ACK, RESULT (the order's state) or FULL (RESULT and its fills so far)."""
    request = order.request
    body: dict[str, Any] = {"symbol": request.symbol, "orderId": _order_id(order), "orderListId": -1,
                            "clientOrderId": request.client_order_id, "transactTime": ms(order.created_ns)}
    if response_type == "ACK":
        return body
    body.update(_result_fields(order))
    body.update({"workingTime": ms(order.created_ns), "selfTradePreventionMode": "NONE"})
    if request.stop_price is not None:
        body["stopPrice"] = fmt(request.stop_price)
    if response_type == "FULL":
        body["fills"] = [{"price": fmt(f.price), "qty": fmt(f.quantity), "commission": fmt(f.fee),
                          "commissionAsset": f.fee_asset, "tradeId": trade_ids.of(f)} for f in fills]
    return body


def cancel_json(order: VenueOrder, now_ns: int) -> dict[str, Any]:
    """``DELETE /api/v3/order``: the cancelled order (``status`` CANCELED)."""
    request = order.request
    return {"symbol": request.symbol, "origClientOrderId": request.client_order_id, "orderId": _order_id(order),
            "orderListId": -1, "clientOrderId": request.client_order_id, "transactTime": ms(now_ns),
            **_result_fields(order), "selfTradePreventionMode": "NONE"}


def my_trade_json(fill: Fill, trade_ids: TradeIds) -> dict[str, Any]:
    """One entry of ``GET /api/v3/myTrades``."""
    return {"symbol": fill.symbol, "id": trade_ids.of(fill), "orderId": int(fill.venue_order_id), "orderListId": -1,
            "price": fmt(fill.price), "qty": fmt(fill.quantity), "quoteQty": fmt(fill.price * fill.quantity),
            "commission": fmt(fill.fee), "commissionAsset": fill.fee_asset, "time": ms(fill.ts_ns),
            "isBuyer": fill.side.value == "BUY", "isMaker": is_maker(fill), "isBestMatch": True}


def execution_report(order: VenueOrder, event_ns: int, execution: str, fill: Fill | None,
                     trade_ids: TradeIds) -> dict[str, Any]:
    """A user-data ``executionReport``: ``x`` is the execution type (NEW, TRADE, CANCELED, EXPIRED, ...)."""
    request = order.request
    last_qty = fill.quantity if fill is not None else _ZERO
    last_price = fill.price if fill is not None else _ZERO
    return {
        "e": "executionReport", "E": ms(event_ns), "s": request.symbol, "c": request.client_order_id,
        "S": request.side.value, "o": binance_order_type(request), "f": time_in_force_name(request),
        "q": fmt(request.quantity), "p": _price(request.price), "P": _price(request.stop_price), "F": "0.00000000",
        "g": -1, "C": request.client_order_id if execution == "CANCELED" else "", "x": execution,
        "X": STATUS_NAMES[order.status], "r": "NONE", "i": _order_id(order), "l": fmt(last_qty),
        "z": fmt(order.filled), "L": fmt(last_price), "n": fmt(fill.fee) if fill is not None else "0",
        "N": fill.fee_asset if fill is not None else None,
        "T": ms(fill.ts_ns) if fill is not None else ms(order.updated_ns),
        "t": trade_ids.of(fill) if fill is not None else -1, "I": 0, "w": order.status.is_open,
        "m": fill is not None and is_maker(fill), "M": False, "O": ms(order.created_ns), "Z": fmt(order.cum_quote),
        "Y": fmt(last_qty * last_price), "Q": "0.00000000", "W": ms(order.created_ns), "V": "NONE",
    }

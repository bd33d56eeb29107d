"""Advanced Trade REST's JSON shapes, written from the local venue's state (``--profile coinbase``).

The fields of docs.cdp.coinbase.com's Advanced Trade REST reference that a client reads:
accounts (``available_balance``/``hold`` as ``{value, currency}``), products (``price_increment``,
``base_increment``, ``base_min_size``/``base_max_size``, ``quote_min_size``/``quote_max_size``),
candles (``start`` in UNIX seconds, newest first), orders (``order_configuration`` by kind,
``status`` OPEN/FILLED/CANCELLED/EXPIRED/FAILED/PENDING, ``filled_size``, ``average_filled_price``)
and fills (``trade_id`` as the FIX reports carry it, ``trade_time`` to the microsecond as FIX's
TransactTime, ``liquidity_indicator``). Amounts are decimal strings; nothing here reads a clock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from harness.model import Balance, Candle, Fill, Liquidity, OrderStatus, OrderType, TimeInForce
from harness.money import from_fixed
from live.serve.order_json import TradeIds
from live.signing import format_value
from sim.venue.filters import SymbolRules
from sim.venue.venue import VenueOrder

__all__ = ["account_json", "candle_json", "fill_json", "order_status_name", "product_json", "rfc3339_us",
           "venue_order_json"]

_NS = 1_000_000_000
_STATUS = {OrderStatus.OPEN: "OPEN", OrderStatus.PARTIALLY_FILLED: "OPEN", OrderStatus.FILLED: "FILLED",
           OrderStatus.CANCELLED: "CANCELLED", OrderStatus.EXPIRED: "EXPIRED", OrderStatus.REJECTED: "FAILED",
           OrderStatus.PENDING: "PENDING", OrderStatus.PENDING_CANCEL: "CANCEL_QUEUED",
           OrderStatus.PENDING_MODIFY: "OPEN"}
_TIF = {TimeInForce.GTC: "GOOD_UNTIL_CANCELLED", TimeInForce.GTD: "GOOD_UNTIL_DATE_TIME",
        TimeInForce.IOC: "IMMEDIATE_OR_CANCEL", TimeInForce.FOK: "FILL_OR_KILL"}
_USER = "00000000-0000-4000-8000-000000000001"


def _s(value: Decimal) -> str:
    return format_value(value)


def rfc3339_us(ts_ns: int) -> str:
    """``2024-08-09T00:00:01.123456Z``: RFC 3339 UTC to the microsecond."""
    seconds, rest = divmod(ts_ns, _NS)
    return f"{dt.datetime.fromtimestamp(seconds, tz=dt.UTC):%Y-%m-%dT%H:%M:%S}.{rest // 1000:06d}Z"


def order_status_name(status: OrderStatus) -> str:
    """Advanced Trade's status of an order (an open order with fills is still ``OPEN``)."""
    return _STATUS.get(status, "UNKNOWN_ORDER_STATUS")


def account_json(balance: Balance) -> dict[str, Any]:
    """One ``accounts[]`` entry."""
    return {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"local-venue/{balance.asset}")),
            "name": f"{balance.asset} Wallet", "currency": balance.asset,
            "available_balance": {"value": _s(balance.free), "currency": balance.asset},
            "default": True, "active": True, "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
            "deleted_at": None, "type": "ACCOUNT_TYPE_FIAT" if balance.asset in ("USD", "EUR", "GBP")
            else "ACCOUNT_TYPE_CRYPTO", "ready": True, "hold": {"value": _s(balance.locked), "currency": balance.asset}}


def product_json(rules: SymbolRules, last_price: Decimal | None) -> dict[str, Any]:
    """One ``products[]`` entry (also the body of ``GET /products/{id}``)."""
    max_notional = getattr(rules, "max_notional", None)
    return {"product_id": rules.symbol, "price": _s(last_price) if last_price is not None else "",
            "price_percentage_change_24h": "0", "volume_24h": "0", "volume_percentage_change_24h": "0",
            "base_increment": _s(rules.lot_size), "quote_increment": _s(rules.tick_size),
            "quote_min_size": _s(rules.min_notional), "quote_max_size": _s(max_notional) if max_notional else "0",
            "base_min_size": _s(rules.min_qty), "base_max_size": _s(rules.max_qty),
            "base_name": rules.base_asset, "quote_name": rules.quote_asset, "watched": False, "is_disabled": False,
            "new": False, "status": "online", "cancel_only": False, "limit_only": False, "post_only": False,
            "trading_disabled": False, "auction_mode": False, "product_type": "SPOT",
            "quote_currency_id": rules.quote_asset, "base_currency_id": rules.base_asset,
            "base_display_symbol": rules.base_asset, "quote_display_symbol": rules.quote_asset,
            "price_increment": _s(rules.tick_size), "display_name": rules.symbol, "product_venue": "CBE"}


def candle_json(candle: Candle) -> dict[str, str]:
    """One ``candles[]`` entry."""
    return {"start": str(candle.ts_open // _NS), "low": _s(from_fixed(candle.low)), "high": _s(from_fixed(candle.high)),
            "open": _s(from_fixed(candle.open)), "close": _s(from_fixed(candle.close)),
            "volume": _s(from_fixed(candle.volume))}


def _configuration(order: VenueOrder) -> tuple[dict[str, Any], str]:
    request = order.request
    size = _s(request.quantity)
    if request.order_type is OrderType.MARKET:
        return {"market_market_ioc": {"base_size": size}}, "MARKET"
    price = _s(request.price) if request.price is not None else "0"
    if request.order_type is OrderType.STOP_LIMIT:
        stop = _s(request.stop_price) if request.stop_price is not None else "0"
        return {"stop_limit_stop_limit_gtc": {"base_size": size, "limit_price": price, "stop_price": stop,
                                              "stop_direction": "STOP_DIRECTION_STOP_UP"}}, "STOP_LIMIT"
    kind = {TimeInForce.IOC: "sor_limit_ioc", TimeInForce.FOK: "limit_limit_fok",
            TimeInForce.GTD: "limit_limit_gtd"}.get(request.time_in_force, "limit_limit_gtc")
    body: dict[str, Any] = {"base_size": size, "limit_price": price}
    if kind in ("limit_limit_gtc", "limit_limit_gtd"):
        body["post_only"] = request.post_only
    return {kind: body}, "LIMIT"


def venue_order_json(order: VenueOrder, fills: list[Fill]) -> dict[str, Any]:
    """One ``orders[]`` entry (also ``{"order": ...}`` of ``GET /orders/historical/{order_id}``)."""
    request = order.request
    configuration, order_type = _configuration(order)
    fee = sum((f.fee for f in fills), Decimal(0))
    average = order.cum_quote / order.filled if order.filled > 0 else Decimal(0)
    done = order.filled / request.quantity * 100 if request.quantity > 0 else Decimal(0)
    status = order_status_name(order.status)
    return {"order_id": order.venue_order_id, "product_id": request.symbol, "user_id": _USER,
            "order_configuration": configuration, "side": request.side.value,
            "client_order_id": request.client_order_id,
            "status": status, "time_in_force": _TIF.get(request.time_in_force, "GOOD_UNTIL_CANCELLED"),
            "created_time": rfc3339_us(order.created_ns), "completion_percentage": _s(done),
            "filled_size": _s(order.filled), "average_filled_price": _s(average), "fee": "",
            "number_of_fills": str(len(fills)), "filled_value": _s(order.cum_quote), "pending_cancel": False,
            "size_in_quote": False, "total_fees": _s(fee), "size_inclusive_of_fees": False,
            "total_value_after_fees": _s(order.cum_quote + fee), "trigger_status": "INVALID_ORDER_TYPE",
            "order_type": order_type, "reject_reason": "", "settled": order.status.is_terminal,
            "product_type": "SPOT", "reject_message": order.reason if status == "FAILED" else "",
            "cancel_message": order.reason if status == "CANCELLED" else "",
            "order_placement_source": "RETAIL_ADVANCED", "outstanding_hold_amount": _s(order.locked),
            "is_liquidation": False, "last_fill_time": rfc3339_us(fills[-1].ts_ns) if fills else None,
            "edit_history": [], "leverage": "", "margin_type": "UNKNOWN_MARGIN_TYPE"}


def fill_json(fill: Fill, trade_ids: TradeIds) -> dict[str, Any]:
    """One ``fills[]`` entry of ``GET /orders/historical/fills``."""
    trade_id = trade_ids.of(fill)
    return {"entry_id": fill.execution_id, "trade_id": str(trade_id), "order_id": fill.venue_order_id,
            "trade_time": rfc3339_us(fill.ts_ns), "trade_type": "FILL", "price": _s(fill.price),
            "size": _s(fill.quantity),
            "commission": _s(fill.fee), "product_id": fill.symbol, "sequence_timestamp": rfc3339_us(fill.ts_ns),
            "liquidity_indicator": "MAKER" if fill.liquidity is Liquidity.MAKER else "TAKER",
            "size_in_quote": False, "user_id": _USER, "side": fill.side.value, "retail_portfolio_id": ""}

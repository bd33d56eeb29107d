"""Bybit v5's JSON shapes, written from the simulated venue's records (``docs/v5``, ``spec/venues.md`` §2).

One function per shape: the envelope (``{"retCode", "retMsg", "result", "retExtInfo", "time"}``),
an order as ``/v5/order/realtime`` and the ``order`` topic write it, an execution as
``/v5/execution/list`` and the ``execution`` topic write it (the same fields in both, so a
client can match pushed and queried fills), the unified wallet, a spot instrument, book levels,
a kline row and bar. Decimals are written in plain notation, times in ms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from harness.model import Balance, BookLevel, Candle, Fill, OrderStatus, OrderType, Side
from harness.money import from_fixed
from sim.venue.filters import SymbolRules
from sim.venue.venue import VenueOrder

__all__ = ["INTERVAL_SECONDS", "envelope", "execution_json", "fmt", "fmt_fixed", "instrument_json", "kline_bar",
           "kline_row", "levels_json", "ms", "order_json", "order_status", "wallet_json"]

INTERVAL_SECONDS: Mapping[str, int] = {"1": 60, "3": 180, "5": 300, "15": 900, "30": 1800, "60": 3600,
                                       "120": 7200, "240": 14_400, "360": 21_600, "720": 43_200, "D": 86_400,
                                       "W": 604_800}
"""Bybit kline interval names -> seconds (``M`` is a calendar month; the venue keeps fixed bars only)."""

_ZERO = Decimal(0)


def fmt(value: Decimal) -> str:
    """A decimal in plain notation without trailing zeros (``"0.001"``, ``"60000"``)."""
    text = format(value.normalize(), "f") if value != 0 else "0"
    return text


def fmt_fixed(units: int) -> str:
    """A fixed-point market-data value as a decimal string."""
    return fmt(from_fixed(units))


def ms(ns: int) -> int:
    """ns -> ms."""
    return ns // 1_000_000


def envelope(result: Any, now_ns: int, code: int = 0, message: str = "OK") -> dict[str, Any]:
    """The v5 response envelope."""
    return {"retCode": code, "retMsg": message, "result": result if result is not None else {}, "retExtInfo": {},
            "time": ms(now_ns)}


def order_status(order: VenueOrder) -> str:
    """Bybit's ``orderStatus`` of a venue order (a cancelled partial fill is ``PartiallyFilledCanceled``)."""
    status = order.status
    if status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
        return "PartiallyFilledCanceled" if order.filled > 0 else "Cancelled"
    if status is OrderStatus.PARTIALLY_FILLED:
        return "PartiallyFilled"
    if status is OrderStatus.FILLED:
        return "Filled"
    if status is OrderStatus.REJECTED:
        return "Rejected"
    return "New"


def _side(side: Side) -> str:
    return "Buy" if side is Side.BUY else "Sell"


def order_json(order: VenueOrder, category: str = "spot") -> dict[str, Any]:
    """One order as ``/v5/order/realtime``, ``/v5/order/history`` and the ``order`` topic write it."""
    request = order.request
    limit = request.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    tif = "PostOnly" if request.post_only else request.time_in_force.value
    leaves = request.quantity - order.filled if order.status.is_open else _ZERO
    price = request.price if limit and request.price is not None else _ZERO
    return {
        "orderId": order.venue_order_id, "orderLinkId": request.client_order_id, "blockTradeId": "",
        "symbol": request.symbol, "price": fmt(price), "qty": fmt(request.quantity), "side": _side(request.side),
        "isLeverage": "0", "positionIdx": 0, "orderStatus": order_status(order), "cancelType": "UNKNOWN",
        "rejectReason": order.reason or "EC_NoError", "avgPrice": fmt(order.cum_quote / order.filled)
        if order.filled else "0", "leavesQty": fmt(leaves), "leavesValue": fmt(leaves * price),
        "cumExecQty": fmt(order.filled), "cumExecValue": fmt(order.cum_quote), "cumExecFee": "0",
        "timeInForce": tif if limit else "IOC", "orderType": "Limit" if limit else "Market",
        "stopOrderType": "Stop" if request.stop_price is not None else "",
        "triggerPrice": fmt(request.stop_price) if request.stop_price is not None else "0",
        "takeProfit": "0", "stopLoss": "0", "tpTriggerBy": "", "slTriggerBy": "", "triggerDirection": 0,
        "triggerBy": "", "reduceOnly": request.reduce_only, "closeOnTrigger": False, "smpType": "None", "smpGroup": 0,
        "smpOrderId": "", "placeType": "", "category": category,
        "createdTime": str(ms(order.created_ns)), "updatedTime": str(ms(order.updated_ns)),
    }


def execution_json(fill: Fill, order: VenueOrder | None, category: str = "spot") -> dict[str, Any]:
    """One of our executions as ``/v5/execution/list`` and the ``execution`` topic write it."""
    request = order.request if order is not None else None
    limit = request is not None and request.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    leaves = request.quantity - order.filled if request is not None and order is not None else _ZERO
    return {
        "category": category, "symbol": fill.symbol, "orderId": fill.venue_order_id,
        "orderLinkId": fill.client_order_id, "side": _side(fill.side),
        "orderPrice": fmt(request.price) if request is not None and request.price is not None else "0",
        "orderQty": fmt(request.quantity) if request is not None else "0",
        "orderType": "Limit" if limit else "Market", "stopOrderType": "", "execId": fill.execution_id,
        "execPrice": fmt(fill.price), "execQty": fmt(fill.quantity), "execValue": fmt(fill.price * fill.quantity),
        "execFee": fmt(fill.fee), "feeCurrency": fill.fee_asset, "execType": "Trade",
        "isMaker": fill.liquidity.value == "MAKER", "feeRate": "", "leavesQty": fmt(leaves), "closedSize": "",
        "markPrice": "", "indexPrice": "", "underlyingPrice": "", "blockTradeId": "", "tradeIv": "", "markIv": "",
        "execTime": str(ms(fill.ts_ns)), "isLeverage": "0", "seq": 0, "marketUnit": "",
    }


def wallet_json(balances: Iterable[Balance]) -> dict[str, Any]:
    """The unified account of ``/v5/account/wallet-balance`` and the ``wallet`` topic."""
    coins = [{"coin": b.asset, "walletBalance": fmt(b.total), "locked": fmt(b.locked), "equity": fmt(b.total),
              "usdValue": "", "free": "", "availableToWithdraw": "", "borrowAmount": "0", "accruedInterest": "0",
              "totalOrderIM": "0", "totalPositionIM": "0", "totalPositionMM": "0", "unrealisedPnl": "0",
              "cumRealisedPnl": "0", "bonus": "0", "marginCollateral": True, "collateralSwitch": True,
              "spotHedgingQty": "0"} for b in balances]
    return {"accountType": "UNIFIED", "accountIMRate": "0", "accountMMRate": "0", "totalEquity": "",
            "totalWalletBalance": "", "totalMarginBalance": "", "totalAvailableBalance": "", "totalPerpUPL": "0",
            "totalInitialMargin": "0", "totalMaintenanceMargin": "0", "accountLTV": "0", "coin": coins}


def instrument_json(rules: SymbolRules) -> dict[str, Any]:
    """One spot instrument of ``/v5/market/instruments-info``."""
    return {"symbol": rules.symbol, "baseCoin": rules.base_asset, "quoteCoin": rules.quote_asset, "innovation": "0",
            "status": "Trading", "marginTrading": "none", "stTag": "0",
            "lotSizeFilter": {"basePrecision": fmt(rules.lot_size), "quotePrecision": fmt(rules.tick_size),
                              "minOrderQty": fmt(rules.min_qty), "maxOrderQty": fmt(rules.max_qty),
                              "minOrderAmt": fmt(rules.min_notional or _ZERO),
                              "maxOrderAmt": fmt(rules.max_notional or _ZERO)},
            "priceFilter": {"tickSize": fmt(rules.tick_size)},
            "riskParameters": {"priceLimitRatioX": "0", "priceLimitRatioY": "0"}, "symbolType": ""}


def levels_json(levels: Iterable[BookLevel]) -> list[list[str]]:
    """``[[price, size], ...]``."""
    return [[fmt_fixed(level.price), fmt_fixed(level.size)] for level in levels]


def kline_row(candle: Candle) -> list[str]:
    """One ``/v5/market/kline`` row: start, open, high, low, close, volume, turnover."""
    turnover = from_fixed(candle.close) * from_fixed(candle.volume)
    return [str(ms(candle.ts_open)), fmt_fixed(candle.open), fmt_fixed(candle.high), fmt_fixed(candle.low),
            fmt_fixed(candle.close), fmt_fixed(candle.volume), fmt(turnover)]


def kline_bar(candle: Candle, interval: str, now_ns: int, confirm: bool) -> dict[str, Any]:
    """One entry of a ``kline.<interval>.<symbol>`` push."""
    return {"start": ms(candle.ts_open), "end": ms(candle.ts_open + candle.interval_ns) - 1, "interval": interval,
            "open": fmt_fixed(candle.open), "close": fmt_fixed(candle.close), "high": fmt_fixed(candle.high),
            "low": fmt_fixed(candle.low), "volume": fmt_fixed(candle.volume),
            "turnover": fmt(from_fixed(candle.close) * from_fixed(candle.volume)), "confirm": confirm,
            "timestamp": ms(now_ns)}

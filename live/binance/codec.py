"""Binance Spot JSON <-> the contract's types, without I/O: one place for every field name.

Numbers arrive as decimal strings and become ``Decimal`` (``dec``) or fixed-point ints
(``fixed``, market data); a float never appears. Times arrive in ms and become ns. Order
types, statuses and times in force are translated both ways (``spec/venues.md`` §1.4-1.5):
LIMIT_MAKER is a post-only LIMIT, STOP_LOSS(_LIMIT) a STOP_MARKET (STOP_LIMIT), TAKE_PROFIT and
TAKE_PROFIT_LIMIT the contract's TAKE_PROFIT without or with a limit price. A malformed
message raises ``ExchangeError`` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from harness.contract import ExchangeError
from harness.model import (
    BookLevel,
    BookSnapshot,
    Candle,
    Fill,
    Liquidity,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    Quote,
    Side,
    SymbolInfo,
    TimeInForce,
    Trade,
    VenueCapabilities,
    VenueFees,
    VenueInfo,
    VenueMode,
)
from harness.money import to_fixed
from live.signing import ParamValue

__all__ = ["INTERVALS", "binance_type", "book_snapshot", "candle_from_kline", "candles", "dec", "execution_fill",
           "execution_report", "fill_id", "fixed", "levels", "my_trade_fill", "order_params", "order_report",
           "quote_from_ticker", "trade_from_stream", "venue_info"]

_MS = 1_000_000
_ZERO = Decimal(0)

STATUS: Mapping[str, OrderStatus] = {
    "NEW": OrderStatus.OPEN, "PENDING_NEW": OrderStatus.PENDING, "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED, "CANCELED": OrderStatus.CANCELLED, "PENDING_CANCEL": OrderStatus.PENDING_CANCEL,
    "REJECTED": OrderStatus.REJECTED, "EXPIRED": OrderStatus.EXPIRED, "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}
"""Binance ``status`` -> the contract's status."""

TYPES: Mapping[str, OrderType] = {
    "LIMIT": OrderType.LIMIT, "LIMIT_MAKER": OrderType.LIMIT, "MARKET": OrderType.MARKET,
    "STOP_LOSS": OrderType.STOP_MARKET, "STOP_LOSS_LIMIT": OrderType.STOP_LIMIT,
    "TAKE_PROFIT": OrderType.TAKE_PROFIT, "TAKE_PROFIT_LIMIT": OrderType.TAKE_PROFIT,
}
"""Binance ``type`` -> the contract's order type."""

INTERVALS: Mapping[int, str] = {
    1: "1s", 60: "1m", 180: "3m", 300: "5m", 900: "15m", 1800: "30m", 3600: "1h", 7200: "2h", 14_400: "4h",
    21_600: "6h", 28_800: "8h", 43_200: "12h", 86_400: "1d", 259_200: "3d", 604_800: "1w",
}
"""Kline interval seconds -> Binance's interval name."""


def _field(data: Mapping[str, Any], name: str) -> Any:
    if name not in data:
        raise ExchangeError(f"binance message lacks {name!r}", venue="binance")
    return data[name]


def dec(data: Mapping[str, Any], name: str) -> Decimal:
    """A decimal-string field as ``Decimal`` (``ExchangeError`` when missing or not a decimal string)."""
    value = _field(data, name)
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ExchangeError(f"binance field {name!r} is not a decimal string: {value!r}", venue="binance")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ExchangeError(f"binance field {name!r} is not a decimal: {value!r}", venue="binance") from None
    if not number.is_finite():
        raise ExchangeError(f"binance field {name!r} is not finite: {value!r}", venue="binance")
    return number


def fixed(value: object, name: str = "value") -> int:
    """A decimal string as a fixed-point int (market data)."""
    if not isinstance(value, str):
        raise ExchangeError(f"binance field {name!r} is not a decimal string: {value!r}", venue="binance")
    return to_fixed(value)


def _int(data: Mapping[str, Any], name: str) -> int:
    value = _field(data, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ExchangeError(f"binance field {name!r} is not an integer: {value!r}", venue="binance")
    return value


def _optional_price(data: Mapping[str, Any], name: str) -> Decimal | None:
    if name not in data:
        return None
    value = dec(data, name)
    return value if value != 0 else None


# --------------------------------------------------------------------------- orders out


def binance_type(request: OrderRequest) -> str:
    """Binance's ``type`` for ``request``."""
    kind = request.order_type
    if kind is OrderType.LIMIT:
        return "LIMIT_MAKER" if request.post_only else "LIMIT"
    if kind is OrderType.MARKET:
        return "MARKET"
    if kind is OrderType.STOP_MARKET:
        return "STOP_LOSS"
    if kind is OrderType.STOP_LIMIT:
        return "STOP_LOSS_LIMIT"
    if kind is OrderType.TAKE_PROFIT:
        return "TAKE_PROFIT_LIMIT" if request.price is not None else "TAKE_PROFIT"
    raise ExchangeError(f"Binance spot has no {kind.value} orders", venue="binance")


def order_params(request: OrderRequest, response_type: str = "RESULT") -> list[tuple[str, ParamValue]]:
    """The form parameters of ``POST /api/v3/order`` for ``request`` (Decimal values, never floats)."""
    kind = binance_type(request)
    params: list[tuple[str, ParamValue]] = [("symbol", request.symbol), ("side", request.side.value), ("type", kind)]
    if kind in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
        params.append(("timeInForce", request.time_in_force.value))
    params.append(("quantity", request.quantity))
    if request.price is not None and kind != "MARKET":
        params.append(("price", request.price))
    if request.stop_price is not None:
        params.append(("stopPrice", request.stop_price))
    params += [("newClientOrderId", request.client_order_id), ("newOrderRespType", response_type)]
    return params


# --------------------------------------------------------------------------- orders in


def _status(text: object) -> OrderStatus:
    status = STATUS.get(str(text))
    if status is None:
        raise ExchangeError(f"unknown binance order status {text!r}", venue="binance")
    return status


def _type(text: object) -> OrderType:
    kind = TYPES.get(str(text))
    if kind is None:
        raise ExchangeError(f"unknown binance order type {text!r}", venue="binance")
    return kind


def _tif(text: object) -> TimeInForce:
    try:
        return TimeInForce(str(text))
    except ValueError:
        raise ExchangeError(f"unknown binance timeInForce {text!r}", venue="binance") from None


def order_report(data: Mapping[str, Any], venue: str = "binance") -> OrderReport:
    """An order answer (``GET``/``POST``/``DELETE /api/v3/order``, ``openOrders``) as an ``OrderReport``."""
    executed = dec(data, "executedQty")
    quote = dec(data, "cummulativeQuoteQty")
    kind = str(_field(data, "type"))
    stamp = data.get("updateTime", data.get("transactTime", data.get("time", 0)))
    return OrderReport(
        venue=venue, symbol=str(_field(data, "symbol")), client_order_id=str(_field(data, "clientOrderId")),
        venue_order_id=str(_int(data, "orderId")), status=_status(_field(data, "status")),
        side=Side(str(_field(data, "side"))), order_type=_type(kind), quantity=dec(data, "origQty"),
        filled_quantity=executed, price=None if kind == "MARKET" else _optional_price(data, "price"),
        average_price=quote / executed if executed else None, ts_ns=int(stamp) * _MS,
        time_in_force=_tif(data.get("timeInForce", "GTC")), stop_price=_optional_price(data, "stopPrice"))


def execution_report(event: Mapping[str, Any], venue: str = "binance") -> OrderReport:
    """A user-data ``executionReport`` as the order's ``OrderReport`` after it."""
    executed = dec(event, "z")
    quote = dec(event, "Z")
    kind = str(_field(event, "o"))
    return OrderReport(
        venue=venue, symbol=str(_field(event, "s")), client_order_id=str(event.get("C") or _field(event, "c")),
        venue_order_id=str(_int(event, "i")), status=_status(_field(event, "X")), side=Side(str(_field(event, "S"))),
        order_type=_type(kind), quantity=dec(event, "q"), filled_quantity=executed,
        price=None if kind == "MARKET" else _optional_price(event, "p"),
        average_price=quote / executed if executed else None, ts_ns=_int(event, "T") * _MS,
        time_in_force=_tif(event.get("f", "GTC")), stop_price=_optional_price(event, "P"),
        reason="" if event.get("r") in (None, "NONE") else str(event.get("r")))


def fill_id(symbol: str, trade_id: int) -> str:
    """The execution id of one of our trades: Binance trade ids are per symbol."""
    return f"{symbol}-{trade_id}"


def execution_fill(event: Mapping[str, Any], venue: str = "binance") -> Fill | None:
    """The ``Fill`` of a TRADE ``executionReport`` (None for other execution types)."""
    if event.get("x") != "TRADE":
        return None
    symbol = str(_field(event, "s"))
    return Fill(venue, symbol, fill_id(symbol, _int(event, "t")), str(_field(event, "c")), str(_int(event, "i")),
                Side(str(_field(event, "S"))), dec(event, "L"), dec(event, "l"), dec(event, "n"),
                str(event.get("N") or ""), Liquidity.MAKER if event.get("m") else Liquidity.TAKER,
                _int(event, "T") * _MS)


def my_trade_fill(data: Mapping[str, Any], client_order_id: str, venue: str = "binance") -> Fill:
    """One ``GET /api/v3/myTrades`` entry as a ``Fill`` (its order's client id looked up by the caller)."""
    symbol = str(_field(data, "symbol"))
    return Fill(venue, symbol, fill_id(symbol, _int(data, "id")), client_order_id, str(_int(data, "orderId")),
                Side.BUY if data.get("isBuyer") else Side.SELL, dec(data, "price"), dec(data, "qty"),
                dec(data, "commission"), str(_field(data, "commissionAsset")),
                Liquidity.MAKER if data.get("isMaker") else Liquidity.TAKER, _int(data, "time") * _MS)


# --------------------------------------------------------------------------- market data


def quote_from_ticker(data: Mapping[str, Any], ts_ns: int, venue: str = "binance") -> Quote:
    """A ``bookTicker`` (REST answer or stream event) as a ``Quote``; ``u`` is its update id when present."""
    bid = "bidPrice" if "bidPrice" in data else "b"
    names = (bid, "bidQty", "askPrice", "askQty") if bid == "bidPrice" else ("b", "B", "a", "A")
    values = [fixed(data.get(n), n) for n in names]
    update = data.get("u", -1)
    return Quote(ts_ns, ts_ns, venue, str(data.get("symbol", data.get("s", ""))), values[0], values[1], values[2],
                 values[3], update if isinstance(update, int) else -1)


def trade_from_stream(event: Mapping[str, Any], ts_ns: int, venue: str = "binance") -> Trade:
    """A ``trade`` (or ``aggTrade``) stream event as a ``Trade``; ``m`` true means a seller aggressed."""
    trade_id = event.get("t", event.get("a", ""))
    return Trade(_int(event, "T") * _MS, ts_ns, venue, str(_field(event, "s")), fixed(event.get("p"), "p"),
                 fixed(event.get("q"), "q"), -1 if event.get("m") else 1, str(trade_id))


def levels(rows: object, name: str) -> list[tuple[int, int]]:
    """``[[price, qty], ...]`` as fixed-point pairs."""
    if not isinstance(rows, list):
        raise ExchangeError(f"binance field {name!r} is not a list of levels", venue="binance")
    return [(fixed(r[0], name), fixed(r[1], name)) for r in rows]


def book_snapshot(data: Mapping[str, Any], symbol: str, ts_ns: int, venue: str = "binance") -> BookSnapshot:
    """A ``GET /api/v3/depth`` answer as a ``BookSnapshot``."""
    return BookSnapshot(ts_ns, venue, symbol, tuple(BookLevel(p, q) for p, q in levels(data.get("bids"), "bids")),
                        tuple(BookLevel(p, q) for p, q in levels(data.get("asks"), "asks")),
                        _int(data, "lastUpdateId"))


def candle_from_kline(event: Mapping[str, Any], interval_ns: int, venue: str = "binance") -> tuple[Candle, bool]:
    """A ``<symbol>@kline_<interval>`` event as (the bar so far, whether the venue says it is closed)."""
    k = event.get("k")
    if not isinstance(k, dict):
        raise ExchangeError("binance kline event without its 'k' bar", venue=venue)
    bar = Candle(_int(k, "t") * _MS, interval_ns, venue, str(_field(k, "s")), fixed(k.get("o"), "open"),
                 fixed(k.get("h"), "high"), fixed(k.get("l"), "low"), fixed(k.get("c"), "close"),
                 fixed(k.get("v"), "volume"))
    return bar, bool(k.get("x"))


def candles(rows: object, symbol: str, interval_ns: int, venue: str = "binance") -> list[Candle]:
    """``GET /api/v3/klines`` rows as ``Candle``s, oldest first."""
    if not isinstance(rows, list):
        raise ExchangeError("binance klines answer is not a list", venue="binance")
    return [Candle(int(r[0]) * _MS, interval_ns, venue, symbol, fixed(r[1], "open"), fixed(r[2], "high"),
                   fixed(r[3], "low"), fixed(r[4], "close"), fixed(r[5], "volume")) for r in rows]


# --------------------------------------------------------------------------- venue info

_CAPABILITY_TYPES: Mapping[str, OrderType] = {k: v for k, v in TYPES.items() if k != "LIMIT_MAKER"}


def _symbol_info(data: Mapping[str, Any]) -> SymbolInfo:
    filters = {f.get("filterType"): f for f in data.get("filters", []) if isinstance(f, dict)}
    price, lot = filters.get("PRICE_FILTER", {}), filters.get("LOT_SIZE", {})
    notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
    max_notional = dec(notional, "maxNotional") if "maxNotional" in notional else _ZERO
    return SymbolInfo(
        symbol=str(_field(data, "symbol")), base_asset=str(_field(data, "baseAsset")),
        quote_asset=str(_field(data, "quoteAsset")), tick_size=dec(price, "tickSize"), lot_size=dec(lot, "stepSize"),
        min_quantity=dec(lot, "minQty"), max_quantity=dec(lot, "maxQty"),
        min_notional=dec(notional, "minNotional") if notional else _ZERO,
        max_notional=max_notional or None, min_price=_optional_price(price, "minPrice"),
        max_price=_optional_price(price, "maxPrice"))


def venue_info(exchange: Mapping[str, Any], commission: Mapping[str, Any], mode: VenueMode,
               venue: str = "binance") -> VenueInfo:
    """``VenueInfo`` from ``exchangeInfo`` (symbols, filters, order types) and the account's ``commissionRates``."""
    raw_symbols = exchange.get("symbols")
    if not isinstance(raw_symbols, list):
        raise ExchangeError("exchangeInfo has no symbols list", venue=venue)
    symbols = {s["symbol"]: _symbol_info(s) for s in raw_symbols
               if isinstance(s, dict) and s.get("status") == "TRADING"}
    names = {str(t) for s in raw_symbols if isinstance(s, dict) for t in s.get("orderTypes", [])}
    capabilities = VenueCapabilities(
        order_types=frozenset(_CAPABILITY_TYPES[n] for n in names if n in _CAPABILITY_TYPES),
        time_in_force=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}),
        native_modify=False, post_only="LIMIT_MAKER" in names, websocket=True, fix=True)
    fees = VenueFees(maker=dec(commission, "maker"), taker=dec(commission, "taker"))
    return VenueInfo(venue=venue, symbols=symbols, fees=fees, capabilities=capabilities, mode=mode,
                     extra={"display_name": "Binance Spot", "error_style": "binance"})

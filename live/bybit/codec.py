"""Bybit v5 JSON <-> the contract's types, without I/O: one place for every field name.

Numbers arrive as decimal strings and become ``Decimal`` (``dec``) or fixed-point ints (``fixed``,
market data); times arrive as ms (strings or numbers) and become ns. Order types:
``Limit``/``Market``, post-only is ``timeInForce=PostOnly``, a stop order is spot's
``orderFilter=StopOrder`` with a ``triggerPrice`` (``STOP_MARKET`` / ``STOP_LIMIT``). A market
order's ``qty`` is sent in the base coin (``marketUnit=baseCoin``: a spot market buy would otherwise
be read in the quote coin; linear quantities are always in the base coin, and a linear stop carries
``triggerDirection`` instead, a reduce-only order ``reduceOnly``). A malformed message raises
``ExchangeError`` naming the field, never anything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from harness.contract import ExchangeError
from harness.model import (
    Balance,
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

__all__ = ["INTERVALS", "STATUS", "balances", "book_levels", "book_snapshot", "candle_from_ws", "candles", "dec",
           "execution_fill", "field", "fixed", "millis", "order_params", "order_report", "pending_report",
           "quote_from_book", "quote_from_ticker", "trades_from_ws", "venue_info"]

_MS = 1_000_000
_ZERO = Decimal(0)

STATUS: Mapping[str, OrderStatus] = {
    "New": OrderStatus.OPEN, "PartiallyFilled": OrderStatus.PARTIALLY_FILLED, "Untriggered": OrderStatus.OPEN,
    "Triggered": OrderStatus.OPEN, "Filled": OrderStatus.FILLED, "Cancelled": OrderStatus.CANCELLED,
    "PartiallyFilledCanceled": OrderStatus.CANCELLED, "Deactivated": OrderStatus.CANCELLED,
    "Rejected": OrderStatus.REJECTED,
}
"""Bybit ``orderStatus`` -> the contract's status."""

INTERVALS: Mapping[int, str] = {60: "1", 180: "3", 300: "5", 900: "15", 1800: "30", 3600: "60", 7200: "120",
                                14_400: "240", 21_600: "360", 43_200: "720", 86_400: "D", 604_800: "W"}
"""Kline interval seconds -> Bybit's interval name (``M``, a calendar month, has no fixed length)."""

_TIF_OUT = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}


def field(data: Mapping[str, Any], name: str) -> Any:
    """``data[name]`` or ``ExchangeError`` naming the missing field."""
    if not isinstance(data, Mapping):
        raise ExchangeError(f"bybit message is not an object where {name!r} was expected: {data!r:.80}",
                            venue="bybit")
    if name not in data:
        raise ExchangeError(f"bybit message lacks {name!r}", venue="bybit")
    return data[name]


def dec(data: Mapping[str, Any], name: str, *, empty: Decimal | None = None) -> Decimal:
    """A decimal-string field as ``Decimal``; ``""`` reads as ``empty`` when given (Bybit sends ``""`` for n/a)."""
    value = field(data, name)
    if value == "" and empty is not None:
        return empty
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ExchangeError(f"bybit field {name!r} is not a decimal string: {value!r}", venue="bybit")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ExchangeError(f"bybit field {name!r} is not a decimal: {value!r}", venue="bybit") from None
    if not number.is_finite():
        raise ExchangeError(f"bybit field {name!r} is not finite: {value!r}", venue="bybit")
    return number


def fixed(value: object, name: str = "value") -> int:
    """A decimal string as a fixed-point int (market data)."""
    if not isinstance(value, str):
        raise ExchangeError(f"bybit field {name!r} is not a decimal string: {value!r}", venue="bybit")
    try:
        return to_fixed(value)
    except (ValueError, ArithmeticError):
        raise ExchangeError(f"bybit field {name!r} is not a decimal: {value!r}", venue="bybit") from None


def millis(data: Mapping[str, Any], name: str) -> int:
    """A ms timestamp (int or digit string) as ns."""
    value = field(data, name)
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        raise ExchangeError(f"bybit field {name!r} is not a ms timestamp: {value!r}", venue="bybit")
    return int(value) * _MS


def _price(data: Mapping[str, Any], name: str) -> Decimal | None:
    if name not in data:
        return None
    value = dec(data, name, empty=_ZERO)
    return value if value != 0 else None


# --------------------------------------------------------------------------- orders out


def order_params(request: OrderRequest, category: str = "spot") -> list[tuple[str, ParamValue]]:
    """The JSON body of ``POST /v5/order/create`` for ``request`` (decimal strings, never floats)."""
    kind = request.order_type
    if kind not in (OrderType.LIMIT, OrderType.MARKET, OrderType.STOP_MARKET, OrderType.STOP_LIMIT):
        raise ExchangeError(f"Bybit spot has no {kind.value} orders", venue="bybit")
    limit = kind in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    params: list[tuple[str, ParamValue]] = [
        ("category", category), ("symbol", request.symbol), ("side", "Buy" if request.side is Side.BUY else "Sell"),
        ("orderType", "Limit" if limit else "Market"), ("qty", request.quantity)]
    if limit:
        if request.price is None:
            raise ExchangeError(f"a {kind.value} order needs a price", venue="bybit")
        params.append(("price", request.price))
        tif = "PostOnly" if request.post_only else _TIF_OUT.get(request.time_in_force)
        if tif is None:
            raise ExchangeError(f"Bybit has no {request.time_in_force.value} orders", venue="bybit")
        params.append(("timeInForce", tif))
    else:
        params += [("timeInForce", "IOC"), *([("marketUnit", "baseCoin")] if category == "spot" else [])]
    if kind in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT):
        if request.stop_price is None:
            raise ExchangeError(f"a {kind.value} order needs a stop price", venue="bybit")
        params.append(("triggerPrice", request.stop_price))
        # spot marks a stop with orderFilter; linear with the direction the price must cross (1 up, 2 down)
        params.append(("orderFilter", "StopOrder") if category == "spot" else
                      ("triggerDirection", 1 if request.side is Side.BUY else 2))
    if request.reduce_only:
        if category == "spot":
            raise ExchangeError("Bybit spot has no reduce-only orders", venue="bybit")
        params.append(("reduceOnly", True))
    params.append(("orderLinkId", request.client_order_id))
    return params


# --------------------------------------------------------------------------- orders in


def _status(text: object) -> OrderStatus:
    status = STATUS.get(str(text))
    if status is None:
        raise ExchangeError(f"unknown bybit orderStatus {text!r}", venue="bybit")
    return status


def _side(text: object) -> Side:
    if text == "Buy":
        return Side.BUY
    if text == "Sell":
        return Side.SELL
    raise ExchangeError(f"unknown bybit side {text!r}", venue="bybit")


def _tif(text: object) -> TimeInForce:
    if text in ("GTC", "PostOnly"):
        return TimeInForce.GTC
    if text in ("IOC", "FOK"):
        return TimeInForce(str(text))
    raise ExchangeError(f"unknown bybit timeInForce {text!r}", venue="bybit")


def order_report(data: Mapping[str, Any], venue: str = "bybit") -> OrderReport:
    """An order (``/v5/order/realtime``, ``/v5/order/history`` or the ``order`` topic) as an ``OrderReport``."""
    order_type = field(data, "orderType")
    if order_type not in ("Limit", "Market"):
        raise ExchangeError(f"unknown bybit orderType {order_type!r}", venue="bybit")
    trigger = _price(data, "triggerPrice")
    limit = order_type == "Limit"
    kind = (OrderType.STOP_LIMIT if limit else OrderType.STOP_MARKET) if trigger is not None else \
        (OrderType.LIMIT if limit else OrderType.MARKET)
    filled = dec(data, "cumExecQty", empty=_ZERO)
    value = dec(data, "cumExecValue", empty=_ZERO)
    reason = str(data.get("rejectReason", ""))
    return OrderReport(
        venue=venue, symbol=str(field(data, "symbol")), client_order_id=str(field(data, "orderLinkId")),
        venue_order_id=str(field(data, "orderId")), status=_status(field(data, "orderStatus")),
        side=_side(field(data, "side")), order_type=kind, quantity=dec(data, "qty"), filled_quantity=filled,
        price=_price(data, "price") if limit else None, average_price=value / filled if filled else None,
        ts_ns=millis(data, "updatedTime"), time_in_force=_tif(data.get("timeInForce", "GTC")), stop_price=trigger,
        reason="" if reason in ("", "EC_NoError") else reason)


def pending_report(request: OrderRequest, venue_order_id: str, ts_ns: int, venue: str = "bybit") -> OrderReport:
    """An accepted order whose state is not known yet (create answered, the query did not)."""
    return OrderReport(venue, request.symbol, request.client_order_id, venue_order_id, OrderStatus.PENDING,
                       request.side, request.order_type, request.quantity, _ZERO, request.price, None, ts_ns,
                       request.time_in_force, request.stop_price)


def execution_fill(data: Mapping[str, Any], venue: str = "bybit") -> Fill | None:
    """An execution (``/v5/execution/list`` row or ``execution`` topic entry) as a ``Fill``; None if not a trade."""
    if data.get("execType", "Trade") != "Trade":
        return None
    is_maker = field(data, "isMaker")
    if not isinstance(is_maker, bool):
        raise ExchangeError(f"bybit field 'isMaker' is not a bool: {is_maker!r}", venue="bybit")
    return Fill(venue, str(field(data, "symbol")), str(field(data, "execId")), str(field(data, "orderLinkId")),
                str(field(data, "orderId")), _side(field(data, "side")), dec(data, "execPrice"), dec(data, "execQty"),
                dec(data, "execFee", empty=_ZERO), str(data.get("feeCurrency") or ""),
                Liquidity.MAKER if is_maker else Liquidity.TAKER, millis(data, "execTime"))


def balances(result: Mapping[str, Any]) -> dict[str, Balance]:
    """``/v5/account/wallet-balance`` (or a ``wallet`` topic entry list) as balances per coin."""
    accounts = field(result, "list") if "list" in result else [result]
    if not isinstance(accounts, list):
        raise ExchangeError("bybit wallet 'list' is not a list", venue="bybit")
    out: dict[str, Balance] = {}
    for account in accounts:
        coins = field(account, "coin")
        if not isinstance(coins, list):
            raise ExchangeError("bybit wallet 'coin' is not a list", venue="bybit")
        for coin in coins:
            total = dec(coin, "walletBalance", empty=_ZERO)
            locked = dec(coin, "locked", empty=_ZERO)
            out[str(field(coin, "coin"))] = Balance(str(field(coin, "coin")), total - locked, locked)
    return {asset: out[asset] for asset in sorted(out)}


# --------------------------------------------------------------------------- market data


def book_levels(rows: object, name: str) -> list[tuple[int, int]]:
    """``[[price, size], ...]`` as fixed-point pairs."""
    if not isinstance(rows, list):
        raise ExchangeError(f"bybit field {name!r} is not a list of levels", venue="bybit")
    out = []
    for row in rows:
        if not isinstance(row, list) or len(row) < 2:
            raise ExchangeError(f"bybit field {name!r} holds a malformed level: {row!r:.60}", venue="bybit")
        out.append((fixed(row[0], name), fixed(row[1], name)))
    return out


def book_snapshot(data: Mapping[str, Any], symbol: str, ts_ns: int, venue: str = "bybit") -> BookSnapshot:
    """A ``/v5/market/orderbook`` result (or an orderbook message's ``data``) as a ``BookSnapshot``."""
    update = field(data, "u")
    if isinstance(update, bool) or not isinstance(update, int):
        raise ExchangeError(f"bybit field 'u' is not an integer: {update!r}", venue="bybit")
    return BookSnapshot(ts_ns, venue, symbol, tuple(BookLevel(p, q) for p, q in book_levels(field(data, "b"), "b")),
                        tuple(BookLevel(p, q) for p, q in book_levels(field(data, "a"), "a")), update)


def quote_from_ticker(data: Mapping[str, Any], ts_ns: int, venue: str = "bybit") -> Quote:
    """One ``/v5/market/tickers`` entry (bid1/ask1) as a ``Quote``."""
    values = [fixed(data.get(n), n) for n in ("bid1Price", "bid1Size", "ask1Price", "ask1Size")]
    return Quote(ts_ns, ts_ns, venue, str(field(data, "symbol")), values[0], values[1], values[2], values[3], -1)


def quote_from_book(message: Mapping[str, Any], ts_ns: int, venue: str = "bybit") -> Quote:
    """An ``orderbook.1.<symbol>`` message (snapshot of the top level) as a ``Quote``."""
    data = field(message, "data")
    bids, asks = book_levels(field(data, "b"), "b"), book_levels(field(data, "a"), "a")
    bid, ask = bids[0] if bids else (0, 0), asks[0] if asks else (0, 0)
    update = data.get("u", -1)
    return Quote(millis(message, "ts"), ts_ns, venue, str(field(data, "s")), bid[0], bid[1], ask[0], ask[1],
                 update if isinstance(update, int) and not isinstance(update, bool) else -1)


def trades_from_ws(message: Mapping[str, Any], ts_ns: int, venue: str = "bybit") -> list[Trade]:
    """A ``publicTrade.<symbol>`` message as ``Trade``s (``S`` is the taker's side)."""
    rows = field(message, "data")
    if not isinstance(rows, list):
        raise ExchangeError("bybit publicTrade 'data' is not a list", venue="bybit")
    return [Trade(millis(r, "T"), ts_ns, venue, str(field(r, "s")), fixed(r.get("p"), "p"), fixed(r.get("v"), "v"),
                  1 if _side(field(r, "S")) is Side.BUY else -1, str(field(r, "i"))) for r in rows]


def candle_from_ws(row: Mapping[str, Any], symbol: str, interval_ns: int, venue: str = "bybit") -> tuple[Candle, bool]:
    """One ``kline.<interval>.<symbol>`` entry as (the bar so far, whether ``confirm`` says it closed)."""
    bar = Candle(millis(row, "start"), interval_ns, venue, symbol, fixed(row.get("open"), "open"),
                 fixed(row.get("high"), "high"), fixed(row.get("low"), "low"), fixed(row.get("close"), "close"),
                 fixed(row.get("volume"), "volume"))
    return bar, row.get("confirm") is True


def candles(result: Mapping[str, Any], symbol: str, interval_ns: int, venue: str = "bybit") -> list[Candle]:
    """``/v5/market/kline`` rows (newest first on the wire) as ``Candle``s, oldest first."""
    rows = field(result, "list")
    if not isinstance(rows, list):
        raise ExchangeError("bybit kline 'list' is not a list", venue="bybit")
    out = []
    for r in rows:
        if not isinstance(r, list) or len(r) < 6 or not str(r[0]).isdigit():
            raise ExchangeError(f"bybit kline row is malformed: {r!r:.60}", venue="bybit")
        out.append(Candle(int(r[0]) * _MS, interval_ns, venue, symbol, fixed(r[1], "open"), fixed(r[2], "high"),
                          fixed(r[3], "low"), fixed(r[4], "close"), fixed(r[5], "volume")))
    return sorted(out, key=lambda c: c.ts_open)


# --------------------------------------------------------------------------- venue info


def _symbol_info(data: Mapping[str, Any]) -> SymbolInfo:
    lot, price = field(data, "lotSizeFilter"), field(data, "priceFilter")
    max_amount = dec(lot, "maxOrderAmt") if "maxOrderAmt" in lot else _ZERO
    return SymbolInfo(symbol=str(field(data, "symbol")), base_asset=str(field(data, "baseCoin")),
                      quote_asset=str(field(data, "quoteCoin")), tick_size=dec(price, "tickSize"),
                      lot_size=dec(lot, "basePrecision"), min_quantity=dec(lot, "minOrderQty"),
                      max_quantity=dec(lot, "maxOrderQty"), min_notional=dec(lot, "minOrderAmt"),
                      max_notional=max_amount or None)


def venue_info(instruments: Mapping[str, Any], fee: Mapping[str, Any], mode: VenueMode,
               venue: str = "bybit") -> VenueInfo:
    """``VenueInfo`` from ``/v5/market/instruments-info`` and one ``/v5/account/fee-rate`` entry."""
    rows = field(instruments, "list")
    if not isinstance(rows, list):
        raise ExchangeError("instruments-info has no list", venue=venue)
    symbols = {str(field(s, "symbol")): _symbol_info(s) for s in rows if field(s, "status") == "Trading"}
    capabilities = VenueCapabilities(
        order_types=frozenset({OrderType.LIMIT, OrderType.MARKET, OrderType.STOP_MARKET, OrderType.STOP_LIMIT}),
        time_in_force=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}), native_modify=True,
        post_only=True, websocket=True, fix=False)
    fees = VenueFees(maker=dec(fee, "makerFeeRate"), taker=dec(fee, "takerFeeRate"))
    return VenueInfo(venue=venue, symbols=symbols, fees=fees, capabilities=capabilities, mode=mode,
                     extra={"display_name": "Bybit Spot", "error_style": "bybit"})

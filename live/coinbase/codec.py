"""Advanced Trade REST answers as contract types: accounts, products, candles, orders, fills, time.

Shapes (docs.cdp.coinbase.com, Advanced Trade REST reference): amounts are decimal strings and
become ``Decimal``; times are RFC 3339 (``parse_rfc3339``) or UNIX seconds as strings. A field
that is missing or unreadable raises ``ExchangeError`` naming the endpoint's object and field,
so a malformed answer is said plainly instead of surfacing as a ``KeyError``.

* ``accounts[]``: ``currency``, ``available_balance.value``, ``hold.value`` -> ``Balance``;
* ``products[]``: ``product_id``, ``base_currency_id``, ``quote_currency_id``, ``price_increment``
  (tick), ``base_increment`` (lot), ``base_min_size``/``base_max_size``, ``quote_min_size``
  (min notional), ``quote_max_size`` -> ``SymbolInfo``;
* ``candles[]`` (newest first): ``start`` (s), ``open``/``high``/``low``/``close``/``volume`` -> ``Candle``;
* ``orders[]`` / ``order``: ``order_id``, ``client_order_id``, ``product_id``, ``side``, ``status``
  (OPEN with a fill is PARTIALLY_FILLED), ``order_configuration`` (price, size, time in force),
  ``filled_size``, ``average_filled_price`` -> ``OrderReport``;
* ``fills[]``: ``trade_id``, ``order_id``, ``trade_time``, ``price``, ``size``, ``commission``,
  ``liquidity_indicator``, ``side`` -> ``Fill`` (execution id ``<product>-<trade_id>``, as the FIX
  reports name it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from harness.contract import ExchangeError
from harness.model import (
    Balance,
    Candle,
    Fill,
    Liquidity,
    OrderReport,
    OrderStatus,
    OrderType,
    Side,
    SymbolInfo,
    TimeInForce,
)
from harness.money import to_fixed
from live.coinbase.market_data import parse_rfc3339

__all__ = ["GRANULARITIES", "STATUSES", "balances", "candles", "fill", "need_decimal", "object_rows", "order_report",
           "products", "symbol_info"]

_NS = 1_000_000_000

GRANULARITIES: Mapping[int, str] = {
    60: "ONE_MINUTE", 300: "FIVE_MINUTE", 900: "FIFTEEN_MINUTE", 1800: "THIRTY_MINUTE", 3600: "ONE_HOUR",
    7200: "TWO_HOUR", 14400: "FOUR_HOUR", 21600: "SIX_HOUR", 86400: "ONE_DAY",
}
"""Candle granularity names by seconds (``granularity=`` of ``/products/{id}/candles``)."""

STATUSES: Mapping[str, OrderStatus] = {
    "PENDING": OrderStatus.PENDING, "QUEUED": OrderStatus.PENDING, "OPEN": OrderStatus.OPEN,
    "CANCEL_QUEUED": OrderStatus.OPEN, "FILLED": OrderStatus.FILLED, "CANCELLED": OrderStatus.CANCELLED,
    "EXPIRED": OrderStatus.EXPIRED, "FAILED": OrderStatus.REJECTED,
}
"""Advanced Trade order statuses -> the contract's (an OPEN order with fills is PARTIALLY_FILLED)."""

_TIFS = {"GOOD_UNTIL_CANCELLED": TimeInForce.GTC, "GOOD_UNTIL_DATE_TIME": TimeInForce.GTD,
         "IMMEDIATE_OR_CANCEL": TimeInForce.IOC, "FILL_OR_KILL": TimeInForce.FOK}
_TYPES = {"LIMIT": OrderType.LIMIT, "MARKET": OrderType.MARKET, "STOP_LIMIT": OrderType.STOP_LIMIT}


def _field(row: Mapping[str, Any], name: str, where: str) -> Any:
    value = row.get(name) if isinstance(row, Mapping) else None
    if value is None:
        raise ExchangeError(f"{where}: field {name!r} is missing", venue="coinbase")
    return value


def _dec(row: Mapping[str, Any], name: str, where: str, *, optional: bool = False) -> Decimal | None:
    value = row.get(name) if isinstance(row, Mapping) else None
    if value in (None, "") and optional:
        return None
    try:
        number = Decimal(str(_field(row, name, where)))
    except InvalidOperation:
        raise ExchangeError(f"{where}: field {name!r} is not a decimal: {value!r}", venue="coinbase") from None
    if not number.is_finite():
        raise ExchangeError(f"{where}: field {name!r} is not finite", venue="coinbase")
    return number


def need_decimal(row: Mapping[str, Any], name: str, where: str) -> Decimal:
    """A required decimal field (``ExchangeError`` naming ``where`` and the field when missing or bad)."""
    value = _dec(row, name, where)
    assert value is not None
    return value


def object_rows(data: Mapping[str, Any], name: str, endpoint: str) -> list[Mapping[str, Any]]:
    """The list of objects under ``name`` (``ExchangeError`` naming the endpoint when it is not one)."""
    rows = data.get(name)
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise ExchangeError(f"{endpoint}: {name!r} is not a list of objects", venue="coinbase")
    return rows


def balances(data: Mapping[str, Any]) -> dict[str, Balance]:
    """``GET /accounts`` -> balance per currency (free = available, locked = hold)."""
    out: dict[str, Balance] = {}
    for i, row in enumerate(object_rows(data, "accounts", "accounts")):
        where = f"accounts[{i}]"
        currency = str(_field(row, "currency", where))
        free = need_decimal(_field(row, "available_balance", where), "value", f"{where}.available_balance")
        hold = need_decimal(_field(row, "hold", where), "value", f"{where}.hold")
        out[currency] = Balance(currency, free, hold)
    return dict(sorted(out.items()))


def symbol_info(row: Mapping[str, Any], where: str) -> SymbolInfo:
    """One ``products[]`` entry -> its trading rules."""
    tick = _dec(row, "price_increment", where, optional=True) or need_decimal(row, "quote_increment", where)
    return SymbolInfo(str(_field(row, "product_id", where)), str(_field(row, "base_currency_id", where)),
                      str(_field(row, "quote_currency_id", where)), tick, need_decimal(row, "base_increment", where),
                      need_decimal(row, "base_min_size", where), need_decimal(row, "base_max_size", where),
                      _dec(row, "quote_min_size", where, optional=True) or Decimal(0),
                      _dec(row, "quote_max_size", where, optional=True))


def products(data: Mapping[str, Any]) -> dict[str, SymbolInfo]:
    """``GET /products`` -> rules per product id (SPOT products that trade)."""
    out = {}
    for i, row in enumerate(object_rows(data, "products", "products")):
        if row.get("product_type", "SPOT") != "SPOT" or row.get("trading_disabled") is True:
            continue
        info = symbol_info(row, f"products[{i}]")
        out[info.symbol] = info
    return out


def candles(data: Mapping[str, Any], symbol: str, interval_ns: int, venue: str) -> list[Candle]:
    """``GET /products/{id}/candles`` (newest first) -> bars oldest first, fixed point."""
    bars = []
    for i, row in enumerate(object_rows(data, "candles", "candles")):
        where = f"candles[{i}]"
        start = str(_field(row, "start", where))
        if not start.isdigit():
            raise ExchangeError(f"{where}: field 'start' is not UNIX seconds: {start!r}", venue=venue)
        values = [to_fixed(need_decimal(row, name, where)) for name in ("open", "high", "low", "close", "volume")]
        bars.append(Candle(int(start) * _NS, interval_ns, venue, symbol, *values))
    return sorted(bars, key=lambda c: c.ts_open)


def _configuration(row: Mapping[str, Any], where: str) -> tuple[Mapping[str, Any], str]:
    config = _field(row, "order_configuration", where)
    if not isinstance(config, Mapping) or len(config) != 1:
        raise ExchangeError(f"{where}: 'order_configuration' must hold one configuration", venue="coinbase")
    name, body = next(iter(config.items()))
    if not isinstance(body, Mapping):
        raise ExchangeError(f"{where}: order_configuration.{name} is not an object", venue="coinbase")
    return body, str(name)


def _time(row: Mapping[str, Any], name: str, where: str) -> int:
    text = str(_field(row, name, where))
    try:
        return parse_rfc3339(text)
    except ValueError:
        raise ExchangeError(f"{where}: field {name!r} is not an RFC 3339 time: {text!r}", venue="coinbase") from None


def order_report(row: Mapping[str, Any], venue: str, client_id: Callable[[str], str] = str) -> OrderReport:
    """One ``orders[]`` entry (or ``order``) -> ``OrderReport``; ``client_id`` maps the venue's client id to ours."""
    where = f"order {row.get('order_id')!r}" if isinstance(row, Mapping) else "order"
    body, config = _configuration(row, where)
    status_text = str(_field(row, "status", where))
    if status_text not in STATUSES:
        raise ExchangeError(f"{where}: unknown status {status_text!r}", venue=venue)
    filled = _dec(row, "filled_size", where, optional=True) or Decimal(0)
    status = STATUSES[status_text]
    if status is OrderStatus.OPEN and filled > 0:
        status = OrderStatus.PARTIALLY_FILLED
    size = _dec(body, "base_size", f"{where}.{config}", optional=True) or Decimal(0)
    side = str(_field(row, "side", where))
    if side not in ("BUY", "SELL"):
        raise ExchangeError(f"{where}: side {side!r} is neither BUY nor SELL", venue=venue)
    average = _dec(row, "average_filled_price", where, optional=True)
    return OrderReport(
        venue=venue, symbol=str(_field(row, "product_id", where)),
        client_order_id=client_id(str(_field(row, "client_order_id", where))),
        venue_order_id=str(_field(row, "order_id", where)), status=status, side=Side(side),
        order_type=_TYPES.get(str(row.get("order_type", "")), OrderType.LIMIT), quantity=size,
        filled_quantity=filled, price=_dec(body, "limit_price", f"{where}.{config}", optional=True),
        average_price=average if filled > 0 else None, ts_ns=_time(row, "created_time", where),
        time_in_force=_TIFS.get(str(row.get("time_in_force", "")), TimeInForce.GTC),
        stop_price=_dec(body, "stop_price", f"{where}.{config}", optional=True),
        reason=str(row.get("reject_message") or row.get("cancel_message") or ""))


def fill(row: Mapping[str, Any], client_order_id: str, venue: str) -> Fill:
    """One ``fills[]`` entry -> ``Fill`` (fee in the product's quote currency)."""
    where = f"fill {row.get('trade_id')!r}" if isinstance(row, Mapping) else "fill"
    product = str(_field(row, "product_id", where))
    side = str(_field(row, "side", where))
    if side not in ("BUY", "SELL"):
        raise ExchangeError(f"{where}: side {side!r} is neither BUY nor SELL", venue=venue)
    liquidity = Liquidity.MAKER if row.get("liquidity_indicator") == "MAKER" else Liquidity.TAKER
    return Fill(venue, product, f"{product}-{_field(row, 'trade_id', where)}", client_order_id,
                str(_field(row, "order_id", where)), Side(side), need_decimal(row, "price", where),
                need_decimal(row, "size", where),
                need_decimal(row, "commission", where), product.partition("-")[2], liquidity,
                _time(row, "trade_time", where))

"""Bybit v5 category ``linear`` (USDT perpetuals) for ``BybitAdapter``: its JSON and its requests.

Without I/O of its own: the adapter hands in its ``call`` (signed REST through its client). What
linear adds to spot (``docs/v5/position``, ``docs/v5/account/wallet-balance.mdx``):

* **positions** from ``GET /v5/position/list?category=linear&settleCoin=USDT``: ``side``
  ``Buy``/``Sell`` and an unsigned ``size`` become a signed quantity (negative: short), with
  ``avgPrice``, ``markPrice``, ``unrealisedPnl``, ``cumRealisedPnl``, ``leverage``, ``tradeMode``
  (0 cross, 1 isolated) and ``positionIM`` as the margin; flat rows are left out. The private
  ``position`` topic carries the same rows (``position_reports``).
* **leverage**: ``POST /v5/position/set-leverage`` with ``buyLeverage`` = ``sellLeverage`` (one-way
  mode); 110043 (not modified: it is already that) is success, as the contract's no-op is.
* **margin mode**: ``POST /v5/position/switch-isolated`` (``tradeMode`` with the symbol's current
  leverage, which Bybit requires); the mode already set is a no-op, read from the position row.
  Bybit documents this per-symbol switch for linear on classic (``CONTRACT``) accounts; a unified
  account sets its margin mode account-wide (``/v5/account/set-margin-mode``), not served here.
* **balances**: the margin account's coin, with ``totalOrderIM + totalPositionIM`` (+ spot's
  ``locked``) as locked and the rest of ``walletBalance`` as free.
* **instruments**: ``qtyStep`` is the lot, ``minNotionalValue`` the minimum notional; the venue
  claims ``futures``, ``leverage`` and ``margin_mode``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from harness.contract import ExchangeError, InvalidRequestError, MarginMode
from harness.model import (
    Balance,
    OrderType,
    PositionReport,
    SymbolInfo,
    TimeInForce,
    VenueCapabilities,
    VenueFees,
    VenueInfo,
    VenueMode,
)
from live.bybit import codec
from live.bybit.paging import SignedCall, pages
from live.signing import ParamValue

__all__ = ["LEVERAGE_NOT_MODIFIED", "LinearCall", "linear_balances", "linear_venue_info", "position_report",
           "position_reports", "read_positions", "set_leverage", "set_margin_mode"]

LEVERAGE_NOT_MODIFIED = 110043
"""Bybit: set-leverage asked for the leverage already set."""

LinearCall = SignedCall
"""The adapter's ``_call(method, path, *, params=, body=, signed=)``."""

_ZERO = Decimal(0)
_MODES = {0: MarginMode.CROSS, 1: MarginMode.ISOLATED}


def _leverage(data: Mapping[str, Any]) -> int | None:
    value = codec.dec(data, "leverage", empty=_ZERO) if "leverage" in data else _ZERO
    return int(value) if value > 0 else None


def position_report(data: Mapping[str, Any], ts_ns: int, venue: str = "bybit") -> PositionReport | None:
    """One ``/v5/position/list`` row (or ``position`` push entry) as a signed ``PositionReport``; None if flat."""
    size = codec.dec(data, "size", empty=_ZERO)
    if size == 0:
        return None
    side = codec.field(data, "side")
    if side not in ("Buy", "Sell"):
        raise ExchangeError(f"bybit position side {side!r} with size {size}", venue=venue)
    mode = data.get("tradeMode")
    mark = codec.dec(data, "markPrice", empty=_ZERO) if "markPrice" in data else _ZERO
    updated = data.get("updatedTime")
    as_of = codec.millis(data, "updatedTime") if isinstance(updated, str) and updated.isdigit() else ts_ns
    return PositionReport(
        venue, str(codec.field(data, "symbol")), size if side == "Buy" else -size, codec.dec(data, "avgPrice"), as_of,
        mark_price=mark or None, unrealized_pnl=codec.dec(data, "unrealisedPnl", empty=_ZERO),
        realized_pnl=codec.dec(data, "cumRealisedPnl", empty=_ZERO), leverage=_leverage(data),
        margin_mode=_MODES[mode].value if isinstance(mode, int) and mode in _MODES else None,
        margin=codec.dec(data, "positionIM", empty=_ZERO) if "positionIM" in data else None)


def position_reports(rows: object, ts_ns: int, venue: str = "bybit") -> list[PositionReport]:
    """Every open position among ``rows`` (a list of position rows), by symbol."""
    if not isinstance(rows, list):
        raise ExchangeError("bybit position 'list' is not a list", venue=venue)
    reports = [position_report(r, ts_ns, venue) for r in rows]
    return sorted((r for r in reports if r is not None), key=lambda r: r.symbol)


async def read_positions(call: LinearCall, settle_coin: str, ts_ns: int, venue: str) -> list[PositionReport]:
    """``GET /v5/position/list`` of every position in ``settle_coin`` (every page)."""
    params: list[tuple[str, ParamValue]] = [("category", "linear"), ("settleCoin", settle_coin), ("limit", 200)]
    return position_reports(await pages(call, "/v5/position/list", params, venue), ts_ns, venue)


async def _row(call: LinearCall, symbol: str, venue: str) -> Mapping[str, Any]:
    result = await call("GET", "/v5/position/list", params=[("category", "linear"), ("symbol", symbol)], signed=True)
    rows = codec.field(result, "list")
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], Mapping):
        raise InvalidRequestError(f"no position row for {symbol}", venue=venue, code=10001)
    return rows[0]


async def set_leverage(call: LinearCall, symbol: str, leverage: int, venue: str) -> None:
    """``POST /v5/position/set-leverage`` (110043, already that leverage, is success)."""
    if isinstance(leverage, bool) or not isinstance(leverage, int):
        raise InvalidRequestError(f"leverage must be a whole number, got {leverage!r}", venue=venue, code=10001)
    body: list[tuple[str, ParamValue]] = [("category", "linear"), ("symbol", symbol), ("buyLeverage", str(leverage)),
                                          ("sellLeverage", str(leverage))]
    try:
        await call("POST", "/v5/position/set-leverage", body=body, signed=True)
    except InvalidRequestError as refused:
        if refused.code != LEVERAGE_NOT_MODIFIED:
            raise


async def set_margin_mode(call: LinearCall, symbol: str, mode: MarginMode, venue: str) -> None:
    """``POST /v5/position/switch-isolated`` at the symbol's leverage; the mode already set is a no-op."""
    wanted = MarginMode(mode)
    row = await _row(call, symbol, venue)
    current = _MODES.get(row.get("tradeMode", -1)) if isinstance(row.get("tradeMode"), int) else None
    if current is wanted:
        return
    leverage = str(codec.field(row, "leverage"))
    body: list[tuple[str, ParamValue]] = [("category", "linear"), ("symbol", symbol),
                                          ("tradeMode", 1 if wanted is MarginMode.ISOLATED else 0),
                                          ("buyLeverage", leverage), ("sellLeverage", leverage)]
    await call("POST", "/v5/position/switch-isolated", body=body, signed=True)


def linear_balances(result: Mapping[str, Any]) -> dict[str, Balance]:
    """The margin account's coins: locked = ``locked + totalOrderIM + totalPositionIM``, free the rest."""
    accounts = codec.field(result, "list")
    if not isinstance(accounts, list):
        raise ExchangeError("bybit wallet 'list' is not a list", venue="bybit")
    out: dict[str, Balance] = {}
    for account in accounts:
        coins = codec.field(account, "coin")
        if not isinstance(coins, list):
            raise ExchangeError("bybit wallet 'coin' is not a list", venue="bybit")
        for coin in coins:
            total = codec.dec(coin, "walletBalance", empty=_ZERO)
            locked = sum((codec.dec(coin, name, empty=_ZERO) for name in ("locked", "totalOrderIM", "totalPositionIM")
                          if name in coin), _ZERO)
            asset = str(codec.field(coin, "coin"))
            out[asset] = Balance(asset, total - locked, locked)
    return {asset: out[asset] for asset in sorted(out)}


def _symbol_info(data: Mapping[str, Any]) -> SymbolInfo:
    lot, price = codec.field(data, "lotSizeFilter"), codec.field(data, "priceFilter")
    return SymbolInfo(symbol=str(codec.field(data, "symbol")), base_asset=str(codec.field(data, "baseCoin")),
                      quote_asset=str(codec.field(data, "quoteCoin")), tick_size=codec.dec(price, "tickSize"),
                      lot_size=codec.dec(lot, "qtyStep"), min_quantity=codec.dec(lot, "minOrderQty"),
                      max_quantity=codec.dec(lot, "maxOrderQty"),
                      min_notional=codec.dec(lot, "minNotionalValue", empty=_ZERO))


def linear_venue_info(instruments: Mapping[str, Any], fee: Mapping[str, Any], mode: VenueMode,
                      venue: str = "bybit") -> VenueInfo:
    """``VenueInfo`` from ``instruments-info?category=linear`` and one ``fee-rate`` entry."""
    rows: Iterable[Any] = codec.field(instruments, "list")
    if not isinstance(rows, list):
        raise ExchangeError("instruments-info has no list", venue=venue)
    symbols = {str(codec.field(s, "symbol")): _symbol_info(s) for s in rows
               if codec.field(s, "status") == "Trading"}
    capabilities = VenueCapabilities(
        order_types=frozenset({OrderType.LIMIT, OrderType.MARKET, OrderType.STOP_MARKET, OrderType.STOP_LIMIT}),
        time_in_force=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}), native_modify=True,
        post_only=True, websocket=True, fix=False, futures=True, leverage=True, margin_mode=True)
    fees = VenueFees(maker=codec.dec(fee, "makerFeeRate"), taker=codec.dec(fee, "takerFeeRate"))
    return VenueInfo(venue=venue, symbols=symbols, fees=fees, capabilities=capabilities, mode=mode,
                     extra={"display_name": "Bybit USDT Perpetual", "error_style": "bybit"})

"""Bybit linear's JSON without I/O: order parameters out, positions, balances and instruments in.

``codec.order_params`` for ``category="linear"`` sends no ``marketUnit`` (spot's), marks a stop
with ``triggerDirection`` instead of ``orderFilter`` and sends ``reduceOnly``; spot refuses a
reduce-only order before anything is sent. ``live.bybit.linear`` reads a position row's side and
unsigned size as a signed quantity, leaves flat rows out, and refuses what it cannot read with
``ExchangeError`` naming the field.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from harness.contract import ExchangeError
from harness.model import OrderRequest, OrderType, Side, VenueMode
from live.bybit import codec
from live.bybit.linear import linear_balances, linear_venue_info, position_report, position_reports

D = Decimal


def _row(**changes: Any) -> dict[str, Any]:
    row = {"symbol": "BTCUSDT", "side": "Sell", "size": "0.25", "avgPrice": "60000.5", "markPrice": "60010",
           "unrealisedPnl": "-2.375", "cumRealisedPnl": "1.5", "leverage": "7", "tradeMode": 1,
           "positionIM": "2143.0178571", "updatedTime": "1722000000123"}
    row.update(changes)
    return row


def test_linear_order_parameters() -> None:
    market = OrderRequest("m-1", "bybit", "BTCUSDT", Side.BUY, OrderType.MARKET, D("0.01"), reduce_only=True)
    params = dict(codec.order_params(market, "linear"))
    assert "marketUnit" not in params and params["reduceOnly"] is True and params["category"] == "linear"
    assert dict(codec.order_params(OrderRequest("m-2", "bybit", "BTCUSDT", Side.BUY, OrderType.MARKET,
                                                    D("0.01")), "spot"))["marketUnit"] == "baseCoin"
    stop = OrderRequest("s-1", "bybit", "BTCUSDT", Side.SELL, OrderType.STOP_MARKET, D("0.01"), stop_price=D("59000"))
    stop_params = dict(codec.order_params(stop, "linear"))
    assert (stop_params["triggerDirection"], stop_params["triggerPrice"]) == (2, D("59000"))
    assert "orderFilter" not in stop_params and "reduceOnly" not in stop_params
    with pytest.raises(ExchangeError, match="reduce-only"):
        codec.order_params(market, "spot")


def test_a_position_row_is_a_signed_report() -> None:
    short = position_report(_row(), 5, "bybit")
    assert short is not None
    assert (short.quantity, short.average_entry_price, short.mark_price, short.unrealized_pnl, short.realized_pnl,
            short.leverage, short.margin_mode, short.margin, short.ts_ns) == (
        D("-0.25"), D("60000.5"), D("60010"), D("-2.375"), D("1.5"), 7, "ISOLATED", D("2143.0178571"),
        1_722_000_000_123_000_000)
    long = position_report(_row(side="Buy", tradeMode=0, updatedTime=""), 5, "bybit")
    assert long is not None and (long.quantity, long.margin_mode, long.ts_ns) == (D("0.25"), "CROSS", 5)
    assert position_report(_row(side="", size="0"), 5) is None
    reports = position_reports([_row(symbol="ETHUSDT", side="Buy"), _row(side="", size="0"), _row()], 5)
    assert [(r.symbol, r.quantity) for r in reports] == [("BTCUSDT", D("-0.25")), ("ETHUSDT", D("0.25"))]
    with pytest.raises(ExchangeError, match="side"):
        position_report(_row(side="None"), 5)
    with pytest.raises(ExchangeError, match="avgPrice"):
        position_report({k: v for k, v in _row().items() if k != "avgPrice"}, 5)
    with pytest.raises(ExchangeError, match="list"):
        position_reports({"not": "a list"}, 5)


def test_the_margin_account_and_a_linear_instrument() -> None:
    wallet = {"list": [{"accountType": "UNIFIED", "coin": [
        {"coin": "USDT", "walletBalance": "1000", "locked": "0", "totalOrderIM": "50.5", "totalPositionIM": "100"}]}]}
    [usdt] = linear_balances(wallet).values()
    assert (usdt.free, usdt.locked) == (D("849.5"), D("150.5"))
    instruments = {"list": [{"symbol": "BTCUSDT", "status": "Trading", "baseCoin": "BTC", "quoteCoin": "USDT",
                             "priceFilter": {"tickSize": "0.1"},
                             "lotSizeFilter": {"qtyStep": "0.001", "minOrderQty": "0.001", "maxOrderQty": "1190",
                                               "minNotionalValue": "5"}},
                            {"symbol": "OLDUSDT", "status": "Closed", "baseCoin": "OLD", "quoteCoin": "USDT",
                             "priceFilter": {}, "lotSizeFilter": {}}]}
    info = linear_venue_info(instruments, {"makerFeeRate": "0.0002", "takerFeeRate": "0.00055"}, VenueMode.SANDBOX)
    [symbol] = info.symbols.values()
    assert (symbol.lot_size, symbol.min_notional, symbol.tick_size) == (D("0.001"), D("5"), D("0.1"))
    assert info.capabilities.futures and info.capabilities.leverage and info.capabilities.margin_mode
    assert (info.fees.maker, info.fees.taker) == (D("0.0002"), D("0.00055"))

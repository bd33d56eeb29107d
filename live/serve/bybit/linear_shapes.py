"""Bybit v5's JSON shapes of the linear (USDT perpetual) category, from a ``FuturesVenue``'s records.

``docs/v5/position/position.mdx`` (``/v5/position/list`` and the private ``position`` topic: one
row per symbol, ``side`` ``Buy``/``Sell`` with an unsigned ``size``, ``""`` and ``"0"`` when flat;
``tradeMode`` 0 cross, 1 isolated; ``positionIdx`` 0 in one-way mode), the margin account of
``docs/v5/account/wallet-balance.mdx`` (``totalOrderIM`` / ``totalPositionIM`` hold the margin,
``locked`` is spot's and stays 0) and a linear instrument (``lotSizeFilter.qtyStep``,
``minNotionalValue``, ``leverageFilter``, ``fundingInterval`` in minutes).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from harness.model import PositionReport
from live.serve.bybit.shapes import fmt, ms
from sim.venue.filters import SymbolRules
from sim.venue.futures_venue import FuturesVenue

__all__ = ["linear_instrument_json", "linear_wallet_json", "position_json"]

_ZERO = Decimal(0)


def position_json(venue: FuturesVenue, symbol: str, report: PositionReport | None) -> dict[str, Any]:
    """One row of ``/v5/position/list`` (and of a ``position`` push): ``report`` None means flat."""
    settings = venue.settings[symbol]
    size = report.quantity if report is not None else _ZERO
    entry = report.average_entry_price if report is not None else _ZERO
    mark = venue.mark_price(symbol)
    unrealized = report.unrealized_pnl if report is not None and report.unrealized_pnl is not None else _ZERO
    margin = venue.position_margin.get(symbol, _ZERO)
    now = ms(venue.now())
    return {
        "positionIdx": 0, "riskId": 1, "riskLimitValue": "2000000", "symbol": symbol,
        "side": "" if size == 0 else ("Buy" if size > 0 else "Sell"), "size": fmt(abs(size)),
        "avgPrice": fmt(entry), "positionValue": fmt(abs(size) * entry),
        "tradeMode": 1 if settings.margin_mode == "ISOLATED" else 0, "autoAddMargin": 0,
        "positionStatus": "Normal", "leverage": str(settings.leverage),
        "markPrice": fmt(mark) if mark is not None else "", "liqPrice": "", "bustPrice": "",
        "positionIM": fmt(margin), "positionMM": "0", "positionBalance": fmt(margin), "tpslMode": "Full",
        "takeProfit": "0", "stopLoss": "0", "trailingStop": "0", "unrealisedPnl": fmt(unrealized),
        "curRealisedPnl": fmt(venue.realized.get(symbol, _ZERO)),
        "cumRealisedPnl": fmt(venue.realized.get(symbol, _ZERO)), "adlRankIndicator": 0, "isReduceOnly": False,
        "mmrSysUpdatedTime": "", "leverageSysUpdatedTime": "", "sessionAvgPrice": "", "seq": -1,
        "createdTime": str(now), "updatedTime": str(now), "category": "linear",
    }


def linear_wallet_json(venue: FuturesVenue, account_type: str) -> dict[str, Any]:
    """The margin account: the settle coin's wallet, equity, unrealized and realized PnL, order and position IM."""
    asset = venue.settle_asset
    balance = venue.balances().get(asset)
    wallet = balance.total if balance is not None else _ZERO
    locked = balance.locked if balance is not None else _ZERO
    position_im = sum(venue.position_margin.values(), _ZERO)
    order_im = locked - position_im
    unrealized = sum((p.unrealized_pnl or _ZERO for p in venue.position_reports()), _ZERO)
    realized = sum(venue.realized.values(), _ZERO)
    equity = wallet + unrealized
    coin = {"coin": asset, "walletBalance": fmt(wallet), "equity": fmt(equity), "locked": "0",
            "totalOrderIM": fmt(order_im), "totalPositionIM": fmt(position_im), "totalPositionMM": "0",
            "unrealisedPnl": fmt(unrealized), "cumRealisedPnl": fmt(realized), "usdValue": fmt(equity),
            "availableToWithdraw": "", "free": "", "borrowAmount": "0", "accruedInterest": "0", "bonus": "0",
            "marginCollateral": True, "collateralSwitch": True, "spotHedgingQty": "0"}
    return {"accountType": account_type, "accountIMRate": "0", "accountMMRate": "0", "totalEquity": fmt(equity),
            "totalWalletBalance": fmt(wallet), "totalMarginBalance": fmt(equity),
            "totalAvailableBalance": fmt(wallet - locked), "totalPerpUPL": fmt(unrealized),
            "totalInitialMargin": fmt(locked), "totalMaintenanceMargin": "0", "accountLTV": "0", "coin": [coin]}


def linear_instrument_json(venue: FuturesVenue, rules: SymbolRules) -> dict[str, Any]:
    """One linear perpetual of ``/v5/market/instruments-info?category=linear``."""
    terms = venue.terms
    return {"symbol": rules.symbol, "contractType": "LinearPerpetual", "status": "Trading",
            "baseCoin": rules.base_asset, "quoteCoin": rules.quote_asset, "settleCoin": terms.settle_asset,
            "launchTime": "0", "deliveryTime": "0", "deliveryFeeRate": "", "priceScale": "",
            "leverageFilter": {"minLeverage": "1", "maxLeverage": str(terms.max_leverage), "leverageStep": "1"},
            "priceFilter": {"minPrice": fmt(rules.tick_size), "maxPrice": "0", "tickSize": fmt(rules.tick_size)},
            "lotSizeFilter": {"maxOrderQty": fmt(rules.max_qty), "minOrderQty": fmt(rules.min_qty),
                              "qtyStep": fmt(rules.lot_size), "postOnlyMaxOrderQty": fmt(rules.max_qty),
                              "maxMktOrderQty": fmt(rules.max_qty),
                              "minNotionalValue": fmt(rules.min_notional or _ZERO)},
            "unifiedMarginTrade": True, "fundingInterval": terms.funding_interval_ns // 60_000_000_000,
            "copyTrading": "none", "upperFundingRate": "", "lowerFundingRate": "", "isPreListing": False}

"""``GET /api/v3/exchangeInfo`` from a venue profile: rate limits, symbols, filters, order types.

What a client derives precision and limits from (ccxt reads PRICE_FILTER, LOT_SIZE and
NOTIONAL; ``BinanceAdapter`` builds its ``SymbolInfo`` from the same filters), written the
way Binance does (``spec/venues.md`` §1.4, ``filters.md``): every value a decimal string, a
bound the profile leaves open written as ``"0"`` (disabled), the notional filter under the
profile's name (``NOTIONAL``, or the legacy ``MIN_NOTIONAL``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from harness.model import OrderType
from live.serve.wire import fmt, ms
from sim.venue.filters import SymbolRules
from sim.venue.limits import LimitRule
from sim.venue.profile import VenueProfile

__all__ = ["exchange_info", "order_type_names", "rate_limit_json"]

_ZERO = Decimal(0)
_TYPES: dict[OrderType, tuple[str, ...]] = {
    OrderType.LIMIT: ("LIMIT",),
    OrderType.MARKET: ("MARKET",),
    OrderType.STOP_MARKET: ("STOP_LOSS",),
    OrderType.STOP_LIMIT: ("STOP_LOSS_LIMIT",),
    OrderType.TAKE_PROFIT: ("TAKE_PROFIT", "TAKE_PROFIT_LIMIT"),
}
_ORDER = ("LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")


def order_type_names(profile: VenueProfile) -> list[str]:
    """Binance's ``orderTypes`` of the profile's capabilities (LIMIT_MAKER when post-only is offered)."""
    names = {name for kind in profile.capabilities.order_types for name in _TYPES.get(kind, ())}
    if profile.capabilities.post_only and OrderType.LIMIT in profile.capabilities.order_types:
        names.add("LIMIT_MAKER")
    return [name for name in _ORDER if name in names]


def _interval(seconds: int) -> tuple[str, int]:
    for unit_s, unit in ((86_400, "DAY"), (3_600, "HOUR"), (60, "MINUTE")):
        if seconds % unit_s == 0:
            return unit, seconds // unit_s
    return "SECOND", seconds


def rate_limit_json(rule: LimitRule) -> dict[str, Any]:
    """One ``rateLimits`` entry: REQUEST_WEIGHT, ORDERS or RAW_REQUESTS per interval."""
    kind = {"weight": "REQUEST_WEIGHT", "orders": "ORDERS", "requests": "RAW_REQUESTS"}[rule.counts]
    interval, num = _interval(rule.interval_s)
    return {"rateLimitType": kind, "interval": interval, "intervalNum": num, "limit": rule.limit}


def _bound(value: Decimal | None) -> str:
    return fmt(value if value is not None else _ZERO)


def _filters(rules: SymbolRules, notional_filter: str) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = [
        {"filterType": "PRICE_FILTER", "minPrice": _bound(rules.min_price), "maxPrice": _bound(rules.max_price),
         "tickSize": fmt(rules.tick_size)},
        {"filterType": "LOT_SIZE", "minQty": fmt(rules.min_qty), "maxQty": fmt(rules.max_qty),
         "stepSize": fmt(rules.lot_size)},
    ]
    if rules.market_max_qty is not None or rules.market_min_qty is not None or rules.market_lot_size is not None:
        filters.append({"filterType": "MARKET_LOT_SIZE", "minQty": _bound(rules.market_min_qty),
                        "maxQty": _bound(rules.market_max_qty), "stepSize": _bound(rules.market_lot_size)})
    if notional_filter == "MIN_NOTIONAL":
        filters.append({"filterType": "MIN_NOTIONAL", "minNotional": fmt(rules.min_notional),
                        "applyToMarket": rules.apply_min_notional_to_market, "avgPriceMins": 5})
    else:
        filters.append({"filterType": "NOTIONAL", "minNotional": fmt(rules.min_notional),
                        "applyMinToMarket": rules.apply_min_notional_to_market,
                        "maxNotional": _bound(rules.max_notional),
                        "applyMaxToMarket": rules.apply_max_notional_to_market, "avgPriceMins": 5})
    return filters


def _symbol(rules: SymbolRules, profile: VenueProfile) -> dict[str, Any]:
    return {
        "symbol": rules.symbol, "status": "TRADING", "baseAsset": rules.base_asset, "baseAssetPrecision": 8,
        "quoteAsset": rules.quote_asset, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8, "orderTypes": order_type_names(profile),
        "icebergAllowed": False, "ocoAllowed": False, "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": False, "allowTrailingStop": False, "cancelReplaceAllowed": False,
        "amendAllowed": False, "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "filters": _filters(rules, profile.errors.notional_filter), "permissions": [], "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE", "allowedSelfTradePreventionModes": ["NONE"],
    }


def exchange_info(profile: VenueProfile, now_ns: int, symbols: list[str] | None = None) -> dict[str, Any]:
    """The whole ``exchangeInfo`` answer, or only ``symbols`` (unknown ones are the caller's -1121)."""
    chosen = [profile.symbols[s] for s in symbols] if symbols else list(profile.symbols.values())
    return {"timezone": "UTC", "serverTime": ms(now_ns),
            "rateLimits": [rate_limit_json(rule) for rule in profile.rate_limits.rules if rule.interval_s > 0],
            "exchangeFilters": [], "symbols": [_symbol(rules, profile) for rules in chosen]}

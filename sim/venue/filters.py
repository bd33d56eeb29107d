"""Order validation as the venue does it, and the funds an order locks.

A simulated venue must reject an order exactly where the real one would, with the real venue's
own code and message, so that the code under test meets the same errors in a backtest as in
production. This module holds three things:

* ``SymbolRules``: one instrument's trading rules (tick, lot, min/max quantity and notional,
  the separate market-order lot rule Binance has), all ``Decimal``.
* ``ErrorCatalog``: what a venue answers for each ``RejectReason``. ``BINANCE_ERRORS`` carries
  Binance's exact codes and messages (``errors.md`` of the Binance spot API docs);
  ``GENERIC_ERRORS`` is the fallback other venue profiles override entry by entry.
* ``validate_order`` (filters, in Binance's evaluation order: symbol, type, parameters,
  PRICE_FILTER, LOT_SIZE or MARKET_LOT_SIZE, NOTIONAL, then balance) and ``funds_to_lock``
  (what a new order reserves from the free balance).

A failed check is a ``VenueRejection`` value: the venue adapter turns it into the venue's wire
error, and ``VenueRejection.to_error`` into the contract's ``InvalidRequestError``.

Arithmetic is exact ``Decimal`` under a wide local context: no float and no rounding anywhere.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from harness.contract import DuplicateOrderError, ErrorCategory, InvalidRequestError, OrderNotFoundError
from harness.model import (
    OrderRequest,
    OrderType,
    Side,
    SymbolInfo,
    TimeInForce,
    VenueCapabilities,
)

__all__ = [
    "BINANCE_ERRORS",
    "DEFAULT_MARKET_BUY_MARGIN",
    "GENERIC_ERRORS",
    "POST_ONLY_WOULD_TAKE_MESSAGE",
    "ErrorCatalog",
    "LockedFunds",
    "RejectReason",
    "SymbolRules",
    "VenueRejection",
    "funds_to_lock",
    "validate_order",
]

_ZERO = Decimal(0)
#: Wide enough for any price x quantity of crypto magnitudes without rounding.
_EXACT = decimal.Context(prec=80, traps=[decimal.InvalidOperation, decimal.DivisionByZero])

#: Binance's -2010 text when a LIMIT_MAKER (post-only) order would cross. The matching engine
#: decides this, not the filters; the constant lives here so that both use one spelling.
POST_ONLY_WOULD_TAKE_MESSAGE = "Order would immediately match and take."

#: Default safety margin on a market buy sized in base quantity: the lock is
#: ``best_ask * quantity * (1 + margin)``; the unused part is released after the fill.
DEFAULT_MARKET_BUY_MARGIN = Decimal("0.05")


class RejectReason(StrEnum):
    """Why the venue refuses a request, independent of how a given venue words it."""

    INVALID_SYMBOL = "invalid_symbol"
    MANDATORY_PARAM = "mandatory_param"
    UNSUPPORTED_ORDER_TYPE = "unsupported_order_type"
    UNSUPPORTED_TIME_IN_FORCE = "unsupported_time_in_force"
    PRICE_FILTER = "price_filter"
    LOT_SIZE = "lot_size"
    MARKET_LOT_SIZE = "market_lot_size"
    MIN_NOTIONAL = "min_notional"
    MAX_NOTIONAL = "max_notional"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    POST_ONLY_WOULD_TAKE = "post_only_would_take"
    DUPLICATE_ORDER = "duplicate_order"
    UNKNOWN_ORDER = "unknown_order"
    NO_SUCH_ORDER = "no_such_order"
    INSUFFICIENT_MARGIN = "insufficient_margin"
    REDUCE_ONLY_REJECTED = "reduce_only_rejected"
    INVALID_LEVERAGE = "invalid_leverage"
    MARGIN_MODE_LOCKED = "margin_mode_locked"


#: Reasons meaning "the venue has no such order" (the contract's OrderNotFoundError).
_NOT_FOUND = frozenset({RejectReason.UNKNOWN_ORDER, RejectReason.NO_SUCH_ORDER})


@dataclass(frozen=True, slots=True)
class VenueRejection:
    """A refusal in the venue's own terms: its code, its message, and the contract category.

    ``http_status`` is what the venue's REST API answers with (Binance: 400 for every
    rejection here). The adapter raises ``to_error(venue)`` across the contract.
    """

    reason: RejectReason
    code: int | str
    message: str
    category: ErrorCategory = ErrorCategory.INVALID_REQUEST
    http_status: int = 400

    def to_error(self, venue: str) -> InvalidRequestError:
        """The contract exception for this rejection (``OrderNotFoundError`` for unknown orders,
        ``DuplicateOrderError`` for a client order id already in use)."""
        cls: type[InvalidRequestError] = InvalidRequestError
        if self.reason in _NOT_FOUND:
            cls = OrderNotFoundError
        elif self.reason is RejectReason.DUPLICATE_ORDER:
            cls = DuplicateOrderError
        return cls(self.message, venue=venue, code=self.code, http_status=self.http_status)


@dataclass(frozen=True, slots=True)
class ErrorCatalog:
    """What one venue answers for each ``RejectReason``: ``(code, message template)``.

    Templates may use ``{param}`` (the missing parameter) and ``{filter}`` (the notional filter
    name, ``NOTIONAL`` or the legacy ``MIN_NOTIONAL``); other braces are not allowed.
    ``style`` is ``"binance"`` for the built-in Binance catalog and ``"generic"`` otherwise.
    """

    style: str
    entries: Mapping[RejectReason, tuple[int | str, str]]
    notional_filter: str = "NOTIONAL"
    http_status: int = 400

    def reject(self, reason: RejectReason, *, param: str = "") -> VenueRejection:
        """Build the venue's rejection for ``reason`` (``param`` fills a ``{param}`` slot)."""
        code, template = self.entries[reason]
        message = template.format(param=param, filter=self.notional_filter)
        return VenueRejection(reason, code, message, http_status=self.http_status)

    def with_overrides(self, overrides: Mapping[RejectReason, tuple[int | str, str]], *,
                       style: str | None = None, notional_filter: str | None = None,
                       http_status: int | None = None) -> ErrorCatalog:
        """A copy with some entries (and optionally style, filter name, status) replaced."""
        merged = dict(self.entries)
        merged.update(overrides)
        return ErrorCatalog(
            style=self.style if style is None else style,
            entries=MappingProxyType(merged),
            notional_filter=self.notional_filter if notional_filter is None else notional_filter,
            http_status=self.http_status if http_status is None else http_status,
        )


#: Binance spot: codes and messages from ``errors.md`` (see spec/venues.md §1.6).
BINANCE_ERRORS = ErrorCatalog(
    style="binance",
    entries=MappingProxyType({
        RejectReason.INVALID_SYMBOL: (-1121, "Invalid symbol."),
        RejectReason.MANDATORY_PARAM: (
            -1102, "Mandatory parameter '{param}' was not sent, was empty/null, or malformed."),
        RejectReason.UNSUPPORTED_ORDER_TYPE: (-1116, "Invalid orderType."),
        RejectReason.UNSUPPORTED_TIME_IN_FORCE: (-1115, "Invalid timeInForce."),
        RejectReason.PRICE_FILTER: (-1013, "Filter failure: PRICE_FILTER"),
        RejectReason.LOT_SIZE: (-1013, "Filter failure: LOT_SIZE"),
        RejectReason.MARKET_LOT_SIZE: (-1013, "Filter failure: MARKET_LOT_SIZE"),
        RejectReason.MIN_NOTIONAL: (-1013, "Filter failure: {filter}"),
        RejectReason.MAX_NOTIONAL: (-1013, "Filter failure: {filter}"),
        RejectReason.INSUFFICIENT_BALANCE: (-2010, "Account has insufficient balance for requested action."),
        RejectReason.POST_ONLY_WOULD_TAKE: (-2010, POST_ONLY_WOULD_TAKE_MESSAGE),
        RejectReason.DUPLICATE_ORDER: (-2010, "Duplicate order sent."),
        RejectReason.UNKNOWN_ORDER: (-2011, "Unknown order sent."),
        RejectReason.NO_SUCH_ORDER: (-2013, "Order does not exist."),
        # futures-only reasons, in Binance USD-M's words (a spot venue never meets them)
        RejectReason.INSUFFICIENT_MARGIN: (-2019, "Margin is insufficient."),
        RejectReason.REDUCE_ONLY_REJECTED: (-2022, "ReduceOnly Order is rejected."),
        RejectReason.INVALID_LEVERAGE: (-4028, "Leverage is not valid."),
        RejectReason.MARGIN_MODE_LOCKED: (-4048, "Margin type cannot be changed if there exists position."),
    }),
)

#: Neutral wording for venues whose profile does not spell out its own codes.
GENERIC_ERRORS = ErrorCatalog(
    style="generic",
    entries=MappingProxyType({
        RejectReason.INVALID_SYMBOL: ("INVALID_SYMBOL", "Unknown instrument."),
        RejectReason.MANDATORY_PARAM: ("MISSING_PARAMETER", "Missing or malformed parameter: {param}"),
        RejectReason.UNSUPPORTED_ORDER_TYPE: ("UNSUPPORTED_ORDER_TYPE", "Order type not supported."),
        RejectReason.UNSUPPORTED_TIME_IN_FORCE: ("UNSUPPORTED_TIME_IN_FORCE", "Time in force not supported."),
        RejectReason.PRICE_FILTER: ("INVALID_PRICE", "Price out of range or off the tick."),
        RejectReason.LOT_SIZE: ("INVALID_QUANTITY", "Quantity out of range or off the lot."),
        RejectReason.MARKET_LOT_SIZE: ("INVALID_QUANTITY", "Market quantity out of range."),
        RejectReason.MIN_NOTIONAL: ("NOTIONAL_TOO_SMALL", "Order value is below the minimum."),
        RejectReason.MAX_NOTIONAL: ("NOTIONAL_TOO_LARGE", "Order value is above the maximum."),
        RejectReason.INSUFFICIENT_BALANCE: ("INSUFFICIENT_FUNDS", "Insufficient funds."),
        RejectReason.POST_ONLY_WOULD_TAKE: ("POST_ONLY_WOULD_TAKE", "Post-only order would take liquidity."),
        RejectReason.DUPLICATE_ORDER: ("DUPLICATE_ORDER", "Duplicate client order id."),
        RejectReason.UNKNOWN_ORDER: ("UNKNOWN_ORDER", "Unknown order."),
        RejectReason.NO_SUCH_ORDER: ("UNKNOWN_ORDER", "Order does not exist."),
        RejectReason.INSUFFICIENT_MARGIN: ("INSUFFICIENT_MARGIN", "Insufficient margin for the order."),
        RejectReason.REDUCE_ONLY_REJECTED: ("REDUCE_ONLY_REJECTED", "A reduce-only order must reduce the position."),
        RejectReason.INVALID_LEVERAGE: ("INVALID_LEVERAGE", "Leverage out of range."),
        RejectReason.MARGIN_MODE_LOCKED: ("MARGIN_MODE_LOCKED",
                                          "Margin mode cannot change while a position or an order is open."),
    }),
)


@dataclass(frozen=True, slots=True)
class SymbolRules:
    """One instrument's filters. A zero or ``None`` bound means "not checked" (as on Binance).

    ``market_*`` fields are Binance's MARKET_LOT_SIZE (``None`` = MARKET orders use the LOT_SIZE
    rule). ``apply_min_notional_to_market`` / ``apply_max_notional_to_market`` mirror the
    NOTIONAL filter's ``applyMinToMarket`` / ``applyMaxToMarket``.
    """

    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal
    max_notional: Decimal | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    market_min_qty: Decimal | None = None
    market_max_qty: Decimal | None = None
    market_lot_size: Decimal | None = None
    apply_min_notional_to_market: bool = True
    apply_max_notional_to_market: bool = False

    def to_symbol_info(self) -> SymbolInfo:
        """The contract's view of these rules (``harness.model.SymbolInfo``)."""
        return SymbolInfo(
            symbol=self.symbol,
            base_asset=self.base_asset,
            quote_asset=self.quote_asset,
            tick_size=self.tick_size,
            lot_size=self.lot_size,
            min_quantity=self.min_qty,
            max_quantity=self.max_qty,
            min_notional=self.min_notional,
            max_notional=self.max_notional,
            min_price=self.min_price,
            max_price=self.max_price,
        )


# --------------------------------------------------------------------------- checks


def _is_multiple(value: Decimal, step: Decimal) -> bool:
    """True when ``value`` is an exact multiple of ``step`` (a zero step disables the check)."""
    if step == _ZERO:
        return True
    return _EXACT.remainder(value, step) == _ZERO


def _price_ok(price: Decimal, rules: SymbolRules) -> bool:
    """Binance PRICE_FILTER: within [minPrice, maxPrice] and ``price % tickSize == 0``."""
    if price <= _ZERO:
        return False
    if rules.min_price and price < rules.min_price:
        return False
    if rules.max_price and price > rules.max_price:
        return False
    return _is_multiple(price, rules.tick_size)


def _qty_ok(qty: Decimal, min_qty: Decimal | None, max_qty: Decimal | None, step: Decimal | None) -> bool:
    """Binance LOT_SIZE: within [minQty, maxQty] and ``(quantity - minQty) % stepSize == 0``."""
    if qty <= _ZERO:
        return False
    if min_qty and qty < min_qty:
        return False
    if max_qty and qty > max_qty:
        return False
    if step:
        return _is_multiple(_EXACT.subtract(qty, min_qty or _ZERO), step)
    return True


_NEEDS_PRICE = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})
_NEEDS_STOP = frozenset({OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT})


def validate_order(
    request: OrderRequest,
    symbols: Mapping[str, SymbolRules],
    catalog: ErrorCatalog,
    *,
    capabilities: VenueCapabilities | None = None,
    reference_price: Decimal | None = None,
    free_balances: Mapping[str, Decimal] | None = None,
    fee_rate_reserve: Decimal = _ZERO,
    market_buy_margin: Decimal = DEFAULT_MARKET_BUY_MARGIN,
) -> VenueRejection | None:
    """Check one new order the way the venue does; ``None`` when it passes every check.

    Order of checks (Binance's): symbol, order type and time in force (when ``capabilities``
    is given), mandatory parameters, PRICE_FILTER, LOT_SIZE (MARKET_LOT_SIZE for market
    orders), NOTIONAL, and last the balance (when ``free_balances`` is given; Binance does it
    in the matching engine, which answers -2010).

    MARKET orders have no price: their notional uses ``reference_price`` (Binance uses the
    average price of the last ``avgPriceMins``); without one the notional check is skipped
    for them, as is the balance check of a market buy. ``fee_rate_reserve`` and
    ``market_buy_margin`` are passed to ``funds_to_lock``.
    """
    rules = symbols.get(request.symbol)
    if rules is None:
        return catalog.reject(RejectReason.INVALID_SYMBOL)
    otype = request.order_type
    if capabilities is not None:
        if otype not in capabilities.order_types:
            return catalog.reject(RejectReason.UNSUPPORTED_ORDER_TYPE)
        if otype is not OrderType.MARKET and request.time_in_force not in capabilities.time_in_force:
            return catalog.reject(RejectReason.UNSUPPORTED_TIME_IN_FORCE)
        if request.post_only and not capabilities.post_only:
            return catalog.reject(RejectReason.UNSUPPORTED_ORDER_TYPE)
    if otype in _NEEDS_PRICE and request.price is None:
        return catalog.reject(RejectReason.MANDATORY_PARAM, param="price")
    if otype in _NEEDS_STOP and request.stop_price is None:
        return catalog.reject(RejectReason.MANDATORY_PARAM, param="stopPrice")
    if otype is OrderType.TRAILING_STOP and request.trailing_delta is None:
        return catalog.reject(RejectReason.MANDATORY_PARAM, param="trailingDelta")
    if request.time_in_force is TimeInForce.GTD and request.expire_at_ns is None:
        return catalog.reject(RejectReason.MANDATORY_PARAM, param="expireTime")

    if request.price is not None and not _price_ok(request.price, rules):
        return catalog.reject(RejectReason.PRICE_FILTER)
    if request.stop_price is not None and not _price_ok(request.stop_price, rules):
        return catalog.reject(RejectReason.PRICE_FILTER)

    is_market = otype is OrderType.MARKET
    # LOT_SIZE applies to every order type, MARKET included; MARKET_LOT_SIZE comes after it
    # (the order of Binance's filter list).
    if not _qty_ok(request.quantity, rules.min_qty, rules.max_qty, rules.lot_size):
        return catalog.reject(RejectReason.LOT_SIZE)
    market_rule = (rules.market_min_qty, rules.market_max_qty, rules.market_lot_size)
    has_market_rule = market_rule != (None, None, None)
    if is_market and has_market_rule and not _qty_ok(request.quantity, *market_rule):
        return catalog.reject(RejectReason.MARKET_LOT_SIZE)

    price = request.price if request.price is not None else reference_price
    if price is not None:
        notional = _EXACT.multiply(price, request.quantity)
        check_min = not is_market or rules.apply_min_notional_to_market
        check_max = not is_market or rules.apply_max_notional_to_market
        if check_min and rules.min_notional and notional < rules.min_notional:
            return catalog.reject(RejectReason.MIN_NOTIONAL)
        if check_max and rules.max_notional and notional > rules.max_notional:
            return catalog.reject(RejectReason.MAX_NOTIONAL)

    if free_balances is not None:
        try:
            lock = funds_to_lock(request, rules, best_ask=reference_price,
                                 fee_rate_reserve=fee_rate_reserve, market_buy_margin=market_buy_margin)
        except ValueError:
            return None  # a market buy with no price to estimate from: the engine decides
        if free_balances.get(lock.asset, _ZERO) < lock.amount:
            return catalog.reject(RejectReason.INSUFFICIENT_BALANCE)
    return None


# --------------------------------------------------------------------------- balances


@dataclass(frozen=True, slots=True)
class LockedFunds:
    """The amount of one asset an order reserves from the free balance while it is open."""

    asset: str
    amount: Decimal


def funds_to_lock(
    request: OrderRequest,
    rules: SymbolRules,
    *,
    best_ask: Decimal | None = None,
    quote_order_qty: Decimal | None = None,
    fee_rate_reserve: Decimal = _ZERO,
    market_buy_margin: Decimal = DEFAULT_MARKET_BUY_MARGIN,
) -> LockedFunds:
    """What a new order locks, exactly (no rounding), following how spot venues hold funds.

    * Sell (any type): ``quantity`` of the base asset.
    * Buy with a limit price (LIMIT, STOP_LIMIT): ``price * quantity`` of the quote asset.
    * Market buy sized in quote (Binance ``quoteOrderQty``): exactly ``quote_order_qty``.
    * Market buy (or STOP_MARKET/TAKE_PROFIT/TRAILING_STOP buy) sized in base: an estimate,
      ``ref * quantity * (1 + market_buy_margin)`` with ``ref`` the ``best_ask`` (or the stop
      price when there is no ask). The margin covers walking the book; the engine releases
      what the fills did not use. Raises ``ValueError`` when there is no price to estimate from.

    Fee reserve: Binance takes the fee from the asset received, so it locks no fee
    (``fee_rate_reserve = 0``, the default). Venues that hold the fee with the order (Coinbase,
    Kraken) pass their taker rate: buys then lock ``notional * (1 + fee_rate_reserve)``.
    """
    if request.side is Side.SELL:
        return LockedFunds(rules.base_asset, request.quantity)
    if quote_order_qty is not None:
        return LockedFunds(rules.quote_asset, quote_order_qty)
    one_plus_fee = _EXACT.add(Decimal(1), fee_rate_reserve)
    if request.order_type in _NEEDS_PRICE and request.price is not None:
        notional = _EXACT.multiply(request.price, request.quantity)
        return LockedFunds(rules.quote_asset, _EXACT.multiply(notional, one_plus_fee))
    ref = best_ask if best_ask is not None else request.stop_price
    if ref is None:
        raise ValueError(f"cannot estimate funds for a {request.order_type.value} buy without a best ask")
    estimate = _EXACT.multiply(_EXACT.multiply(ref, request.quantity),
                               _EXACT.add(Decimal(1), market_buy_margin))
    return LockedFunds(rules.quote_asset, _EXACT.multiply(estimate, one_plus_fee))

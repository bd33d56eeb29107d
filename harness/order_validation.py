"""Order requests checked before they are sent: required fields per type, TIF rules, venue capabilities.

``validate_request`` raises ``OrderValidationError`` (an ``InvalidRequestError``) naming the
field at fault, so a strategy or a scenario gets a precise refusal instead of a venue error
after a round trip. The order manager calls it for every new order.
"""

from __future__ import annotations

import re
from decimal import Decimal

from harness.contract import InvalidRequestError
from harness.model import OrderModification, OrderRequest, OrderType, TimeInForce, VenueInfo

__all__ = ["CLIENT_ORDER_ID_PATTERN", "OrderValidationError", "validate_modification", "validate_request"]

CLIENT_ORDER_ID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,36}$")
"""Binance's ``newClientOrderId`` rule, the strictest of the seed venues."""

_NEEDS_PRICE = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})
_NEEDS_STOP = frozenset({OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT})
_NO_PRICE = frozenset({OrderType.MARKET, OrderType.STOP_MARKET})



class OrderValidationError(InvalidRequestError):
    """An order request failed validation before it was sent; ``field`` names the culprit."""

    def __init__(self, field_name: str, message: str, *, venue: str = "") -> None:
        super().__init__(f"{field_name}: {message}", venue=venue)
        self.field = field_name


def _positive(value: Decimal | None, field_name: str, venue: str) -> None:
    if value is not None and (not value.is_finite() or value <= 0):
        raise OrderValidationError(field_name, f"must be a positive finite number, got {value}", venue=venue)


def validate_request(request: OrderRequest, info: VenueInfo | None, *, now_ns: int | None = None) -> None:
    """Check that ``request`` carries the fields its type needs and that the venue supports it.

    Raises ``OrderValidationError`` naming the first bad field. Checks: positive quantity;
    price for LIMIT/STOP_LIMIT (and none for MARKET/STOP_MARKET); stop price for STOP_* and
    TAKE_PROFIT; trailing delta for TRAILING_STOP; ``expire_at_ns`` for GTD only, in the future
    when ``now_ns`` is given; post-only only on LIMIT. With ``info``: the symbol, order type,
    time in force and post-only must be supported by the venue. Exchange filters (tick, lot,
    notional, balance) stay the venue's to enforce.
    """
    venue = request.venue
    if not request.venue:
        raise OrderValidationError("venue", "must not be empty")
    if not request.symbol:
        raise OrderValidationError("symbol", "must not be empty", venue=venue)
    if not request.quantity.is_finite() or request.quantity <= 0:
        raise OrderValidationError("quantity", f"must be a positive finite number, got {request.quantity}",
                                   venue=venue)
    otype = request.order_type
    if otype in _NEEDS_PRICE and request.price is None:
        raise OrderValidationError("price", f"is required for {otype} orders", venue=venue)
    if otype in _NO_PRICE and request.price is not None:
        raise OrderValidationError("price", f"must not be set for {otype} orders", venue=venue)
    _positive(request.price, "price", venue)
    if otype in _NEEDS_STOP and request.stop_price is None:
        raise OrderValidationError("stop_price", f"is required for {otype} orders", venue=venue)
    _positive(request.stop_price, "stop_price", venue)
    if otype is OrderType.TRAILING_STOP and request.trailing_delta is None:
        raise OrderValidationError("trailing_delta", "is required for TRAILING_STOP orders", venue=venue)
    _positive(request.trailing_delta, "trailing_delta", venue)
    if request.time_in_force is TimeInForce.GTD:
        if request.expire_at_ns is None:
            raise OrderValidationError("expire_at_ns", "is required for GTD orders", venue=venue)
        if now_ns is not None and request.expire_at_ns <= now_ns:
            raise OrderValidationError("expire_at_ns", "must be in the future", venue=venue)
    elif request.expire_at_ns is not None:
        raise OrderValidationError("expire_at_ns", "may only be set for GTD orders", venue=venue)
    if request.post_only and otype is not OrderType.LIMIT:
        raise OrderValidationError("post_only", "applies to LIMIT orders only", venue=venue)
    if info is not None:
        _check_capabilities(request, info)


def _check_capabilities(request: OrderRequest, info: VenueInfo) -> None:
    venue = request.venue
    caps = info.capabilities
    if request.symbol not in info.symbols:
        raise OrderValidationError("symbol", f"{request.symbol} is not listed on {info.venue}", venue=venue)
    if request.order_type not in caps.order_types:
        raise OrderValidationError("order_type", f"{request.order_type} is not supported by {info.venue}",
                                   venue=venue)
    if request.order_type is not OrderType.MARKET and request.time_in_force not in caps.time_in_force:
        raise OrderValidationError("time_in_force", f"{request.time_in_force} is not supported by {info.venue}",
                                   venue=venue)
    if request.post_only and not caps.post_only:
        raise OrderValidationError("post_only", f"{info.venue} has no post-only orders", venue=venue)


def validate_modification(request: OrderRequest, change: OrderModification, *, filled: Decimal) -> None:
    """Check a modification of the order ``request`` with ``filled`` already executed.

    It must change something, with positive values, no price for a market-type order, and a new
    quantity above what has filled.
    """
    venue = request.venue
    if change.new_price is None and change.new_quantity is None and change.new_stop_price is None:
        raise OrderValidationError("modification", "changes nothing", venue=venue)
    _positive(change.new_price, "new_price", venue)
    _positive(change.new_quantity, "new_quantity", venue)
    _positive(change.new_stop_price, "new_stop_price", venue)
    if change.new_price is not None and request.order_type in _NO_PRICE:
        raise OrderValidationError("new_price", f"{request.order_type} orders have no price", venue=venue)
    if change.new_quantity is not None and change.new_quantity <= filled:
        raise OrderValidationError("new_quantity", f"must exceed the filled quantity {filled}", venue=venue)

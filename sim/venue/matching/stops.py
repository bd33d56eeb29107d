"""Trigger rules of conditional orders (stops, take-profits, trailing stops), as pure functions.

Conditional orders trigger on *trade* prices only (never on quotes or book moves), like
Binance's default ``workingType=CONTRACT_PRICE`` and NautilusTrader's last-price triggers:

* STOP_MARKET / STOP_LIMIT: a buy triggers when a trade prints at or above ``stop``; a sell
  at or below it (a breakout / stop-loss).
* TAKE_PROFIT: the reverse: a buy triggers at or below ``stop``, a sell at or above it.
* TRAILING_STOP: tracks the best trade price since it became active (the highest for a sell,
  the lowest for a buy) in ``trail_ref`` and triggers when a trade retraces from it by at least
  ``trail`` (absolute price distance): sell when ``price <= ref - trail``, buy when
  ``price >= ref + trail``. With an activation price (``stop`` > 0) it starts tracking only once
  a trade reaches it (a sell at or above, a buy at or below); without one it starts from the
  last trade price at submission, or the first trade after it.

A triggered order becomes a LIMIT at ``price`` when it has one (STOP_LIMIT always; TAKE_PROFIT
and TRAILING_STOP optionally), otherwise a MARKET order.
"""

from __future__ import annotations

from harness.model import OrderType
from sim.venue.matching.types import SimOrder

__all__ = ["stop_condition_met", "trailing_start", "trailing_step", "trigger_bounds"]


def stop_condition_met(order: SimOrder, price: int) -> bool:
    """True when a trade at ``price`` triggers a STOP_* or TAKE_PROFIT order (not trailing)."""
    if order.order_type is OrderType.TAKE_PROFIT:
        return price <= order.stop if order.side > 0 else price >= order.stop
    return price >= order.stop if order.side > 0 else price <= order.stop


def _activation_reached(order: SimOrder, price: int) -> bool:
    """True when ``price`` reaches a trailing stop's activation price (or it has none)."""
    act = order.stop
    if act <= 0:
        return True
    return price >= act if order.side < 0 else price <= act


def trailing_start(order: SimOrder, last_price: int | None) -> None:
    """Arm a new trailing stop from the last trade price when it is already active."""
    if last_price is not None and _activation_reached(order, last_price):
        order.trail_ref = last_price


def trailing_step(order: SimOrder, price: int) -> bool:
    """Feed one trade price to a trailing stop; update its reference; return True when it fires."""
    ref = order.trail_ref
    if ref is None:
        if _activation_reached(order, price):
            order.trail_ref = price
        return False
    if order.side < 0:
        if price > ref:
            order.trail_ref = price
            return False
        return price <= ref - order.trail
    if price < ref:
        order.trail_ref = price
        return False
    return price >= ref + order.trail


_ALWAYS = 1 << 126


def trigger_bounds(order: SimOrder, lo: int, hi: int) -> tuple[int, int]:
    """Widen the engine's fast-path window so trades that matter to ``order`` are not skipped.

    The engine skips a trade at ``p`` when ``lo < p < hi``. This returns the window narrowed
    so that every price that could trigger the order, or move a trailing reference, is outside.
    """
    side = order.side
    if order.order_type is OrderType.TRAILING_STOP:
        ref = order.trail_ref
        if ref is None:
            if order.stop <= 0:
                return _ALWAYS, hi  # first trade arms it: look at every trade
            return (lo, min(hi, order.stop)) if side < 0 else (max(lo, order.stop), hi)
        if side < 0:
            return max(lo, ref - order.trail), min(hi, ref + 1)
        return max(lo, ref - 1), min(hi, ref + order.trail)
    upward = (side > 0) != (order.order_type is OrderType.TAKE_PROFIT)
    if upward:
        return lo, min(hi, order.stop)
    return max(lo, order.stop), hi

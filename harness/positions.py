"""Position maths as pure functions: net quantity, average entry price, realized PnL.

A position is signed (positive long, negative short). A fill in the position's direction
increases it and moves the average entry price to the quantity-weighted average; a fill against
it decreases it and realizes ``(fill price - average entry) * closed quantity`` (sign-adjusted
for shorts); a fill larger than the position closes it and opens the rest on the other side at
the fill price. Unrealized PnL is ``(mark - average entry) * quantity``.

These are used by the simulated venue for its own books and by the execution layer's
``PositionBook``, so both sides of a reconciliation compute positions the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

__all__ = ["PositionChange", "PositionState", "apply_fill", "unrealized_pnl"]

ZERO = Decimal(0)


class PositionChange(StrEnum):
    """What a fill did to a position (the history record's event type)."""

    OPEN = "OPEN"
    INCREASE = "INCREASE"
    DECREASE = "DECREASE"
    CLOSE = "CLOSE"
    REVERSE = "REVERSE"
    RECONCILE = "RECONCILE"


@dataclass(frozen=True, slots=True)
class PositionState:
    """Net signed quantity, average entry price and realized PnL (quote units) of one position."""

    quantity: Decimal = ZERO
    average_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO


def apply_fill(state: PositionState, signed_quantity: Decimal,
               price: Decimal) -> tuple[PositionState, PositionChange]:
    """The position after a fill of ``signed_quantity`` (buy > 0, sell < 0) at ``price``.

    Exact ``Decimal`` arithmetic; the average price is a quotient and keeps the context's
    precision (28 digits), which is far finer than any venue's tick.
    """
    if signed_quantity == 0:
        return state, PositionChange.RECONCILE
    qty, avg, realized = state.quantity, state.average_price, state.realized_pnl
    new_qty = qty + signed_quantity
    if qty == 0:
        return PositionState(new_qty, price, realized), PositionChange.OPEN
    if (qty > 0) == (signed_quantity > 0):
        new_avg = (avg * qty + price * signed_quantity) / new_qty
        return PositionState(new_qty, new_avg, realized), PositionChange.INCREASE
    closed = min(abs(signed_quantity), abs(qty))
    direction = 1 if qty > 0 else -1
    realized += (price - avg) * closed * direction
    if new_qty == 0:
        return PositionState(ZERO, ZERO, realized), PositionChange.CLOSE
    if (new_qty > 0) == (qty > 0):
        return PositionState(new_qty, avg, realized), PositionChange.DECREASE
    return PositionState(new_qty, price, realized), PositionChange.REVERSE


def unrealized_pnl(state: PositionState, mark_price: Decimal) -> Decimal:
    """``(mark - average entry) * quantity``: positive when the position is in profit."""
    return (mark_price - state.average_price) * state.quantity

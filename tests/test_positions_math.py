"""Pure position maths: average entry, realized PnL, reversal, and conservation properties."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from harness.positions import PositionChange, PositionState, apply_fill, unrealized_pnl

D = Decimal


def test_open_increase_decrease_close() -> None:
    s, c = apply_fill(PositionState(), D("1"), D("100"))
    assert (s, c) == (PositionState(D(1), D(100), D(0)), PositionChange.OPEN)
    s, c = apply_fill(s, D("3"), D("104"))
    assert c is PositionChange.INCREASE and s.quantity == 4 and s.average_price == D("103")
    s, c = apply_fill(s, D("-1"), D("110"))
    assert c is PositionChange.DECREASE and s.quantity == 3 and s.realized_pnl == D("7")
    s, c = apply_fill(s, D("-3"), D("100"))
    assert c is PositionChange.CLOSE and s == PositionState(D(0), D(0), D("-2"))


def test_short_pnl_and_reversal() -> None:
    s, _ = apply_fill(PositionState(), D("-2"), D("50"))
    assert unrealized_pnl(s, D("45")) == D("10")
    s, c = apply_fill(s, D("5"), D("40"))
    assert c is PositionChange.REVERSE
    assert s == PositionState(D(3), D(40), D(20))


prices = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)
qtys = st.decimals(min_value=D("-50"), max_value=D("50"), places=3).filter(lambda q: q != 0)


@given(st.lists(st.tuples(qtys, prices), min_size=1, max_size=30), prices)
def test_total_pnl_equals_cash_flow_plus_mark(fills: list[tuple[Decimal, Decimal]], mark: Decimal) -> None:
    state = PositionState()
    cash = D(0)
    for qty, price in fills:
        state, _ = apply_fill(state, qty, price)
        cash -= qty * price
    assert state.quantity == sum(q for q, _ in fills)
    # realized + unrealized equals the cash flow marked to market, up to average-price rounding
    total = state.realized_pnl + unrealized_pnl(state, mark)
    assert abs(total - (cash + state.quantity * mark)) < D("1e-12")

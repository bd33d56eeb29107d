"""Money arithmetic: exact conversions, refusals, and properties of fixed-point maths."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.money import (
    SCALE,
    MoneyError,
    fixed_div,
    fixed_mul,
    from_fixed,
    round_to_step,
    to_decimal,
    to_fixed,
)

# Decimals with at most 9 places and magnitude below 1e9: exactly representable.
exact_decimals = st.decimals(min_value=Decimal("-999999999"), max_value=Decimal("999999999"),
                             places=9, allow_nan=False, allow_infinity=False)
units = st.integers(min_value=-(10**18), max_value=10**18)


def test_to_fixed_parses_venue_strings_exactly() -> None:
    assert to_fixed("61837.63000000") == 61837_630000000
    assert to_fixed("0.00000001") == 10
    assert to_fixed("-1.5") == -1_500_000_000
    assert to_fixed("1e-3") == 1_000_000
    assert to_fixed(Decimal("2.000000001")) == 2_000_000_001
    assert to_fixed(3) == 3 * SCALE
    assert to_fixed(".5") == 500_000_000


@pytest.mark.parametrize("bad", [0.1, True, "abc", "1.0000000001", "NaN", "Infinity", ""])
def test_to_fixed_refuses_floats_garbage_and_lost_precision(bad: object) -> None:
    with pytest.raises(MoneyError):
        to_fixed(bad)  # type: ignore[arg-type]


@given(exact_decimals)
def test_fixed_roundtrip_is_exact(value: Decimal) -> None:
    assert from_fixed(to_fixed(value)) == value
    assert to_fixed(str(value)) == to_fixed(value)


@given(units)
def test_from_fixed_then_to_fixed_is_identity(n: int) -> None:
    assert to_fixed(from_fixed(n)) == n


@given(units, units)
def test_addition_is_exact_and_commutative(a: int, b: int) -> None:
    assert from_fixed(a) + from_fixed(b) == from_fixed(a + b)


@given(st.integers(-(10**13), 10**13), st.integers(-(10**13), 10**13))
def test_fixed_mul_matches_decimal_half_even(a: int, b: int) -> None:
    expected = (from_fixed(a) * from_fixed(b)).quantize(Decimal("1e-9"), rounding=ROUND_HALF_EVEN)
    assert from_fixed(fixed_mul(a, b)) == expected
    truncated = (from_fixed(a) * from_fixed(b)).quantize(Decimal("1e-9"), rounding=ROUND_DOWN)
    assert from_fixed(fixed_mul(a, b, rounding=ROUND_DOWN)) == truncated


@given(st.integers(-(10**15), 10**15), st.integers(1, 10**15))
def test_fixed_div_inverts_mul_within_one_unit(a: int, b: int) -> None:
    product = fixed_mul(a, b)
    if product == 0:
        return
    # (a*b)/b recovers a up to the rounding of the product.
    assert abs(fixed_div(product, b) - a) <= max(1, SCALE // b + 1)


def test_fixed_div_by_zero() -> None:
    with pytest.raises(ZeroDivisionError):
        fixed_div(1, 0)


@given(units, st.integers(1, 10**12))
def test_round_to_step_is_a_multiple_toward_zero(n: int, step: int) -> None:
    rounded = round_to_step(n, step)
    assert rounded % step == 0
    assert abs(rounded) <= abs(n)
    assert abs(n) - abs(rounded) < step


def test_to_decimal_normalises_places() -> None:
    assert to_decimal("1.5") == Decimal("1.500000000")
    assert str(to_decimal("1.5")) == "1.500000000"

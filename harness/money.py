"""Money without floats: fixed-point integers on the hot path, ``Decimal`` at the edges.

Every price, size, fee and PnL inside the harness is an ``int`` counting units of
``10**-DECIMALS`` (nine decimal places, the same precision NautilusTrader uses for its
standard fixed-point build). Integers keep the matching engine and the replay feed fast and
exact; ``Decimal`` is what users, reports and venue messages see.

Nine decimals hold any crypto price to the satoshi and beyond; the int64 columns of the
canonical Parquet files then hold magnitudes up to about 9.2e9, and ``to_fixed`` refuses
anything it cannot represent exactly instead of rounding silently.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation

DECIMALS = 9
SCALE: int = 10**DECIMALS
INT64_MAX = 2**63 - 1
_QUANTUM = Decimal(1).scaleb(-DECIMALS)

__all__ = [
    "DECIMALS",
    "INT64_MAX",
    "SCALE",
    "MoneyError",
    "fixed_div",
    "fixed_mul",
    "from_fixed",
    "round_to_step",
    "to_decimal",
    "to_fixed",
]


class MoneyError(ValueError):
    """A value cannot be represented exactly as a fixed-point amount (bad text, float, precision)."""


def to_fixed(value: str | Decimal | int) -> int:
    """Convert an exact decimal value to fixed-point units, refusing floats and lost precision.

    Strings are parsed as decimals ("61837.63000000", "1e-3"); ints are whole units. A value
    with more than ``DECIMALS`` significant decimal places raises ``MoneyError`` rather than
    being rounded, because a silently rounded price is a wrong price.
    """
    if isinstance(value, (bool, float)):
        raise MoneyError(f"money must not be a float or bool: {value!r}")
    if isinstance(value, int):
        return value * SCALE
    if isinstance(value, str):
        # Fast path for the overwhelmingly common venue format "123.456".
        text = value.strip()
        head, dot, tail = text.partition(".")
        if dot and len(tail) <= DECIMALS and tail.isdigit() and (head.lstrip("-").isdigit()):
            negative = head.startswith("-")
            whole = int(head) if head not in ("", "-") else 0
            frac = int(tail.ljust(DECIMALS, "0")) if tail else 0
            units = abs(whole) * SCALE + frac
            return -units if negative else units
        try:
            number = Decimal(text)
        except InvalidOperation as exc:
            raise MoneyError(f"not a decimal number: {value!r}") from exc
    else:
        number = value
    if not number.is_finite():
        raise MoneyError(f"not a finite number: {value!r}")
    scaled = number.scaleb(DECIMALS)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"more than {DECIMALS} decimal places: {value!r}")
    return int(scaled)


def from_fixed(units: int) -> Decimal:
    """Convert fixed-point units back to an exact ``Decimal`` with ``DECIMALS`` places."""
    return Decimal(units).scaleb(-DECIMALS).quantize(_QUANTUM)


def to_decimal(value: str | Decimal | int) -> Decimal:
    """Parse a user- or venue-supplied amount to ``Decimal`` with the same rules as ``to_fixed``."""
    return from_fixed(to_fixed(value))


def fixed_mul(a: int, b: int, *, rounding: str = ROUND_HALF_EVEN) -> int:
    """Multiply two fixed-point amounts (e.g. price x size = notional), rounding the last unit.

    Integer arithmetic throughout; ``rounding`` picks how the discarded digits are treated,
    with banker's rounding by default and ``ROUND_DOWN`` for truncation toward zero.
    """
    product = a * b
    quotient, remainder = divmod(abs(product), SCALE)
    if remainder and rounding != ROUND_DOWN:
        doubled = remainder * 2
        if doubled > SCALE or (doubled == SCALE and quotient % 2 == 1):
            quotient += 1
    return quotient if product >= 0 else -quotient


def fixed_div(a: int, b: int) -> int:
    """Divide two fixed-point amounts (e.g. notional / size = average price), half-even rounded."""
    if b == 0:
        raise ZeroDivisionError("fixed-point division by zero")
    result = (Decimal(a) * SCALE / Decimal(b)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return int(result)


def round_to_step(units: int, step: int) -> int:
    """Round an amount down to a multiple of ``step`` (lot or tick size), toward zero."""
    if step <= 0:
        return units
    sign = -1 if units < 0 else 1
    return sign * (abs(units) // step) * step

"""Declared strategy parameters: every value checked, named and typed before a run starts.

Parameters arrive as strings (``--param size=0.002``, a scenario file). A strategy declares what
it takes as a class attribute, and the base ``Strategy`` parses them when it is constructed,
so a misspelt name, ``size=abc`` or ``size=-1`` stops the run before any work, with an error
naming the parameter::

    class Grid(Strategy):
        parameters = (
            Param("size", Decimal, "0.001", "quantity of each order", positive=True),
            Param("levels", int, "5", "orders per side", minimum=1),
            Param("side", str, "both", "which sides to quote", choices=("buy", "sell", "both")),
            Param("symbol", str, None, "instrument (default: the first the data has)"),
        )

        def on_start(self, ctx):
            super().on_start(ctx)
            self.size = self.param("size")  # Decimal("0.001") unless given

Kinds: ``str``, ``int``, ``Decimal`` (never float: money is exact), ``bool`` (true/false,
yes/no, 1/0). A default of ``None`` makes a parameter optional without a value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["Param", "StrategyParamError", "parse_params"]

_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_KINDS = (str, int, Decimal, bool)


class StrategyParamError(ValueError):
    """A strategy parameter is unknown or its value is invalid; the message names it."""


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter a strategy takes: name, kind, default (as text, or None), what it is, checks."""

    name: str
    kind: type
    default: str | None
    doc: str = ""
    choices: tuple[str, ...] = ()
    minimum: int | Decimal | None = None
    positive: bool = False

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise TypeError(f"parameter {self.name!r}: kind must be one of str, int, Decimal, bool "
                            f"(never float: money is exact), not {self.kind!r}")
        if self.default is not None:
            self.parse(self.default)  # a default that fails its own checks is a bug of the strategy

    def parse(self, text: str) -> Any:
        """The value of ``text`` for this parameter; ``StrategyParamError`` naming it when invalid."""
        if not isinstance(text, str):
            raise StrategyParamError(f"parameter {self.name!r}: expected text, got {type(text).__name__}")
        value: Any
        if self.kind is bool:
            value = _BOOLS.get(text.strip().lower())
            if value is None:
                raise StrategyParamError(f"parameter {self.name!r}: {text!r} is not true/false")
            return value
        if self.kind is int:
            try:
                value = int(text)
            except ValueError:
                raise StrategyParamError(f"parameter {self.name!r}: {text!r} is not a whole number") from None
        elif self.kind is Decimal:
            try:
                value = Decimal(text)
            except InvalidOperation:
                raise StrategyParamError(f"parameter {self.name!r}: {text!r} is not a number") from None
            if not value.is_finite():
                raise StrategyParamError(f"parameter {self.name!r}: {text!r} is not a finite number")
        else:
            value = text
        if self.choices and value not in self.choices:
            raise StrategyParamError(f"parameter {self.name!r}: {text!r} is not one of {', '.join(self.choices)}")
        if self.positive and value <= 0:
            raise StrategyParamError(f"parameter {self.name!r}: must be positive, got {text}")
        if self.minimum is not None and value < self.minimum:
            raise StrategyParamError(f"parameter {self.name!r}: must be at least {self.minimum}, got {text}")
        return value


def parse_params(declared: Iterable[Param], given: Mapping[str, str], *, owner: str) -> dict[str, Any]:
    """Every declared parameter's value: parsed from ``given`` or its default (None when it has none).

    Refuses a name nobody declared, listing the ones ``owner`` takes.
    """
    by_name = {p.name: p for p in declared}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        known = ", ".join(sorted(by_name)) or "none"
        raise StrategyParamError(f"{owner} takes no parameter {unknown[0]!r} (it takes: {known})")
    values: dict[str, Any] = {}
    for name, param in by_name.items():
        text = given.get(name, param.default)
        values[name] = None if text is None else param.parse(text)
    return values

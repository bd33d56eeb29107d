"""Comparing runs: headline deltas and the first point where their orders or fills diverge (no Streamlit)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["FILL_KEYS", "ORDER_KEYS", "Divergence", "first_divergence", "headline_deltas"]

ORDER_KEYS = ("ts_ns", "client_order_id", "status", "side", "order_type", "price", "quantity", "filled_quantity")
"""What must agree, row for row, for two runs' order reports to be the same."""
FILL_KEYS = ("ts_ns", "execution_id", "client_order_id", "side", "price", "quantity", "fee", "liquidity")


@dataclass(frozen=True)
class Divergence:
    """Where two sequences of rows first differ: the row index, its time in each run, and both rows."""

    index: int
    ts_ns: tuple[int | None, int | None]
    left: Mapping[str, Any] | None
    right: Mapping[str, Any] | None


def first_divergence(left: Sequence[Mapping[str, Any]], right: Sequence[Mapping[str, Any]],
                     keys: Sequence[str]) -> Divergence | None:
    """The first row (in the runs' own order) whose ``keys`` differ, or where one run has rows the other lacks;
    None when the two agree throughout."""
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else None
        b = right[i] if i < len(right) else None
        if a is None or b is None or any(a.get(k) != b.get(k) for k in keys):
            return Divergence(i, (None if a is None else a.get("ts_ns"), None if b is None else b.get("ts_ns")), a, b)
    return None


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def headline_deltas(headlines: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """One row per ``(metric, scope)``: each run's value and, for the second run on, its difference from
    the first run's (exact, where both are numbers)."""
    names = list(headlines)
    order: dict[tuple[str, str], None] = {}
    values: dict[str, dict[tuple[str, str], str]] = {}
    for name, rows in headlines.items():
        values[name] = {}
        for figure in rows:
            key = (str(figure["metric"]), str(figure["scope"]))
            order.setdefault(key, None)
            values[name][key] = str(figure["value"])
    out = []
    for key in order:
        row: dict[str, Any] = {"metric": key[0], "scope": key[1]}
        base = _number(values[names[0]].get(key, ""))
        for name in names:
            text = values[name].get(key, "")
            row[name] = text
            if name != names[0]:
                value = _number(text)
                row[f"Δ {name}"] = "" if value is None or base is None else format((value - base).normalize(), "f")
        out.append(row)
    return out

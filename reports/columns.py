"""Column types of every run table: one Arrow type per kind of quantity, the same in every table.

Readers outside this project (pandas, polars, duckdb) see exact decimals and real timestamps:

* ``AMOUNT`` ``decimal128(38, 9)``: what is exact on the 1e-9 grid of ``harness.money``:
  quantities, order and fill prices, fees charged, balances;
* ``DERIVED`` ``decimal128(38, 18)``: what is computed from amounts and keeps more digits:
  average prices, PnL, expected prices and fees of routing, slippage;
* ``TIME`` ``timestamp[ns, UTC]``: the ``time`` column written beside each ``ts_ns`` (the exact
  int nanoseconds stay, for joins and arithmetic).

No column holds a float.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import pyarrow as pa

__all__ = ["AMOUNT", "DERIVED", "TIME", "amount", "derived", "table_with_times"]

AMOUNT: Final = pa.decimal128(38, 9)
DERIVED: Final = pa.decimal128(38, 18)
TIME: Final = pa.timestamp("ns", tz="UTC")

_AMOUNT_Q = Decimal("1e-9")
_DERIVED_Q = Decimal("1e-18")


def amount(value: Decimal | None) -> Decimal | None:
    """``value`` on the ``AMOUNT`` scale (None stays None)."""
    return None if value is None else value.quantize(_AMOUNT_Q)


def derived(value: Decimal | None) -> Decimal | None:
    """``value`` on the ``DERIVED`` scale (None stays None)."""
    return None if value is None else value.quantize(_DERIVED_Q)


def table_with_times(rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows as a table of ``schema``, with a ``time`` column (``TIME``) right after ``ts_ns``."""
    table = pa.Table.from_pylist(list(rows), schema=schema)
    if "ts_ns" not in schema.names:
        return table
    index = schema.get_field_index("ts_ns")
    times = table.column("ts_ns").cast(pa.timestamp("ns")).cast(TIME)
    return table.add_column(index + 1, pa.field("time", TIME), times)

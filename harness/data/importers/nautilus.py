"""Pandas-written Parquet tick files as found in NautilusTrader's test data.

Two layouts, recognised from the Parquet schema (not the file name):

* trades: ``timestamp, trade_id, price, quantity, buyer_maker`` (``buyer_maker`` 'True' means
  the seller was the taker: aggressor -1);
* quotes: ``timestamp, [symbol], ask_size, ask, bid_size, bid``.

``timestamp`` is an Arrow timestamp (any unit) or an integer of milliseconds. Number columns
may be decimal strings or Arrow decimals (converted exactly) or ``double``. Doubles cannot hold
most decimal prices exactly, so each one is converted to the SHORTEST decimal (at most nine
places) lying within two ulps of the stored binary value, e.g. ``0.00031099999999999997`` ->
``0.000311``; a value with no such decimal is a bad row. The outputs' metadata records which
columns were converted this way. There is no venue column, and the trades layout has no symbol:
both come from ``--venue`` / ``--symbol``, else from the file name (``binance-btcusdt-...``).
Bad rows are reported with their 1-based row number as the line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from harness.data.errors import DataFormatError
from harness.data.importers.base import ImportContext, Record, register
from harness.data.importers.textfmt import FieldError, fixed, guarded, name_hint

__all__ = ["NautilusParquetImporter", "float_to_fixed"]

_TRADES = ("timestamp", "trade_id", "price", "quantity", "buyer_maker")
_QUOTES = ("timestamp", "ask_size", "ask", "bid_size", "bid")
_NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def _layout(path: Path) -> str | None:
    if path.suffix != ".parquet":
        return None
    try:
        names = set(pq.read_schema(path).names)
    except (OSError, pa.ArrowException):
        return None
    if names == set(_TRADES):
        return "trades"
    if names in (set(_QUOTES), {*_QUOTES, "symbol"}):
        return "quotes"
    return None


def float_to_fixed(value: float, field_name: str) -> int:
    """Fixed-point units of a stored double: the shortest decimal within two ulps of it.

    The binary value is expanded exactly (``Decimal(float)``), then rounded to 0, 1, ... 9
    places; the first rounding within two ulps is taken. No float arithmetic touches the money.
    """
    if not math.isfinite(value):
        raise FieldError(field_name, f"not a finite number: {value!r}")
    exact = Decimal(value)
    tolerance = Decimal(math.ulp(value)) * 2
    for places in range(10):
        candidate = round(exact, places)
        if abs(exact - candidate) <= tolerance:
            return fixed(candidate, field_name)
    raise FieldError(field_name, f"double {value!r} is not a decimal with at most 9 places")


def _converter(field: pa.Field) -> Callable[[Any, str], int]:
    """The exact conversion for one number column, chosen by its Arrow type."""
    if pa.types.is_floating(field.type):
        return float_to_fixed
    kind = field.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_decimal(kind):
        return fixed
    if pa.types.is_integer(kind):
        return fixed
    raise DataFormatError("", None, field.name, f"unsupported column type {field.type}")


class NautilusParquetImporter:
    """Pandas-style trades / quotes Parquet (NautilusTrader test data) -> ``trades`` / ``quotes``."""

    name = "nautilus-parquet"
    description = "Parquet ticks (timestamp,trade_id,price,quantity,buyer_maker | timestamp,ask,bid,...)"

    def sniff(self, path: Path, head: str) -> bool:
        """Recognise the layout from the Parquet schema's column names."""
        return _layout(path) is not None

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Stream the rows batch by batch in file order."""
        kind = _layout(path)
        if kind is None:
            raise DataFormatError(path, None, None, "not a recognised trades/quotes Parquet layout")
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
        hint_venue, hint_symbol, _ = name_hint(path)
        venue = ctx.venue or hint_venue or "unknown"
        numbers = ("price", "quantity") if kind == "trades" else ("ask_size", "ask", "bid_size", "bid")
        convert = {name: _converter(schema.field(name)) for name in numbers}
        floats = [name for name in numbers if pa.types.is_floating(schema.field(name).type)]
        ctx.metadata["harness.venue_from"] = "option" if ctx.venue else "file name" if hint_venue else "none"
        if floats:
            ctx.metadata["harness.float_columns"] = ",".join(floats) + " (shortest decimal within 2 ulp)"
        ts_type = schema.field("timestamp").type
        unit_ns = _NS_PER[ts_type.unit] if pa.types.is_timestamp(ts_type) else 1_000_000
        row_no = 0
        for batch in parquet.iter_batches(batch_size=65_536):
            columns = {name: batch.column(name) for name in batch.schema.names}
            stamps = columns["timestamp"].cast(pa.int64()).to_pylist()
            values = {name: columns[name].to_pylist() for name in batch.schema.names if name != "timestamp"}
            for i, stamp in enumerate(stamps):
                row_no += 1
                row = {name: col[i] for name, col in values.items()}

                def parse(stamp: int | None = stamp, row: dict[str, Any] = row) -> list[Record]:
                    if stamp is None:
                        raise FieldError("timestamp", "missing")
                    ts = stamp * unit_ns
                    nums = {}
                    for name in numbers:
                        if row[name] is None:
                            raise FieldError(name, "missing")
                        nums[name] = convert[name](row[name], name)
                    if kind == "trades":
                        maker = str(row["buyer_maker"])
                        if maker not in ("True", "False", "true", "false"):
                            raise FieldError("buyer_maker", f"expected True/False, got {maker!r}")
                        return [("trades", (ts, ts, venue, ctx.symbol or hint_symbol or "unknown",
                                            nums["price"], nums["quantity"],
                                            -1 if maker.lower() == "true" else 1, str(row["trade_id"])))]
                    symbol = ctx.symbol or str(row.get("symbol") or hint_symbol or "unknown").replace("/", "")
                    return [("quotes", (ts, ts, venue, symbol, nums["bid"], nums["bid_size"], nums["ask"],
                                        nums["ask_size"], -1))]

                yield from guarded(path, ctx, row_no, parse)


register(NautilusParquetImporter())

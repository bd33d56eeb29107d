"""A user's own table of trades or quotes (pandas, Arrow, CSV or Parquet) -> canonical rows.

Users often hold market data as a table they made themselves: a DataFrame with float prices,
a CSV from a notebook, a Parquet export. ``TableSpec`` says how to read one:

* ``columns`` maps canonical names to the table's (``{"price": "px", "ts_event": "time"}``);
  without a mapping a canonical name, or a usual alias (``timestamp``/``time``/``ts`` for
  ``ts_event``, ``qty``/``quantity``/``amount`` for ``size``, ``side`` for ``aggressor``, ``id``
  for ``trade_id``, ``bid``/``ask`` and ``bid_qty``/``ask_qty`` for quotes), is looked up;
* ``kind`` is ``trades`` or ``quotes`` (default: quotes when bid and ask prices are present);
* ``venue`` and ``symbol`` fill those columns when the table has none;
* ``price_decimals`` / ``size_decimals`` are the instrument's decimals. A float column needs
  them: each float is converted exactly to the decimal with that many places whose nearest
  float it is, and a float that is no such decimal (``0.123`` at 2 decimals) is an error, never
  rounded. Decimal and text columns convert exactly (and must fit the decimals when given);
  integer columns are whole units;
* ``time_unit`` (``s``, ``ms``, ``us``, ``ns``) of integer timestamps; default: told by their
  size (a 2020s epoch in seconds has 10 digits, in ms 13, in us 16, in ns 19). Arrow/pandas
  timestamps and ISO-8601 text are read as they are.

``table_records`` turns Arrow record batches into ``(kind, row)`` records, reporting a bad value
through ``ctx.bad`` with its line (CSV: the file line, header = 1; otherwise the row, from 1)
and canonical field. ``TableImporter`` (``--format table``, never autodetected) reads a CSV
(plain or gzip, every column as text, so exactly) or a Parquet file with the spec given in
``ImportContext.options["table"]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from harness.data.errors import DataFormatError
from harness.data.importers.base import ImportContext, Record, open_binary_for, register
from harness.data.importers.textfmt import FieldError, fixed, iso8601_to_ns
from harness.money import DECIMALS

__all__ = ["ALIASES", "TIME_UNITS", "TableImporter", "TableSpec", "table_records"]

TIME_UNITS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
ALIASES: dict[str, tuple[str, ...]] = {
    "ts_event": ("ts_event", "timestamp", "time", "ts", "datetime", "date"),
    "ts_recv": ("ts_recv", "local_timestamp", "recv_time"),
    "venue": ("venue", "exchange"),
    "symbol": ("symbol", "instrument", "ticker"),
    "price": ("price", "px"),
    "size": ("size", "qty", "quantity", "amount", "volume"),
    "aggressor": ("aggressor", "side", "taker_side", "is_buyer_maker"),
    "trade_id": ("trade_id", "id", "tid"),
    "bid_price": ("bid_price", "bid", "best_bid", "bid_px"),
    "bid_size": ("bid_size", "bid_qty", "bid_amount", "bid_sz"),
    "ask_price": ("ask_price", "ask", "best_ask", "ask_px"),
    "ask_size": ("ask_size", "ask_qty", "ask_amount", "ask_sz"),
    "update_id": ("update_id",),
}
"""Canonical column -> names looked up in a table when no mapping is given, first found wins."""

_REQUIRED = {"trades": ("ts_event", "price", "size"), "quotes": ("ts_event", "bid_price", "bid_size",
                                                                  "ask_price", "ask_size")}
_PRICES = {"price", "bid_price", "ask_price"}
_SIDES = {"buy": 1, "b": 1, "bid": 1, "1": 1, "sell": -1, "s": -1, "ask": -1, "-1": -1, "": 0, "0": 0,
          "unknown": 0}


@dataclass(frozen=True)
class TableSpec:
    """How to read a user's table (see the module docstring for each setting)."""

    kind: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    venue: str | None = None
    symbol: str | None = None
    price_decimals: int | None = None
    size_decimals: int | None = None
    time_unit: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in (None, "trades", "quotes"):
            raise ValueError(f"kind must be 'trades' or 'quotes', got {self.kind!r}")
        unknown = sorted(set(self.columns) - set(ALIASES))
        if unknown:
            raise ValueError(f"column mapping names no canonical column: {unknown}; known: {sorted(ALIASES)}")
        for name, value in (("price_decimals", self.price_decimals), ("size_decimals", self.size_decimals)):
            if value is not None and not 0 <= value <= DECIMALS:
                raise ValueError(f"{name} must be 0..{DECIMALS}, got {value}")
        if self.time_unit is not None and self.time_unit not in TIME_UNITS:
            raise ValueError(f"time_unit must be one of {sorted(TIME_UNITS)}, got {self.time_unit!r}")

    def describe(self) -> str:
        """The spec as one stable line (recorded with the unit, so a changed spec is another import)."""
        mapping = ",".join(f"{k}={v}" for k, v in sorted(self.columns.items()))
        return (f"kind={self.kind} columns={mapping} venue={self.venue} symbol={self.symbol} "
                f"price_decimals={self.price_decimals} size_decimals={self.size_decimals} time_unit={self.time_unit}")

    def __str__(self) -> str:
        """``describe``: what the unit's record keeps of the spec."""
        return self.describe()

    def resolve(self, names: Iterable[str]) -> tuple[str, dict[str, str]]:
        """The kind and the canonical -> source column map for a table with columns ``names``."""
        present = list(names)
        lowered = {n.lower(): n for n in present}
        found: dict[str, str] = {}
        for canonical, aliases in ALIASES.items():
            if canonical in self.columns:
                if self.columns[canonical] not in present:
                    raise FieldError(canonical, f"mapped to column {self.columns[canonical]!r}, which the table "
                                                f"lacks (it has {present})")
                found[canonical] = self.columns[canonical]
                continue
            match = next((lowered[a] for a in aliases if a in lowered), None)
            if match is not None and match not in found.values():
                found[canonical] = match
        kind = self.kind or ("quotes" if {"bid_price", "ask_price"} <= set(found) else "trades")
        missing = [c for c in _REQUIRED[kind] if c not in found]
        if missing:
            raise FieldError(missing[0], f"{kind} need column(s) {missing}; the table has {present} "
                                         "(map one with columns={canonical: source}, --column CANONICAL=SOURCE)")
        for name, value in (("venue", self.venue), ("symbol", self.symbol)):
            if name not in found and value is None:
                raise FieldError(name, f"the table has no {name} column: give {name}= (--{name})")
        return kind, found

    def decimals(self, canonical: str) -> int | None:
        """The decimals given for a price or a size column."""
        return self.price_decimals if canonical in _PRICES else self.size_decimals


def _amounts(column: pa.Array, canonical: str, decimals: int | None) -> tuple[list[int], dict[int, str]]:
    """Fixed-point units of a price or size column and the reasons of the rows that fail."""
    bad: dict[int, str] = {}
    kind = column.type
    if pa.types.is_floating(kind):
        if decimals is None:
            which = "price" if canonical in _PRICES else "size"
            raise FieldError(canonical, f"is a float column: give the instrument's decimals ({which}_decimals=, "
                                        f"--{which}-decimals) so it converts exactly")
        values = column.to_numpy(zero_copy_only=False).astype(np.float64)
        scaled = np.rint(values * 10.0**decimals)
        with np.errstate(invalid="ignore"):
            on_grid = (scaled / 10.0**decimals == values) & np.isfinite(values) & (np.abs(scaled) < 2.0**53)
        units = [int(v) * 10 ** (DECIMALS - decimals) if ok else 0 for v, ok in zip(scaled, on_grid, strict=True)]
        for index in np.flatnonzero(~on_grid):
            value = values[index]
            bad[int(index)] = (f"{value!r} is not a number" if not math.isfinite(value) else
                           f"float {value!r} is not a decimal with {decimals} places (not on the instrument's grid)")
        return units, bad
    texts = column.to_pylist()
    units = []
    for i, value in enumerate(texts):
        try:
            if value is None:
                raise FieldError(canonical, "empty value")
            if isinstance(value, str | Decimal) and decimals is not None:
                number = Decimal(value.strip()) if isinstance(value, str) else value
                if number.is_finite() and number != number.quantize(Decimal(1).scaleb(-decimals)):
                    raise FieldError(canonical, f"{value} has more than {decimals} decimal places")
            units.append(fixed(value, canonical))
        except (FieldError, ArithmeticError) as exc:
            bad[i] = exc.reason if isinstance(exc, FieldError) else f"not a decimal number: {value!r}"
            units.append(0)
    return units, bad


def _times(column: pa.Array, canonical: str, unit: str | None) -> tuple[list[int], dict[int, str]]:
    """Integer ns of a timestamp column and the reasons of the rows that fail."""
    if pa.types.is_timestamp(column.type):
        column = pc.cast(column, pa.timestamp("ns", column.type.tz))
        return [0 if v is None else v for v in column.cast(pa.int64()).to_pylist()], \
            {i: "empty value" for i, v in enumerate(column.to_pylist()) if v is None}
    values = column.to_pylist()
    out, bad = [], {}
    for i, value in enumerate(values):
        try:
            out.append(_one_time(value, canonical, unit))
        except FieldError as exc:
            bad[i] = exc.reason
            out.append(0)
    return out, bad


def _one_time(value: object, canonical: str, unit: str | None) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or value is None:
        raise FieldError(canonical, f"not a timestamp: {value!r}")
    if isinstance(value, int):
        if unit is None:
            digits = len(str(abs(value)))
            unit = {10: "s", 13: "ms", 16: "us", 19: "ns"}.get(digits)
            if unit is None:
                raise FieldError(canonical, f"{value}: cannot tell seconds, ms, us or ns from {digits} digits; "
                                            "give the time unit (--time-unit)")
        return value * TIME_UNITS[unit]
    if isinstance(value, str):
        return iso8601_to_ns(value, canonical)
    raise FieldError(canonical, f"not a whole-number or ISO-8601 timestamp: {value!r}")


def _sides(column: pa.Array, source_name: str) -> tuple[list[int], dict[int, str]]:
    buyer_maker = "maker" in source_name.lower()
    out, bad = [], {}
    for i, value in enumerate(column.to_pylist()):
        if isinstance(value, bool) and buyer_maker:  # is_buyer_maker: the seller took liquidity
            out.append(-1 if value else 1)
            continue
        side = _SIDES.get(str(value).strip().lower()) if value is not None and not isinstance(value, bool) else None
        if side is None:
            bad[i] = f"expected buy/sell (b/s, 1/-1) or is_buyer_maker true/false, got {value!r}"
            side = 0
        out.append(side)
    return out, bad


def table_records(batches: Iterable[pa.RecordBatch], spec: TableSpec, ctx: ImportContext, source: Path | str, *,
                  first_line: int = 1) -> Iterator[Record]:
    """Canonical ``(kind, row)`` records of ``batches``; row ``i`` (from 0) is line ``first_line + i``.

    A value that does not convert goes to ``ctx.bad(source, line, canonical field, reason)``.
    """
    kind: str | None = None
    found: dict[str, str] = {}
    line = first_line
    for batch in batches:
        if kind is None:
            try:
                kind, found = spec.resolve(batch.schema.names)
            except FieldError as exc:  # the table as a whole cannot be read: never skipped
                raise DataFormatError(source, None, exc.field_name, exc.reason) from None
        columns: dict[str, list[Any]] = {}
        bad: dict[int, tuple[str, str]] = {}
        for canonical, name in found.items():
            array = batch.column(name)
            values: list[Any]
            if canonical in ("ts_event", "ts_recv"):
                values, reasons = _times(array, canonical, spec.time_unit)
            elif canonical == "aggressor":
                values, reasons = _sides(array, name)
            elif canonical in ("venue", "symbol", "trade_id"):
                values = [None if v is None else str(v) for v in array.to_pylist()]
                reasons = {i: "empty value" for i, v in enumerate(values) if not v}
            elif canonical == "update_id":  # a whole number, kept as it is
                values, reasons = _times(array, canonical, "ns")
            else:
                try:
                    values, reasons = _amounts(array, canonical, spec.decimals(canonical))
                except FieldError as exc:  # a float column without decimals: the whole column
                    raise DataFormatError(source, None, exc.field_name, exc.reason) from None
            columns[canonical] = values
            for i, reason in reasons.items():
                bad.setdefault(i, (canonical, reason))
        for i in range(batch.num_rows):
            ctx.line = line + i
            if i in bad:
                ctx.bad(source, line + i, *bad[i])
                continue
            yield kind, _row(kind, columns, i, spec, line + i)
        line += batch.num_rows


def _row(kind: str, columns: Mapping[str, list[Any]], i: int, spec: TableSpec, line: int) -> tuple[Any, ...]:
    def get(name: str, default: Any) -> Any:
        values = columns.get(name)
        return default if values is None else values[i]

    ts_event = columns["ts_event"][i]
    head = (ts_event, get("ts_recv", ts_event), get("venue", spec.venue), get("symbol", spec.symbol))
    if kind == "trades":
        return (*head, columns["price"][i], columns["size"][i], get("aggressor", 0), get("trade_id", str(line)))
    return (*head, columns["bid_price"][i], columns["bid_size"][i], columns["ask_price"][i],
            columns["ask_size"][i], get("update_id", -1))


class TableImporter:
    """A user's CSV (plain or gzip) or Parquet table of trades or quotes; ``--format table`` only."""

    name = "table"
    description = "a table of trades or quotes (CSV or Parquet; --column CANON=SRC, --price-decimals, ...)"

    def sniff(self, path: Path, head: str) -> bool:
        """Never autodetected: any CSV looks like a table, so this format is asked for by name."""
        return False

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Stream the file's rows through ``table_records`` with the spec in ``ctx.options``."""
        spec = ctx.options.get("table") or TableSpec(venue=ctx.venue, symbol=ctx.symbol)
        if not isinstance(spec, TableSpec):
            raise TypeError(f"ImportContext.options['table'] must be a TableSpec, got {type(spec).__name__}")
        if path.suffix == ".parquet":
            yield from table_records(pq.ParquetFile(path).iter_batches(batch_size=65_536), spec, ctx, path)
            return
        with open_binary_for(path, ctx) as raw:
            header = pacsv.open_csv(raw, read_options=pacsv.ReadOptions(block_size=1 << 20)).schema.names
        with open_binary_for(path, ctx) as raw:
            reader = pacsv.open_csv(raw, read_options=pacsv.ReadOptions(block_size=1 << 20),
                                    convert_options=pacsv.ConvertOptions(
                                        column_types={name: pa.string() for name in header},
                                        strings_can_be_null=True))
            yield from table_records(reader, spec, ctx, path, first_line=2)


register(TableImporter())

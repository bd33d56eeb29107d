"""Importers for Binance CSV layouts: Nautilus depth CSVs and Binance kline CSVs.

* ``binance-depth-csv``: NautilusTrader's Binance depth files
  (``symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu``), one row
  per level; ``update_type`` ``snap`` rows form a snapshot, ``set`` rows a diff. Consecutive rows
  with the same message key are one message (its last row gets ``F_LAST``). A ``pu`` column
  means futures (``binance-usdm`` unless ``--venue`` says otherwise). No receive time is
  recorded, so ``ts_recv = ts_event``.
* ``binance-klines-csv``: data.binance.vision kline CSVs (``open_time, o, h, l, c, v,
  close_time, ...``, with or without a header; ms, or us in newer spot files). The symbol comes
  from the file name (``ADABTC-1m-2021-11-27.csv``) unless given; ``ts_recv`` is the bar end.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.data.importers.base import ImportContext, Record, Row, open_text_for, register
from harness.data.importers.binance_msgs import COINM, SPOT, USDM, FieldError, fixed
from harness.data.schema import F_LAST, F_SNAPSHOT

__all__ = ["DEPTH_COLUMNS", "DepthCsvImporter", "KlineCsvImporter"]

DEPTH_COLUMNS = ["symbol", "timestamp", "first_update_id", "last_update_id", "side", "update_type",
                 "price", "qty"]
_SIDES = {"b": 1, "bid": 1, "a": -1, "ask": -1}
_KLINE_HEADER = "open_time"
_KLINE_NAME = re.compile(r"\A([A-Z0-9]+)-(\d+[smhdwM]|1mo)-")
_US_THRESHOLD = 10**15  # open times above this are microseconds, not milliseconds


def _int(text: str, field_name: str) -> int:
    value = text.strip()
    if not value.lstrip("-").isdigit():
        raise FieldError(field_name, f"not an integer: {text!r}")
    return int(value)


class DepthCsvImporter:
    """NautilusTrader-style Binance depth CSV (snapshot or diff rows, one level per row)."""

    name = "binance-depth-csv"
    description = "Binance depth CSV, Nautilus layout (symbol,timestamp,first_update_id,...,qty[,pu])"

    def sniff(self, path: Path, head: str) -> bool:
        """The header row starts with the Nautilus depth columns."""
        first = head.splitlines()[0].strip() if head else ""
        return first.split(",")[: len(DEPTH_COLUMNS)] == DEPTH_COLUMNS

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Stream book rows; the last row of each message carries ``F_LAST``."""
        with open_text_for(path, ctx) as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            has_pu = "pu" in header
            index = {name: i for i, name in enumerate(header)}
            venue = ctx.venue or (USDM if has_pu else SPOT)
            pending: Row | None = None
            pending_key: tuple[Any, ...] = ()
            pending_line = 0
            for row_no, fields in enumerate(reader, 2):
                if not fields:
                    continue
                try:
                    row = self._row(fields, index, has_pu, venue)
                except FieldError as bad:
                    ctx.bad(path, row_no, bad.field_name, bad.reason)
                    continue
                key = (row[0], row[3], row[7], row[8], row[10])
                if pending is not None:
                    ctx.line = pending_line
                    yield "book", pending if key == pending_key else (*pending[:-1], pending[-1] | F_LAST)
                pending, pending_key, pending_line = row, key, row_no
            if pending is not None:
                ctx.line = pending_line
                yield "book", (*pending[:-1], pending[-1] | F_LAST)

    @staticmethod
    def _row(fields: list[str], index: dict[str, int], has_pu: bool, venue: str) -> Row:
        def get(name: str) -> str:
            position = index[name]
            if position >= len(fields):
                raise FieldError(name, "missing")
            return fields[position]

        side = _SIDES.get(get("side").strip().lower())
        if side is None:
            raise FieldError("side", f"expected b/a, got {get('side')!r}")
        kind = get("update_type").strip()
        if kind not in ("snap", "set"):
            raise FieldError("update_type", f"expected snap/set, got {kind!r}")
        ts = _int(get("timestamp"), "timestamp") * 1_000_000
        first = _int(get("first_update_id"), "first_update_id")
        last = _int(get("last_update_id"), "last_update_id")
        prev = _int(get("pu"), "pu") if has_pu else -1
        price, size = fixed(get("price").strip(), "price"), fixed(get("qty").strip(), "qty")
        symbol = get("symbol").strip()
        if not symbol:
            raise FieldError("symbol", "empty")
        if kind == "snap":
            return (ts, ts, venue, symbol, side, price, size, -1, last, -1, F_SNAPSHOT)
        return (ts, ts, venue, symbol, side, price, size, first, last, prev, 0)


class KlineCsvImporter:
    """Binance kline CSV as published on data.binance.vision (one bar per row)."""

    name = "binance-klines-csv"
    description = "Binance kline CSV (open_time,o,h,l,c,v,close_time,...; symbol from the file name)"

    def sniff(self, path: Path, head: str) -> bool:
        """Twelve columns whose first and seventh are epoch ms/us, or the vision header."""
        lines = head.splitlines()
        if not lines:
            return False
        first = lines[0].strip().split(",")
        if first[0] == _KLINE_HEADER and len(first) >= 7 and first[6] == "close_time":
            return True
        if len(first) < 11 or not (first[0].isdigit() and first[6].isdigit()):
            return False
        return len(first[0]) in (13, 16) and int(first[6]) > int(first[0])

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Stream candle rows; bad rows go through ``ctx.bad``."""
        match = _KLINE_NAME.match(path.name)
        symbol = ctx.symbol or (match.group(1) if match else None)
        if symbol is None:
            ctx.bad(path, None, "symbol", "cannot tell the symbol from the file name; pass one")
            return
        venue = ctx.venue or SPOT
        with open_text_for(path, ctx) as handle:
            for row_no, fields in enumerate(csv.reader(handle), 1):
                if not fields:
                    continue
                if fields[0] == _KLINE_HEADER:  # only the futures archives have a header row
                    venue = ctx.venue or (COINM if "_" in symbol else USDM)
                    continue
                ctx.line = row_no
                try:
                    yield "candles", self._row(fields, venue, symbol)
                except FieldError as bad:
                    ctx.bad(path, row_no, bad.field_name, bad.reason)

    @staticmethod
    def _row(fields: list[str], venue: str, symbol: str) -> Row:
        if len(fields) < 7:
            raise FieldError("close_time", f"expected at least 7 columns, got {len(fields)}")
        opened, closed = _int(fields[0], "open_time"), _int(fields[6], "close_time")
        unit = 1_000 if opened >= _US_THRESHOLD else 1_000_000
        if closed < opened:
            raise FieldError("close_time", "before open_time")
        open_ns, end_ns = opened * unit, (closed + 1) * unit
        return (open_ns, end_ns, venue, symbol, end_ns - open_ns, fixed(fields[1], "open"),
                fixed(fields[2], "high"), fixed(fields[3], "low"), fixed(fields[4], "close"),
                fixed(fields[5], "volume"))


register(DepthCsvImporter())
register(KlineCsvImporter())

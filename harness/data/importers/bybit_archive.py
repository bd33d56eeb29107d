"""Bybit's public data downloads: daily order-book dumps and trade dumps, as they come.

* ``bybit-archive-orderbook``: the order-book dumps (``2024-08-08_BTCUSDT_ob500.data.zip``, a zip
  holding JSON lines), one v5 ``orderbook.<depth>.<SYMBOL>`` message per line:
  ``{"topic", "type": "snapshot"|"delta", "ts", "data": {"s", "b": [[price, size], ...], "a":
  [...], "u", "seq"}, "cts"}``. A snapshot replaces the book; a delta sets each level it lists
  (size ``0`` removes it). ``u`` counts the symbol's messages: each delta's ``u`` is the previous
  one plus one, and a snapshot (``u`` 1 after a service restart) starts the chain again. The rows
  carry ``u`` as both update ids, so the book sync (``harness.data.book``, spot rule
  ``U == previous u + 1``) and ``harness data verify`` follow the chain; a ``u`` that does not follow
  is reported here too as a ``sequence gap`` (strict: the error names file:line:``data.u``;
  ``--skip-bad``: counted, and the book waits for the next snapshot). ``cts`` (the matching
  engine's time) is ``ts_event`` (``ts`` when absent) and ``ts`` (when the system published it)
  ``ts_recv``.
* ``bybit-archive-trades``: the trade dumps (gzipped CSV). Derivatives files
  (``public.bybit.com/trading/BTCUSDT/BTCUSDT2024-08-08.csv.gz``) have the header
  ``timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,
  foreignNotional`` with ``timestamp`` in decimal seconds (read exactly); spot files
  (``public.bybit.com/spot/BTCUSDT/BTCUSDT_2024-08-08.csv.gz``) ``id,timestamp,price,volume,side``
  (more columns after, such as ``rpi``, are ignored) with ``timestamp`` in ms. ``side`` is the
  taker's; one time per trade, so ``ts_recv = ts_event``.

The venue is ``bybit`` unless ``--venue`` says otherwise; ``--symbol`` overrides the symbol.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness.data.importers.base import ImportContext, Record, Row, open_text_for, register
from harness.data.importers.binance_msgs import FieldError as BookFieldError
from harness.data.importers.binance_msgs import book_rows
from harness.data.importers.textfmt import FieldError, decimal_to_ns, fixed, loads_exact, ms_to_ns

__all__ = ["GAP", "VENUE", "BybitOrderbookDumpImporter", "BybitTradeDumpImporter"]

VENUE = "bybit"
GAP = "sequence gap"
"""``--skip-bad`` category of a delta whose ``u`` does not follow the previous message's."""

_DERIVATIVES = ["timestamp", "symbol", "side", "size", "price", "tickDirection", "trdMatchID"]
_SPOT = ["id", "timestamp", "price", "volume", "side"]
_SIDES = {"buy": 1, "sell": -1}
_SPOT_NAME = re.compile(r"\A[A-Z0-9]+_\d{4}-\d{2}-\d{2}\.csv")


class BybitOrderbookDumpImporter:
    """Bybit's daily order-book dumps (JSON lines of v5 ``orderbook.N.SYMBOL``) -> ``book``."""

    name = "bybit-archive-orderbook"
    description = "Bybit order-book dump (*_ob200/ob500.data.zip, JSON lines, snapshot then deltas) -> book"

    def sniff(self, path: Path, head: str) -> bool:
        """A first line that is a v5 ``orderbook.`` topic message with ``data.u``."""
        first = head.lstrip().split("\n", 1)[0]
        return first.startswith("{") and '"topic":"orderbook.' in first.replace(" ", "") and '"u"' in first

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Stream book rows, message by message; the last row of each message carries ``F_LAST``."""
        last_u: dict[str, int] = {}
        with open_text_for(path, ctx) as handle:
            for line_no, text in enumerate(handle, 1):
                if not text.strip():
                    continue
                ctx.line = line_no
                try:
                    rows = self._message(loads_exact(text), path, line_no, ctx, last_u)
                except json.JSONDecodeError as exc:
                    ctx.bad(path, line_no, None, f"not JSON: {exc.msg}")
                    continue
                except (FieldError, BookFieldError) as bad:
                    ctx.bad(path, line_no, bad.field_name, bad.reason)
                    continue
                for row in rows:
                    yield "book", row

    def _message(self, msg: Any, path: Path, line_no: int, ctx: ImportContext, last_u: dict[str, int]) -> list[Row]:
        if not isinstance(msg, dict):
            raise FieldError("topic", f"expected a JSON object, got {type(msg).__name__}")
        data = msg.get("data")
        if not isinstance(data, dict):
            raise FieldError("data", "missing or not an object")
        kind = msg.get("type")
        if kind not in ("snapshot", "delta"):
            raise FieldError("type", f"expected snapshot or delta, got {kind!r}")
        symbol = ctx.symbol or data.get("s") or str(msg.get("topic", "")).rpartition(".")[2]
        if not symbol:
            raise FieldError("data.s", "no symbol")
        u = _whole(data.get("u"), "data.u")
        ts = ms_to_ns(_whole(msg.get("ts"), "ts"), "ts")
        ts_event = ms_to_ns(_whole(msg["cts"], "cts"), "cts") if msg.get("cts") is not None else ts
        if kind == "delta":
            previous = last_u.get(symbol)
            if previous is None:
                ctx.bad(path, line_no, "data.u", f"delta u={u} for {symbol} before any snapshot", category=GAP)
            elif u != previous + 1:
                ctx.bad(path, line_no, "data.u", f"u={u} does not follow u={previous} for {symbol} "
                                                 f"({u - previous - 1} messages missing)", category=GAP)
        last_u[symbol] = u
        head = (ts_event, ts, ctx.venue or VENUE, symbol)
        return book_rows(head, data.get("b", []), data.get("a", []), bid_name="data.b", ask_name="data.a",
                         ids=(u, u, -1), snapshot=kind == "snapshot")


def _whole(value: object, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise FieldError(field_name, f"expected a whole number, got {value!r}")
    text = str(value).strip()
    if not text.isdigit():
        raise FieldError(field_name, f"expected a whole number, got {value!r}")
    return int(text)


class BybitTradeDumpImporter:
    """Bybit's daily trade dumps (derivatives ``trading/`` or ``spot/``, gzipped CSV) -> ``trades``."""

    name = "bybit-archive-trades"
    description = "Bybit trade dump (public.bybit.com trading/ or spot/ *.csv.gz) -> trades"

    def sniff(self, path: Path, head: str) -> bool:
        """The derivatives or the spot dump's header row."""
        first = head.split("\n", 1)[0].strip().split(",")
        return first[: len(_DERIVATIVES)] == _DERIVATIVES or (first[: len(_SPOT)] == _SPOT
                                                               and _SPOT_NAME.match(path.name) is not None)

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Stream trade rows; a bad field goes to ``ctx.bad`` naming file:line:field."""
        venue = ctx.venue or VENUE
        with open_text_for(path, ctx) as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            if header[: len(_DERIVATIVES)] == _DERIVATIVES:
                convert = self._derivatives
            elif header[: len(_SPOT)] == _SPOT:
                convert = self._spot
            else:
                ctx.bad(path, 1, None, f"header {header} is neither Bybit's derivatives nor spot trade dump")
                return
            index = {name: i for i, name in enumerate(header)}
            for row_no, fields in enumerate(reader, 2):
                if not fields:
                    continue
                ctx.line = row_no
                if len(fields) != len(header):
                    ctx.bad(path, row_no, None, f"expected {len(header)} columns, got {len(fields)}")
                    continue
                try:
                    yield "trades", convert({name: fields[i].strip() for name, i in index.items()}, venue, ctx, path)
                except FieldError as bad:
                    ctx.bad(path, row_no, bad.field_name, bad.reason)

    @staticmethod
    def _side(text: str) -> int:
        side = _SIDES.get(text.lower())
        if side is None:
            raise FieldError("side", f"expected Buy or Sell, got {text!r}")
        return side

    def _derivatives(self, f: dict[str, str], venue: str, ctx: ImportContext, path: Path) -> Row:
        ts = decimal_to_ns(f["timestamp"], "timestamp")
        if not f["trdMatchID"]:
            raise FieldError("trdMatchID", "empty")
        return (ts, ts, venue, ctx.symbol or f["symbol"], fixed(f["price"], "price"), fixed(f["size"], "size"),
                self._side(f["side"]), f["trdMatchID"])

    def _spot(self, f: dict[str, str], venue: str, ctx: ImportContext, path: Path) -> Row:
        ts = ms_to_ns(f["timestamp"], "timestamp")
        symbol = ctx.symbol or _symbol_from(path)
        if not f["id"]:
            raise FieldError("id", "empty")
        return (ts, ts, venue, symbol, fixed(f["price"], "price"), fixed(f["volume"], "volume"),
                self._side(f["side"]), f["id"])


def _symbol_from(path: Path) -> str:
    """``BTCUSDT`` from ``BTCUSDT_2024-08-08.csv.gz`` (the spot dump names no symbol in its rows)."""
    match = _SPOT_NAME.match(path.name)
    stem = path.name.split("_", 1)[0] if match else ""
    if not stem:
        raise FieldError("symbol", f"cannot tell the symbol from the file name {path.name!r}; pass --symbol")
    return stem


register(BybitOrderbookDumpImporter())
register(BybitTradeDumpImporter())

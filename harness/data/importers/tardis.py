"""Tardis.dev normalised CSV downloads (``tardis-dev`` datasets): one data type per file.

Every file starts with the header ``exchange,symbol,timestamp,local_timestamp,...``;
``timestamp`` is the exchange time and ``local_timestamp`` Tardis' receive time, both in
microseconds since the epoch. The data type is read from the remaining header columns:

* ``trades`` (``id,side,price,amount``) -> ``trades`` (side is the taker's; ``unknown`` -> 0);
* ``quotes`` (``ask_amount,ask_price,bid_price,bid_amount``) -> ``quotes``; an empty side
  (no level) becomes price 0 and size 0;
* ``incremental_book_L2`` (``is_snapshot,side,price,amount``) -> ``book`` rows, one per CSV
  line, ``F_SNAPSHOT`` when ``is_snapshot`` is true; consecutive lines sharing both timestamps
  and the snapshot flag form one message, whose last row gets ``F_LAST`` (one-line lookahead);
* ``book_snapshot_N`` (``asks[0].price,asks[0].amount,bids[0].price,...``) -> every line is a
  full top-N snapshot: its non-empty levels become snapshot rows, the last flagged ``F_LAST``.

The venue is the ``exchange`` column (``binance-futures``, ``bitmex``, ``deribit``...). Other
Tardis types (derivative_ticker, liquidations, options_chain, book_ticker...) have no canonical
kind and are refused with ``UnsupportedFormatError``.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from harness.data.errors import DataFormatError, UnsupportedFormatError
from harness.data.importers.base import ImportContext, Record, Row, open_text_for, register
from harness.data.importers.textfmt import FieldError, book_row, fixed, guarded, mark_last, side_from, us_to_ns
from harness.data.schema import F_LAST, F_SNAPSHOT

__all__ = ["LineParser", "TardisCsvImporter"]

_PREFIX = ["exchange", "symbol", "timestamp", "local_timestamp"]
_TYPES: dict[tuple[str, ...], str] = {
    ("id", "side", "price", "amount"): "trades",
    ("ask_amount", "ask_price", "bid_price", "bid_amount"): "quotes",
    ("is_snapshot", "side", "price", "amount"): "incremental_book_L2",
}
_LEVEL = re.compile(r"^(asks|bids)\[(\d+)\]\.(price|amount)$")


class TardisCsvImporter:
    """Tardis.dev CSV (trades, quotes, incremental_book_L2, book_snapshot_N) -> canonical rows."""

    name = "tardis-csv"
    description = "Tardis.dev normalised CSV: trades, quotes, incremental_book_L2, book_snapshot_N"

    def sniff(self, path: Path, head: str) -> bool:
        """The Tardis header: ``exchange,symbol,timestamp,local_timestamp`` first."""
        return head.startswith(",".join(_PREFIX) + ",")

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Stream rows of the file's data type, in file order."""
        with open_text_for(path, ctx) as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or header[:4] != _PREFIX:
                raise DataFormatError(path, 1, None, "not a Tardis CSV header")
            lines = ((reader.line_num, fields) for fields in reader if fields)
            parse_line = _line_parser(path, header[4:], ctx)
            if parse_line is None:
                yield from _incremental(path, len(header), lines, ctx)
                return
            for line, fields in lines:
                yield from guarded(path, ctx, line, functools.partial(parse_line, fields))


def _common(fields: list[str], ctx: ImportContext) -> tuple[int, int, str, str]:
    return (us_to_ns(fields[2], "timestamp"), us_to_ns(fields[3], "local_timestamp"),
            ctx.venue or fields[0], ctx.symbol or fields[1])


LineParser = Callable[[list[str]], list[Record]]


def _line_parser(path: Path, rest: list[str], ctx: ImportContext) -> LineParser | None:
    """A parser for one CSV line of the file's type, or None for incremental_book_L2."""
    kind = _TYPES.get((*rest,)) if len(rest) == 4 else None
    width = 4 + len(rest)

    def check(fields: list[str]) -> None:
        if len(fields) != width:
            raise FieldError("line", f"expected {width} columns, got {len(fields)}")

    if kind == "incremental_book_L2":
        return None
    if kind == "trades":
        def trade(fields: list[str]) -> list[Record]:
            check(fields)
            ts, recv, venue, symbol = _common(fields, ctx)
            aggressor = 0 if fields[5] == "unknown" else side_from(fields[5], "side", ("buy",), ("sell",))
            return [("trades", (ts, recv, venue, symbol, fixed(fields[6], "price"),
                                fixed(fields[7], "amount"), aggressor, fields[4]))]
        return trade
    if kind == "quotes":
        def quote(fields: list[str]) -> list[Record]:
            check(fields)
            ts, recv, venue, symbol = _common(fields, ctx)
            ask_size, ask, bid, bid_size = (fixed(v, name) if v else 0 for v, name in zip(
                fields[4:8], ("ask_amount", "ask_price", "bid_price", "bid_amount"), strict=True))
            return [("quotes", (ts, recv, venue, symbol, bid, bid_size, ask, ask_size, -1))]
        return quote
    levels = _snapshot_levels(rest)
    if levels is None:
        raise UnsupportedFormatError(
            f"{path}: a Tardis CSV whose columns {','.join(rest)} match none of trades, quotes, "
            "incremental_book_L2 or book_snapshot_N; this data type has no canonical kind to import into")

    def snapshot(fields: list[str]) -> list[Record]:
        check(fields)
        ts, recv, venue, symbol = _common(fields, ctx)
        rows: list[Row] = []
        for side, name, price_col, amount_col in levels:
            price_text, amount_text = fields[price_col], fields[amount_col]
            if not price_text and not amount_text:
                continue  # fewer levels than N on this side
            rows.append(book_row(ts, recv, venue, symbol, side=side, price=fixed(price_text, f"{name}.price"),
                                 size=fixed(amount_text, f"{name}.amount"), flags=F_SNAPSHOT))
        return [("book", row) for row in mark_last(rows)]
    return snapshot


def _snapshot_levels(rest: list[str]) -> list[tuple[int, str, int, int]] | None:
    """``(side, name, price column, amount column)`` per level of a book_snapshot_N header, bids first."""
    found: dict[tuple[str, int], dict[str, int]] = {}
    for col, name in enumerate(rest, 4):
        match = _LEVEL.match(name)
        if match is None:
            return None
        found.setdefault((match.group(1), int(match.group(2))), {})[match.group(3)] = col
    if not found or any(len(cols) != 2 for cols in found.values()):
        return None
    order = sorted(found, key=lambda key: (key[0] != "bids", key[1]))
    return [(1 if side == "bids" else -1, f"{side}[{i}]", found[side, i]["price"], found[side, i]["amount"])
            for side, i in order]


def _incremental(path: Path, width: int, lines: Iterator[tuple[int, list[str]]],
                 ctx: ImportContext) -> Iterator[Record]:
    """incremental_book_L2 lines -> book rows; ``F_LAST`` where the next line starts a new message."""
    pending: tuple[Row, tuple[str, ...], int] | None = None
    for line, fields in lines:
        for row, key in guarded(path, ctx, line, functools.partial(_incremental_row, width, fields, ctx)):
            if pending is not None:
                previous, previous_key, ctx.line = pending
                yield "book", (previous if previous_key == key else (*previous[:-1], previous[-1] | F_LAST))
            pending = (row, key, line)
    if pending is not None:
        previous, _key, ctx.line = pending
        yield "book", (*previous[:-1], previous[-1] | F_LAST)


def _incremental_row(width: int, fields: list[str],
                     ctx: ImportContext) -> list[tuple[Row, tuple[str, ...]]]:
    if len(fields) != width:
        raise FieldError("line", f"expected {width} columns, got {len(fields)}")
    ts, recv, venue, symbol = _common(fields, ctx)
    if fields[4] not in ("true", "false"):
        raise FieldError("is_snapshot", f"expected true/false, got {fields[4]!r}")
    snap = fields[4] == "true"
    row = book_row(ts, recv, venue, symbol, side=side_from(fields[5], "side", ("bid",), ("ask",)),
                   price=fixed(fields[6], "price"), size=fixed(fields[7], "amount"),
                   flags=F_SNAPSHOT if snap else 0)
    return [(row, (fields[0], fields[1], fields[2], fields[3], fields[4]))]


register(TardisCsvImporter())

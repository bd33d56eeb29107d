"""Binance's public data archive (data.binance.vision): trades, aggTrades and bookTicker CSVs.

The files come as downloaded: a zip holding one CSV (or the CSV itself, plain or gzip), named
``<SYMBOL>-<kind>-<date>.csv`` (``BTCUSDT-trades-2024-08-08.zip``). Layouts, as the archive's
README documents them:

* spot ``trades``: ``id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch``, no header;
* spot ``aggTrades``: ``aggId, price, qty, firstId, lastId, time, isBuyerMaker, isBestMatch``,
  no header;
* futures (USD-M and COIN-M) files have a header row: ``trades``
  ``id,price,qty,quote_qty|base_qty,time,is_buyer_maker``; ``aggTrades``
  ``agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker``;
  ``bookTicker`` ``update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,
  transaction_time,event_time``.

Times are epoch milliseconds, or microseconds in spot files from 2025-01-01 on: told apart per
value by size (16 digits and more: us). ``isBuyerMaker`` true means the seller took liquidity
(aggressor -1). The venue is ``binance`` for files without a header (spot), ``binance-coinm`` for
futures files of a COIN-M symbol (``BTCUSD_PERP``, or a ``base_qty`` column), else
``binance-usdm``; ``--venue`` and ``--symbol`` override. Trades carry one time, so ``ts_recv =
ts_event``; bookTicker gives the transaction time (``ts_event``) and the event time (``ts_recv``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from harness.data.importers.base import ImportContext, Record, Row, open_text_for, register
from harness.data.importers.binance_msgs import COINM, SPOT, USDM, FieldError, fixed

__all__ = ["ArchiveAggTradesImporter", "ArchiveBookTickerImporter", "ArchiveTradesImporter", "archive_time_ns"]

_NAME = re.compile(r"\A([A-Z0-9_]+)-(trades|aggTrades|bookTicker)-\d{4}-\d{2}(?:-\d{2})?\.")
_US_FROM = 10**15  # epoch values at or above this are microseconds (16 digits), below milliseconds

_TRADE_HEADERS = ({"id", "price", "qty", "time", "is_buyer_maker"}, "quote_qty", "base_qty")
_SPOT_TRADES = ("id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match")
_SPOT_AGG = ("agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id", "transact_time",
             "is_buyer_maker", "is_best_match")
_FUTURES_AGG = _SPOT_AGG[:-1]
_BOOK_TICKER = ("update_id", "best_bid_price", "best_bid_qty", "best_ask_price", "best_ask_qty",
                "transaction_time", "event_time")


def archive_time_ns(text: str, field_name: str) -> int:
    """Nanoseconds from an archive time: epoch ms, or us (16+ digits, spot from 2025 on)."""
    value = text.strip()
    if not value.isdigit():
        raise FieldError(field_name, f"not an epoch time: {text!r}")
    number = int(value)
    return number * 1_000 if number >= _US_FROM else number * 1_000_000


def _buyer_maker(text: str, field_name: str) -> int:
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise FieldError(field_name, f"expected true/false, got {text!r}")
    return -1 if value == "true" else 1


def _symbol_and_kind(path: Path) -> tuple[str, str] | None:
    match = _NAME.match(path.name)
    return (match.group(1), match.group(2)) if match else None


def _first_line(head: str) -> list[str]:
    lines = head.splitlines()
    return lines[0].strip().split(",") if lines else []


class _ArchiveCsv:
    """What the three archive importers share: name and header sniffing, the row loop, the venue."""

    name = ""
    description = ""
    kind = ""
    spot_columns: tuple[str, ...] = ()

    def _header_matches(self, header: list[str]) -> bool:
        raise NotImplementedError

    def sniff(self, path: Path, head: str) -> bool:
        """The archive's file name for this kind, or its futures header row."""
        named = _symbol_and_kind(path)
        first = _first_line(head)
        if named is not None and named[1] == self.kind:
            return self._header_matches(first) or (len(first) == len(self.spot_columns) and first[0].isdigit())
        return self._header_matches(first)

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Stream the file's rows as canonical rows; a bad field goes to ``ctx.bad`` naming file:line:field."""
        named = _symbol_and_kind(path)
        symbol = ctx.symbol or (named[0] if named else None)
        if symbol is None:
            ctx.bad(path, None, "symbol", "cannot tell the symbol from the file name "
                                          "(<SYMBOL>-<kind>-<date>.csv); pass --symbol")
            return
        with open_text_for(path, ctx) as handle:
            reader = csv.reader(handle)
            columns: tuple[str, ...] | None = None
            venue = ctx.venue or SPOT
            for row_no, fields in enumerate(reader, 1):
                if not fields:
                    continue
                if columns is None:
                    if not fields[0].strip().isdigit():  # the futures header row
                        header = [f.strip() for f in fields]
                        if not self._header_matches(header):
                            ctx.bad(path, row_no, None, f"header {header} is not Binance's {self.kind} layout")
                            return
                        columns = tuple(header)
                        venue = ctx.venue or (COINM if "base_qty" in header or "_" in symbol else USDM)
                        continue
                    columns = self.spot_columns
                ctx.line = row_no
                if len(fields) != len(columns):
                    ctx.bad(path, row_no, None, f"expected {len(columns)} columns ({', '.join(columns)}), "
                                                f"got {len(fields)}")
                    continue
                try:
                    yield self.kind_out, self._row(dict(zip(columns, fields, strict=True)), venue, symbol)
                except FieldError as bad:
                    ctx.bad(path, row_no, bad.field_name, bad.reason)

    kind_out = "trades"

    def _row(self, fields: dict[str, str], venue: str, symbol: str) -> Row:
        raise NotImplementedError


class ArchiveTradesImporter(_ArchiveCsv):
    """``<SYMBOL>-trades-<date>`` of data.binance.vision, spot or futures -> ``trades``."""

    name = "binance-archive-trades"
    description = "data.binance.vision trades CSV/zip (spot: no header; futures: header), ms or us"
    kind = "trades"
    spot_columns = _SPOT_TRADES

    def _header_matches(self, header: list[str]) -> bool:
        required, quote, base = _TRADE_HEADERS
        return required <= set(header) and (quote in header or base in header)

    def _row(self, fields: dict[str, str], venue: str, symbol: str) -> Row:
        ts = archive_time_ns(fields["time"], "time")
        return (ts, ts, venue, symbol, fixed(fields["price"].strip(), "price"), fixed(fields["qty"].strip(), "qty"),
                _buyer_maker(fields["is_buyer_maker"], "is_buyer_maker"), _trade_id(fields["id"], "id"))


class ArchiveAggTradesImporter(_ArchiveCsv):
    """``<SYMBOL>-aggTrades-<date>`` of data.binance.vision, spot or futures -> ``trades`` (one per aggregate)."""

    name = "binance-archive-aggtrades"
    description = "data.binance.vision aggTrades CSV/zip (spot: no header; futures: header), ms or us"
    kind = "aggTrades"
    spot_columns = _SPOT_AGG

    def _header_matches(self, header: list[str]) -> bool:
        return tuple(header) == _FUTURES_AGG

    def _row(self, fields: dict[str, str], venue: str, symbol: str) -> Row:
        ts = archive_time_ns(fields["transact_time"], "transact_time")
        return (ts, ts, venue, symbol, fixed(fields["price"].strip(), "price"),
                fixed(fields["quantity"].strip(), "quantity"),
                _buyer_maker(fields["is_buyer_maker"], "is_buyer_maker"),
                _trade_id(fields["agg_trade_id"], "agg_trade_id"))


class ArchiveBookTickerImporter(_ArchiveCsv):
    """``<SYMBOL>-bookTicker-<date>`` of data.binance.vision (futures) -> ``quotes``."""

    name = "binance-archive-bookticker"
    description = "data.binance.vision bookTicker CSV/zip (update_id,best_bid_price,...,event_time)"
    kind = "bookTicker"
    kind_out = "quotes"
    spot_columns = _BOOK_TICKER

    def _header_matches(self, header: list[str]) -> bool:
        return tuple(header) == _BOOK_TICKER

    def _row(self, fields: dict[str, str], venue: str, symbol: str) -> Row:
        return (archive_time_ns(fields["transaction_time"], "transaction_time"),
                archive_time_ns(fields["event_time"], "event_time"), venue, symbol,
                fixed(fields["best_bid_price"].strip(), "best_bid_price"),
                fixed(fields["best_bid_qty"].strip(), "best_bid_qty"),
                fixed(fields["best_ask_price"].strip(), "best_ask_price"),
                fixed(fields["best_ask_qty"].strip(), "best_ask_qty"),
                int(_trade_id(fields["update_id"], "update_id")))


def _trade_id(text: str, field_name: str) -> str:
    value = text.strip()
    if not value.isdigit():
        raise FieldError(field_name, f"not a whole-number id: {text!r}")
    return value


register(ArchiveTradesImporter())
register(ArchiveAggTradesImporter())
register(ArchiveBookTickerImporter())

"""Kraken spot: WebSocket v1 captures (cryptofeed raw) and REST ``Trades`` / ``OHLC`` responses.

WebSocket ``book-<depth>`` messages are arrays ``[channelID, {...}, ("book-N"), pair]``; the
first message per pair holds ``as`` / ``bs`` (snapshot), later ones ``a`` and/or ``b`` (one
update may carry an ask dict and a bid dict as two elements). Each level is
``[price, volume, time(, "r")]`` where ``time`` is the level's own update time in float
seconds; it becomes the row's ``ts_event`` (to the ns, from the text). Volume 0 removes a
level; ``r`` (republished) levels are ordinary updates. Kraken v1 books carry no sequence
numbers (ids -1); the CRC32 checksum ``c`` is not stored. ``trade`` and ``spread`` channels
become ``trades`` and ``quotes`` when present (Kraken v1 trades have no trade id).

REST responses (``{"error": [], "result": {PAIR: [...], "last": ...}}``) are single JSON
documents, read whole (they are bounded by Kraken's page size, 1000 trades / 720 bars);
items are then decoded one by one from the text so a bad row still names its line.
Trades: ``[price, volume, time_s, b|s, m|l, misc, trade_id]`` (``b`` = buyer was the taker).
OHLC: ``[time_s, open, high, low, close, vwap, volume, count]``; the bar that opens after
``last`` is the still-forming one and is dropped, as Kraken documents; the interval is
inferred from the bars (the response does not state it).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness.data.errors import DataFormatError
from harness.data.importers.base import ImportContext, Record, register
from harness.data.importers.textfmt import (
    CandleValues,
    CaptureLine,
    FieldError,
    RangeError,
    book_row,
    capture_records,
    check_ohlc,
    decimal_to_ns,
    emit_candles,
    fixed,
    guarded,
    loads_exact,
    mark_last,
    side_from,
    sniff_capture,
)
from harness.data.schema import F_SNAPSHOT

__all__ = ["VENUE", "KrakenCaptureImporter", "KrakenRestOhlcImporter", "KrakenRestTradesImporter"]

VENUE = "kraken"
_BOOK_KEYS = (("as", -1, F_SNAPSHOT), ("bs", 1, F_SNAPSHOT), ("a", -1, 0), ("b", 1, 0))


# -- WebSocket v1 capture ----------------------------------------------------------------------

class KrakenCaptureImporter:
    """Kraken WS v1 book (and trade/spread) channels from a cryptofeed capture."""

    name = "kraken-cryptofeed"
    description = "Kraken WS v1 capture (cryptofeed raw): book-N snapshot/updates, trade, spread"

    def sniff(self, path: Path, head: str) -> bool:
        """Recognise the capture by its connection URL (ws.kraken.com)."""
        return sniff_capture(head, ("kraken.com",), ('"book-', '"channelName":"book'))

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Stream book, trade and quote rows in capture order."""
        ws = _WsContext(path, ctx, ctx.venue or VENUE)
        return capture_records(path, ctx, lambda cap: _parse_ws(cap, ws))


def _level_rows(cap: CaptureLine, ws: _WsContext, symbol: str, levels: list[Any], *, side: int,
                flags: int, where: str) -> list[tuple[Any, ...]]:
    rows = []
    for i, level in enumerate(levels):
        try:
            price = fixed(level[0], f"{where}[{i}].price")
        except RangeError as exc:
            # Kraken books hold placeholder orders such as an ask at 9999999997: the level is
            # reported on its own (and dropped with --skip-bad) rather than losing the message.
            ws.ctx.bad(ws.path, cap.line, exc.field_name, exc.reason)
            continue
        rows.append(book_row(decimal_to_ns(level[2], f"{where}[{i}].time"), cap.ts_recv, ws.venue, symbol,
                             side=side, price=price, size=fixed(level[1], f"{where}[{i}].volume"),
                             flags=flags))
    return rows


@dataclass(frozen=True, slots=True)
class _WsContext:
    path: Path
    ctx: ImportContext
    venue: str


def _parse_ws(cap: CaptureLine, ws: _WsContext) -> list[Record]:
    msg = cap.message
    venue = ws.venue
    if isinstance(msg, dict):
        if msg.get("event") == "error" or msg.get("status") == "error":
            raise FieldError("event", f"venue error: {msg.get('errorMessage')!r}")
        return []  # heartbeat, systemStatus, subscriptionStatus
    if not isinstance(msg, list) or len(msg) < 4:
        raise FieldError("message", "expected [channelID, payload..., channelName, pair]")
    channel, symbol = str(msg[-2]), ws.ctx.symbol or str(msg[-1])
    payloads = msg[1:-2]
    if channel.startswith("book"):
        rows = []
        for payload in payloads:
            for key, side, flags in _BOOK_KEYS:
                if key in payload:
                    rows.extend(_level_rows(cap, ws, symbol, payload[key], side=side, flags=flags,
                                            where=key))
        return [("book", row) for row in mark_last(rows)]
    if channel == "trade":
        return [("trades", (decimal_to_ns(t[2], f"trades[{i}].time"), cap.ts_recv, venue, symbol,
                            fixed(t[0], f"trades[{i}].price"), fixed(t[1], f"trades[{i}].volume"),
                            side_from(t[3], f"trades[{i}].side", ("b",), ("s",)), ""))
                for i, t in enumerate(payloads[0])]
    if channel == "spread":
        s = payloads[0]
        return [("quotes", (decimal_to_ns(s[2], "spread.time"), cap.ts_recv, venue, symbol,
                            fixed(s[0], "spread.bid"), fixed(s[3], "spread.bidVolume"),
                            fixed(s[1], "spread.ask"), fixed(s[4], "spread.askVolume"), -1))]
    raise FieldError("channelName", f"unsupported Kraken channel {channel!r}")


# -- REST responses --------------------------------------------------------------------------

_REST_HEAD = re.compile(
    r'^\s*\{\s*"error"\s*:\s*\[[^\]]*\]\s*,\s*"result"\s*:\s*\{\s*"[^"]+"\s*:\s*\[\s*\[\s*(\S)'
)


def _rest_kind(head: str) -> str | None:
    """``trades`` when rows start with a quoted price, ``ohlc`` when they start with a time."""
    match = _REST_HEAD.match(head)
    if match is None:
        return None
    return "trades" if match.group(1) == '"' else "ohlc" if match.group(1).isdigit() else None


def _rest_items(path: Path) -> tuple[dict[str, Any], Iterator[tuple[str, int, list[Any]]]]:
    """The decoded document and an iterator of ``(pair, line, item)`` over its result arrays.

    Items are decoded one at a time from the text (``raw_decode`` from each item's offset) so
    every item knows the line it starts on.
    """
    text = path.read_text(encoding="utf-8")
    try:
        doc = loads_exact(text)
    except ValueError as exc:
        raise DataFormatError(path, None, None, f"invalid JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("result"), dict):
        raise DataFormatError(path, None, "result", "not a Kraken REST response")
    if doc.get("error"):
        raise DataFormatError(path, None, "error", f"a Kraken error response, not data: {doc['error']}")
    decoder = json.JSONDecoder(parse_float=Decimal)

    def items() -> Iterator[tuple[str, int, list[Any]]]:
        for pair in (key for key in doc["result"] if key != "last"):
            start = re.search(rf'"{re.escape(pair)}"\s*:\s*\[', text)
            if start is None:
                raise DataFormatError(path, None, pair, "result array not found")
            pos, line, counted = start.end(), 1, 0
            while True:
                while text[pos] in " \t\r\n,":
                    pos += 1
                if text[pos] == "]":
                    break
                line += text.count("\n", counted, pos)
                counted = pos
                item, pos = decoder.raw_decode(text, pos)
                yield pair, line, item

    return doc, items()


class KrakenRestTradesImporter:
    """Kraken REST ``/0/public/Trades`` response -> ``trades``."""

    name = "kraken-rest-trades"
    description = "Kraken REST Trades JSON response -> trades"

    def sniff(self, path: Path, head: str) -> bool:
        """A Kraken REST envelope whose rows start with a quoted price."""
        return _rest_kind(head) == "trades"

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Yield one trade per array item, in response order."""
        _doc, items = _rest_items(path)
        venue = ctx.venue or VENUE
        for pair, line, item in items:
            parse = functools.partial(_rest_trade, venue, ctx.symbol or pair, item)
            yield from guarded(path, ctx, line, parse)


def _rest_trade(venue: str, symbol: str, item: list[Any]) -> list[Record]:
    ts = decimal_to_ns(item[2], "time")
    return [("trades", (ts, ts, venue, symbol, fixed(item[0], "price"), fixed(item[1], "volume"),
                        side_from(item[3], "side", ("b",), ("s",)), str(item[6])))]


class KrakenRestOhlcImporter:
    """Kraken REST ``/0/public/OHLC`` response -> ``candles`` (committed bars only)."""

    name = "kraken-rest-ohlc"
    description = "Kraken REST OHLC JSON response -> candles (drops the still-forming last bar)"

    def sniff(self, path: Path, head: str) -> bool:
        """A Kraken REST envelope whose rows start with an integer time."""
        return _rest_kind(head) == "ohlc"

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Yield committed bars in ascending time with an inferred interval."""
        doc, items = _rest_items(path)
        last = doc["result"].get("last")
        last_ns = None if last is None else decimal_to_ns(last, "last")
        if last_ns is not None:
            forming = sum(1 for pair, bars in doc["result"].items() if pair != "last"
                          for bar in bars if isinstance(bar, list) and bar and isinstance(bar[0], int)
                          and bar[0] * 1_000_000_000 > last_ns)
            ctx.metadata["harness.kraken.dropped_forming_bars"] = str(forming)
        venue = ctx.venue or VENUE

        def bars() -> Iterator[tuple[int, int, CandleValues]]:
            for pair, line, item in items:
                parse = functools.partial(_rest_bar, venue, ctx.symbol or pair, item)
                for ts, values in guarded(path, ctx, line, parse):
                    if last_ns is None or ts <= last_ns:
                        yield line, ts, values

        yield from emit_candles(path, ctx, bars())


def _rest_bar(venue: str, symbol: str, item: list[Any]) -> list[tuple[int, CandleValues]]:
    values = (venue, symbol, fixed(item[1], "open"), fixed(item[2], "high"), fixed(item[3], "low"),
              fixed(item[4], "close"), fixed(item[6], "volume"))
    return [(decimal_to_ns(item[0], "time"), check_ohlc(values))]


register(KrakenCaptureImporter())
register(KrakenRestTradesImporter())
register(KrakenRestOhlcImporter())

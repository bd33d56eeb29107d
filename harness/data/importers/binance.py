"""Importers for raw Binance recordings (spot ``binance``, USD-M ``binance-usdm``, COIN-M ``binance-coinm``).

* ``binance-hftbacktest``: hftbacktest collector files (usually gzip), one message per line as
  ``<local_ns> <json>``: combined-stream depth diffs, bookTicker, trade/aggTrade, kline, plus
  the REST depth snapshot line ``{"lastUpdateId": ...}``.
* ``binance-cryptofeed``: cryptofeed raw captures (``BINANCE.ws.*``, ``BINANCE.http.*``,
  ``BINANCE_FUTURES.*``): ``<url> <-> <t>`` connection lines, ``<url> -> <t>: <json>`` REST
  responses, ``<t>: <json>`` received messages, with ``t`` in decimal seconds.
* ``binance-depth-json``: one pretty-printed ``depthUpdate`` (or a JSON list of them), as in
  Basana's test data. The document is parsed whole (it is one message, not a stream).

The CSV layouts (Nautilus depth CSV, Binance kline CSV) live in ``binance_csv``.

Every importer streams line by line and makes two passes over the first ``PROFILE_LINES``
lines only: one to learn the market and the recorder's clock offset (see ``binance_msgs``),
then the real pass. The offset and how it was used are stored in ``ctx.metadata``.

``ts_event`` is the matching engine's transaction time ``T`` wherever a message has it (trades;
futures depth diffs, bookTicker and REST snapshots), else the event time ``E`` (spot depth);
see ``binance_msgs`` for why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import harness.data.importers.binance_csv  # noqa: F401  (registers the CSV importers)
from harness.data.importers.base import ImportContext, Record, open_text, open_text_for, register
from harness.data.importers.binance_msgs import (
    COINM,
    PROFILE_LINES,
    SPOT,
    USDM,
    Converter,
    FieldError,
    estimate_profile,
    loads,
    seconds_text_to_ns,
)

__all__ = ["CryptofeedImporter", "DepthJsonImporter", "HftbacktestImporter", "LineParser", "read_lines",
           "venue_from_url"]


@dataclass
class _State:
    """What header lines of a capture said so far: market (from the URL) and REST symbol."""

    venue: str | None = None
    symbol: str | None = None


LineParser = Callable[[str, _State], tuple[int | None, str] | None]
"""Splits one raw line into (receive ns, JSON text), or None for lines without market data."""


def venue_from_url(url: str) -> str:
    """Market from a Binance host: ``fstream``/``fapi`` USD-M, ``dstream``/``dapi`` COIN-M, else spot."""
    host = urlsplit(url).hostname or ""
    if host.startswith(("fstream", "fapi")):
        return USDM
    if host.startswith(("dstream", "dapi")):
        return COINM
    return SPOT


def _hft_line(line: str, state: _State) -> tuple[int | None, str] | None:
    stamp, sep, text = line.partition(" ")
    if not sep:
        raise FieldError("local_ts", "expected '<local_ns> <json>'")
    if not stamp.isdigit():
        raise FieldError("local_ts", f"not an integer ns timestamp: {stamp!r}")
    return int(stamp), text


def _cryptofeed_line(line: str, state: _State) -> tuple[int | None, str] | None:
    if line.startswith(("wss://", "ws://", "https://", "http://")):
        url, _, rest = line.partition(" ")
        if rest.startswith("<-> "):  # connection opened
            state.venue = venue_from_url(url)
            return None
        if rest.startswith("<- "):  # something the client sent (subscriptions)
            return None
        if rest.startswith("-> "):  # a REST response
            state.venue = venue_from_url(url)
            symbols = parse_qs(urlsplit(url).query).get("symbol")
            state.symbol = symbols[0].upper() if symbols else None
            line = rest[3:]
        else:
            raise FieldError("header", "expected '<url> <-> t', '<url> <- t: json' or '<url> -> t: json'")
    stamp, sep, text = line.partition(": ")
    if not sep:
        raise FieldError("ts", "expected '<seconds>: <json>'")
    return seconds_text_to_ns(stamp), text


def _messages(path: Path, parse_line: LineParser, limit: int) -> Iterator[tuple[int | None, dict[str, Any]]]:
    """The first ``limit`` well-formed messages (for the profiling pass; bad lines are skipped)."""
    state = _State()
    with open_text(path, lenient=True) as handle:
        for raw in islice(handle, limit):
            try:
                parsed = parse_line(raw.strip(), state)
                if parsed is not None:
                    yield parsed[0], loads(parsed[1])
            except FieldError:
                continue


def read_lines(path: Path, ctx: ImportContext, parse_line: LineParser) -> Iterator[Record]:
    """Stream one line-oriented Binance capture as canonical records."""
    profile = estimate_profile(_messages(path, parse_line, PROFILE_LINES))
    ctx.metadata.update(profile.metadata())
    default_symbol = ctx.symbol or (profile.symbols[0] if len(profile.symbols) == 1 else None)
    converter = Converter(venue=ctx.venue or profile.venue or SPOT, offset_ns=profile.offset_ns or 0,
                          default_symbol=default_symbol)
    state = _State()
    with open_text_for(path, ctx) as handle:
        for line_no, raw in enumerate(handle, 1):
            line = raw.strip()
            if not line:
                continue
            ctx.line = line_no
            try:
                parsed = parse_line(line, state)
                if parsed is None:
                    continue
                records = converter.convert(loads(parsed[1]), parsed[0], venue=ctx.venue or state.venue,
                                            symbol=ctx.symbol or state.symbol)
            except FieldError as bad:
                ctx.bad(path, line_no, bad.field_name, bad.reason)
                continue
            yield from records


_HFT_HEAD = re.compile(r"\A\s*\d{16,20} \{")
_BINANCE_STREAM = re.compile(r'"stream":"[a-z0-9_]+@(depth|bookTicker|trade|aggTrade|kline)|"lastUpdateId"')
_CRYPTOFEED_HEAD = re.compile(r"\A(wss?|https?)://[^ ]*binance[^ ]* (<->|->|<-) ")
_DEPTH_EVENT = re.compile(r'"e"\s*:\s*"depthUpdate"')


class HftbacktestImporter:
    """hftbacktest ``<local_ns> <json>`` Binance recordings (spot, USD-M, COIN-M)."""

    name = "binance-hftbacktest"
    description = "hftbacktest Binance recordings '<local_ns> <json>' (depth, bookTicker, trades, snapshot)"

    def sniff(self, path: Path, head: str) -> bool:
        """A leading ns timestamp then JSON, with Binance stream names or a REST snapshot."""
        return bool(_HFT_HEAD.match(head)) and bool(_BINANCE_STREAM.search(head))

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Stream the file's book, quote, trade and candle rows in file order."""
        return read_lines(path, ctx, _hft_line)


class CryptofeedImporter:
    """cryptofeed raw captures of Binance spot / futures WebSocket and REST traffic."""

    name = "binance-cryptofeed"
    description = "cryptofeed BINANCE* / BINANCE_FUTURES* raw WebSocket and REST captures"

    def sniff(self, path: Path, head: str) -> bool:
        """The capture's first line is a Binance URL with a cryptofeed direction marker."""
        return bool(_CRYPTOFEED_HEAD.match(head))

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Stream every symbol of the capture (symbol is a column) in file order."""
        return read_lines(path, ctx, _cryptofeed_line)


class DepthJsonImporter:
    """A JSON document holding one Binance ``depthUpdate`` event or a list of them."""

    name = "binance-depth-json"
    description = "a pretty-printed Binance depthUpdate JSON document (e.g. Basana test data)"

    def sniff(self, path: Path, head: str) -> bool:
        """A ``.json`` file starting with an object or list and mentioning depthUpdate."""
        text = head.lstrip()
        return path.suffix == ".json" and text[:1] in ("{", "[") and bool(_DEPTH_EVENT.search(head))

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Rows of each event; with no receive time recorded, ``ts_recv = ts_event`` (``T``, else ``E``)."""
        with open_text_for(path, ctx) as handle:
            try:
                document = json.load(handle)
            except ValueError as exc:
                ctx.bad(path, getattr(exc, "lineno", None), "json", f"invalid JSON: {exc}")
                return
        events = document if isinstance(document, list) else [document]
        ctx.metadata["harness.ts_recv_note"] = "no receive time in the source: ts_recv = ts_event (T, else E)"
        for index, event in enumerate(events, 1):
            if not isinstance(event, dict):
                ctx.bad(path, None, "json", f"event {index}: expected an object")
                continue
            try:
                venue = ctx.venue or (USDM if "pu" in event else SPOT)
                records = Converter(venue=venue).convert(event, None)
            except FieldError as bad:
                ctx.bad(path, None, bad.field_name, f"event {index}: {bad.reason}")
                continue
            yield from records


register(HftbacktestImporter())
register(CryptofeedImporter())
register(DepthJsonImporter())

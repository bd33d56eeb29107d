"""Binance market-data messages to canonical rows, shared by the Binance importers.

Handles the WebSocket payloads (combined-stream wrapper or bare): ``depthUpdate`` (spot and
futures, with ``pu``), ``bookTicker`` (spot: only ``u``; futures: ``e``/``E``/``T``), ``trade``,
``aggTrade``, closed ``kline``s, and the REST depth snapshot ``{"lastUpdateId", bids, asks}``.

Timestamps: ``ts_event`` is the matching engine's time in ns: ``T`` (transaction time) where the
message has one, else ``E`` (event time, when the venue pushed the message). Trades always
carry ``T``; futures (USD-M, COIN-M) depth diffs, bookTicker and REST snapshots carry both, and
``E`` there is later (the time the stream published what happened at ``T``): on the shipped
hftbacktest samples of 2024-08-08, E - T of depth diffs is 2 ms at the median, 16 ms at the
99th percentile and at most 89 ms on USD-M BTCUSDT; 11 / 22 / 63 ms on COIN-M BTCUSD_PERP.
Spot depth diffs carry only ``E`` (the end of their 100 ms window). Using ``T`` keeps a
futures diff, the trades it reflects and the quotes of the same moment on one clock, so a
replay ordered by ``ts_event`` shows the venue the book change when it happened.
Messages without an exchange time (spot bookTicker, spot REST snapshot) get
``ts_recv - clock_offset``, where the offset is the median of ``local - E`` measured over the
first lines of the same file (``estimate_profile``), so their ``ts_event`` sits on the exchange
clock like the others. Nothing here uses floats: decimal strings go through
``harness.money.to_fixed`` and time texts are parsed digit by digit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.data.importers.base import Record, Row
from harness.data.schema import F_LAST, F_SNAPSHOT
from harness.money import INT64_MAX, MoneyError, to_fixed

__all__ = [
    "COINM",
    "OFFSET_KEY",
    "OFFSET_NOTE_KEY",
    "PROFILE_LINES",
    "SPOT",
    "USDM",
    "Converter",
    "FieldError",
    "Profile",
    "book_rows",
    "estimate_profile",
    "exchange_ns",
    "fixed",
    "int_field",
    "loads",
    "ms_ns",
    "payload",
    "seconds_text_to_ns",
    "str_field",
    "venue_evidence",
]

SPOT = "binance"
USDM = "binance-usdm"
COINM = "binance-coinm"
PROFILE_LINES = 2000
_MS = 1_000_000

OFFSET_KEY = "harness.clock_offset_ns"
OFFSET_NOTE_KEY = "harness.clock_offset_note"


class FieldError(Exception):
    """A message field is missing or malformed; the reader turns it into ``ctx.bad``."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field_name = field_name
        self.reason = reason


_FIXED_CACHE: dict[str, int] = {}
_FIXED_CACHE_MAX = 262_144


def fixed(value: object, field_name: str) -> int:
    """A venue decimal string as fixed-point int, or ``FieldError`` naming the field.

    Book messages repeat the same price and size texts over and over, so parsed values are
    memoised (bounded; cleared when full): the parse is the importer's main cost otherwise.
    """
    if type(value) is not str:
        raise FieldError(field_name, f"expected a decimal string, got {value!r}")
    units = _FIXED_CACHE.get(value)
    if units is not None:
        return units
    try:
        units = to_fixed(value)
    except MoneyError as exc:
        raise FieldError(field_name, str(exc)) from None
    if units > INT64_MAX or units < -INT64_MAX:
        raise FieldError(field_name, f"{value!r} does not fit int64 fixed-point")
    if len(_FIXED_CACHE) >= _FIXED_CACHE_MAX:
        _FIXED_CACHE.clear()
    _FIXED_CACHE[value] = units
    return units


def ms_ns(data: dict[str, Any], key: str) -> int:
    """An integer millisecond field as ns (``FieldError`` if missing or not an int)."""
    value = data.get(key)
    if type(value) is not int:
        raise FieldError(key, "missing" if value is None else f"expected integer ms, got {value!r}")
    return value * _MS


def exchange_ns(data: dict[str, Any]) -> int:
    """The message's matching-engine time in ns: ``T`` when present, else ``E`` (see module doc)."""
    return ms_ns(data, "T") if "T" in data else ms_ns(data, "E")


def int_field(data: dict[str, Any], key: str) -> int:
    """A required integer field (update ids, trade ids)."""
    value = data.get(key)
    if type(value) is not int:
        raise FieldError(key, "missing" if value is None else f"expected an integer, got {value!r}")
    return value


def str_field(data: dict[str, Any], key: str) -> str:
    """A required non-empty string field (symbols)."""
    value = data.get(key)
    if type(value) is not str or not value:
        raise FieldError(key, "missing" if value is None else f"expected a string, got {value!r}")
    return value


def seconds_text_to_ns(text: str, field_name: str = "ts") -> int:
    """Decimal seconds text (``"1633998512.0633569"``) to ns, exactly, without float arithmetic.

    Digits beyond nanoseconds are truncated (they are below the clock's resolution anyway).
    """
    whole, _, frac = text.strip().partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        raise FieldError(field_name, f"not a decimal seconds timestamp: {text!r}")
    return int(whole) * 1_000_000_000 + int(frac[:9].ljust(9, "0") or "0")


def loads(text: str) -> dict[str, Any]:
    """Parse one JSON object (``FieldError('json', ...)`` on bad JSON or a non-object)."""
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise FieldError("json", f"invalid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise FieldError("json", f"expected a JSON object, got {type(obj).__name__}")
    return obj


def payload(msg: dict[str, Any]) -> dict[str, Any]:
    """The event inside a combined-stream wrapper ``{"stream", "data"}``, or the message itself."""
    data = msg.get("data")
    if isinstance(data, dict) and "stream" in msg:
        return data
    return msg


def venue_evidence(data: dict[str, Any]) -> str | None:
    """What one payload says about the market: USD-M, COIN-M, spot, or None if undecided.

    Futures payloads carry ``pu`` (depth), ``e``+``E`` (bookTicker) or ``E`` (REST snapshot);
    COIN-M ones add the pair (``ps``/``pair``) or have an inverse symbol like ``BTCUSD_PERP``.
    """
    symbol = data.get("s") or data.get("symbol")
    coin = "ps" in data or "pair" in data or (
        isinstance(symbol, str) and "_" in symbol and symbol.split("_", 1)[0].endswith("USD"))
    if coin:
        return COINM
    event = data.get("e")
    if "pu" in data or (event == "bookTicker") or ("lastUpdateId" in data and "E" in data):
        return USDM
    if event == "depthUpdate" or ("u" in data and "b" in data and "e" not in data):
        return SPOT
    return None


@dataclass
class Profile:
    """What a first pass over a file's head learned: market, clock offset, symbols."""

    venue: str | None = None
    offset_ns: int | None = None
    samples: int = 0
    symbols: list[str] = field(default_factory=list)

    def metadata(self) -> dict[str, str]:
        """File metadata recording how missing exchange times were estimated."""
        if self.offset_ns is None:
            return {OFFSET_KEY: "0", OFFSET_NOTE_KEY: (
                "no message with an exchange time in the first lines: ts_event = ts_recv "
                "for messages without one")}
        return {OFFSET_KEY: str(self.offset_ns), OFFSET_NOTE_KEY: (
            f"ts_event of messages without exchange time (spot bookTicker, REST snapshot) = "
            f"ts_recv - offset, offset = {self.offset_ns} ns = the median of ts_recv - E over "
            f"{self.samples} messages in the first {PROFILE_LINES} lines")}


def estimate_profile(messages: Iterable[tuple[int | None, dict[str, Any]]]) -> Profile:
    """First pass: median ``local - E`` (integer, lower median), market evidence and symbols."""
    diffs: list[int] = []
    votes: dict[str, int] = {}
    symbols: list[str] = []
    for recv, msg in messages:
        data = payload(msg)
        event_ms = data.get("E")
        if recv is not None and type(event_ms) is int:
            diffs.append(recv - event_ms * _MS)
        evidence = venue_evidence(data)
        if evidence is not None:
            votes[evidence] = votes.get(evidence, 0) + 1
        symbol = data.get("s") or data.get("symbol")
        if isinstance(symbol, str) and symbol not in symbols:
            symbols.append(symbol)
    profile = Profile(symbols=symbols, samples=len(diffs))
    if diffs:
        diffs.sort()
        profile.offset_ns = diffs[(len(diffs) - 1) // 2]
    if COINM in votes:
        profile.venue = COINM
    elif USDM in votes:
        profile.venue = USDM
    elif votes:
        profile.venue = SPOT
    return profile


def _levels(rows: list[Row], head: tuple[Any, ...], levels: object, *, side: int, name: str,
            tail: tuple[int, int, int]) -> None:
    if not isinstance(levels, list):
        raise FieldError(name, f"expected a list of [price, qty], got {levels!r}")
    for level in levels:
        if not isinstance(level, list) or len(level) < 2:
            raise FieldError(name, f"expected [price, qty], got {level!r}")
        rows.append((*head, side, fixed(level[0], name + ".price"), fixed(level[1], name + ".qty"),
                     *tail, 0))


def book_rows(head: tuple[Any, ...], bids: object, asks: object, *, bid_name: str, ask_name: str,
              ids: tuple[int, int, int], snapshot: bool) -> list[Row]:
    """Book rows for one message; flags mark snapshot rows and the message's last row.

    A message without levels still yields one row (side 0, price 0, size 0) so that its update
    ids reach the book synchronizer and the sequence chain is not broken by an empty diff.
    """
    rows: list[Row] = []
    _levels(rows, head, bids, side=1, name=bid_name, tail=ids)
    _levels(rows, head, asks, side=-1, name=ask_name, tail=ids)
    base = F_SNAPSHOT if snapshot else 0
    if not rows:
        return [(*head, 0, 0, 0, *ids, base | F_LAST)]
    if base:
        rows = [(*row[:-1], base) for row in rows]
    last = rows[-1]
    rows[-1] = (*last[:-1], base | F_LAST)
    return rows


@dataclass
class Converter:
    """Turns parsed Binance messages into canonical records for one file."""

    venue: str
    offset_ns: int = 0
    default_symbol: str | None = None

    def convert(self, msg: dict[str, Any], recv: int | None, *, venue: str | None = None,
                symbol: str | None = None) -> list[Record]:
        """All records of one message (complete, or ``FieldError`` before any is returned).

        ``recv`` is the local receive time in ns (None when the source has none: then
        ``ts_recv = ts_event``). ``venue``/``symbol`` override the file-level defaults (the
        REST snapshot names no symbol; cryptofeed gives it in the request URL).
        """
        data = payload(msg)
        venue = venue or self.venue
        if "lastUpdateId" in data:
            return self._snapshot(data, recv, venue, symbol or self.default_symbol)
        event = data.get("e")
        if event == "depthUpdate":
            ts = exchange_ns(data)
            first, last = int_field(data, "U"), int_field(data, "u")
            prev = data.get("pu", -1)
            if type(prev) is not int:
                raise FieldError("pu", f"expected an integer, got {prev!r}")
            head = (ts, ts if recv is None else recv, venue, str_field(data, "s"))
            return [("book", row) for row in book_rows(head, data.get("b"), data.get("a"), bid_name="b",
                                                       ask_name="a", ids=(first, last, prev),
                                                       snapshot=False)]
        if event in ("trade", "aggTrade"):
            return [("trades", self._trade(data, recv, venue, event))]
        if event == "bookTicker" or (event is None and "u" in data and "B" in data):
            return [("quotes", self._quote(data, recv, venue))]
        if event == "kline":
            return self._kline(data, recv, venue)
        return []  # other events (subscription acks, markPrice, ...) are not market data we keep

    def _estimated(self, data: dict[str, Any], recv: int | None) -> tuple[int, int]:
        """(ts_event, ts_recv): the exchange time (``T``, else ``E``), else ``recv - offset``."""
        if "T" in data or "E" in data:
            ts = exchange_ns(data)
            return ts, ts if recv is None else recv
        if recv is None:
            raise FieldError("E", "no exchange time and no receive time")
        return recv - self.offset_ns, recv

    def _snapshot(self, data: dict[str, Any], recv: int | None, venue: str,
                  symbol: str | None) -> list[Record]:
        last = int_field(data, "lastUpdateId")
        symbol = data.get("symbol") or symbol
        if not isinstance(symbol, str):
            raise FieldError("symbol", "REST snapshot names no symbol and the file gives none")
        ts, recv_ns = self._estimated(data, recv)
        head = (ts, recv_ns, venue, symbol)
        rows = book_rows(head, data.get("bids"), data.get("asks"), bid_name="bids", ask_name="asks",
                         ids=(-1, last, -1), snapshot=True)
        return [("book", row) for row in rows]

    def _quote(self, data: dict[str, Any], recv: int | None, venue: str) -> Row:
        ts, recv_ns = self._estimated(data, recv)
        return (ts, recv_ns, venue, str_field(data, "s"), fixed(data.get("b"), "b"),
                fixed(data.get("B"), "B"), fixed(data.get("a"), "a"), fixed(data.get("A"), "A"),
                int_field(data, "u"))

    @staticmethod
    def _trade(data: dict[str, Any], recv: int | None, venue: str, event: str) -> Row:
        ts = exchange_ns(data)
        maker = data.get("m")
        if type(maker) is not bool:
            raise FieldError("m", f"expected true/false, got {maker!r}")
        trade_id = int_field(data, "t" if event == "trade" else "a")
        # m = true: the buyer was the maker, so the aggressor sold.
        return (ts, ts if recv is None else recv, venue, str_field(data, "s"), fixed(data.get("p"), "p"),
                fixed(data.get("q"), "q"), -1 if maker else 1, str(trade_id))

    @staticmethod
    def _kline(data: dict[str, Any], recv: int | None, venue: str) -> list[Record]:
        k = data.get("k")
        if not isinstance(k, dict):
            raise FieldError("k", "missing kline object")
        if k.get("x") is not True:
            return []  # a bar still forming: only closed bars are candles
        open_ns, close_ns = ms_ns(k, "t"), ms_ns(k, "T")
        row = (open_ns, close_ns + _MS if recv is None else recv, venue, str_field(data, "s"),
               close_ns + _MS - open_ns, fixed(k.get("o"), "k.o"), fixed(k.get("h"), "k.h"),
               fixed(k.get("l"), "k.l"), fixed(k.get("c"), "k.c"), fixed(k.get("v"), "k.v"))
        return [("candles", row)]


"""Value checks on canonical rows: what parses but must not reach a replay.

Run by ``harness data import`` on every row (strict: the first problem is an error naming
file:line:field; ``--skip-bad``: the row is dropped and counted per reason) and by ``harness
data verify`` (counted and reported). The rules:

* prices: a trade's or a candle's price must be positive; a quote side or book level may be
  0 only when its size is 0 too (an empty side, or the id-only row of an empty book message);
* sizes: a trade's size must be positive; quote, book and volume sizes must not be negative;
* trade order, per (venue, symbol), in the order the rows come (file order; several files
  in the order given): a trade whose ``ts_event`` is earlier than the latest ``ts_event`` of
  that stream so far is *out of order*; equal times are fine (venues stamp many trades of one
  match with one time). A trade is a *duplicate* when it repeats the ``(ts_event, trade_id)``
  of an earlier trade of the stream: every earlier trade at the same time is remembered, and
  the last ``RECENT_TRADES`` trades classify a repeat that arrives after later trades (that
  one is also out of order; it is reported as the duplicate it is). Trades with an empty
  ``trade_id`` (venues that send none) are checked for order only. Ids are compared as text,
  never as numbers: many venues use UUIDs or strings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.money import from_fixed

__all__ = [
    "DUPLICATE",
    "NEGATIVE_SIZE",
    "NON_POSITIVE_PRICE",
    "NON_POSITIVE_SIZE",
    "OUT_OF_ORDER",
    "RECENT_TRADES",
    "VALUE_CHECKS",
    "Problem",
    "RowChecks",
    "TradeOrder",
    "value_problem",
]

RECENT_TRADES = 4096
"""Trades per stream remembered to tell a late repeat (a duplicate) from a late new trade."""

NON_POSITIVE_PRICE = "non-positive price"
NON_POSITIVE_SIZE = "non-positive size"
NEGATIVE_SIZE = "negative size"
OUT_OF_ORDER = "out-of-order trade"
DUPLICATE = "duplicate trade"


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a row is refused: the field at fault, a short category for counts, and a sentence."""

    field: str
    category: str
    reason: str


def _value(units: int) -> str:
    return str(from_fixed(units))


def _positive(row: tuple[Any, ...], index: int, name: str, category: str) -> Problem | None:
    if row[index] > 0:
        return None
    return Problem(name, category, f"{name} {_value(row[index])} is not positive")


def _side(row: tuple[Any, ...], price: int, size: int, price_name: str, size_name: str) -> Problem | None:
    if row[size] < 0:
        return Problem(size_name, NEGATIVE_SIZE, f"{size_name} {_value(row[size])} is negative")
    if row[price] < 0 or (row[price] == 0 and row[size] != 0):
        return Problem(price_name, NON_POSITIVE_PRICE,
                       f"{price_name} {_value(row[price])} is not positive (size {_value(row[size])})")
    return None


def _trade_values(row: tuple[Any, ...]) -> Problem | None:
    return _positive(row, 4, "price", NON_POSITIVE_PRICE) or _positive(row, 5, "size", NON_POSITIVE_SIZE)


def _quote_values(row: tuple[Any, ...]) -> Problem | None:
    return _side(row, 4, 5, "bid_price", "bid_size") or _side(row, 6, 7, "ask_price", "ask_size")


def _book_values(row: tuple[Any, ...]) -> Problem | None:
    return _side(row, 5, 6, "price", "size")


def _candle_values(row: tuple[Any, ...]) -> Problem | None:
    for index, name in ((5, "open"), (6, "high"), (7, "low"), (8, "close")):
        problem = _positive(row, index, name, NON_POSITIVE_PRICE)
        if problem is not None:
            return problem
    if row[9] < 0:
        return Problem("volume", NEGATIVE_SIZE, f"volume {_value(row[9])} is negative")
    return None


VALUE_CHECKS: dict[str, Callable[[tuple[Any, ...]], Problem | None]] = {
    "trades": _trade_values, "quotes": _quote_values, "book": _book_values, "candles": _candle_values,
}


def value_problem(kind: str, row: tuple[Any, ...]) -> Problem | None:
    """The first price or size problem of one canonical row of ``kind``, or None."""
    return VALUE_CHECKS[kind](row)


@dataclass
class _TradeStream:
    """Order state of one (venue, symbol) trade stream."""

    last_ts: int | None = None
    ids_at_last_ts: set[str] = field(default_factory=set)
    recent: dict[tuple[int, str], None] = field(default_factory=dict)  # insertion order = age


class TradeOrder:
    """Per (venue, symbol): trades never go back in ``ts_event`` and no (ts_event, id) repeats.

    ``check`` returns the problem of a trade row, or None after recording the trade as seen;
    a refused trade is not recorded, so one bad row does not move the stream's state.
    """

    def __init__(self, recent: int = RECENT_TRADES) -> None:
        self._streams: dict[tuple[str, str], _TradeStream] = {}
        self._recent = recent
        self.checked: Counter[tuple[str, str]] = Counter()

    def check(self, row: tuple[Any, ...]) -> Problem | None:
        """Check one ``trades`` row in stream order (see the module docstring for the rules)."""
        key = (row[2], row[3])
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _TradeStream()
        self.checked[key] += 1
        ts, trade_id = row[0], row[7]
        last = stream.last_ts
        if last is not None and ts <= last:
            if trade_id and ((ts == last and trade_id in stream.ids_at_last_ts)
                             or (ts, trade_id) in stream.recent):
                return Problem("trade_id", DUPLICATE, f"trade id {trade_id!r} at ts_event {ts} repeats an "
                               f"earlier trade of {key[0]} {key[1]}")
            if ts < last:
                return Problem("ts_event", OUT_OF_ORDER, f"ts_event {ts} is before {last}, the latest trade of "
                               f"{key[0]} {key[1]} so far (trades must be in time order; equal times are fine)")
        if last is None or ts > last:
            stream.last_ts = ts
            stream.ids_at_last_ts = set()
        if trade_id:
            stream.ids_at_last_ts.add(trade_id)
            stream.recent[(ts, trade_id)] = None
            if len(stream.recent) > self._recent:
                del stream.recent[next(iter(stream.recent))]
        return None


class RowChecks:
    """All checks of one stream of canonical records: values of every kind, order of trades."""

    def __init__(self) -> None:
        self.trades = TradeOrder()

    def problem(self, kind: str, row: tuple[Any, ...]) -> Problem | None:
        """The row's problem, or None (then a trade is recorded as seen)."""
        problem = VALUE_CHECKS[kind](row)
        if problem is None and kind == "trades":
            problem = self.trades.check(row)
        return problem

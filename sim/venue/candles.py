"""OHLCV bars built from a simulated venue's public trades, for ``get_candles``.

A venue answers candle queries from its own trade tape. ``CandleBuilder`` keeps one-minute
base bars per symbol (a bounded history, like a venue's kline endpoint serves a bounded
range) and aggregates them to any whole number of minutes on request. Bars are aligned to the
epoch, as Binance's klines are. Updating a bar is a few integer operations per trade, so it
sits on the replay hot path without measurable cost.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt

from harness.contract import InvalidRequestError
from harness.model import Candle, Trade

__all__ = ["BASE_INTERVAL_NS", "CandleBuilder"]

BASE_INTERVAL_NS = 60_000_000_000
"""One minute: the finest bar kept, and the unit every requested interval must be a multiple of."""

Int64Array = npt.NDArray[np.int64]

_VECTOR_MIN = 96
"""Below this many trades a fold works on Python lists: numpy's fixed cost would exceed the per-trade work."""

_PENDING_ROWS = 262_144
"""Rows ``add_many`` may keep unfolded (views into the feed's batches) before it folds them."""


class CandleBuilder:
    """Per-symbol one-minute bars from trades; ``candles`` aggregates them to larger intervals."""

    __slots__ = ("_bars", "_current", "_max_bars", "_pending", "_pending_rows", "venue")

    def __init__(self, venue: str, *, max_bars: int = 10_080) -> None:
        self.venue = venue
        self._max_bars = max_bars  # a week of minutes
        self._bars: dict[str, deque[list[int]]] = {}  # [open_ts, open, high, low, close, volume, end_ts]
        self._current: dict[str, list[int]] = {}  # the open bar per symbol (the hot path touches only it)
        self._pending: dict[str, list[tuple[Int64Array, Int64Array, Int64Array]]] = {}  # runs not yet folded
        self._pending_rows = 0

    def add(self, trade: Trade) -> None:
        """Fold one public trade into its minute bar."""
        self.add_values(trade.symbol, trade.ts_event, trade.price, trade.size)

    def add_many(self, symbol: str, ts: Int64Array, price: Int64Array, size: Int64Array) -> None:
        """Fold a run of trades of one symbol (numpy columns) into bars, as ``add`` on each would.

        For the replay's trade fast path. Runs are kept as they come and folded together, one
        numpy reduction per minute touched, when anything reads or adds to this symbol's bars
        or enough rows are waiting; so a replay that nobody asks for candles pays little.
        """
        if not len(ts):
            return
        pending = self._pending.setdefault(symbol, [])
        pending.append((ts, price, size))
        self._pending_rows += len(ts)
        if self._pending_rows >= _PENDING_ROWS:
            for name in list(self._pending):
                self._fold(name)

    def _fold(self, symbol: str) -> None:
        """Fold the runs ``add_many`` kept for ``symbol`` into its bars."""
        runs = self._pending.pop(symbol, None)
        if not runs:
            return
        if len(runs) == 1:
            ts, price, size = runs[0]
        else:
            ts, price, size = (np.concatenate(column) for column in zip(*runs, strict=True))
        self._pending_rows -= len(ts)
        n = len(ts)
        if n < _VECTOR_MIN or bool(np.any(ts[1:] < ts[:-1])):
            self._fold_small(symbol, ts.tolist(), price.tolist(), size.tolist())
            return
        bar = self._current.get(symbol)
        pos = 0
        if bar is not None and int(ts[0]) < bar[0]:  # older than the open bar: dropped, as by ``add``
            pos = int(np.searchsorted(ts, bar[0], side="left"))
        while pos < n:
            # one minute's trades at a time: usually the whole run falls in the open bar
            t0 = int(ts[pos])
            start = t0 - t0 % BASE_INTERVAL_NS
            end = n if int(ts[-1]) < start + BASE_INTERVAL_NS else int(
                np.searchsorted(ts, start + BASE_INTERVAL_NS, side="left"))
            prices = price[pos:end]
            high, low = int(prices.max()), int(prices.min())
            close, volume = int(prices[-1]), int(size[pos:end].sum())
            if bar is not None and bar[0] <= start < bar[6]:
                bar[2] = max(bar[2], high)
                bar[3] = min(bar[3], low)
                bar[4] = close
                bar[5] += volume
            else:
                bars = self._bars.get(symbol)
                if bars is None:
                    bars = self._bars[symbol] = deque(maxlen=self._max_bars)
                bar = [start, int(prices[0]), high, low, close, volume, start + BASE_INTERVAL_NS]
                bars.append(bar)
                self._current[symbol] = bar
            pos = end

    def _fold_small(self, symbol: str, ts: list[int], price: list[int], size: list[int]) -> None:
        """Fold a short (or out-of-order) run as ``add_values`` on each row would.

        The usual case, every row inside the open bar, is a few builtin calls over the lists
        (within a bar only the last price, the extremes and the total matter, whatever the
        order); anything else goes row by row.
        """
        bar = self._current.get(symbol)
        if bar is not None and bar[0] <= min(ts) and max(ts) < bar[6]:
            high, low = max(price), min(price)
            bar[2] = max(bar[2], high)
            bar[3] = min(bar[3], low)
            bar[4] = price[-1]
            bar[5] += sum(size)
            return
        for t, p, q in zip(ts, price, size, strict=True):
            self.add_values(symbol, t, p, q)

    def add_values(self, symbol: str, ts: int, price: int, size: int) -> None:
        """Fold one public trade, given by its fields, into its minute bar."""
        if self._pending and symbol in self._pending:
            self._fold(symbol)
        bar = self._current.get(symbol)
        if bar is not None and bar[0] <= ts < bar[6]:
            if price > bar[2]:
                bar[2] = price
            elif price < bar[3]:
                bar[3] = price
            bar[4] = price
            bar[5] += size
            return
        if bar is not None and ts < bar[0]:
            return  # older than the current bar (an out-of-order tape): venues never rewrite bars
        bars = self._bars.get(symbol)
        if bars is None:
            bars = self._bars[symbol] = deque(maxlen=self._max_bars)
        start = ts - ts % BASE_INTERVAL_NS
        bar = [start, price, price, price, price, size, start + BASE_INTERVAL_NS]
        bars.append(bar)
        self._current[symbol] = bar

    def bar(self, symbol: str, ts_open: int, interval_ns: int) -> Candle | None:
        """The bar of ``interval_ns`` opening at ``ts_open`` (epoch-aligned), as a kline stream closes it.

        An interval without trades gives a flat bar at the previous close with zero volume;
        None before the symbol's first trade. Walks back from the newest minute, so closing
        bars as time goes on costs the minutes of one interval, not the whole history.
        """
        if interval_ns <= 0 or interval_ns % BASE_INTERVAL_NS or ts_open % interval_ns:
            raise InvalidRequestError(f"a bar must open on a whole multiple of its interval, a whole number of "
                                      f"minutes; got {interval_ns} ns at {ts_open}", venue=self.venue)
        self._fold(symbol)
        end = ts_open + interval_ns
        minutes: list[list[int]] = []  # newest first
        previous_close: int | None = None
        for base in reversed(self._bars.get(symbol, ())):
            if base[0] >= end:
                continue
            if base[0] < ts_open:
                previous_close = base[4]
                break
            minutes.append(base)
        if not minutes:
            if previous_close is None:
                return None
            return Candle(ts_open, interval_ns, self.venue, symbol, previous_close, previous_close, previous_close,
                          previous_close, 0)
        return Candle(ts_open, interval_ns, self.venue, symbol, minutes[-1][1], max(m[2] for m in minutes),
                      min(m[3] for m in minutes), minutes[0][4], sum(m[5] for m in minutes))

    def candles(self, symbol: str, interval_ns: int, limit: int, now_ns: int) -> list[Candle]:
        """Up to ``limit`` most recent bars of ``interval_ns`` opened at or before ``now_ns``, oldest first."""
        if interval_ns <= 0 or interval_ns % BASE_INTERVAL_NS:
            raise InvalidRequestError(f"candle interval must be a positive whole number of minutes, got "
                                      f"{interval_ns} ns", venue=self.venue)
        if limit <= 0:
            raise InvalidRequestError(f"candle limit must be positive, got {limit}", venue=self.venue)
        self._fold(symbol)
        merged: list[Candle] = []
        for start, open_, high, low, close, volume, _ in self._bars.get(symbol, ()):
            if start > now_ns:
                break
            bucket = start - start % interval_ns
            if merged and merged[-1].ts_open == bucket:
                last = merged[-1]
                merged[-1] = last._replace(high=max(last.high, high), low=min(last.low, low), close=close,
                                           volume=last.volume + volume)
            else:
                merged.append(Candle(bucket, interval_ns, self.venue, symbol, open_, high, low, close, volume))
        return merged[-limit:]

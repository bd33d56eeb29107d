"""OHLCV bars built from a simulated venue's public trades, for ``get_candles``.

A venue answers candle queries from its own trade tape. ``CandleBuilder`` keeps one-minute
base bars per symbol (a bounded history, like a venue's kline endpoint serves a bounded
range) and aggregates them to any whole number of minutes on request. Bars are aligned to the
epoch, as Binance's klines are. Updating a bar is a few integer operations per trade, so it
sits on the replay hot path without measurable cost.
"""

from __future__ import annotations

from collections import deque

from harness.contract import InvalidRequestError
from harness.model import Candle, Trade

__all__ = ["BASE_INTERVAL_NS", "CandleBuilder"]

BASE_INTERVAL_NS = 60_000_000_000
"""One minute: the finest bar kept, and the unit every requested interval must be a multiple of."""


class CandleBuilder:
    """Per-symbol one-minute bars from trades; ``candles`` aggregates them to larger intervals."""

    __slots__ = ("_bars", "_current", "_max_bars", "venue")

    def __init__(self, venue: str, *, max_bars: int = 10_080) -> None:
        self.venue = venue
        self._max_bars = max_bars  # a week of minutes
        self._bars: dict[str, deque[list[int]]] = {}  # [open_ts, open, high, low, close, volume, end_ts]
        self._current: dict[str, list[int]] = {}  # the open bar per symbol (the hot path touches only it)

    def add(self, trade: Trade) -> None:
        """Fold one public trade into its minute bar."""
        ts = trade.ts_event
        bar = self._current.get(trade.symbol)
        if bar is not None and bar[0] <= ts < bar[6]:
            price = trade.price
            if price > bar[2]:
                bar[2] = price
            elif price < bar[3]:
                bar[3] = price
            bar[4] = price
            bar[5] += trade.size
            return
        if bar is not None and ts < bar[0]:
            return  # older than the current bar (an out-of-order tape): venues never rewrite bars
        bars = self._bars.get(trade.symbol)
        if bars is None:
            bars = self._bars[trade.symbol] = deque(maxlen=self._max_bars)
        start = ts - ts % BASE_INTERVAL_NS
        price = trade.price
        bar = [start, price, price, price, price, trade.size, start + BASE_INTERVAL_NS]
        bars.append(bar)
        self._current[trade.symbol] = bar

    def candles(self, symbol: str, interval_ns: int, limit: int, now_ns: int) -> list[Candle]:
        """Up to ``limit`` most recent bars of ``interval_ns`` opened at or before ``now_ns``, oldest first."""
        if interval_ns <= 0 or interval_ns % BASE_INTERVAL_NS:
            raise InvalidRequestError(f"candle interval must be a positive whole number of minutes, got "
                                      f"{interval_ns} ns", venue=self.venue)
        if limit <= 0:
            raise InvalidRequestError(f"candle limit must be positive, got {limit}", venue=self.venue)
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

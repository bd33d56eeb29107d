"""Closed bars from a simulated venue to its client: the venue's kline stream.

A bar subscription of one symbol and interval receives each bar once its interval has ended,
at the end of the interval (epoch-aligned, as Binance aligns klines) plus market-data
latency, the way a venue's kline stream pushes a closed bar. Where the bar comes from:

* built from the venue's own trade tape (``CandleBuilder``), the default: one timer per
  subscribed (symbol, interval) fires at each close and reads the bar then (every trade before
  the close is in it: market data at a time comes before timers at that time); an interval
  without trades gives a flat bar at the previous close with zero volume, and nothing comes
  before the symbol's first trade. The builder keeps whole minutes, so the interval must be a
  whole number of minutes;
* recorded candles, for the (symbol, interval) pairs the replayed data holds (``recorded``):
  each candle row the feed hands over is delivered at its close (``ts_open + interval_ns``, or
  at once if the row arrives later than that) plus latency; no interval timer runs for them.

The latency is the venue profile's market-data model, drawn on its own seeded stream and FIFO
channel (a kline stream is a connection of its own: a ``sim.channels.PushChannel``, where faults
plug in as on every other stream), so subscribing to bars never changes when trades, quotes or
book messages reach the client. Bars are rare (one per interval), so
each is a calendar item of its own (two: sent, then received) rather than a passenger of the
replay's batches.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from harness.clock import Cancellable, Clock
from harness.contract import BarCallback, InvalidRequestError
from harness.model import Candle
from sim.channels import PushChannel
from sim.venue.candles import BASE_INTERVAL_NS, CandleBuilder

__all__ = ["BarStreams", "BarSubscription"]

_Key = tuple[str, int]
"""(symbol, interval_ns) of one bar stream."""


@dataclass
class BarSubscription:
    """A handle whose ``close`` stops one callback's bars (and the stream's timer with the last one)."""

    streams: BarStreams
    key: _Key
    callback: BarCallback
    closed: bool = field(default=False)

    async def close(self) -> None:
        """Stop delivering bars to the callback (idempotent)."""
        if not self.closed:
            self.closed = True
            self.streams.remove(self.key, self.callback)


class BarStreams:
    """Every bar stream of one simulated venue: subscribers, timers and recorded candles in flight."""

    def __init__(self, venue: str, candles: CandleBuilder, channel: PushChannel, clock: Clock) -> None:
        self.venue = venue
        self.recorded: set[_Key] = set()
        """(symbol, interval_ns) pairs served from recorded candles instead of the trade tape."""
        self._candles = candles
        self._channel = channel
        self._clock = clock
        self._subs: dict[_Key, list[BarCallback]] = {}
        self._timers: dict[_Key, Cancellable] = {}

    def serve_recorded(self, pairs: Collection[_Key]) -> None:
        """Serve these (symbol, interval_ns) pairs from recorded candles (see the module docstring)."""
        self.recorded.update(pairs)

    def subscribe(self, symbol: str, interval_ns: int, callback: BarCallback) -> BarSubscription:
        """Deliver each closed bar of ``symbol`` and ``interval_ns`` to ``callback``.

        Raises ``InvalidRequestError`` for an interval that is neither recorded nor a positive
        whole number of minutes.
        """
        key = (symbol, interval_ns)
        if key not in self.recorded and (interval_ns <= 0 or interval_ns % BASE_INTERVAL_NS):
            raise InvalidRequestError(f"bars of {interval_ns} ns: the simulated venue builds bars of whole minutes "
                                      f"from its trades (or serves the recorded intervals)", venue=self.venue)
        subs = self._subs.setdefault(key, [])
        subs.append(callback)
        if key not in self.recorded and key not in self._timers:
            now = self._clock.now_ns()
            self._arm(key, now - now % interval_ns + interval_ns)
        return BarSubscription(self, key, callback)

    def remove(self, key: _Key, callback: BarCallback) -> None:
        """Drop one subscriber; the stream's timer stops with the last one."""
        subs = self._subs.get(key, [])
        if callback in subs:
            subs.remove(callback)
        if not subs:
            self._subs.pop(key, None)
            timer = self._timers.pop(key, None)
            if timer is not None:
                timer.cancel()

    def on_recorded(self, candle: Candle) -> None:
        """A recorded candle reached the venue (from the feed): it is sent at its close."""
        key = (candle.symbol, candle.interval_ns)
        if key in self._subs and key in self.recorded:
            close = candle.ts_open + candle.interval_ns
            self._clock.call_at(max(self._clock.now_ns(), close), self._send, key, candle)

    def _arm(self, key: _Key, close_ns: int) -> None:
        """At ``close_ns``, send the tape's bar ending then."""
        self._timers[key] = self._clock.call_at(close_ns, self._close, key, close_ns)

    def _close(self, key: _Key, close_ns: int) -> None:
        """The bar ending now is complete (every trade before ``close_ns`` is in): send it, arm the next."""
        symbol, interval_ns = key
        self._arm(key, close_ns + interval_ns)
        bar = self._candles.bar(symbol, close_ns - interval_ns, interval_ns)
        if bar is not None:
            self._send(key, bar)

    def _send(self, key: _Key, candle: Candle) -> None:
        """The venue sends ``candle`` now: it reaches the subscribers after market-data latency.

        The delay is drawn when the bar is sent, so the channel's FIFO order is the order bars
        are sent in, whichever stream they belong to.
        """
        self._channel.push(candle, self._deliver)

    def _deliver(self, candle: Candle) -> None:
        for callback in list(self._subs.get((candle.symbol, candle.interval_ns), ())):
            callback(candle)

"""The replay's trade fast path: runs of trades that touch no order, delivered in one tight loop.

Most public trades in a backtest change nothing at the venue: no order rests at or through
their price, no stop triggers, no GTD order expires. For such a trade the venue only records
the last price and folds it into a candle, and the client receives it after market-data
latency. ``ReplayFeed`` normally does that one trade at a time through three layers of Python
calls; here a run of them is done at once:

* the matching engine's ``quiet_band`` says which prices and times leave it untouched, and a
  numpy scan over the batch's price and time columns finds where the run of such trades ends;
* the run's delivery times are computed in one vector operation from exactly the latency draws
  the one-at-a-time path would make (``LatencyChannel.take``), with the same FIFO rule;
* the client's callback is called in a plain loop over (delivery time, trade), re-reading the
  runtime's horizon before each call, as the feed's own loop does; a client callback that takes
  batches (``harness.trade_batch.BatchedTrades``, a strategy overriding ``on_trades``) is called
  once instead, with column slices of every trade due by the horizon, at the last one's time;
* the venue's side (last price, candles) is applied in bulk when the loop stops
  (``SimVenue.on_quiet_trades``), before anything else can look at the venue (every client
  request reaches the venue through the runtime's calendar, after the loop has returned).

``TradeRunner`` is the ``sim.market.feed.TradeRunTaker`` of one venue's trade route: the
feed offers it the rows of each window of that route and it takes what it can.

The merged order of venue events, client deliveries and the runtime's calendar is the one the
general path produces, so a replay gives byte-identical results with or without the fast path
(``tests/sim/test_fast_trades.py`` checks this). The rules that make it so: a delivery at or
after the next venue event's time waits for it (the venue goes first at equal times); a
delivery past the horizon stops the loop, and a callback may lower the horizon at any time;
the loop starts only when nothing became ready at the current nanosecond (``now < horizon``)
and quiet trades never make anything ready, so the feed's tie rule after a venue callback
(``sim.channels``) cannot arise inside a run. A trade the engine must see (it may fill or
trigger something) ends the run and takes the general path, as does the rest of a run when
the loop stops: the trades the venue has seen but the client not yet go to the tap's queue.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterator, Mapping
from functools import partial
from itertools import islice, repeat
from operator import length_hint
from typing import Final, NamedTuple, Protocol

import numpy as np

from harness.model import Trade
from harness.trade_batch import BatchedTrades, TradeBatch
from sim.channels import Deliver, MarketDataChannel, TapSet
from sim.kernel.sources import VirtualTime
from sim.market.cursor import Batch
from sim.venue.venue import Int64Array

__all__ = ["MIN_RUN", "SCAN_ROWS", "QuietTradeVenue", "TradeRunner"]

MIN_RUN: Final = 8
"""Shorter runs take the general path: the fast path's fixed cost (a few numpy calls) would
exceed what it saves."""

SCAN_ROWS: Final = 1_024
"""Rows classified per numpy scan; the rows the engine must see are remembered until its band changes."""

_I64_MIN: Final = -(2**63)
_I64_MAX: Final = 2**63 - 1


class QuietTradeVenue(Protocol):
    """The venue side a ``TradeRunner`` needs (``SimVenue`` is one)."""

    def quiet_band(self, symbol: str) -> tuple[int, int, int] | None:
        """``(lo, hi, expiry)``: trades strictly inside, before expiry, touch nothing; None: all do."""

    def on_quiet_trades(self, symbol: str, ts_event: Int64Array, price: Int64Array, size: Int64Array) -> None:
        """Apply a run of quiet trades in one call."""


class TradeRunner:
    """Delivers runs of quiet trades of one simulated venue's trade route (see the module docstring).

    ``channel`` is the venue's market-data channel to its client (its ``trades`` streams say who
    subscribed); ``venue`` applies the runs' effect. ``rename`` (venue, symbol map) is set when
    the venue is driven by another venue's recording: trades then reach the venue and the client
    under the venue's own names.
    """

    __slots__ = ("_band", "_batch", "_loud", "_rename", "_scan_end", "_scan_from", "_venue", "channel",
                 "position")

    def __init__(self, channel: MarketDataChannel, venue: QuietTradeVenue, *,
                 rename: tuple[str, Mapping[str, str]] | None = None) -> None:
        self.channel = channel
        self._venue = venue
        self._rename = rename
        # the last scan: in rows [_scan_from, _scan_end) of _batch, under _band, the engine must
        # see exactly the rows _loud
        self._batch: Batch | None = None
        self._band: tuple[int, int, int] | None = None
        self._scan_from = self._scan_end = 0
        self._loud: list[int] = []
        self.position = 0
        """The first row not handed to the venue by the last ``take``, kept even when a callback raised."""

    @property
    def takes_columns(self) -> bool:
        """Whether the client takes trades as column batches (a ``BatchedTrades`` stream subscribed)."""
        return any(isinstance(handler, BatchedTrades) for handler in self.channel.streams["trades"].values())

    def take(self, batch: Batch, start: int, end: int, vt: VirtualTime, taps: TapSet) -> int:
        """Deliver a run of quiet trades from row ``start`` of ``batch`` (rows up to ``end`` are
        the feed's current window); return the first row not handed to the venue.

        Returns ``start`` when there is no run worth taking (the feed then takes the general path
        for that row): also whenever ``taps`` hosts another channel than this venue's (arrivals
        of another stream could interleave) or a fault is attached to the channel.
        """
        self.position = start
        channel = self.channel
        if channel.faults or len(taps.taps) != 1 or taps.taps[0] is not channel:
            return start
        return self._take(batch, start, end, vt)

    def _take(self, batch: Batch, start: int, end: int, vt: VirtualTime) -> int:
        """``take`` once the run may go fast: on return every row before the result has been seen
        by the venue; those the client has not received yet are in the channel's queue, as the
        general path leaves them."""
        venue, symbol = batch.routes[0]
        trades: Iterator[Trade] = batch.events
        if self._rename is not None:
            venue, symbols = self._rename
            symbol = symbols.get(symbol, symbol)
            trades = map(partial(_as_venue, venue, symbol), trades)
        quiet_end = self._quiet_until(batch, start, end, self._venue.quiet_band(symbol))
        stop = bisect_right(batch.keys, vt.horizon_ns, start, quiet_end)
        if stop - start < MIN_RUN:
            return start
        run = _Run(batch, trades, venue, symbol, start, stop)
        handler = self.channel.streams["trades"].get(symbol)
        if handler is None:  # nobody subscribed: the venue's side only, nothing in flight
            deque(islice(batch.events, stop - start), maxlen=0)
            self._venue_side(run, stop, vt)
            self.position = stop
            return stop
        next_venue = batch.keys[stop] if stop < end else batch.keys[end - 1]
        if isinstance(handler, BatchedTrades):
            return self._deliver_batched(run, handler, next_venue, vt)
        return self._deliver_run(run, handler, next_venue, vt)

    def _deliver_run(self, run: _Run, handler: Deliver, next_venue: int, vt: VirtualTime) -> int:
        """The run's client deliveries in a tight loop, then the venue's side and what is in flight.

        ``handler`` is the client's trade stream of the run's symbol; ``next_venue`` the time of
        the first venue event after the run (a delivery at or after it waits for it).
        """
        batch, start, stop = run.batch, run.start, run.stop
        latency = self.channel.latency
        delays = latency.take(stop - start)
        times = np.maximum.accumulate(batch.keys_np[start:stop] + np.array(delays, dtype=np.int64))
        arrivals: list[int] = np.maximum(times, latency.last_delivery_ns).tolist()
        due = arrivals[:bisect_left(arrivals, next_venue)]
        pending = iter(due)
        next_trade = run.trades.__next__  # pulled only once due, so no trade is pulled early
        held = False  # the loop stopped at a delivery that is not due yet
        failed = True  # until the loop ends normally: a callback may raise
        try:
            if self.channel.queue and not self._drain(next_venue, vt):
                pending = iter(())  # what is still in flight goes first: the run waits behind it
                due = []
            for at in pending:
                if at > vt.horizon_ns:
                    held = True
                    break
                vt.now_ns = at
                handler(next_trade())
            failed = False
        finally:
            # the venue has seen the run's rows up to the horizon, or up to a callback that raised
            reached = vt.now_ns if failed else vt.horizon_ns
            delivered = start + len(due) - length_hint(pending) - held
            processed = max(delivered, bisect_right(batch.keys, reached, start, stop))
            self._in_flight(run.trades, handler, arrivals[delivered - start:processed - start],
                            processed - delivered)
            latency.give_back(delays[processed - start:])
            if processed > start:
                latency.last_delivery_ns = arrivals[processed - start - 1]
            self._venue_side(run, processed, vt)
            self.position = processed
        return processed

    def _deliver_batched(self, run: _Run, handler: BatchedTrades, next_venue: int, vt: VirtualTime) -> int:
        """``_deliver_run`` for a client that takes batches: every trade of the run due by the horizon
        (and before ``next_venue``) in one call of ``handler.on_batch``, at the last one's time.

        The same latency draws, delivery times and bookkeeping as the per-trade loop; the one
        difference is that a callback can stop the run only after the whole batch (it acts at
        the batch's last delivery). No object is built per row: the rows' events are skipped.
        """
        batch, start, stop = run.batch, run.start, run.stop
        latency = self.channel.latency
        delays = latency.take(stop - start)
        times = np.maximum.accumulate(batch.keys_np[start:stop] + np.array(delays, dtype=np.int64))
        arrivals = np.maximum(times, latency.last_delivery_ns)
        count = 0
        failed = True
        try:
            if not self.channel.queue or self._drain(next_venue, vt):  # what is in flight goes first
                due = int(np.searchsorted(arrivals, next_venue, "left"))
                count = int(np.searchsorted(arrivals[:due], vt.horizon_ns, "right"))
                if count:
                    self._deliver_batch(run, handler, arrivals, count, vt)
            failed = False
        finally:
            reached = vt.now_ns if failed else vt.horizon_ns
            delivered = start + count
            processed = max(delivered, bisect_right(batch.keys, reached, start, stop))
            self._in_flight(run.trades, handler, arrivals[delivered - start:processed - start].tolist(),
                            processed - delivered)
            latency.give_back(delays[processed - start:])
            if processed > start:
                latency.last_delivery_ns = int(arrivals[processed - start - 1])
            self._venue_side(run, processed, vt)
            self.position = processed
        return processed

    @staticmethod
    def _deliver_batch(run: _Run, handler: BatchedTrades, arrivals: Int64Array, count: int, vt: VirtualTime) -> None:
        """The run's first ``count`` trades (all due by the horizon) in one call of ``handler.on_batch``.

        Column slices of the batch, no object per row; the call runs at the last one's delivery
        time. The trades count as delivered before the call (as one callback that raises does).
        """
        batch, start = run.batch, run.start
        arrays = batch.arrays
        trade_ids = batch.trade_ids
        assert arrays is not None and trade_ids is not None
        rows = slice(start, start + count)
        vt.now_ns = int(arrivals[count - 1])
        batch.skip_events(start, count)  # keep the lazy events in step without building them
        handler.on_batch(TradeBatch(run.venue, run.symbol, arrivals[:count], arrays["ts_event"][rows],
                                    arrays["ts_recv"][rows], arrays["price"][rows], arrays["size"][rows],
                                    arrays["aggressor"][rows], trade_ids[rows]))

    def _drain(self, next_venue: int, vt: VirtualTime) -> bool:
        """Deliver what was already in flight (it arrives before the run's trades); False if the
        horizon or the next venue event stopped it first.

        The tap set's own flush does it: the runner's channel is its only one, and a run starts
        only when ``now < horizon``, so flush's tie rule cannot apply here.
        """
        tapset = self.channel.tapset
        assert tapset is not None
        tapset.flush(vt, next_venue, True)
        return not self.channel.queue

    def _in_flight(self, trades: Iterator[Trade], handler: Deliver, arrivals: list[int], count: int) -> None:
        """Queue the next ``count`` trades, which the venue has seen but the client not yet."""
        if not count:
            return
        channel = self.channel
        channel.queue.extend(zip(arrivals, repeat(handler), islice(trades, count)))
        tapset = channel.tapset
        if tapset is not None and arrivals[0] < tapset.due_ns:
            tapset.due_ns = arrivals[0]

    def _venue_side(self, run: _Run, stop: int, vt: VirtualTime) -> None:
        """What the venue does with the run's rows before ``stop`` (``SimVenue.on_quiet_trades``)."""
        batch, start = run.batch, run.start
        if stop <= start:
            return
        arrays = batch.arrays
        assert arrays is not None
        self._venue.on_quiet_trades(run.symbol, arrays["ts_event"][start:stop], arrays["price"][start:stop],
                                    arrays["size"][start:stop])
        vt.now_ns = max(vt.now_ns, batch.keys[stop - 1])

    def _quiet_until(self, batch: Batch, start: int, end: int, band: tuple[int, int, int] | None) -> int:
        """The first row at or after ``start`` (before ``end``) that the engine must see, or ``end``.

        Classifies ``SCAN_ROWS`` rows at a time with numpy and keeps the result until the batch
        or the engine's quiet band changes, so passing one such row does not rescan. ``band`` is
        None when the venue has no engine for the symbol (every trade is quiet).
        """
        if band is None:
            return end
        if not (batch is self._batch and band == self._band and self._scan_from <= start < self._scan_end):
            lo, hi, expiry = band
            arrays = batch.arrays
            assert arrays is not None
            scan_end = min(batch.n, start + SCAN_ROWS)
            price = arrays["price"][start:scan_end]
            ts = arrays["ts_event"][start:scan_end]
            loud = (price <= max(lo, _I64_MIN)) | (price >= min(hi, _I64_MAX)) | (ts >= min(expiry, _I64_MAX))
            self._loud = (np.flatnonzero(loud) + start).tolist()
            self._batch, self._band = batch, band
            self._scan_from, self._scan_end = start, scan_end
        loud_rows = self._loud
        k = bisect_left(loud_rows, start)
        first = loud_rows[k] if k < len(loud_rows) else self._scan_end
        return min(first, end)


class _Run(NamedTuple):
    """Rows [start, stop) of ``batch``, all quiet for the venue; ``trades`` yields them as the
    venue knows them (under ``venue`` and ``symbol``)."""

    batch: Batch
    trades: Iterator[Trade]
    venue: str
    symbol: str
    start: int
    stop: int


def _as_venue(venue: str, symbol: str, trade: Trade) -> Trade:
    """``trade`` under another venue and symbol (what the renaming market side delivers)."""
    return tuple.__new__(Trade, (trade[0], trade[1], venue, symbol, *trade[4:]))

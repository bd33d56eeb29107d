"""Every stream between a simulated venue and its client: where latency is added and faults plug in.

A real venue connection is several streams, each with its own delay and its own ways of
breaking. One channel object per stream, so both are applied in exactly one place:

* ``MarketDataChannel``: public market data (the venue's WebSocket market streams). FIFO. It
  carries the client's stream subscriptions (``streams``): the venue side publishes an event only
  on a stream somebody subscribed to, as a real venue only sends subscribed streams.
* ``PushChannel``: what the venue pushes on a stream of its own, delivered on the clock: order
  updates and executions (the user-data stream), closed bars (the kline stream, ``sim.bars``).
  FIFO; lost while the channel is closed, as over a dropped WebSocket (only a query or a
  reconciliation after reconnecting recovers them).
* ``RequestChannel``: a request's way to the venue (order-entry latency) and its answer's way
  back (response latency), as for REST or a WebSocket API.

Faults. Each stream channel has a ``faults`` list of ``StreamFault``: while it is non-empty,
every message is offered to each fault in turn, which returns the arrival times of the copies
that get through (none drops the message, two duplicate it, a later time delays it, and a delay
past later messages reorders them). A ``RequestChannel`` has ``RequestFault``s, asked before the
request reaches the venue and after the venue handled it (a 5xx or timeout that the venue never
saw, or one that hides an order it did accept), and ``RequestDelay``s that lengthen either leg.
A fault that answers ``RequestLost`` (``sim.venue.desk``) makes the request vanish: the caller
hears nothing until its request timeout, then gets the channel's ``timeout_error``. With no
faults the channels take their fast, fault-free paths.

Connections. A stream channel can be ``cut``: the connection carrying it broke, so what is in
flight is lost and (market data) the venue forgets the subscriptions. Noticing that and
reconnecting is the client's business (``sim.client_links``).

How market data reaches the client without one calendar item per tick. A ``MarketDataChannel``
hosted by a replay feed (``ReplayFeed.add_tap``) holds the events in flight, each with its
arrival time ``event time + market-data latency``; the feed's ``TapSet`` flushes, inside the
feed's own delivery loop, every entry that arrives before its next event. So market data and
its delayed copies are one merged stream delivered in one batch up to the next calendar item.
A channel no feed hosts (a hand-driven world) schedules each arrival on the clock instead.

Order of the merged stream: by time; at equal times the feed's events (the venue) first, then
the channels in the order they were added. Entries are delivered only up to the runtime's
horizon. When a callback makes something ready (``call_soon``: the horizon comes down to now),
the current stream may finish its entries at that nanosecond, but switching to another stream at
the same nanosecond waits until the ready callbacks have run: ``flush`` returns and the runtime
calls the feed again afterwards.
"""

from __future__ import annotations

from bisect import insort
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol, TypeVar

from harness.clock import Clock
from harness.contract import RetryableError, VenueError
from sim.kernel.sources import VirtualTime
from sim.venue.desk import RequestLost
from sim.venue.latency import LatencyChannel

__all__ = ["IDLE", "MarketDataChannel", "PushChannel", "RequestChannel", "RequestDelay", "RequestFault", "StreamFault",
           "SubscriptionRefusal", "TapSet"]

IDLE: Final = 2**63 - 1
"""The arrival time of "nothing in flight" (the largest int64, above any real time)."""

_T = TypeVar("_T")
Deliver = Callable[[Any], object]
"""The client-side callback a message is handed to when it arrives."""


class StreamFault(Protocol):
    """A fault on a stream: decides what becomes of one message on its way to the client."""

    def on_message(self, sent_ns: int, arrival_ns: int, item: object) -> Sequence[int]:
        """Arrival times of the copies of ``item`` that reach the client (empty: dropped)."""


class SubscriptionRefusal(Protocol):
    """A fault that makes the venue refuse a market-data subscription."""

    def refuses(self, kind: str, symbol: str, now_ns: int) -> bool:
        """True to refuse subscribing ``symbol``'s ``kind`` stream now."""


class RequestFault(Protocol):
    """A fault on a request channel, asked on each request's way in and out.

    Either hook returns an exception to raise to the caller instead of the venue's answer, or
    None to let the request pass. ``before_venue`` refusals never reach the venue; ``after_venue``
    ones replace an answer the venue already produced (the order may exist: ambiguous).
    """

    def before_venue(self, method: str, now_ns: int) -> BaseException | None:
        """An error for a request that the venue will never see, or None."""

    def after_venue(self, method: str, now_ns: int) -> BaseException | None:
        """An error that hides the venue's answer from the caller, or None."""


class RequestDelay(Protocol):
    """A fault that lengthens one leg (``"entry"`` or ``"response"``) of a request's trip."""

    def extra_ns(self, method: str, now_ns: int, leg: str) -> int:
        """Nanoseconds added to this leg (0: none)."""


def _arrivals(faults: Sequence[StreamFault], sent_ns: int, at: int, item: object) -> list[int]:
    """Arrival times of ``item``'s copies after every fault of the stream had its say, in order."""
    times = [at]
    for fault in faults:
        times = [t for arrival in times for t in fault.on_message(sent_ns, arrival, item)]
    return sorted(times)


class MarketDataChannel:
    """Public market data on its way to the client, delayed by a FIFO latency channel.

    ``streams`` maps each data kind (``trades``, ``quotes``, ``book``) to the subscribed symbols'
    client handlers: the venue side publishes ``push(event, streams[kind][symbol])``. A hosting
    feed's ``TapSet`` later calls ``handler(event)`` at the arrival time; an unhosted channel
    schedules it on ``clock``.
    """

    __slots__ = ("clock", "faults", "generation", "late_after_ns", "latency", "on_late", "queue", "refusals", "streams",
                 "tapset", "vt")

    def __init__(self, latency: LatencyChannel, vt: VirtualTime, clock: Clock | None = None) -> None:
        if not latency.fifo:
            raise ValueError("a market-data channel needs FIFO latency (one connection never reorders)")
        self.latency = latency
        self.vt = vt
        self.clock = clock
        self.queue: deque[tuple[int, Deliver, Any]] = deque()
        self.tapset: TapSet | None = None
        self.streams: dict[str, dict[str, Deliver]] = {"trades": {}, "quotes": {}, "book": {}}
        self.faults: list[StreamFault] = []
        self.refusals: list[SubscriptionRefusal] = []
        self.generation = 0
        self.late_after_ns: int = IDLE
        """A hosted entry arriving more than this after its event time is reported to ``on_late``."""
        self.on_late: Callable[[int], None] | None = None
        """Called with the arrival time of such an entry (the client's staleness probe wakes for it)."""

    def cut(self) -> None:
        """The connection broke: the venue forgets every subscription and what is in flight is lost."""
        for streams in self.streams.values():
            streams.clear()  # in place: the venue side holds these very dicts
        self.generation += 1
        self.queue.clear()
        if self.tapset is not None:
            self.tapset._recompute()

    def push(self, event: Any, callback: Deliver) -> None:
        """Send ``event`` towards the client now; ``callback(event)`` runs when it arrives."""
        latency = self.latency  # LatencyChannel.delivery_time, inlined: this runs once per tick
        delays = latency.delays
        at = self.vt.now_ns + (delays.pop() if delays else latency.refill())
        at = max(at, latency.last_delivery_ns)
        latency.last_delivery_ns = at
        if self.faults:
            self._push_through_faults(at, event, callback)
            return
        tapset = self.tapset
        if tapset is None:
            self._schedule(at, callback, event)
            return
        self.queue.append((at, callback, event))
        tapset.due_ns = min(tapset.due_ns, at)
        if at - event.ts_event > self.late_after_ns and self.on_late is not None:
            self.on_late(at)

    def _push_through_faults(self, at: int, event: Any, callback: Deliver) -> None:
        """``push`` while faults are attached: each surviving copy is queued in arrival order."""
        tapset = self.tapset
        for arrival in _arrivals(self.faults, self.vt.now_ns, at, event):
            if tapset is None:
                self._schedule(arrival, callback, event)
                continue
            insort(self.queue, (arrival, callback, event), key=lambda entry: entry[0])
            tapset.due_ns = min(tapset.due_ns, arrival)
            if arrival - event.ts_event > self.late_after_ns and self.on_late is not None:
                self.on_late(arrival)

    def _schedule(self, at: int, callback: Deliver, event: Any) -> None:
        if self.clock is None:
            raise RuntimeError("a market-data channel needs a hosting feed or a clock")
        self.clock.call_at(at, self._arrive, self.generation, callback, event)

    def _arrive(self, generation: int, callback: Deliver, event: Any) -> None:
        """An unhosted arrival: delivered unless the connection it travelled on was cut since."""
        if generation == self.generation:
            callback(event)

    def peek_ts(self) -> int | None:
        """Arrival time of the next event in flight, None when nothing is."""
        queue = self.queue
        return queue[0][0] if queue else None


class TapSet:
    """The market-data channels one feed hosts, in the order they were added, and their earliest arrival.

    ``due_ns`` is the arrival time of the next entry of any channel (``IDLE`` when none is in
    flight): channels lower it as they are pushed, ``flush`` keeps it exact as it delivers.
    """

    __slots__ = ("due_ns", "taps")

    def __init__(self) -> None:
        self.taps: list[MarketDataChannel] = []
        self.due_ns: int = IDLE

    def add(self, tap: MarketDataChannel) -> None:
        """Host ``tap``: it is flushed after the channels added before it at equal times."""
        if tap.tapset is not None:
            raise ValueError("this channel is already hosted by a feed")
        tap.tapset = self
        self.taps.append(tap)
        self._recompute()

    def _recompute(self) -> None:
        """Set ``due_ns`` from the heads of the channels' queues."""
        due = IDLE
        for tap in self.taps:
            queue = tap.queue
            if queue and queue[0][0] < due:
                due = queue[0][0]
        self.due_ns = due

    def flush(self, vt: VirtualTime, before_ns: int, started: bool) -> None:
        """Deliver entries arriving before ``before_ns`` (the feed's next event) and by the horizon.

        ``started`` says whether the caller already delivered something in this batch: only
        then may the flush stop at a tie with the current time (see the module docstring), so
        every batch makes progress. Returns early when the horizon stops it; ``due_ns`` is
        then still below ``before_ns``, which tells the feed to stop as well.
        """
        if len(self.taps) != 1:
            self._flush_merged(vt, before_ns, started)
            return
        queue = self.taps[0].queue
        due = self.due_ns
        if due >= before_ns or due > vt.horizon_ns or (started and due == vt.now_ns == vt.horizon_ns):
            return  # the last case: switching from the feed at a tie after something became ready
        popleft = queue.popleft
        while True:
            at, callback, event = popleft()
            # exact before the callback (which may push, lowering it, or raise)
            self.due_ns = queue[0][0] if queue else IDLE
            vt.now_ns = at
            callback(event)
            due = self.due_ns
            if due >= before_ns or due > vt.horizon_ns:
                return

    def _flush_merged(self, vt: VirtualTime, before_ns: int, started: bool) -> None:
        """``flush`` over several channels: earliest arrival first, ties in the order they were added."""
        previous: MarketDataChannel | None = None
        try:
            while True:
                best: MarketDataChannel | None = None
                best_at = IDLE
                for tap in self.taps:
                    queue = tap.queue
                    if queue and queue[0][0] < best_at:
                        best, best_at = tap, queue[0][0]
                if best is None or best_at >= before_ns or best_at > vt.horizon_ns:
                    return
                if (best is not previous and (started or previous is not None)
                        and best_at == vt.now_ns == vt.horizon_ns):
                    return  # switching streams at a tie after something became ready
                at, callback, event = best.queue.popleft()
                previous = best
                vt.now_ns = at
                callback(event)
        finally:
            self._recompute()


class PushChannel:
    """Messages the venue pushes on a stream of its own (user data, klines), delayed by a FIFO latency channel.

    ``open`` is False while the stream is down: what the venue pushes then is lost, and ``cut``
    also loses what is in flight.
    """

    __slots__ = ("clock", "faults", "generation", "latency", "open")

    def __init__(self, latency: LatencyChannel, clock: Clock, *, open: bool = False) -> None:
        self.latency = latency
        self.clock = clock
        self.open = open
        self.faults: list[StreamFault] = []
        self.generation = 0

    def cut(self) -> None:
        """The connection broke: nothing more is carried and what is in flight is lost."""
        self.open = False
        self.generation += 1

    def push(self, item: Any, callback: Deliver) -> None:
        """Send ``item`` to the client now; ``callback(item)`` runs when it arrives (lost if closed)."""
        if not self.open:
            return
        now = self.clock.now_ns()
        at = self.latency.delivery_time(now)
        if not self.faults:
            self.clock.call_at(at, self._arrive, self.generation, callback, item)
            return
        for arrival in _arrivals(self.faults, now, at, item):
            self.clock.call_at(arrival, self._arrive, self.generation, callback, item)

    def _arrive(self, generation: int, callback: Deliver, item: Any) -> None:
        if generation == self.generation:
            callback(item)


class RequestChannel:
    """A request's trip to the venue and its answer's trip back, each with its own latency.

    ``timeout_ns`` is how long the caller waits for an answer that never comes (a lost request);
    ``timeout_error(method)`` is what it then raises (the adapter makes it ambiguous for order entry).
    """

    __slots__ = ("clock", "delays", "entry", "faults", "response", "timeout_error", "timeout_ns")

    def __init__(self, entry: LatencyChannel, response: LatencyChannel, clock: Clock, *,
                 timeout_ns: int = 10_000_000_000,
                 timeout_error: Callable[[str], BaseException] | None = None) -> None:
        self.entry = entry
        self.response = response
        self.clock = clock
        self.faults: list[RequestFault] = []
        self.delays: list[RequestDelay] = []
        self.timeout_ns = timeout_ns
        self.timeout_error = timeout_error or _default_timeout

    async def round_trip(self, method: str, at_venue: Callable[[], _T]) -> _T:
        """Travel to the venue, run ``at_venue`` there, travel back; return or raise what it gave.

        The venue's answer (a result, or a ``VenueError`` it raised) reaches the caller only after
        the response latency, as a client sees it. Faults may refuse the request on its way in or
        replace the answer on its way out; a request lost on either way (``RequestLost``) raises
        ``timeout_error`` once ``timeout_ns`` has passed since it was sent. Any other exception is
        a bug and propagates at once.
        """
        clock = self.clock
        sent = clock.now_ns()
        await clock.sleep_ns(self._leg(self.entry, method, "entry") - sent)
        error: BaseException | None = None
        result: _T | None = None
        refused = self._refusal(method) if self.faults else None
        if refused is None:
            try:
                result = at_venue()
            except (VenueError, RequestLost) as venue_error:
                error = venue_error
            if self.faults:
                error = self._hidden(method) or error
        else:
            error = refused
        if isinstance(error, RequestLost):
            await clock.sleep_ns(max(0, sent + self.timeout_ns - clock.now_ns()))
            raise self.timeout_error(method)
        await clock.sleep_ns(self._leg(self.response, method, "response") - clock.now_ns())
        if error is not None:
            raise error
        return result  # type: ignore[return-value]

    def _leg(self, latency: LatencyChannel, method: str, leg: str) -> int:
        """Arrival time of one leg sent now: its latency plus what delay faults add."""
        now = self.clock.now_ns()
        at = latency.delivery_time(now)
        for delay in self.delays:
            at += delay.extra_ns(method, now, leg)
        return at

    def _refusal(self, method: str) -> BaseException | None:
        now = self.clock.now_ns()
        return next((e for e in (f.before_venue(method, now) for f in self.faults) if e is not None), None)

    def _hidden(self, method: str) -> BaseException | None:
        now = self.clock.now_ns()
        return next((e for e in (f.after_venue(method, now) for f in self.faults) if e is not None), None)

    async def reach_venue(self) -> None:
        """The way in alone, with nothing done there (opening a connection)."""
        clock = self.clock
        await clock.sleep_ns(self._leg(self.entry, "connect", "entry") - clock.now_ns())

    async def come_back(self) -> None:
        """The way back alone (the answer to a connection attempt)."""
        clock = self.clock
        await clock.sleep_ns(self._leg(self.response, "connect", "response") - clock.now_ns())


def _default_timeout(method: str) -> BaseException:
    return RetryableError(f"{method}: no answer (timed out)")

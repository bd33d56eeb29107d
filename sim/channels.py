"""Market data on its way from a simulated venue to the client, delayed by a latency model.

The replay feed delivers each event to the venue at exchange time. What the client (strategy,
execution layer) sees is the same stream later: ``ClientTap`` holds the events in flight, each
with its arrival time ``event time + market-data latency``. The channel is FIFO (one WebSocket
connection never reorders), so arrival times are non-decreasing and a deque suffices.

Taps are not sources of their own: the feed that fills them hosts them (``ReplayFeed.add_tap``)
and, inside its own delivery loop, flushes every entry that arrives before its next event
(``TapSet.flush``). So market data and its delayed copies are one merged stream that the runtime
delivers in one batch up to the next calendar item, instead of stopping the feed at every
arrival and switching sources (which cost more than everything else on the hot path).

Order of the merged stream (the same as when feed and taps were separate runtime sources, the
feed added first): by time; at equal times the feed's events (the venue) first, then the taps
in the order they were added. Entries are delivered only up to the runtime's horizon. When a
callback makes something ready (``call_soon``: the horizon comes down to now), the current
stream may finish its entries at that nanosecond, but switching to another stream at the same
nanosecond waits until the ready callbacks have run: ``flush`` returns and the runtime calls the
feed again afterwards.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Final

from sim.kernel.sources import VirtualTime
from sim.venue.latency import LatencyChannel

__all__ = ["IDLE", "ClientTap", "TapSet"]

IDLE: Final = 2**63 - 1
"""The arrival time of "nothing in flight" (the largest int64, above any real time)."""


class ClientTap:
    """Delays market events by a latency channel and hands them to client callbacks in order.

    ``push`` is called from the feed's callbacks (the venue side, at exchange time); the hosting
    feed's ``TapSet`` later calls ``callback(event)`` at the arrival time.
    """

    __slots__ = ("channel", "queue", "tapset", "vt")

    def __init__(self, channel: LatencyChannel, vt: VirtualTime) -> None:
        if not channel.fifo:
            raise ValueError("a market-data tap needs a FIFO channel (one connection never reorders)")
        self.channel = channel
        self.vt = vt
        self.queue: deque[tuple[int, Callable[[Any], None], Any]] = deque()
        self.tapset: TapSet | None = None

    def push(self, event: Any, callback: Callable[[Any], None]) -> None:
        """Send ``event`` towards the client now; ``callback(event)`` runs when it arrives."""
        channel = self.channel  # LatencyChannel.delivery_time, inlined: this runs once per tick
        delays = channel.delays
        at = self.vt.now_ns + (delays.pop() if delays else channel.refill())
        at = max(at, channel.last_delivery_ns)
        channel.last_delivery_ns = at
        self.queue.append((at, callback, event))
        tapset = self.tapset
        if tapset is not None and at < tapset.due_ns:
            tapset.due_ns = at

    def peek_ts(self) -> int | None:
        """Arrival time of the next event in flight, None when nothing is."""
        queue = self.queue
        return queue[0][0] if queue else None


class TapSet:
    """The taps one feed hosts, in the order they were added, and the earliest arrival among them.

    ``due_ns`` is the arrival time of the next entry of any tap (``IDLE`` when none is in
    flight): taps lower it as they are pushed, ``flush`` keeps it exact as it delivers.
    """

    __slots__ = ("due_ns", "taps")

    def __init__(self) -> None:
        self.taps: list[ClientTap] = []
        self.due_ns: int = IDLE

    def add(self, tap: ClientTap) -> None:
        """Host ``tap``: it is flushed after the taps added before it at equal times."""
        if tap.tapset is not None:
            raise ValueError("this tap is already hosted by a feed")
        tap.tapset = self
        self.taps.append(tap)
        self._recompute()

    def _recompute(self) -> None:
        """Set ``due_ns`` from the heads of the taps' queues."""
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
        """``flush`` over several taps: earliest arrival first, ties in the order taps were added."""
        previous: ClientTap | None = None
        try:
            while True:
                best: ClientTap | None = None
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

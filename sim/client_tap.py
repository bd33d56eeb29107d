"""Market data on its way from a simulated venue to the client, delayed by a latency model.

The replay feed delivers each event to the venue at exchange time. What the client (strategy,
execution layer) sees is the same stream later: ``ClientTap`` holds the events in flight and is
itself a ``MarketSource``, so the runtime delivers them at ``event time + market-data latency``
without one SimPy event per tick. The channel is FIFO (one WebSocket connection never reorders),
so delivery times are non-decreasing and a deque suffices.

While idle but fed by a live upstream, ``peek_ts`` answers ``IDLE`` (the largest int64): the
runtime keeps the tap registered but never picks it before the upstream's next event. When the
upstream is exhausted and nothing is in flight, the tap is exhausted too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from sim.latency import LatencyChannel
from sim.sources import MarketSource, VirtualTime

IDLE = 2**63 - 1


class ClientTap:
    """Delays market events by a latency channel and hands them to client callbacks in order."""

    __slots__ = ("_queue", "channel", "upstream", "vt")

    def __init__(self, upstream: MarketSource, channel: LatencyChannel, vt: VirtualTime) -> None:
        if not channel.fifo:
            raise ValueError("a market-data tap needs a FIFO channel (one connection never reorders)")
        self.upstream = upstream
        self.channel = channel
        self.vt = vt
        self._queue: deque[tuple[int, Callable[[Any], None], Any]] = deque()

    def push(self, event: Any, callback: Callable[[Any], None]) -> None:
        """Send ``event`` towards the client now; ``callback(event)`` runs when it arrives."""
        vt = self.vt
        at = self.channel.delivery_time(vt.now_ns)
        self._queue.append((at, callback, event))
        vt.horizon_ns = min(vt.horizon_ns, at)  # the upstream's batch must stop before our delivery

    def peek_ts(self) -> int | None:
        """Arrival time of the next event in flight, ``IDLE`` while waiting, None when done."""
        if self._queue:
            return self._queue[0][0]
        return IDLE if self.upstream.peek_ts() is not None else None

    def deliver(self, vt: VirtualTime) -> None:
        """Deliver every event that has arrived by the horizon, in order."""
        queue = self._queue
        popleft = queue.popleft
        while queue and queue[0][0] <= vt.horizon_ns:
            at, callback, event = popleft()
            vt.now_ns = at
            callback(event)

"""How market data meets the virtual clock without one SimPy event per tick.

The runtime (``sim.kernel.runtime``) owns virtual time. Market data sources (the replay feed) do not
put their ticks on SimPy's calendar; instead the runtime asks each source to deliver a batch
of events up to the *horizon*: the time of the next thing on the calendar (a SimPy event, an
asyncio timer or ready callback). Callbacks run synchronously and may schedule new things;
the runtime then lowers the horizon at once, so a source must re-read it before every event.

``VirtualTime`` is the tiny state both sides share; reading and writing two int attributes is
all the hot path costs.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["MarketSource", "VirtualTime"]


class VirtualTime(Protocol):
    """Shared virtual-time state: current time and the time of the next scheduled thing (ns)."""

    now_ns: int
    horizon_ns: int


class MarketSource(Protocol):
    """A time-ordered stream of market events that delivers itself in batches."""

    def peek_ts(self) -> int | None:
        """Timestamp (ns) of the next undelivered event, or None when exhausted."""

    def deliver(self, vt: VirtualTime) -> None:
        """Deliver events in time order while their timestamp is <= ``vt.horizon_ns``.

        Before each event's callbacks run, set ``vt.now_ns`` to its timestamp. Re-read
        ``vt.horizon_ns`` before every event (callbacks may lower it). Return when the next
        event lies beyond the horizon or the source is exhausted. A source that merges
        several streams may also return at a tie with the current time once the horizon has
        come down to it (a callback made something ready): the runtime runs what is ready and
        calls again. Each call must deliver its first event if that is due, so runs progress.
        """

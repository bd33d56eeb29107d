"""Periodic engine jobs that sleep while they have nothing to do.

The engine's timers (connection supervision every second, stuck-order scans, reconciliation)
used to wake the clock at every interval whether or not anything could need them: on a quiet
tape that is most of a simulation's work, since every wake-up is a calendar item that cuts the
replay's batches short. A ``GatedJob`` ticks as a plain periodic job does (the interval after
the previous run ended) but only while ``needed()`` says there is something to do; otherwise it
parks, and whoever changes what ``needed`` reads calls ``poke``. A poked job resumes on the tick
it would have reached had it kept ticking (the grid of its last tick), so what it does and when
is what the always-ticking job did, minus the ticks that would have found nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from harness.clock import Clock
from harness.contract import VenueError
from harness.secrets import safe_logger

__all__ = ["GatedJob"]

logger = safe_logger(__name__)


class GatedJob:
    """``job`` every ``interval_ns`` while ``needed()``; parked (no timer at all) until ``poke`` otherwise.

    ``needed`` must be cheap and side-effect free: it is asked at every tick. A ``VenueError``
    from ``job`` is logged and the job runs again at the next tick (``failed`` is called first,
    e.g. to keep the job needed).
    """

    def __init__(self, clock: Clock, interval_ns: int, job: Callable[[], Awaitable[None]],
                 needed: Callable[[], bool], *, name: str, failed: Callable[[], None] | None = None) -> None:
        if interval_ns <= 0:
            raise ValueError(f"{name}: interval_ns must be positive, got {interval_ns}")
        self.clock = clock
        self.interval_ns = interval_ns
        self.name = name
        self._job = job
        self._needed = needed
        self._failed = failed
        self._wake = asyncio.Event()
        self.runs = 0
        """How many times the job ran."""

    def poke(self) -> None:
        """Something ``needed`` reads may have changed: a parked job looks again at its next tick."""
        self._wake.set()

    async def run(self) -> None:
        """Tick forever (cancel the task to stop)."""
        tick = self.clock.now_ns() + self.interval_ns
        while True:
            await self.clock.sleep_ns(max(0, tick - self.clock.now_ns()))
            if not self._needed():
                self._wake.clear()
                await self._wake.wait()
                now = self.clock.now_ns()
                if tick <= now:  # resume on the old grid, strictly after the poke
                    tick += ((now - tick) // self.interval_ns + 1) * self.interval_ns
                continue
            try:
                self.runs += 1
                await self._job()
            except VenueError as error:  # a failed periodic job is logged and retried next time
                if self._failed is not None:
                    self._failed()
                logger.warning("periodic job %s failed: %s", self.name, error)
            tick = self.clock.now_ns() + self.interval_ns

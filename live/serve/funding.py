"""Funding at a served perpetual venue: ``sim.venue.funding.FundingSchedule`` on the served clock.

The simulation runs a ``FundingSchedule`` on its virtual-time loop; the local venue runs the same
schedule (the same times and rates: the profile's, every ``funding_interval_s``) on its own clock,
the wall clock or a ``ScaledClock``. ``ServedTimer`` is the schedule's timer there: ``call_at``
waits on that clock in an asyncio task; ``close`` cancels what is still pending.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from harness.clock import Clock
from sim.venue.funding import FundingSchedule
from sim.venue.futures_venue import FuturesVenue

__all__ = ["ServedTimer", "start_funding"]


class ServedTimer:
    """A ``FundingTimer`` on a served venue's clock (see the module docstring)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._tasks: set[asyncio.Task[None]] = set()

    def now_ns(self) -> int:
        """The served clock's time."""
        return self.clock.now_ns()

    def call_at(self, when_ns: int, callback: Callable[..., object], *args: object) -> asyncio.Task[None]:
        """Run ``callback(*args)`` once the served clock reaches ``when_ns``."""
        async def later() -> None:
            await self.clock.sleep_ns(max(0, when_ns - self.clock.now_ns()))
            callback(*args)

        task = asyncio.get_running_loop().create_task(later(), name="local-venue-funding")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        """Cancel the pending funding time."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def start_funding(venue: FuturesVenue, clock: Clock) -> ServedTimer:
    """Schedule ``venue``'s funding on ``clock`` from now on; close the returned timer to stop it."""
    timer = ServedTimer(clock)
    FundingSchedule(venue, timer).start()
    return timer

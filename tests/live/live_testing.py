"""Shared helpers of the live transport tests: a time-scaled clock, polling, fast backoff."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal

from harness.clock import NS_PER_SECOND, WallClock
from harness.errors import RetryPolicy

MS = 1_000_000
FAST_BACKOFF = RetryPolicy(initial_delay_ns=5 * MS, multiplier=Decimal(2), max_delay_ns=40 * MS, max_retries=0,
                           jitter=Decimal(0))


class ScaledClock(WallClock):
    """Virtual time ``scale`` x faster than the wall (at 1000, a 30 s backoff takes 30 ms); records sleeps.

    Tests assert on what happens in virtual time (which delays were asked for, which messages
    went out), never on how fast the machine did it.
    """

    def __init__(self, scale: int = 1000) -> None:
        self.scale = scale
        self._t0, self._m0 = time.time_ns(), time.monotonic_ns()
        self.sleeps: list[int] = []

    def now_ns(self) -> int:
        return self._t0 + (time.monotonic_ns() - self._m0) * self.scale

    def monotonic_ns(self) -> int:
        return (time.monotonic_ns() - self._m0) * self.scale

    async def sleep_ns(self, ns: int) -> None:
        self.sleeps.append(ns)
        await asyncio.sleep(ns / self.scale / NS_PER_SECOND)


async def until(condition: Callable[[], object], what: str, timeout_s: float = 10.0) -> None:
    """Poll ``condition`` (an upper bound for things that take milliseconds, not a speed check)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.001)

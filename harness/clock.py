"""The one way shared code reads time, sleeps and sets timers.

Shared code (order manager, router, retry policy, strategies) never calls ``time.time()``,
``datetime.now()`` or ``asyncio.sleep`` on its own: it is handed a ``Clock``. In simulation the
clock is virtual (``sim.kernel.runtime.SimClock``: SimPy's integer-nanosecond ``env.now``); live it is
``WallClock`` below, the only place in the project allowed to read the wall clock (with its
``ScaledClock``, the wall clock run X times faster, for the local venue's ``--speed``).

Units: time is ``int`` nanoseconds since the Unix epoch (UTC), as everywhere in the domain model.
Durations are ``int`` nanoseconds (``sleep_ns``, ``call_later``); ``sleep`` also takes whole or
``Decimal`` seconds for readability, rounded to the nearest nanosecond. Floats are refused: they
lose precision at epoch scale and invite non-reproducible arithmetic.

Timer callbacks are plain synchronous callables run by the event loop; ``call_later`` and
``call_at`` return a handle whose ``cancel()`` prevents the call (asyncio's own
``TimerHandle`` satisfies ``Cancellable``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Protocol, runtime_checkable

__all__ = [
    "NS_PER_SECOND",
    "Cancellable",
    "Clock",
    "ManualClock",
    "ScaledClock",
    "WallClock",
    "check_delay_ns",
    "ns_to_seconds",
    "seconds_to_ns",
]

NS_PER_SECOND = 1_000_000_000
"""Nanoseconds in one second."""


def seconds_to_ns(seconds: Decimal | int) -> int:
    """Convert a duration in whole or ``Decimal`` seconds to int ns, rounding half to even.

    Refuses floats (and bools) with ``TypeError`` so that no duration silently picks up binary
    rounding; use ``Decimal("0.25")`` or nanoseconds instead.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int | Decimal):
        raise TypeError(f"seconds must be int or Decimal, not {type(seconds).__name__}")
    if isinstance(seconds, int):
        return seconds * NS_PER_SECOND
    if not seconds.is_finite():
        raise ValueError(f"seconds must be finite, got {seconds}")
    return round(seconds * NS_PER_SECOND)


def ns_to_seconds(ns: int) -> Decimal:
    """Convert int nanoseconds to exact ``Decimal`` seconds (for display and venue APIs)."""
    return Decimal(ns).scaleb(-9)


def check_delay_ns(delay_ns: int, what: str) -> int:
    """Validate a nanosecond delay (an ``int``, not bool, not negative) and return it.

    Clocks call this so every implementation rejects the same bad input the same way.
    """
    if isinstance(delay_ns, bool) or not isinstance(delay_ns, int):
        raise TypeError(f"{what} must be int nanoseconds, not {type(delay_ns).__name__}")
    if delay_ns < 0:
        raise ValueError(f"{what} must not be negative, got {delay_ns}")
    return delay_ns


@runtime_checkable
class Cancellable(Protocol):
    """A scheduled call that can still be withdrawn (asyncio's ``TimerHandle`` is one)."""

    def cancel(self) -> None:
        """Prevent the call if it has not run yet; harmless afterwards."""

    def cancelled(self) -> bool:
        """Whether ``cancel()`` was called."""


@runtime_checkable
class Clock(Protocol):
    """Time as shared code sees it: now, sleeping and timers, in int nanoseconds.

    Implementations: ``WallClock`` (live) and ``sim.kernel.runtime.SimClock`` (virtual). All methods
    except ``now_ns``/``monotonic_ns`` must be called from inside the running event loop.
    """

    def now_ns(self) -> int:
        """Current time, ns since the Unix epoch (UTC)."""

    def monotonic_ns(self) -> int:
        """A clock that never goes backwards, for measuring durations (arbitrary origin)."""

    async def sleep_ns(self, ns: int) -> None:
        """Suspend the calling task for ``ns`` nanoseconds (0 just yields to other tasks)."""

    async def sleep(self, seconds: Decimal | int) -> None:
        """Suspend the calling task for whole or ``Decimal`` seconds (see ``seconds_to_ns``)."""

    def call_later(self, delay_ns: int, callback: Callable[..., object], *args: object) -> Cancellable:
        """Run ``callback(*args)`` once, ``delay_ns`` nanoseconds from now."""

    def call_at(self, when_ns: int, callback: Callable[..., object], *args: object) -> Cancellable:
        """Run ``callback(*args)`` once at epoch time ``when_ns`` (at once if that has passed)."""


class WallClock:
    """The live ``Clock``: the system's real-time clock and the running asyncio loop.

    This class is the only code in the project that reads the wall clock. Sleeps and timers go
    through the running loop (its monotonic clock), so a wall-clock step does not stretch them.
    """

    __slots__ = ()

    def now_ns(self) -> int:
        """Current wall-clock time, ns since the Unix epoch."""
        return time.time_ns()

    def monotonic_ns(self) -> int:
        """The OS monotonic clock in ns (for latency measurement; arbitrary origin)."""
        return time.monotonic_ns()

    async def sleep_ns(self, ns: int) -> None:
        """Sleep ``ns`` nanoseconds on the running loop."""
        await asyncio.sleep(check_delay_ns(ns, "ns") / NS_PER_SECOND)

    async def sleep(self, seconds: Decimal | int) -> None:
        """Sleep whole or ``Decimal`` seconds on the running loop."""
        await self.sleep_ns(check_delay_ns(seconds_to_ns(seconds), "seconds"))

    def call_later(self, delay_ns: int, callback: Callable[..., object], *args: object) -> Cancellable:
        """Schedule ``callback(*args)`` on the running loop after ``delay_ns``."""
        delay = check_delay_ns(delay_ns, "delay_ns") / NS_PER_SECOND
        return asyncio.get_running_loop().call_later(delay, callback, *args)

    def call_at(self, when_ns: int, callback: Callable[..., object], *args: object) -> Cancellable:
        """Schedule ``callback(*args)`` at epoch ``when_ns`` (converted to a delay from now)."""
        if isinstance(when_ns, bool) or not isinstance(when_ns, int):
            raise TypeError(f"when_ns must be int nanoseconds, not {type(when_ns).__name__}")
        return self.call_later(max(0, when_ns - time.time_ns()), callback, *args)


class ScaledClock(WallClock):
    """The wall clock run ``speed`` times faster (or slower), from ``origin_ns`` at creation.

    ``now_ns`` is ``origin_ns + speed * (monotonic time since creation)``: at speed 1 it is the
    wall clock (started at ``origin_ns``, by default the wall time now); at speed 60 a minute
    passes every second. Sleeps and timers are divided by ``speed``, so code sleeping 60 s on a
    60x clock wakes after one wall second. The local venue (``live.serve``) and a client that
    talks to it at ``--speed X`` share this clock: both see the same venue time. ``speed`` is an
    int or ``Decimal`` (exact: no float enters ``now_ns``).
    """

    __slots__ = ("_mono0", "_ratio", "origin_ns", "speed")

    def __init__(self, speed: Decimal | int = 1, *, origin_ns: int | None = None) -> None:
        if isinstance(speed, bool) or not isinstance(speed, int | Decimal) or not speed > 0:
            raise ValueError(f"speed must be a positive int or Decimal, got {speed!r}")
        self.speed = speed
        num, den = (speed, 1) if isinstance(speed, int) else speed.as_integer_ratio()
        self._ratio = (int(num), int(den))
        self._mono0 = time.monotonic_ns()
        self.origin_ns = time.time_ns() if origin_ns is None else origin_ns

    def _scaled(self, wall_ns: int) -> int:
        num, den = self._ratio
        return wall_ns * num // den

    def _wall(self, scaled_ns: int) -> float:
        num, den = self._ratio
        return scaled_ns * den / num / NS_PER_SECOND

    def now_ns(self) -> int:
        """Scaled time, ns since the Unix epoch."""
        return self.origin_ns + self._scaled(time.monotonic_ns() - self._mono0)

    def monotonic_ns(self) -> int:
        """Scaled monotonic time (origin: the clock's creation)."""
        return self._scaled(time.monotonic_ns() - self._mono0)

    async def sleep_ns(self, ns: int) -> None:
        """Sleep ``ns`` scaled nanoseconds (``ns / speed`` on the wall)."""
        await asyncio.sleep(self._wall(check_delay_ns(ns, "ns")))

    def call_later(self, delay_ns: int, callback: Callable[..., object], *args: object) -> Cancellable:
        """Schedule ``callback(*args)`` after ``delay_ns`` scaled nanoseconds."""
        delay = self._wall(check_delay_ns(delay_ns, "delay_ns"))
        return asyncio.get_running_loop().call_later(delay, callback, *args)

    def call_at(self, when_ns: int, callback: Callable[..., object], *args: object) -> Cancellable:
        """Schedule ``callback(*args)`` at scaled epoch ``when_ns``."""
        if isinstance(when_ns, bool) or not isinstance(when_ns, int):
            raise TypeError(f"when_ns must be int nanoseconds, not {type(when_ns).__name__}")
        return self.call_later(max(0, when_ns - self.now_ns()), callback, *args)


class ManualClock:
    """A clock that moves only when told: for unit tests of synchronous code that reads the time.

    ``now`` is the current time (ns); ``advance(ns)`` moves it forward. Sleeping and timers need
    an event loop in virtual time, which is ``sim.kernel.runtime.SimRuntime``'s job: here they raise
    ``NotImplementedError`` so a test that needs them says so at once.
    """

    def __init__(self, start_ns: int = 0) -> None:
        self.now = start_ns

    def advance(self, ns: int) -> int:
        """Move the clock forward by ``ns`` (not negative) and return the new time."""
        self.now += check_delay_ns(ns, "advance")
        return self.now

    def now_ns(self) -> int:
        """The time set by the test."""
        return self.now

    def monotonic_ns(self) -> int:
        """Same as ``now_ns``: a manual clock never goes back."""
        return self.now

    async def sleep_ns(self, ns: int) -> None:
        """Not available: use ``SimRuntime`` for code that sleeps."""
        raise NotImplementedError("ManualClock cannot sleep; run the code under sim.kernel.runtime.SimRuntime")

    async def sleep(self, seconds: Decimal | int) -> None:
        """Not available: use ``SimRuntime`` for code that sleeps."""
        raise NotImplementedError("ManualClock cannot sleep; run the code under sim.kernel.runtime.SimRuntime")

    def call_later(self, delay_ns: int, callback: Callable[..., object], *args: object) -> Cancellable:
        """Not available: use ``SimRuntime`` for timers."""
        raise NotImplementedError("ManualClock has no timers; run the code under sim.kernel.runtime.SimRuntime")

    def call_at(self, when_ns: int, callback: Callable[..., object], *args: object) -> Cancellable:
        """Not available: use ``SimRuntime`` for timers."""
        raise NotImplementedError("ManualClock has no timers; run the code under sim.kernel.runtime.SimRuntime")

"""harness.clock: the Clock protocol, WallClock, and the seconds/ns conversions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal

import pytest

from harness.clock import (
    NS_PER_SECOND,
    Cancellable,
    Clock,
    WallClock,
    check_delay_ns,
    ns_to_seconds,
    seconds_to_ns,
)
from sim.kernel.runtime import SimRuntime


def test_seconds_to_ns_exact_and_rounded() -> None:
    assert seconds_to_ns(3) == 3 * NS_PER_SECOND
    assert seconds_to_ns(Decimal("0.000000001")) == 1
    assert seconds_to_ns(Decimal("1723161253.937085768")) == 1_723_161_253_937_085_768
    assert seconds_to_ns(Decimal("0.0000000005")) == 0  # half to even
    assert seconds_to_ns(Decimal("0.0000000015")) == 2
    assert seconds_to_ns(Decimal("-1.5")) == -1_500_000_000


@pytest.mark.parametrize("bad", [0.5, True, "1", None])
def test_seconds_to_ns_refuses_non_decimal(bad: object) -> None:
    with pytest.raises(TypeError):
        seconds_to_ns(bad)  # type: ignore[arg-type]


def test_seconds_to_ns_refuses_non_finite() -> None:
    with pytest.raises(ValueError):
        seconds_to_ns(Decimal("NaN"))


def test_ns_to_seconds_is_exact() -> None:
    assert ns_to_seconds(1_723_161_253_937_085_768) == Decimal("1723161253.937085768")
    assert ns_to_seconds(1) == Decimal("1E-9")
    assert seconds_to_ns(ns_to_seconds(987_654_321_123)) == 987_654_321_123


def test_check_delay_ns() -> None:
    assert check_delay_ns(0, "d") == 0
    with pytest.raises(ValueError, match="d must not be negative"):
        check_delay_ns(-1, "d")
    with pytest.raises(TypeError, match="d must be int"):
        check_delay_ns(1.0, "d")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        check_delay_ns(False, "d")


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(WallClock(), Clock)
    with SimRuntime() as rt:
        assert isinstance(rt.clock, Clock)


def test_wall_clock_reads_real_time() -> None:
    clock = WallClock()
    before = time.time_ns()
    now = clock.now_ns()
    assert before <= now <= time.time_ns()
    m1 = clock.monotonic_ns()
    assert clock.monotonic_ns() >= m1


def test_wall_clock_sleeps_and_timers_on_the_running_loop() -> None:
    clock = WallClock()
    fired: list[str] = []

    async def main() -> None:
        start = clock.now_ns()  # the past deadline is before this, "later" after it, however slow the machine
        h = clock.call_later(1_000_000, fired.append, "later")  # 1 ms
        assert isinstance(h, Cancellable)
        doomed = clock.call_later(1_000_000, fired.append, "cancelled")
        doomed.cancel()
        clock.call_at(start - 10, fired.append, "past")
        t0 = time.monotonic_ns()
        await clock.sleep_ns(5_000_000)
        assert time.monotonic_ns() - t0 >= 4_000_000
        await clock.sleep(0)
        with pytest.raises(TypeError):
            await clock.sleep(0.001)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            await clock.sleep_ns(-1)

    asyncio.run(main())
    assert fired == ["past", "later"]


async def _retry_with_backoff(clock: Clock, attempts: list[int], fail_times: int) -> int:
    """Shared-code style: retries with doubling backoff, reading time only through a Clock."""
    delay_ns = 100_000_000
    for attempt in range(10):
        attempts.append(clock.now_ns())
        if attempt >= fail_times:
            return attempt
        await clock.sleep_ns(delay_ns)
        delay_ns *= 2
    raise AssertionError("unreachable")


def test_same_shared_code_runs_on_both_clocks() -> None:
    virtual: list[int] = []
    with SimRuntime(start_ns=1_000) as rt:
        assert rt.run(_retry_with_backoff(rt.clock, virtual, fail_times=3)) == 3
    assert virtual == [1_000, 100_001_000, 300_001_000, 700_001_000]

    real: list[int] = []

    async def live() -> int:
        clock = WallClock()
        return await asyncio.wait_for(_retry_with_backoff(_Scaled(clock), real, fail_times=2), 5)

    assert asyncio.run(live()) == 2
    assert len(real) == 3
    assert real[1] - real[0] >= 50_000  # slept (a scaled-down) 100 ms


class _Scaled:
    """A WallClock whose sleeps are 1000x shorter, so the live half of a test stays fast."""

    def __init__(self, inner: WallClock) -> None:
        self.inner = inner

    def now_ns(self) -> int:
        return self.inner.now_ns()

    def monotonic_ns(self) -> int:
        return self.inner.monotonic_ns()

    async def sleep_ns(self, ns: int) -> None:
        await self.inner.sleep_ns(ns // 1000)

    async def sleep(self, seconds: Decimal | int) -> None:
        await self.sleep_ns(seconds_to_ns(seconds))

    def call_later(self, delay_ns: int, callback: Callable[..., object], *args: object) -> Cancellable:
        return self.inner.call_later(delay_ns // 1000, callback, *args)

    def call_at(self, when_ns: int, callback: Callable[..., object], *args: object) -> Cancellable:
        return self.inner.call_at(when_ns, callback, *args)


def test_manual_clock_moves_only_when_told_and_refuses_timers() -> None:
    import asyncio

    from harness.clock import Clock, ManualClock

    clock = ManualClock(5)
    assert isinstance(clock, Clock)
    assert clock.now_ns() == clock.monotonic_ns() == 5
    assert clock.advance(10) == 15 and clock.now_ns() == 15
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(NotImplementedError, match="SimRuntime"):
        clock.call_later(1, print)
    with pytest.raises(NotImplementedError, match="SimRuntime"):
        asyncio.run(clock.sleep_ns(1))


def test_scaled_clock_runs_speed_times_the_wall_and_divides_sleeps() -> None:
    from harness.clock import ScaledClock

    with pytest.raises(ValueError):
        ScaledClock(0)
    with pytest.raises(ValueError):
        ScaledClock(Decimal("-1"))
    clock = ScaledClock(1000, origin_ns=5_000_000_000)
    assert isinstance(clock, Clock)
    first = clock.now_ns()
    assert first >= 5_000_000_000

    async def body() -> tuple[int, int]:
        wall = time.monotonic_ns()
        await clock.sleep_ns(2_000_000_000)  # two scaled seconds: 2 ms on the wall
        return clock.now_ns() - first, time.monotonic_ns() - wall

    scaled, wall = asyncio.run(body())
    assert scaled >= 2_000_000_000 and wall >= 2_000_000  # at least the asked time passed, on both clocks
    half = ScaledClock(Decimal("0.5"), origin_ns=0)
    assert half.now_ns() < 10**12  # exact rational scaling, no float in now_ns

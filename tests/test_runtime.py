"""SimRuntime: virtual time for asyncio on SimPy's calendar, with batched market sources.

Every ordering test asserts an exact event log, ``[(t_ns, what), ...]``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from decimal import Decimal
from typing import Any

import pytest
import simpy

from harness.clock import Clock
from sim.kernel.runtime import (
    FutureCancelledError,
    SimRuntime,
    SimulationStalledError,
)
from sim.kernel.sources import MarketSource, VirtualTime

EPOCH = 1_723_161_253_937_085_768  # an epoch-scale start, with every ns digit significant

Log = list[tuple[int, str]]


class ListSource:
    """A MarketSource over a fixed list of (ts, name); ``on_event`` may react synchronously."""

    def __init__(self, events: list[tuple[int, str]], log: Log,
                 on_event: Callable[[int, str], None] | None = None) -> None:
        self.events = events
        self.i = 0
        self.log = log
        self.on_event = on_event
        self.horizons: list[int] = []

    def peek_ts(self) -> int | None:
        return self.events[self.i][0] if self.i < len(self.events) else None

    def deliver(self, vt: VirtualTime) -> None:
        while self.i < len(self.events):
            ts, name = self.events[self.i]
            self.horizons.append(vt.horizon_ns)
            if ts > vt.horizon_ns:
                return
            self.i += 1
            vt.now_ns = ts
            self.log.append((ts, name))
            if self.on_event is not None:
                self.on_event(ts, name)


def test_source_is_a_market_source() -> None:
    src: MarketSource = ListSource([], [])
    assert src.peek_ts() is None


# -- sleeps and timers ------------------------------------------------------------------------


def test_sleeps_in_virtual_time_exact_log() -> None:
    rt = SimRuntime(start_ns=1_000)
    log: Log = []

    async def sleeper(name: str, delays_ns: list[int]) -> None:
        for d in delays_ns:
            await rt.clock.sleep_ns(d)
            log.append((rt.now_ns(), name))

    async def main() -> str:
        await asyncio.gather(sleeper("a", [5, 5, 5]), sleeper("b", [10, 1]),
                             sleeper("c", [3_600 * 10**9]))
        return "done"

    assert rt.run(main()) == "done"
    # equal times (a at 1010, b at 1010): scheduling order, a's timer was set first (at 1005)
    assert log == [(1_005, "a"), (1_010, "b"), (1_010, "a"), (1_011, "b"), (1_015, "a"),
                   (1_000 + 3_600 * 10**9, "c")]
    assert rt.env.now == rt.now_ns() == rt.clock.now_ns() == 1_000 + 3_600 * 10**9


def test_asyncio_sleep_and_clock_sleep_seconds() -> None:
    rt = SimRuntime(start_ns=EPOCH)
    seen: list[int] = []

    async def main() -> None:
        await asyncio.sleep(0.25)
        seen.append(rt.now_ns() - EPOCH)
        await rt.clock.sleep(Decimal("0.000000007"))
        seen.append(rt.now_ns() - EPOCH)
        await rt.clock.sleep(2)
        seen.append(rt.now_ns() - EPOCH)
        await rt.clock.sleep_ns(0)  # yields, no time passes
        seen.append(rt.now_ns() - EPOCH)
        assert rt.loop.time() == pytest.approx(2.250000007, abs=1e-12)

    rt.run(main())
    assert seen == [250_000_000, 250_000_007, 2_250_000_007, 2_250_000_007]


def test_call_later_and_cancel() -> None:
    rt = SimRuntime(start_ns=0)
    log: Log = []

    def note(what: str) -> None:
        log.append((rt.now_ns(), what))

    async def main() -> None:
        rt.clock.call_later(30, note, "clock+30")
        rt.loop.call_later(20e-9, note, "loop+20")
        doomed = rt.clock.call_later(25, note, "cancelled")
        rt.clock.call_at(10, note, "at10")
        rt.loop.call_at(rt.loop.time() + 40e-9, note, "loop.call_at+40")
        rt.clock.call_at(-5, note, "past->now")
        doomed.cancel()
        assert doomed.cancelled()
        await rt.clock.sleep_ns(100)

    rt.run(main())
    assert log == [(0, "past->now"), (10, "at10"), (20, "loop+20"), (30, "clock+30"),
                   (40, "loop.call_at+40")]


def test_many_cancelled_timers_are_purged() -> None:
    rt = SimRuntime()
    fired: list[int] = []

    async def main() -> None:
        handles = [rt.clock.call_later(1_000 + i, fired.append, i) for i in range(500)]
        for h in handles[:-1]:
            h.cancel()
        await rt.clock.sleep_ns(1)  # let the loop advance, purging the cancelled heap
        assert len(rt.loop._timers) < 300
        await rt.clock.sleep_ns(10_000)

    rt.run(main())
    assert fired == [499]


def test_wait_for_timeout_fires_at_exact_virtual_ns() -> None:
    rt = SimRuntime(start_ns=EPOCH)
    log: Log = []

    async def slow() -> None:
        try:
            await rt.clock.sleep(10)
        except asyncio.CancelledError:
            log.append((rt.now_ns(), "slow cancelled"))
            raise

    async def main() -> None:
        try:
            await asyncio.wait_for(slow(), timeout=0.0000015)
        except TimeoutError:
            log.append((rt.now_ns(), "wait_for timed out"))
        try:
            async with asyncio.timeout(0.003):
                await rt.clock.sleep(1)
        except TimeoutError:
            log.append((rt.now_ns(), "timeout() fired"))
        assert await asyncio.wait_for(asyncio.sleep(0.001, "ok"), timeout=0.002) == "ok"
        log.append((rt.now_ns(), "in time"))

    rt.run(main())
    assert log == [(EPOCH + 1_500, "slow cancelled"), (EPOCH + 1_500, "wait_for timed out"),
                   (EPOCH + 3_001_500, "timeout() fired"), (EPOCH + 4_001_500, "in time")]


def test_epoch_scale_stays_ns_exact() -> None:
    """Steps of 1 ns at 1.7e18 (where a float's step is ~238 ns) land exactly."""
    rt = SimRuntime(start_ns=EPOCH)
    times: list[int] = []

    def ticker() -> Generator[simpy.Event, Any, None]:
        for _ in range(3):
            yield rt.env.timeout(1)
            times.append(rt.env.now)

    async def main() -> None:
        rt.process(ticker())
        for _ in range(3):
            await asyncio.sleep(1e-9)
            times.append(rt.now_ns())
        await rt.clock.sleep_ns(1)
        times.append(rt.now_ns())

    rt.run(main())
    assert times == [EPOCH + 1, EPOCH + 1, EPOCH + 2, EPOCH + 2, EPOCH + 3, EPOCH + 3, EPOCH + 4]
    assert all(type(t) is int for t in times)
    assert float(EPOCH) + 1e-9 * 1e9 == float(EPOCH)  # why floats could not have done this


def test_sixty_virtual_days_of_float_deadlines_stay_exact() -> None:
    rt = SimRuntime(start_ns=EPOCH)
    day = 86_400 * 10**9

    async def main() -> int:
        await rt.clock.sleep_ns(60 * day)
        await asyncio.sleep(0.000000123)  # float boundary: loop.time() + delay -> ns
        async with asyncio.timeout(0.000000077):
            await asyncio.sleep(1)
        return 0

    with pytest.raises(TimeoutError):
        rt.run(main())
    assert rt.now_ns() == EPOCH + 60 * day + 123 + 77


# -- SimPy <-> asyncio ------------------------------------------------------------------------


def test_simpy_process_resolves_future() -> None:
    rt = SimRuntime(start_ns=100)
    log: Log = []

    def venue(fut: asyncio.Future[str], latency: int) -> Generator[simpy.Event, Any, None]:
        log.append((rt.env.now, "venue got request"))
        yield rt.env.timeout(latency)
        assert rt.resolve(fut, "ack")
        log.append((rt.env.now, "venue resolved"))

    async def main() -> None:
        fut: asyncio.Future[str] = rt.create_future()
        rt.process(venue(fut, 250))
        log.append((rt.now_ns(), "awaiting"))
        got = await fut
        log.append((rt.now_ns(), got))

    rt.run(main())
    # the awaiting task wakes at the same ns, after the SimPy callback that resolved it
    assert log == [(100, "awaiting"), (100, "venue got request"), (350, "venue resolved"), (350, "ack")]


def test_resolve_ignores_a_future_whose_waiter_gave_up() -> None:
    rt = SimRuntime()
    results: list[bool] = []

    def venue(fut: asyncio.Future[str]) -> Generator[simpy.Event, Any, None]:
        yield rt.env.timeout(5_000)
        results.append(rt.resolve(fut, "late"))
        results.append(rt.fail(fut, RuntimeError("late")))

    async def main() -> None:
        fut: asyncio.Future[str] = rt.create_future()
        rt.process(venue(fut))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(fut, 1e-6)
        await rt.clock.sleep_ns(10_000)

    rt.run(main())
    assert results == [False, False]


def test_wait_event_value_and_failure() -> None:
    rt = SimRuntime()
    log: Log = []

    async def main() -> None:
        ev = rt.env.timeout(42, value="v")
        got = await rt.wait_event(ev)
        log.append((rt.now_ns(), got))
        again = await rt.wait_event(ev)  # already processed
        log.append((rt.now_ns(), again))
        bad = rt.env.event()
        rt.env.process(_fail_later(rt, bad, 8))
        with pytest.raises(KeyError, match="boom"):
            await rt.wait_event(bad)  # defused: the environment does not crash
        log.append((rt.now_ns(), "failure raised"))

    rt.run(main())
    assert log == [(42, "v"), (42, "v"), (50, "failure raised")]


def _fail_later(rt: SimRuntime, ev: simpy.Event, delay: int) -> Generator[simpy.Event, Any, None]:
    yield rt.env.timeout(delay)
    ev.fail(KeyError("boom"))


def test_wait_event_cancelled_waiter_detaches() -> None:
    rt = SimRuntime()
    ev = rt.env.event()

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(rt.wait_event(ev), 1e-6)
        assert ev.callbacks == []

    rt.run(main())


def test_simpy_process_waits_on_async_work() -> None:
    rt = SimRuntime()
    log: Log = []

    async def fetch() -> str:
        await rt.clock.sleep_ns(70)
        return "data"

    def proc(task: asyncio.Task[str], cancelled: asyncio.Future[None]) -> Generator[simpy.Event, Any, None]:
        value = yield rt.event_from_future(task)
        log.append((rt.env.now, value))
        try:
            yield rt.event_from_future(cancelled)
        except FutureCancelledError:
            log.append((rt.env.now, "cancelled"))

    async def main() -> None:
        never: asyncio.Future[None] = rt.create_future()
        p = rt.process(proc(rt.loop.create_task(fetch()), never))
        await rt.clock.sleep_ns(100)
        never.cancel()
        await rt.wait_event(p)

    rt.run(main())
    assert log == [(70, "data"), (100, "cancelled")]


# -- ordering rules ---------------------------------------------------------------------------


def test_ties_between_simpy_events_and_timers_are_fifo_urgent_first() -> None:
    rt = SimRuntime()
    log: Log = []

    def proc(name: str) -> Generator[simpy.Event, Any, None]:
        log.append((rt.env.now, f"start {name}"))
        yield rt.env.timeout(0)

    def note(what: str) -> None:
        log.append((rt.now_ns(), what))

    def start(name: str) -> None:
        rt.process(proc(name))

    async def main() -> None:
        await rt.clock.sleep_ns(10)
        rt.clock.call_later(5, note, "timer 1")
        rt.env.timeout(5).callbacks.append(lambda _: note("simpy 2"))
        rt.clock.call_later(5, note, "timer 3")
        rt.env.timeout(5).callbacks.append(lambda _: start("urgent"))
        await rt.clock.sleep_ns(10)

    rt.run(main())
    assert log == [(15, "timer 1"), (15, "simpy 2"), (15, "timer 3"), (15, "start urgent")]


def test_ready_callbacks_run_before_next_calendar_item_at_same_ns() -> None:
    rt = SimRuntime()
    log: Log = []

    async def waiter(fut: asyncio.Future[None], name: str) -> None:
        await fut
        log.append((rt.now_ns(), f"{name} woke"))

    def resolver(futs: list[asyncio.Future[None]]) -> Callable[[simpy.Event], None]:
        def cb(_: simpy.Event) -> None:
            for f in futs:
                log.append((rt.env.now, "resolve"))
                f.set_result(None)
        return cb

    async def main() -> None:
        f1, f2 = rt.create_future(), rt.create_future()
        t1 = rt.loop.create_task(waiter(f1, "w1"))
        t2 = rt.loop.create_task(waiter(f2, "w2"))
        rt.env.timeout(7).callbacks.append(resolver([f1]))
        rt.env.timeout(7).callbacks.append(resolver([f2]))
        await asyncio.gather(t1, t2)

    rt.run(main())
    assert log == [(7, "resolve"), (7, "w1 woke"), (7, "resolve"), (7, "w2 woke")]


def test_call_soon_chains_finish_before_time_or_calendar_moves() -> None:
    rt = SimRuntime()
    log: Log = []

    def note(what: str) -> None:
        log.append((rt.now_ns(), what))

    def soon() -> None:
        note("soon 1")
        rt.loop.call_soon(note, "soon 2")

    def first() -> None:
        note("timer@7")
        rt.loop.call_soon(soon)

    async def main() -> None:
        rt.clock.call_at(7, first)
        rt.env.timeout(7).callbacks.append(lambda _: note("simpy@7"))
        rt.env.timeout(8).callbacks.append(lambda _: note("simpy@8"))
        await rt.clock.sleep_ns(9)

    rt.run(main())
    assert log == [(7, "timer@7"), (7, "soon 1"), (7, "soon 2"), (7, "simpy@7"), (8, "simpy@8")]


def test_market_source_interleaves_with_timers_exact_order() -> None:
    """Data at 1, 2, 5; a timer at 3; the callback at 2 schedules something at 2.5."""
    u = 1_000_000  # 1 "unit" = 1 ms
    rt = SimRuntime(start_ns=0)
    log: Log = []

    def on_event(ts: int, name: str) -> None:
        if name == "md@2":
            rt.env.timeout(u // 2).callbacks.append(lambda _: log.append((rt.env.now, "simpy@2.5")))

    src = ListSource([(1 * u, "md@1"), (2 * u, "md@2"), (5 * u, "md@5")], log, on_event)
    rt.add_source(src)

    async def main() -> None:
        rt.clock.call_at(3 * u, lambda: log.append((rt.now_ns(), "timer@3")))
        await rt.clock.sleep_ns(10 * u)
        log.append((rt.now_ns(), "end"))

    rt.run(main())
    assert log == [(1 * u, "md@1"), (2 * u, "md@2"), (2 * u + u // 2, "simpy@2.5"),
                   (3 * u, "timer@3"), (5 * u, "md@5"), (10 * u, "end")]
    # first batch ran with the timer at 3 as horizon, until md@2's callback lowered it to 2.5
    assert src.horizons[:3] == [3 * u, 3 * u, 2 * u + u // 2]


@pytest.mark.parametrize("how", ["call_soon", "call_at_ns", "future", "env.timeout(0)"])
def test_callback_lowers_horizon_at_once(how: str) -> None:
    rt = SimRuntime(start_ns=0)
    log: Log = []
    fut: asyncio.Future[None] = rt.create_future()

    def react() -> None:
        log.append((rt.now_ns(), "reaction"))

    def on_event(ts: int, name: str) -> None:
        if name != "a@10":
            return
        if how == "call_soon":
            rt.loop.call_soon(react)
        elif how == "call_at_ns":
            rt.loop.call_at_ns(ts + 1, react)
        elif how == "future":
            fut.add_done_callback(lambda _: react())
            fut.set_result(None)
        else:
            rt.env.timeout(0).callbacks.append(lambda _: react())

    src = ListSource([(10, "a@10"), (10, "b@10"), (11, "c@11"), (12, "d@12")], log, on_event)
    rt.add_source(src)
    rt.run_until(100)
    # data at the same ns as the reaction still comes first (rule 2); later data waits
    expected = [(10, "a@10"), (10, "b@10"), (10, "reaction"), (11, "c@11"), (12, "d@12")]
    if how == "call_at_ns":
        expected = [(10, "a@10"), (10, "b@10"), (11, "c@11"), (11, "reaction"), (12, "d@12")]
    assert log == expected
    assert rt.now_ns() == 100


def test_market_data_before_calendar_at_equal_time_and_ready_first() -> None:
    rt = SimRuntime(start_ns=0)
    log: Log = []
    rt.add_source(ListSource([(0, "md@0"), (5, "md@5")], log))

    async def main() -> None:
        log.append((rt.now_ns(), "main first step"))  # ready work at start precedes md@0
        rt.clock.call_at(5, lambda: log.append((rt.now_ns(), "timer@5")))
        rt.env.timeout(5).callbacks.append(lambda _: log.append((rt.env.now, "simpy@5")))
        await rt.clock.sleep_ns(6)

    rt.run(main())
    assert log == [(0, "main first step"), (0, "md@0"), (5, "md@5"), (5, "timer@5"), (5, "simpy@5")]


def test_several_sources_merge_in_time_then_add_order() -> None:
    rt = SimRuntime()
    log: Log = []
    a = ListSource([(1, "a1"), (3, "a3"), (3, "a3'"), (6, "a6")], log)
    b = ListSource([(2, "b2"), (3, "b3"), (4, "b4")], log)
    c = ListSource([(3, "c3")], log)
    rt.add_source(b)
    rt.add_source(a)
    rt.add_source(c)
    rt.run_until(10)
    assert log == [(1, "a1"), (2, "b2"), (3, "b3"), (3, "a3"), (3, "a3'"), (3, "c3"), (4, "b4"), (6, "a6")]


def test_earlier_added_source_wins_a_tie_reached_mid_batch() -> None:
    rt = SimRuntime()
    log: Log = []
    rt.add_source(ListSource([(5, "first-added@5")], log))
    rt.add_source(ListSource([(4, "second@4"), (5, "second@5")], log))
    rt.run_until(10)
    assert log == [(4, "second@4"), (5, "first-added@5"), (5, "second@5")]


def test_source_alone_batches_to_the_end_without_calendar() -> None:
    rt = SimRuntime()
    log: Log = []
    src = ListSource([(i, f"e{i}") for i in range(1, 6)], log)
    rt.add_source(src)

    async def main() -> None:
        await rt.clock.sleep_ns(3)
        log.append((rt.now_ns(), "woke"))

    rt.run(main())
    assert log == [(1, "e1"), (2, "e2"), (3, "e3"), (3, "woke")]
    rt.run_until(50)
    assert log[4:] == [(4, "e4"), (5, "e5")]
    assert rt.now_ns() == 50


def test_source_that_stops_short_of_the_horizon_is_an_error() -> None:
    class Lazy(ListSource):
        def deliver(self, vt: VirtualTime) -> None:
            return None

    rt = SimRuntime()
    rt.add_source(Lazy([(5, "never delivered")], []))
    with pytest.raises(RuntimeError, match="not beyond the horizon"):
        rt.run_until(10)


def test_add_source_in_the_past_is_refused() -> None:
    rt = SimRuntime(start_ns=100)
    with pytest.raises(ValueError, match="before the current virtual time"):
        rt.add_source(ListSource([(99, "old")], []))


# -- run_until ---------------------------------------------------------------------------------


def test_run_until_is_exclusive_and_resumable() -> None:
    rt = SimRuntime(start_ns=0)
    log: Log = []
    rt.add_source(ListSource([(20, "md@20")], log))

    async def ticker() -> None:
        while True:
            await rt.clock.sleep_ns(10)
            log.append((rt.now_ns(), "tick"))

    rt.loop.create_task(ticker())
    rt.run_until(20)
    assert log == [(10, "tick")]
    assert rt.now_ns() == 20
    rt.run_until(20)  # nothing more at or after 20 yet
    assert rt.now_ns() == 20
    rt.run_until(31)
    assert log == [(10, "tick"), (20, "md@20"), (20, "tick"), (30, "tick")]
    with pytest.raises(ValueError, match="already"):
        rt.run_until(5)
    rt.close()
    rt.close()


# -- errors ------------------------------------------------------------------------------------


def test_run_returns_result_and_raises_main_exception() -> None:
    rt = SimRuntime()

    async def ok() -> int:
        await rt.clock.sleep_ns(1)
        return 7

    async def bad() -> None:
        await rt.clock.sleep_ns(1)
        raise ValueError("main failed")

    assert rt.run(ok()) == 7
    with pytest.raises(ValueError, match="main failed"):
        rt.run(bad())
    assert rt.run(ok()) == 7  # the runtime stays usable


def test_callback_exception_stops_the_run() -> None:
    rt = SimRuntime()
    after: list[int] = []

    def explode() -> None:
        raise ZeroDivisionError("in a callback")

    async def main() -> None:
        rt.clock.call_later(5, explode)
        await rt.clock.sleep_ns(10)
        after.append(rt.now_ns())

    with pytest.raises(ZeroDivisionError, match="in a callback"):
        rt.run(main())
    assert after == []
    assert rt.now_ns() == 5


def test_failed_simpy_process_nobody_waits_for_stops_the_run() -> None:
    rt = SimRuntime()

    def crash() -> Generator[simpy.Event, Any, None]:
        yield rt.env.timeout(3)
        raise OSError("venue crashed")

    async def main() -> None:
        rt.process(crash())
        await rt.clock.sleep_ns(10)

    with pytest.raises(OSError, match="venue crashed"):
        rt.run(main())
    assert rt.now_ns() == 3


def test_market_callback_exception_surfaces() -> None:
    rt = SimRuntime()

    def on_event(ts: int, name: str) -> None:
        raise LookupError(name)

    rt.add_source(ListSource([(4, "bad tick")], [], on_event))
    with pytest.raises(LookupError, match="bad tick"):
        rt.run(rt.clock.sleep_ns(10))


def test_unawaited_background_failure_is_raised_after_main() -> None:
    rt = SimRuntime()

    async def background() -> None:
        await rt.clock.sleep_ns(2)
        raise RuntimeError("heartbeat died")

    async def main() -> str:
        rt.loop.create_task(background(), name="heartbeat")
        await rt.clock.sleep_ns(5)
        return "main ok"

    with pytest.raises(RuntimeError, match="heartbeat died") as info:
        rt.run(main())
    assert any("'heartbeat', which nobody awaited" in n for n in info.value.__notes__)


def test_task_names_are_reproducible() -> None:
    names: list[str] = []

    async def main() -> None:
        current = asyncio.current_task()
        assert current is not None
        names.append(current.get_name())
        t = asyncio.get_running_loop().create_task(asyncio.sleep(0))
        names.append(t.get_name())
        await t

    for _ in range(2):
        SimRuntime().run(main())
    assert names == ["main", "sim-task-2"] * 2


def test_awaited_background_failure_is_not_raised_again() -> None:
    rt = SimRuntime()

    async def background() -> None:
        await rt.clock.sleep_ns(2)
        raise RuntimeError("handled")

    async def main() -> str:
        task = rt.loop.create_task(background())
        await rt.clock.sleep_ns(5)
        with pytest.raises(RuntimeError):
            await task
        return "main ok"

    assert rt.run(main()) == "main ok"


def test_leftover_tasks_are_cancelled_in_creation_order() -> None:
    rt = SimRuntime()
    log: Log = []

    async def forever(name: str) -> None:
        try:
            await rt.clock.sleep(3_600)
        except asyncio.CancelledError:
            log.append((rt.now_ns(), f"{name} cancelled"))
            await rt.clock.sleep_ns(5)  # cleanup may take virtual time
            log.append((rt.now_ns(), f"{name} cleaned up"))
            raise

    async def main() -> str:
        for name in ("t1", "t2", "t3"):
            rt.loop.create_task(forever(name))
        await rt.clock.sleep_ns(10)
        return "done"

    assert rt.run(main()) == "done"
    assert log == [(10, "t1 cancelled"), (10, "t2 cancelled"), (10, "t3 cancelled"),
                   (15, "t1 cleaned up"), (15, "t2 cleaned up"), (15, "t3 cleaned up")]
    assert not rt.loop._live_tasks


def test_stalled_simulation_raises_instead_of_hanging() -> None:
    rt = SimRuntime()

    async def main() -> None:
        await rt.create_future()  # nobody will ever resolve it

    with pytest.raises(SimulationStalledError, match="still waiting"):
        rt.run(main())


def test_environment_refuses_run_and_float_delays() -> None:
    rt = SimRuntime()
    with pytest.raises(RuntimeError, match="driven by SimRuntime"):
        rt.env.run()
    with pytest.raises(TypeError, match="int nanoseconds"):
        rt.env.timeout(1.5)
    with pytest.raises(ValueError):
        rt.env.timeout(-1)
    import numpy as np

    rt.env.timeout(np.int64(4))  # type: ignore[arg-type]  # numpy ints are accepted at run time
    assert rt.env.peek() == 4
    assert type(rt.env.peek()) is int


def test_clock_validation_and_protocol() -> None:
    rt = SimRuntime()
    assert isinstance(rt.clock, Clock)
    with pytest.raises(TypeError):
        rt.run(rt.clock.sleep(0.5))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        rt.run(rt.clock.sleep_ns(-1))
    with pytest.raises(TypeError):
        rt.clock.call_at(1.0, print)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="start_ns"):
        SimRuntime(start_ns=-1)


def test_one_virtual_hour_of_timers_takes_little_wall_time() -> None:
    import time

    rt = SimRuntime(start_ns=EPOCH)
    beats: list[int] = []

    async def heartbeat() -> None:
        for _ in range(3_600):
            await asyncio.sleep(1)
            beats.append(rt.now_ns())

    t0 = time.perf_counter()
    rt.run(heartbeat())
    assert time.perf_counter() - t0 < 2.0
    assert beats[-1] == EPOCH + 3_600 * 10**9
    assert beats[:2] == [EPOCH + 10**9, EPOCH + 2 * 10**9]

"""One virtual clock: SimPy owns the calendar, an asyncio event loop runs on top of it.

``SimRuntime`` gives simulated runs a single notion of time, shared by three kinds of things:

* **SimPy events** (``rt.env``): the venue, latency, faults. Time is ``int`` nanoseconds since the
  Unix epoch (``SimEnvironment``); ``env.now`` never passes through a float.
* **asyncio** (``rt.loop``): the shared execution code, unchanged from live. ``asyncio.sleep``,
  ``wait_for``/``timeout`` deadlines, ``call_later`` and retry backoff all run in virtual time, so
  an hour of simulated trading takes milliseconds. ``rt.clock`` is the ``harness.clock.Clock``.
* **Market data** (``add_source``): delivered in synchronous batches up to the next calendar
  item (``sim.kernel.sources``), never as one SimPy event per tick. The client's delayed copies of a
  feed's events travel inside the feed's own batches (``sim.channels``), not as sources.

How the loop works. ``SimLoop`` subclasses ``asyncio.BaseEventLoop`` and replaces its one
scheduling step, ``_run_once``. Ready callbacks run exactly as in asyncio; when none are ready
the loop never waits: it delivers due market data, or processes the next calendar item (one
SimPy event, or one asyncio timer, whichever comes first), jumping virtual time to it. asyncio
timers are kept on the loop's own heap keyed by ``(int ns, sequence)`` rather than asyncio's
float deadlines: floats cannot hold epoch nanoseconds (their step there is ~238 ns), and a
private heap gives a total, documented order at equal times. (A custom selector under a stock
``SelectorEventLoop`` also works, but leaves timer order and precision to float ``_when``.)

The asyncio boundary. ``loop.time()`` is float seconds since the run's ``start_ns`` (asyncio
only promises a monotonic clock with an arbitrary origin), which keeps floats small: deadlines
asyncio computes as ``loop.time() + delay`` convert back to the exact nanosecond (rounded half to
even) for runs up to about 97 days; longer runs degrade gracefully to sub-microsecond rounding.
``rt.clock`` (``sleep_ns``, ``call_later``) never uses floats at all.

Order of things (deterministic; ``tests/test_runtime.py`` pins each rule):

1. Ready asyncio callbacks (a task woken by a resolved future, ``call_soon``) run before time
   moves and before any further calendar item or market data, even at the same nanosecond:
   they are the continuation of something that already happened now.
2. Market data at time t is delivered before any calendar item at t ("data first"): a timer or
   SimPy event at t sees the book as of t. Among several sources, the earliest event goes
   first; equal timestamps go in ``add_source`` order.
3. Calendar items at equal t: SimPy URGENT events (process starts, interrupts) first, then
   SimPy NORMAL events and asyncio timers in the order they were scheduled (one shared counter).
4. After each calendar item, the ready callbacks it caused run (rule 1) before the next item.
5. During a market-data batch, anything a callback schedules earlier than the batch's horizon
   (``call_soon``, ``call_at``, ``env.schedule``) lowers ``horizon_ns`` at once, so the source
   stops before it; a ready callback lowers it to the current event's timestamp, so the rest of
   that timestamp's data still comes first (rule 2).

Errors surface: an exception in a callback or SimPy event stops the run and is raised by
``run``/``run_until``; ``run`` re-raises the main coroutine's exception, and, if the main
coroutine succeeded, the first exception of any task nobody awaited. Leftover tasks are
cancelled in creation order when ``run`` returns. A run where the main coroutine waits but
nothing at all is left to happen raises ``SimulationStalledError`` instead of hanging.

Not supported inside the simulation: real I/O, threads and executors (the loop never blocks, so
their results would never arrive; sockets raise ``NotImplementedError``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Generator
from decimal import Decimal
from typing import Any, Final, TypeVar, cast

import simpy

from harness.clock import Cancellable, check_delay_ns, seconds_to_ns
from harness.rng import SeededRng
from sim.kernel.loop import FutureCancelledError, SimEnvironment, SimLoop, SimulationStalledError
from sim.kernel.sources import MarketSource, VirtualTime

__all__ = [
    "FutureCancelledError",
    "SimClock",
    "SimEnvironment",
    "SimLoop",
    "SimRuntime",
    "SimulationStalledError",
]

_T = TypeVar("_T")
_SHUTDOWN_ROUNDS: Final = 100  # rounds of cancelling leftover tasks before giving up


def _set_result_unless_done(fut: asyncio.Future[None]) -> None:
    """Timer callback of ``SimClock.sleep_ns``: wake the sleeper unless it was cancelled."""
    if not fut.done():
        fut.set_result(None)


class SimClock:
    """The virtual ``harness.clock.Clock``: SimPy's int-ns time and the loop's exact timers."""

    __slots__ = ("_env", "_loop")

    def __init__(self, env: SimEnvironment, loop: SimLoop) -> None:
        self._env = env
        self._loop = loop

    def now_ns(self) -> int:
        """Current virtual time, ns since the Unix epoch."""
        return self._env.now_ns

    def monotonic_ns(self) -> int:
        """Virtual time again: it never goes backwards."""
        return self._env.now_ns

    async def sleep_ns(self, ns: int) -> None:
        """Sleep exactly ``ns`` virtual nanoseconds (0 yields once, like ``asyncio.sleep(0)``)."""
        if check_delay_ns(ns, "ns") == 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = self._loop.create_future()
        timer = self._loop.call_at_ns(self._env.now_ns + ns, _set_result_unless_done, fut)
        try:
            await fut
        except BaseException:
            timer.cancel()
            raise

    async def sleep(self, seconds: Decimal | int) -> None:
        """Sleep whole or ``Decimal`` virtual seconds (rounded to the ns)."""
        await self.sleep_ns(check_delay_ns(seconds_to_ns(seconds), "seconds"))

    def call_later(self, delay_ns: int, callback: Callable[..., object], *args: object) -> Cancellable:
        """Run ``callback(*args)`` ``delay_ns`` virtual ns from now."""
        return self._loop.call_at_ns(self._env.now_ns + check_delay_ns(delay_ns, "delay_ns"), callback, *args)

    def call_at(self, when_ns: int, callback: Callable[..., object], *args: object) -> Cancellable:
        """Run ``callback(*args)`` at virtual epoch ``when_ns`` (now if that has passed)."""
        if isinstance(when_ns, bool) or not isinstance(when_ns, int):
            raise TypeError(f"when_ns must be int nanoseconds, not {type(when_ns).__name__}")
        return self._loop.call_at_ns(when_ns, callback, *args)


class SimRuntime:
    """A simulated world's clock, calendar, event loop and randomness, driven as one.

    ``SimRuntime(seed=7, start_ns=first_ts)`` builds the SimPy environment (``env``), the loop
    on top of it (``loop``), the ``Clock`` for shared code (``clock``) and the seeded RNG
    (``rng``). ``run(coro)`` drives everything until the coroutine finishes; ``run_until(t)``
    drives it up to a time. Use it as a context manager (or call ``close``) to release the loop.
    """

    def __init__(self, *, seed: int = 0, start_ns: int = 0) -> None:
        if isinstance(start_ns, bool) or not isinstance(start_ns, int) or start_ns < 0:
            raise ValueError(f"start_ns must be a non-negative int (ns since the epoch), got {start_ns!r}")
        self.env: Final = SimEnvironment(start_ns)
        self.loop: Final = SimLoop(self.env)
        self.clock: Final = SimClock(self.env, self.loop)
        self.rng: Final = SeededRng(seed)

    @property
    def vt(self) -> VirtualTime:
        """The shared ``VirtualTime`` (``now_ns``, ``horizon_ns``) market sources work against."""
        return self.env

    def now_ns(self) -> int:
        """Current virtual time, ns since the Unix epoch."""
        return self.env.now_ns

    def add_source(self, source: MarketSource) -> None:
        """Feed a market source into this world (batches up to the next calendar item)."""
        self.loop.add_source(source)

    # -- driving ------------------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coro`` as the main task until it finishes; return its result or raise its error.

        Afterwards every task still alive is cancelled (in creation order) and allowed to
        finish. If the main coroutine succeeded but another task failed and nobody awaited it,
        that exception is raised instead (with a note naming the task).
        """
        task = self.loop.create_task(coro, name="main")
        try:
            self._drive(task)
        except BaseException as exc:
            try:
                self._shutdown_tasks()
            except BaseException as during:  # keep the first error; say what else went wrong
                exc.add_note(f"while cancelling leftover tasks after it: {during!r}")
            raise
        self._shutdown_tasks()
        if not task.cancelled() and task.exception() is None:
            self._raise_unawaited_failures()
        return task.result()

    def run_until(self, t_ns: int) -> None:
        """Process everything before ``t_ns`` (exclusive, like ``simpy.Environment.run``), then
        leave virtual time at exactly ``t_ns``. Tasks stay alive for the next call."""
        if isinstance(t_ns, bool) or not isinstance(t_ns, int):
            raise TypeError(f"t_ns must be int nanoseconds, not {type(t_ns).__name__}")
        if t_ns < self.env.now_ns:
            raise ValueError(f"cannot run until {t_ns}: virtual time is already {self.env.now_ns}")
        self.loop._until = t_ns
        try:
            self.loop.run_forever()
        finally:
            self.loop._until = None
        err = self.loop.take_error()
        if err is not None:
            raise err

    def _drive(self, fut: asyncio.Future[Any]) -> None:
        """Run the loop until ``fut`` is done; raise whatever error stopped it instead."""
        loop = self.loop

        def stop(_: asyncio.Future[Any]) -> None:
            loop.stop()

        fut.add_done_callback(stop)
        try:
            loop.run_forever()
        finally:
            fut.remove_done_callback(stop)
        err = loop.take_error()
        if err is not None:
            raise err

    def _shutdown_tasks(self) -> None:
        """Cancel live tasks in creation order and run until they (and any they start) end."""
        for _ in range(_SHUTDOWN_ROUNDS):
            tasks = [t for t in self.loop._live_tasks if not t.done()]
            if not tasks:
                return
            for t in tasks:
                t.cancel()
            self._drive(asyncio.gather(*tasks, return_exceptions=True))
            for t in tasks:
                if not t.cancelled() and (exc := t.exception()) is not None:
                    raise RuntimeError(f"task {t.get_name()!r} failed while being cancelled") from exc
        raise RuntimeError(f"tasks kept starting new tasks through {_SHUTDOWN_ROUNDS} rounds of cancellation")

    def _raise_unawaited_failures(self) -> None:
        """Raise the first exception of a finished task that nobody retrieved."""
        failed, self.loop._failed_tasks = self.loop._failed_tasks, []
        unseen = [t for t in failed if getattr(t, "_log_traceback", False)]
        if unseen:
            first = unseen[0]
            exc = first.exception()
            for other in unseen[1:]:
                other.exception()  # retrieved here, so asyncio will not log it again at GC
            assert exc is not None
            exc.add_note(f"raised in task {first.get_name()!r}, which nobody awaited"
                         + (f" (and {len(unseen) - 1} more failed tasks)" if len(unseen) > 1 else ""))
            raise exc

    # -- bridges between SimPy and asyncio ----------------------------------------------------

    def create_future(self) -> asyncio.Future[Any]:
        """A future on this runtime's loop (SimPy processes may resolve it directly)."""
        return self.loop.create_future()

    @staticmethod
    def resolve(fut: asyncio.Future[_T], value: _T) -> bool:
        """Set ``fut``'s result unless it is already done (e.g. its waiter timed out).

        For SimPy processes completing something async code awaits; returns whether it took.
        """
        if fut.done():
            return False
        fut.set_result(value)
        return True

    @staticmethod
    def fail(fut: asyncio.Future[Any], exc: BaseException) -> bool:
        """Set ``fut``'s exception unless it is already done; returns whether it took."""
        if fut.done():
            return False
        fut.set_exception(exc)
        return True

    async def wait_event(self, event: simpy.Event) -> Any:
        """Await a SimPy event from async code: its value, or its failure raised (and defused).

        If the awaiting task is cancelled first, the event is left alone for other waiters.
        """
        if event.callbacks is None:  # already processed
            if event.ok:
                return event.value
            event.defused = True
            raise event.value
        fut = self.loop.create_future()

        def on_event(ev: simpy.Event) -> None:
            if fut.done():
                return
            if ev.ok:
                fut.set_result(ev.value)
            else:
                ev.defused = True
                fut.set_exception(cast(BaseException, ev.value))

        event.callbacks.append(on_event)
        try:
            return await fut
        except asyncio.CancelledError:
            if event.callbacks is not None and on_event in event.callbacks:
                event.callbacks.remove(on_event)
            raise

    def event_from_future(self, fut: asyncio.Future[Any]) -> simpy.Event:
        """A SimPy event that succeeds with ``fut``'s result or fails with its exception
        (``FutureCancelledError`` if it was cancelled): lets a SimPy process ``yield`` on async work."""
        event = self.env.event()

        def on_done(f: asyncio.Future[Any]) -> None:
            if f.cancelled():
                event.fail(FutureCancelledError("the awaited asyncio future was cancelled"))
            elif (exc := f.exception()) is not None:
                if not isinstance(exc, Exception):  # SimPy fails events with Exceptions only
                    exc = RuntimeError(f"future failed with {exc!r}")
                event.fail(exc)
            else:
                event.succeed(f.result())

        fut.add_done_callback(on_done)
        return event

    def process(self, generator: Generator[simpy.Event, Any, Any]) -> simpy.Process:
        """Start a SimPy process (same as ``rt.env.process``)."""
        return self.env.process(generator)

    # -- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the event loop (after finishing async generators). Idempotent."""
        if self.loop.is_closed():
            return
        try:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()

    def __enter__(self) -> SimRuntime:
        """Use as ``with SimRuntime(...) as rt:`` to close the loop afterwards."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the loop."""
        self.close()

"""One virtual clock: SimPy owns the calendar, an asyncio event loop runs on top of it.

``SimRuntime`` gives simulated runs a single notion of time, shared by three kinds of things:

* **SimPy events** (``rt.env``): the venue, latency, faults. Time is ``int`` nanoseconds since the
  Unix epoch (``SimEnvironment``); ``env.now`` never passes through a float.
* **asyncio** (``rt.loop``): the shared execution code, unchanged from live. ``asyncio.sleep``,
  ``wait_for``/``timeout`` deadlines, ``call_later`` and retry backoff all run in virtual time, so
  an hour of simulated trading takes milliseconds. ``rt.clock`` is the ``harness.clock.Clock``.
* **Market data** (``add_source``): delivered in synchronous batches up to the next calendar
  item (``sim.sources``), never as one SimPy event per tick. The client's delayed copies of a
  feed's events travel inside the feed's own batches (``sim.client_tap``), not as sources.

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
import heapq
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from contextvars import Context
from decimal import Decimal
from typing import Any, Final, TypeVar, TypeVarTuple, Unpack, cast

import simpy
from simpy.core import EmptySchedule, SimTime
from simpy.events import NORMAL, EventPriority

from harness.clock import NS_PER_SECOND, Cancellable, check_delay_ns, seconds_to_ns
from harness.rng import SeededRng
from sim.sources import MarketSource, VirtualTime

__all__ = [
    "FutureCancelledError",
    "SimClock",
    "SimEnvironment",
    "SimLoop",
    "SimRuntime",
    "SimulationStalledError",
]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

_NORMAL: Final = int(NORMAL)
_SHUTDOWN_ROUNDS: Final = 100
_INT64_MAX: Final = (1 << 63) - 1  # "no horizon" (fits int64, so numpy-backed sources can compare)


class SimulationStalledError(RuntimeError):
    """``run`` found nothing ready, scheduled or left to deliver while its coroutine still waits."""


class FutureCancelledError(Exception):
    """A SimPy event made by ``event_from_future`` failed because its future was cancelled."""


def _int_ns(delay: object) -> int:
    """Coerce a SimPy delay to int ns (numpy ints are fine; floats are refused)."""
    if isinstance(delay, bool) or not hasattr(delay, "__index__"):
        raise TypeError(f"SimPy delays are int nanoseconds in this runtime, got {delay!r}")
    return int(delay.__index__())


class SimEnvironment(simpy.Environment):
    """SimPy on integer-nanosecond epoch time; also the ``VirtualTime`` sources read and write.

    ``now_ns`` is the one copy of "now" (``env.now`` reads it). ``horizon_ns`` is the time of the
    next calendar item while a market source delivers; ``schedule`` lowers it when something is
    scheduled earlier. Drive it through ``SimRuntime``, not ``env.run``.
    """

    def __init__(self, start_ns: int) -> None:
        super().__init__(start_ns)
        self.now_ns: int = start_ns
        self.horizon_ns: int = start_ns
        # The same list as SimPy's ``_queue``, typed as it is here: times are always int ns.
        self.calendar = cast("list[tuple[int, int, int, simpy.Event]]", self._queue)
        # SimPy binds its event shortcuts early only for its own class; do it for ours too.
        for name in ("process", "timeout", "event", "all_of", "any_of"):
            setattr(self, name, getattr(self, name))

    @property
    def now(self) -> int:
        """Current virtual time, int ns since the Unix epoch."""
        return self.now_ns

    def next_seq(self) -> int:
        """Next number of the counter SimPy events and asyncio timers share (ties: FIFO)."""
        return next(self._eid)

    def schedule(self, event: simpy.Event, priority: EventPriority = NORMAL, delay: SimTime = 0) -> None:
        """Put ``event`` on the calendar ``delay`` ns from now; lower the horizon if earlier."""
        if type(delay) is not int:
            delay = _int_ns(delay)
        if delay < 0:
            raise ValueError(f"negative delay {delay}")
        when = self.now_ns + delay
        heapq.heappush(self.calendar, (when, priority, next(self._eid), event))
        self.horizon_ns = min(self.horizon_ns, when)

    def step(self) -> None:
        """Process the next SimPy event: move time to it, run its callbacks, raise if it failed."""
        try:
            when, _, _, event = heapq.heappop(self.calendar)
        except IndexError:
            raise EmptySchedule from None
        self.now_ns = when
        callbacks = event.callbacks
        event.callbacks = None  # type: ignore[assignment]  # SimPy's own "processed" marker
        for callback in callbacks:
            callback(event)
        if not event._ok and not hasattr(event, "_defused"):
            raise event._value

    def run(self, until: SimTime | simpy.Event | None = None) -> Any:
        """Refused: time belongs to the runtime; use ``SimRuntime.run`` or ``run_until``."""
        raise RuntimeError("SimEnvironment is driven by SimRuntime: use rt.run(coro) or rt.run_until(t_ns)")


class _SimTimer(asyncio.TimerHandle):
    """An asyncio timer on the virtual calendar (``_scheduled``: still on the loop's heap)."""

    __slots__ = ()
    _scheduled: bool


class SimLoop(asyncio.BaseEventLoop):
    """An asyncio event loop whose clock is the SimPy environment's; it never blocks.

    See the module docstring for the ordering rules. Besides the standard loop API it offers
    ``call_at_ns`` (exact int-ns timers) and ``add_source``.
    """

    _ready: deque[asyncio.Handle]
    _stopping: bool
    _closed: bool

    def __init__(self, env: SimEnvironment) -> None:
        super().__init__()
        self._env = env
        self._origin_ns = env.now_ns
        self._timers: list[tuple[int, int, _SimTimer]] = []
        self._timer_cancelled_count = 0
        self._sources: list[MarketSource] = []
        self._until: int | None = None
        self._error: BaseException | None = None
        self._live_tasks: dict[asyncio.Task[Any], None] = {}
        self._failed_tasks: list[asyncio.Task[Any]] = []
        self._task_count = 0

    # -- time ---------------------------------------------------------------------------------

    def time(self) -> float:
        """Virtual seconds since the run's start (float only because asyncio's API is float)."""
        return (self._env.now_ns - self._origin_ns) / NS_PER_SECOND

    def call_at_ns(
        self, when_ns: int, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        """Schedule ``callback(*args)`` at epoch ``when_ns`` exactly (a time in the past means now)."""
        if self._closed:
            raise RuntimeError("Event loop is closed")
        env = self._env
        when_ns = max(when_ns, env.now_ns)
        timer = _SimTimer((when_ns - self._origin_ns) / NS_PER_SECOND, callback, args, self, context)
        timer._scheduled = True
        heapq.heappush(self._timers, (when_ns, next(env._eid), timer))
        env.horizon_ns = min(env.horizon_ns, when_ns)
        return timer

    def call_at(
        self, when: float, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        """asyncio's ``call_at``: ``when`` in ``time()`` seconds, rounded to the nearest ns."""
        if when is None:
            raise TypeError("when cannot be None")
        return self.call_at_ns(self._origin_ns + round(when * NS_PER_SECOND), callback, *args,
                               context=context)

    def call_later(
        self, delay: float, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        """asyncio's ``call_later``: ``delay`` seconds (int, float or Decimal) rounded to the ns."""
        if delay is None:
            raise TypeError("delay must not be None")
        return self.call_at_ns(self._env.now_ns + max(0, round(delay * NS_PER_SECOND)), callback, *args,
                               context=context)

    def call_soon(
        self, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts, context: Context | None = None
    ) -> asyncio.Handle:
        """Queue ``callback(*args)`` to run now (FIFO); a source mid-batch stops after this ns."""
        if self._closed:
            raise RuntimeError("Event loop is closed")
        handle = asyncio.Handle(callback, args, self, context)
        self._ready.append(handle)
        env = self._env
        env.horizon_ns = env.now_ns
        return handle

    def call_soon_threadsafe(
        self, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts, context: Context | None = None
    ) -> asyncio.Handle:
        """Same as ``call_soon``: the simulation is single-threaded, nobody needs waking."""
        return self.call_soon(callback, *args, context=context)

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        """Count cancelled timers still on the heap, to purge them when they pile up."""
        if isinstance(handle, _SimTimer) and handle._scheduled:
            self._timer_cancelled_count += 1

    def _write_to_self(self) -> None:
        """No self-pipe: nothing ever blocks, so nothing needs waking."""

    def _process_events(self, event_list: list[Any]) -> None:
        """No I/O in the simulation."""

    # -- market data --------------------------------------------------------------------------

    def add_source(self, source: MarketSource) -> None:
        """Register a market source; its events must not lie before the current time."""
        ts = source.peek_ts()
        if ts is not None and ts < self._env.now_ns:
            raise ValueError(f"source starts at {ts}, before the current virtual time {self._env.now_ns}")
        self._sources.append(source)

    def _deliver(self, limit: int) -> bool:
        """Let the earliest due source deliver a batch up to ``limit`` (inclusive); False if none due."""
        sources = self._sources
        if len(sources) == 1:
            src = sources[0]
            ts = src.peek_ts()
            if ts is None:
                sources.clear()
                return False
            if ts > limit:
                return False
            self._env.horizon_ns = limit
            src.deliver(self._env)
            self._check_delivered(src)
            return True
        peeks: list[int] = []
        live: list[MarketSource] = []
        for src in sources:
            ts = src.peek_ts()
            if ts is not None:
                peeks.append(ts)
                live.append(src)
        if len(live) != len(sources):
            sources[:] = live
        if not peeks:
            return False
        first = min(peeks)
        if first > limit:
            return False
        best = peeks.index(first)
        horizon = limit
        for j, ts in enumerate(peeks):
            # Stop before another source's next event; at a tie, an earlier-added source goes first.
            bound = ts - 1 if j < best else ts
            if j != best and bound < horizon:
                horizon = bound
        self._env.horizon_ns = horizon
        live[best].deliver(self._env)
        self._check_delivered(live[best])
        return True

    def _check_delivered(self, src: MarketSource) -> None:
        """A source must return only past the horizon; one that stops short would loop forever.

        The one exception is a stop at the current time once the horizon came down to it
        (something became ready): the runtime runs what is ready and calls the source again.
        """
        ts = src.peek_ts()
        env = self._env
        if ts is not None and ts <= env.horizon_ns and not ts == env.now_ns == env.horizon_ns:
            raise RuntimeError(f"market source {src!r} returned from deliver() with an event at {ts}, "
                               f"not beyond the horizon {self._env.horizon_ns}")

    # -- the scheduler ------------------------------------------------------------------------

    def _run_once(self) -> None:
        """One loop iteration: if nothing is ready, advance the world; then run what is ready."""
        ready = self._ready
        if not ready and not self._stopping:
            self._advance()
        for _ in range(len(ready)):
            handle = ready.popleft()
            if not handle._cancelled:
                handle._run()

    def _purge_cancelled_timers(self) -> None:
        """Drop cancelled timers: from the heap's head always, everywhere when they pile up."""
        timers = self._timers
        if self._timer_cancelled_count > 64 and 2 * self._timer_cancelled_count > len(timers):
            kept = []
            for entry in timers:
                if entry[2]._cancelled:
                    entry[2]._scheduled = False
                else:
                    kept.append(entry)
            heapq.heapify(kept)
            self._timers = timers = kept
            self._timer_cancelled_count = 0
        while timers and timers[0][2]._cancelled:
            heapq.heappop(timers)[2]._scheduled = False
            self._timer_cancelled_count -= 1

    def _advance(self) -> None:
        """Deliver market data or process calendar items until something is ready (or stop)."""
        env = self._env
        queue = env.calendar
        ready = self._ready
        until = self._until
        while True:
            self._purge_cancelled_timers()
            timers = self._timers
            use_timer = False
            t_next: int | None = None
            if timers:
                t_next, t_seq, _ = timers[0]
                use_timer = True
                if queue:
                    q_when, q_prio, q_seq, _ = queue[0]
                    if q_when < t_next or (q_when == t_next and (
                            q_prio < _NORMAL or (q_prio == _NORMAL and q_seq < t_seq))):
                        t_next = q_when
                        use_timer = False
            elif queue:
                t_next = queue[0][0]
            if self._sources:
                limit = t_next if t_next is not None else _INT64_MAX
                if until is not None and until - 1 < limit:
                    limit = until - 1
                if self._deliver(limit):
                    if ready or self._stopping:
                        return
                    continue
            if t_next is None or (until is not None and t_next >= until):
                if until is None:
                    raise SimulationStalledError(
                        f"nothing is ready or scheduled at t={env.now_ns} and no market data is left, "
                        f"but the main coroutine is still waiting ({len(self._live_tasks)} tasks alive)"
                    )
                env.now_ns = until
                self.stop()
                return
            if use_timer:
                _, _, timer = heapq.heappop(timers)
                timer._scheduled = False
                env.now_ns = t_next
                ready.append(timer)
                return
            env.step()
            if ready or self._stopping:
                return

    # -- tasks and errors ---------------------------------------------------------------------

    def create_task(  # type: ignore[override]  # typeshed adds 3.13's eager_start
        self, coro: Coroutine[Any, Any, _T], *, name: object = None, context: Context | None = None
    ) -> asyncio.Task[_T]:
        """asyncio's ``create_task``, also tracked so leftovers cancel in creation order and
        failures nobody awaited can be raised by ``SimRuntime.run``. Unnamed tasks are named
        ``sim-task-N`` by a per-loop counter, so names are the same in every run."""
        self._task_count += 1
        if name is None:  # asyncio's default names count tasks process-wide: not reproducible
            name = f"sim-task-{self._task_count}"
        task = super().create_task(coro, name=name, context=context)
        self._live_tasks[task] = None
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        """Forget a finished task; remember it if it failed (without retrieving its exception)."""
        self._live_tasks.pop(task, None)
        if not task.cancelled() and getattr(task, "_exception", None) is not None:
            self._failed_tasks.append(task)

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        """Stop the run on any error asyncio reports, so ``run``/``run_until`` can raise it.

        "never retrieved" reports come from garbage collection at no fixed virtual time; they
        are logged as usual (failed tasks are checked deterministically at the end of ``run``).
        """
        message = str(context.get("message", ""))
        if "never retrieved" in message:
            super().call_exception_handler(context)
            return
        exc = context.get("exception")
        if self._error is None:
            if not isinstance(exc, BaseException):
                exc = RuntimeError(message or "asyncio error")
            exc.add_note(f"reported by the simulated event loop: {message}")
            self._error = exc
        self.stop()

    def take_error(self) -> BaseException | None:
        """The error that stopped the loop, if any, clearing it."""
        err, self._error = self._error, None
        return err

    def close(self) -> None:
        """Close the loop and drop its timers."""
        super().close()
        self._timers.clear()


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

"""The loop under ``SimRuntime``: SimPy's calendar in integer nanoseconds and an asyncio loop on it.

``SimEnvironment`` is a ``simpy.Environment`` whose time is int ns since the Unix epoch;
``SimLoop`` is an ``asyncio.BaseEventLoop`` whose scheduling step never waits: it runs ready
callbacks, delivers due market data, or advances the calendar to its next item. The ordering
rules and the asyncio/float boundary are documented in ``sim.kernel.runtime``, the facade most code
uses.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from collections.abc import Callable, Coroutine
from contextvars import Context
from typing import Any, Final, TypeVar, TypeVarTuple, Unpack, cast

import simpy
from simpy.core import EmptySchedule, SimTime
from simpy.events import NORMAL, EventPriority

from harness.clock import NS_PER_SECOND
from sim.kernel.sources import MarketSource

__all__ = ["FutureCancelledError", "SimEnvironment", "SimLoop", "SimulationStalledError"]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

_NORMAL: Final = int(NORMAL)
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



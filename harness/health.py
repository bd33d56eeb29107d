"""Connection health: metrics and quality alerts, a bounded connection pool, graceful shutdown.

* ``ConnectionMonitor`` keeps ``ConnectionMetrics`` per (venue, connection name): uptime of the
  current connection, latency mean and p95 over a bounded window of recent requests, request and
  error counts, the error rate over the same window, reconnects (Property 30). When the window's
  mean latency or error rate crosses its threshold it raises one alert per breach (not one per
  request) and, if configured, pauses trading on that venue until ``resume`` (Property 31).
* ``ConnectionPool`` hands out at most ``max_connections`` connections, reusing idle ones
  before opening new ones; callers beyond the limit wait in FIFO order (Property 29).
* ``InFlightTracker`` wraps requests so a shutdown can stop new ones and wait, up to a timeout on
  the injected clock, for those already in flight (Property 32).

All durations are int nanoseconds from the injected ``Clock``; rates are ``Decimal``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from harness.alerts import Alert, AlertSink, Severity
from harness.clock import Clock

__all__ = [
    "ConnectionMetrics",
    "ConnectionMonitor",
    "ConnectionPool",
    "InFlightTracker",
    "PoolClosedError",
    "ShutdownReport",
    "ShuttingDownError",
    "percentile_ns",
]

_T = TypeVar("_T")


def percentile_ns(samples: list[int], percent: int) -> int:
    """Nearest-rank percentile of int samples: the smallest sample with ``percent``% of samples at or below."""
    if not samples:
        raise ValueError("no samples")
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], got {percent}")
    ordered = sorted(samples)
    rank = -(-percent * len(ordered) // 100)  # ceil(percent/100 * n)
    return ordered[rank - 1]


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True, slots=True)
class ConnectionMetrics:
    """A snapshot of one connection's health (Property 30).

    ``latency_*`` and ``error_rate`` cover the monitor's window of recent requests (``None`` /
    0 before the first request); ``requests``/``errors``/``reconnects`` count since it was first seen.
    """

    venue: str
    connection: str
    connected: bool
    connected_since_ns: int | None
    uptime_ns: int
    latency_mean_ns: int | None
    latency_p95_ns: int | None
    requests: int
    errors: int
    error_rate: Decimal
    reconnects: int
    window_size: int


class _Connection:
    """Mutable state behind one ``ConnectionMetrics``."""

    __slots__ = (
        "connected_mono",
        "connected_since",
        "error_breached",
        "errors",
        "failures",
        "latencies",
        "latency_breached",
        "latency_sum",
        "outcomes",
        "reconnects",
        "requests",
    )

    def __init__(self, window: int) -> None:
        self.connected_since: int | None = None
        self.connected_mono = 0
        self.latencies: deque[int] = deque(maxlen=window)
        self.outcomes: deque[bool] = deque(maxlen=window)
        self.latency_sum = 0  # sum(latencies) and failed outcomes in the window, kept as they slide
        self.failures = 0
        self.requests = 0
        self.errors = 0
        self.reconnects = 0
        self.latency_breached = False
        self.error_breached = False


class ConnectionMonitor:
    """Tracks connection metrics, alerts on quality breaches and optionally pauses venues.

    ``latency_threshold_ns`` applies to the window's mean latency, ``error_rate_threshold`` to
    its error rate (a fraction, e.g. ``Decimal("0.05")``); both are only judged once the window
    holds ``min_samples`` requests. A breach alerts once (kind ``connection_latency`` or
    ``connection_errors``); after recovering below the threshold a new breach alerts again.
    """

    def __init__(self, clock: Clock, alerts: AlertSink, *, latency_threshold_ns: int,
                 error_rate_threshold: Decimal, pause_trading_on_alert: bool = False,
                 window: int = 100, min_samples: int = 10) -> None:
        if isinstance(latency_threshold_ns, bool) or not isinstance(latency_threshold_ns, int) \
                or latency_threshold_ns <= 0:
            raise ValueError(f"latency_threshold_ns must be a positive int, got {latency_threshold_ns!r}")
        if not isinstance(error_rate_threshold, Decimal) or not 0 <= error_rate_threshold <= 1:
            raise ValueError(f"error_rate_threshold must be a Decimal in [0, 1], got {error_rate_threshold!r}")
        if window < 1 or not 1 <= min_samples <= window:
            raise ValueError(f"need window >= 1 and 1 <= min_samples <= window, got {window}, {min_samples}")
        self._clock = clock
        self._alerts = alerts
        self.latency_threshold_ns = latency_threshold_ns
        self.error_rate_threshold = error_rate_threshold
        self.pause_trading_on_alert = pause_trading_on_alert
        self._window = window
        self._min_samples = min_samples
        self._connections: dict[tuple[str, str], _Connection] = {}
        self._paused: set[str] = set()

    def _conn(self, venue: str, connection: str) -> _Connection:
        key = (venue, connection)
        state = self._connections.get(key)
        if state is None:
            state = self._connections[key] = _Connection(self._window)
        return state

    # -- events ---------------------------------------------------------------------------

    def record_connect(self, venue: str, connection: str) -> None:
        """The connection is (re-)established now: its uptime starts counting."""
        state = self._conn(venue, connection)
        state.connected_since = self._clock.now_ns()
        state.connected_mono = self._clock.monotonic_ns()

    def record_disconnect(self, venue: str, connection: str) -> None:
        """The connection dropped or was closed: uptime is zero until it connects again."""
        self._conn(venue, connection).connected_since = None

    def record_reconnect(self, venue: str, connection: str) -> None:
        """The connection came back after a drop: counts a reconnect and restarts uptime."""
        self._conn(venue, connection).reconnects += 1
        self.record_connect(venue, connection)

    def record_request(self, venue: str, connection: str, latency_ns: int, ok: bool) -> None:
        """One request finished after ``latency_ns``, successfully or not; checks the thresholds."""
        if isinstance(latency_ns, bool) or not isinstance(latency_ns, int) or latency_ns < 0:
            raise ValueError(f"latency_ns must be a non-negative int, got {latency_ns!r}")
        state = self._conn(venue, connection)
        state.requests += 1
        state.errors += 0 if ok else 1
        latencies, outcomes = state.latencies, state.outcomes
        if len(latencies) == latencies.maxlen:  # the oldest sample is about to slide out
            state.latency_sum -= latencies[0]
        if len(outcomes) == outcomes.maxlen and not outcomes[0]:
            state.failures -= 1
        latencies.append(latency_ns)
        outcomes.append(ok)
        state.latency_sum += latency_ns
        state.failures += 0 if ok else 1
        self._check(venue, connection, state)

    # -- thresholds -----------------------------------------------------------------------

    def _check(self, venue: str, connection: str, state: _Connection) -> None:
        if len(state.latencies) < self._min_samples:
            return
        mean = state.latency_sum // len(state.latencies)
        breached = mean > self.latency_threshold_ns
        if breached and not state.latency_breached:
            self._alert(venue, connection, "connection_latency",
                        f"mean latency {mean} ns over the last {len(state.latencies)} requests exceeds "
                        f"{self.latency_threshold_ns} ns",
                        {"latency_mean_ns": str(mean), "threshold_ns": str(self.latency_threshold_ns)})
        state.latency_breached = breached
        rate = Decimal(state.failures) / Decimal(len(state.outcomes))  # _error_rate, from the running count
        breached = rate > self.error_rate_threshold
        if breached and not state.error_breached:
            self._alert(venue, connection, "connection_errors",
                        f"error rate {rate} over the last {len(state.outcomes)} requests exceeds "
                        f"{self.error_rate_threshold}",
                        {"error_rate": str(rate), "threshold": str(self.error_rate_threshold)})
        state.error_breached = breached

    def _alert(self, venue: str, connection: str, kind: str, message: str, details: dict[str, str]) -> None:
        pause = self.pause_trading_on_alert
        self._alerts.raise_alert(Alert(
            ts_ns=self._clock.now_ns(), severity=Severity.CRITICAL if pause else Severity.WARNING,
            source="health", kind=kind, message=f"{venue}/{connection}: {message}", venue=venue,
            details={"connection": connection, "paused": str(pause), **details}))
        if pause:
            self._paused.add(venue)

    def is_paused(self, venue: str) -> bool:
        """True once a quality alert paused trading on ``venue`` (until ``resume``)."""
        return venue in self._paused

    def resume(self, venue: str) -> None:
        """Allow trading on ``venue`` again (a human's or a supervisor's decision)."""
        self._paused.discard(venue)

    # -- reading --------------------------------------------------------------------------

    def metrics(self, venue: str | None = None) -> list[ConnectionMetrics]:
        """Snapshots of every tracked connection (or one venue's), by venue then connection name."""
        now_mono = self._clock.monotonic_ns()
        out = []
        for (v, name), state in sorted(self._connections.items()):
            if venue is not None and v != venue:
                continue
            connected = state.connected_since is not None
            samples = list(state.latencies)
            out.append(ConnectionMetrics(
                venue=v, connection=name, connected=connected, connected_since_ns=state.connected_since,
                uptime_ns=now_mono - state.connected_mono if connected else 0,
                latency_mean_ns=sum(samples) // len(samples) if samples else None,
                latency_p95_ns=percentile_ns(samples, 95) if samples else None,
                requests=state.requests, errors=state.errors, error_rate=_error_rate(state.outcomes),
                reconnects=state.reconnects, window_size=len(samples)))
        return out


def _error_rate(outcomes: deque[bool]) -> Decimal:
    if not outcomes:
        return Decimal(0)
    return Decimal(sum(1 for ok in outcomes if not ok)) / Decimal(len(outcomes))


# --------------------------------------------------------------------------- pool


class PoolClosedError(RuntimeError):
    """The pool was closed; no more connections are handed out."""


_SLOT = object()  # handed to a waiter instead of a connection: "a slot is free, open your own"


class ConnectionPool(Generic[_T]):
    """At most ``max_connections`` connections made by ``factory``; idle ones are reused first.

    ``async with pool.acquire() as conn:`` borrows one and gives it back afterwards. Call
    ``pool.invalidate(conn)`` inside the block when the connection is broken: it is closed (via
    ``close``) on return instead of reused. Waiters are served first come, first served.
    """

    def __init__(self, factory: Callable[[], Awaitable[_T]], max_connections: int, *,
                 close: Callable[[_T], Awaitable[None]] | None = None) -> None:
        if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
            raise ValueError(f"max_connections must be a positive int, got {max_connections!r}")
        self._factory = factory
        self._close = close
        self.max_connections = max_connections
        self._idle: deque[_T] = deque()
        self._waiters: deque[asyncio.Future[object]] = deque()
        self._open = 0
        self._in_use = 0
        self._broken: list[_T] = []
        self._closed = False
        self.created = 0

    @property
    def open_connections(self) -> int:
        """Connections currently open (idle plus in use, plus ones being opened)."""
        return self._open

    @property
    def idle_connections(self) -> int:
        """Open connections waiting to be borrowed."""
        return len(self._idle)

    @property
    def in_use(self) -> int:
        """Connections currently borrowed."""
        return self._in_use

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[_T]:
        """Borrow a connection for the ``async with`` block."""
        conn = await self._get()
        self._in_use += 1
        try:
            yield conn
        finally:
            self._in_use -= 1
            await self._put(conn)

    def invalidate(self, conn: _T) -> None:
        """Mark a borrowed connection as broken: it will be closed, not reused, when returned."""
        self._broken.append(conn)

    async def _get(self) -> _T:
        if self._closed:
            raise PoolClosedError("connection pool is closed")
        if self._idle:
            return self._idle.popleft()
        if self._open < self.max_connections:
            return await self._create()
        waiter: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            got = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed something just as we were cancelled
                self._hand_over(waiter.result())
            raise
        if got is _SLOT:
            return await self._create()
        return got  # type: ignore[return-value]  # a connection handed over by _put

    async def _create(self) -> _T:
        self._open += 1  # reserve the slot before awaiting, so concurrent callers cannot overshoot
        try:
            conn = await self._factory()
        except BaseException:
            self._open -= 1
            self._hand_over(_SLOT)
            raise
        self.created += 1
        return conn

    async def _put(self, conn: _T) -> None:
        broken = any(c is conn for c in self._broken)
        if broken:
            self._broken = [c for c in self._broken if c is not conn]
        if broken or self._closed:
            self._open -= 1
            if self._close is not None:
                await self._close(conn)
            if not self._closed:
                self._hand_over(_SLOT)
            return
        self._hand_over(conn)

    def _hand_over(self, item: object) -> None:
        """Give a returned connection (or a free slot) to the first live waiter, else keep it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(item)
                return
        if item is not _SLOT:
            self._idle.append(item)  # type: ignore[arg-type]  # only connections reach here

    async def close(self) -> None:
        """Stop handing out connections and close the idle ones (borrowed ones close when returned)."""
        self._closed = True
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(PoolClosedError("connection pool closed while waiting"))
        self._waiters.clear()
        while self._idle:
            conn = self._idle.popleft()
            self._open -= 1
            if self._close is not None:
                await self._close(conn)


# --------------------------------------------------------------------------- graceful shutdown


class ShuttingDownError(RuntimeError):
    """A request was refused because a graceful shutdown has begun."""


@dataclass(frozen=True, slots=True)
class ShutdownReport:
    """Outcome of a graceful shutdown: in-flight requests that finished in time, those still
    running at the timeout, new requests refused while waiting, and how long it took."""

    completed: int
    abandoned: int
    refused: int
    duration_ns: int


class InFlightTracker:
    """Counts requests in flight so a shutdown can refuse new ones and wait for the rest (Property 32).

    Wrap each venue request in ``async with tracker.track():``. ``shutdown(timeout_ns)`` stops
    accepting (``track()`` then raises ``ShuttingDownError``) and waits on the injected clock
    until nothing is in flight or the timeout passes. Requests still running are not cancelled:
    they are reported as abandoned, and the caller decides (an order submit cut off mid-way
    would become ambiguous).
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._accepting = True
        self._in_flight: set[int] = set()
        self._next = 0
        self._finished_watch: set[int] | None = None
        self._completed = 0
        self._drained: asyncio.Future[None] | None = None
        self.refused = 0

    @property
    def accepting(self) -> bool:
        """False once a shutdown has begun."""
        return self._accepting

    @property
    def in_flight(self) -> int:
        """Requests currently inside ``track()``."""
        return len(self._in_flight)

    @asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        """Mark the enclosed block as one in-flight request; refused during shutdown."""
        if not self._accepting:
            self.refused += 1
            raise ShuttingDownError("shutting down: no new requests are accepted")
        token = self._next
        self._next += 1
        self._in_flight.add(token)
        try:
            yield
        finally:
            self._in_flight.discard(token)
            if self._finished_watch is not None and token in self._finished_watch:
                self._completed += 1
            if not self._in_flight and self._drained is not None and not self._drained.done():
                self._drained.set_result(None)

    async def shutdown(self, timeout_ns: int) -> ShutdownReport:
        """Stop accepting requests, wait up to ``timeout_ns`` for in-flight ones, report the counts."""
        if isinstance(timeout_ns, bool) or not isinstance(timeout_ns, int) or timeout_ns < 0:
            raise ValueError(f"timeout_ns must be a non-negative int, got {timeout_ns!r}")
        started = self._clock.monotonic_ns()
        self._accepting = False
        refused_before = self.refused
        self._finished_watch = set(self._in_flight)
        self._completed = 0
        if self._in_flight:
            drained: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._drained = drained
            timer = self._clock.call_later(timeout_ns, _resolve, drained)
            try:
                await drained
            finally:
                timer.cancel()
                self._drained = None
        completed = self._completed
        self._finished_watch = None
        return ShutdownReport(completed=completed, abandoned=len(self._in_flight),
                              refused=self.refused - refused_before,
                              duration_ns=self._clock.monotonic_ns() - started)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)

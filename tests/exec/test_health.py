"""Connection health: metrics, quality alerts and pausing, the pool, graceful shutdown.

Properties 29 (pool bound and reuse), 30 (metrics tracking), 31 (quality alerting) and 32
(graceful shutdown) of the seed, all in virtual time on a ``SimWorld``'s clock.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from harness.alerts import AlertSink
from harness.health import (
    ConnectionMonitor,
    ConnectionPool,
    InFlightTracker,
    PoolClosedError,
    ShuttingDownError,
    percentile_ns,
)
from scenarios.world import SimWorld

MS = 1_000_000


def p95_by_definition(samples: list[int]) -> int:
    """The smallest sample such that at least 95 % of the samples are at or below it."""
    return min(x for x in samples if 100 * sum(1 for y in samples if y <= x) >= 95 * len(samples))


@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=200))
def test_percentile_matches_its_definition(samples: list[int]) -> None:
    assert percentile_ns(samples, 95) == p95_by_definition(samples)
    assert percentile_ns(samples, 100) == max(samples)


# --------------------------------------------------------------------------- Property 30

op = st.one_of(
    st.tuples(st.just("request"), st.sampled_from(["rest", "ws"]), st.integers(0, 500 * MS), st.booleans()),
    st.tuples(st.just("connect"), st.sampled_from(["rest", "ws"]), st.just(0), st.just(True)),
    st.tuples(st.just("disconnect"), st.sampled_from(["rest", "ws"]), st.just(0), st.just(True)),
    st.tuples(st.just("reconnect"), st.sampled_from(["rest", "ws"]), st.just(0), st.just(True)),
    st.tuples(st.just("wait"), st.just(""), st.integers(1, 10**10), st.just(True)),
)


@dataclass
class Model:
    """What the test expects of one connection."""

    samples: list[int] = field(default_factory=list)
    oks: list[bool] = field(default_factory=list)
    reconnects: int = 0
    since: int | None = None


@settings(max_examples=60, deadline=None)
@given(ops=st.lists(op, max_size=60), window=st.integers(1, 12))
def test_property_30_connection_metrics_tracked(ops: list[tuple[str, str, int, bool]], window: int) -> None:
    with SimWorld() as world:
        clock = world.runtime.clock
        monitor = ConnectionMonitor(clock, AlertSink(), latency_threshold_ns=10**15,
                                    error_rate_threshold=Decimal(1), window=window, min_samples=1)
        model: dict[str, Model] = {}
        for kind, name, value, ok in ops:
            if kind == "wait":
                world.runtime.run_until(clock.now_ns() + value)
                continue
            m = model.setdefault(name, Model())
            if kind == "request":
                monitor.record_request("binance", name, value, ok)
                m.samples.append(value)
                m.oks.append(ok)
            elif kind == "connect":
                monitor.record_connect("binance", name)
                m.since = clock.now_ns()
            elif kind == "disconnect":
                monitor.record_disconnect("binance", name)
                m.since = None
            else:
                monitor.record_reconnect("binance", name)
                m.reconnects += 1
                m.since = clock.now_ns()
        metrics = {mt.connection: mt for mt in monitor.metrics("binance")}
        assert monitor.metrics("okx") == []
        assert sorted(metrics) == sorted(model)
        for name, m in model.items():
            got = metrics[name]
            recent, oks = m.samples[-window:], m.oks[-window:]
            assert (got.requests, got.errors, got.reconnects) == (len(m.oks), m.oks.count(False), m.reconnects)
            assert got.window_size == len(recent)
            assert got.latency_mean_ns == (sum(recent) // len(recent) if recent else None)
            assert got.latency_p95_ns == (p95_by_definition(recent) if recent else None)
            assert got.error_rate == (Decimal(oks.count(False)) / len(oks) if oks else Decimal(0))
            assert got.connected == (m.since is not None)
            assert got.connected_since_ns == m.since
            assert got.uptime_ns == (0 if m.since is None else clock.now_ns() - m.since)


# --------------------------------------------------------------------------- Property 31


@settings(max_examples=80, deadline=None)
@given(requests=st.lists(st.tuples(st.integers(0, 200), st.booleans()), min_size=1, max_size=40),
       threshold_ms=st.integers(1, 200), rate=st.sampled_from([Decimal("0"), Decimal("0.1"), Decimal("0.25"),
                                                              Decimal("0.5"), Decimal(1)]),
       window=st.integers(1, 8), min_samples=st.integers(1, 8), pause=st.booleans())
def test_property_31_quality_breach_alerts_and_pauses(requests: list[tuple[int, bool]], threshold_ms: int,
                                                      rate: Decimal, window: int, min_samples: int,
                                                      pause: bool) -> None:
    assume(min_samples <= window)
    with SimWorld() as world:
        alerts = AlertSink()
        monitor = ConnectionMonitor(world.runtime.clock, alerts, latency_threshold_ns=threshold_ms * MS,
                                    error_rate_threshold=rate, pause_trading_on_alert=pause, window=window,
                                    min_samples=min_samples)
        expected_latency = expected_errors = 0
        lat_breached = err_breached = False
        for i, (ms, ok) in enumerate(requests):
            monitor.record_request("okx", "rest", ms * MS, ok)
            recent = requests[max(0, i + 1 - window):i + 1]
            if len(recent) < min_samples:
                continue
            mean_breach = sum(r[0] * MS for r in recent) // len(recent) > threshold_ms * MS
            rate_breach = Decimal(sum(1 for r in recent if not r[1])) / len(recent) > rate
            expected_latency += mean_breach and not lat_breached
            expected_errors += rate_breach and not err_breached
            lat_breached, err_breached = mean_breach, rate_breach
        assert len(alerts.of_kind("connection_latency")) == expected_latency
        assert len(alerts.of_kind("connection_errors")) == expected_errors
        alerted = expected_latency + expected_errors > 0
        assert monitor.is_paused("okx") == (pause and alerted)
        assert not monitor.is_paused("binance")
        for alert in alerts.alerts:
            assert alert.venue == "okx" and alert.details["connection"] == "rest"
        monitor.resume("okx")
        assert not monitor.is_paused("okx")


def test_monitor_validates_its_thresholds() -> None:
    with SimWorld() as world:
        for kwargs in ({"latency_threshold_ns": 0, "error_rate_threshold": Decimal("0.1")},
                       {"latency_threshold_ns": MS, "error_rate_threshold": Decimal("1.5")},
                       {"latency_threshold_ns": MS, "error_rate_threshold": 0.1}):
            with pytest.raises(ValueError, match="threshold"):
                ConnectionMonitor(world.runtime.clock, AlertSink(), **kwargs)


# --------------------------------------------------------------------------- Property 29


class FakeConnection:
    """A connection that counts how many of its kind are open at once."""

    open_now = 0
    peak = 0

    def __init__(self, n: int) -> None:
        self.n = n
        self.closed = False


async def open_connection(counter: list[int], world: SimWorld, delay_ns: int) -> FakeConnection:
    await world.runtime.clock.sleep_ns(delay_ns)  # opening takes time: concurrent acquirers must not overshoot
    counter.append(1)
    FakeConnection.open_now += 1
    FakeConnection.peak = max(FakeConnection.peak, FakeConnection.open_now)
    return FakeConnection(len(counter))


async def close_connection(conn: FakeConnection) -> None:
    conn.closed = True
    FakeConnection.open_now -= 1


@settings(max_examples=50, deadline=None)
@given(max_connections=st.integers(1, 5),
       jobs=st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50), st.booleans()), min_size=1, max_size=25),
       open_ms=st.integers(0, 5))
def test_property_29_pool_never_exceeds_max_and_reuses(max_connections: int, jobs: list[tuple[int, int, bool]],
                                                       open_ms: int) -> None:
    FakeConnection.open_now = FakeConnection.peak = 0
    created: list[int] = []
    with SimWorld() as world:
        clock = world.runtime.clock
        pool: ConnectionPool[FakeConnection] = ConnectionPool(
            lambda: open_connection(created, world, open_ms * MS), max_connections, close=close_connection)
        used: list[int] = []
        peak_in_use = 0

        async def job(start_ms: int, hold_ms: int, breaks: bool) -> None:
            nonlocal peak_in_use
            await clock.sleep_ns(start_ms * MS)
            async with pool.acquire() as conn:
                assert not conn.closed
                peak_in_use = max(peak_in_use, pool.in_use)
                assert pool.open_connections <= max_connections
                used.append(conn.n)
                await clock.sleep_ns(hold_ms * MS)
                if breaks:
                    pool.invalidate(conn)

        async def main() -> None:
            await asyncio.gather(*(job(*j) for j in jobs))

        world.run(main())
        assert len(used) == len(jobs)  # everyone was served
        assert FakeConnection.peak <= max_connections
        assert peak_in_use <= max_connections
        broken = sum(1 for j in jobs if j[2])
        assert len(created) <= max_connections + broken  # new ones only to replace broken ones
        assert len(created) <= len(jobs)
        assert pool.open_connections == pool.idle_connections == FakeConnection.open_now
        world.run(pool.close())
        assert FakeConnection.open_now == 0


def test_pool_reuses_one_connection_for_sequential_use_and_survives_factory_failure() -> None:
    attempts = []

    async def factory() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("refused")
        return f"conn-{len(attempts)}"

    async def main() -> list[str]:
        pool: ConnectionPool[str] = ConnectionPool(factory, 1)
        with pytest.raises(ConnectionError):
            async with pool.acquire():
                pass
        assert pool.open_connections == 0  # the failed open freed its slot
        got = []
        for _ in range(3):
            async with pool.acquire() as conn:
                got.append(conn)
        await pool.close()
        with pytest.raises(PoolClosedError):
            async with pool.acquire():
                pass
        return got

    with SimWorld() as world:
        assert world.run(main()) == ["conn-2"] * 3
    assert len(attempts) == 2


# --------------------------------------------------------------------------- Property 32


@settings(max_examples=60, deadline=None)
@given(durations=st.lists(st.integers(1, 100), max_size=12), timeout_ms=st.integers(0, 120),
       late_attempts=st.lists(st.integers(0, 150), max_size=6))
def test_property_32_graceful_shutdown(durations: list[int], timeout_ms: int, late_attempts: list[int]) -> None:
    assume(timeout_ms not in durations)  # finishing exactly at the deadline is a tie: not what this tests
    with SimWorld() as world:
        clock = world.runtime.clock
        tracker = InFlightTracker(clock)
        finished: list[int] = []
        refused: list[int] = []

        async def request(i: int, ms: int) -> None:
            async with tracker.track():
                await clock.sleep_ns(ms * MS)
                finished.append(i)

        async def late(ms: int) -> None:
            await clock.sleep_ns(ms * MS + MS // 2)  # half-way between milliseconds: never a tie
            try:
                async with tracker.track():
                    finished.append(-1)
            except ShuttingDownError:
                refused.append(ms)

        async def main() -> None:
            tasks = [asyncio.ensure_future(request(i, ms)) for i, ms in enumerate(durations)]
            await clock.sleep_ns(0)
            assert tracker.in_flight == len(durations)
            lates = [asyncio.ensure_future(late(ms)) for ms in late_attempts]
            start = clock.now_ns()
            report = await tracker.shutdown(timeout_ms * MS)
            waited = clock.now_ns() - start
            in_time = [d for d in durations if d < timeout_ms]
            assert report.completed == len(in_time)
            assert report.abandoned == len(durations) - len(in_time)
            assert report.duration_ns == waited
            expected_wait = timeout_ms if len(in_time) < len(durations) else max(durations, default=0)
            assert waited == expected_wait * MS
            assert report.refused == sum(1 for ms in late_attempts if ms < expected_wait)
            assert not tracker.accepting
            await asyncio.gather(*tasks, *lates)
            assert sorted(finished) == list(range(len(durations)))  # abandoned ones were not cancelled
            assert len(refused) == len(late_attempts)  # nothing new got in, during or after

        world.run(main())

"""harness.gateway.VenueGateway against SimWorld: audit of every request, read retries, breakers,
FATAL disablement, exchange-error alerts, critical cancels and Retry-After."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.alerts import AlertSink, Severity
from harness.audit import AuditRecord, MemoryAuditSink
from harness.clock import NS_PER_SECOND
from harness.contract import (
    AmbiguousError,
    ErrorCategory,
    ExchangeError,
    FatalError,
    RateLimitedError,
    RetryableError,
    VenueError,
)
from harness.errors import BreakerBoard, BreakerState, CircuitOpenError, ErrorHandler, RetryPolicy, categorize
from harness.gateway import VenueGateway
from harness.model import OrderRequest, OrderType, Side
from harness.ratelimit import ClientRateLimiter
from harness.venues import VenueDescriptor, shipped_descriptors
from scenarios.world import SimWorld

S = NS_PER_SECOND
BINANCE: VenueDescriptor = shipped_descriptors()["binance"]
POLICY = RetryPolicy(initial_delay_ns=S // 10, multiplier=Decimal(2), max_delay_ns=5 * S, max_retries=3)


@dataclass
class Rig:
    """A gateway over one SimWorld venue, with everything it reports into."""

    world: SimWorld
    gateway: VenueGateway
    audit: MemoryAuditSink
    alerts: AlertSink
    board: BreakerBoard
    limiter: ClientRateLimiter
    fatal: list[tuple[str, VenueError]] = field(default_factory=list)

    def results(self, endpoint: str | None = None) -> list[AuditRecord]:
        return [r for r in self.audit.records if r.phase == "result" and endpoint in (None, r.endpoint)]


def rig(world: SimWorld, policy: RetryPolicy = POLICY, venue: str = "binance") -> Rig:
    clock = world.runtime.clock
    alerts, audit = AlertSink(), MemoryAuditSink()
    fatal: list[tuple[str, VenueError]] = []
    handler = ErrorHandler(clock, alerts, on_fatal=lambda name, exc: fatal.append((name, exc)))
    board = BreakerBoard(clock, on_transition=handler.on_breaker_transition)
    limiter = ClientRateLimiter(venue, BINANCE.rules, BINANCE.costs, clock)
    gateway = VenueGateway(world.adapters[venue], clock=clock, rng=world.runtime.rng.stream("gateway"),
                           limiter=limiter, breakers=board, handler=handler, audit=audit, policy=policy)
    return Rig(world, gateway, audit, alerts, board, limiter, fatal)


def order(cid: str, price: str = "50000", qty: str = "0.001") -> OrderRequest:
    return OrderRequest(cid, "binance", "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal(qty), Decimal(price))


def counting(obj: Any, name: str) -> list[int]:
    """Wrap ``obj.name`` (an async method) to count calls; returns the counter list."""
    calls: list[int] = []
    inner = getattr(obj, name)

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return await inner(*args, **kwargs)

    setattr(obj, name, wrapper)
    return calls


def failing(obj: Any, name: str, error: BaseException, delay_ns: int = 2_000_000) -> list[int]:
    """Replace ``obj.name`` by a coroutine that answers ``error`` after ``delay_ns``; counts calls."""
    calls: list[int] = []
    clock = obj._clock

    async def broken(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        await clock.sleep_ns(delay_ns)
        raise error

    setattr(obj, name, broken)
    return calls


# ---------------------------------------------------------------------------- Property 9

OPERATIONS = ["submit_ok", "submit_bad_tick", "cancel_known", "cancel_unknown", "get_order", "ticker", "book",
              "balances", "open_orders", "fills", "positions", "server_time"]


@settings(max_examples=20, deadline=None)
@given(ops=st.lists(st.sampled_from(OPERATIONS), min_size=1, max_size=25), seed=st.integers(0, 1000))
def test_property_9_every_request_is_audited_with_latency_and_outcome(ops: list[str], seed: int) -> None:
    with SimWorld(["binance"], seed=seed) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        r = rig(world)
        gw = r.gateway
        outcomes: list[tuple[str, str, BaseException | None]] = []  # (method, client_order_id, error)

        async def one(i: int, op: str) -> None:
            cid = f"o{i}"
            calls: dict[str, tuple[str, str, Callable[[], Awaitable[object]]]] = {
                "submit_ok": ("submit_order", cid, lambda: gw.submit_order(order(cid))),
                "submit_bad_tick": ("submit_order", cid, lambda: gw.submit_order(order(cid, "50000.001"))),
                "cancel_known": ("cancel_order", "o0", lambda: gw.cancel_order("BTCUSDT", "o0")),
                "cancel_unknown": ("cancel_order", "nope", lambda: gw.cancel_order("BTCUSDT", "nope")),
                "get_order": ("get_order", "o0", lambda: gw.get_order("BTCUSDT", "o0")),
                "ticker": ("get_ticker", "", lambda: gw.get_ticker("BTCUSDT")),
                "book": ("get_order_book", "", lambda: gw.get_order_book("BTCUSDT", 10)),
                "balances": ("get_balances", "", gw.get_balances),
                "open_orders": ("get_open_orders", "", lambda: gw.get_open_orders("BTCUSDT")),
                "fills": ("get_fills", "", lambda: gw.get_fills("BTCUSDT")),
                "positions": ("get_positions", "", gw.get_positions),
                "server_time": ("get_server_time", "", gw.get_server_time),
            }
            method, order_id, call = calls[op]
            try:
                await call()
            except VenueError as exc:
                outcomes.append((method, order_id, exc))
            else:
                outcomes.append((method, order_id, None))

        async def main() -> None:
            for i, op in enumerate(ops):
                await one(i, op)

        world.run(main())

    results = r.results()
    # get_order / cancel of an order that does not exist are never retried (INVALID_REQUEST): one record per call.
    assert len(results) == len(outcomes)
    for record, (method, cid, error) in zip(results, outcomes, strict=True):
        assert record.venue == "binance" and record.method == method and record.endpoint == BINANCE.endpoint(method)
        assert record.endpoint.startswith(("GET /api/v3/", "POST /api/v3/", "DELETE /api/v3/"))
        assert record.latency_ns is not None and record.latency_ns > 0
        assert record.success is (error is None)
        assert record.error_category == ("" if error is None else categorize(error).value)
        assert record.client_order_id == cid
        if error is None:
            assert record.response  # a response summary is recorded
        else:
            assert record.error
    submits = [i for i, op in enumerate(ops) if op.startswith("submit")]
    intents = [rec for rec in r.audit.records if rec.phase == "intent"]
    assert [rec.client_order_id for rec in intents] == [f"o{i}" for i in submits]
    for intent in intents:  # the intent precedes its result, and carries the request
        index = r.audit.records.index(intent)
        result = r.audit.records[index + 1]
        assert (result.phase, result.client_order_id) == ("result", intent.client_order_id)
        assert intent.request["symbol"] == "BTCUSDT" and intent.request["client_order_id"] == intent.client_order_id
    stamps = [rec.ts_ns for rec in r.audit.records]
    assert stamps == sorted(stamps)


# ---------------------------------------------------------------------------- breakers


def test_disconnected_adapter_trips_the_breaker_then_half_opens_after_60s() -> None:
    with SimWorld(["binance"], seed=2) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        no_retry = RetryPolicy(initial_delay_ns=S, multiplier=Decimal(2), max_delay_ns=S, max_retries=0)
        r = rig(world, no_retry)
        adapter = world.adapters["binance"]
        sent = counting(adapter, "get_ticker")
        endpoint = BINANCE.endpoint("get_ticker")

        async def main() -> int:
            await adapter.disconnect()
            for _ in range(5):
                with pytest.raises(RetryableError) as info:
                    await r.gateway.get_ticker("BTCUSDT")
                assert not isinstance(info.value, CircuitOpenError)
                await world.runtime.clock.sleep_ns(S)
            assert r.board.is_open("binance")
            with pytest.raises(CircuitOpenError) as refused:
                await r.gateway.get_ticker("BTCUSDT")
            assert refused.value.endpoint == endpoint and refused.value.venue == "binance"
            opened = world.now_ns() - S
            assert refused.value.half_open_at_ns == opened + 60 * S
            assert len(sent) == 5  # the refused call never reached the adapter
            await adapter.connect()
            await r.gateway.get_order_book("BTCUSDT")  # other endpoints have their own breakers
            with pytest.raises(CircuitOpenError):
                await r.gateway.get_ticker("BTCUSDT")  # still open although the venue is back
            await world.runtime.clock.sleep_ns(opened + 60 * S - world.now_ns())
            assert r.board.get("binance", endpoint).state is BreakerState.HALF_OPEN
            await r.gateway.get_ticker("BTCUSDT")  # the trial succeeds
            return opened

        world.run(main())
        assert r.board.get("binance", endpoint).state is BreakerState.CLOSED
        assert len(sent) == 6
        transitions = [(a.details["from"], a.details["to"]) for a in r.alerts.of_kind("circuit_breaker")]
        assert transitions == [("CLOSED", "OPEN"), ("OPEN", "HALF_OPEN"), ("HALF_OPEN", "CLOSED")]
        refused_records = [rec for rec in r.results(endpoint) if rec.error.startswith("[binance] RETRYABLE: circuit")]
        assert len(refused_records) == 2  # audited, though never sent:
        assert all(rec.latency_ns is None and rec.success is False for rec in refused_records)


def test_reads_are_retried_with_backoff_but_submits_are_not() -> None:
    with SimWorld(["binance"], seed=4) as world:
        r = rig(world)
        adapter = world.adapters["binance"]
        reads = failing(adapter, "get_balances", RetryableError("502 Bad Gateway", venue="binance", http_status=502))
        submits = failing(adapter, "submit_order", AmbiguousError("submit timed out", venue="binance"))

        async def main() -> None:
            with pytest.raises(RetryableError):
                await r.gateway.get_balances()
            with pytest.raises(AmbiguousError):
                await r.gateway.submit_order(order("amb-1"))

        world.run(main())
        assert len(reads) == POLICY.max_retries + 1 and len(submits) == 1
        balance_records = r.results(BINANCE.endpoint("get_balances"))
        assert [rec.error_category for rec in balance_records] == ["RETRYABLE"] * 4
        gaps = [b.ts_ns - a.ts_ns for a, b in itertools.pairwise(balance_records)]
        for attempt, gap in enumerate(gaps):  # backoff between attempts grows: 0.1 s, 0.2 s, 0.4 s (+/-10 %)
            assert gap >= POLICY.base_delay_ns(attempt) * Decimal("0.9")
        submit_records = [rec for rec in r.audit.records if rec.endpoint == BINANCE.endpoint("submit_order")]
        assert [(rec.phase, rec.error_category) for rec in submit_records] == [("intent", ""), ("result", "AMBIGUOUS")]
        assert r.board.get("binance", BINANCE.endpoint("get_balances")).state is BreakerState.CLOSED  # 4 < 5


# ---------------------------------------------------------------------------- FATAL and EXCHANGE_ERROR


def test_fatal_error_disables_the_venue() -> None:
    with SimWorld(["binance"], seed=6) as world:
        r = rig(world)
        error = FatalError("API-key has been revoked", venue="binance", code=-2015, http_status=401)
        calls = failing(world.adapters["binance"], "get_balances", error)

        async def main() -> None:
            with pytest.raises(FatalError):
                await r.gateway.get_balances()

        world.run(main())
        assert r.fatal == [("binance", error)]
        assert len(calls) == 1  # never retried
        [alert] = r.alerts.of_kind("venue_fatal")
        assert alert.severity is Severity.CRITICAL and alert.venue == "binance"
        [record] = r.results()
        assert (record.success, record.error_category) == (False, ErrorCategory.FATAL.value)


def test_exchange_error_alerts_with_request_context() -> None:
    with SimWorld(["binance"], seed=8) as world:
        r = rig(world)
        failing(world.adapters["binance"], "get_order_book", ExchangeError("Internal error", venue="binance",
                                                                           code=-1000))

        async def main() -> None:
            with pytest.raises(ExchangeError):
                await r.gateway.get_order_book("ETHUSDT", 20)

        world.run(main())
        [alert] = r.alerts.of_kind("exchange_error")
        assert alert.details["code"] == "-1000" and alert.details["message"] == "Internal error"
        assert alert.details["request.symbol"] == "ETHUSDT" and alert.details["request.depth"] == "20"
        assert alert.details["endpoint"] == BINANCE.endpoint("get_order_book")


# ---------------------------------------------------------------------------- rate limits through the gateway


def test_cancels_use_the_reserve_while_reads_wait() -> None:
    with SimWorld(["binance"], seed=9) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        r = rig(world)

        async def main() -> tuple[int, int]:
            await r.gateway.submit_order(order("keep"))
            r.limiter.observe_usage({"X-MBX-USED-WEIGHT-1M": "1000"})  # above the 960 ordinary ceiling
            start = world.now_ns()
            read = asyncio.create_task(r.gateway.get_ticker("BTCUSDT"))
            await r.gateway.cancel_order("BTCUSDT", "keep")
            cancel_took = world.now_ns() - start
            await read
            return cancel_took, world.now_ns() - start

        cancel_took, read_took = world.run(main())
        assert cancel_took < S // 10  # only the round trip
        assert read_took > cancel_took and r.limiter.queued_total == 1


def test_429_blocks_requests_until_retry_after_then_the_read_is_retried() -> None:
    with SimWorld(["binance"], seed=10) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        r = rig(world)
        venue = world.venues["binance"]
        for _ in range(60):  # someone else on our IP spent the minute's weight
            venue.check_rate("get_venue_info", weight=20)

        async def main() -> None:
            await r.gateway.get_ticker("BTCUSDT")

        world.run(main())
        first, second = r.results(BINANCE.endpoint("get_ticker"))
        assert (first.error_category, second.success) == (ErrorCategory.RATE_LIMITED.value, True)
        assert venue.limiter.banned_until_ns(world.now_ns()) is None  # never sent during Retry-After: no 418
        assert second.ts_ns - first.ts_ns >= S  # it waited the venue's Retry-After
        assert not r.alerts.of_kind("exchange_error")


def test_rate_limited_error_from_the_venue_is_not_a_breaker_failure() -> None:
    with SimWorld(["binance"], seed=12) as world:
        no_retry = RetryPolicy(initial_delay_ns=S, multiplier=Decimal(1), max_delay_ns=S, max_retries=0)
        r = rig(world, no_retry)
        failing(world.adapters["binance"], "get_fills", RateLimitedError("429", retry_after_s=Decimal(1)))

        async def main() -> None:
            for _ in range(6):
                with pytest.raises(RateLimitedError):
                    await r.gateway.get_fills()

        world.run(main())
        assert not r.board.is_open("binance") and len(r.results()) == 6


def test_a_request_cancelled_in_flight_is_still_audited_as_ambiguous() -> None:
    # found by scenarios/catalog/order-submit-ambiguous.toml: a submit cut short by the engine's timeout left only
    # its intent in the audit trail, so the venue had seen a request nobody had a result for
    from dataclasses import replace

    from sim.venue.latency import Constant, LatencyProfile
    from sim.venue.profile import load_profile

    profile = replace(load_profile("binance"),
                      latency=LatencyProfile(Constant(S // 1000), Constant(2 * S // 1000), Constant(S // 1000)))
    with SimWorld({"binance": profile}, seed=4) as world:
        world.quote("binance", "BTCUSDT", bid="50000", ask="50001")
        r = rig(world)

        async def body() -> None:
            with pytest.raises(asyncio.TimeoutError):  # at the venue after 1 ms, answered after 3 ms: cut at 2 ms
                await asyncio.wait_for(r.gateway.submit_order(order("c1")), 0.002)
            task = asyncio.ensure_future(r.gateway.get_order("BTCUSDT", "c1"))
            await world.runtime.clock.sleep_ns(1)
            task.cancel()  # a read cancelled in flight: retryable, not ambiguous
            with pytest.raises(asyncio.CancelledError):
                await task

        world.run(body())
        submit, lookup = r.results()
        assert (submit.method, submit.success, submit.error_category) == ("submit_order", False, "AMBIGUOUS")
        assert "cancelled before the venue answered" in submit.error and submit.client_order_id == "c1"
        assert (lookup.method, lookup.error_category) == ("get_order", "RETRYABLE")
        assert world.venues["binance"].orders["c1"]  # the venue took it: exactly why the result is ambiguous

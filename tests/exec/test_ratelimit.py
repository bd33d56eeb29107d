"""harness.ratelimit: categories, queueing below the venue's limits, the cancel reserve, Retry-After,
venue usage headers, status, configuration, and a 3,000-request burst against the simulated Binance."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.clock import NS_PER_SECOND, Clock, seconds_to_ns
from harness.contract import OrderNotFoundError, RateLimitedError
from harness.model import OrderRequest, OrderType, Side
from harness.ratelimit import (
    ClientRateLimiter,
    LimitCategory,
    LimitRule,
    RequestCost,
    limits_from_mapping,
)
from harness.venues import VenueDescriptor, shipped_descriptors
from scenarios.world import SimWorld
from sim.kernel.runtime import SimRuntime
from sim.venue.limits import LimitDecision
from sim.venue.venue import SimVenue

S = NS_PER_SECOND
T0 = 1_723_161_600 * S
_T = TypeVar("_T")
W, Q, ORD, WS = LimitCategory.WEIGHT, LimitCategory.QUERIES, LimitCategory.ORDERS, LimitCategory.WEBSOCKET
BINANCE: VenueDescriptor = shipped_descriptors()["binance"]


def binance_limiter(clock: Clock) -> ClientRateLimiter:
    """The client-side limiter of Binance's descriptor."""
    return ClientRateLimiter("binance", BINANCE.rules, BINANCE.costs, clock)


def run(main: Callable[[SimRuntime], Awaitable[_T]]) -> _T:
    with SimRuntime(seed=0, start_ns=T0) as rt:
        return rt.run(main(rt))  # type: ignore[arg-type]


def weight_limiter(clock: Clock, limit: int, window_s: int, *, threshold: str = "0.8", reserve: str = "0.1",
                   guard_ns: int = 0) -> ClientRateLimiter:
    """One WEIGHT rule; request ``"w<n>"`` costs n weight (n up to the ordinary ceiling)."""
    ceiling = int(limit * min(Decimal(threshold), 1 - Decimal(reserve)))
    costs = [RequestCost(f"w{n}", ((W, n),)) for n in range(1, ceiling + 1)]
    return ClientRateLimiter("v", [LimitRule(W, limit, window_s * S, "WEIGHT")], costs, clock,
                             warning_threshold=Decimal(threshold), critical_reserve=Decimal(reserve),
                             latency_guard_ns=guard_ns)


def max_in_any_window(events: list[tuple[int, int]], span_ns: int) -> int:
    """Largest total amount of ``(ts, amount)`` events inside any half-open interval of ``span_ns``."""
    best = 0
    for start, _ in events:
        best = max(best, sum(a for t, a in events if start <= t < start + span_ns))
    return best


# ---------------------------------------------------------------------------- Property 8


@settings(max_examples=40, deadline=None)
@given(limit=st.integers(10, 60), window_s=st.integers(1, 20), threshold=st.sampled_from(["0.5", "0.8", "1"]),
       weights=st.lists(st.integers(1, 5), min_size=1, max_size=60), n_critical=st.integers(0, 4),
       critical_at_ms=st.integers(0, 3000))
def test_property_8_requests_queue_instead_of_exceeding_and_cancels_have_reserve(
        limit: int, window_s: int, threshold: str, weights: list[int], n_critical: int, critical_at_ms: int) -> None:
    normal: list[tuple[int, int, int]] = []  # (index, ts, amount) in acquisition order
    critical_times: list[tuple[int, int]] = []  # (asked, got)

    async def main(rt: SimRuntime) -> ClientRateLimiter:
        limiter = weight_limiter(rt.clock, limit, window_s, threshold=threshold)
        ceiling = int(limit * min(Decimal(threshold), Decimal("0.9")))
        usable = [min(w, ceiling) for w in weights]

        async def ordinary(i: int, amount: int) -> None:
            await limiter.acquire(f"w{amount}")
            normal.append((i, rt.clock.now_ns(), amount))

        async def cancel() -> None:
            await rt.clock.sleep_ns(critical_at_ms * 1_000_000)
            asked = rt.clock.now_ns()
            await limiter.acquire("w1", critical=True)
            critical_times.append((asked, rt.clock.now_ns()))

        await asyncio.gather(*(ordinary(i, w) for i, w in enumerate(usable)), *(cancel() for _ in range(n_critical)))
        span = window_s * S
        # Ordinary requests never pass the threshold's ceiling; with cancels, never the hard limit.
        assert max_in_any_window([(t, a) for _, t, a in normal], span) <= ceiling
        everything = [(t, a) for _, t, a in normal] + [(got, 1) for _, got in critical_times]
        assert max_in_any_window(everything, span) <= limit
        # Nothing was refused: every request eventually went, in arrival order (FIFO).
        assert [i for i, _, _ in normal] == list(range(len(usable)))
        if sum(usable) > ceiling:
            assert limiter.queued_total > 0 and normal[-1][1] > T0
        # The reserve above the ceiling covers these cancels: none of them waited.
        if n_critical <= limit - ceiling:
            assert all(asked == got for asked, got in critical_times)
        return limiter

    limiter = run(main)
    assert limiter.queued == 0


def test_cancel_goes_ahead_of_queued_submits() -> None:
    async def main(rt: SimRuntime) -> list[str]:
        limiter = weight_limiter(rt.clock, 10, 10)  # ordinary ceiling 8, hard limit 10
        order: list[str] = []

        async def request(name: str, critical: bool = False) -> None:
            await limiter.acquire("w2", critical=critical)
            order.append(name)

        for _ in range(4):
            await limiter.acquire("w2")  # 8 of 10 used: the threshold is reached
        queued = [asyncio.create_task(request(f"submit{n}")) for n in range(3)]
        await rt.clock.sleep_ns(S)
        assert limiter.queued == 3 and limiter.status()[W].queued == 3
        await request("cancel", critical=True)  # 8 + 2 <= 10: straight through the reserve
        assert rt.clock.now_ns() == T0 + S
        await asyncio.gather(*queued)
        return order

    assert run(main) == ["cancel", "submit0", "submit1", "submit2"]


def test_a_heavy_request_at_the_head_is_not_overtaken() -> None:
    async def main(rt: SimRuntime) -> list[str]:
        limiter = weight_limiter(rt.clock, 10, 10, threshold="1", reserve="0")
        order: list[str] = []

        async def request(name: str, endpoint: str) -> None:
            await limiter.acquire(endpoint)
            order.append(name)

        await limiter.acquire("w6")
        await asyncio.gather(request("heavy", "w9"), request("light", "w1"))
        return order

    assert run(main) == ["heavy", "light"]


def test_cancelled_waiter_leaves_the_queue() -> None:
    async def main(rt: SimRuntime) -> int:
        limiter = weight_limiter(rt.clock, 10, 10)
        await limiter.acquire("w8")
        stuck = asyncio.create_task(limiter.acquire("w5"))
        behind = asyncio.create_task(limiter.acquire("w1"))
        await rt.clock.sleep_ns(S)
        stuck.cancel()
        await asyncio.gather(stuck, return_exceptions=True)
        await behind
        assert limiter.queued == 0
        return rt.clock.now_ns() - T0

    assert run(main) == 10 * S  # the 1-weight request went when the 8 expired, not held by the cancelled one


# ---------------------------------------------------------------------------- Property 33 and 35

ENDPOINTS = {
    "order": ((ORD, 1), (W, 1), (Q, 1)),
    "depth": ((W, 5), (Q, 1)),
    "ticker": ((W, 2), (Q, 1)),
    "ws": ((WS, 1),),
}


def four_category_limiter(clock: Clock) -> ClientRateLimiter:
    rules = [LimitRule(W, 100_000, 60 * S, "W"), LimitRule(Q, 100_000, 300 * S, "Q"),
             LimitRule(ORD, 100_000, 10 * S, "O10"), LimitRule(ORD, 1_000_000, 86_400 * S, "O1D"),
             LimitRule(WS, 100_000, 300 * S, "WS")]
    return ClientRateLimiter("v", rules, [RequestCost(e, a) for e, a in ENDPOINTS.items()], clock)


@settings(max_examples=60, deadline=None)
@given(calls=st.lists(st.sampled_from(sorted(ENDPOINTS)), max_size=80))
def test_property_33_each_category_is_tracked_independently(calls: list[str]) -> None:
    async def main(rt: SimRuntime) -> None:
        limiter = four_category_limiter(rt.clock)
        for endpoint in calls:
            await limiter.acquire(endpoint)
        status = limiter.status()
        for category in LimitCategory:
            expected = sum(amount for e in calls for c, amount in ENDPOINTS[e] if c is category)
            assert status[category].used == expected
        usage = limiter.rule_usage()
        assert usage["O10"][0] == usage["O1D"][0] == calls.count("order")

    run(main)


@settings(max_examples=40, deadline=None)
@given(calls=st.lists(st.sampled_from(["get_order_book", "submit_order", "get_balances", "cancel_order",
                                       "health", "not_listed"]), max_size=40))
def test_property_35_status_covers_every_configured_category(calls: list[str]) -> None:
    async def main(rt: SimRuntime) -> None:
        limiter = binance_limiter(rt.clock)
        for request in calls:
            await limiter.acquire(request, critical=request == "cancel_order")
        status = limiter.status()
        assert set(status) == {rule.category for rule in BINANCE.rules} == {W, Q, ORD}
        for category, entry in status.items():
            assert entry.category is category
            assert entry.used + entry.remaining == entry.limit
            assert entry.queued == 0 and entry.window_ns > 0
        assert status[ORD].rule == "ORDERS_10S"  # the tighter of the two order rules

    run(main)


# ---------------------------------------------------------------------------- Property 34 and headers


@settings(max_examples=40, deadline=None)
@given(retry_after_ms=st.integers(1, 300_000), critical=st.booleans(), endpoint=st.sampled_from(["w1", "w3"]))
def test_property_34_retry_after_holds_every_request(retry_after_ms: int, critical: bool, endpoint: str) -> None:
    async def main(rt: SimRuntime) -> None:
        limiter = weight_limiter(rt.clock, 100, 60)
        await limiter.acquire("w1")
        limiter.on_retry_after(Decimal(retry_after_ms) / 1000)
        asked = rt.clock.now_ns()
        await limiter.acquire(endpoint, critical=critical)
        assert rt.clock.now_ns() - asked == retry_after_ms * 1_000_000
        assert limiter.blocked_until_ns == asked + retry_after_ms * 1_000_000
        limiter.on_retry_after(0)  # a shorter Retry-After never shortens the hold
        assert limiter.blocked_until_ns == asked + retry_after_ms * 1_000_000

    run(main)


def test_observe_usage_raises_usage_to_the_venue_figure_until_its_window_ends() -> None:
    async def main(rt: SimRuntime) -> None:
        limiter = binance_limiter(rt.clock)
        await rt.clock.sleep_ns(12 * S)  # 00:00:12 of a minute
        await limiter.acquire("get_order_book")
        limiter.observe_usage({"x-mbx-used-weight-1m": "1100", "X-MBX-ORDER-COUNT-10S": "3",
                               "X-MBX-ORDER-COUNT-1D": "junk"})
        status = limiter.status()
        assert status[W].used == 1100
        assert limiter.rule_usage()["ORDERS_10S"][0] == 3
        limiter.observe_usage({"X-MBX-USED-WEIGHT-1M": "7"})  # lower than ours: ignored
        assert limiter.status()[W].used == 1100
        asked = rt.clock.now_ns()
        await limiter.acquire("get_order_book")  # 1100 + 5 > 960: waits for the venue's minute to end
        assert rt.clock.now_ns() == asked - 12 * S + 60 * S + S  # window end plus the latency guard
        assert limiter.status()[W].used == 10

    run(main)


# ---------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(("config", "match"), [
    ({"rules": [], "extra": 1}, "extra"),
    ({"rules": [{"category": "WEIGHT", "limit": 10, "window_s": 1, "burst": 3}]}, "burst"),
    ({"rules": [{"category": "CALLS", "limit": 10, "window_s": 1}]}, "CALLS"),
    ({"rules": [{"category": "WEIGHT", "limit": 10}]}, "window_s"),
    ({"rules": [{"category": "WEIGHT", "limit": 0, "window_s": 1}]}, "limit"),
    ({"rules": [{"category": "WEIGHT", "limit": 10, "window_s": 1.5}]}, "window_s"),
    ({"rules": [], "costs": {"get_order": {"WEIGHT": -1}}}, "amount"),
    ({"rules": [], "costs": {"get_order": {"CALLS": 1}}}, "CALLS"),
    ({"rules": [], "endpoints": {}}, "endpoints"),
])
def test_limits_from_mapping_rejects_bad_config(config: dict[str, Any], match: str) -> None:
    with pytest.raises((TypeError, ValueError), match=match):
        limits_from_mapping(config)


def test_limiter_rejects_inconsistent_setups() -> None:
    clock = SimRuntime(start_ns=T0)
    try:
        rule = LimitRule(W, 10, S, "W")
        with pytest.raises(ValueError, match="QUERIES"):
            ClientRateLimiter("v", [rule], [RequestCost("e", ((Q, 1),))], clock.clock)
        with pytest.raises(ValueError, match="ever lets through"):
            ClientRateLimiter("v", [rule], [RequestCost("e", ((W, 9),))], clock.clock)
        with pytest.raises(ValueError, match="twice"):
            ClientRateLimiter("v", [rule, rule], [], clock.clock)
        with pytest.raises(ValueError, match="warning_threshold"):
            ClientRateLimiter("v", [rule], [], clock.clock, warning_threshold=Decimal("1.5"))
        limiter = ClientRateLimiter("v", [rule], [RequestCost("e", ((W, 1),))], clock.clock)
        with pytest.raises(KeyError, match="nope"):
            limiter.cost_of("nope")
    finally:
        clock.close()


# ---------------------------------------------------------------------------- against the simulated Binance


def record_arrivals(venue: SimVenue) -> list[tuple[int, str, LimitDecision | None]]:
    """Wrap the venue's rate check to log (arrival time, request, decision or None when refused)."""
    log: list[tuple[int, str, LimitDecision | None]] = []
    check = venue.check_rate

    def recording(request: str, *, weight: int | None = None) -> LimitDecision:
        try:
            decision = check(request, weight=weight)
        except RateLimitedError:
            log.append((venue.now(), request, None))
            raise
        log.append((venue.now(), request, decision))
        return decision

    venue.check_rate = recording  # type: ignore[method-assign]
    return log


def test_burst_of_3000_mixed_requests_never_draws_a_429() -> None:
    with SimWorld(["binance"], seed=11) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        adapter, venue, clock = world.adapters["binance"], world.venues["binance"], world.runtime.clock
        limiter = binance_limiter(clock)
        arrivals = record_arrivals(venue)
        sent: list[str] = []

        async def limited(endpoint: str, call: Callable[[], Awaitable[_T]], critical: bool = False) -> _T:
            await limiter.acquire(endpoint, critical=critical)
            sent.append(endpoint)
            return await call()

        async def order_then_cancel(i: int) -> None:
            request = OrderRequest(f"burst-{i}", "binance", "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal("0.001"),
                                   Decimal(50_000 + i % 50))
            await limited("submit_order", lambda: adapter.submit_order(request))
            await limited("cancel_order", lambda: adapter.cancel_order("BTCUSDT", request.client_order_id),
                          critical=True)

        queries: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("get_ticker", lambda: adapter.get_ticker("BTCUSDT")),
            ("get_order_book", lambda: adapter.get_order_book("BTCUSDT")),
            ("get_open_orders", lambda: adapter.get_open_orders("BTCUSDT")),
            ("get_server_time", adapter.get_server_time),
        ]

        async def main() -> list[object]:
            jobs: list[Awaitable[object]] = []
            for i in range(1000):
                jobs.append(order_then_cancel(i))
                endpoint, call = queries[i % len(queries)]
                jobs.append(limited(endpoint, call))
            return await asyncio.gather(*jobs, return_exceptions=True)

        start = world.now_ns()
        results = world.run(main())
        elapsed = world.now_ns() - start

        errors = [r for r in results if isinstance(r, BaseException)]
        assert errors == []
        assert len(sent) == len(arrivals) == 3000
        assert [a for a in arrivals if a[2] is None] == []  # the venue never refused a request
        assert sorted(e for _, e, _ in arrivals) == sorted(sent)
        total_weight = sum(venue.limiter.config.weight_of(e) for e in sent)
        # The venue allows 1200 weight per fixed minute: the burst cannot fit in fewer minutes than that.
        assert total_weight > 1200
        assert elapsed > (total_weight // 1200 - 1) * 60 * S
        assert limiter.queued_total > 1000 and limiter.wait_ns_total > 0
        assert venue.open_orders("BTCUSDT") == []


def test_retry_after_is_obeyed_no_request_reaches_the_venue_before_it() -> None:
    with SimWorld(["binance"], seed=5) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        adapter, venue, clock = world.adapters["binance"], world.venues["binance"], world.runtime.clock
        limiter = binance_limiter(clock)
        for _ in range(60):  # another process on the same IP spends the whole minute's weight
            venue.check_rate("get_venue_info", weight=20)
        arrivals = record_arrivals(venue)

        async def limited(endpoint: str, call: Callable[[], Awaitable[_T]], critical: bool = False) -> _T:
            await limiter.acquire(endpoint, critical=critical)
            try:
                return await call()
            except RateLimitedError as exc:
                limiter.on_retry_after(exc.retry_after_s)
                raise

        async def main() -> tuple[Decimal, list[object]]:
            with pytest.raises(RateLimitedError) as info:
                await limited("get_ticker", lambda: adapter.get_ticker("BTCUSDT"))
            assert not info.value.banned
            jobs = [limited("get_ticker", lambda: adapter.get_ticker("BTCUSDT")),
                    limited("get_order_book", lambda: adapter.get_order_book("BTCUSDT")),
                    limited("cancel_order", lambda: adapter.cancel_order("BTCUSDT", "none"), critical=True)]
            return info.value.retry_after_s, await asyncio.gather(*jobs, return_exceptions=True)

        retry_after, results = world.run(main())
        refused_at, _, refused = arrivals[0]
        assert refused is None
        later = arrivals[1:]
        assert len(later) == 3
        assert all(t >= refused_at + seconds_to_ns(retry_after) for t, _, _ in later)
        assert all(decision is not None and decision.http_status == 200 for _, _, decision in later)  # no 418
        assert isinstance(results[2], OrderNotFoundError)  # the cancel reached the venue, after the wait
        assert not any(isinstance(r, RateLimitedError) for r in results)


def test_control_without_the_limiter_the_same_venue_refuses_and_bans() -> None:
    """The two tests above have teeth: unthrottled, the simulated Binance answers 429, then 418."""
    with SimWorld(["binance"], seed=5) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        adapter = world.adapters["binance"]

        async def main() -> list[object]:
            return await asyncio.gather(*(adapter.get_order_book("BTCUSDT") for _ in range(300)),
                                        return_exceptions=True)

        refused = [r for r in world.run(main()) if isinstance(r, RateLimitedError)]
        assert refused and any(r.banned for r in refused)

"""Each fault injector does exactly what it says, when its schedule says, from its own seeded draws.

A constant-latency binance venue in a hand-driven world; every test builds a fault the way a
scenario does (``build_fault``), installs it, and checks what reached the client, what the venue
did, which error the caller got and when.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from harness.contract import (
    AmbiguousError,
    ExchangeError,
    FatalError,
    InvalidRequestError,
    OrderNotFoundError,
    RateLimitedError,
    RetryableError,
)
from harness.model import Fill, OrderReport, OrderRequest, OrderStatus, OrderType, Quote, Side
from harness.rng import SeededRng
from scenarios.world import SimWorld
from sim.faults import FAULT_KINDS, FaultError, Gate, Schedule, Trigger, build_fault
from sim.venue.latency import Constant, LatencyProfile
from sim.venue.matching.types import DepthMode
from sim.venue.profile import load_profile

ENTRY, RESPONSE, MARKET = 1_000_000, 2_000_000, 500_000
S_NS = 1_000_000_000
V, S = "binance", "BTCUSDT"


def world(depth: DepthMode = DepthMode.QUOTES) -> SimWorld:
    profile = replace(load_profile(V), latency=LatencyProfile(Constant(ENTRY), Constant(RESPONSE), Constant(MARKET)))
    w = SimWorld({V: profile}, seed=1, depth=depth)
    w.quote(V, S, bid="60000", ask="60001")
    return w


def install(w: SimWorld, kind: str, target: str = V, *, at_s: int = 0, for_s: int | None = None,
            trigger: Trigger | None = None, probability: str = "1", **params: Any) -> Any:
    start = w.now_ns() + at_s * S_NS
    schedule = Schedule(start, None if for_s is None or trigger else start + for_s * S_NS, Decimal(probability),
                        trigger, None if for_s is None else for_s * S_NS)
    fault = build_fault(f"{kind}-test", kind, target, schedule, SeededRng(9), params=params)
    fault.install(w)
    return fault


def order(coid: str, order_type: OrderType = OrderType.LIMIT, price: str = "59000") -> OrderRequest:
    return OrderRequest(coid, V, S, Side.BUY, order_type, Decimal("0.01"),
                        price=Decimal(price) if order_type is OrderType.LIMIT else None)


def sleep(w: SimWorld, ns: int) -> None:
    w.run(w.clock.sleep_ns(ns))


def events(w: SimWorld) -> list[tuple[str, str]]:
    return [(e.stream, e.kind) for e in w.adapters[V].session.events.events if e.detail != "connected"]


# ---------------------------------------------------------------------------- the gate


def test_the_gate_acts_inside_its_window_on_the_triggered_turns_with_seeded_draws() -> None:
    rng = SeededRng(4)
    windowed = Gate(Schedule(10, 20), rng.stream("a"))
    assert [windowed.fires(t, "x") for t in (9, 10, 19, 20)] == [False, True, True, False]
    third = Gate(Schedule(0, None, trigger=Trigger("fill", nth=3, count=2)), rng.stream("b"))
    assert [third.fires(t, kind) for t, kind in enumerate(["fill", "trade", "fill", "fill", "fill", "fill"])] == [
        False, False, False, True, True, False]
    assert third.exhausted
    draws = [Gate(Schedule(0, probability=Decimal("0.3")), SeededRng(5).stream("c")) for _ in range(2)]
    picks = [[g.fires(t, "m") for t in range(1000)] for g in draws]
    assert picks[0] == picks[1] and 240 < sum(picks[0]) < 360  # same seed, same picks; about 30 %
    other = Gate(Schedule(0, probability=Decimal("0.3")), SeededRng(5).stream("d"))
    assert [other.fires(t, "m") for t in range(1000)] != picks[0]  # each fault draws from its own stream


def test_bad_configuration_is_refused_with_the_fault_named() -> None:
    with world() as w:
        with pytest.raises(FaultError, match=r"'drop-test'.*target 'binance' must be VENUE\.market or VENUE\.user"):
            install(w, "drop")
        with pytest.raises(FaultError, match="unknown parameter 'delay'"):
            install(w, "duplicate", f"{V}.user", delay=3)
        with pytest.raises(FaultError, match="no venue 'okx'"):
            install(w, "drop", "okx.user")
        with pytest.raises(FaultError, match="unknown kind 'explode'"):
            build_fault("x", "explode", V, Schedule(0), SeededRng(1))
        with pytest.raises(FaultError, match="restarts it from its journal"):
            install(w, "crash", "harness")
    assert len(FAULT_KINDS) == 27


# ---------------------------------------------------------------------------- streams


def _user_stream(w: SimWorld) -> tuple[list[OrderReport], list[Fill]]:
    updates: list[OrderReport] = []
    fills: list[Fill] = []
    w.run(w.adapters[V].subscribe_order_updates(updates.append))
    w.run(w.adapters[V].subscribe_fills(fills.append))
    return updates, fills


def test_drop_duplicate_and_delay_on_the_user_stream() -> None:
    with world() as w:
        updates, fills = _user_stream(w)
        install(w, "drop", f"{V}.user", trigger=Trigger("fill"))
        w.run(w.adapters[V].submit_order(order("u1", OrderType.MARKET)))
        sleep(w, S_NS)
        assert fills == [] and updates[-1].status is OrderStatus.FILLED
        duplicate = install(w, "duplicate", f"{V}.user", trigger=Trigger("fill"), gap_ms=5)
        sent = w.now_ns()
        w.run(w.adapters[V].submit_order(order("u2", OrderType.MARKET)))
        sleep(w, S_NS)
        assert [f.client_order_id for f in fills] == ["u2", "u2"] and duplicate.effects == 1
        delay = install(w, "delay", f"{V}.user", trigger=Trigger("order_update"), delay_ms=100)
        got: list[int] = []
        w.adapters[V]._order_subs.append(lambda r: got.append(w.now_ns()))
        sent = w.now_ns()
        w.run(w.adapters[V].submit_order(order("u3")))
        sleep(w, S_NS)
        assert got == [sent + ENTRY + RESPONSE + 100_000_000] and delay.record().effects == 1


def test_a_reorder_lets_later_quotes_overtake() -> None:
    with world() as w:
        got: list[int] = []
        w.run(w.adapters[V].subscribe_quotes(S, lambda q: got.append(q.bid_price // 10**9)))
        install(w, "reorder", f"{V}.market", trigger=Trigger("quote"), by_ms=5)
        for i in range(3):
            w.quote(V, S, bid=str(60_010 + i), ask=str(60_020 + i))
            sleep(w, 1_000_000)
        sleep(w, S_NS)
        assert got == [60_011, 60_012, 60_010]


def test_a_latency_spike_slows_a_stream_in_order_and_requests_both_ways() -> None:
    with world() as w:
        got: list[tuple[int, int]] = []
        w.run(w.adapters[V].subscribe_quotes(S, lambda q: got.append((w.now_ns(), q.bid_price // 10**9))))
        install(w, "latency_spike", f"{V}.market", for_s=1, extra_ms=300)
        first = w.quote(V, S, bid="60010", ask="60020")
        sleep(w, 1_000_000)
        w.quote(V, S, bid="60011", ask="60021")
        sleep(w, 2 * S_NS)
        after = w.quote(V, S, bid="60012", ask="60022")  # the spike is over
        sleep(w, S_NS)
        assert [bid for _, bid in got] == [60_010, 60_011, 60_012]
        assert got[0][0] == first.ts_event + MARKET + 300_000_000 == got[1][0] - 1_000_000
        assert got[2][0] == after.ts_event + MARKET
        install(w, "latency_spike", V, for_s=10, extra_ms=40)
        start = w.now_ns()
        w.run(w.adapters[V].get_ticker(S))
        assert w.now_ns() - start == ENTRY + RESPONSE + 80_000_000


def test_a_sequence_gap_makes_the_client_resync_its_book_from_a_snapshot() -> None:
    with world(DepthMode.BOOK) as w:
        adapter = w.adapters[V]
        w.book(V, S, bids=[("60000", "1")], asks=[("60001", "1")], update_id=10)
        books: list[Any] = []
        w.run(adapter.subscribe_book(S, books.append))
        w.book_diff(V, S, first_id=11, last_id=11, bids=[("60000", "2")])
        sleep(w, S_NS)
        gap = install(w, "sequence_gap", f"{V}.market", trigger=Trigger("book"))
        w.book_diff(V, S, first_id=12, last_id=12, bids=[("59999", "1"), ("59998", "1")], asks=[("60002", "1")])
        w.book_diff(V, S, first_id=13, last_id=13, asks=[("60003", "1")])
        sleep(w, 2 * S_NS)
        assert gap.effects == 1  # one message of three rows lost, counted once
        assert events(w)[-2:] == [("book:BTCUSDT", "book_gap"), ("book:BTCUSDT", "book_resynced")]
        venue = w.venues[V].order_book(S, 20)
        assert (books[-1].bids, books[-1].asks, books[-1].update_id) == (venue.bids, venue.asks, 13)


def test_a_parse_error_is_logged_skipped_and_counted() -> None:
    with world() as w:
        got: list[Quote] = []
        w.run(w.adapters[V].subscribe_quotes(S, got.append))
        install(w, "parse_error", f"{V}.market", trigger=Trigger("quote"))
        w.quote(V, S, bid="60010", ask="60020")
        second = w.quote(V, S, bid="60011", ask="60021")
        sleep(w, S_NS)
        assert got == [second] and w.adapters[V].session.parse_errors == 1
        assert events(w) == [("market", "parse_error")]


# ---------------------------------------------------------------------------- connections


def test_a_disconnect_is_refused_for_its_duration_then_the_engine_side_reconnects() -> None:
    with world() as w:
        adapter = w.adapters[V]
        install(w, "disconnect", f"{V}.user", for_s=5)
        sleep(w, RESPONSE + 1)  # the close frame
        assert not adapter.is_connected()
        with pytest.raises(RetryableError):
            w.run(adapter.connect())
        sleep(w, 5 * S_NS)
        w.run(adapter.connect())
        assert adapter.is_connected()


def test_a_heartbeat_timeout_is_found_only_by_the_heartbeat() -> None:
    with world() as w:
        adapter = w.adapters[V]
        fault = install(w, "heartbeat_timeout", f"{V}.market", at_s=1)
        sleep(w, 29 * S_NS)
        assert events(w) == []  # silent
        sleep(w, 20 * S_NS)
        assert events(w)[0] == ("market", "down")
        assert adapter.session.events.events[2].detail == "heartbeat timeout"
        assert ("market", "up") in events(w) and fault.record().start_ns is not None


def test_connections_are_closed_when_they_reach_their_maximum_age() -> None:
    with world() as w:
        fault = install(w, "connection_age", f"{V}.market", max_age_s=60)
        sleep(w, 200 * S_NS)
        assert events(w).count(("market", "down")) == 3 == fault.effects
        assert events(w).count(("market", "resubscribed")) == 0  # nothing was subscribed
        assert events(w).count(("market", "up")) == 3


def test_refused_subscriptions_are_retried_until_they_go_through() -> None:
    with world() as w:
        got: list[Quote] = []
        install(w, "subscription_failure", f"{V}.market", trigger=Trigger("subscribe", count=2))
        w.run(w.adapters[V].subscribe_quotes(S, got.append))
        sleep(w, 5 * S_NS)
        quote = w.quote(V, S, bid="60010", ask="60020")
        sleep(w, S_NS)
        assert got == [quote]
        assert events(w) == [("market", "subscription_failed"), ("market", "subscription_failed"),
                             ("market", "subscribed")]


def test_a_venue_outage_loses_requests_refuses_connections_and_ends() -> None:
    with world() as w:
        adapter = w.adapters[V]
        outage = install(w, "venue_outage", V, at_s=1, for_s=30)
        sleep(w, 2 * S_NS)
        assert not adapter.is_connected() and adapter.desk.status == "away"
        with pytest.raises(RetryableError, match="refused"):
            w.run(adapter.get_ticker(S))
        with pytest.raises(RetryableError, match="refused"):
            w.run(adapter.connect())
        sleep(w, 30 * S_NS)
        w.run(adapter.connect())
        assert adapter.is_connected() and adapter.desk.status == "up"
        record = outage.record()
        assert record.end_ns - record.start_ns == 30 * S_NS


def test_maintenance_answers_503_and_refuses_streams_until_it_ends() -> None:
    with world() as w:
        adapter = w.adapters[V]
        install(w, "maintenance", V, for_s=20)

        async def body() -> None:  # one run: the client's reconnect task lives as long as it
            await w.clock.sleep_ns(RESPONSE + 1)
            with pytest.raises(AmbiguousError) as error:
                await adapter.submit_order(order("m1"))
            assert error.value.http_status == 503
            await w.clock.sleep_ns(19 * S_NS)
            assert ("market", "reconnect_failed") in events(w) and ("market", "up") not in events(w)
            await w.clock.sleep_ns(20 * S_NS)  # attempts 1, 2, 4, 8 s apart are refused; 16 s later it works
            assert ("market", "up") in events(w)  # the market stream came back by itself
            await adapter.connect()
            assert (await adapter.submit_order(order("m2"))).status is OrderStatus.OPEN

        w.run(body())


# ---------------------------------------------------------------------------- requests


def test_5xx_before_the_venue_leaves_no_order_after_it_leaves_an_order() -> None:
    with world() as w:
        adapter = w.adapters[V]
        install(w, "http_5xx", V, trigger=Trigger("submit_order"), status=502)
        with pytest.raises(AmbiguousError):
            w.run(adapter.submit_order(order("h1")))
        assert "h1" not in w.venues[V].orders
        install(w, "http_5xx", V, trigger=Trigger("get_ticker"), reached_venue=True)
        with pytest.raises(RetryableError) as read:
            w.run(adapter.get_ticker(S))
        assert not isinstance(read.value, AmbiguousError)
        hidden = build_fault("h3", "http_5xx", V, Schedule(w.now_ns(), trigger=Trigger("submit_order")),
                             SeededRng(1), params={"reached_venue": True})
        hidden.install(w)
        with pytest.raises(AmbiguousError):
            w.run(adapter.submit_order(order("h2")))
        assert w.venues[V].orders["h2"].status is OrderStatus.OPEN


def test_timeouts_wait_the_request_timeout_and_say_whether_the_venue_saw_it() -> None:
    with world() as w:
        adapter = w.adapters[V]
        timeout = adapter.session.settings.request_timeout_ns
        install(w, "timeout", V, trigger=Trigger("submit_order"))
        start = w.now_ns()
        with pytest.raises(AmbiguousError):
            w.run(adapter.submit_order(order("t1")))
        assert w.now_ns() - start == timeout and "t1" not in w.venues[V].orders
        install(w, "timeout", V, trigger=Trigger("submit_order"), accepted=True)
        with pytest.raises(AmbiguousError):
            w.run(adapter.submit_order(order("t2")))
        assert w.venues[V].orders["t2"].status is OrderStatus.OPEN
        assert events(w) == [("rest", "request_timeout"), ("rest", "request_timeout")]


def test_exchange_invalid_and_fatal_errors_carry_their_category() -> None:
    with world() as w:
        adapter = w.adapters[V]
        install(w, "exchange_error", V, trigger=Trigger("get_ticker"))
        install(w, "invalid", V, trigger=Trigger("get_fills"))
        install(w, "fatal", V, trigger=Trigger("get_balances"))
        with pytest.raises(ExchangeError):
            w.run(adapter.get_ticker(S))
        with pytest.raises(InvalidRequestError) as invalid:
            w.run(adapter.get_fills(S))
        with pytest.raises(FatalError):
            w.run(adapter.get_balances())
        assert invalid.value.code == -1102
        w.run(adapter.get_ticker(S))  # each fired once


def test_a_burst_of_other_traffic_makes_the_venue_answer_429_and_ignoring_it_418() -> None:
    with world() as w:
        adapter = w.adapters[V]
        install(w, "rate_limit", V)
        sleep(w, 1)
        with pytest.raises(RateLimitedError) as limited:
            w.run(adapter.get_ticker(S))
        assert limited.value.http_status == 429 and not limited.value.banned
    with world() as w:
        adapter = w.adapters[V]
        install(w, "rate_limit", V, ignore_429=True)
        sleep(w, 1)
        with pytest.raises(RateLimitedError) as banned:
            w.run(adapter.get_ticker(S))
        assert banned.value.http_status == 418 and banned.value.banned
        assert banned.value.retry_after_s >= 100


def test_a_skewed_client_clock_gets_minus_1021_until_the_offset_is_learned() -> None:
    with world() as w:
        adapter = w.adapters[V]
        install(w, "clock_skew", V, for_s=60, skew_ms=8000)
        sleep(w, 1)
        assert w.run(adapter.submit_order(order("k1"))).status is OrderStatus.OPEN
        assert [r.outcome for r in adapter.desk.log] == ["-1021", "ok", "ok"]
        sleep(w, 60 * S_NS)  # the clock is right again: the learned offset is now wrong
        w.run(adapter.get_order(S, "k1"))
        assert [r.outcome for r in adapter.desk.log][3:] == ["-1021", "ok", "ok"]
        assert events(w) == [("rest", "time_resync"), ("rest", "time_resync")]


def test_a_fill_races_the_cancel() -> None:
    with world() as w:
        adapter = w.adapters[V]
        updates, fills = _user_stream(w)
        w.run(adapter.submit_order(order("c1", price="59990")))
        race = install(w, "cancel_race", V, trigger=Trigger("cancel_order"))
        with pytest.raises(OrderNotFoundError):
            w.run(adapter.cancel_order(S, "c1"))
        sleep(w, S_NS)
        assert w.venues[V].orders["c1"].status is OrderStatus.FILLED and race.effects == 1
        assert [f.quantity for f in fills] == [Decimal("0.01")] and updates[-1].status is OrderStatus.FILLED

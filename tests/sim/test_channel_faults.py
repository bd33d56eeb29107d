"""Faults plug into the venue-client channels: each stream applies them in exactly one place.

A ``StreamFault`` decides the arrival times of a message's copies (none drops it, two duplicate
it, a later one delays it); a ``RequestFault`` refuses a request before the venue sees it or
hides the venue's answer after it acted. These tests attach small faults to a constant-latency
venue and check exactly what reaches the client, and when.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

import pytest

from harness.contract import ExchangeError, RetryableError
from harness.model import Fill, OrderReport, OrderRequest, OrderStatus, OrderType, Quote, Side
from scenarios.world import SimWorld
from sim.venue.latency import Constant, LatencyProfile
from sim.venue.profile import load_profile

ENTRY, RESPONSE, MARKET = 1_000_000, 2_000_000, 500_000
V, S = "binance", "BTCUSDT"


def world() -> SimWorld:
    """A binance venue with constant latencies and a quoted market."""
    profile = replace(load_profile(V), latency=LatencyProfile(Constant(ENTRY), Constant(RESPONSE), Constant(MARKET)))
    return SimWorld({V: profile}, seed=1)


@dataclass
class EveryOther:
    """Drops every second message, duplicates every third (1 ms later), delays the fifth by 10 ms."""

    seen: int = 0

    def on_message(self, sent_ns: int, arrival_ns: int, item: object) -> Sequence[int]:
        self.seen += 1
        if self.seen % 2 == 0:
            return []
        if self.seen % 3 == 0:
            return [arrival_ns, arrival_ns + 1_000_000]
        if self.seen == 5:
            return [arrival_ns + 10_000_000]
        return [arrival_ns]


def test_stream_faults_drop_duplicate_and_delay_market_data() -> None:
    with world() as w:
        adapter = w.adapters[V]
        got: list[tuple[int, int]] = []
        w.run(adapter.subscribe_quotes(S, lambda q: got.append((w.now_ns(), q.bid_price))))
        adapter.market_channel.faults.append(EveryOther())
        sent = []
        for i in range(7):
            quote = w.quote(V, S, bid=str(60_000 + i), ask=str(60_010 + i))
            sent.append(quote.ts_event)
            w.run(w.runtime.clock.sleep_ns(2_000_000))
        w.run(w.runtime.clock.sleep_ns(20_000_000))
    bids = [bid // 10**9 - 60_000 for _, bid in got]
    # 1st passes; 2nd, 4th and 6th dropped; 3rd doubled; 5th delayed 10 ms, after the 7th
    assert bids == [0, 2, 2, 6, 4]
    at = dict(enumerate(sent))
    assert got[0][0] == at[0] + MARKET and got[1][0] == at[2] + MARKET and got[2][0] == at[2] + MARKET + 1_000_000
    assert got[4][0] == at[4] + MARKET + 10_000_000


def test_stream_faults_on_the_user_stream_and_a_closed_stream_loses_updates() -> None:
    with world() as w:
        adapter = w.adapters[V]
        w.quote(V, S, bid="60000", ask="60001")
        updates: list[OrderReport] = []
        fills: list[Fill] = []
        w.run(adapter.subscribe_order_updates(updates.append))
        w.run(adapter.subscribe_fills(fills.append))

        class DropFills:
            def on_message(self, sent_ns: int, arrival_ns: int, item: object) -> Sequence[int]:
                return [] if isinstance(item, Fill) else [arrival_ns]

        adapter.user_stream.faults.append(DropFills())
        order = OrderRequest("u1", V, S, Side.BUY, OrderType.MARKET, Decimal("0.1"))
        w.run(adapter.submit_order(order))
        w.run(w.runtime.clock.sleep_ns(10_000_000))
        assert fills == [] and {u.client_order_id for u in updates} == {"u1"}
        assert updates[-1].status is OrderStatus.FILLED
        seen = len(updates)
        venue_fills = w.run(adapter.get_fills(S))
        assert len(venue_fills) == 1  # the venue filled it: only the push was lost
        adapter.user_stream.faults.clear()
        adapter.user_stream.open = False  # the stream went down
        w.run(adapter.submit_order(OrderRequest("u2", V, S, Side.BUY, OrderType.MARKET, Decimal("0.1"))))
        w.run(w.runtime.clock.sleep_ns(10_000_000))
        assert len(updates) == seen and fills == []


@dataclass
class RequestTrouble:
    """Refuses the first submit before the venue, hides the venue's answer to the second."""

    calls: list[str] = field(default_factory=list)

    def before_venue(self, method: str, now_ns: int) -> BaseException | None:
        self.calls.append(f"in:{method}")
        if method == "submit_order" and self.calls.count(f"in:{method}") == 1:
            return ExchangeError("503 Service Unavailable", venue=V)
        return None

    def after_venue(self, method: str, now_ns: int) -> BaseException | None:
        self.calls.append(f"out:{method}")
        if method == "submit_order" and self.calls.count(f"out:{method}") == 1:
            return RetryableError("read timeout", venue=V)
        return None


def test_request_faults_refuse_before_the_venue_or_hide_an_accepted_order() -> None:
    with world() as w:
        adapter = w.adapters[V]
        w.quote(V, S, bid="60000", ask="60001")
        trouble = RequestTrouble()
        adapter.requests_channel.faults.append(trouble)
        first = OrderRequest("r1", V, S, Side.BUY, OrderType.LIMIT, Decimal("0.1"), price=Decimal("59000"))
        start = w.now_ns()
        with pytest.raises(ExchangeError):
            w.run(adapter.submit_order(first))
        assert w.now_ns() - start == ENTRY + RESPONSE  # the refusal still travels back
        assert "r1" not in w.venues[V].orders  # the venue never saw it
        second = replace(first, client_order_id="r2")
        with pytest.raises(RetryableError):
            w.run(adapter.submit_order(second))
        assert w.venues[V].orders["r2"].status.is_open  # accepted at the venue: the answer was lost
        report = w.run(adapter.get_order(S, "r2"))
        assert report.client_order_id == "r2"
        assert trouble.calls[:4] == ["in:submit_order", "in:submit_order", "out:submit_order",
                                     "in:get_order"]


def test_no_fault_means_the_plain_path() -> None:
    with world() as w:
        got: list[Quote] = []
        w.run(w.adapters[V].subscribe_quotes(S, got.append))
        quote = w.quote(V, S, bid="60000", ask="60001")
        w.run(w.runtime.clock.sleep_ns(MARKET))
        assert got == [quote]

"""The simulated client keeps its connections as a live one does: notices, reconnects, resubscribes, resyncs.

A constant-latency binance venue in a hand-driven world; streams are cut through the client
session (what fault injectors do) and the tests check what the client noticed, when, and what
it did about it: the user stream must be reopened by ``connect`` (the engine's supervisor), the
market-data stream reconnects itself with backoff, books are rebuilt from REST snapshots, and
the venue's desk refuses, loses or answers requests as an away, maintained or skewed venue would.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from harness.audit import MemoryAuditSink
from harness.contract import AmbiguousError, RetryableError
from harness.model import BookSnapshot, OrderRequest, OrderStatus, OrderType, Quote, Side
from scenarios.world import SimWorld
from sim.client_links import LinkSettings
from sim.venue.desk import VenueLogWriter, read_venue_log
from sim.venue.latency import Constant, LatencyProfile
from sim.venue.matching.types import DepthMode
from sim.venue.profile import load_profile

ENTRY, RESPONSE, MARKET = 1_000_000, 2_000_000, 500_000
S_NS = 1_000_000_000
V, S = "binance", "BTCUSDT"


def world(depth: DepthMode = DepthMode.QUOTES) -> SimWorld:
    profile = replace(load_profile(V), latency=LatencyProfile(Constant(ENTRY), Constant(RESPONSE), Constant(MARKET)))
    return SimWorld({V: profile}, seed=1, depth=depth)


def kinds(w: SimWorld) -> list[tuple[str, str]]:
    """What the client noticed after connecting."""
    return [(e.stream, e.kind) for e in w.adapters[V].session.events.events if e.detail != "connected"]


def test_a_closed_user_stream_is_noticed_after_a_response_latency_and_reopened_by_connect() -> None:
    with world() as w:
        adapter = w.adapters[V]
        assert adapter.is_connected()
        cut_at = w.now_ns()
        adapter.session.cut("user", refuse_until_ns=cut_at + 5 * S_NS)
        assert adapter.is_connected()  # the client does not know yet
        w.run(w.runtime.clock.sleep_ns(RESPONSE))
        assert not adapter.is_connected()
        assert adapter.session.events.events[-1].ts_ns == cut_at + RESPONSE
        with pytest.raises(RetryableError, match="refused"):
            w.run(adapter.connect())  # reconnection refused for 5 s
        w.run(w.runtime.clock.sleep_ns(5 * S_NS))
        w.run(adapter.connect())
        assert adapter.is_connected()
        assert kinds(w) == [("user", "down"), ("user", "reconnect_failed"), ("user", "up")]


def test_a_silently_dead_stream_is_found_by_the_heartbeat() -> None:
    settings = LinkSettings()
    with world() as w:
        adapter = w.adapters[V]
        connected_at = w.now_ns()
        adapter.session.cut("user", silent=True)
        w.run(w.runtime.clock.sleep_ns(settings.ping_interval_ns - 1))
        assert adapter.is_connected()  # nothing said so yet
        w.run(w.runtime.clock.sleep_ns(settings.pong_timeout_ns + 2))
        assert not adapter.is_connected()
        down = adapter.session.events.events[-1]
        assert (down.kind, down.detail) == ("down", "heartbeat timeout")
        assert down.ts_ns == connected_at + settings.ping_interval_ns + settings.pong_timeout_ns


def test_a_cut_market_stream_reconnects_with_backoff_and_subscribes_again() -> None:
    with world() as w:
        adapter = w.adapters[V]
        got: list[Quote] = []
        w.run(adapter.subscribe_quotes(S, got.append))
        cut_at = w.now_ns()
        adapter.session.cut("market", refuse_until_ns=cut_at + 2 * S_NS)
        w.quote(V, S, bid="60000", ask="60001")  # the venue forgot the subscription: not sent
        w.run(w.runtime.clock.sleep_ns(10 * S_NS))
        assert got == []
        # noticed after 2 ms; attempts after 1 s (refused), then 2 s more (accepted)
        assert kinds(w) == [("market", "down"), ("market", "reconnect_failed"), ("market", "up"),
                            ("market", "resubscribed")]
        up = adapter.session.events.events[4]
        assert up.ts_ns == cut_at + RESPONSE + S_NS + ENTRY + RESPONSE + 2 * S_NS + ENTRY
        quote = w.quote(V, S, bid="60002", ask="60003")
        w.run(w.runtime.clock.sleep_ns(MARKET))
        assert got == [quote]


def test_a_book_gap_is_resynced_from_an_audited_rest_snapshot() -> None:
    with world(DepthMode.BOOK) as w:
        adapter = w.adapters[V]
        audit = MemoryAuditSink()
        adapter.session.audit = audit
        books: list[BookSnapshot] = []
        w.book(V, S, bids=[("60000", "1")], asks=[("60001", "1")], update_id=100)  # the venue's own snapshot
        w.run(adapter.subscribe_book(S, books.append, depth=5))
        w.book_diff(V, S, first_id=101, last_id=101, bids=[("60000", "2")])
        w.run(w.runtime.clock.sleep_ns(10 * S_NS))
        # the client subscribed after the snapshot: its first diff finds no book, so it asks for one
        assert [e.kind for e in adapter.session.events.events][2:] == ["book_gap", "book_resynced"]
        assert books[-1].update_id == 101 and books[-1].bids[0].size == 2 * 10**9
        adapter.market_channel.faults.append(_DropNext())
        w.book_diff(V, S, first_id=102, last_id=102, asks=[("60001", "3")])  # lost on the way
        w.book_diff(V, S, first_id=103, last_id=103, bids=[("59999", "4")])  # reveals the gap
        w.run(w.runtime.clock.sleep_ns(10 * S_NS))
        assert [e.kind for e in adapter.session.events.events][4:] == ["book_gap", "book_resynced"]
        venue_book = w.venues[V].order_book(S, 5)
        assert books[-1].bids == venue_book.bids and books[-1].asks == venue_book.asks
        assert books[-1].update_id == venue_book.update_id == 103
        snapshots = [r for r in audit.records if r.method == "get_order_book"]
        assert len(snapshots) == 2 and all(r.success for r in snapshots)
        assert [r.method for r in adapter.desk.log] == ["get_order_book"] * 2


class _DropNext:
    """Drops the next message (all rows of one book message are one row here)."""

    def __init__(self) -> None:
        self.armed = True

    def on_message(self, sent_ns: int, arrival_ns: int, item: object) -> list[int]:
        if self.armed:
            self.armed = False
            return []
        return [arrival_ns]


def _order(coid: str, order_type: OrderType = OrderType.LIMIT) -> OrderRequest:
    price = Decimal("59000") if order_type is OrderType.LIMIT else None
    return OrderRequest(coid, V, S, Side.BUY, order_type, Decimal("0.01"), price=price)


def test_an_away_venue_refuses_new_requests_and_loses_those_in_flight() -> None:
    with world() as w:
        adapter = w.adapters[V]
        w.quote(V, S, bid="60000", ask="60001")
        start = w.now_ns()

        async def body() -> None:
            clock = w.runtime.clock
            task = w.runtime.loop.create_task(adapter.submit_order(_order("a1")))
            await clock.sleep_ns(ENTRY // 2)
            adapter.desk.set_status("away")
            with pytest.raises(AmbiguousError):
                await task  # it reached an unreachable venue: no answer until the timeout
            assert clock.now_ns() - start == adapter.session.settings.request_timeout_ns
            with pytest.raises(RetryableError, match="refused"):
                await adapter.get_order(S, "a1")

        w.run(body())
        assert "a1" not in w.venues[V].orders
        assert w.now_ns() - start == adapter.session.settings.request_timeout_ns + ENTRY + RESPONSE


def test_maintenance_answers_503_ambiguous_for_order_entry() -> None:
    with world() as w:
        adapter = w.adapters[V]
        w.quote(V, S, bid="60000", ask="60001")
        adapter.desk.set_status("maintenance")
        with pytest.raises(AmbiguousError) as submit:
            w.run(adapter.submit_order(_order("m1")))
        with pytest.raises(RetryableError) as read:
            w.run(adapter.get_open_orders(S))
        assert submit.value.http_status == read.value.http_status == 503
        assert not isinstance(read.value, AmbiguousError)
        assert [(r.method, r.outcome) for r in adapter.desk.log] == [("submit_order", "503"),
                                                                    ("get_open_orders", "503")]


def test_a_skewed_clock_gets_minus_1021_then_resyncs_and_retries_once() -> None:
    with world() as w:
        adapter = w.adapters[V]
        audit = MemoryAuditSink()
        adapter.session.audit = audit
        w.quote(V, S, bid="60000", ask="60001")
        adapter.session.clock_error_ns = -6 * S_NS  # the client's clock is 6 s behind
        report = w.run(adapter.submit_order(_order("k1")))
        assert report.status is OrderStatus.OPEN
        assert [(r.method, r.outcome) for r in adapter.desk.log] == [
            ("submit_order", "-1021"), ("get_server_time", "ok"), ("submit_order", "ok")]
        assert adapter.session.time_offset_ns == 6 * S_NS + ENTRY - (ENTRY + RESPONSE) // 2
        assert [(r.method, r.success) for r in audit.records] == [("submit_order", False), ("get_server_time", True)]
        w.run(adapter.get_order(S, "k1"))  # learned: no more -1021
        assert adapter.desk.log[-1].outcome == "ok"


def test_binance_accepts_a_client_order_id_again_once_its_order_is_closed() -> None:
    with world() as w:
        adapter = w.adapters[V]
        w.quote(V, S, bid="60000", ask="60001")
        w.run(adapter.submit_order(_order("d1", OrderType.MARKET)))
        again = w.run(adapter.submit_order(_order("d1", OrderType.MARKET)))
        assert again.status is OrderStatus.FILLED
        assert [o.request.client_order_id for o in w.venues[V].accepted] == ["d1", "d1"]
        w.run(adapter.submit_order(_order("d2")))
        with pytest.raises(Exception, match="Duplicate order sent"):
            w.run(adapter.submit_order(_order("d2")))  # still open: refused


def test_the_venue_log_replays_into_an_identical_venue(tmp_path: Path) -> None:
    path = tmp_path / "venue.log"
    with world() as w:
        adapter = w.adapters[V]
        adapter.desk.writer = VenueLogWriter(path)
        w.quote(V, S, bid="60000", ask="60001")
        w.run(adapter.submit_order(_order("r1")))
        w.run(adapter.submit_order(_order("r2", OrderType.MARKET)))
        w.run(adapter.cancel_order(S, "r1"))
        with pytest.raises(Exception):  # noqa: B017  (the unknown-order refusal, logged too)
            w.run(adapter.cancel_order(S, "nope"))
        adapter.desk.writer.close()
        original = {coid: (o.status, o.filled) for coid, o in w.venues[V].orders.items()}
        balances = w.venues[V].balances()
    records = read_venue_log(path)
    assert [r.outcome for r in records] == ["ok", "ok", "ok", "-2011"]
    with world() as again:
        again.quote(V, S, bid="60000", ask="60001")
        desk = again.adapters[V].desk
        for record in records:
            again.runtime.run_until(record.ts_ns)
            desk.replay(record)
        assert {coid: (o.status, o.filled) for coid, o in again.venues[V].orders.items()} == original
        assert again.venues[V].balances() == balances

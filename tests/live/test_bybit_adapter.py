"""BybitAdapter against the local venue's Bybit front, with the venue's faults (127.0.0.1 only).

What the contract kit does not show: a lost orderbook delta is a ``u`` gap that re-subscribes
the topic and rebuilds the book from the new snapshot; cut connections come back (the private
one authenticating again with a fresh signature) with their topics; an ambiguous answer after
the venue acted leaves an order that can be found; the per-second order limit the headers report
is waited out rather than run into; a venue message the adapter cannot read is counted, not fatal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest
from live_testing import FAST_BACKOFF, ScaledClock, until
from local_venue_helpers import API_KEY, ASK, BID, SECRET

from harness.contract import AmbiguousError, RetryableError
from harness.model import Aggressor, BookSnapshot, OrderReport, OrderRequest, OrderStatus, OrderType, Side, Trade
from harness.registry import Credentials
from live.bybit import BybitAdapter, BybitEndpoints
from live.serve.bybit import BybitLocalVenue, BybitVenueConfig
from live.serve.faults import CutConnections, DropMatching, FailRequests, ServeFaults
from live.ws.state import WsSettings

_NS = 1_000_000_000
SETTINGS = WsSettings(ping_interval_ns=60 * _NS, ping_timeout_ns=600 * _NS, open_timeout_ns=600 * _NS,
                      backoff=FAST_BACKOFF)


@asynccontextmanager
async def connected(faults: ServeFaults | None = None, speed: int = 20) -> AsyncIterator[
        tuple[BybitLocalVenue, BybitAdapter]]:
    venue = BybitLocalVenue(BybitVenueConfig(api_keys={API_KEY: SECRET}, clock=ScaledClock(speed),
                                             faults=faults or ServeFaults()))
    await venue.start()
    venue.quote("BTCUSDT", BID, ASK)
    adapter = BybitAdapter(BybitEndpoints.local(venue.rest_url), Credentials(API_KEY, SECRET), venue.clock,
                           ws_settings=SETTINGS, request_timeout_ns=600 * _NS, recv_window_ms=60_000)
    await adapter.connect()
    try:
        yield venue, adapter
    finally:
        await adapter.disconnect()
        await venue.stop()


def _limit(coid: str, price: Decimal = BID) -> OrderRequest:
    return OrderRequest(coid, "bybit", "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal("0.001"), price=price)


def test_a_lost_delta_resubscribes_and_rebuilds_the_book() -> None:
    drop = DropMatching(stream="orderbook.50", skip=2)  # the snapshot is message 0: drop the second delta

    async def body() -> None:
        async with connected(ServeFaults(market=[drop])) as (venue, adapter):
            books: list[BookSnapshot] = []
            await adapter.subscribe_book("BTCUSDT", books.append, depth=5)
            book = adapter.market.books["orderbook.50.BTCUSDT"]
            await until(lambda: book.snapshots == 1, "the first snapshot")
            for i in range(1, 4):
                venue.book("BTCUSDT", [(BID - i, Decimal(i))], [(ASK + i, Decimal(i))])
            await adapter.sync_streams()
            await until(lambda: book.snapshots == 2 and book.sync.valid, "the resync snapshot")
            assert drop.dropped == 1 and book.gaps == 1
            last = books[-1]
            assert [(b.price, b.size) for b in last.bids] == [(int((BID - 3) * 10**9), 3 * 10**9)]
            assert [(a.price, a.size) for a in last.asks] == [(int((ASK + 3) * 10**9), 3 * 10**9)]

    asyncio.run(body())


def test_cut_connections_come_back_authenticated_with_their_topics() -> None:
    cuts = ServeFaults(disconnects=[CutConnections("market", after=1), CutConnections("ws-api", after=5)])

    async def body() -> None:
        async with connected(cuts) as (venue, adapter):
            trades: list[Trade] = []
            updates: list[OrderReport] = []
            await adapter.subscribe_trades("BTCUSDT", trades.append)
            await adapter.subscribe_order_updates(updates.append)
            # private: auth and four subscriptions answered, then cut-1's pushes cut the connection
            await adapter.submit_order(_limit("cut-1", BID - 1))
            await until(lambda: adapter.private.connection.health().reconnects >= 1, "private reconnect")
            venue.trade("BTCUSDT", BID, Decimal(1), trade_id="1")  # cut on the public connection
            await until(lambda: adapter.public.connection.health().reconnects >= 1, "public reconnect")
            await until(lambda: any(p.topics for p in venue.bybit_market.peers), "public topics again")
            await until(lambda: any(p.api_key and p.topics for p in venue.private.peers), "auth and topics again")
            await adapter.sync_streams()
            venue.trade("BTCUSDT", BID, Decimal(1), trade_id="2")
            await adapter.submit_order(_limit("cut-2", BID - 2))
            await adapter.sync_streams()
            await until(lambda: "cut-2" in {u.client_order_id for u in updates}, "cut-2's update")
            await until(lambda: bool(trades), "trade 2 (held a moment: its subscription is new)")
            assert [t.trade_id for t in trades] == ["2"]  # the trade sent while cut is lost

    asyncio.run(body())


def test_an_ambiguous_answer_after_the_venue_acted_leaves_a_findable_order(caplog: pytest.LogCaptureFixture) -> None:
    fault = FailRequests("submit_order", lambda: RetryableError("gateway timeout", http_status=504), after=True)
    caplog.set_level(logging.DEBUG)

    async def body() -> None:
        async with connected(ServeFaults(requests=[fault])) as (_venue, adapter):
            with pytest.raises(AmbiguousError) as ambiguous:
                await adapter.submit_order(_limit("amb-1", BID - 1))
            found = await adapter.get_order("BTCUSDT", "amb-1")
            assert found.venue_order_id and found.price == BID - 1
            records = adapter.rest._audit.records  # type: ignore[attr-defined]
            assert any(r.error_category == "AMBIGUOUS" for r in records)
            trail = repr(records) + caplog.text + str(ambiguous.value)
            assert SECRET not in trail and API_KEY not in trail  # secrets never in audit, logs or errors

    asyncio.run(body())


def test_an_accepted_order_whose_state_cannot_be_read_is_pending_not_resent() -> None:
    fault = FailRequests("get_open_orders", lambda: RetryableError("busy", http_status=503))  # the first realtime

    async def body() -> None:
        async with connected(ServeFaults(requests=[fault])) as (venue, adapter):
            ack = await adapter.submit_order(_limit("pend-1", BID - 1))
            placed = venue.venue.orders["pend-1"]
            assert ack.status is OrderStatus.PENDING and ack.venue_order_id == placed.venue_order_id
            assert fault.failed == 1 and len(venue.venue.orders) == 1
            assert (await adapter.get_order("BTCUSDT", "pend-1")).status is OrderStatus.OPEN

    asyncio.run(body())


def test_the_order_limit_the_headers_report_is_waited_out() -> None:
    async def body() -> None:
        async with connected(speed=1) as (venue, adapter):
            seen: list[int] = []
            observe = adapter.usage.observe

            def spy(endpoint: str, headers: Mapping[str, str]) -> None:
                if endpoint == "POST /v5/order/create" and "x-bapi-limit-status" in headers:
                    seen.append(int(headers["x-bapi-limit-status"]))
                observe(endpoint, headers)

            adapter.usage.observe = spy  # type: ignore[method-assign]
            for i in range(25):  # 20 per second: the 21st must wait for the window's reset
                report = await adapter.submit_order(_limit(f"rl-{i}", BID - 1 - i))
                assert report.client_order_id == f"rl-{i}"
            assert len(venue.venue.open_orders()) == 25
            assert 0 in seen, "the venue reported the allowance spent"

    asyncio.run(body())


def test_tickers_carry_the_last_trade_price() -> None:
    async def body() -> None:
        async with connected() as (venue, adapter):
            tickers: list[Mapping[str, str]] = []
            await adapter.market.subscribe_tickers("BTCUSDT", tickers.append)
            venue.trade("BTCUSDT", BID, Decimal(1), Aggressor.BUYER)
            venue.trade("BTCUSDT", ASK, Decimal(1), Aggressor.BUYER)
            await until(lambda: len(tickers) == 2, "two tickers")
            assert [Decimal(t["lastPrice"]) for t in tickers] == [BID, ASK] and tickers[0]["symbol"] == "BTCUSDT"

    asyncio.run(body())


def test_a_malformed_push_is_counted_and_the_stream_goes_on() -> None:
    async def body() -> None:
        async with connected() as (venue, adapter):
            trades: list[Trade] = []
            await adapter.subscribe_trades("BTCUSDT", trades.append)
            await until(lambda: any("publicTrade.BTCUSDT" in p.topics for p in venue.bybit_market.peers), "topic")
            peer = venue.bybit_market.peers[0].peer
            peer.send({"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": 1, "data": [{"p": "1"}]})
            await venue.clock.sleep_ns(venue.bybit_market.first_push_delay_ns)  # past the first-message hold
            venue.trade("BTCUSDT", BID, Decimal(1), Aggressor.SELLER, trade_id="7")
            await adapter.sync_streams()
            await until(lambda: [t.trade_id for t in trades] == ["7"], "the next trade")
            assert adapter.public.malformed == 1
            assert adapter.public.connection.health().reconnects == 0

    asyncio.run(body())

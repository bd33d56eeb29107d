"""BinanceAdapter against the local venue, with faults the venue injects over real sockets.

What the contract kit does not show: the book resyncs after a sequence gap, market and user
streams come back after their connections are cut (subscriptions restored, user data re-signed),
an ambiguous submit is one the order may exist behind, and where the adapter may connect.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest
from live_testing import FAST_BACKOFF, until
from local_venue_helpers import API_KEY, ASK, BID, SECRET, local_venue

from harness.contract import AmbiguousError, RetryableError
from harness.model import Aggressor, BookSnapshot, Fill, OrderReport, OrderRequest, OrderType, Side, Trade, VenueMode
from harness.registry import Credentials, ProductionNotAllowedError, SandboxViolationError
from live.binance import BinanceAdapter, BinanceEndpoints
from live.serve import LocalVenue
from live.serve.faults import CutConnections, DropMatching, FailRequests, ServeFaults
from live.ws.state import WsSettings

SPEED = 20
_NS = 1_000_000_000
SETTINGS = WsSettings(ping_interval_ns=60 * _NS, ping_timeout_ns=600 * _NS, open_timeout_ns=600 * _NS,
                      backoff=FAST_BACKOFF)


@asynccontextmanager
async def connected(faults: ServeFaults | None = None) -> AsyncIterator[tuple[LocalVenue, BinanceAdapter]]:
    async with local_venue(speed=SPEED, faults=faults) as venue:
        adapter = BinanceAdapter(BinanceEndpoints.local(venue.rest_url), Credentials(API_KEY, SECRET), venue.clock,
                                 ws_settings=SETTINGS, request_timeout_ns=600 * _NS, recv_window_ms=60_000)
        await adapter.connect()
        try:
            yield venue, adapter
        finally:
            await adapter.disconnect()


def _limit(coid: str, price: Decimal = BID) -> OrderRequest:
    return OrderRequest(coid, "binance", "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal("0.001"), price=price)


def test_book_resyncs_from_a_new_snapshot_after_a_sequence_gap() -> None:
    drop = DropMatching(event="depthUpdate", skip=1)

    async def body() -> None:
        async with connected(ServeFaults(market=[drop])) as (venue, adapter):
            books: list[BookSnapshot] = []
            await adapter.subscribe_book("BTCUSDT", books.append, depth=5)
            follower = adapter._books["BTCUSDT"]
            assert follower.snapshots_fetched == 1
            for i in range(1, 4):
                venue.book("BTCUSDT", [(BID - i, Decimal(i))], [(ASK + i, Decimal(i))])
            await adapter.sync_streams()
            await until(lambda: follower.sync.valid and follower.snapshots_fetched == 2, "resync")
            assert drop.dropped == 1 and len(follower.sync.gaps) == 1
            last = books[-1]
            assert [(b.price, b.size) for b in last.bids] == [(int((BID - 3) * 10**9), 3 * 10**9)]
            assert [(a.price, a.size) for a in last.asks] == [(int((ASK + 3) * 10**9), 3 * 10**9)]

    asyncio.run(body())


def test_cut_connections_come_back_with_their_subscriptions() -> None:
    cuts = ServeFaults(disconnects=[CutConnections("market", after=1), CutConnections("ws-api", after=2)])

    async def body() -> None:
        async with connected(cuts) as (venue, adapter):
            trades: list[Trade] = []
            updates: list[OrderReport] = []
            await adapter.subscribe_trades("BTCUSDT", trades.append)
            await adapter.subscribe_order_updates(updates.append)
            await adapter.submit_order(_limit("cut-1", BID - 1))  # its events cut the user connection
            await until(lambda: adapter.user.api.connection.health().reconnects >= 1, "user reconnect")
            await until(lambda: adapter.user.subscriptions >= 2, "user data re-subscribed")
            venue.trade("BTCUSDT", BID, Decimal(1), trade_id="1")  # the ack was message 1; this one is cut
            await until(lambda: adapter.streams.connection.health().reconnects >= 1, "market reconnect")
            await adapter.sync_streams()
            venue.trade("BTCUSDT", BID, Decimal(1), trade_id="2")
            await adapter.submit_order(_limit("cut-2", BID - 2))
            await adapter.sync_streams()
            assert [t.trade_id for t in trades] == ["2"]  # the trade sent while cut is lost, later ones arrive
            assert "cut-2" in {u.client_order_id for u in updates}

    asyncio.run(body())


def test_a_5xx_after_the_venue_acted_is_ambiguous_and_the_order_can_be_found() -> None:
    fault = FailRequests("submit_order", lambda: RetryableError("gateway timeout", http_status=504), after=True)

    async def body() -> None:
        async with connected(ServeFaults(requests=[fault])) as (_venue, adapter):
            with pytest.raises(AmbiguousError):
                await adapter.submit_order(_limit("amb-1", BID - 1))
            found = await adapter.get_order("BTCUSDT", "amb-1")
            assert found.venue_order_id and found.price == BID - 1

    asyncio.run(body())


def test_fills_and_order_updates_agree_with_queries() -> None:
    async def body() -> None:
        async with connected() as (venue, adapter):
            pushed: list[Fill] = []
            await adapter.subscribe_fills(pushed.append)
            await adapter.submit_order(_limit("f-1"))
            venue.trade("BTCUSDT", BID, Decimal(3), Aggressor.SELLER)
            await adapter.sync_streams()
            assert pushed == await adapter.get_fills("BTCUSDT") == await adapter.get_fills()
            (position,) = await adapter.get_positions()
            assert (position.symbol, position.quantity, position.average_entry_price) == ("BTCUSDT",
                                                                                          Decimal("0.001"), BID)

    asyncio.run(body())


def test_sandbox_endpoints_refuse_production_hosts_and_production_needs_the_flag() -> None:
    sandbox = BinanceEndpoints.sandbox()
    assert sandbox.mode is VenueMode.SANDBOX and "testnet.binance.vision" in sandbox.rest
    with pytest.raises(SandboxViolationError):
        BinanceEndpoints("https://api.binance.com", sandbox.streams, sandbox.ws_api)
    with pytest.raises(SandboxViolationError):
        BinanceEndpoints(sandbox.rest, "wss://stream.binance.com:9443", sandbox.ws_api)
    with pytest.raises(ProductionNotAllowedError):
        BinanceEndpoints.production()
    assert BinanceEndpoints.production(allow_production=True).mode is VenueMode.PRODUCTION
    local = BinanceEndpoints.local("http://127.0.0.1:9")
    assert (local.streams, local.ws_api) == ("ws://127.0.0.1:9", "ws://127.0.0.1:9/ws-api/v3")
    with pytest.raises(SandboxViolationError):
        BinanceEndpoints.local("http://example.com:80")


def test_an_unreachable_venue_is_retryable_on_connect() -> None:
    from harness.clock import WallClock

    async def body() -> None:
        adapter = BinanceAdapter(BinanceEndpoints.local("http://127.0.0.1:9"), Credentials(API_KEY, SECRET),
                                 WallClock())
        with pytest.raises(RetryableError):
            await adapter.connect()
        assert not adapter.is_connected()
        await adapter.disconnect()

    asyncio.run(body())

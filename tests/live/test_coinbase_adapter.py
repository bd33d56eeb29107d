"""CoinbaseAdapter against the local venue (``--profile coinbase``): orders over FIX 4.2, market data
over Coinbase's WebSocket, both served by the simulated venue."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from fix_venue_helpers import CB_KEY, CB_PASSPHRASE, CB_SECRET, fix_venue
from live_testing import until

from harness.contract import NotSupportedError, OrderNotFoundError
from harness.model import Aggressor, Fill, OrderModification, OrderReport, OrderRequest, OrderStatus, OrderType, Side
from harness.money import from_fixed
from harness.registry import Credentials
from live.coinbase import CoinbaseAdapter
from live.fix.order_entry import FixEndpoint
from live.serve import LocalVenue
from live.serve.faults import DropMatching, ServeFaults

_NS = 1_000_000_000
BID, ASK = Decimal(60000), Decimal("60000.10")


def _adapter(venue: LocalVenue) -> CoinbaseAdapter:
    assert venue.fix is not None
    endpoint = FixEndpoint("127.0.0.1", venue.fix.port, "CB1", logon_timeout_ns=60 * _NS, answer_timeout_ns=60 * _NS)
    return CoinbaseAdapter(endpoint, Credentials(CB_KEY, CB_SECRET, CB_PASSPHRASE), f"{venue.ws_url}/", venue.clock)


def _limit(coid: str, price: Decimal, qty: str = "0.01") -> OrderRequest:
    return OrderRequest(coid, "coinbase", "BTC-USD", Side.BUY, OrderType.LIMIT, Decimal(qty), price=price)


def test_market_data_over_the_coinbase_websocket() -> None:
    async def main() -> None:
        async with fix_venue(profile="coinbase") as venue:
            venue.quote("BTC-USD", BID, ASK)
            adapter = _adapter(venue)
            await adapter.connect()
            quotes: list[tuple[Decimal, Decimal]] = []
            trades: list[tuple[Decimal, int]] = []
            try:
                ticker = await adapter.get_ticker("BTC-USD")
                assert (from_fixed(ticker.bid_price), from_fixed(ticker.ask_price)) == (BID, ASK)
                book = await adapter.get_order_book("BTC-USD", 5)
                assert from_fixed(book.bids[0].price) == BID and from_fixed(book.asks[0].price) == ASK
                await adapter.subscribe_quotes("BTC-USD", lambda q: quotes.append((from_fixed(q.bid_price),
                                                                                  from_fixed(q.ask_price))))
                await adapter.subscribe_trades("BTC-USD", lambda t: trades.append((from_fixed(t.price), t.aggressor)))
                venue.quote("BTC-USD", BID + 1, ASK + 1)
                venue.trade("BTC-USD", ASK + 1, Decimal("0.5"), Aggressor.BUYER)
                await adapter.sync_streams("BTC-USD")
                assert quotes[-1] == (BID + 1, ASK + 1) and trades == [(ASK + 1, 1)]
                assert from_fixed((await adapter.get_order_book("BTC-USD", 5)).bids[0].price) == BID + 1
                assert abs(await adapter.get_server_time() - venue.clock.now_ns()) < 5 * _NS
            finally:
                await adapter.disconnect()

    asyncio.run(main())


def test_a_lost_level2_message_is_seen_by_its_sequence_number_and_the_book_resynced() -> None:
    async def main() -> None:
        drop = DropMatching(stream="l2_data", skip=1)  # the first update after the snapshot
        async with fix_venue(profile="coinbase", faults=ServeFaults(market=[drop])) as venue:
            venue.quote("BTC-USD", BID, ASK)
            adapter = _adapter(venue)
            await adapter.connect()
            try:
                await adapter.get_order_book("BTC-USD", 5)
                venue.quote("BTC-USD", BID - 1, ASK)  # lost
                venue.quote("BTC-USD", BID - 2, ASK)  # seen: its sequence number is one too far
                await until(lambda: adapter.market.gaps == 1, "the gap is noticed")
                await until(lambda: (b := adapter.market.book("BTC-USD", 5)) is not None and bool(b.bids)
                            and from_fixed(b.bids[0].price) == BID - 2, "a fresh snapshot")
                assert drop.dropped == 1
            finally:
                await adapter.disconnect()

    asyncio.run(main())


def test_orders_over_coinbase_fix_modify_status_cancel_and_fills() -> None:
    async def main() -> None:
        async with fix_venue(profile="coinbase") as venue:
            venue.quote("BTC-USD", BID, ASK)
            adapter = _adapter(venue)
            await adapter.connect()
            updates: list[OrderReport] = []
            pushed: list[Fill] = []
            await adapter.subscribe_order_updates(updates.append)
            await adapter.subscribe_fills(pushed.append)
            try:
                placed = await adapter.submit_order(_limit("cbx-1", BID - 10))
                assert placed.status is OrderStatus.OPEN and placed.client_order_id == "cbx-1"
                modified = await adapter.modify_order("BTC-USD", "cbx-1", OrderModification(new_price=BID - 20))
                assert modified.price == BID - 20 and modified.client_order_id == "cbx-1"
                status = await adapter.get_order("BTC-USD", "cbx-1")
                assert (status.status, status.price) == (OrderStatus.OPEN, BID - 20)
                assert venue.venue.orders["cbx-1"].request.price == BID - 20
                assert [o.client_order_id for o in await adapter.get_open_orders()] == ["cbx-1"]
                cancelled = await adapter.cancel_order("BTC-USD", "cbx-1")
                assert cancelled.status is OrderStatus.CANCELLED and await adapter.get_open_orders() == []
                with pytest.raises(OrderNotFoundError):
                    await adapter.get_order("BTC-USD", "never-sent")
                await adapter.submit_order(OrderRequest("cbx-2", "coinbase", "BTC-USD", Side.BUY, OrderType.MARKET,
                                                        Decimal("0.01")))
                await adapter.sync_streams("BTC-USD")
                assert pushed and pushed == await adapter.get_fills("BTC-USD")
                assert all(f.fee_asset == "USD" and f.fee > 0 and f.price == ASK for f in pushed)
                assert updates[-1].client_order_id == "cbx-2" and updates[-1].status is OrderStatus.FILLED
                assert (await adapter.get_positions())[0].quantity == Decimal("0.01")
                with pytest.raises(NotSupportedError):
                    await adapter.get_balances()
            finally:
                await adapter.disconnect()

    asyncio.run(main())

"""BinanceFixAdapter against the local venue's FIX acceptor: orders over FIX, the rest over REST/WS."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from fix_venue_helpers import fix_adapter, fix_venue
from local_venue_helpers import ASK, BID

from harness.contract import InvalidRequestError, OrderNotFoundError
from harness.model import Fill, OrderReport, OrderRequest, OrderStatus, OrderType, Side
from live.fix.order_entry import FixEndpoint

_NS = 1_000_000_000


def test_orders_over_fix_reports_pushed_and_fills_equal_the_queried_ones() -> None:
    async def main() -> None:
        async with fix_venue() as venue:
            adapter = fix_adapter(venue)
            await adapter.connect()
            updates: list[OrderReport] = []
            fills: list[Fill] = []
            await adapter.subscribe_order_updates(updates.append)
            await adapter.subscribe_fills(fills.append)
            try:
                rest = await adapter.submit_order(OrderRequest("fx-1", "binance", "BTCUSDT", Side.BUY, OrderType.LIMIT,
                                                               Decimal("0.01"), price=BID - 1))
                assert rest.status is OrderStatus.OPEN and rest.client_order_id == "fx-1"
                assert [o.client_order_id for o in await adapter.get_open_orders("BTCUSDT")] == ["fx-1"]
                cancelled = await adapter.cancel_order("BTCUSDT", "fx-1")
                assert cancelled.status is OrderStatus.CANCELLED and cancelled.client_order_id == "fx-1"
                with pytest.raises(InvalidRequestError):
                    await adapter.cancel_order("BTCUSDT", "fx-1")
                with pytest.raises(OrderNotFoundError):
                    await adapter.cancel_order("BTCUSDT", "never-sent")
                await adapter.submit_order(OrderRequest("fx-2", "binance", "BTCUSDT", Side.BUY, OrderType.MARKET,
                                                        Decimal("0.01")))
                await adapter.sync_streams()
                queried = await adapter.get_fills("BTCUSDT")
                assert fills and fills == queried
                assert all(f.price == ASK for f in fills)
                assert [u.status for u in updates if u.client_order_id == "fx-2"][-1] is OrderStatus.FILLED
                with pytest.raises(InvalidRequestError) as refused:
                    await adapter.submit_order(OrderRequest("fx-3", "binance", "BTCUSDT", Side.BUY, OrderType.LIMIT,
                                                            Decimal("0.01"), price=BID - Decimal("0.001")))
                assert refused.value.code == -1013
            finally:
                await adapter.disconnect()

    asyncio.run(main())


def test_with_a_drop_copy_session_every_execution_of_the_account_is_pushed_once() -> None:
    async def main() -> None:
        async with fix_venue(speed=20) as venue:
            assert venue.fix is not None
            drop_copy = FixEndpoint("127.0.0.1", venue.fix.drop_copy_port, "WATCH1", logon_timeout_ns=60 * _NS,
                                    answer_timeout_ns=60 * _NS)
            watcher = fix_adapter(venue, "WATCH1", drop_copy=drop_copy)
            trader = fix_adapter(venue, "TRADE1")
            await watcher.connect()
            await trader.connect()
            fills: list[Fill] = []
            updates: list[OrderReport] = []
            await watcher.subscribe_fills(fills.append)
            await watcher.subscribe_order_updates(updates.append)
            try:
                await trader.submit_order(OrderRequest("other-1", "binance", "BTCUSDT", Side.BUY, OrderType.MARKET,
                                                       Decimal("0.01")))  # placed by another session
                await watcher.submit_order(OrderRequest("own-1", "binance", "BTCUSDT", Side.SELL, OrderType.MARKET,
                                                        Decimal("0.01")))
                await trader.sync_streams()
                await watcher.sync_streams()
                assert sorted(f.client_order_id for f in fills) == ["other-1", "own-1"]
                assert fills == sorted(await watcher.get_fills("BTCUSDT"), key=lambda f: f.ts_ns)
                assert [(u.client_order_id, u.status) for u in updates] == [
                    ("other-1", OrderStatus.OPEN), ("other-1", OrderStatus.FILLED),
                    ("own-1", OrderStatus.OPEN), ("own-1", OrderStatus.FILLED)]
            finally:
                await trader.disconnect()
                await watcher.disconnect()

    asyncio.run(main())

"""BinanceFixAdapter against the local venue's FIX acceptor: orders over FIX, the rest over REST/WS."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from fix_venue_helpers import fix_adapter, fix_venue
from local_venue_helpers import ASK, BID

from harness.contract import InvalidRequestError, OrderNotFoundError
from harness.model import Fill, OrderReport, OrderRequest, OrderStatus, OrderType, Side


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

"""A router run across Binance (REST) and Bybit, each a local venue on 127.0.0.1, one killed mid-run.

Both venues are the simulator served over their own protocols (the Binance front and the Bybit
v5 front), traded by ``BinanceAdapter`` and ``BybitAdapter`` behind one ``ExecutionEngine`` with
a best-price ``OrderRouter``. Bybit offers the better ask, so the first routed buy goes there and
fills. Then the scenario kills the Bybit venue (it stops listening and drops every connection):
the next routed buy finds no Bybit book, the decision records Bybit as skipped, and the order
goes to Binance and fills there.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from live_testing import until
from local_venue_helpers import API_KEY, SECRET

from harness.clock import ScaledClock
from harness.contract import ExchangeAdapter
from harness.engine import EngineConfig, ExecutionEngine
from harness.model import OrderStatus, OrderType, Side
from harness.registry import Credentials
from harness.rng import SeededRng
from harness.router import OrderRouter
from harness.routing import RouterConfig, RoutingCriteria
from live.binance import BinanceAdapter, BinanceEndpoints
from live.bybit import BybitAdapter, BybitEndpoints
from live.serve import LocalVenue, LocalVenueConfig
from live.serve.bybit import BybitLocalVenue
from live.ws.state import WsSettings

_NS = 1_000_000_000
SETTINGS = WsSettings(ping_interval_ns=60 * _NS, ping_timeout_ns=600 * _NS, open_timeout_ns=600 * _NS)
QTY = Decimal("0.001")


def test_the_router_fails_over_when_a_venue_is_killed() -> None:
    async def body() -> None:
        clock = ScaledClock(20)
        binance = LocalVenue(LocalVenueConfig(profile="binance", api_keys={API_KEY: SECRET}, clock=clock))
        bybit = BybitLocalVenue(LocalVenueConfig(profile="bybit", api_keys={API_KEY: SECRET}, clock=clock))
        await binance.start()
        await bybit.start()
        binance.quote("BTCUSDT", Decimal("60000"), Decimal("60002"))
        bybit.quote("BTCUSDT", Decimal("60000"), Decimal("60001"))
        credentials = Credentials(API_KEY, SECRET)
        adapters: dict[str, ExchangeAdapter] = {
            "binance": BinanceAdapter(BinanceEndpoints.local(binance.rest_url), credentials, clock,
                                      ws_settings=SETTINGS, request_timeout_ns=600 * _NS, recv_window_ms=60_000),
            "bybit": BybitAdapter(BybitEndpoints.local(bybit.rest_url), credentials, clock, ws_settings=SETTINGS,
                                  request_timeout_ns=600 * _NS, recv_window_ms=60_000),
        }
        router = OrderRouter(RouterConfig(criteria=RoutingCriteria.BEST_PRICE, priority=("binance", "bybit")), clock)
        engine = ExecutionEngine(adapters, clock, SeededRng(5), router=router,
                                 config=EngineConfig(reconcile_interval_ns=0))
        try:
            await engine.start()
            first, (order,) = await engine.route("BTC/USDT", Side.BUY, QTY, OrderType.MARKET)
            assert [a.venue for a in first.allocations] == ["bybit"]
            await until(lambda: order.status is OrderStatus.FILLED, "the Bybit order filled")
            assert order.venue == "bybit" and order.filled_quantity == QTY

            await bybit.stop()  # the scenario: Bybit dies mid-run

            second, (again,) = await engine.route("BTC/USDT", Side.BUY, QTY, OrderType.MARKET)
            assert [a.venue for a in second.allocations] == ["binance"]
            skipped = second.reasoning.assessment("bybit")
            assert skipped.skip_reason, skipped
            print(f"bybit skipped: {skipped.skip_reason} ({skipped.status})")
            await until(lambda: again.status is OrderStatus.FILLED, "the Binance order filled")
            assert again.venue == "binance" and [f.price for f in again.fills] == [Decimal("60002")]
            assert len(bybit.venue.fills) == 1 and len(binance.venue.fills) == 1
        finally:
            await engine.stop(cancel_open=False, timeout_ns=5 * _NS)
            for adapter in adapters.values():
                await adapter.disconnect()
            await binance.stop()

    asyncio.run(body())

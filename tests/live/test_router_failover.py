"""A router run across Binance (REST) and Bybit, each a local venue on 127.0.0.1, one killed mid-run.

Both venues are the simulator served over their own protocols (the Binance front and the Bybit
v5 front), traded by ``BinanceAdapter`` and ``BybitAdapter`` behind one ``ExecutionEngine`` with
a best-price ``OrderRouter``. Bybit offers the better ask, so the first routed buy goes there and
fills. Then Bybit dies, two ways: the venue is stopped (it stops listening and drops every
connection), or a scenario file served with it (``harness venue serve --scenario``'s loader)
takes it away with a ``venue_outage`` fault that its next request triggers: every stream cut,
every request left unanswered. Either way the next routed buy finds no Bybit book, the decision
records Bybit as skipped, and the order goes to Binance and fills there.
"""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from pathlib import Path

import pytest
from live_testing import until
from local_venue_helpers import API_KEY, SECRET

from harness.clock import ScaledClock
from harness.contract import ExchangeAdapter, VenueError
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
from live.serve.faults import ServeFaults
from live.ws.state import WsSettings
from scenarios.serve_faults import load_serve_faults

_NS = 1_000_000_000
SETTINGS = WsSettings(ping_interval_ns=60 * _NS, ping_timeout_ns=600 * _NS, open_timeout_ns=600 * _NS)
QTY = Decimal("0.001")


OUTAGE = """\
[scenario]
name = "bybit-goes-away"
description = "Bybit is away for an hour from the request that triggers it"
world = "serve"
seed = 1

[[faults]]
name = "bybit-away"
kind = "venue_outage"
target = "bybit"
for_s = 3600
trigger = { on = "get_candles" }
"""


@pytest.mark.parametrize("killed_by", ["stop", "scenario"])
def test_the_router_fails_over_when_a_venue_is_killed(tmp_path: Path, killed_by: str) -> None:
    scenario = tmp_path / "outage.toml"
    scenario.write_text(OUTAGE, encoding="utf-8")
    faults = load_serve_faults(scenario, venue="bybit") if killed_by == "scenario" else ServeFaults()

    async def body() -> None:
        clock = ScaledClock(20)
        binance = LocalVenue(LocalVenueConfig(profile="binance", api_keys={API_KEY: SECRET}, clock=clock))
        bybit = BybitLocalVenue(LocalVenueConfig(profile="bybit", api_keys={API_KEY: SECRET}, clock=clock,
                                                 faults=faults))
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

            if killed_by == "stop":
                await bybit.stop()
            else:  # the scenario's outage begins at this request (answered or not, the venue is away after it)
                with contextlib.suppress(VenueError):
                    await adapters["bybit"].get_candles("BTCUSDT", 60 * _NS, 10)
                await until(lambda: not any(p.kind == "market" and not p.closed for p in bybit.peers),
                            "Bybit's streams cut")

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

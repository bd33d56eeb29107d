"""Parity: one strategy and seed, in pure simulation and through a live adapter against the local venue.

Run three ways: through ``BinanceAdapter`` against the Binance front, again with the orders over
FIX (``BinanceFixAdapter`` against the local venue's FIX acceptor), and through ``BybitAdapter``
against the Bybit v5 front (``live.serve.bybit``), each with its venue's own profile.

Both worlds run the same recorded tape through the same simulated venue (constant latency,
conservative queue model, no randomness in matching): once inside ``run_replay`` in virtual
time, once served over HTTP and WebSockets on the wall clock (20x) and traded by
``BinanceAdapter`` behind the same ``ExecutionEngine``. What could make them differ is timing
(network jitter, a loaded machine), so the design leaves timing nothing to decide: the strategy
(``parity_strategy.StartGrid``) places a fixed grid at start and nothing after, and the local
venue holds its replay until every order of the grid rests (``hold_replay``). Then which
orders fill, at what price, how much and in what order is decided by the tape alone, and the
test asserts exactly that: the same orders, the same fills in the same order, the same final
state of every order.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from fix_venue_helpers import fix_adapter, fix_keys
from live_testing import until
from local_venue_helpers import API_KEY, SECRET
from synthetic import write_tape

from harness.clock import ScaledClock
from harness.registry import Credentials
from harness.strategy import load_strategy
from live.binance import BinanceAdapter, BinanceEndpoints, BinanceFixAdapter
from live.bybit import BybitAdapter, BybitEndpoints
from live.paper import run_live
from live.serve import LocalVenue, LocalVenueConfig
from live.serve.bybit import BybitLocalVenue
from live.ws.state import WsSettings
from scenarios.replay import VenueSetup, run_replay

PARAMS = {"center": "60000", "step": "0.4", "levels": "6", "size": "0.002", "symbol": "BTCUSDT"}
STRATEGY = "parity_strategy:StartGrid"
SEED = 7
_NS = 1_000_000_000


def _constant_latency_profile(tmp: Path, venue: str = "binance") -> Path:
    text = (resources.files("sim.venue") / "profiles" / f"{venue}.toml").read_text(encoding="utf-8")
    head = text[:text.index("[latency]")]
    latency = "\n".join(f"[latency.{name}]\nmodel = \"constant\"\nvalue_ns = 2_000_000\n"
                        for name in ("order_entry", "response", "market_data"))
    path = tmp / f"{venue}_constant.toml"
    path.write_text(f"{head}[latency]\nfifo = true\n\n{latency}", encoding="utf-8")
    return path


def _orders(rows: list[tuple[str, Decimal, Decimal]]) -> list[tuple[str, Decimal, Decimal]]:
    return sorted(rows)


@pytest.mark.parametrize("order_entry", ["rest", "fix"])
def test_simulation_and_the_local_venue_give_the_same_orders_and_fills(tmp_path: Path, order_entry: str) -> None:
    """``rest``: BinanceAdapter (REST orders, WS-API user data); ``fix``: BinanceFixAdapter (orders and
    their reports over the local venue's FIX acceptor, the rest over REST/WS)."""
    _parity(tmp_path, "binance", order_entry)


def test_simulation_and_the_local_bybit_venue_give_the_same_orders_and_fills(tmp_path: Path) -> None:
    _parity(tmp_path, "bybit", "rest")


def _parity(tmp_path: Path, name: str, order_entry: str) -> None:
    data = write_tape(tmp_path / "data", name, "BTCUSDT", n=500, seed=5)
    profile = _constant_latency_profile(tmp_path, name)

    sim = run_replay(data, [VenueSetup(name, str(profile))], STRATEGY, params=PARAMS, seed=SEED,
                     out_dir=tmp_path / "runs", progress=False)
    sim_fills = [(f["side"], Decimal(f["price"]), Decimal(f["quantity"]), f["liquidity"]) for f in sim.recorder.fills]
    final: dict[str, dict[str, object]] = {}
    for row in sim.recorder.orders:
        final[row["client_order_id"]] = row
    sim_orders = _orders([(str(r["side"]), Decimal(str(r["price"])), Decimal(str(r["quantity"])))
                          for r in final.values()])
    sim_final = sorted((str(r["side"]), Decimal(str(r["price"])), str(r["status"]), Decimal(str(r["filled_quantity"])))
                       for r in final.values())

    async def live() -> tuple[list[tuple[str, Decimal, Decimal, str]], list[tuple[str, Decimal, Decimal]],
                              list[tuple[str, Decimal, str, Decimal]]]:
        clock = ScaledClock(20)
        config = LocalVenueConfig(profile=str(profile), data=data, api_keys={API_KEY: SECRET}, clock=clock,
                                  hold_replay=True, lead_ns=_NS, fix_port=0 if order_entry == "fix" else None,
                                  fix_keys=fix_keys())
        venue = BybitLocalVenue(config) if name == "bybit" else LocalVenue(config)
        await venue.start()
        settings = WsSettings(open_timeout_ns=600 * _NS, ping_timeout_ns=600 * _NS)
        credentials = Credentials(API_KEY, SECRET)
        adapter: BinanceAdapter | BybitAdapter
        if name == "bybit":
            adapter = BybitAdapter(BybitEndpoints.local(venue.rest_url), credentials, clock, ws_settings=settings,
                                   request_timeout_ns=600 * _NS, recv_window_ms=60_000)
        elif order_entry == "fix":
            adapter = fix_adapter(venue)
        else:
            adapter = BinanceAdapter(BinanceEndpoints.local(venue.rest_url), credentials, clock, ws_settings=settings,
                                     request_timeout_ns=600 * _NS, recv_window_ms=60_000)
        stop, started = asyncio.Event(), asyncio.Event()
        runner = asyncio.ensure_future(run_live({name: adapter}, load_strategy(STRATEGY, PARAMS), clock,
                                                seed=SEED, stop=stop, started=started))
        try:
            await asyncio.wait_for(started.wait(), 60)
            await until(lambda: len(venue.venue.open_orders()) == 12, "the whole grid rests", timeout_s=60)
            venue.start_replay()
            await asyncio.wait_for(venue.wait_replayed(), 120)
            await adapter.sync_streams()
            await clock.sleep_ns(_NS)
            await adapter.sync_streams()
        finally:
            stop.set()
            run = await asyncio.wait_for(runner, 120)
            if isinstance(adapter, BinanceFixAdapter):  # the orders and their reports really went over FIX
                assert {r.cl_ord_id for r in adapter.fix.reports} >= {o.request.client_order_id
                                                                      for o in run.engine.orders}
            await adapter.disconnect()
            await venue.stop()
        fills = [(f.side.value, f.price, f.quantity, f.liquidity.value) for f in run.log.fills]
        placed = _orders([(o.request.side.value, o.request.price or Decimal(0), o.quantity) for o in run.engine.orders])
        states = sorted((o.request.side.value, o.request.price or Decimal(0), o.status.value, o.filled_quantity)
                        for o in run.engine.orders)
        return fills, placed, states

    live_fills, live_orders, live_final = asyncio.run(live())
    assert sim_fills, "the tape reaches part of the grid (the test would prove nothing otherwise)"
    assert len({f[1] for f in sim_fills}) >= 2 and any(f[0] == "BUY" for f in sim_fills)
    assert live_orders == sim_orders
    assert live_fills == sim_fills
    print(f"parity ({name}): {len(sim_fills)} fills, {len(sim_orders)} orders")
    # at the end both shut down gracefully: what still rested was cancelled in both worlds
    assert live_final == sim_final


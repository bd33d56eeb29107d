"""The live path's cost: order round trips through BinanceAdapter vs ccxt, and market data served.

Against one local venue (Binance profile, rate limits lifted so the venue never refuses; it runs
on the wall clock in a thread of its own), three clients each make the same ``n`` round trips,
one at a time: a resting LIMIT order placed (``POST /api/v3/order``) then cancelled (``DELETE``):

* ``raw``: signed aiohttp requests and nothing else (the floor: venue + HTTP + signing);
* ``adapter``: ``BinanceAdapter.submit_order`` + ``cancel_order`` (signing, audit, usage headers,
  typed errors, JSON -> contract types);
* ``ccxt``: ``ccxt.async_support.binance.create_order`` + ``cancel_order`` (its own request
  throttle off, as the adapter has none: client-side limits live in the engine).

Printed: round trips per second, latency p50/p99, the latency each adds over ``raw``, and the
adapter-to-ccxt throughput ratio. Then the market-data rate: a seeded synthetic tape replayed at
a high ``--speed`` to one WebSocket client subscribed to its trades and quotes, counted until
the replay ends. Figures only; nothing is asserted (CI runs it small).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import aiohttp
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages

from served_venue import VenueThread, percentile, unlimited_profile

from harness.clock import ScaledClock, WallClock
from harness.data.sink import ParquetSink
from harness.model import OrderRequest, OrderType, Side
from harness.registry import Credentials
from live.binance import BinanceAdapter, BinanceEndpoints
from live.serve import LocalVenue, LocalVenueConfig

KEY, SECRET = "bench-key-0123456789abcdef", "bench-secret-0123456789abcdef0123456789"
PRICE, QTY = Decimal("59000.00"), Decimal("0.00100")


def write_tape(out: Path, trades: int) -> list[Path]:
    """A seeded tape: ``trades`` trades 10 ms apart, each with a quote 1 ms before it (canonical Parquet)."""
    import random

    rng = random.Random(1)
    paths = [out / "bench.trades.parquet", out / "bench.quotes.parquet"]
    trade_sink, quote_sink = ParquetSink("trades", paths[0]), ParquetSink("quotes", paths[1])
    price, start = 60_000 * 10**9, 1_723_075_200 * 10**9
    for i in range(trades):
        ts = start + i * 10_000_000
        price += rng.randint(-3, 3) * 10**7
        quote_sink.append((ts - 1_000_000, ts - 1_000_000, "binance", "BTCUSDT", price - 10**7, 10**9,
                           price + 10**7, 10**9, -1))
        trade_sink.append((ts, ts, "binance", "BTCUSDT", price, 10**6, rng.choice((1, -1)), str(i)))
    trade_sink.close()
    quote_sink.close()
    return paths


async def _timed(n: int, one: Callable[[int], Awaitable[None]]) -> tuple[float, list[float]]:
    latencies = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        await one(i)
        latencies.append(time.perf_counter() - t0)
    return n / (time.perf_counter() - start), latencies


async def _raw(url: str, n: int) -> tuple[float, list[float]]:
    async with aiohttp.ClientSession() as session:
        async def signed(method: str, query: str) -> None:
            text = f"{query}&timestamp={time.time_ns() // 1_000_000}"
            sig = hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()
            async with session.request(method, f"{url}/api/v3/order?{text}&signature={sig}",
                                       headers={"X-MBX-APIKEY": KEY}) as response:
                await response.read()

        async def one(i: int) -> None:
            await signed("POST", f"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity={QTY}&price={PRICE}"
                                 f"&newClientOrderId=raw-{i}&newOrderRespType=RESULT")
            await signed("DELETE", f"symbol=BTCUSDT&origClientOrderId=raw-{i}")

        return await _timed(n, one)


async def _adapter(url: str, n: int) -> tuple[float, list[float]]:
    adapter = BinanceAdapter(BinanceEndpoints.local(url), Credentials(KEY, SECRET), WallClock())
    await adapter.connect()
    try:
        async def one(i: int) -> None:
            await adapter.submit_order(OrderRequest(f"ad-{i}", "binance", "BTCUSDT", Side.BUY, OrderType.LIMIT, QTY,
                                                    price=PRICE))
            await adapter.cancel_order("BTCUSDT", f"ad-{i}")

        return await _timed(n, one)
    finally:
        await adapter.disconnect()


async def _ccxt(url: str, n: int) -> tuple[float, list[float]] | None:
    try:
        import ccxt.async_support as ccxt_async
    except ImportError:
        return None
    # enableRateLimit off: ccxt's own throttle (50 ms between requests) is a limiter, not its stack's
    # cost; the adapter has none either (the engine's client-side limiter sits in front of it)
    exchange = ccxt_async.binance({"apiKey": KEY, "secret": SECRET, "enableRateLimit": False, "options": {
        "fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False, "defaultType": "spot"}})
    for kind in ("public", "private"):
        exchange.urls["api"][kind] = f"{url}/api/v3"
    exchange.urls["api"]["v1"] = f"{url}/api/v1"
    try:
        await exchange.load_markets()

        async def one(i: int) -> None:
            order = await exchange.create_order("BTC/USDT", "limit", "buy", float(QTY), float(PRICE))
            await exchange.cancel_order(order["id"], "BTC/USDT")

        return await _timed(n, one)
    finally:
        await exchange.close()


async def _market_data(trades: int, speed: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        files = write_tape(Path(tmp), trades)
        config = LocalVenueConfig(data=files, clock=ScaledClock(speed), hold_replay=True, lead_ns=0)
        with VenueThread(LocalVenue(config)) as served:
            async with connect(f"{served.venue.ws_url}/stream?streams=btcusdt@trade/btcusdt@bookTicker") as ws:
                async def go() -> None:
                    served.venue.start_replay()
                served.run(go)
                received, start = 0, time.perf_counter()
                while received < 2 * trades:
                    await ws.recv()
                    received += 1
                return received, received / (time.perf_counter() - start)


def main() -> None:
    """Run the measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=300, help="order round trips per client")
    parser.add_argument("--trades", type=int, default=20_000, help="trades in the market-data tape")
    parser.add_argument("--speed", type=int, default=100_000, help="venue clock speed for the market-data run")
    args = parser.parse_args()
    config = LocalVenueConfig(profile=unlimited_profile("binance"), api_keys={KEY: SECRET}, clock=WallClock())
    with VenueThread(LocalVenue(config)) as served:
        url = served.venue.rest_url
        results = {"raw": asyncio.run(_raw(url, args.n)), "adapter": asyncio.run(_adapter(url, args.n))}
        ccxt_result = asyncio.run(_ccxt(url, args.n))
        if ccxt_result is not None:
            results["ccxt"] = ccxt_result
    floor = statistics.median(results["raw"][1])
    print(f"order round trips (submit + cancel), n={args.n} each, one at a time, local venue on 127.0.0.1:")
    for name, (rate, latencies) in results.items():
        p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
        added = "" if name == "raw" else f", added over raw p50 {1e3 * (p50 - floor):.2f} ms"
        print(f"  {name:8s} {rate:8.1f} round trips/s, p50 {1e3 * p50:.2f} ms, p99 {1e3 * p99:.2f} ms{added}")
    if "ccxt" in results:
        print(f"  adapter / ccxt throughput ratio: {results['adapter'][0] / results['ccxt'][0]:.2f}")
    received, rate = asyncio.run(_market_data(args.trades, args.speed))
    print(f"market data served to one client: {received} messages (trades + quotes) at {rate:,.0f} messages/s "
          f"(tape replayed at speed {args.speed})")


if __name__ == "__main__":
    main()

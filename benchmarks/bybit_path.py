"""The Bybit live path's cost: order round trips through BybitAdapter vs pybit against the local venue.

One local venue speaking Bybit v5 (``live.serve.bybit``, rate limits lifted so it never refuses;
it runs on the wall clock in a thread of its own). Each client makes the same ``n`` round trips,
one at a time: a resting limit order placed then cancelled. ``--category linear`` serves the
``bybit-linear`` profile (a perpetual venue: the order holds initial margin) and trades it as
category ``linear``.

* ``adapter``: ``BybitAdapter.submit_order`` + ``cancel_order`` (each followed by the order's
  query, since Bybit answers create/cancel with ids only: four requests per round trip);
* ``pybit``: ``HTTP.place_order`` + ``cancel_order`` (two requests; synchronous, ``requests``).

Printed: round trips per second and latency p50/p99 per client. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages

from served_venue import VenueThread, percentile, unlimited_profile

from harness.clock import WallClock
from harness.model import OrderRequest, OrderType, Side
from harness.registry import Credentials
from live.bybit import BybitAdapter, BybitEndpoints
from live.serve.bybit import BybitLocalVenue, BybitVenueConfig

KEY, SECRET = "bench-key-0123456789abcdef", "bench-secret-0123456789abcdef0123456789"
PRICE, QTY = Decimal("59000.0"), Decimal("0.001")


async def _adapter(url: str, n: int, category: str) -> tuple[float, list[float]]:
    clock = WallClock()
    adapter = BybitAdapter(BybitEndpoints.local(url), Credentials(KEY, SECRET), clock, category=category)
    await adapter.connect()
    latencies = []
    start = time.perf_counter()
    try:
        for i in range(n):
            t0 = time.perf_counter()
            await adapter.submit_order(OrderRequest(f"a-{i}", "bybit", "BTCUSDT", Side.BUY, OrderType.LIMIT, QTY,
                                                    price=PRICE))
            await adapter.cancel_order("BTCUSDT", f"a-{i}")
            latencies.append(time.perf_counter() - t0)
    finally:
        await adapter.disconnect()
    return n / (time.perf_counter() - start), latencies


def _pybit(url: str, n: int, category: str) -> tuple[float, list[float]] | None:
    try:
        from pybit.unified_trading import HTTP
    except ImportError:
        return None
    session = HTTP(testnet=True, api_key=KEY, api_secret=SECRET)
    session.endpoint = url
    latencies = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        session.place_order(category=category, symbol="BTCUSDT", side="Buy", orderType="Limit", qty=str(QTY),
                            price=str(PRICE), orderLinkId=f"p-{i}")
        session.cancel_order(category=category, symbol="BTCUSDT", orderLinkId=f"p-{i}")
        latencies.append(time.perf_counter() - t0)
    return n / (time.perf_counter() - start), latencies


def main() -> None:
    """Run the measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=300, help="order round trips per client")
    parser.add_argument("--category", choices=("spot", "linear"), default="spot",
                        help="spot (profile bybit) or linear (profile bybit-linear)")
    args = parser.parse_args()
    profile = unlimited_profile("bybit" if args.category == "spot" else "bybit-linear")
    venue = BybitLocalVenue(BybitVenueConfig(profile=profile, api_keys={KEY: SECRET}, clock=WallClock()))
    with VenueThread(venue) as served:
        url = served.venue.rest_url
        results = {"adapter": asyncio.run(_adapter(url, args.n, args.category))}
        pybit_result = _pybit(url, args.n, args.category)
        if pybit_result is not None:
            results["pybit"] = pybit_result
    print(f"order round trips (place + cancel), n={args.n} each, one at a time, Bybit {args.category} on 127.0.0.1:")
    for name, (rate, latencies) in results.items():
        p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
        print(f"  {name:8s} {rate:8.1f} round trips/s, p50 {1e3 * p50:.2f} ms, p99 {1e3 * p99:.2f} ms")


if __name__ == "__main__":
    main()

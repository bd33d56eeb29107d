"""Order entry over FIX against REST: round trips through BinanceFixAdapter and BinanceAdapter.

One local venue (Binance profile, rate limits lifted, wall clock, on a thread of its own) serves
REST and its FIX acceptor; each adapter makes the same ``n`` round trips one at a time: a resting
LIMIT order placed then cancelled (``D`` + ``F`` over FIX; ``POST`` + ``DELETE /api/v3/order``
over REST). Printed: round trips per second and latency p50/p99 of each, and FIX's throughput as
a multiple of REST's. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from served_venue import VenueThread, unlimited_profile

from harness.clock import WallClock
from harness.model import OrderRequest, OrderType, Side
from harness.registry import Credentials
from live.binance import BinanceAdapter, BinanceEndpoints, BinanceFixAdapter
from live.fix.dialects import FixKey, ed25519_public_pem
from live.fix.order_entry import FixEndpoint
from live.serve import LocalVenue, LocalVenueConfig

KEY, SECRET = "bench-key-0123456789abcdef", "bench-secret-0123456789abcdef0123456789"
FIX_KEY = "bench-fix-key-0123456789"
FIX_PEM = Ed25519PrivateKey.from_private_bytes(bytes(32)).private_bytes(
    Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode("ascii")
PRICE, QTY = Decimal("59000.00"), Decimal("0.00100")


async def _round_trips(adapter: BinanceAdapter, n: int, prefix: str) -> tuple[float, list[float]]:
    await adapter.connect()
    try:
        latencies = []
        start = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            request = OrderRequest(f"{prefix}-{i}", "binance", "BTCUSDT", Side.BUY, OrderType.LIMIT, QTY, price=PRICE)
            await adapter.submit_order(request)
            await adapter.cancel_order("BTCUSDT", request.client_order_id)
            latencies.append(time.perf_counter() - t0)
        return n / (time.perf_counter() - start), latencies
    finally:
        await adapter.disconnect()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="round trips per client (default 200)")
    args = parser.parse_args(argv)
    venue = LocalVenue(LocalVenueConfig(profile=unlimited_profile("binance"), api_keys={KEY: SECRET}, clock=WallClock(),
                                        fix_port=0, fix_keys={FIX_KEY: FixKey(ed25519_public_pem(FIX_PEM))}))
    with VenueThread(venue) as served:
        venue = served.venue
        assert venue.fix is not None
        clock = WallClock()
        rest = BinanceAdapter(BinanceEndpoints.local(venue.rest_url), Credentials(KEY, SECRET), clock)
        fix = BinanceFixAdapter(BinanceEndpoints.local(venue.rest_url), Credentials(KEY, SECRET),
                                Credentials(FIX_KEY, FIX_PEM), FixEndpoint("127.0.0.1", venue.fix.port, "BENCH"), clock)
        figures = {name: asyncio.run(_round_trips(adapter, args.n, name)) for name, adapter in
                   (("rest", rest), ("fix", fix))}
    for name, (rate, latencies) in figures.items():
        print(f"{name:5s} {rate:8.1f} round trips/s  p50 {_pct(latencies, 0.5):6.2f} ms  "
              f"p99 {_pct(latencies, 0.99):6.2f} ms  (place + cancel, n={args.n})")
    print(f"fix/rest throughput: {figures['fix'][0] / figures['rest'][0]:.2f}x")


if __name__ == "__main__":
    main()

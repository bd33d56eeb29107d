"""Micro-benchmark of ``MatchingEngine.on_trade``: trades per second on one core.

Scenarios, each over the same 1,000,000 synthetic trades (a seeded random walk around 100.00
with 0.01 ticks, generated before timing starts):

(a) no orders: the pure cost of feeding the engine;
(b) 10 resting orders away from the traded range: the common "nothing near this price" path;
(c) 10 resting orders inside the traded range, too large to ever fill: every trade near them
    runs queue and fill logic (the slow path).

Run: ``python3 benchmarks/matching_engine.py [n_trades]``.
"""

from __future__ import annotations

import random
import sys
import time

from harness.model import OrderType, Trade
from harness.money import SCALE
from sim.venue.matching.engine import MatchingEngine
from sim.venue.matching.types import DepthMode, MatchingConfig, SimOrder

TICK = SCALE // 100


def make_trades(n: int, seed: int = 1) -> list[Trade]:
    """``n`` trades on a reflecting random walk in [98.00, 102.00], sizes 0.001-1.000."""
    rng = random.Random(seed)
    price = 100 * SCALE
    out = []
    for i in range(n):
        price += rng.choice((-TICK, 0, TICK))
        price = min(max(price, 98 * SCALE), 102 * SCALE)
        size = rng.randint(1, 1000) * SCALE // 1000
        out.append(Trade(i, i, "SIM", "BTCUSDT", price, size, rng.choice((-1, 1)), ""))
    return out


def run(trades: list[Trade], prices: list[tuple[int, int]]) -> tuple[float, int]:
    """Feed ``trades`` to a TRADES-mode engine holding limit orders at ``prices`` (side, price)."""
    eng = MatchingEngine(MatchingConfig(depth=DepthMode.TRADES))
    for i, (side, price) in enumerate(prices):
        eng.submit(SimOrder(i + 1, side, OrderType.LIMIT, 10**9 * SCALE, price=price), 0)
    on_trade = eng.on_trade
    events = 0
    start = time.perf_counter()
    for t in trades:
        out = on_trade(t)
        if out:
            events += len(out)
    return time.perf_counter() - start, events


def main() -> None:
    """Print trades/s for each scenario."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    trades = make_trades(n)
    away = [(1, (90 + i) * SCALE) for i in range(5)] + [(-1, (106 + i) * SCALE) for i in range(5)]
    # TRADES mode: buys must be at or below the last price (100) to rest, sells at or above it
    inside = [(1, 100 * SCALE - k * 50 * TICK // 2) for k in range(5)]
    inside += [(-1, 100 * SCALE + k * 50 * TICK // 2) for k in range(5)]
    for name, prices in (("(a) no orders", []), ("(b) 10 orders away from the market", away),
                         ("(c) 10 orders inside the traded range", inside)):
        elapsed, events = run(trades, prices)
        print(f"{name:40s} {n / elapsed:12,.0f} trades/s  ({elapsed:.2f} s, {events:,} engine events)")


if __name__ == "__main__":
    main()

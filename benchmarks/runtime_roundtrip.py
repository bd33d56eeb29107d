"""Awaited round trips per second through ``sim.kernel.runtime.SimRuntime``, against a pure-SimPy floor.

One round trip: an async task creates a future, starts a SimPy process (the "venue") that waits
a virtual latency and resolves the future, and awaits it. The floor is what SimPy alone costs for
one ``env.timeout`` per iteration (a plain ``simpy.Environment``), so the ratio shows what the
asyncio bridge adds. DESIGN.md quotes ~90,000 round trips/s per core for a throwaway prototype.

Run: ``python3 benchmarks/runtime_roundtrip.py [iterations]`` (default 100000).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Generator
from typing import Any

import simpy

from sim.kernel.runtime import SimRuntime

LATENCY_NS = 250_000  # virtual venue latency per round trip


def roundtrips(n: int) -> tuple[float, int]:
    """Time ``n`` awaited round trips; return (wall seconds, final virtual ns)."""
    rt = SimRuntime(seed=0, start_ns=1_700_000_000_000_000_000)
    env = rt.env

    def venue(fut: Any) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(LATENCY_NS)
        fut.set_result(None)

    async def client() -> None:
        loop = rt.loop
        for _ in range(n):
            fut = loop.create_future()
            env.process(venue(fut))
            await fut

    t0 = time.perf_counter()
    rt.run(client())
    wall = time.perf_counter() - t0
    end = rt.now_ns()
    rt.close()
    return wall, end


def simpy_floor(n: int) -> float:
    """Time ``n`` iterations of one ``env.timeout`` in a plain SimPy environment."""
    env = simpy.Environment()

    def proc() -> Generator[simpy.Event, Any, None]:
        for _ in range(n):
            yield env.timeout(LATENCY_NS)

    env.process(proc())
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0


def main() -> None:
    """Print round trips/s, the SimPy floor and their ratio (best of three runs each)."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rt_wall = min(roundtrips(n)[0] for _ in range(3))
    floor_wall = min(simpy_floor(n) for _ in range(3))
    rt_rate, floor_rate = n / rt_wall, n / floor_wall
    print(f"iterations:             {n}")
    print(f"SimRuntime round trips: {rt_rate:,.0f} /s  ({rt_wall * 1e6 / n:.2f} us each)")
    print(f"pure SimPy timeouts:    {floor_rate:,.0f} /s  ({floor_wall * 1e6 / n:.2f} us each)")
    print(f"ratio (floor / runtime): {floor_rate / rt_rate:.2f}x")


if __name__ == "__main__":
    main()

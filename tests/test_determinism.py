"""Same seed, same bytes: a small simulated world run twice writes identical logs.

``simulate(seed, path)`` mixes everything the runtime schedules: async tasks sleeping seeded
random delays (through ``asyncio.sleep`` and the Clock), ``wait_for`` timeouts, SimPy venue
processes resolving futures after random latencies, a market source whose callbacks react, and
sets/dicts iterated along the way. It is also runnable as a script (``python3
tests/test_determinism.py SEED PATH``) so the test can compare runs in separate processes with
different ``PYTHONHASHSEED``s. Also here: the seeded RNG's reproducibility and independence.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import simpy

from harness.rng import SeededRng
from sim.kernel.runtime import SimRuntime
from sim.kernel.sources import VirtualTime

START_NS = 1_723_161_253_937_085_768


class _RandomTicks:
    """A market source of seeded-random ticks; each tick's callback may place an "order"."""

    def __init__(self, rt: SimRuntime, out: list[str], n: int) -> None:
        gen = rt.rng.stream("md.ticks")
        ts = START_NS
        self.events: list[tuple[int, int]] = []
        for i in range(n):
            ts += gen.choice((0, 0, 1, 7, 1_000, 250_000, 3_000_000))
            self.events.append((ts, i))
        self.i = 0
        self.rt = rt
        self.out = out
        self.orders = rt.rng.stream("strategy.orders")

    def peek_ts(self) -> int | None:
        return self.events[self.i][0] if self.i < len(self.events) else None

    def deliver(self, vt: VirtualTime) -> None:
        while self.i < len(self.events):
            ts, seq = self.events[self.i]
            if ts > vt.horizon_ns:
                return
            self.i += 1
            vt.now_ns = ts
            self.out.append(f"{ts} tick {seq}")
            if self.orders.random() < 0.2:
                fut = self.rt.create_future()
                self.rt.process(_venue(self.rt, fut, f"order@{seq}"))
                fut.add_done_callback(lambda f: self.out.append(f"{self.rt.now_ns()} filled {f.result()}"))


def _venue(rt: SimRuntime, fut: asyncio.Future[str], what: str) -> Generator[simpy.Event, Any, None]:
    latency = rt.rng.stream("latency.venue")
    yield rt.env.timeout(int(latency.expovariate(1 / 400_000)))
    rt.resolve(fut, what)


async def _worker(rt: SimRuntime, name: str, out: list[str]) -> None:
    gen = rt.rng.stream(f"worker.{name}")
    np_gen = rt.rng.numpy(f"worker.{name}")
    for step in range(25):
        if gen.random() < 0.5:
            await asyncio.sleep(gen.choice((0.0, 0.000001, 0.0005, 0.002)))
        else:
            await rt.clock.sleep_ns(int(np_gen.integers(0, 3_000_000)))
        fut = rt.create_future()
        rt.process(_venue(rt, fut, f"{name}.{step}"))
        try:
            got = await asyncio.wait_for(fut, timeout=gen.choice((0.0002, 0.001)))
            out.append(f"{rt.now_ns()} {name} got {got}")
        except TimeoutError:
            out.append(f"{rt.now_ns()} {name} timeout {step}")
        seen = {f"{name}-{k}" for k in range(step % 4)}  # set order must not leak into output
        out.append(f"{rt.now_ns()} {name} seen {sorted(seen)}")


async def _main(rt: SimRuntime, out: list[str]) -> int:
    workers = [rt.loop.create_task(_worker(rt, f"w{i}", out)) for i in range(4)]
    await asyncio.gather(*workers)
    return len(out)


def simulate(seed: int, path: Path) -> None:
    """Run the small world with ``seed`` and write its log (one line per event) to ``path``."""
    out: list[str] = []
    with SimRuntime(seed=seed, start_ns=START_NS) as rt:
        rt.add_source(_RandomTicks(rt, out, 400))
        rt.run(_main(rt, out))
        rt.run_until(rt.now_ns() + 10_000_000_000)  # drain the remaining ticks and fills
        out.append(f"{rt.now_ns()} end")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def _simulate_in_subprocess(seed: int, path: Path, hashseed: str) -> None:
    env = dict(os.environ, PYTHONHASHSEED=hashseed)
    subprocess.run([sys.executable, __file__, str(seed), str(path)], check=True, env=env)


def test_same_seed_gives_byte_identical_logs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.log", tmp_path / "b.log", tmp_path / "c.log"
    state = random.getstate()
    simulate(11, a)
    simulate(11, b)
    simulate(12, c)
    assert random.getstate() == state  # the global RNG was never touched
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    lines = a.read_text().splitlines()
    assert len(lines) > 500
    assert any(" timeout " in x for x in lines) and any(" got " in x for x in lines)
    assert any(" filled " in x for x in lines)
    times = [int(x.split()[0]) for x in lines]
    assert times == sorted(times)  # the log is in virtual-time order


def test_same_seed_identical_across_processes(tmp_path: Path) -> None:
    here = tmp_path / "here.log"
    simulate(11, here)
    p1, p2 = tmp_path / "p1.log", tmp_path / "p2.log"
    _simulate_in_subprocess(11, p1, "1")
    _simulate_in_subprocess(11, p2, "4242")
    assert p1.read_bytes() == p2.read_bytes() == here.read_bytes()


# -- the seeded RNG -----------------------------------------------------------------------------


def test_stream_is_reproducible_and_cached() -> None:
    a, b = SeededRng(7), SeededRng(7)
    xs = [a.stream("latency.binance").random() for _ in range(5)]
    assert xs == [b.stream("latency.binance").random() for _ in range(5)]
    assert a.stream("latency.binance") is a.stream("latency.binance")
    assert list(a.numpy("fills").integers(0, 10**9, 5)) == list(b.numpy("fills").integers(0, 10**9, 5))


def test_streams_are_independent_of_each_other_and_of_creation_order() -> None:
    a, b = SeededRng(7), SeededRng(7)
    a.stream("x").random()  # drawing from x ...
    a.stream("other").random()
    first_y = a.stream("y").random()
    assert first_y == b.stream("y").random()  # ... does not shift y
    assert SeededRng(7).stream("x").random() != SeededRng(7).stream("y").random()
    assert SeededRng(7).stream("x").random() != SeededRng(8).stream("x").random()
    n1 = SeededRng(7).numpy("x").random()
    assert n1 != SeededRng(7).numpy("y").random()
    assert SeededRng(7).child("binance").stream("x").random() != SeededRng(7).stream("x").random()


def test_stream_values_are_pinned_across_processes() -> None:
    """Stable hashing: the values do not depend on PYTHONHASHSEED or the process."""
    code = ("from harness.rng import SeededRng; r = SeededRng(2024); "
            "print(r.derive_seed('latency.binance'), r.stream('latency.binance').getrandbits(64), "
            "int(r.numpy('latency.binance').integers(0, 2**62)))")
    outs = {
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                       env=dict(os.environ, PYTHONHASHSEED=h)).stdout
        for h in ("0", "1", "random")
    }
    assert len(outs) == 1
    r = SeededRng(2024)
    expected = (f"{r.derive_seed('latency.binance')} {r.stream('latency.binance').getrandbits(64)} "
                f"{int(r.numpy('latency.binance').integers(0, 2**62))}\n")
    assert outs == {expected}


def test_stream_values_are_pinned_forever() -> None:
    """Golden values: changing the derivation would silently change every recorded scenario."""
    r = SeededRng(2024)
    assert r.derive_seed("latency.binance") == (
        34223443093084099969323862207520302361683851777534826968298681538093075350119)
    assert r.stream("latency.binance").getrandbits(64) == 14345653523259347550
    assert int(r.numpy("latency.binance").integers(0, 2**62)) == 1782436601916598668


def test_rng_rejects_bad_input() -> None:
    import pytest

    with pytest.raises(TypeError):
        SeededRng("7")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SeededRng(7).stream("")


if __name__ == "__main__":
    simulate(int(sys.argv[1]), Path(sys.argv[2]))

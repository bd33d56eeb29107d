"""Benchmark: the peer workload through this project and its peers, every ratio from one run.

Generates the workload of ``../shared/bench/peers/gen_data.py`` itself (same spec, same seed:
``--n`` BTCUSDT-like trades, Poisson arrivals 20 ms apart on average, an integer random walk on
the 0.01 tick, log-normal sizes on the 0.00001 lot), as one canonical trades Parquet file, and
measures, in events (trades) per second of the replay itself:

- the floors: a plain Python loop over the prices (B: a no-op per trade; A: a touch-fill rule
  requoting every 1,000 trades) and SimPy with one ``timeout`` per trade (B);
- this project: ``scenarios.replay.run_replay`` (journal and run directory on, the binance
  profile, trades-only matching) with ``peer_strategies.PeerReader`` (B: reads every trade) and
  ``peer_strategies.PeerQuoter`` (A: cancels and requotes two limits every 1,000 trades; and
  every 100 trades, the 20,000-order variant at the default size), plain ``Strategy`` subclasses;
  and B through the vectorized path (``peer_strategies.PeerBatchReader``, ``Strategy.on_trades``:
  the engine hands it column batches), beside the plain loop and hftbacktest's compiled B;
- NautilusTrader and hftbacktest, when importable and the peers' scripts are found
  (``--peers-dir``, default ``../shared/bench/peers`` next to the checkout): their own scripts, run
  as subprocesses over the same data written in the peers' float format (``pip install
  '.[bench]'``). ``--no-peers`` skips them; ``--peer-python`` runs them with another interpreter
  (NautilusTrader 1.221 needs pandas < 3 and hftbacktest numpy < 2.3: a venv of its own).

It prints one line per configuration, then the ratios: B / NautilusTrader, B / SimPy, A /
NautilusTrader, the cost per order (A's replay time minus B's over the orders placed) against
NautilusTrader's, and per order at 20,000 orders against 2,000. Nothing is asserted. Compare
ratios within one run, never absolute figures across runs (the machine is shared).
``--profile A`` (or ``B``, ``A100``) prints where that replay's time goes (cProfile).

    python3 benchmarks/peers.py                 # 1,000,000 trades, peers when installed
    python3 benchmarks/peers.py --n 20000 --no-peers   # CI smoke
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Generator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import simpy
from peer_strategies import RUNS

from harness.data.schema import SCHEMA_VERSION, TRADES
from harness.money import SCALE
from scenarios.replay import run_replay
from scenarios.world import VenueSetup
from sim.venue.matching.types import DepthMode

SEED = 20240101
T0_NS = 1_704_067_200_000_000_000
TICK, LOT = 0.01, 0.00001
EVERY, OFFSET_TICKS = 1000, 5
BALANCES = {"USDT": Decimal(100_000_000), "BTC": Decimal(10_000)}  # no order is ever short of funds
HERE = Path(__file__).resolve().parent


def generate(n: int, folder: Path, *, peer_files: bool) -> tuple[np.ndarray[Any, Any], Path]:
    """The workload: ``n`` trades as gen_data.py draws them; returns the float prices and the canonical file.

    With ``peer_files`` also writes ``trades.parquet`` and ``quotes.parquet`` as gen_data.py does
    (float prices and sizes), which the peers' scripts read and convert.
    """
    rng = np.random.default_rng(SEED)
    ts = T0_NS + np.cumsum(rng.exponential(20e6, n).astype(np.int64) + 1_000)
    steps = np.where(rng.random(n) < 0.6, 0, np.rint(rng.normal(0, 3, n))).astype(np.int64)
    ticks = 3_000_000 + np.cumsum(steps)
    side = np.where(steps > 0, 1, np.where(steps < 0, -1, rng.choice([-1, 1], n))).astype(np.int8)
    lots = np.maximum(1, np.rint(rng.lognormal(np.log(300), 1.5, n))).astype(np.int64)
    zeros = np.zeros(n, dtype=np.int32)
    table = pa.Table.from_arrays(
        [ts, ts, pa.DictionaryArray.from_arrays(zeros, ["binance"]), pa.DictionaryArray.from_arrays(zeros, ["BTCUSDT"]),
         ticks * (SCALE // 100), lots * (SCALE // 100_000), side, pa.array(np.arange(1, n + 1).astype(str))],
        schema=TRADES.with_metadata({"harness.kind": "trades", "harness.schema_version": SCHEMA_VERSION}))
    canonical = folder / "peers.trades.parquet"
    pq.write_table(table, canonical, compression="zstd", row_group_size=128_000)
    prices = np.round(ticks * TICK, 2)
    if peer_files:
        pq.write_table(pa.table({"ts_ns": ts, "price": prices, "size": np.round(lots * LOT, 5), "side": side,
                                 "trade_id": np.arange(1, n + 1, dtype=np.int64)}), folder / "trades.parquet")
        spread = rng.integers(1, 6, n)
        bid = ticks - spread // 2
        sizes = [np.round(np.maximum(1, np.rint(rng.lognormal(np.log(50_000), 1.0, n))) * LOT, 5) for _ in "ba"]
        pq.write_table(pa.table({"ts_ns": ts, "bid": np.round(bid * TICK, 2), "ask": np.round((bid + spread) * TICK, 2),
                                 "bid_size": sizes[0], "ask_size": sizes[1]}), folder / "quotes.parquet")
    return prices, canonical


# ----------------------------------------------------------------------------- floors


def noop(price: float) -> None:
    """The floors' per-trade callback: nothing."""


def loop_b(prices: np.ndarray[Any, Any]) -> float:
    """Strategy B as a plain loop: a no-op per trade; returns the seconds."""
    start = time.perf_counter()
    for price in prices:
        noop(price)
    return time.perf_counter() - start


def loop_a(prices: np.ndarray[Any, Any]) -> float:
    """Strategy A as a plain loop: fill on a touch, requote both sides every 1,000 trades; returns the seconds."""
    start = time.perf_counter()
    bid = ask = None
    off = OFFSET_TICKS * TICK
    fills = 0
    for count, price in enumerate(prices, 1):
        if bid is not None and price <= bid + 1e-9:
            fills, bid = fills + 1, None
        if ask is not None and price >= ask - 1e-9:
            fills, ask = fills + 1, None
        if count % EVERY == 0:
            bid, ask = price - off, price + off
    return time.perf_counter() - start


def simpy_b(path: Path) -> float:
    """Strategy B on SimPy, one ``timeout`` per trade (seconds as floats); returns the seconds."""
    table = pq.read_table(path, columns=["ts_event", "price"])
    ts = table.column("ts_event").to_numpy()
    deltas = [0.0, *((ts[1:] - ts[:-1]) / 1e9).tolist()]
    prices = table.column("price").to_pylist()
    start = time.perf_counter()
    env = simpy.Environment()

    def replay() -> Generator[simpy.Event, Any, None]:
        for delay, price in zip(deltas, prices, strict=True):
            yield env.timeout(delay)
            noop(price)

    env.process(replay())
    env.run()
    return time.perf_counter() - start


# ----------------------------------------------------------------------------- this project


def ours(path: Path, runs: Path, strategy: str, every: int, profile: bool) -> dict[str, Any]:
    """One ``run_replay`` of a peer strategy; the replay's seconds (on_start to on_stop) and counts."""
    before = len(RUNS)
    setup = VenueSetup("binance", "binance", balances=dict(BALANCES), depth=DepthMode.TRADES)
    call: Callable[[], Any] = lambda: run_replay(  # noqa: E731
        [path], [setup], f"peer_strategies:{strategy}", params={"every": str(every)} if every else {},
        seed=1, out_dir=runs, progress=False)
    start = time.perf_counter()
    if profile:
        profiler = cProfile.Profile()
        result = profiler.runcall(call)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    else:
        result = call()
    total = time.perf_counter() - start
    (span,) = RUNS[before:]
    audit = pq.read_table(result.run_dir / "audit.parquet", columns=["phase"]).column("phase").to_pylist()
    return {"seconds": span.seconds, "trades": span.trades, "orders": span.orders, "fills": span.fills,
            "call_s": total, "venue_requests": audit.count("result")}


# ----------------------------------------------------------------------------- peers


def find_peers(given: str | None) -> Path | None:
    """The folder of the peers' scripts: ``given``, or ``shared/bench/peers`` beside a parent of the checkout."""
    candidates = [Path(given)] if given else [p / "shared" / "bench" / "peers" for p in HERE.parents]
    return next((p for p in candidates if (p / "common.py").exists()), None)


def peer(script: Path, strategy: str, data: Path, python: str) -> dict[str, Any] | None:
    """Run one peer's own script over ``data`` with ``python``; its JSON result line, or None (why on stderr)."""
    proc = subprocess.run([python, script.name, "--strategy", strategy, "--feed", "trades"],
                          cwd=script.parent, env={**os.environ, "PEERBENCH_DIR": str(data)},
                          capture_output=True, text=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        print(f"{script.name} {strategy} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    record: dict[str, Any] = json.loads(lines[-1])
    return record


def importable(python: str, module: str) -> bool:
    """Whether ``python`` can import ``module`` (this interpreter: without importing it)."""
    if python == sys.executable:
        return importlib.util.find_spec(module) is not None
    check = subprocess.run([python, "-c", f"import {module}"], capture_output=True, check=False)
    return check.returncode == 0


# ----------------------------------------------------------------------------- report


def rate(n: int, seconds: float | None) -> str:
    """Events per second, short."""
    if not seconds:
        return "-"
    value = n / seconds
    return f"{value / 1e6:.2f} M" if value >= 1e6 else f"{value / 1e3:.0f} k"


def ratio(a: float | None, b: float | None) -> str:
    """``a / b`` with two decimals, or '-' when either is missing."""
    return f"{a / b:.2f}x" if a and b else "-"


def main() -> None:
    """Generate, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="trades (default 1,000,000)")
    parser.add_argument("--no-peers", action="store_true", help="skip NautilusTrader and hftbacktest")
    parser.add_argument("--peers-dir", help="folder of the peers' scripts (default: shared/bench/peers)")
    parser.add_argument("--peer-python", default=sys.executable,
                        help="the interpreter that runs the peers' scripts (default: this one)")
    parser.add_argument("--profile", choices=("A", "B", "A100", "Bv"), help="cProfile this replay (stderr)")
    args = parser.parse_args()
    scripts = None if args.no_peers else find_peers(args.peers_dir)
    wanted = {"nautilus_trader": "nautilus_bench.py", "hftbacktest": "hftbacktest_bench.py"}
    present = {name: script for name, script in wanted.items()
               if scripts is not None and importable(args.peer_python, name)}
    with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
        folder = Path(tmp)
        prices, path = generate(args.n, folder, peer_files=bool(present))
        n = args.n
        secs: dict[str, float | None] = {"loop B": loop_b(prices), "loop A": loop_a(prices), "simpy B": simpy_b(path)}
        runs: dict[str, dict[str, Any]] = {}
        for key, strategy, every in (("B", "PeerReader", 0), ("A", "PeerQuoter", EVERY), ("A100", "PeerQuoter", 100),
                                     ("Bv", "PeerBatchReader", 0)):
            runs[key] = ours(path, folder / "runs", strategy, every, args.profile == key)
            secs[f"ours {key}"] = runs[key]["seconds"]
        peers: dict[str, float | None] = {}
        for name, script in present.items():
            assert scripts is not None
            for strategy in ("B", "A"):
                record = peer(scripts / script, strategy, folder, args.peer_python)
                peers[f"{name} {strategy}"] = record["run_s"] if record else None
    print(f"peer workload: {n} trades, seed {SEED}; events/s of the replay itself")
    print(f"{'config':<34}{'B ev/s':>10}{'A ev/s':>10}{'per order (A-B)':>18}")
    orders = runs["A"]["orders"] or 1

    def row(label: str, b: float | None, a: float | None, per: float | None) -> None:
        print(f"{label:<34}{rate(n, b):>10}{rate(n, a):>10}{(f'{per * 1e3:.3f} ms' if per else '-'):>18}")

    row("plain Python loop", secs["loop B"], secs["loop A"], None)
    row("SimPy, one timeout per trade", secs["simpy B"], None, None)
    naut_b, naut_a = peers.get("nautilus_trader B"), peers.get("nautilus_trader A")
    naut_per = (naut_a - naut_b) / orders if naut_a and naut_b else None
    for name in present:
        b, a = peers.get(f"{name} B"), peers.get(f"{name} A")
        row(name, b, a, (a - b) / orders if a and b else None)
    ours_per = (runs["A"]["seconds"] - runs["B"]["seconds"]) / orders
    row("exec-harness (run_replay)", runs["B"]["seconds"], runs["A"]["seconds"], ours_per)
    per20 = (runs["A100"]["seconds"] - runs["B"]["seconds"]) / max(1, runs["A100"]["orders"])
    row(f"exec-harness, A every 100 ({runs['A100']['orders']} orders)", None, runs["A100"]["seconds"], per20)
    row("exec-harness, B through on_trades", runs["Bv"]["seconds"], None, None)
    for key, run in runs.items():
        print(f"  ours {key}: trades {run['trades']}, orders {run['orders']}, fills {run['fills']}, "
              f"venue requests {run['venue_requests']}, run_replay call {run['call_s']:.2f}s")
    b_ev = n / runs["B"]["seconds"]
    a_ev = n / runs["A"]["seconds"]
    print("ratios (goal in brackets):")
    print(f"  B / NautilusTrader B      {ratio(b_ev, n / naut_b if naut_b else None)}  [>= 10x]")
    print(f"  B / SimPy floor           {ratio(b_ev, n / secs['simpy B'] if secs['simpy B'] else None)}  [>= 1.5x]")
    print(f"  A / NautilusTrader A      {ratio(a_ev, n / naut_a if naut_a else None)}  [>= 10x]")
    print(f"  per order A: NautilusTrader / ours {ratio(naut_per, ours_per)}")
    print(f"  per order 20k / 2k        {ratio(per20, ours_per)}  [<= 1.25x]")
    bv_ev = n / runs["Bv"]["seconds"]
    hft_b = peers.get("hftbacktest B")
    print(f"  B on_trades / plain loop B  {ratio(bv_ev, n / secs['loop B'] if secs['loop B'] else None)}")
    print(f"  B on_trades / hftbacktest B {ratio(bv_ev, n / hft_b if hft_b else None)}  [>= 1x]")
    print(f"  B on_trades / B on_trade    {ratio(bv_ev, b_ev)}")


if __name__ == "__main__":
    main()

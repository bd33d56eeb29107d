"""Randomized fault search: draw fault schedules, run them across cores, shrink any failure to a minimal scenario.

``fuzz(base, runs=N, seed=S, workers=K)`` draws ``N`` schedules of 1 to ``max_faults`` faults
(``draw_faults``: kinds, targets, times, windows, probabilities and triggers from one seeded
``random.Random`` per run, so run ``i`` of seed ``S`` is always the same schedule), runs each on
the base scenario in a process pool, and checks the invariants (only the invariants: a random
fault that did nothing is no failure). A failing schedule is shrunk by delta debugging
(``shrink``: the smallest subset of its faults that still fails the same invariant, trying
halves, then complements, then single faults away) and written out as a scenario TOML that
reproduces the failure deterministically (``write_reproducer``).

The base scenario is a scenario file without faults (``DEFAULT_BASE``: the shipped recording's
trades, a resting ladder on Binance); its data, venues, strategy and engine are kept as they are.
"""

from __future__ import annotations

import random
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from scenarios.invariants import INVARIANTS
from scenarios.replay import data_time_range
from scenarios.scenario_file import FaultSpec, ScenarioSpec, parse_scenario
from scenarios.scenario_run import default_cache_dir, resolve_data, run_scenario
from sim.faults import Trigger

__all__ = ["DEFAULT_BASE", "FUZZ_KINDS", "FuzzFailure", "FuzzOutcome", "draw_faults", "fuzz", "shrink",
           "write_reproducer"]

NS = 1_000_000_000

DEFAULT_BASE = """\
[scenario]
name = "fuzz"
description = "The shipped recording's trades, a ladder resting on Binance: the base of the randomized search."
seed = 0
settle_s = 60

[data]
sample = "binance-btcusdt"
kinds = ["trades"]

[strategy]
path = "scenarios.probe_strategies:RestingLadder"

[strategy.params]
size = "0.001"
levels = "3"
spacing_ticks = "100"
max_distance_ticks = "3000"
max_position = "1"
reference = "trade"
"""

FUZZ_KINDS: dict[str, tuple[str, ...]] = {
    "drop": ("user", "market"), "duplicate": ("user", "market"), "delay": ("user", "market"),
    "reorder": ("user", "market"), "latency_spike": ("", "user", "market"), "stale": ("market",),
    "parse_error": ("user", "market"), "disconnect": ("user", "market"), "heartbeat_timeout": ("user", "market"),
    "venue_outage": ("",), "maintenance": ("",), "http_5xx": ("",), "timeout": ("",), "exchange_error": ("",),
    "invalid": ("",), "rate_limit": ("",), "clock_skew": ("",), "cancel_race": ("",),
}
"""Kinds the search draws, with the streams each may target (``""``: the venue itself)."""

_METHODS = ("submit_order", "cancel_order", "get_order", "get_open_orders_all", "get_fills", "get_positions")


def draw_faults(rng: random.Random, venues: Sequence[str], span_s: int, *, max_faults: int = 4,
                kinds: Sequence[str] | None = None) -> list[FaultSpec]:
    """A random schedule of 1 to ``max_faults`` faults (of ``kinds``, default all) over ``span_s`` s of data."""
    faults: list[FaultSpec] = []
    pool = sorted(kinds or FUZZ_KINDS)
    for index in range(rng.randint(1, max_faults)):
        kind = rng.choice(pool)
        stream = rng.choice(FUZZ_KINDS[kind])
        venue = rng.choice(list(venues))
        target = f"{venue}.{stream}" if stream else venue
        at = rng.randrange(0, max(1, span_s - 30))
        duration = rng.choice((5, 15, 30, 60, 120))
        probability = Decimal(rng.choice(("1", "0.5", "0.2", "0.05")))
        trigger = None
        if rng.random() < 0.25:
            event = "fill" if stream == "user" else rng.choice(_METHODS)
            trigger = Trigger(event, nth=rng.randint(1, 5), count=rng.randint(1, 3))
        params: dict[str, object] = {}
        if kind in ("http_5xx", "exchange_error"):
            params["reached_venue"] = rng.random() < 0.5
        elif kind == "timeout":
            params["accepted"] = rng.random() < 0.5
        elif kind == "rate_limit":
            params["ignore_429"] = rng.random() < 0.3
        elif kind == "clock_skew":
            params["skew_ms"] = rng.choice((-8000, -3000, 3000))
        if kind in ("http_5xx", "timeout", "exchange_error", "invalid") and rng.random() < 0.5:
            params["methods"] = [rng.choice(_METHODS)]
        faults.append(FaultSpec(f"f{index}-{kind}", kind, target, at * NS, duration * NS, probability, trigger,
                                params))
    return faults


@dataclass(frozen=True)
class FuzzOutcome:
    """One run of the search: its index, seed, faults and the invariants it failed (empty: it passed)."""

    index: int
    seed: int
    faults: tuple[FaultSpec, ...]
    failed: tuple[str, ...]
    first_violation_ns: int | None = None
    error: str = ""


@dataclass(frozen=True)
class FuzzFailure:
    """A failing schedule, shrunk, and where its reproducing scenario file was written."""

    outcome: FuzzOutcome
    minimal: tuple[FaultSpec, ...]
    path: Path | None


def _judge(spec: ScenarioSpec, seed: int, faults: tuple[FaultSpec, ...], cache_dir: Path | None,
           index: int = 0) -> FuzzOutcome:
    """Run one schedule (in a scratch directory) and keep only the invariants' verdict."""
    scratch = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        result = run_scenario(spec.with_faults(faults), seed=seed, out_dir=scratch, cache_dir=cache_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    failed = [r for r in result.rows if r.invariant in INVARIANTS and not r.passed]
    first = min((r.first_violation_ns for r in failed if r.first_violation_ns is not None), default=None)
    names = tuple(r.invariant for r in failed) + (("run failed",) if result.error else ())
    return FuzzOutcome(index, seed, faults, names, first, result.error)


_Job = tuple[ScenarioSpec, int, int, int, Path | None, int, int, tuple[str, ...]]
"""(base, run index, search seed, data span in s, cache, max faults, the run's seed, kinds)."""


def _job(args: _Job) -> FuzzOutcome:
    spec, index, base_seed, span_s, cache_dir, max_faults, run_seed, kinds = args
    rng = random.Random(f"{base_seed}:{index}")
    venues = [v.name for v in spec.venues]
    faults = tuple(draw_faults(rng, venues, span_s, max_faults=max_faults, kinds=kinds or None))
    return _judge(spec, run_seed, faults, cache_dir, index)


def shrink(faults: Sequence[FaultSpec], fails: Callable[[tuple[FaultSpec, ...]], bool]) -> tuple[FaultSpec, ...]:
    """The smallest subset of ``faults`` that still ``fails`` (delta debugging, ddmin)."""
    current = tuple(faults)
    chunks = 2
    while len(current) >= 2:
        size = max(1, len(current) // chunks)
        parts = [current[i:i + size] for i in range(0, len(current), size)]
        reduced = False
        for part in parts:  # one part alone
            if len(part) < len(current) and fails(part):
                current, chunks, reduced = part, 2, True
                break
        if not reduced:
            for i in range(len(parts)):  # everything but one part
                rest = tuple(f for j, p in enumerate(parts) if j != i for f in p)
                if rest and fails(rest):
                    current, chunks, reduced = rest, max(chunks - 1, 2), True
                    break
        if not reduced:
            if chunks >= len(current):
                break
            chunks = min(len(current), chunks * 2)
    return current


def write_reproducer(base_text: str, outcome: FuzzOutcome, faults: Sequence[FaultSpec], path: Path) -> Path:
    """A scenario file: the base with its name, seed and description replaced and ``faults`` appended."""
    name = path.stem
    text = re.sub(r'(?m)^name = ".*"$', f'name = "{name}"', base_text, count=1)
    text = re.sub(r"(?m)^seed = \d+$", f"seed = {outcome.seed}", text, count=1)
    described = (f"Found by the randomized fault search (run {outcome.index}): fails "
                 f"{', '.join(outcome.failed)}; shrunk to {len(faults)} fault(s).")
    text = re.sub(r'(?m)^description = .*$', f'description = "{described}"', text, count=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n") + "\n\n" + "\n".join(f.to_toml() for f in faults), encoding="utf-8")
    return path


def fuzz(base_text: str, *, runs: int, seed: int = 0, workers: int = 1, cache_dir: Path | None = None,
         out_dir: Path | None = None, max_faults: int = 4, source: str = "<fuzz base>",
         base_dir: Path = Path("."), on_outcome: Callable[[FuzzOutcome], None] | None = None,
         kinds: Sequence[str] = ()) -> list[FuzzFailure]:
    """Run ``runs`` random schedules on the base scenario; shrink and write out every failure.

    ``kinds`` narrows the search to some fault kinds (default: every kind of ``FUZZ_KINDS``).
    """
    unknown = sorted(set(kinds) - set(FUZZ_KINDS))
    if unknown:
        raise ValueError(f"not a fuzzable fault kind: {', '.join(unknown)} (kinds: {', '.join(sorted(FUZZ_KINDS))})")
    spec = parse_scenario(base_text, source=source, base_dir=base_dir)
    if spec.faults:
        raise ValueError(f"{source}: the fuzz base must have no [[faults]] of its own")
    cache = cache_dir or default_cache_dir()
    start, end = data_time_range(resolve_data(spec, cache))  # imports the data once, before the workers start
    span_s = max(60, (end - start) // NS)
    jobs: list[_Job] = [(spec, i, seed, span_s, cache, max_faults, spec.seed + i, tuple(kinds)) for i in range(runs)]
    outcomes = list(_map(jobs, workers, on_outcome))
    failures: list[FuzzFailure] = []
    for outcome in outcomes:
        if not outcome.failed:
            continue
        wanted = set(outcome.failed)

        def fails(subset: tuple[FaultSpec, ...], wanted: set[str] = wanted, run_seed: int = outcome.seed) -> bool:
            return bool(wanted & set(_judge(spec, run_seed, subset, cache).failed))

        minimal = shrink(outcome.faults, fails)
        path = None
        if out_dir is not None:
            path = write_reproducer(base_text, outcome, minimal,
                                    out_dir / f"fuzz-seed{seed}-run{outcome.index}.toml")
        failures.append(FuzzFailure(outcome, minimal, path))
    return failures


def _map(jobs: list[_Job], workers: int,
         on_outcome: Callable[[FuzzOutcome], None] | None) -> Iterator[FuzzOutcome]:
    if workers <= 1:
        for job in jobs:
            outcome = _job(job)
            if on_outcome is not None:
                on_outcome(outcome)
            yield outcome
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for outcome in pool.map(_job, jobs, chunksize=1):
            if on_outcome is not None:
                on_outcome(outcome)
            yield outcome


"""Randomized fault scenarios per minute of wall time: how fast the fault search explores.

Each run is one randomized scenario over the shipped recording's ten-odd minutes of trades (the
default base of ``harness scenario fuzz``: a resting ladder on Binance, 1 to 4 random faults,
every invariant checked, a run directory written and removed), run in a process pool. Prints the
runs, the wall time, scenarios per minute, and the wall time 1,000 of them would take on the
same number of workers (the goal: 1,000 within 10 minutes on 2 cores). Figures only: nothing is
asserted, and a busy machine shows in them.

    python3 benchmarks/fault_scenarios.py --runs 40 --workers 2

(Not ``benchmarks/scenarios.py``: run as a script, a benchmark's folder comes first on
``sys.path``, and a module of that name there would hide the ``scenarios`` package from every
benchmark.)
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

from scenarios.fuzz import DEFAULT_BASE, FuzzOutcome, fuzz
from scenarios.scenario_file import parse_scenario
from scenarios.scenario_run import default_cache_dir, resolve_data

__all__ = ["main"]


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=40, help="randomized scenarios to run")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--seed", type=int, default=0, help="the search's seed")
    parser.add_argument("--cache", type=Path, default=None, help="data cache (default $HARNESS_CACHE or ~/.cache)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    cache = args.cache or default_cache_dir()
    spec = parse_scenario(DEFAULT_BASE, source="<fuzz base>", base_dir=Path("."))
    resolve_data(spec, cache)  # the sample's import is not part of the figure
    failing: list[FuzzOutcome] = []

    def count(outcome: FuzzOutcome) -> None:
        if outcome.failed:
            failing.append(outcome)

    load = os.getloadavg()[0]
    started = time.perf_counter()
    cpu = time.process_time()
    fuzz(DEFAULT_BASE, runs=args.runs, seed=args.seed, workers=args.workers, cache_dir=cache, on_outcome=count)
    wall = time.perf_counter() - started
    per_minute = args.runs / wall * 60
    print(f"{args.runs} randomized scenarios of the shipped recording (about 10.8 minutes of virtual time each) on "
          f"{args.workers} worker(s): {wall:.1f} s wall, {per_minute:.1f} scenarios per minute, "
          f"{wall / args.runs:.2f} s each")
    print(f"1,000 would take {1000 / per_minute:.1f} minutes on {args.workers} worker(s) (goal: 10); "
          f"{len(failing)} violated an invariant; load average {load:.2f} when it started "
          f"(parent process CPU {time.process_time() - cpu:.1f} s)")


if __name__ == "__main__":
    main()

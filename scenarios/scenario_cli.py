"""``harness scenario run FILE... [--seeds N]``: run scenario files, print their scorecards, exit by verdict.

Each file is validated first (a bad key is reported with its line, exit 2). Each seed's run
writes a run directory (with ``faults.parquet`` and ``scorecard.parquet``) and prints its
scorecard: every invariant and expectation pass/fail, every fault with its time to detect and to
recover. The exit status is 0 when every run of every file passed, 1 otherwise, naming the seed
and the virtual time of the first violation.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from scenarios.scenario_file import ScenarioError, ScenarioSpec, load_scenario
from scenarios.scenario_run import ScenarioResult, run_scenario, seeds_of, summary_lines

__all__ = ["scenario_fuzz_command", "scenario_run_command"]


def scenario_run_command(files: Sequence[Path], *, seeds: int = 1, out_dir: Path = Path("runs"),
                         cache_dir: Path | None = None, quiet: bool = False) -> int:
    """Run every seed of every scenario file; 0 when all passed, 1 when any failed, 2 on a bad file."""
    logging.basicConfig(level=logging.CRITICAL, format="%(levelname)s %(name)s: %(message)s")  # the run records it
    if seeds < 1:
        print("harness scenario run: --seeds must be >= 1", file=sys.stderr)
        return 2
    specs: list[ScenarioSpec] = []
    try:
        specs = [load_scenario(path) for path in files]
    except ScenarioError as error:
        print(f"harness scenario run: {error}", file=sys.stderr)
        return 2
    for spec in specs:
        if spec.world == "serve":
            print(f"harness scenario run: {spec.path}: [scenario] world = \"serve\": its faults are for a local venue "
                  "(harness venue serve --scenario FILE)", file=sys.stderr)
            return 2
    failed: list[ScenarioResult] = []
    for spec in specs:
        for seed in seeds_of(spec, seeds):
            result = run_scenario(spec, seed=seed, out_dir=out_dir, cache_dir=cache_dir)
            lines = summary_lines([result], per_fault=not quiet)
            print("\n".join(lines if not quiet or not result.passed else lines[:1]))
            if not result.passed:
                failed.append(result)
    total = len(specs) * seeds
    print(f"{total - len(failed)} of {total} scenario run(s) passed")
    for result in failed:
        first = result.first_violation()
        where = f"{first.invariant} at virtual time {first.first_violation_ns}" if first else result.error
        print(f"FAILED {result.spec.name} seed {result.seed}: {where}", file=sys.stderr)
    return 1 if failed else 0


def scenario_fuzz_command(*, runs: int, seed: int = 0, workers: int = 1, base: Path | None = None,
                          out_dir: Path = Path("runs") / "fuzz", cache_dir: Path | None = None) -> int:
    """``harness scenario fuzz``: random fault schedules; 0 with no invariant violated, 1 otherwise (each
    failure shrunk and written out as a scenario file that reproduces it), 2 on a bad base file."""
    import time

    from scenarios.fuzz import DEFAULT_BASE, FuzzOutcome, fuzz

    logging.basicConfig(level=logging.CRITICAL)
    if runs < 1 or workers < 1:
        print("harness scenario fuzz: --runs and --workers must be >= 1", file=sys.stderr)
        return 2
    text = DEFAULT_BASE if base is None else base.read_text(encoding="utf-8")
    done = [0, 0]

    def progress(outcome: FuzzOutcome) -> None:
        done[0] += 1
        done[1] += bool(outcome.failed)
        if outcome.failed:
            print(f"run {outcome.index} (seed {outcome.seed}): {', '.join(outcome.failed)} at "
                  f"{outcome.first_violation_ns} with {len(outcome.faults)} fault(s)")
        if done[0] % 50 == 0:
            print(f"{done[0]}/{runs} runs, {done[1]} failing")

    started = time.perf_counter()
    try:
        failures = fuzz(text, runs=runs, seed=seed, workers=workers, cache_dir=cache_dir, out_dir=out_dir,
                        source=str(base or "<default fuzz base>"), base_dir=base.parent if base else Path("."),
                        on_outcome=progress)
    except (ScenarioError, ValueError) as error:
        print(f"harness scenario fuzz: {error}", file=sys.stderr)
        return 2
    wall = time.perf_counter() - started
    print(f"{runs} runs with seed {seed} on {workers} worker(s): {len(failures)} violating the invariants, "
          f"{wall:.1f} s wall time ({runs / wall * 60:.1f} runs per minute)")
    for failure in failures:
        print(f"FAILED run {failure.outcome.index}: {', '.join(failure.outcome.failed)}; shrunk from "
              f"{len(failure.outcome.faults)} to {len(failure.minimal)} fault(s): {failure.path}", file=sys.stderr)
    return 1 if failures else 0

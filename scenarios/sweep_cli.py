"""``harness sweep TARGET ARGS... --seeds N [--param NAME=V1,V2 ...] [--cluster tcp://...]``.

``TARGET`` is ``replay`` (the rest are ``harness replay`` arguments, see ``scenarios.sweep_replay``)
or a scenario ``.toml`` file (``scenarios.sweep_scenario``: seeds and strategy parameters). The
sweep's own options may stand anywhere after the target; everything else goes to the runs.
Exit status: 0 when every run completed (and, for a scenario, passed every invariant), 1 when
some failed or violated an invariant (each is marked in ``sweep.json`` and in its run
directory), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from scenarios.sweep import SweepError, run_sweep, sweep_kind_for

__all__ = ["split_sweep_options", "sweep_command"]


def split_sweep_options(rest: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """The sweep's own options found among ``rest`` and the arguments left for the runs."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)  # --seed is a replay option, not --seeds
    parser.add_argument("--seeds", type=int)
    parser.add_argument("--first-seed", type=int)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--cluster")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_known_args(list(rest))


def sweep_command(target: str, rest: Sequence[str], *, seeds: int = 1, first_seed: int = 0,
                  out_dir: Path = Path("runs"), workers: int | None = None, cluster: str | None = None,
                  progress: bool | None = None) -> int:
    """Plan and run the sweep, print where it went and how each run ended."""
    found, run_args = split_sweep_options(rest)
    seeds = found.seeds if found.seeds is not None else seeds
    first_seed = found.first_seed if found.first_seed is not None else first_seed
    out_dir = found.out or out_dir
    workers = found.workers or workers
    cluster = found.cluster or cluster
    progress = False if found.no_progress else progress
    try:
        if seeds < 1:
            raise SweepError(f"--seeds: expected at least 1, got {seeds}")
        if workers is not None and workers < 1:
            raise SweepError(f"--workers: expected at least 1, got {workers}")
        kind = sweep_kind_for(target)
        plan = kind.plan(target, run_args, range(first_seed, first_seed + seeds), out_dir)
    except SweepError as error:
        print(f"harness sweep: {error}", file=sys.stderr)
        return 2
    where = f"Dask at {cluster}" if cluster else f"{workers or 'one per CPU'} local process(es)"
    print(f"sweep: {len(plan.points)} runs ({plan.kind}, grid {plan.grid}) on {where}")
    try:
        folder = run_sweep(plan, out_dir, workers=workers, cluster=cluster, progress=progress)
    except SweepError as error:
        print(f"harness sweep: {error}", file=sys.stderr)
        return 2
    manifest = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
    failed = [p for p in manifest["points"] if p["status"] != "complete"]
    violated = [p for p in manifest["points"] if p["status"] == "complete" and p.get("passed") is False]
    for point in manifest["points"]:
        verdict = " violated " + point["first_violation"] if point in violated else ""
        params = f" {point['params']}" if point["params"] else ""
        print(f"  seed {point['seed']}{params}: {point['status']}{verdict} {point['run_dir']}"
              + (f" ({point['error']})" if point["error"] else ""))
    tally = f"{len(manifest['points']) - len(failed)} complete, {len(failed)} failed"
    if plan.kind == "scenario":
        tally += f", {len(violated)} violating an invariant"
    print(f"sweep folder: {folder} ({tally})")
    print(f"open it: harness dashboard {folder.parent}")
    return 1 if failed or violated else 0

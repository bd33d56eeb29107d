"""The scenario kind of sweep: ``harness sweep FILE.toml --seeds N [--param NAME=V1,V2 ...]``.

A scenario file is swept over seeds and over its strategy's parameters: a ``--param NAME=V1,V2``
listing several values is a grid axis, a ``--param NAME=V`` overrides the file's value in every
run. Nothing else is accepted here: the file says the data, venues, faults and invariants, and
a sweep that changed them would no longer be that scenario.

``run_scenario_point`` is the worker: it loads the file, applies the point's parameters, runs
the seed as ``harness scenario run`` does and returns the run directory's name with the
scenario's verdict (``passed``, and the first violation when it did not). A run that completed
but violated an invariant is ``complete`` with ``passed`` false: the run directory holds its
faults and scorecard, which the dashboard's scenario matrix shows across the sweep.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from scenarios.sweep import PointResult, SweepError, SweepPlan, SweepPoint, register_sweep_kind
from scenarios.sweep_replay import split_axes

__all__ = ["ScenarioSweep", "run_scenario_point"]

WORKER = "scenarios.sweep_scenario:run_scenario_point"


def _params_only(base: Sequence[str]) -> dict[str, str]:
    """The fixed ``--param`` values of ``base``; any other argument is refused by name."""
    fixed: dict[str, str] = {}
    tokens = list(base)
    for i in range(0, len(tokens), 2):
        if tokens[i] != "--param" or i + 1 >= len(tokens):
            raise SweepError(f"{tokens[i]}: a scenario sweep takes only --param NAME=V1,V2 (the file says the rest)")
        name, _, value = tokens[i + 1].partition("=")
        fixed[name] = value
    return fixed


class ScenarioSweep:
    """Plans sweeps of one scenario file (see the module docstring)."""

    def plan(self, target: str, args: Sequence[str], seeds: Sequence[int], out_dir: Path) -> SweepPlan:
        """Every combination of the axes' values, for every seed; the file is validated first."""
        from scenarios.scenario_file import ScenarioError, load_scenario

        if not seeds:
            raise SweepError("--seeds: at least one seed")
        path = Path(target)
        if not path.is_file():
            raise SweepError(f"{target}: no such scenario file")
        try:
            spec = load_scenario(path)
        except ScenarioError as error:
            raise SweepError(str(error)) from error
        base, axes = split_axes(args)
        fixed = _params_only(base)
        overridden = sorted(set(axes) & set(fixed))
        if overridden:
            raise SweepError(f"--param {overridden[0]}: given both as an axis and as a fixed value")
        if spec.world == "fix" and (axes or fixed):
            raise SweepError(f"{target}: a FIX session scenario runs no strategy, so it takes no --param")
        names = list(axes)
        file_arg = str(path.resolve())
        points = []
        for values in itertools.product(*(axes[n] for n in names)):
            params = tuple(zip(names, values, strict=True))
            for seed in seeds:
                point_args = [file_arg, *[a for n, v in (*fixed.items(), *params) for a in ("--param", f"{n}={v}")],
                              "--seed", str(seed)]
                points.append(SweepPoint(seed, params, tuple(point_args)))
        grid = {"seeds": list(seeds), "params": axes, "scenario": spec.name}
        return SweepPlan("scenario", grid, tuple(points), WORKER, (file_arg, *base))


def _parse_point(args: Sequence[str]) -> tuple[Path, dict[str, str], int, Path]:
    """``(file, parameters, seed, out dir)`` of a point's arguments as ``ScenarioSweep.plan`` wrote them."""
    tokens = list(args)
    path, params, seed, out = Path(tokens[0]), {}, 0, Path("runs")
    for flag, value in zip(tokens[1::2], tokens[2::2], strict=True):
        if flag == "--param":
            name, _, text = value.partition("=")
            params[name] = text
        elif flag == "--seed":
            seed = int(value)
        elif flag == "--out":
            out = Path(value)
        else:
            raise SweepError(f"scenario sweep point: unexpected argument {flag}")
    return path, params, seed, out


def run_scenario_point(args: list[str]) -> PointResult:
    """Run one seed of a scenario file with the point's parameters; its run directory and verdict."""
    from scenarios.scenario_file import ScenarioError, load_scenario
    from scenarios.scenario_run import run_scenario

    logging.basicConfig(level=logging.CRITICAL)  # as `harness scenario run`: the run directory records it all
    path, params, seed, out = _parse_point(args)
    try:
        spec = load_scenario(path)
    except ScenarioError as error:
        return {"status": "failed", "run_id": "", "run_dir": "", "error": str(error), "passed": False}
    if params:
        spec = replace(spec, params={**spec.params, **params})
    result = run_scenario(spec, seed=seed, out_dir=out)
    run_dir = result.run_dir.name if result.run_dir is not None else ""
    first = result.first_violation()
    verdict = {"passed": result.passed,
               "first_violation": f"{first.invariant} at virtual time {first.first_violation_ns}" if first else ""}
    if result.error:
        return {"status": "failed", "run_id": run_dir.removesuffix(".failed"), "run_dir": run_dir,
                "error": result.error, **verdict}
    return {"status": "complete", "run_id": run_dir, "run_dir": run_dir, "error": "", **verdict}


register_sweep_kind("scenario", ScenarioSweep)

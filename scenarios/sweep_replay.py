"""The replay kind of sweep: ``harness sweep replay REPLAY_ARGS... --seeds N``.

Every ``harness replay`` argument is accepted as it is; a ``--param NAME=V1,V2,...`` whose value
lists several comma-separated values is a grid axis (one run per value, crossed with the other
axes and the seeds), any other ``--param`` is passed to every run. ``--seed`` and ``--out`` belong
to the sweep (``--seeds``, ``--first-seed``, the sweep's ``--out``) and are refused here.
``--data`` paths are made absolute, so a worker in another directory reads the same files.

``run_replay_point`` is the worker: it runs one point's arguments exactly as ``harness replay``
parses them and returns its run directory's name and status.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scenarios.sweep import PointResult, SweepError, SweepPlan, SweepPoint, register_sweep_kind

__all__ = ["ReplaySweep", "run_replay_point", "split_axes"]

WORKER = "scenarios.sweep_replay:run_replay_point"
_OWN = ("--seed", "--out")


def split_axes(args: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
    """``(base arguments, axes)``: the ``--param`` values listing several values become axes (in order)."""
    base: list[str] = []
    axes: dict[str, list[str]] = {}
    tokens = list(args)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        name, equals, inline = token.partition("=")
        if name in _OWN:
            raise SweepError(f"{name}: a sweep sets it ({'--seeds/--first-seed' if name == '--seed' else '--out'})")
        if name == "--param":
            if equals:
                value = inline
            elif i + 1 < len(tokens):
                i += 1
                value = tokens[i]
            else:
                raise SweepError("--param: expected NAME=VALUE[,VALUE...]")
            key, found, values = value.partition("=")
            if not found or not key:
                raise SweepError(f"--param: expected NAME=VALUE[,VALUE...], got {value!r}")
            if "," in values:
                listed = [v for v in values.split(",") if v]
                if key in axes or len(set(listed)) != len(listed):
                    raise SweepError(f"--param {value!r}: each axis once, each value once")
                axes[key] = listed
            else:
                base += ["--param", value]
        elif token == "--data":
            base.append(token)
            while i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
                i += 1
                base.append(str(Path(tokens[i]).resolve()))
        else:
            base.append(token)
        i += 1
    return base, axes


def _parse(args: Sequence[str]) -> Any:
    """``args`` as ``harness replay`` parses them; ``SweepError`` instead of argparse's exit."""
    from harness.cli import build_parser

    try:
        return build_parser().parse_args(["replay", *args])
    except SystemExit as error:
        raise SweepError(f"replay arguments {' '.join(args)!r} do not parse (argparse said why above)") from error


class ReplaySweep:
    """Plans replay sweeps (see the module docstring)."""

    def plan(self, target: str, args: Sequence[str], seeds: Sequence[int], out_dir: Path) -> SweepPlan:
        """The grid: every combination of the axes' values, for every seed, in that order."""
        if not seeds:
            raise SweepError("--seeds: at least one seed")
        base, axes = split_axes(args)
        names = list(axes)
        points = []
        for values in itertools.product(*(axes[n] for n in names)):
            params = tuple(zip(names, values, strict=True))
            for seed in seeds:
                point_args = [*base, *[a for n, v in params for a in ("--param", f"{n}={v}")], "--seed", str(seed)]
                points.append(SweepPoint(seed, params, tuple(point_args)))
        _parse([*points[0].args, "--out", str(out_dir)])  # one parse now: bad arguments fail before any run
        return SweepPlan("replay", {"seeds": list(seeds), "params": axes}, tuple(points), WORKER, tuple(base))


def run_replay_point(args: list[str]) -> PointResult:
    """Run one replay from its ``harness replay`` arguments; the run directory's name and status."""
    from harness.router import RouterConfigError
    from harness.strategy import StrategyLoadError
    from scenarios.replay import RunFailedError, run_replay
    from scenarios.replay_cli import ReplayArgumentError, data_files, parse_router, parse_venues
    from scenarios.replay_options import engine_config_from_text, latency_from_text
    from sim.venue.profile import ProfileError, load_profile

    ns = _parse(args)
    try:
        setups = parse_venues(ns.venue, ns.balance, ns.data_venue, depth=ns.depth, queue_model=ns.queue_model,
                              market_latency=ns.market_latency)
        params = dict(p.split("=", 1) for p in ns.param)
        router = parse_router(ns.router, ns.split_threshold, [s.name for s in setups])
        if ns.journal is not None:
            raise ReplayArgumentError("--journal PATH would be shared by every point of a sweep; leave it out")
        profiles = {s.name: load_profile(s.profile) for s in setups}
        latency = latency_from_text(ns.latency, list(profiles), zero=ns.zero_latency, profiles=profiles)
        files = data_files(ns.data)
        result = run_replay(files, setups, ns.strategy, params=params, seed=ns.seed, out_dir=ns.out,
                            progress=False, router=router, latency=latency or None,
                            engine_config=engine_config_from_text(ns.engine), journal=not ns.no_journal)
    except RunFailedError as failed:
        return {"status": "failed", "run_id": failed.run_dir.name.removesuffix(".failed"),
                "run_dir": failed.run_dir.name, "error": str(failed)}
    except (ReplayArgumentError, StrategyLoadError, ProfileError, RouterConfigError, ValueError) as error:
        return {"status": "failed", "run_id": "", "run_dir": "", "error": str(error)}
    return {"status": "complete", "run_id": result.run_dir.name, "run_dir": result.run_dir.name, "error": ""}


register_sweep_kind("replay", ReplaySweep)

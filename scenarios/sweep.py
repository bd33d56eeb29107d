"""Sweeps: a grid of runs (seeds x parameter values) in a local process pool or on Dask distributed.

A sweep is planned by a **kind** (``SweepKind``) into points, each a list of command-line
arguments that one run takes, and run by a top-level worker function of the kind (importable by
name, so a Dask worker or a spawned process can call it): ``worker(args) -> PointResult``. Two
kinds ship, each registering itself with ``register_sweep_kind`` when imported: ``replay``
(``scenarios.sweep_replay``: ``harness sweep replay REPLAY_ARGS...``) and ``scenario``
(``scenarios.sweep_scenario``: ``harness sweep path/to/scenario.toml``).

Layout: every run directory of the sweep lands in one sweep folder beside its manifest::

    <out>/sweep-<hash>/sweep.json     kind, grid, per point: args, seed, params, run id, status
    <out>/sweep-<hash>/<run_id>/      the runs (reports.run_dir: complete or <run_id>.failed)

``sweep.json`` is written first with every point ``pending``, rewritten as points finish, and
last with the sweep's status (``complete`` when every run is, else ``failed``). Points are kept
in grid order whatever order they finish in, and nothing in the manifest depends on the
executor or the wall clock: a sweep run locally and on Dask writes the same runs and manifest.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import multiprocessing
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tqdm import tqdm

from reports.run_dir import write_json_atomically

__all__ = ["PointResult", "SweepError", "SweepKind", "SweepPlan", "SweepPoint", "call_worker", "register_sweep_kind",
           "run_sweep", "sweep_id", "sweep_kind_for"]


class SweepError(ValueError):
    """A sweep cannot be planned (bad arguments, unknown kind); the message says which argument."""


@dataclass(frozen=True)
class SweepPoint:
    """One run of the grid: its seed, its grid values, and the arguments its worker takes."""

    seed: int
    params: tuple[tuple[str, str], ...]
    args: tuple[str, ...]


@dataclass(frozen=True)
class SweepPlan:
    """Every point of a sweep, what the grid is, and the worker that runs one point (``module:function``)."""

    kind: str
    grid: dict[str, Any]
    points: tuple[SweepPoint, ...]
    worker: str
    base_args: tuple[str, ...] = field(default=())


PointResult = dict[str, Any]
"""What a worker returns: ``status`` (complete/failed), ``run_id``, ``run_dir`` (the directory's name), ``error``."""


class SweepKind(Protocol):
    """Plans a sweep of one kind of run from the command line's target and arguments."""

    def plan(self, target: str, args: Sequence[str], seeds: Sequence[int], out_dir: Path) -> SweepPlan:
        """The sweep's points; raises ``SweepError`` naming a bad argument."""


_KINDS: dict[str, Callable[[], SweepKind]] = {}
_SHIPPED = {"replay": "scenarios.sweep_replay", "scenario": "scenarios.sweep_scenario"}


def register_sweep_kind(name: str, factory: Callable[[], SweepKind]) -> None:
    """Make ``harness sweep`` know a kind: ``replay``, or ``scenario`` for TOML scenario files."""
    _KINDS[name] = factory


def sweep_kind_for(target: str) -> SweepKind:
    """The kind of ``target``: ``replay``, or ``scenario`` for a ``.toml`` file."""
    name = "scenario" if target.endswith(".toml") else target
    if name not in _KINDS and name in _SHIPPED:
        importlib.import_module(_SHIPPED[name])  # registers itself
    if name not in _KINDS:
        raise SweepError(f"unknown sweep target {target!r}: expected 'replay' or a scenario .toml file")
    return _KINDS[name]()


def sweep_id(plan: SweepPlan) -> str:
    """``sweep-<hash>`` of the plan's kind, grid and every point's arguments (the same sweep, the same id)."""
    payload = {"kind": plan.kind, "grid": plan.grid, "points": [list(p.args) for p in plan.points]}
    return "sweep-" + hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:10]


def _worker(path: str) -> Callable[[list[str]], PointResult]:
    module, _, name = path.partition(":")
    function: Callable[[list[str]], PointResult] = getattr(importlib.import_module(module), name)
    return function


def call_worker(path: str, args: list[str]) -> PointResult:
    """Import worker ``module:function`` and run one point (what a pool process or a Dask worker executes)."""
    return _worker(path)(args)


def _manifest(plan: SweepPlan, identity: str, results: Sequence[PointResult | None], status: str) -> dict[str, Any]:
    points = []
    for point, result in zip(plan.points, results, strict=True):
        points.append({"seed": point.seed, "params": dict(point.params), "args": list(point.args),
                       **(result or {"status": "pending", "run_id": "", "run_dir": "", "error": ""})})
    return {"sweep_id": identity, "kind": plan.kind, "grid": plan.grid, "base_args": list(plan.base_args),
            "points": points, "status": status}


def run_sweep(plan: SweepPlan, out_dir: Path, *, workers: int | None = None, cluster: str | None = None,
              progress: bool | None = None) -> Path:
    """Run every point of ``plan`` and return the sweep folder (its ``sweep.json`` last written).

    Locally in a process pool of ``workers`` processes (spawned: each starts clean), or on the
    Dask scheduler at ``cluster`` (``tcp://host:port``). A point whose worker raises is recorded
    ``failed`` with the error; the others go on.
    """
    identity = sweep_id(plan)
    folder = Path(out_dir) / identity
    folder.mkdir(parents=True, exist_ok=True)
    results: list[PointResult | None] = [None] * len(plan.points)
    write_json_atomically(folder / "sweep.json", _manifest(plan, identity, results, "running"))
    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=len(plan.points), unit="run", desc=identity, disable=not show, file=sys.stderr)

    def done(index: int, result: PointResult) -> None:
        results[index] = result
        write_json_atomically(folder / "sweep.json", _manifest(plan, identity, results, "running"))
        bar.update(1)

    try:
        jobs = [[*p.args, "--out", str(folder.resolve())] for p in plan.points]  # the worker's run goes in here
        if cluster:
            _on_dask(plan.worker, jobs, cluster, done)
        else:
            _on_pool(plan.worker, jobs, workers, done)
    finally:
        bar.close()
    status = "complete" if all(r is not None and r["status"] == "complete" for r in results) else "failed"
    write_json_atomically(folder / "sweep.json", _manifest(plan, identity, results, status))
    return folder


def _failure(error: BaseException) -> PointResult:
    return {"status": "failed", "run_id": "", "run_dir": "", "error": f"{type(error).__name__}: {error}"}


def _on_pool(worker: str, jobs: Sequence[list[str]], workers: int | None,
             done: Callable[[int, PointResult], None]) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(call_worker, worker, job): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            error = future.exception()
            done(futures[future], _failure(error) if error is not None else future.result())


def _on_dask(worker: str, jobs: Sequence[list[str]], address: str, done: Callable[[int, PointResult], None]) -> None:
    try:
        import distributed
    except ImportError as error:
        raise SweepError("--cluster needs Dask distributed: pip install 'exec-harness[dist]'") from error
    client_class: Any = distributed.Client  # untyped in distributed's stubs
    dask_completed: Any = distributed.as_completed
    with client_class(address) as client:
        futures = [client.submit(call_worker, worker, job, pure=False) for job in jobs]
        index = {future.key: i for i, future in enumerate(futures)}
        for future in dask_completed(futures):
            try:
                result = future.result()
            except Exception as error:  # the point's own failure, reported like the pool's
                result = _failure(error)
            done(index[future.key], result)

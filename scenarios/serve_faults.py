"""A scenario file's ``[[faults]]`` as the faults of a running local venue (``harness venue serve --scenario``).

The file is read by the one scenario validator (``scenarios.scenario_file``: a bad key is a
``ScenarioError`` naming the file, its line and the key). Any scenario file will do: one written
for the local venue (``[scenario] world = "serve"``: only ``[scenario]`` and ``[[faults]]``, e.g.
``scenarios/catalog/serve/local-venue-faults.toml``), a simulated one (its faults on the served
venue), or a FIX one (its faults on the FIX acceptor, with ``--fix``).

Each fault becomes a ``live.serve.scheduled.ServedFault``: the simulator's own injector, built
when the venue starts its replay, with ``at_s`` counted from there on the venue's clock (so
``--speed`` scales it) and its draws from ``SeededRng(seed).child("faults")`` under the fault's
name, as ``harness scenario run`` seeds them (``seed``: ``--seed``, else the file's). A fault
that cannot apply is refused, naming the fault and its line: a kind with no seam on a served
venue (``live.serve.scheduled.REFUSED``: crash, clock skew, ...), a target naming another venue
than the one served, a FIX kind without ``--fix``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.rng import SeededRng
from live.serve.faults import ScheduledFault, ServeFaults
from live.serve.scheduled import served_fault
from scenarios.scenario_file import FaultSpec, ScenarioError, load_scenario
from sim.faults import Fault, FaultError, build_fault

__all__ = ["load_serve_faults"]


def _builder(spec: FaultSpec, rng: SeededRng) -> Callable[[int], Fault]:
    def build(origin_ns: int) -> Fault:
        return build_fault(spec.name, spec.kind, spec.target, spec.schedule(origin_ns), rng, params=spec.params)
    return build


def load_serve_faults(path: Path, *, venue: str, seed: int | None = None, fix: bool = False) -> ServeFaults:
    """The faults of scenario file ``path`` for a local venue named ``venue`` (``fix``: it serves FIX).

    Raises ``ScenarioError`` (``<file>:<line>: <key>: <problem>``) for a bad file or a fault that
    cannot apply here.
    """
    spec = load_scenario(path)
    rng = SeededRng(spec.seed if seed is None else seed).child("faults")
    scheduled: list[ScheduledFault] = []
    for index, fault in enumerate(spec.faults):
        where = f"{path}:{fault.line}" if fault.line is not None else str(path)
        key = f"faults[{index}]"
        try:
            served = served_fault(fault.name, fault.kind, _builder(fault, rng))
        except FaultError as error:
            raise ScenarioError(f"{where}: {key}.kind: {error}") from None
        if fault.kind.startswith("fix_"):
            if not fix:
                raise ScenarioError(f"{where}: {key}.kind: fault {fault.name!r} ({fault.kind}) needs the FIX acceptor: "
                                    "serve with --fix PORT")
        elif fault.target.partition(".")[0] != venue:
            raise ScenarioError(f"{where}: {key}.target: fault {fault.name!r} targets venue "
                                f"{fault.target.partition('.')[0]!r}, but this local venue serves {venue!r}")
        scheduled.append(served)
    return ServeFaults(scheduled=scheduled)

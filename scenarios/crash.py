"""Crash safety: kill the harness with a real SIGKILL mid-run, restart it from its journal, check nothing was lost.

``run_crash_scenario`` runs a scenario with a ``crash`` fault in two child processes:

1. **first**: the scenario as written, with every venue's front desk writing its request log to a
   file (``sim.venue.desk.VenueLogWriter``: the venue's own state, flushed as each request is
   handled) and the execution journal in the same work directory. The ``crash`` fault kills the
   process with ``SIGKILL`` (``sim.faults.crash``): no cleanup, no flush, nothing closed.
2. **resume**: a new process builds the same world from the same data and seed and replays each
   venue's log into its venue at the logged times (``RequestDesk.replay`` refuses to diverge), so
   the venue is exactly what it was when its client died; it has kept trading on the market data
   meanwhile. The harness restarts ``restart_delay_s`` after the last thing it had persisted (the
   later of the venue log and the journal), with a new engine over the same journal (a new client
   order id prefix, as a new session must use): ``recover_from_journal`` settles the intents left in
   flight, reconciliation adopts the venue's truth, the strategy starts afresh, the run goes on to
   the end, and the invariants are checked against the venue: no order lost, none duplicated,
   positions and balances equal the venue's, every fill journaled once.

The simulated venue survives the kill because its state is a pure function of the market data and
the requests it logged; that is the "venue in its own process-independent form" (the local venue of
``live/serve`` serves the same simulator over real protocols, and would survive a kill of its client
for the same reason). The other faults of the scenario act in the first process only.

Run as ``python -m scenarios.crash PHASE SCENARIO SEED WORKDIR OUT CACHE`` by the runner itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.journal import Journal
from scenarios.invariants import InvariantResult, RunFacts
from scenarios.replay import ReplayWorld, RunFailedError, run_replay
from scenarios.scenario_file import ScenarioSpec, load_scenario
from scenarios.scenario_run import ScenarioHooks, ScenarioResult, _extra_config, engine_config_for, resolve_data
from sim.faults import FaultRecord
from sim.venue.desk import VenueLogWriter, read_venue_log

__all__ = ["RESTART_DELAY_NS", "CrashHooks", "crash_phase_main", "run_crash_scenario"]

RESTART_DELAY_NS = 5_000_000_000
"""How long after its last persisted act the harness is back (a supervisor restarting it)."""

_ROOT = Path(__file__).resolve().parents[1]


class CrashHooks(ScenarioHooks):
    """``ScenarioHooks`` of either phase of a crash run (see the module docstring)."""

    def __init__(self, spec: ScenarioSpec, seed: int, *, phase: str, workdir: Path) -> None:
        super().__init__(spec if phase == "first" else spec.with_faults(()), seed, allow_crash=phase == "first")
        self.phase = phase
        self.workdir = workdir
        self.resume_ns = 0
        self.persisted_ns = 0
        self.crash = next(f for f in spec.faults if f.kind == "crash")

    def world_built(self, world: ReplayWorld) -> None:
        """First: log every venue's requests to files. Resume: replay them into the venues."""
        super().world_built(world)
        if self.phase == "first":
            for name, adapter in world.adapters.items():
                adapter.desk.writer = VenueLogWriter(self.workdir / f"venue-{name}.log")
            return
        last = 0
        for name, adapter in world.adapters.items():
            records = read_venue_log(self.workdir / f"venue-{name}.log")
            for record in records:
                world.clock.call_at(record.ts_ns, adapter.desk.replay, record)
            last = max([last, *(r.ts_ns for r in records)])
        assert world.journal is not None, "a crash scenario keeps its journal"
        self.persisted_ns = max(last, _journal_last_ns(world.journal))
        self.resume_ns = self.persisted_ns + RESTART_DELAY_NS

    async def before_start(self, world: ReplayWorld) -> None:
        """Resume: wait, the harness being dead, until it restarts."""
        if self.phase == "resume":
            await world.clock.sleep_ns(max(0, self.resume_ns - world.clock.now_ns()))
            assert self.observer is not None
            self.observer.note("harness", "restart", f"after a kill; last persisted at {self.persisted_ns}")
        await super().before_start(world)

    def facts(self, world: ReplayWorld) -> RunFacts:
        """As for any run, with the requests the killed process had in flight allowed to lack a result."""
        facts = super().facts(world)
        facts.injected.add("crash")
        # a request still in flight at the kill was sent at most one request timeout before it
        timeout = max(a.session.settings.request_timeout_ns for a in world.adapters.values())
        in_flight_since = self.persisted_ns - timeout
        facts.unaudited_ok = [(in_flight_since, self.resume_ns)]
        return facts

    def finished(self, world: ReplayWorld) -> None:
        """Judge the resumed run; the crash itself is scored from its restart."""
        if self.phase == "resume":
            self.faults = []
        super().finished(world)
        record = FaultRecord(self.crash.name, "crash", self.crash.target, self.persisted_ns, self.resume_ns,
                             detail="killed with SIGKILL after its last persisted act; restarted from the journal",
                             effects=1, scheduled_start_ns=world.time_range[0] + self.crash.at_ns)
        assert self.observer is not None
        from scenarios.scorecard import score_faults

        self.records = score_faults([record], self.observer.signals)
        self.rows = [r for r in self.rows if not r.invariant.startswith("fault ")]
        ok = self.records[0].recovered_ns is not None
        self.rows.append(InvariantResult(f"fault recovered: {self.crash.name}", ok,
                                         None if ok else world.clock.now_ns(), self.records[0].detail))


def _journal_last_ns(journal: Journal) -> int:
    """The latest time anything in the journal was written at (what the killed harness knew)."""
    latest = 0
    for table, column in (("intents", "updated_ns"), ("audit", "ts_ns"), ("fills", "ts_ns"),
                          ("order_events", "ts_ns"), ("alerts", "ts_ns")):
        for row in journal.table(table):
            value = row.get(column)
            if isinstance(value, int):
                latest = max(latest, value)
    return latest


def _child(phase: str, scenario: Path, seed: int, *, workdir: Path, out_dir: Path, cache_dir: Path) -> int:
    """One phase, in this process (the first is meant to die by SIGKILL)."""
    spec = load_scenario(scenario)
    hooks = CrashHooks(spec, seed, phase=phase, workdir=workdir)
    files = resolve_data(spec, cache_dir)
    prefix = "h" if phase == "first" else "r"
    try:
        run = run_replay(files, list(spec.venues), spec.strategy, params=spec.params, seed=seed, out_dir=out_dir,
                         progress=False, router=spec.router, hooks=hooks,
                         engine_config=engine_config_for(spec, id_prefix=prefix),
                         extra_config={**_extra_config(spec), "phase": phase}, name=f"{spec.name}-{phase}",
                         journal_path=workdir / "journal.sqlite")
        run_dir, error = str(run.run_dir), ""
    except RunFailedError as failed:
        run_dir, error = str(failed.run_dir), str(failed)
    result = {"phase": phase, "run_dir": run_dir, "error": error,
              "rows": [asdict(r) for r in hooks.rows], "faults": [asdict(f) for f in hooks.records]}
    (workdir / f"result-{phase}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


def _spawn(phase: str, scenario: Path, seed: int, *, workdir: Path, out_dir: Path, cache_dir: Path) -> int:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(_ROOT), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "scenarios.crash", phase, str(scenario), str(seed), str(workdir), str(out_dir),
               str(cache_dir)]
    return subprocess.run(command, env=env, cwd=_ROOT, check=False, stdin=subprocess.DEVNULL).returncode


def run_crash_scenario(spec: ScenarioSpec, *, seed: int, out_dir: Path, cache_dir: Path) -> ScenarioResult:
    """Run a scenario with a ``crash`` fault: killed for real, restarted, judged (see the module docstring)."""
    if spec.path is None:
        raise ValueError(f"{spec.name}: a crash scenario must come from a file (its processes read it)")
    result = ScenarioResult(spec, seed)
    workdir = Path(out_dir) / f"{spec.name}-seed{seed}-crash"
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in workdir.iterdir():  # a fresh start: no journal or venue log of an earlier attempt
        stale.unlink()
    resolve_data(spec, cache_dir)  # import the data once, here
    code = _spawn("first", spec.path, seed, workdir=workdir, out_dir=Path(out_dir), cache_dir=cache_dir)
    if code != -signal.SIGKILL:
        result.error = f"the first process was to be killed by SIGKILL, but it exited with {code}"
        return result
    code = _spawn("resume", spec.path, seed, workdir=workdir, out_dir=Path(out_dir), cache_dir=cache_dir)
    path = workdir / "result-resume.json"
    if code != 0 or not path.exists():
        result.error = f"the restarted process failed (exit {code})"
        return result
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    result.run_dir = Path(data["run_dir"])
    result.error = data["error"]
    result.rows = [InvariantResult(**row) for row in data["rows"]]
    result.faults = [FaultRecord(**fault) for fault in data["faults"]]
    return result


def crash_phase_main(argv: list[str]) -> int:
    """One phase of a crash run, in its own process: ``python -m scenarios.crash PHASE SCENARIO SEED WORKDIR OUT
    CACHE``."""
    phase, scenario, seed, workdir, out_dir, cache = argv
    return _child(phase, Path(scenario), int(seed), workdir=Path(workdir), out_dir=Path(out_dir),
                  cache_dir=Path(cache))


if __name__ == "__main__":
    sys.exit(crash_phase_main(sys.argv[1:]))

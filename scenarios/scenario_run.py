"""Running a scenario: a replay with its faults installed, watched, then judged by invariants.

``run_scenario(spec, seed=...)`` resolves the scenario's data (a shipped sample imported once
into a cache, canonical files, or a synthetic tape), replays it through ``scenarios.replay``
with ``ScenarioHooks``, and returns a ``ScenarioResult``:

* ``ScenarioHooks.world_built`` builds each fault from its ``FaultSpec``, seeded from the run's
  seed under the fault's name, installs it, and starts a ``RunObserver``;
* ``before_stop`` waits, after the data is done, until every fault's window has ended and then
  ``settle_s`` more, so recovery can finish before the strategy stops;
* ``finished`` gathers the ``RunFacts``, checks the invariants, scores each fault's detection and
  recovery, checks ``[expect]``, and adds ``faults.parquet`` and ``scorecard.parquet`` to the run.

A run that raises is a failed result (its error kept), not an exception.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from harness.engine import EngineConfig
from harness.model import OrderStatus
from harness.recovery import StuckOrderMonitor
from harness.rng import SeededRng
from scenarios.invariants import InvariantResult, OurOrder, RunFacts, check_invariants
from scenarios.observer import RunObserver
from scenarios.replay import ReplayWorld, RunFailedError, run_replay
from scenarios.scenario_file import ScenarioSpec
from scenarios.scorecard import check_expectations, score_faults
from scenarios.synthetic import cached_tape
from sim.faults import Fault, FaultRecord, build_fault

__all__ = ["FAULTS_SCHEMA", "SCORECARD_SCHEMA", "ScenarioHooks", "ScenarioResult", "by_name", "default_cache_dir",
           "engine_config_for", "resolve_data", "run_scenario", "seeds_of", "summary_lines"]

FAULTS_SCHEMA = pa.schema([
    ("name", pa.string()), ("kind", pa.string()), ("target", pa.string()), ("start_ns", pa.int64()),
    ("end_ns", pa.int64()), ("detected_ns", pa.int64()), ("recovered_ns", pa.int64()), ("detail", pa.string()),
    ("effects", pa.int64()), ("scheduled_start_ns", pa.int64()), ("seed", pa.int64()),
])
"""``faults.parquet``: one row per injected fault (times in virtual ns, null when it never happened)."""

SCORECARD_SCHEMA = pa.schema([
    ("invariant", pa.string()), ("passed", pa.bool_()), ("first_violation_ns", pa.int64()), ("detail", pa.string()),
    ("seed", pa.int64()),
])
"""``scorecard.parquet``: one row per invariant and expectation."""


def default_cache_dir() -> Path:
    """Where imported samples and synthetic tapes are kept (``HARNESS_CACHE``, else ``~/.cache/exec-harness``)."""
    return Path(os.environ.get("HARNESS_CACHE") or Path.home() / ".cache" / "exec-harness")


def _sample_files(cache_dir: Path) -> list[Path]:
    """The shipped sample as canonical Parquet, imported into the cache the first time (atomically)."""
    from scenarios.demo import import_sample

    final = cache_dir / "sample-binance-btcusdt"
    if not final.is_dir():
        work = cache_dir / f".sample-binance-btcusdt-{os.getpid()}"
        work.mkdir(parents=True, exist_ok=True)
        import_sample(work)
        try:
            work.rename(final)
        except OSError:  # another process imported it first
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    return sorted(final.glob("*.parquet"))


def resolve_data(spec: ScenarioSpec, cache_dir: Path) -> list[Path]:
    """The canonical files the scenario replays (filtered to ``[data] kinds`` when given)."""
    data = spec.data
    if data.sample is not None:
        files = _sample_files(cache_dir)
    elif data.synthetic is not None:
        files = cached_tape(data.synthetic, cache_dir)
    else:
        files = list(data.files)
    if data.kinds:
        files = [f for f in files if f.name.rsplit(".", 2)[-2] in data.kinds]
    return files


@dataclass
class ScenarioResult:
    """One seed of one scenario: every scorecard row, every fault, the run directory, any error."""

    spec: ScenarioSpec
    seed: int
    rows: list[InvariantResult] = field(default_factory=list)
    faults: list[FaultRecord] = field(default_factory=list)
    run_dir: Path | None = None
    error: str = ""

    @property
    def passed(self) -> bool:
        """True when the run completed and every row passed."""
        return not self.error and all(row.passed for row in self.rows)

    def first_violation(self) -> InvariantResult | None:
        """The failing row with the earliest violation (rows without a time last)."""
        failing = [r for r in self.rows if not r.passed]
        failing.sort(key=lambda r: (r.first_violation_ns is None, r.first_violation_ns or 0))
        return failing[0] if failing else None


def _end_of(fault: Fault) -> int:
    """When a fault's window (or state) is over, for waiting before the strategy stops."""
    schedule = fault.schedule
    if schedule.end_ns is not None:
        return schedule.end_ns
    if schedule.duration_ns is not None:
        return (fault.first_ns if fault.first_ns is not None else schedule.start_ns) + schedule.duration_ns
    return schedule.start_ns


class ScenarioHooks:
    """The ``scenarios.replay.RunHooks`` of one scenario run (see the module docstring)."""

    def __init__(self, spec: ScenarioSpec, seed: int, *, allow_crash: bool = False) -> None:
        self.spec = spec
        self.seed = seed
        self.allow_crash = allow_crash
        self.faults: list[Fault] = []
        self.observer: RunObserver | None = None
        self.start_balances: dict[str, dict[str, Decimal]] = {}
        self.rows: list[InvariantResult] = []
        self.records: list[FaultRecord] = []

    def world_built(self, world: ReplayWorld) -> None:
        """Build and install the faults, start watching."""
        world.allow_crash = self.allow_crash
        rng = SeededRng(self.seed).child("faults")
        start = world.time_range[0]
        self.faults = [build_fault(f.name, f.kind, f.target, f.schedule(start), rng, params=f.params)
                       for f in self.spec.faults]
        for fault in self.faults:
            fault.install(world)
        self.observer = RunObserver(world.adapters, world.engine)
        self.start_balances = {name: {asset: b.total for asset, b in venue.balances().items()}
                               for name, venue in world.venues.items()}

    async def before_start(self, world: ReplayWorld) -> None:
        """Subscribe the monitor to the watched symbols (opened when the engine connects)."""
        if self.spec.watch and self.observer is not None:
            await self.observer.watch(self.spec.watch)

    async def before_stop(self, world: ReplayWorld) -> None:
        """Wait for every fault's window to end, then ``settle_s`` for recovery to finish."""
        clock = world.clock
        last = max((_end_of(f) for f in self.faults), default=0)
        await clock.sleep_ns(max(0, last - clock.now_ns()) + self.spec.settle_ns)

    def finished(self, world: ReplayWorld) -> None:
        """Judge the run and record its faults and scorecard."""
        assert self.observer is not None
        engine = world.engine
        self.observer.add_audit(engine.audit_records())
        self.observer.final_check()
        facts = self.facts(world)
        self.rows = check_invariants(facts, self.spec.invariants)
        self.records = score_faults([f.record() for f in self.faults], self.observer.signals)
        sent = {name: len(venue.accepted) for name, venue in world.venues.items()}
        self.rows += check_expectations(self.spec.expect, self.records, self.observer.signals, sent, facts.end_ns,
                                        feed_gaps=self.observer.feed_gaps)
        world.recorder.extra("faults", [self._fault_row(r) for r in self.records], FAULTS_SCHEMA)
        world.recorder.extra("scorecard", [{"invariant": r.invariant, "passed": r.passed,
                                            "first_violation_ns": r.first_violation_ns, "detail": r.detail,
                                            "seed": self.seed} for r in self.rows], SCORECARD_SCHEMA)
        world.manifest["scenario"] = {"name": self.spec.name, "seed": self.seed,
                                      "passed": all(r.passed for r in self.rows),
                                      "failed": [r.invariant for r in self.rows if not r.passed]}

    def _fault_row(self, record: FaultRecord) -> dict[str, Any]:
        return {"name": record.name, "kind": record.kind, "target": record.target, "start_ns": record.start_ns,
                "end_ns": record.end_ns, "detected_ns": record.detected_ns, "recovered_ns": record.recovered_ns,
                "detail": record.detail, "effects": record.effects, "scheduled_start_ns": record.scheduled_start_ns,
                "seed": self.seed}

    def facts(self, world: ReplayWorld) -> RunFacts:
        """What the invariants look at (see ``scenarios.invariants.RunFacts``)."""
        assert self.observer is not None
        engine, journal = world.engine, world.journal
        assert journal is not None, "scenario runs always keep a journal"
        now = world.clock.now_ns()
        flagged = StuckOrderMonitor(engine.orders, world.clock, threshold_ns=1, quiet_threshold_ns=1)
        stuck = {s.client_order_id for s in flagged.scan()}
        ours: dict[tuple[str, str], OurOrder] = {}
        for row in journal.orders():  # every session's orders, as last journaled
            ours[(row["venue"], row["client_order_id"])] = OurOrder(
                row["venue"], row["client_order_id"], OrderStatus(row["status"]), Decimal(row["filled_quantity"]))
        for order in engine.orders:
            reason = ""
            if order.client_order_id in stuck:
                reason = order.history[-1].reason if order.history else order.status.value
            ours[(order.venue, order.client_order_id)] = OurOrder(order.venue, order.client_order_id, order.status,
                                                                 order.filled_quantity, reason)
        intents = journal.table("intents")
        known = {str(intent["client_order_id"]) for intent in intents}
        latest: dict[str, str] = {}
        for intent in intents:  # in id order: the last intent of each client order id decides
            latest[str(intent["client_order_id"])] = str(intent["state"])
        failed = {coid for coid, state in latest.items() if state == "FAILED"}
        known |= {coid for _, coid in ours}
        positions = {(p.venue, p.symbol): (p.quantity, p.average_price if p.quantity != 0 else Decimal(0))
                     for p in engine.positions.positions()}
        return RunFacts(
            venues=world.venues, requests={name: a.desk.log for name, a in world.adapters.items()},
            start_balances=self.start_balances, journal_fills=journal.fills(), audit=engine.audit_records(),
            orders=list(ours.values()), known_client_ids=known, positions=positions, end_ns=now,
            injected={f.kind for f in self.faults}, failed_intents=failed, book_checks=self.observer.book_checks,
            resyncs=self.observer.resyncs)


def engine_config_for(spec: ScenarioSpec, *, id_prefix: str = "h") -> EngineConfig:
    """The engine's configuration with the scenario's ``[engine]`` overrides."""
    overrides: dict[str, Any] = dict(spec.engine)
    return replace(EngineConfig(), id_prefix=id_prefix, **overrides)


def run_scenario(spec: ScenarioSpec, *, seed: int | None = None, out_dir: Path = Path("runs"),
                 cache_dir: Path | None = None, progress: bool | None = False) -> ScenarioResult:
    """Run one seed of ``spec`` (default: its own seed); never raises for a failing run."""
    seed = spec.seed if seed is None else seed
    if spec.world == "fix":
        from scenarios.fix_run import run_fix_scenario

        fix_result: ScenarioResult = run_fix_scenario(spec, seed=seed, out_dir=out_dir)
        return fix_result
    if any(f.kind == "crash" for f in spec.faults):
        from scenarios.crash import run_crash_scenario

        return run_crash_scenario(spec, seed=seed, out_dir=out_dir, cache_dir=cache_dir or default_cache_dir())
    files = resolve_data(spec, cache_dir or default_cache_dir())
    hooks = ScenarioHooks(spec, seed)
    result = ScenarioResult(spec, seed)
    try:
        run = run_replay(files, list(spec.venues), spec.strategy, params=spec.params, seed=seed, out_dir=out_dir,
                         progress=progress, router=spec.router, hooks=hooks, engine_config=engine_config_for(spec),
                         extra_config=_extra_config(spec), name=spec.name)
    except RunFailedError as failed:
        result.error = str(failed)
        result.run_dir = failed.run_dir
        result.rows, result.faults = hooks.rows, hooks.records
        return result
    result.run_dir = run.run_dir
    result.rows, result.faults = hooks.rows, hooks.records
    return result


def _extra_config(spec: ScenarioSpec) -> dict[str, Any]:
    return {"scenario": spec.name, "scenario_sha256": spec.text_sha256,
            "faults": [f.to_toml() for f in spec.faults], "engine": dict(sorted(spec.engine.items()))}


def summary_lines(results: Sequence[ScenarioResult], *, per_fault: bool = True) -> list[str]:
    """The scorecard as text: per seed, each invariant pass/fail and each fault's detection and recovery."""
    lines: list[str] = []
    for result in results:
        spec = result.spec
        verdict = "PASS" if result.passed else "FAIL"
        lines.append(f"scenario {spec.name} seed {result.seed}: {verdict}"
                     + (f" (run {result.run_dir})" if result.run_dir else ""))
        if result.error:
            lines.append(f"  the run failed: {result.error}")
        for row in result.rows:
            mark = "ok  " if row.passed else "FAIL"
            when = f" first at {row.first_violation_ns}" if row.first_violation_ns is not None else ""
            lines.append(f"  {mark} {row.invariant}{when}: {row.detail}")
        if per_fault:
            for fault in result.faults:
                lines.append(f"  fault {fault.name} ({fault.kind} on {fault.target}): "
                             f"detect {_delta(fault.start_ns, fault.detected_ns)}, "
                             f"recover {_delta(fault.start_ns, fault.recovered_ns)}; {fault.detail}")
        if not result.passed:
            first = result.first_violation()
            if first is not None:
                at = first.first_violation_ns
                lines.append(f"  first violation: {first.invariant} at virtual time {at} (seed {result.seed})")
    return lines


def _delta(start: int | None, end: int | None) -> str:
    if start is None or end is None:
        return "-"
    return f"{Decimal(end - start) / 1_000_000_000:.3f} s"


def seeds_of(spec: ScenarioSpec, count: int) -> list[int]:
    """The ``--seeds N`` seeds of a scenario: its own seed and the ``count - 1`` after it."""
    return [spec.seed + i for i in range(count)]


def by_name(results: Sequence[ScenarioResult]) -> Mapping[str, list[ScenarioResult]]:
    """Results grouped by scenario name."""
    grouped: dict[str, list[ScenarioResult]] = {}
    for result in results:
        grouped.setdefault(result.spec.name, []).append(result)
    return grouped

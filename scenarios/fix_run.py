"""Running a FIX scenario: the session layer between a client and a venue, faults on the link, invariants.

``run_fix_scenario`` builds a ``scenarios.fix_link.FixLink`` in a ``SimRuntime`` seeded by the
scenario, installs the ``fix_*`` faults, runs it for ``[fix] minutes`` and judges it:

* ``fix_orders_answered_once``: every order the client sent got exactly one execution report
  (none lost in a gap, none doubled by a resend), unless FIX was disabled before it could be;
* ``fix_sequences_agree``: at the end each side expects exactly the next number the other sends
  (after drops and gaps the sessions resynchronised);
* ``fix_no_gap_left``: neither session is still waiting for a resend.

Faults are scored like the venue scenarios' (``scenarios.scorecard``), from the link's
session-event signals, and the run directory gets ``faults.parquet`` and ``scorecard.parquet``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harness.rng import SeededRng
from reports.run_dir import RunDirectory
from reports.run_output import RunRecorder, package_versions
from scenarios.fix_link import FixLink, FixSettings
from scenarios.invariants import InvariantResult
from scenarios.replay import run_id_for
from scenarios.scenario_file import ScenarioSpec
from scenarios.scorecard import check_expectations, score_faults
from sim.faults import build_fault
from sim.kernel.runtime import SimRuntime

__all__ = ["FIX_INVARIANTS", "run_fix_scenario"]

START_NS = 1_723_075_200_000_000_000


def _answered_once(link: FixLink) -> InvariantResult:
    problems = [(ts, f"{clordid}: {len(link.outcomes.get(clordid, []))} answers")
                for clordid, ts in link.sent.items() if len(link.outcomes.get(clordid, [])) != 1]
    problems.sort()
    if problems:
        return InvariantResult("fix_orders_answered_once", False, problems[0][0],
                               f"{len(problems)} order(s) not answered once: " + "; ".join(p for _, p in problems[:5]))
    return InvariantResult("fix_orders_answered_once", True, None, f"{len(link.sent)} orders, each answered once")


def _sequences_agree(link: FixLink) -> InvariantResult:
    client, venue = link.client, link.venue
    ok = client.next_sender_seq == venue.next_target_seq and venue.next_sender_seq == client.next_target_seq
    detail = (f"client sends {client.next_sender_seq}, venue expects {venue.next_target_seq}; venue sends "
              f"{venue.next_sender_seq}, client expects {client.next_target_seq}")
    if not link.connected:
        return InvariantResult("fix_sequences_agree", True, None, f"not connected at the end (disabled); {detail}")
    return InvariantResult("fix_sequences_agree", ok, None if ok else link.clock.now_ns(), detail)


def _no_gap_left(link: FixLink) -> InvariantResult:
    open_gaps = [name for name, session in (("client", link.client), ("venue", link.venue))
                 if session._gap_end is not None]
    if open_gaps:
        return InvariantResult("fix_no_gap_left", False, link.clock.now_ns(),
                               f"still waiting for a resend: {', '.join(open_gaps)}")
    return InvariantResult("fix_no_gap_left", True, None, "no session waits for a resend")


FIX_INVARIANTS: Mapping[str, Callable[[FixLink], InvariantResult]] = {
    "fix_orders_answered_once": _answered_once,
    "fix_sequences_agree": _sequences_agree,
    "fix_no_gap_left": _no_gap_left,
}
"""The invariants of a FIX scenario, by name."""


def run_fix_scenario(spec: ScenarioSpec, *, seed: int, out_dir: Path) -> Any:
    """Run one seed of a FIX scenario; returns a ``scenarios.scenario_run.ScenarioResult``."""
    from scenarios.scenario_run import FAULTS_SCHEMA, SCORECARD_SCHEMA, ScenarioResult

    settings = spec.fix or FixSettings()
    with SimRuntime(seed=seed, start_ns=START_NS) as runtime:
        link = FixLink(runtime, settings)
        rng = SeededRng(seed).child("faults")
        faults = [build_fault(f.name, f.kind, f.target, f.schedule(START_NS), rng, params=f.params)
                  for f in spec.faults]
        for fault in faults:
            fault.install(link)
        runtime.run(link.run())
        rows = [FIX_INVARIANTS[name](link) for name in spec.invariants]
        records = score_faults([f.record() for f in faults], link.signals)
        rows += check_expectations(spec.expect, records, link.signals, {"fix": len(link.sent)}, runtime.now_ns())
    result = ScenarioResult(spec, seed, rows, records)
    config = {"strategy": f"fix:{spec.name}", "seed": seed, "scenario": spec.name,
              "scenario_sha256": spec.text_sha256, "faults": [f.to_toml() for f in spec.faults]}
    run = RunDirectory(out_dir, run_id_for(config, {}, name=spec.name))
    manifest: dict[str, Any] = {"config": config, "versions": package_versions(),
                                "scenario": {"name": spec.name, "seed": seed, "passed": result.passed}}
    work = run.begin(manifest)
    recorder = RunRecorder()
    recorder.extra("faults", [{"name": r.name, "kind": r.kind, "target": r.target, "start_ns": r.start_ns,
                               "end_ns": r.end_ns, "detected_ns": r.detected_ns, "recovered_ns": r.recovered_ns,
                               "detail": r.detail, "effects": r.effects, "scheduled_start_ns": r.scheduled_start_ns,
                               "seed": seed} for r in records], FAULTS_SCHEMA)
    recorder.extra("scorecard", [{"invariant": r.invariant, "passed": r.passed,
                                  "first_violation_ns": r.first_violation_ns, "detail": r.detail, "seed": seed}
                                 for r in rows], SCORECARD_SCHEMA)
    recorder.event(START_NS, "fix", f"{len(link.sent)} orders, {len(link.signals)} session events")
    manifest["row_counts"] = recorder.write_tables(work)
    result.run_dir = run.publish(manifest)
    return result

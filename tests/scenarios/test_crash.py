"""Crash safety: the harness killed with a real SIGKILL at random points, restarted from its journal, nothing lost.

Each kill point is a scenario with one ``crash`` fault: at a time, or on a request (just before the
venue sees it, or just after the venue handled it and before its answer is read). The first
process dies by SIGKILL (the runner checks the exit status), a second one restarts from the journal
against the venue rebuilt from its own request log, and every invariant must hold: no order lost,
none duplicated, every fill journaled once, positions and balances equal the venue's.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from scenarios.scenario_file import load_scenario
from scenarios.scenario_run import run_scenario, summary_lines

BASE = """\
[scenario]
name = "{name}"
description = "a kill point"
seed = {seed}

[data.synthetic]
minutes = 3
trade_every_ms = 300
quote_every_ms = 300

[strategy]
path = "scenarios.probe_strategies:RestingLadder"
params = {{ size = "0.001", levels = "3", spacing_ticks = "1", max_distance_ticks = "6", max_position = "1" }}

[[faults]]
name = "sigkill"
kind = "crash"
target = "harness"
at_s = {at_s}
{trigger}
"""


def kill_points(count: int, seed: int) -> list[tuple[str, str, str]]:
    """``count`` seeded kill points: (name, at_s, trigger and parameter lines)."""
    rng = random.Random(seed)
    points = []
    for i in range(count):
        how = rng.choice(("at_time", "before_venue", "after_venue"))
        at = rng.randrange(3, 150)
        if how == "at_time":
            trigger = ""
        else:
            method = rng.choice(("submit_order", "submit_order", "cancel_order"))
            trigger = (f'trigger = {{ on = "{method}", nth = {rng.randint(1, 3)} }}\n'
                       f'params = {{ when = "{how}", venue = "binance" }}')
        points.append((f"kill-{i}-{how}", str(at), trigger))
    return points


def run_point(tmp_path: Path, cache: Path, name: str, at_s: str, trigger: str, seed: int) -> None:
    path = tmp_path / f"{name}.toml"
    path.write_text(BASE.format(name=name, seed=seed, at_s=at_s, trigger=trigger), encoding="utf-8")
    result = run_scenario(load_scenario(path), out_dir=tmp_path / "runs", cache_dir=cache)
    assert result.passed, "\n".join(summary_lines([result]))
    rows = {r.invariant: r.passed for r in result.rows}
    assert rows["no_lost_orders"] and rows["unique_idempotency_keys"] and rows["positions_match"]
    assert rows["fault recovered: sigkill"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("crash-cache")


@pytest.mark.parametrize(("name", "at_s", "trigger"), [
    ("after-an-accepted-submit", "20", 'trigger = { on = "submit_order", nth = 2 }\n'
                                       'params = { when = "after_venue", venue = "binance" }'),
    ("at-a-time", "77", ""),
])
def test_a_kill_and_a_restart_lose_nothing(tmp_path: Path, cache: Path, name: str, at_s: str, trigger: str) -> None:
    run_point(tmp_path, cache, name, at_s, trigger, seed=7)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "at_s", "trigger"), kill_points(24, seed=2024))
def test_twenty_four_random_kill_points_lose_nothing(tmp_path: Path, cache: Path, name: str, at_s: str,
                                                     trigger: str) -> None:
    run_point(tmp_path, cache, name, at_s, trigger, seed=int(name.split("-")[1]) + 100)

"""The randomized fault search finds a planted bug, shrinks it to at most three faults, and writes a reproducer.

The base scenario trades market orders through ``planted_adapter.BlindResendAdapter``, which
resends a timed-out submit blindly. The search (a fixed seed, two worker processes) must find a
schedule that breaks an invariant, shrink it, and write a scenario file that reproduces the
failure on its own. The same search over the correct ``SimAdapter`` finds nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.fuzz import draw_faults, fuzz, shrink
from scenarios.scenario_file import FaultSpec, load_scenario
from scenarios.scenario_run import run_scenario

BASE = """\
[scenario]
name = "planted"
description = "market orders through an adapter that resends timed-out submits blindly"
seed = 3
settle_s = 30

[data.synthetic]
minutes = 3
trade_every_ms = 300
quote_every_ms = 300

[[venues]]
name = "binance"
profile = "binance"
{adapter}

[strategy]
path = "strategies.twap:TwapTaker"
params = {{ quantity = "0.3", slices = "30", interval_s = "5", order_type = "MARKET" }}
"""

KINDS = ("timeout", "duplicate", "delay")


def test_the_search_finds_the_planted_bug_and_shrinks_it(tmp_path: Path) -> None:
    text = BASE.format(adapter='adapter = "planted_adapter:BlindResendAdapter"')
    failures = fuzz(text, runs=8, seed=12, workers=2, cache_dir=tmp_path / "cache", out_dir=tmp_path / "found",
                    kinds=KINDS)
    assert failures, "the search missed the planted bug"
    for failure in failures:
        assert 1 <= len(failure.minimal) <= 3 and len(failure.minimal) <= len(failure.outcome.faults)
        assert "unique_idempotency_keys" in failure.outcome.failed
        assert any(f.kind == "timeout" for f in failure.minimal)  # what the bug needs: a lost answer
    reproducer = failures[0].path
    assert reproducer is not None and reproducer.exists()
    again = run_scenario(load_scenario(reproducer), out_dir=tmp_path / "again", cache_dir=tmp_path / "cache")
    assert not again.passed
    assert {r.invariant for r in again.rows if not r.passed} >= {"unique_idempotency_keys"}


def test_the_same_search_over_the_correct_adapter_finds_nothing(tmp_path: Path) -> None:
    assert fuzz(BASE.format(adapter=""), runs=8, seed=12, workers=2, cache_dir=tmp_path / "cache", kinds=KINDS) == []


def test_schedules_are_seeded_and_shrinking_is_minimal() -> None:
    import random

    first = draw_faults(random.Random("7:1"), ["binance"], 600)
    assert first == draw_faults(random.Random("7:1"), ["binance"], 600)
    faults = [FaultSpec(f"f{i}", "drop", "binance.user") for i in range(7)]
    culprits = {"f2", "f5"}
    calls: list[int] = []

    def fails(subset: tuple[FaultSpec, ...]) -> bool:
        calls.append(1)
        return culprits <= {f.name for f in subset}

    assert {f.name for f in shrink(faults, fails)} == culprits
    with pytest.raises(ValueError, match="not a fuzzable fault kind: crash"):
        fuzz(BASE.format(adapter=""), runs=1, kinds=("crash",))

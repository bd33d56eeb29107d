"""A scenario run end to end: faults installed and scored, invariants checked, tables written, exit status.

A two-minute synthetic tape with a book, the resting ladder, and a market-data stream that dies
silently: the heartbeat must find it, the client reconnect, resubscribe and resync its book.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from harness.cli import main
from scenarios.scenario_file import ScenarioSpec, parse_scenario
from scenarios.scenario_run import run_scenario

SCENARIO = """\
[scenario]
name = "silent-market"
description = "the market-data stream dies silently"
seed = 5
settle_s = 20

[data.synthetic]
minutes = 2
book = true
trade_every_ms = 300
quote_every_ms = 300
book_every_ms = 500

[strategy]
path = "scenarios.probe_strategies:RestingLadder"
params = { size = "0.001", levels = "3", spacing_ticks = "2", max_position = "1" }

[[faults]]
name = "dead-market"
kind = "heartbeat_timeout"
target = "binance.market"
at_s = 20

[expect]
events = ["binance:market:down", "binance:market:up", "binance:market:resubscribed"]
"""


def spec(text: str = SCENARIO) -> ScenarioSpec:
    return parse_scenario(text, source="silent.toml", base_dir=Path("."))


def test_a_scenario_run_scores_its_faults_and_writes_both_tables(tmp_path: Path) -> None:
    result = run_scenario(spec(), out_dir=tmp_path / "runs", cache_dir=tmp_path / "cache")
    assert result.passed, [r for r in result.rows if not r.passed]
    (fault,) = result.faults
    assert fault.detected_ns is not None and fault.recovered_ns is not None and fault.start_ns is not None
    # silent: found by the heartbeat (30 s after connecting, then 10 s without pong), not at once
    assert 10 * 10**9 <= fault.detected_ns - fault.start_ns <= 40 * 10**9
    assert fault.recovered_ns > fault.detected_ns
    assert result.run_dir is not None
    faults = pq.read_table(result.run_dir / "faults.parquet")
    assert faults.column_names[:8] == ["name", "kind", "target", "start_ns", "end_ns", "detected_ns", "recovered_ns",
                                       "detail"]
    assert faults.column("detected_ns").to_pylist() == [fault.detected_ns]
    scorecard = pq.read_table(result.run_dir / "scorecard.parquet")
    assert scorecard.column_names[:4] == ["invariant", "passed", "first_violation_ns", "detail"]
    rows = dict(zip(scorecard.column("invariant").to_pylist(), scorecard.column("passed").to_pylist(), strict=True))
    assert rows["book_matches_after_resync"] and rows["expect event binance:market:resubscribed"]
    assert all(rows.values())


def test_the_same_seed_gives_byte_identical_tables(tmp_path: Path) -> None:
    first = run_scenario(spec(), out_dir=tmp_path / "a", cache_dir=tmp_path / "cache")
    again = run_scenario(spec(), out_dir=tmp_path / "b", cache_dir=tmp_path / "cache")
    assert first.run_dir is not None and again.run_dir is not None
    for table in ("faults", "scorecard", "fills", "orders", "audit"):
        assert (first.run_dir / f"{table}.parquet").read_bytes() == (again.run_dir / f"{table}.parquet").read_bytes()


def test_the_cli_exits_non_zero_naming_the_seed_and_the_time(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "never.toml"
    path.write_text(SCENARIO.replace('"binance:market:resubscribed"]', '"binance:user:down"]'), encoding="utf-8")
    code = main(["scenario", "run", str(path), "--seeds", "2", "--out", str(tmp_path / "runs"),
                 "--cache", str(tmp_path / "cache"), "--quiet"])
    out = capsys.readouterr()
    assert code == 1
    assert "0 of 2 scenario run(s) passed" in out.out
    assert "FAILED silent-market seed 5: expect event binance:user:down at virtual time 17" in out.err
    assert "FAILED silent-market seed 6:" in out.err
    bad = tmp_path / "bad.toml"
    bad.write_text(SCENARIO.replace("seed = 5", "seed = -1"), encoding="utf-8")
    assert main(["scenario", "run", str(bad)]) == 2
    assert "bad.toml:4: scenario.seed: must be >= 0" in capsys.readouterr().err

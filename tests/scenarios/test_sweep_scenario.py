"""Scenario sweeps: one scenario file over seeds and strategy parameters, verdicts in sweep.json, the matrix.

A short synthetic scenario (a market-data stream that dies silently) is swept over two seeds and two
ladder sizes in a local pool; a copy whose expectation cannot be met shows the sweep reporting a
violation (exit 1) while every run still completes; bad arguments are refused before any run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dashboard.matrix import scenario_matrix
from harness.cli import main

SCENARIO = """\
[scenario]
name = "silent-market-sweep"
description = "the market-data stream dies silently"
seed = 5
settle_s = 10

[data.synthetic]
minutes = 1
book = true
trade_every_ms = 400
quote_every_ms = 400
book_every_ms = 800

[strategy]
path = "scenarios.probe_strategies:RestingLadder"
params = { size = "0.001", levels = "2", spacing_ticks = "2", max_position = "1" }

[[faults]]
name = "dead-market"
kind = "heartbeat_timeout"
target = "binance.market"
at_s = 10

[expect]
events = ["binance:market:down", "binance:market:up"]
"""


def _write(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_scenario_sweep_runs_the_grid_and_the_matrix_reads_it(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    scenario = _write(tmp_path, SCENARIO, "silent.toml")
    out = tmp_path / "runs"
    code = main(["sweep", str(scenario), "--seeds", "2", "--param", "size=0.001,0.002", "--out", str(out),
                 "--workers", "2", "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "sweep: 4 runs (scenario" in printed and "4 complete, 0 failed, 0 violating an invariant" in printed
    [folder] = [p for p in out.iterdir() if p.name.startswith("sweep-")]
    manifest = json.loads((folder / "sweep.json").read_text())
    assert manifest["kind"] == "scenario" and manifest["status"] == "complete"
    assert manifest["grid"] == {"seeds": [0, 1], "params": {"size": ["0.001", "0.002"]},
                                "scenario": "silent-market-sweep"}
    assert [(p["seed"], p["params"], p["passed"]) for p in manifest["points"]] == [
        (0, {"size": "0.001"}, True), (1, {"size": "0.001"}, True),
        (0, {"size": "0.002"}, True), (1, {"size": "0.002"}, True)]
    runs = {}
    for point in manifest["points"]:
        run_dir = folder / point["run_dir"]
        config = json.loads((run_dir / "manifest.json").read_text())["config"]
        assert config["params"]["size"] == point["params"]["size"] and config["seed"] == point["seed"]
        assert config["params"]["levels"] == "2"  # the file's other parameters are kept
        runs[point["run_dir"]] = (pq.read_table(run_dir / "faults.parquet").to_pylist(),
                                  pq.read_table(run_dir / "scorecard.parquet").to_pylist())
    assert len(runs) == 4
    faults, invariants, cells = scenario_matrix(runs)
    assert faults == ["heartbeat_timeout"]
    assert invariants and all(cells[("heartbeat_timeout", name)] == (4, 4) for name in invariants)


def test_a_violated_expectation_is_reported_with_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    never = SCENARIO.replace('"binance:market:up"]', '"binance:market:up", "binance:user:resubscribed"]')
    scenario = _write(tmp_path, never.replace("silent-market-sweep", "silent-never"), "never.toml")
    code = main(["sweep", str(scenario), "--seeds", "1", "--out", str(tmp_path / "runs"), "--workers", "1",
                 "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 1
    assert "1 complete, 0 failed, 1 violating an invariant" in printed and " violated " in printed
    [folder] = [p for p in (tmp_path / "runs").iterdir() if p.name.startswith("sweep-")]
    [point] = json.loads((folder / "sweep.json").read_text())["points"]
    assert point["status"] == "complete" and point["passed"] is False and point["first_violation"]


@pytest.mark.parametrize(("extra", "message"), [
    (["--venue", "binance"], "takes only --param"),
    (["--param", "size=1,2", "--param", "size=3"], "both as an axis and as a fixed value"),
    (["--seed", "3"], "a sweep sets it"),
])
def test_bad_sweep_arguments_are_refused_before_any_run(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        extra: list[str], message: str) -> None:
    scenario = _write(tmp_path, SCENARIO, "silent.toml")
    assert main(["sweep", str(scenario), *extra, "--out", str(tmp_path / "runs")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_missing_or_invalid_scenario_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "runs")]) == 2
    assert "nope.toml: no such scenario file" in capsys.readouterr().err
    bad = _write(tmp_path, SCENARIO.replace("seed = 5", "seed = 5\nsede = 6"), "bad.toml")
    assert main(["sweep", str(bad), "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "sede" in err

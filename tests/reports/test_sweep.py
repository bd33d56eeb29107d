"""Sweeps: a grid of replays in a local process pool and on a Dask LocalCluster, byte for byte the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synthetic import write_tape

from harness.cli import main
from scenarios.sweep import SweepError, sweep_kind_for
from scenarios.sweep_replay import split_axes

MM = "strategies.market_maker:PassiveMarketMaker"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tape(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("tape") / "data"
    write_tape(data, "binance", "BTCUSDT", n=600)
    return data


def _args(data: Path, out: Path) -> list[str]:
    return ["sweep", "replay", "--data", str(data), "--venue", "binance", "--strategy", MM,
            "--param", "size=0.001,0.002", "--param", "requote_ticks=1", "--seeds", "2", "--out", str(out),
            "--no-progress"]


def test_local_pool_and_dask_cluster_write_identical_run_directories(tape: Path, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    distributed = pytest.importorskip("distributed")
    assert main([*_args(tape, tmp_path / "local"), "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "sweep: 4 runs" in out and "4 complete, 0 failed" in out
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        assert main([*_args(tape, tmp_path / "dask"), "--cluster", cluster.scheduler_address]) == 0
    assert f"on Dask at {cluster.scheduler_address}" in capsys.readouterr().out
    [local] = list((tmp_path / "local").iterdir())
    [dask] = list((tmp_path / "dask").iterdir())
    assert local.name == dask.name and local.name.startswith("sweep-")
    local_files, dask_files = _files(local), _files(dask)
    assert sorted(local_files) == sorted(dask_files)
    assert [k for k in local_files if local_files[k] != dask_files[k]] == []
    manifest = json.loads((local / "sweep.json").read_text())
    assert manifest["status"] == "complete" and manifest["grid"] == {"seeds": [0, 1], "params": {"size": ["0.001",
                                                                                                        "0.002"]}}
    points = [(p["seed"], p["params"], p["status"]) for p in manifest["points"]]
    assert points == [(0, {"size": "0.001"}, "complete"), (1, {"size": "0.001"}, "complete"),
                      (0, {"size": "0.002"}, "complete"), (1, {"size": "0.002"}, "complete")]
    runs = {p["run_dir"] for p in manifest["points"]}
    assert len(runs) == 4 and all((local / r / "manifest.json").is_file() for r in runs)
    # each run has the grid's values and the fixed parameter
    configs = [json.loads((local / p["run_dir"] / "manifest.json").read_text())["config"] for p in manifest["points"]]
    assert [(c["seed"], c["params"]) for c in configs] == [
        (0, {"size": "0.001", "requote_ticks": "1"}), (1, {"size": "0.001", "requote_ticks": "1"}),
        (0, {"size": "0.002", "requote_ticks": "1"}), (1, {"size": "0.002", "requote_ticks": "1"})]


def test_a_failing_point_is_recorded_and_the_rest_go_on(tape: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sweep", "replay", "--data", str(tape), "--venue", "binance", "--strategy", MM,
            "--param", "size=0.001,lots", "--seeds", "1", "--out", str(tmp_path), "--workers", "1", "--no-progress"]
    assert main(args) == 1
    [folder] = list(tmp_path.iterdir())
    manifest = json.loads((folder / "sweep.json").read_text())
    assert manifest["status"] == "failed"
    assert [p["status"] for p in manifest["points"]] == ["complete", "failed"]
    assert manifest["points"][1]["error"]
    assert "1 complete, 1 failed" in capsys.readouterr().out


def test_sweep_arguments_are_checked(tape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ["--out", str(tmp_path)]
    assert main(["sweep", "replay", "--data", str(tape), "--strategy", MM, "--seed", "3", *out]) == 2
    assert "--seed: a sweep sets it" in capsys.readouterr().err
    assert main(["sweep", "replay", "--data", str(tape), "--strategy", MM, "--seeds", "0", *out]) == 2
    assert "--seeds: expected at least 1" in capsys.readouterr().err
    assert main(["sweep", "replay", "--data", str(tape), "--strategy", MM, "--param", "size=1,1", *out]) == 2
    assert "each value once" in capsys.readouterr().err
    assert main(["sweep", "scenario.toml", "--seeds", "2"]) == 2
    assert "scenario.toml: no such scenario file" in capsys.readouterr().err  # tests/scenarios runs real ones
    assert main(["sweep", "nonsense"]) == 2
    assert "unknown sweep target" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing ran


def test_axes_are_split_from_fixed_parameters_and_data_made_absolute(tmp_path: Path) -> None:
    base, axes = split_axes(["--data", "a.parquet", "b.parquet", "--param", "x=1,2", "--param=y=3", "--venue", "v"])
    assert axes == {"x": ["1", "2"]}
    assert base == ["--data", str(Path("a.parquet").resolve()), str(Path("b.parquet").resolve()), "--param", "y=3",
                    "--venue", "v"]
    with pytest.raises(SweepError, match="--out"):
        split_axes(["--out", "x"])
    assert sweep_kind_for("replay").plan("replay", ["--data", str(tmp_path), "--strategy", MM], [1, 2],
                                         tmp_path).grid == {"seeds": [1, 2], "params": {}}

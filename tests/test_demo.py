"""``harness demo`` runs end to end on the shipped sample (no ../shared needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.cli import main
from scenarios.demo import sample_paths


def test_sample_ships_inside_the_package() -> None:
    paths = sample_paths()
    assert [p.name for p in paths] == ["binance_spot_btcusdt_20240808.jsonl.gz",
                                       "binance_spot_btcusdt_20240809.jsonl.gz"]
    assert all(p.is_file() and p.stat().st_size > 1_000_000 for p in paths)
    assert (paths[0].parent / "LICENSE-hftbacktest").read_text().count("MIT License") == 1


def test_demo_imports_replays_and_rebuilds_the_book(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    imported = re.findall(r"imported \S+: (\d+) book, (\d+) quotes, (\d+) trades", out)
    assert imported == [("126090", "28040", "9757"), ("174021", "45134", "10147")]
    # every imported row was replayed exactly once
    assert "replayed 393189 events" in out
    assert "19904 trades, 73174 quotes, 300111 book rows" in out
    assert "gaps: none" in out and "crossed 0 times" in out
    assert (tmp_path / "demo-data" / "binance_spot_btcusdt_20240808.book.parquet").is_file()


def test_demo_runs_the_market_maker_and_names_the_run_directory(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path), "--seed", "7"]) == 0
    out = capsys.readouterr().out
    run_line = re.search(r"run directory: (\S+)", out)
    assert run_line is not None
    run_dir = Path(run_line.group(1))
    assert run_dir.parent == tmp_path and (run_dir / "manifest.json").is_file()
    orders = re.search(r"orders: (\d+) \(", out)
    fills = re.search(r"fills: (\d+) \((\d+) maker, (\d+) taker\)", out)
    assert orders is not None and int(orders.group(1)) > 100
    assert fills is not None and int(fills.group(1)) > 100
    assert fills.group(3) == "0"  # post-only quotes never take
    assert re.search(r"BTC/USDT: position -?[\d.]+, realized PnL -?[\d.]+, unrealized -?[\d.]+", out)
    last = out.strip().splitlines()[-1]
    assert last == f"open it in the dashboard: harness dashboard {tmp_path} --run {run_dir.name}"


def test_replay_command_writes_a_run_and_rejects_bad_arguments(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from scenarios.demo import import_sample

    data = tmp_path / "data"
    import_sample(data)
    args = ["replay", "--data", str(data), "--venue", "binance", "--strategy",
            "strategies.market_maker:PassiveMarketMaker", "--param", "size=0.002", "--seed", "5",
            "--out", str(tmp_path / "runs"), "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "strategy strategies.market_maker:PassiveMarketMaker, seed 5, venues binance" in out
    run_dirs = list((tmp_path / "runs").iterdir())
    assert len(run_dirs) == 1 and (run_dirs[0] / "fills.parquet").is_file()
    assert main(["replay", "--data", str(tmp_path / "missing"), "--strategy", "strategies.twap:TwapTaker"]) == 2
    assert "--data" in capsys.readouterr().err
    assert main(["replay", "--data", str(data), "--strategy", "no_such_module:Thing"]) == 2
    assert "no_such_module" in capsys.readouterr().err
    assert main(["replay", "--data", str(data), "--balance", "binance:BTC=lots", "--strategy",
                 "strategies.twap:TwapTaker"]) == 2
    assert "'lots' is not a number" in capsys.readouterr().err


def test_replay_router_arguments_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from scenarios.replay_cli import parse_router

    config = parse_router("lowest_fees", "0.5", ["okx", "binance"])
    assert config is not None and config.criteria.value == "LOWEST_FEES" and config.enable_splitting
    assert config.priority == ("okx", "binance") and str(config.split_threshold) == "0.5"
    assert parse_router(None, None, ["binance"]) is None
    data = tmp_path / "d.parquet"
    data.write_bytes(b"")
    assert main(["replay", "--data", str(data), "--strategy", "strategies.twap:TwapTaker", "--split-threshold",
                 "1"]) == 2
    assert "--split-threshold needs --router" in capsys.readouterr().err
    assert main(["replay", "--data", str(data), "--strategy", "strategies.twap:TwapTaker", "--router",
                 "fastest"]) == 2
    assert "criteria" in capsys.readouterr().err

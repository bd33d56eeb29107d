"""``harness demo`` runs end to end on the shipped sample (no ../shared needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.cli import main
from sim.demo import sample_paths


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

"""``harness replay`` killed with SIGKILL at random moments never leaves a run that looks complete.

Real processes: the test times one uninterrupted run, then starts the same replay again and
again, killing each at a seeded random moment within that time. After every kill the output
folder may hold only complete runs (manifest ``complete``, every table readable with the rows
the manifest counts) and clearly marked leftovers (``.partial`` / ``.failed``). A final rerun
must give byte-identical files to the uninterrupted run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from synthetic import write_tape

from reports.run_dir import read_status

KILLS = 22
ROOT = Path(__file__).resolve().parents[2]


def _replay(data: Path, out: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "harness.cli", "replay", "--data", str(data), "--venue", "binance",
            "--strategy", "strategies.market_maker:PassiveMarketMaker", "--param", "quote_on=trade",
            "--seed", "4", "--out", str(out), "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _check_folder(out: Path) -> None:
    """Only complete runs and marked leftovers; every complete run is whole."""
    if not out.exists():
        return
    for entry in out.iterdir():
        if entry.name.endswith((".partial", ".failed")):
            assert read_status(entry) != "complete", entry
            continue
        assert entry.is_dir() and read_status(entry) == "complete", f"{entry} is neither complete nor marked"
        manifest = json.loads((entry / "manifest.json").read_text())
        for table, rows in manifest["row_counts"].items():
            assert pq.read_table(entry / f"{table}.parquet").num_rows == rows, (entry, table)


@pytest.mark.slow
def test_replay_survives_kills_at_random_moments(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_tape(data, "binance", "BTCUSDT", n=12_000)
    reference = tmp_path / "reference"
    started = time.monotonic()
    done = _replay(data, reference)
    assert done.wait(timeout=300) == 0, done.stderr.read() if done.stderr else ""
    duration = time.monotonic() - started
    [expected] = list(reference.iterdir())
    out = tmp_path / "runs"
    chooser = random.Random(20261204)
    killed = 0
    for _ in range(KILLS):
        process = _replay(data, out)
        time.sleep(chooser.uniform(0.05, duration * 1.1))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait(timeout=300)
        _check_folder(out)
    assert killed >= KILLS // 2, f"only {killed} of {KILLS} processes were still running when killed"
    final = _replay(data, out)
    assert final.wait(timeout=300) == 0
    _check_folder(out)
    result = out / expected.name
    assert sorted(p.name for p in out.iterdir() if not p.name.endswith(".partial")) == [expected.name]
    for path in sorted(expected.iterdir()):
        assert (result / path.name).read_bytes() == path.read_bytes(), path.name

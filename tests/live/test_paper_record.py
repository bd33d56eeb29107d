"""``harness record`` and ``harness paper`` against the local venue.

Recording: a few seconds of a local venue's streams become hftbacktest-format lines and canonical
Parquet whose book rebuilds without a gap and that ``harness replay`` runs on. Paper trading:
``harness venue serve`` and ``harness paper`` as a user runs them (two processes, credentials
from the environment), the TWAP example trading until SIGINT, then a restart on the same journal.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from local_venue_helpers import ASK, BID, local_venue
from synthetic import write_tape

from harness.cli import main as harness_main
from harness.data.verify import verify_paths
from harness.model import Aggressor
from live.binance import BinanceEndpoints
from live.record import Recorder, import_recording, record_streams
from sim.market.feed import ReplayFeed

ROOT = Path(__file__).resolve().parents[2]
_NS = 1_000_000_000


def test_record_writes_hftbacktest_lines_and_parquet_that_replays(tmp_path: Path) -> None:
    async def body() -> Recorder:
        async with local_venue(speed=10) as venue:
            async def market() -> None:
                await asyncio.sleep(0.3)
                for i in range(20):
                    venue.book("BTCUSDT", [(BID - i, Decimal(1)), (BID - i - 1, Decimal(2))],
                               [(ASK + i, Decimal(1))])
                    venue.quote("BTCUSDT", BID - i, ASK + i)
                    venue.trade("BTCUSDT", BID - i, Decimal("0.01"), Aggressor.SELLER, trade_id=str(100 + i))
                    await asyncio.sleep(0.02)

            driver = asyncio.ensure_future(market())
            recorder = await record_streams(BinanceEndpoints.local(venue.rest_url), ["BTCUSDT"], tmp_path,
                                            clock=venue.clock, duration_ns=15 * _NS)
            await driver
            return recorder

    recorder = asyncio.run(body())
    (path,) = recorder.files.values()
    with gzip.open(path, "rt") as handle:
        lines = handle.read().splitlines()
    stamp = lines[0].partition(" ")[0]
    assert stamp.isdigit() and len(stamp) == 19
    kinds = {json.loads(line.partition(" ")[2]).get("stream", "snapshot").split("@", 1)[-1] for line in lines}
    assert kinds == {"snapshot", "depth@100ms", "bookTicker", "trade"}
    results = import_recording(recorder)
    outputs = results[0].outputs
    assert results[0].rows["trades"] == 20 and set(outputs) == {"book", "quotes", "trades"}
    report = verify_paths([outputs["book"]])
    assert report.gaps == []
    with ReplayFeed(list(outputs.values())) as feed:
        trades: list[int] = []
        feed.subscribe_trades(lambda t: trades.append(t.price))
        feed.run_all()
    assert len(trades) == 20 and trades[0] == int(BID * 10**9)
    code = harness_main(["replay", "--data", *map(str, outputs.values()), "--strategy",
                         "strategies.twap:TwapTaker", "--param", "quantity=0.001", "--param", "slices=1",
                         "--param", "interval_s=1", "--out", str(tmp_path / "runs"), "--no-progress"])
    assert code == 0


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "harness.cli", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _read_until(process: subprocess.Popen[str], predicate: Callable[[list[str]], object], lines: list[str],
                timeout_s: float = 60) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if predicate(lines):
            return
    raise AssertionError("timed out; output so far:\n" + "\n".join(lines[-30:]))


def test_paper_trades_the_twap_until_sigint_and_resumes_from_its_journal(tmp_path: Path) -> None:
    write_tape(tmp_path / "data", "binance", "BTCUSDT", n=3000, seed=2)
    secret = "paper-secret-0123456789abcdefghijklmnop"
    env = {**os.environ, "BINANCE_API_KEY": "paper-key-0123456789abcdef", "BINANCE_API_SECRET": secret,
           "PYTHONPATH": str(ROOT)}
    venue = _start(["venue", "serve", "--data", str(tmp_path / "data"), "--speed", "20"], env)
    try:
        out: list[str] = []
        _read_until(venue, lambda lines: "local venue" in lines[-1], out)
        url = out[-1].split(" on ", 1)[1].split(" ", 1)[0]
        journal = tmp_path / "journal.sqlite"
        twap = ["paper", "--local", url, "--strategy", "strategies.twap:TwapTaker", "--param", "quantity=0.01",
                "--param", "slices=10", "--param", "interval_s=20", "--journal", str(journal), "--speed", "20"]
        first = _start(twap, env)
        lines: list[str] = []
        _read_until(first, lambda got: sum(line.startswith("fill ") for line in got) >= 2, lines)
        first.send_signal(signal.SIGINT)
        rest, _ = first.communicate(timeout=60)
        lines += rest.splitlines()
        assert first.returncode == 0, "\n".join(lines)
        assert any(line.startswith("paper: stopped; session p0s") for line in lines)
        assert all(secret not in line and "paper-key-0123" not in line for line in lines)
        fills = [line for line in lines if line.startswith("fill ")]
        assert 2 <= len(fills) < 10  # stopped part-way through the ten slices
        again = _start([*twap, "--duration", "30"], env)
        second, _ = again.communicate(timeout=120)
        assert again.returncode == 0, second
        assert "paper: stopped; session p1s" in second  # a fresh id prefix: the old ids are never reused
        assert "0 discrepancies in reconciliation" in second  # the journal and the venue agree after the restart
    finally:
        venue.send_signal(signal.SIGINT)
        venue.communicate(timeout=30)

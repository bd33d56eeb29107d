"""``harness venue serve --profile bybit`` and ``harness paper --venue bybit`` as a user runs them.

Two processes on 127.0.0.1, credentials from ``BYBIT_API_KEY`` / ``BYBIT_API_SECRET``: the local
venue replays a synthetic tape over Bybit v5, and the TWAP example trades it through
``BybitAdapter`` for a fixed duration, then stops gracefully with the journal and the venue in
agreement. Neither the key nor the secret is ever printed.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from synthetic import write_tape
from test_paper_record import ROOT, _read_until, _start


def test_paper_trades_the_twap_on_the_bybit_front(tmp_path: Path) -> None:
    write_tape(tmp_path / "data", "bybit", "BTCUSDT", n=3000, seed=2)
    key, secret = "bybit-paper-key-0123456789", "bybit-paper-secret-0123456789abcdefghij"
    env = {**os.environ, "BYBIT_API_KEY": key, "BYBIT_API_SECRET": secret, "PYTHONPATH": str(ROOT)}
    venue = _start(["venue", "serve", "--profile", "bybit", "--data", str(tmp_path / "data"), "--speed", "20"], env)
    try:
        out: list[str] = []
        _read_until(venue, lambda lines: "local venue" in lines[-1], out)
        assert "Bybit v5" in out[-1]
        url = out[-1].split(" on ", 1)[1].split(" ", 1)[0]
        paper = _start(["paper", "--venue", "bybit", "--local", url, "--strategy", "strategies.twap:TwapTaker",
                        "--param", "quantity=0.01", "--param", "slices=5", "--param", "interval_s=5",
                        "--journal", str(tmp_path / "journal.sqlite"), "--speed", "20", "--duration", "40"], env)
        output, _ = paper.communicate(timeout=120)
        assert paper.returncode == 0, output
        fills = [line for line in output.splitlines() if line.startswith("fill ")]
        assert len(fills) >= 5, output  # every slice of the TWAP took liquidity
        assert "0 discrepancies in reconciliation" in output, output
        assert key not in output and secret not in output
    finally:
        venue.send_signal(signal.SIGINT)
        rest, _ = venue.communicate(timeout=30)
        assert secret not in rest

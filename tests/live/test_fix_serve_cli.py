"""``harness venue serve`` as a user starts it: ``--fix PORT`` (the acceptor in the profile's dialect) and
``--profile coinbase`` (a CDP REST key), each with credentials made for the run and announced, never printed."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from harness.clock import WallClock
from harness.model import OrderRequest, OrderType, Side
from harness.registry import Credentials
from live.fix.dialects import BINANCE_FIX, ExecKind
from live.fix.order_entry import FixEndpoint, FixOrderEntry

ROOT = Path(__file__).resolve().parents[2]


def test_serve_with_fix_accepts_a_logon_with_the_printed_key_and_takes_an_order() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("BINANCE_API_KEY", None)
    process = subprocess.Popen([sys.executable, "-m", "harness.cli", "venue", "serve", "--fix", "0"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not any(line.startswith("FIX FIX.4.4 order entry") for line in lines):
            line = process.stdout.readline()
            assert line, f"serve ended early: {process.stderr.read() if process.stderr else ''}"
            lines.append(line)
        text = "".join(lines)
        key, pem_path = re.search(r"FIX API key (\S+), Ed25519 private key in (\S+) ", text).groups()  # type: ignore[union-attr]
        port = int(re.search(r"order entry on tcp://127\.0\.0\.1:(\d+)", text).group(1))  # type: ignore[union-attr]
        assert "drop copy on tcp://127.0.0.1:" in text and "TargetCompID SPOT" in text
        assert oct(Path(pem_path).stat().st_mode & 0o777) == "0o600"

        async def trade() -> ExecKind:
            clock = WallClock()
            client = FixOrderEntry(BINANCE_FIX, Credentials(key, Path(pem_path).read_text()),
                                   FixEndpoint("127.0.0.1", port, "CLI1"), clock, venue="binance")
            await client.start()
            try:
                request = OrderRequest("cli-1", "binance", "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal("0.01"),
                                       price=Decimal(50000))
                msg_type, body = BINANCE_FIX.new_order(request, clock.now_ns())
                answer = await client.request(msg_type, body, "cli-1")
                assert not isinstance(answer, Exception)
                return answer.kind  # type: ignore[union-attr]
            finally:
                await client.stop()

        assert asyncio.run(trade()) is ExecKind.NEW
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)


@pytest.mark.parametrize("args", [["--profile", "okx", "--fix", "0"], ["--fix", "70000"]])
def test_serve_with_fix_refuses_bad_arguments(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    assert main(["venue", "serve", *args]) == 2
    err = capsys.readouterr().err
    assert "FIX dialect" in err or "--fix" in err


def test_serve_coinbase_makes_a_rest_key_for_the_run_that_its_rest_accepts(tmp_path: Path) -> None:
    """``--profile coinbase`` prints the CDP key's name and its PEM file (mode 0600), never the key itself;
    a client signing JWTs with that file reads the venue's accounts, and another key is refused."""
    from harness.contract import FatalError
    from live.coinbase.rest import CoinbaseRest, CoinbaseRestEndpoint

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "harness.cli", "venue", "serve", "--profile", "coinbase",
                                "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not any(line.startswith("local venue coinbase on ") for line in lines):
            line = process.stdout.readline()
            assert line, f"serve ended early: {process.stderr.read() if process.stderr else ''}"
            lines.append(line)
        text = "".join(lines)
        found = re.search(r"Advanced Trade REST key (\S+), EC private key in (\S+) ", text)
        url = re.search(r"local venue coinbase on (http://127\.0\.0\.1:\d+)", text)
        assert found is not None and url is not None, text
        name, pem_path = found.groups()
        pem = Path(pem_path).read_text()
        assert oct(Path(pem_path).stat().st_mode & 0o777) == "0o600" and pem.splitlines()[1] not in text

        async def read() -> tuple[list[str], str]:
            clock = WallClock()
            endpoint = CoinbaseRestEndpoint.local(url.group(1))
            rest = CoinbaseRest(endpoint, Credentials(name, pem), clock)
            other = CoinbaseRest(endpoint, Credentials("organizations/local/apiKeys/other", pem), clock)
            try:
                currencies = sorted(a["currency"] for a in (await rest.get("/accounts"))["accounts"])
                with pytest.raises(FatalError) as refused:
                    await other.get("/accounts")
                return currencies, str(refused.value)
            finally:
                await rest.close()
                await other.close()

        currencies, refusal = asyncio.run(read())
        assert "BTC" in currencies and "USD" in currencies
        assert "401" in refusal or "nauthori" in refusal
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)

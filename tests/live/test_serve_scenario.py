"""``harness venue serve --scenario FILE``: a scenario file's faults on the local venue, over real sockets.

In process: a ``LocalVenue`` with the faults ``scenarios.serve_faults`` loads, and a
``BinanceAdapter`` (or raw aiohttp) as its client; as a subprocess: the CLI serves a scenario's
5xx window, and refuses a kind with no seam here and a bad key with exit 2, naming the line.
Windows are timed on the venue's clock (a ``ScaledClock``), never asserted against the wall.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from live_testing import FAST_BACKOFF, until
from local_venue_helpers import API_KEY, BID, SECRET, local_venue, raw

from harness.clock import ManualClock
from harness.contract import AmbiguousError, RateLimitedError, RetryableError
from harness.model import BookSnapshot, OrderRequest, OrderType, Side, Trade
from harness.registry import Credentials
from live.binance import BinanceAdapter, BinanceEndpoints
from live.serve import LocalVenue
from live.serve.faults import ServeFaults
from live.ws.state import WsSettings
from scenarios.scenario_file import ScenarioError
from scenarios.serve_faults import load_serve_faults

ROOT = Path(__file__).resolve().parents[2]
NS = 1_000_000_000
SPEED = 10
SETTINGS = WsSettings(ping_interval_ns=60 * NS, ping_timeout_ns=600 * NS, open_timeout_ns=600 * NS,
                      backoff=FAST_BACKOFF)
HEAD = '[scenario]\nname = "t"\ndescription = "test"\nworld = "serve"\nseed = 3\n\n'


def _scenario(tmp_path: Path, faults: str) -> Path:
    path = tmp_path / "serve.toml"
    path.write_text(HEAD + faults, encoding="utf-8")
    return path


@asynccontextmanager
async def _served(path: Path) -> AsyncIterator[tuple[LocalVenue, BinanceAdapter]]:
    faults = load_serve_faults(path, venue="binance")
    async with local_venue(speed=SPEED, faults=faults) as venue:
        adapter = BinanceAdapter(BinanceEndpoints.local(venue.rest_url), Credentials(API_KEY, SECRET), venue.clock,
                                 ws_settings=SETTINGS, request_timeout_ns=600 * NS, recv_window_ms=60_000)
        await adapter.connect()
        try:
            yield venue, adapter
        finally:
            await adapter.disconnect()


async def _until_venue_time(venue: LocalVenue, at_ns: int) -> None:
    assert venue.faults_origin_ns is not None
    wait = venue.faults_origin_ns + at_ns - venue.clock.now_ns()
    if wait > 0:
        await venue.clock.sleep_ns(wait)


def test_a_5xx_window_gives_retryable_errors_during_it_and_normal_answers_after(tmp_path: Path) -> None:
    path = _scenario(tmp_path, '[[faults]]\nname = "account-503"\nkind = "http_5xx"\ntarget = "binance"\n'
                               'at_s = 0\nfor_s = 20\nparams = { status = 503, methods = ["get_balances"] }\n')

    async def body() -> None:
        async with _served(path) as (venue, adapter):
            assert venue.faults_origin_ns is not None
            with pytest.raises(RetryableError) as refused:
                await adapter.get_balances()
            assert refused.value.http_status == 503
            assert venue.clock.now_ns() < venue.faults_origin_ns + 20 * NS  # it was inside the window
            assert (await adapter.get_server_time()) > 0  # other requests are untouched
            await _until_venue_time(venue, 20 * NS)
            balances = await adapter.get_balances()
            assert balances["USDT"].total > 0
            record = venue.faults.scheduled[0].fault.record()  # type: ignore[attr-defined]
            assert record.effects == 1 and record.name == "account-503"

    asyncio.run(body())


def test_a_market_stream_disconnect_makes_the_client_reconnect(tmp_path: Path) -> None:
    path = _scenario(tmp_path, '[[faults]]\nname = "market-cut"\nkind = "disconnect"\ntarget = "binance.market"\n'
                               'at_s = 2\nfor_s = 3\n')

    async def body() -> None:
        async with _served(path) as (venue, adapter):
            trades: list[Trade] = []
            await adapter.subscribe_trades("BTCUSDT", trades.append)
            health = adapter.streams.connection.health
            assert health().reconnects == 0
            await _until_venue_time(venue, 2 * NS)
            await until(lambda: health().reconnects >= 1, "market reconnect")
            await _until_venue_time(venue, 6 * NS)  # reconnecting is refused until the window ends (5 s); a margin
            await until(lambda: health().connected and any(p.kind == "market" and not p.closed for p in venue.peers),
                        "market stream up again")
            await adapter.sync_streams()
            venue.trade("BTCUSDT", BID, Decimal(1), trade_id="7")
            await until(lambda: any(t.trade_id == "7" for t in trades), "trade after the reconnect")

    asyncio.run(body())


@pytest.mark.parametrize(("ignore_429", "banned", "status"), [(False, False, 429), (True, True, 418)])
def test_a_rate_limit_fault_gives_rate_limited_errors_with_retry_after(tmp_path: Path, ignore_429: bool,
                                                                       banned: bool, status: int) -> None:
    path = _scenario(tmp_path, '[[faults]]\nname = "weight-used-up"\nkind = "rate_limit"\ntarget = "binance"\n'
                               'trigger = { on = "get_balances" }\n'
                               f'params = {{ ignore_429 = {"true" if ignore_429 else "false"} }}\n')

    async def body() -> None:
        async with _served(path) as (venue, adapter):
            with pytest.raises(RateLimitedError) as limited:
                await adapter.get_balances()
            assert limited.value.banned is banned and limited.value.http_status == status
            assert limited.value.retry_after_s >= 1  # from the venue's Retry-After header
            if banned:  # the IP stays banned: every request meets the 418, with Retry-After until the ban ends
                async with aiohttp.ClientSession() as session:
                    answered, headers, _ = await raw(session, "GET", f"{venue.rest_url}/api/v3/ping")
                assert answered == 418 and int(headers["Retry-After"]) >= 1

    asyncio.run(body())


def test_an_ambiguous_submit_is_accepted_by_the_venue_with_its_answer_lost(tmp_path: Path) -> None:
    path = _scenario(tmp_path, '[[faults]]\nname = "answer-lost"\nkind = "http_5xx"\ntarget = "binance"\n'
                               'trigger = { on = "submit_order" }\nparams = { status = 502, reached_venue = true }\n')

    async def body() -> None:
        async with _served(path) as (venue, adapter):
            order = OrderRequest("amb-1", "binance", "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal("0.001"),
                                 price=Decimal(59_000))
            with pytest.raises(AmbiguousError):
                await adapter.submit_order(order)
            assert "amb-1" in venue.venue.orders  # the venue took it
            found = await adapter.get_order("BTCUSDT", "amb-1")
            assert found.price == Decimal(59_000)

    asyncio.run(body())


def test_maintenance_refuses_every_request_for_its_window(tmp_path: Path) -> None:
    path = _scenario(tmp_path, '[[faults]]\nname = "upkeep"\nkind = "maintenance"\ntarget = "binance"\n'
                               'at_s = 0\nfor_s = 20\n')

    async def body() -> None:
        async with local_venue(speed=SPEED, faults=load_serve_faults(path, venue="binance")) as venue:
            await _until_venue_time(venue, 0)
            async with aiohttp.ClientSession() as session:
                for _ in range(500):  # the window opens on a timer of the venue's clock: wait for it (a busy machine)
                    if (await raw(session, "GET", f"{venue.rest_url}/api/v3/ping"))[0] == 503:
                        break
                    await asyncio.sleep(0.01)
                during = [await raw(session, "GET", f"{venue.rest_url}/api/v3/{p}") for p in ("ping", "time")]
                assert venue.clock.now_ns() < venue.faults_origin_ns + 20 * NS  # type: ignore[operator]
                await _until_venue_time(venue, 20 * NS)
                after, _, _ = await raw(session, "GET", f"{venue.rest_url}/api/v3/ping")
            assert [status for status, _, _ in during] == [503, 503] and after == 200

    asyncio.run(body())


def test_faults_target_the_served_venue_and_refused_kinds_name_their_line(tmp_path: Path) -> None:
    other = _scenario(tmp_path, '[[faults]]\nname = "elsewhere"\nkind = "drop"\ntarget = "okx.market"\n')
    where = r"serve\.toml:7: faults\[0\]\.target: fault 'elsewhere' targets venue 'okx'"
    with pytest.raises(ScenarioError, match=where):
        load_serve_faults(other, venue="binance")
    fix = _scenario(tmp_path, '[[faults]]\nname = "drop-fix"\nkind = "fix_session_drop"\ntarget = "fix"\n')
    with pytest.raises(ScenarioError, match="needs the FIX acceptor"):
        load_serve_faults(fix, venue="binance")
    assert len(load_serve_faults(fix, venue="binance", fix=True).scheduled) == 1


def _serve(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("BINANCE_API_KEY", None)
    return subprocess.Popen([sys.executable, "-m", "harness.cli", "venue", "serve", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_cli_refuses_a_kind_with_no_seam_and_a_bad_key_with_exit_2(tmp_path: Path) -> None:
    skew = _scenario(tmp_path, '[[faults]]\nname = "skewed"\nkind = "clock_skew"\ntarget = "binance"\n')
    process = _serve("--scenario", str(skew))
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2, out
    assert "serve.toml:7" in err and "'skewed'" in err and "clock_skew cannot apply to a served venue" in err
    bad = tmp_path / "bad.toml"
    bad.write_text(HEAD + '[[faults]]\nname = "x"\nkind = "drop"\ntarget = "binance.market"\nwhen_s = 3\n',
                   encoding="utf-8")
    process = _serve("--scenario", str(bad))
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert re.search(r"bad\.toml:11: faults\[0\]\.when_s", err), err


def test_the_cli_serves_a_scenarios_5xx_window(tmp_path: Path) -> None:
    path = _scenario(tmp_path, '[[faults]]\nname = "all-503"\nkind = "http_5xx"\ntarget = "binance"\n'
                               'at_s = 0\nfor_s = 86400\n')
    process = _serve("--scenario", str(path), "--seed", "5")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        while line and not line.startswith("local venue"):
            line = process.stdout.readline()
        found = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
        assert found, f"no address: {line!r}"

        async def ping() -> tuple[int, object]:
            async with aiohttp.ClientSession() as session:
                status, _, body = await raw(session, "GET", f"{found.group(1)}/api/v3/ping")
                return status, body

        status, body = asyncio.run(ping())
        assert status == 503 and isinstance(body, dict) and body["code"] == -1001
    finally:
        process.terminate()
        process.communicate(timeout=60)


def test_the_catalog_example_loads_for_the_served_venue() -> None:
    faults = load_serve_faults(ROOT / "scenarios" / "catalog" / "serve" / "local-venue-faults.toml", venue="binance")
    assert isinstance(faults, ServeFaults)
    assert {f.kind for f in faults.scheduled} >= {"sequence_gap", "disconnect", "http_5xx", "rate_limit",  # type: ignore[attr-defined]
                                                  "maintenance", "timeout"}


def test_a_sequence_gap_makes_the_clients_book_resync(tmp_path: Path) -> None:
    path = _scenario(tmp_path, '[[faults]]\nname = "gap"\nkind = "sequence_gap"\ntarget = "binance.market"\n'
                               'trigger = { on = "book", nth = 2, count = 1 }\n')

    async def body() -> None:
        async with _served(path) as (venue, adapter):
            books: list[BookSnapshot] = []
            await adapter.subscribe_book("BTCUSDT", books.append, depth=5)
            follower = adapter._books["BTCUSDT"]
            for i in range(1, 4):
                venue.book("BTCUSDT", [(BID - i, Decimal(i))], [(BID + i, Decimal(i))])
            await adapter.sync_streams()
            await until(lambda: follower.sync.valid and follower.snapshots_fetched == 2, "resync")
            assert len(follower.sync.gaps) == 1
            assert venue.faults.scheduled[0].fault.record().effects == 1  # type: ignore[attr-defined]
            assert [(b.price, b.size) for b in books[-1].bids] == [(int((BID - 3) * 10**9), 3 * 10**9)]

    asyncio.run(body())


@dataclass
class _World:
    """The least a scheduled fault touches (stream faults need no timers)."""

    clock: ManualClock
    faults: ServeFaults
    limiter: object = None
    fix: object = None

    def disconnect(self, kind: str = "market") -> int:
        return 0


def _drops(path: Path, seed: int | None, origin_ns: int = 1_000 * NS) -> list[bool]:
    """Which of 60 trades, one every 100 ms of venue time from the origin, a scenario's drop fault loses."""
    faults = load_serve_faults(path, venue="binance", seed=seed)
    world = _World(ManualClock(origin_ns), faults)
    for fault in faults.scheduled:
        fault.start(world, origin_ns)
    lost = []
    for _ in range(60):
        now = world.clock.advance(NS // 10)
        arrivals = faults.market[0].on_message(now, now, ("btcusdt@trade", {"e": "trade"}))
        lost.append(not arrivals)
    return lost


def test_probabilities_are_drawn_from_the_seed_and_times_count_from_the_origin(tmp_path: Path) -> None:
    path = _scenario(tmp_path, '[[faults]]\nname = "coin"\nkind = "drop"\ntarget = "binance.market"\n'
                               'at_s = 2\nfor_s = 3\nprobability = "0.5"\n')
    first = _drops(path, None)
    assert first == _drops(path, None) == _drops(path, 3)  # the file's seed is 3: the same draws
    assert first == _drops(path, None, origin_ns=5_000 * NS)  # the same relative to another origin
    assert first != _drops(path, 4)  # another seed, other draws
    assert not any(first[:19]) and not any(first[50:])  # nothing outside [2 s, 5 s) after the origin
    assert 0 < sum(first[19:50]) < 31

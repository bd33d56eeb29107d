"""FIX scenario faults (``sim.faults.fix``) on the served venue: they install on the FIX acceptor through
``ServeFaults.fix`` (or from a scenario file, ``scenarios.serve_faults``) and the client copes as the FIX
session layer says it must."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from fix_venue_helpers import fix_adapter, fix_venue
from live_testing import until
from local_venue_helpers import BID

from harness.contract import InvalidRequestError, RetryableError
from harness.model import OrderRequest, OrderStatus, OrderType, Side
from harness.rng import SeededRng
from live.binance import BinanceFixAdapter
from live.fix.order_entry import FixEndpoint
from live.serve.faults import ServeFaults
from scenarios.serve_faults import load_serve_faults
from sim.faults import Schedule, Trigger, build_fault

_NS = 1_000_000_000
SPEED = 20


def _limit(coid: str, ticks: int) -> OrderRequest:
    return OrderRequest(coid, "binance", "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal("0.01"), price=BID - ticks)


def _fault(kind: str, start_ns: int, trigger: Trigger | None = None, **params: object) -> object:
    return build_fault(kind, kind, "fix", Schedule(start_ns=start_ns, trigger=trigger), SeededRng(3),
                       params=params or None)


def _kinds(adapter: BinanceFixAdapter) -> list[str]:
    return [e.kind for e in adapter.fix.events]


def test_sequence_gap_the_client_asks_a_resend_and_gets_the_lost_report() -> None:
    async def main() -> None:
        faults = ServeFaults(fix=[_fault("fix_sequence_gap", 0, Trigger("app", nth=2))])
        async with fix_venue(speed=SPEED, faults=faults) as venue:
            assert venue.fix is not None
            adapter = fix_adapter(venue)
            await adapter.connect()
            try:
                await adapter.submit_order(_limit("gap-1", 1))
                second = asyncio.ensure_future(adapter.submit_order(_limit("gap-2", 2)))
                await until(lambda: "gap-2" in venue.venue.orders, "the venue has the order", 30)
                await adapter.sync_streams()  # a TestRequest: its Heartbeat comes after the lost report
                report = await asyncio.wait_for(second, 30)
                assert report.status is OrderStatus.OPEN and report.client_order_id == "gap-2"
                assert "gap_detected" in _kinds(adapter) and "gap_filled" in _kinds(adapter)
                assert any(e.kind == "resend_served" for _, e in venue.fix.events)
                assert (await adapter.submit_order(_limit("gap-3", 3))).status is OrderStatus.OPEN
            finally:
                await adapter.disconnect()

    asyncio.run(main())


def test_session_drop_the_client_reconnects_and_trades_on() -> None:
    async def main() -> None:
        async with fix_venue(speed=SPEED) as venue:
            assert venue.fix is not None
            adapter = fix_adapter(venue)
            await adapter.connect()
            try:
                await adapter.submit_order(_limit("drop-1", 1))
                drop = _fault("fix_session_drop", venue.clock.now_ns() + _NS)
                drop.install(venue.fix)  # type: ignore[attr-defined]
                initiator = adapter.fix.initiator
                assert initiator is not None
                await until(lambda: initiator.connections == 2 and adapter.fix.active, "a new logged-on session", 30)
                assert (await adapter.submit_order(_limit("drop-2", 2))).status is OrderStatus.OPEN
                assert {o.client_order_id for o in await adapter.get_open_orders("BTCUSDT")} == {"drop-1", "drop-2"}
            finally:
                await adapter.disconnect()

    asyncio.run(main())


def test_logon_failure_is_refused_with_a_logout_until_the_venue_accepts_again() -> None:
    async def main() -> None:
        async with fix_venue(speed=SPEED) as venue:
            assert venue.fix is not None
            refused = _fault("fix_logon_failure", venue.clock.now_ns(), count=2)
            refused.install(venue.fix)  # type: ignore[attr-defined]
            await asyncio.sleep(0.05)
            adapter = fix_adapter(venue)
            await adapter.connect()  # the initiator retries with backoff; the third logon is accepted
            try:
                assert venue.fix.refusals == ["Logon refused (injected logon failure)."] * 2
                assert adapter.fix.initiator is not None and adapter.fix.initiator.connections == 3
                assert (await adapter.submit_order(_limit("logon-1", 1))).status is OrderStatus.OPEN
            finally:
                await adapter.disconnect()

    asyncio.run(main())


def test_injected_reject_fails_the_order_and_leaves_the_session_up() -> None:
    async def main() -> None:
        async with fix_venue(speed=SPEED) as venue:
            assert venue.fix is not None
            _fault("fix_reject", 0, Trigger("order", nth=1)).install(venue.fix)  # type: ignore[attr-defined]
            adapter = fix_adapter(venue)
            await adapter.connect()
            try:
                with pytest.raises(InvalidRequestError, match="session reject"):
                    await adapter.submit_order(_limit("rej-1", 1))
                assert "rej-1" not in venue.venue.orders
                assert (await adapter.submit_order(_limit("rej-2", 2))).status is OrderStatus.OPEN
            finally:
                await adapter.disconnect()

    asyncio.run(main())


def test_logon_to_a_closed_port_is_a_retryable_error() -> None:
    async def main() -> None:
        async with fix_venue(speed=SPEED) as venue:
            adapter = fix_adapter(venue)
            adapter.fix.endpoint = FixEndpoint("127.0.0.1", 1, "CLIENT1", logon_timeout_ns=2 * _NS)
            with pytest.raises(RetryableError):
                await adapter.connect()
            assert not adapter.is_connected()

    asyncio.run(main())


def test_sandbox_fix_never_names_a_production_host() -> None:
    import ssl

    from harness.clock import WallClock
    from harness.registry import Credentials, SandboxViolationError
    from live.fix.dialects import BINANCE_FIX, COINBASE_FIX
    from live.fix.order_entry import FixOrderEntry

    tls = ssl.create_default_context()
    for dialect, host, venue in ((BINANCE_FIX, "fix-oe.binance.com", "binance"),
                                 (COINBASE_FIX, "fix.prime.coinbase.com", "coinbase")):
        with pytest.raises(SandboxViolationError):
            FixOrderEntry(dialect, Credentials("k", "s", "p"), FixEndpoint(host, 9000, "A", tls=tls), WallClock(),
                          venue=venue)
    testnet = FixOrderEntry(BINANCE_FIX, Credentials("k", "s"), FixEndpoint("fix-oe.testnet.binance.vision", 9000,
                                                                            "A", tls=tls), WallClock(), venue="binance")
    assert testnet.endpoint.url == "tcp+tls://fix-oe.testnet.binance.vision:9000"


def test_a_scenario_files_fix_reject_applies_to_the_served_acceptor(tmp_path: Path) -> None:
    """``venue serve --fix --scenario``: the file's FIX faults start with the venue and reach the acceptor."""
    path = tmp_path / "fix.toml"
    path.write_text('[scenario]\nname = "fix"\ndescription = "d"\nworld = "serve"\n\n'
                    '[[faults]]\nname = "reject-first"\nkind = "fix_reject"\ntarget = "fix"\n'
                    'trigger = { on = "order", nth = 1, count = 1 }\n', encoding="utf-8")

    async def main() -> None:
        async with fix_venue(speed=SPEED, faults=load_serve_faults(path, venue="binance", fix=True)) as venue:
            adapter = fix_adapter(venue)
            await adapter.connect()
            try:
                with pytest.raises(InvalidRequestError, match="session reject"):
                    await adapter.submit_order(_limit("rej-1", 1))
                assert "rej-1" not in venue.venue.orders
                assert (await adapter.submit_order(_limit("rej-2", 2))).status is OrderStatus.OPEN
            finally:
                await adapter.disconnect()

    asyncio.run(main())

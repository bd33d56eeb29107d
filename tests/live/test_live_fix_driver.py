"""live.fix.driver over real TCP on 127.0.0.1: logon, heartbeats, test requests, logout, gap fill,
sequence numbers across a restart, the raw message log, reconnects."""

from __future__ import annotations

import asyncio
from pathlib import Path

from live_testing import FAST_BACKOFF, until

from harness.clock import NS_PER_SECOND as S
from harness.clock import WallClock
from harness.model import VenueMode
from harness.registry import SandboxViolationError
from live.fix import (
    FileFixLog,
    FixAcceptor,
    FixInitiator,
    FixSession,
    MemoryFixLog,
    MemorySequenceStore,
    SessionConfig,
    SqliteSequenceStore,
    get_str,
)
from live.fix.store import SequenceStore


def fields_of(raw: bytes) -> dict[int, str]:
    return {int(t): v for t, v in (p.split("=", 1) for p in raw.decode().split("\x01") if p)}


def initiator_session(store: SequenceStore | None = None, hb: int = 30, log: FileFixLog | MemoryFixLog | None = None,
                      ) -> FixSession:
    return FixSession(SessionConfig("CLIENT", "VENUE", heartbeat_interval_s=hb), store or MemorySequenceStore(), log)


def acceptor_factory(store: SequenceStore | None = None, hb: int = 30) -> FixSession:
    return FixSession(SessionConfig("VENUE", "CLIENT", heartbeat_interval_s=hb, initiator=False),
                      store or MemorySequenceStore())


HOUR = 3600 * S  # timer loops that never fire by themselves: the tests move session time explicitly


def test_property_14_logon_heartbeat_test_request_and_logout_over_tcp() -> None:
    async def main() -> None:
        clock = WallClock()
        acceptor = FixAcceptor(acceptor_factory, clock=clock, timer_interval_ns=HOUR)
        port = await acceptor.start()
        log = MemoryFixLog()
        initiator = FixInitiator(initiator_session(log=log), "127.0.0.1", port, clock=clock, timer_interval_ns=HOUR)
        await initiator.start()
        assert await initiator.wait_logged_on(10 * S)
        conn, server = initiator.connection, acceptor.current
        assert conn is not None

        def received(marker: str) -> int:
            return sum(marker in e.text for e in log.entries if e.direction == "IN")

        t = clock.now_ns()
        server.run_timers(t + 30 * S)  # HeartBtInt with nothing sent: the venue heartbeats
        await until(lambda: received("|35=0|") == 1, "the venue's heartbeat")
        t = clock.now_ns()  # the heartbeat was the last message received
        conn.run_timers(t + 36 * S)  # 1.2 x HeartBtInt with nothing received (in session time)
        assert [e.kind for e in conn.events].count("test_request_sent") == 1
        await until(lambda: received("|112=TEST-") == 1, "the heartbeat answering the test request")
        conn.run_timers(t + 66 * S)  # another HeartBtInt later: answered, so no timeout
        assert not any(e.kind == "heartbeat_timeout" for e in conn.events)
        await initiator.stop("done")
        kinds = [e.kind for e in conn.events]
        assert "logged_on" in kinds and "logged_out" in kinds and kinds[-1] == "disconnected"
        out_types = [fields_of(e.text.replace("|", "\x01").encode())[35] for e in log.entries if e.direction == "OUT"]
        assert out_types[0] == "A" and out_types[-1] == "5" and "1" in out_types
        assert initiator.connections == 1
        await acceptor.stop()

    asyncio.run(main())


def test_unanswered_test_request_disconnects_and_the_initiator_reconnects() -> None:
    async def main() -> None:
        clock = WallClock()
        deaf = {"on": True}
        venue_store = MemorySequenceStore()  # the venue keeps its numbers across connections too
        acceptor = FixAcceptor(lambda: acceptor_factory(venue_store), clock=clock, timer_interval_ns=HOUR,
                               outbound_filter=lambda raw: not (deaf["on"] and fields_of(raw)[35] == "0"))
        port = await acceptor.start()
        initiator = FixInitiator(initiator_session(), "127.0.0.1", port, clock=clock, backoff=FAST_BACKOFF,
                                 timer_interval_ns=HOUR)
        await initiator.start()
        assert await initiator.wait_logged_on(10 * S)
        first = initiator.connection
        assert first is not None
        t = clock.now_ns()
        first.run_timers(t + 36 * S)  # silence: a test request, whose answer the venue's link loses
        await until(lambda: acceptor.current.session.next_target_seq == 3, "the test request at the venue")
        first.run_timers(t + 66 * S)  # still no answer after another HeartBtInt
        assert "heartbeat_timeout" in [e.kind for e in first.events]
        await until(lambda: initiator.connections == 2, "the reconnect")
        deaf["on"] = False
        assert await initiator.wait_logged_on(10 * S)
        assert first.closed.is_set() and acceptor.connections[0].closed.is_set()
        assert initiator.session.next_sender_seq > 3  # numbers carried across the reconnect (no reset)
        await initiator.stop()
        await acceptor.stop()

    asyncio.run(main())


def test_property_14_gap_resend_request_and_gap_fill_over_a_real_socket() -> None:
    async def main() -> None:
        clock = WallClock()
        lost = {"seqs": {3, 4}}

        def lossy(raw: bytes) -> bool:  # first transmissions of seq 3 (a heartbeat) and 4 (an app message)
            f = fields_of(raw)
            if f.get(43) != "Y" and int(f[34]) in lost["seqs"]:
                lost["seqs"].discard(int(f[34]))
                return False
            return True

        acceptor = FixAcceptor(acceptor_factory, clock=clock, outbound_filter=lossy)
        port = await acceptor.start()
        got: list[str] = []
        initiator = FixInitiator(initiator_session(), "127.0.0.1", port, clock=clock,
                                 on_app=lambda m: got.append(get_str(m, 58) or ""))
        await initiator.start()
        assert await initiator.wait_logged_on(5 * S)
        server = acceptor.current
        server.send("8", [(58, "first")])  # seq 2
        server.run_timers(clock.now_ns() + 31 * S)  # as if 31 s passed: a heartbeat, seq 3: lost
        server.send("8", [(58, "lost")])  # seq 4: lost
        server.send("8", [(58, "last")])  # seq 5: reveals the gap
        await until(lambda: got == ["first", "lost", "last"], "every message once, in order")
        conn = initiator.connection
        assert conn is not None
        kinds = [e.kind for e in conn.events]
        assert "gap_detected" in kinds and "gap_filled" in kinds and kinds.index("gap_detected") < kinds.index(
            "gap_filled")
        resent = [e for e in server.events if e.kind == "resend_served"]
        assert resent and resent[0].detail == "3..5"
        await until(lambda: any(e.kind == "duplicate_ignored" and e.seq == 5 for e in conn.events),
                    "the resent copy of 5")
        assert got == ["first", "lost", "last"]  # ... which was ignored as a duplicate
        assert initiator.session.next_target_seq == server.session.next_sender_seq == 6
        await initiator.stop()
        await acceptor.stop()

    asyncio.run(main())


def test_sequence_numbers_persist_across_a_restart(tmp_path: Path) -> None:
    async def session_round(sent: int) -> tuple[int, int, list[str]]:
        clock = WallClock()
        acc_store = SqliteSequenceStore(tmp_path / "venue.db", "VENUE-CLIENT")
        ini_store = SqliteSequenceStore(tmp_path / "client.db", "CLIENT-VENUE")
        acceptor = FixAcceptor(lambda: acceptor_factory(acc_store), clock=clock)
        port = await acceptor.start()
        log = MemoryFixLog()
        initiator = FixInitiator(initiator_session(ini_store, log=log), "127.0.0.1", port, clock=clock)
        await initiator.start()
        assert await initiator.wait_logged_on(5 * S)
        conn = initiator.connection
        assert conn is not None
        for n in range(sent):
            conn.send("D", [(11, f"order-{n}"), (55, "BTCUSDT")])
        await until(lambda: len(acceptor.current.app_messages) == sent, "orders at the venue")
        await initiator.stop()
        await acceptor.stop()
        numbers = ini_store.load()
        ini_store.close()
        acc_store.close()
        logon = next(e.text for e in log.entries if e.direction == "OUT")
        return numbers[0], numbers[1], [logon, *(e.kind for e in conn.events)]

    first = asyncio.run(session_round(3))
    assert first[:2] == (6, 3)  # logon, three orders, logout sent; logon and logout received
    second = asyncio.run(session_round(2))
    assert "|34=6|" in second[2][0]  # the restarted initiator logs on with the persisted number
    assert "gap_detected" not in second[2] and "seq_too_low" not in second[2]
    assert second[:2] == (10, 5)


def test_property_15_raw_messages_are_logged_to_a_file_with_timestamps(tmp_path: Path) -> None:
    async def main() -> None:
        clock = WallClock()
        acceptor = FixAcceptor(acceptor_factory, clock=clock)
        port = await acceptor.start()
        log = FileFixLog(tmp_path / "fix.log")
        initiator = FixInitiator(initiator_session(log=log), "127.0.0.1", port, clock=clock)
        await initiator.start()
        assert await initiator.wait_logged_on(5 * S)
        assert initiator.connection is not None
        initiator.connection.send("D", [(11, "c1"), (553, "secret-user")])
        await until(lambda: acceptor.current.app_messages, "the order at the venue")
        await initiator.stop()
        await acceptor.stop()
        log.close()

    asyncio.run(main())
    lines = (tmp_path / "fix.log").read_text().splitlines()
    assert [line.split(" ")[1] for line in lines] == ["OUT", "IN", "OUT", "OUT", "IN"]  # A, A, D, 5, 5
    for line in lines:
        stamp, _, text = line.split(" ", 2)
        assert stamp.endswith("Z") and len(stamp) == len("2024-06-11T09:01:46.228950000Z")
        assert text.startswith("8=FIX.4.4|9=") and text.endswith("|") and "\x01" not in text
    assert "553=***" in lines[2] and "secret-user" not in "".join(lines)


def test_sandbox_initiator_refuses_a_production_fix_host() -> None:
    try:
        FixInitiator(initiator_session(), "fix-oe.binance.com", 9000, clock=WallClock(), mode=VenueMode.SANDBOX)
    except SandboxViolationError:
        return
    raise AssertionError("a SANDBOX initiator accepted a production FIX host")

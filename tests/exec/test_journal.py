"""SQLite journal: intents before sends, exact Decimals, idempotent fills, audit, crash safety.

Property 9 (audit completeness) of the seed, plus: intents survive a crash of the process
(a real ``os._exit`` in a child process, and a copy of the files taken mid-run), malformed
records raise a clear error and leave the journal unchanged, and secrets are redacted.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.alerts import Alert, AlertSink, Severity
from harness.audit import AuditRecord, redact
from harness.journal import TABLES, IntentState, Journal, JournalError
from harness.model import (
    Fill,
    Liquidity,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from scenarios.world import SimWorld

decimals = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, allow_infinity=False,
                       places=12)
positive = st.decimals(min_value=Decimal("1e-9"), max_value=Decimal("1e9"), allow_nan=False, allow_infinity=False)


def request(coid: str = "c-1", **changes: object) -> OrderRequest:
    data: dict[str, object] = {"client_order_id": coid, "venue": "binance", "symbol": "BTCUSDT", "side": Side.BUY,
                               "order_type": OrderType.LIMIT, "quantity": Decimal("0.5"), "price": Decimal("60000.1")}
    data.update(changes)
    return OrderRequest(**data)  # type: ignore[arg-type]


def _with_float_price(req: OrderRequest) -> OrderRequest:
    """A request carrying a float price: ``OrderRequest`` refuses to be built so (a TypeError), so
    this forges one to show the journal still refuses what might reach it some other way."""
    object.__setattr__(req, "price", 1.5)
    return req


def fill(execution_id: str = "e-1", **changes: object) -> Fill:
    data: dict[str, object] = {
        "venue": "binance", "symbol": "BTCUSDT", "execution_id": execution_id, "client_order_id": "c-1",
        "venue_order_id": "v-1", "side": Side.BUY, "price": Decimal("60000.10"), "quantity": Decimal("0.25"),
        "fee": Decimal("0.000025"), "fee_asset": "BTC", "liquidity": Liquidity.MAKER, "ts_ns": 5}
    data.update(changes)
    return Fill(**data)  # type: ignore[arg-type]


def counts(journal: Journal) -> dict[str, int]:
    return {name: len(journal.table(name)) for name in TABLES}


# --------------------------------------------------------------------------- basics


def test_opens_in_wal_mode_with_all_tables(tmp_path: Path) -> None:
    with SimWorld() as world, Journal(tmp_path / "j.db", world.runtime.clock) as journal:
        assert counts(journal) == dict.fromkeys(TABLES, 0)
        assert journal._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        other = sqlite3.connect(tmp_path / "j.db")
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        other.close()
        assert journal.integrity_check() == "ok"
        journal.record_intent(request())
        assert journal._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # back to NORMAL after the FULL intent
        with pytest.raises(JournalError, match="unknown journal table"):
            journal.table("sqlite_master")


def test_schema_version_mismatch_is_refused(tmp_path: Path) -> None:
    with SimWorld() as world:
        Journal(tmp_path / "j.db", world.runtime.clock).close()
        conn = sqlite3.connect(tmp_path / "j.db")
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
        conn.commit()
        conn.close()
        with pytest.raises(JournalError, match="schema version 999"):
            Journal(tmp_path / "j.db", world.runtime.clock)


@settings(max_examples=40, deadline=None)
@given(quantity=positive, price=st.none() | positive, stop=st.none() | positive,
       tif=st.sampled_from(list(TimeInForce)), expire=st.none() | st.integers(0, 2**62),
       post_only=st.booleans(), reduce_only=st.booleans(), order_type=st.sampled_from(list(OrderType)))
def test_intent_round_trips_the_exact_request(tmp_path_factory: pytest.TempPathFactory, quantity: Decimal,
                                              price: Decimal | None, stop: Decimal | None, tif: TimeInForce,
                                              expire: int | None, post_only: bool, reduce_only: bool,
                                              order_type: OrderType) -> None:
    req = request("c-rt", quantity=quantity, price=price, stop_price=stop, time_in_force=tif, expire_at_ns=expire,
                  post_only=post_only, reduce_only=reduce_only, order_type=order_type, strategy_id="mm-1")
    path = tmp_path_factory.mktemp("j") / "j.db"
    with SimWorld() as world, Journal(path, world.runtime.clock) as journal:
        journal.record_intent(req)
        (pending,) = journal.pending_intents()
        assert pending.order_request() == req
        assert pending.ts_ns == world.runtime.now_ns()


def test_intent_lifecycle_and_pending(tmp_path: Path) -> None:
    with SimWorld() as world, Journal(tmp_path / "j.db", world.runtime.clock) as journal:
        ids = [journal.record_intent(request(f"c-{i}")) for i in range(4)]
        assert ids == sorted(ids) and len(set(ids)) == 4
        journal.mark_intent("c-0", IntentState.ACKED, "venue order 17")
        journal.mark_intent("c-1", "FAILED", "insufficient balance")
        journal.mark_intent("c-2", IntentState.UNKNOWN, "timeout")
        assert [(p.client_order_id, p.state) for p in journal.pending_intents()] == [
            ("c-2", IntentState.UNKNOWN), ("c-3", IntentState.SENT)]
        journal.record_intent(request("c-0"))  # a resubmit under the same id is a new intent
        assert [p.client_order_id for p in journal.pending_intents()] == ["c-2", "c-3", "c-0"]
        journal.mark_intent("c-0", IntentState.ACKED)  # marks the latest one only
        states = [(row["client_order_id"], row["state"]) for row in journal.table("intents")]
        assert states.count(("c-0", "ACKED")) == 2
        with pytest.raises(JournalError, match="no intent"):
            journal.mark_intent("c-404", IntentState.ACKED)
        with pytest.raises(JournalError, match="intent state"):
            journal.mark_intent("c-3", "DONE")


# --------------------------------------------------------------------------- fills and orders


@settings(max_examples=40, deadline=None)
@given(events=st.lists(st.tuples(st.sampled_from(["binance", "okx"]), st.integers(0, 6), positive, positive),
                       min_size=1, max_size=25))
def test_duplicate_fills_are_noops_and_values_exact(tmp_path_factory: pytest.TempPathFactory,
                                                    events: list[tuple[str, int, Decimal, Decimal]]) -> None:
    path = tmp_path_factory.mktemp("j") / "j.db"
    with SimWorld() as world, Journal(path, world.runtime.clock) as journal:
        first: dict[tuple[str, str], Fill] = {}
        for venue, n, price, qty in events:
            f = fill(f"e-{n}", venue=venue, price=price, quantity=qty)
            is_new = (venue, f.execution_id) not in first
            assert journal.record_fill(f) is is_new
            first.setdefault((venue, f.execution_id), f)
        assert journal.fills() == list(first.values())


def test_orders_latest_state_and_events(tmp_path: Path) -> None:
    with SimWorld() as world, Journal(tmp_path / "j.db", world.runtime.clock) as journal:
        base = OrderReport(venue="binance", symbol="BTCUSDT", client_order_id="c-1", venue_order_id="v-1",
                           status=OrderStatus.OPEN, side=Side.SELL, order_type=OrderType.LIMIT,
                           quantity=Decimal("2"), filled_quantity=Decimal("0"), price=Decimal("61000.5"),
                           average_price=None, ts_ns=10)
        journal.record_order(base)
        journal.record_order(replace(base, status=OrderStatus.PARTIALLY_FILLED, filled_quantity=Decimal("0.75"),
                                     ts_ns=20))
        journal.record_order({"client_order_id": "c-2", "venue": "okx", "status": "REJECTED", "ts_ns": 30,
                              "reason": "51008", "api_key": "should-not-be-stored"})
        (o1, o2) = journal.orders()
        assert o1["status"] == "PARTIALLY_FILLED" and Decimal(o1["filled_quantity"]) == Decimal("0.75")
        assert o1["price"] == "61000.5" and o1["average_price"] == "None"
        assert o2["api_key"] == "***" and o2["reason"] == "51008"
        events = journal.table("order_events")
        assert [(e["client_order_id"], e["status"]) for e in events] == [
            ("c-1", "OPEN"), ("c-1", "PARTIALLY_FILLED"), ("c-2", "REJECTED")]
        assert b"should-not-be-stored" not in (tmp_path / "j.db-wal").read_bytes()
        with pytest.raises(JournalError, match="missing 'ts_ns'"):
            journal.record_order({"client_order_id": "c-3", "venue": "okx", "status": "OPEN"})


def test_positions_history_decisions_alerts_and_status(tmp_path: Path) -> None:
    with SimWorld() as world, Journal(tmp_path / "j.db", world.runtime.clock) as journal:
        journal.record_position("binance", "BTCUSDT", Decimal("0.5"), Decimal("60000"), ts_ns=1)
        journal.record_position("binance", "BTCUSDT", Decimal("-0.1"), Decimal("61000.123456789"),
                                Decimal("500.5"), ts_ns=2)
        journal.record_position_history("binance", "BTCUSDT", Decimal("-0.1"), Decimal("61000.123456789"),
                                        Decimal("500.5"), cause="REVERSE", ts_ns=2)
        (pos,) = journal.table("positions")
        assert (pos["quantity"], pos["average_entry_price"], pos["realized_pnl"]) == (
            "-0.1", "61000.123456789", "500.5")
        assert journal.table("position_history")[0]["cause"] == "REVERSE"
        journal.record_decision({"client_order_id": "c-1", "venue": "okx", "score": Decimal("0.93"),
                                 "signature": "abc"})
        (decision,) = journal.table("routing_decisions")
        assert decision["ts_ns"] == world.runtime.now_ns()
        assert '"score":"0.93"' in str(decision["payload"]) and "abc" not in str(decision["payload"])
        sink = AlertSink()
        sink.listen(journal.on_alert)
        sink.raise_alert(Alert(ts_ns=7, severity=Severity.CRITICAL, source="reconcile", kind="position_discrepancy",
                               message="mismatch", venue="okx", details={"ours": "1", "theirs": "2"}))
        (alert,) = journal.table("alerts")
        assert (alert["kind"], alert["severity"], alert["venue"]) == ("position_discrepancy", "CRITICAL", "okx")
        journal.record_venue_status("okx", "ERROR", "auth failure", previous="ACTIVE", ts_ns=9)
        assert journal.table("venue_status")[0]["previous"] == "ACTIVE"


# --------------------------------------------------------------------------- Property 9


audit_payload = st.dictionaries(
    st.sampled_from(["symbol", "side", "quantity", "price", "apiKey", "signature", "X-MBX-APIKEY", "timestamp",
                     "passphrase", "orderId", "recvWindow"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=1, max_size=12), max_size=8)

audit_records = st.builds(
    AuditRecord, ts_ns=st.integers(0, 2**62), venue=st.sampled_from(["binance", "bybit", "okx"]),
    endpoint=st.sampled_from(["POST /api/v3/order", "DELETE /api/v3/order", "GET /api/v3/account"]),
    phase=st.sampled_from(["intent", "result"]), request=audit_payload, response=audit_payload,
    latency_ns=st.none() | st.integers(0, 10**10), success=st.none() | st.booleans(),
    error_category=st.sampled_from(["", "RETRYABLE", "FATAL"]), error=st.text(max_size=20),
    client_order_id=st.text(alphabet="abc-0123", max_size=10))


@settings(max_examples=40, deadline=None)
@given(records=st.lists(audit_records, max_size=15))
def test_property_9_audit_log_complete(tmp_path_factory: pytest.TempPathFactory,
                                       records: list[AuditRecord]) -> None:
    path = tmp_path_factory.mktemp("j") / "j.db"
    with SimWorld() as world, Journal(path, world.runtime.clock) as journal:
        for record in records:
            journal.audit(record)
        stored = journal.audit_records()
    assert len(stored) == len(records)
    for got, sent in zip(stored, records, strict=True):
        assert got.request == redact(sent.request) and got.response == redact(sent.response)
        assert (got.ts_ns, got.latency_ns, got.success, got.venue, got.endpoint, got.phase) == (
            sent.ts_ns, sent.latency_ns, sent.success, sent.venue, sent.endpoint, sent.phase)
        assert (got.error_category, got.error, got.client_order_id) == (
            sent.error_category, sent.error, sent.client_order_id)
        for name in ("apiKey", "signature", "X-MBX-APIKEY", "passphrase"):
            if name in sent.request:
                assert got.request[name] == "***"


# --------------------------------------------------------------------------- malformed records, rollback


def test_malformed_records_raise_clearly_and_change_nothing(tmp_path: Path) -> None:
    with SimWorld() as world, Journal(tmp_path / "j.db", world.runtime.clock) as journal:
        journal.record_intent(request("c-0"))
        journal.record_fill(fill("e-0"))
        before = counts(journal)
        bad_calls: list[tuple[Callable[[], object], str]] = [
            (lambda: journal.record_fill(fill("e-1", price=60000.1)), "price must be a finite Decimal"),
            (lambda: journal.record_fill(fill("", )), "execution_id"),
            (lambda: journal.record_fill(fill("e-2", ts_ns=-1)), "ts_ns"),
            (lambda: journal.record_intent(_with_float_price(request("c-9"))), "float"),
            (lambda: journal.record_position("binance", "BTCUSDT", 1, Decimal(1)), "quantity"),  # type: ignore[arg-type]
            (lambda: journal.record_decision({"x": 0.1}), "float"),
            (lambda: journal.record_order({"client_order_id": "c", "venue": "v", "status": "OPEN", "ts_ns": "x"}),
             "ts_ns"),
        ]
        for call, message in bad_calls:
            with pytest.raises(JournalError, match=message):
                call()
            assert counts(journal) == before
        with pytest.raises(JournalError, match="rolled back"), journal.transaction():
            journal.record_fill(fill("e-10"))
            journal.record_position("binance", "BTCUSDT", Decimal(1), Decimal(1))
            journal._conn.execute("INSERT INTO intents (client_order_id, venue, symbol, request, ts_ns, state, "
                                  "updated_ns) VALUES ('c', 'v', 's', '{}', 0, 'BOGUS', 0)")
        assert counts(journal) == before
        with pytest.raises(RuntimeError, match="strategy blew up"), journal.transaction():
            journal.record_fill(fill("e-11"))
            raise RuntimeError("strategy blew up")
        assert counts(journal) == before
        with journal.transaction():  # nested: a failed inner group does not spoil the outer one
            journal.record_fill(fill("e-12"))
            with pytest.raises(JournalError), journal.transaction():
                journal.record_fill(fill("e-13"))
                journal.record_fill(fill("e-14", quantity=1.0))
        assert [f.execution_id for f in journal.fills()] == ["e-0", "e-12"]
        assert journal.integrity_check() == "ok"


# --------------------------------------------------------------------------- crash safety


CHILD = textwrap.dedent("""
    import os, sys
    from decimal import Decimal
    from harness.clock import WallClock
    from harness.journal import Journal, IntentState
    from harness.model import Fill, Liquidity, OrderRequest, OrderType, Side
    journal = Journal(sys.argv[1], WallClock())
    for i in range(int(sys.argv[2])):
        journal.record_intent(OrderRequest(f"c-{i}", "binance", "BTCUSDT", Side.BUY, OrderType.LIMIT,
                                           Decimal("0.1"), Decimal("60000")))
        journal.record_fill(Fill("binance", "BTCUSDT", f"e-{i}", f"c-{i}", f"v-{i}", Side.BUY, Decimal("60000"),
                                 Decimal("0.1"), Decimal("0.00001"), "BTC", Liquidity.TAKER, i))
        if i % 2 == 0:
            journal.mark_intent(f"c-{i}", IntentState.ACKED)
    os._exit(3)  # crash: no close, no checkpoint
""")


def test_process_crash_keeps_every_committed_intent(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    n = 9
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(n)], capture_output=True, timeout=60,
                          check=False)
    assert done.returncode == 3, done.stderr.decode()
    assert Path(str(path) + "-wal").exists()  # the crash left the WAL un-checkpointed
    with SimWorld() as world, Journal(path, world.runtime.clock) as journal:
        assert journal.integrity_check() == "ok"
        assert [p.client_order_id for p in journal.pending_intents()] == [f"c-{i}" for i in range(n) if i % 2]
        assert len(journal.fills()) == n
        journal.record_intent(request("after-restart"))  # and it keeps working
        assert journal.pending_intents()[-1].client_order_id == "after-restart"


def test_copy_taken_mid_run_reopens_consistent(tmp_path: Path) -> None:
    live, copy = tmp_path / "live", tmp_path / "copy"
    live.mkdir()
    copy.mkdir()
    with SimWorld() as world:
        journal = Journal(live / "j.db", world.runtime.clock)
        for i in range(5):
            journal.record_intent(request(f"c-{i}"))
            journal.record_fill(fill(f"e-{i}"))
        journal.mark_intent("c-1", IntentState.ACKED)
        for name in ("j.db", "j.db-wal", "j.db-shm"):  # snapshot the files as a crash would leave them
            shutil.copy(live / name, copy / name)
        journal.record_intent(request("c-late"))
        journal.close()
        with Journal(copy / "j.db", world.runtime.clock) as reopened:
            assert reopened.integrity_check() == "ok"
            assert [p.client_order_id for p in reopened.pending_intents()] == ["c-0", "c-2", "c-3", "c-4"]
            assert [f.execution_id for f in reopened.fills()] == [f"e-{i}" for i in range(5)]

"""The journal: an embedded SQLite (WAL) record of what the execution layer did and saw.

An **intent** is written before any order leaves (state SENT), then marked ACKED, FAILED or
UNKNOWN (an ambiguous outcome). After a crash, ``pending_intents()`` lists the SENT and UNKNOWN
ones: exactly the orders a restart must look up at the venue before doing anything else. Beside
intents the journal keeps orders (latest state and every event), fills (unique per venue and
execution id, so a replayed execution is a no-op), positions and their history, routing
decisions, audit records (it is an ``AuditSink``), alerts (an ``AlertSink`` listener) and venue
status changes.

Storage rules: ``Decimal`` values are stored as TEXT (exact, ``Decimal(str)`` round-trips), times
as INTEGER nanoseconds, free-form payloads as JSON text of strings passed through
``harness.audit.redact`` so secret-looking fields never reach the file.

Durability: WAL with ``synchronous=NORMAL`` for everything, which survives any crash of the
process (a committed transaction is in the WAL). Intent writes are committed with
``synchronous=FULL`` (the WAL is fsynced): an intent lost to a power failure after its order
left would hide a live order, while every other row can be rebuilt from the venue by
reconciliation. Each ``record_*`` call is one transaction, committed when it returns: a
single statement, which SQLite commits by itself (one ``execute``, no BEGIN/COMMIT round trips),
or a BEGIN/COMMIT pair around the two of ``record_order``. ``transaction()`` groups several
(e.g. a fill and the position it moves: one commit for all), and a failure inside rolls all of
them back.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from types import TracebackType

from harness.alerts import Alert
from harness.audit import AuditRecord, redact
from harness.clock import Clock
from harness.model import Fill, Liquidity, OrderReport, OrderRequest, OrderType, Side, TimeInForce
from harness.registry import StatusChange

__all__ = ["SCHEMA_VERSION", "TABLES", "IntentState", "Journal", "JournalError", "PendingIntent"]

SCHEMA_VERSION = 2
"""Bumped when a table changes; a journal written by another version is refused, not migrated."""


class JournalError(Exception):
    """A record could not be written or read (bad value, wrong schema); the journal is unchanged."""


class IntentState(StrEnum):
    """Where an order intent stands: SENT until the venue answers; UNKNOWN after an ambiguous failure."""

    SENT = "SENT"
    ACKED = "ACKED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"


_PENDING = (IntentState.SENT.value, IntentState.UNKNOWN.value)
_TERMINAL = ("FILLED", "CANCELLED", "REJECTED", "EXPIRED")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS intents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_order_id TEXT NOT NULL CHECK (client_order_id <> ''),
    venue TEXT NOT NULL CHECK (venue <> ''),
    symbol TEXT NOT NULL,
    request TEXT NOT NULL,
    ts_ns INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('SENT', 'ACKED', 'FAILED', 'UNKNOWN')),
    detail TEXT NOT NULL DEFAULT '',
    updated_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS intents_coid ON intents (client_order_id);
CREATE INDEX IF NOT EXISTS intents_state ON intents (state);
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY CHECK (client_order_id <> ''),
    venue TEXT NOT NULL,
    symbol TEXT NOT NULL,
    venue_order_id TEXT NOT NULL,
    status TEXT NOT NULL,
    ts_ns INTEGER NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS order_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_order_id TEXT NOT NULL,
    venue TEXT NOT NULL,
    status TEXT NOT NULL,
    ts_ns INTEGER NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fills (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    venue TEXT NOT NULL CHECK (venue <> ''),
    execution_id TEXT NOT NULL CHECK (execution_id <> ''),
    client_order_id TEXT NOT NULL,
    venue_order_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    price TEXT NOT NULL,
    quantity TEXT NOT NULL,
    fee TEXT NOT NULL,
    fee_asset TEXT NOT NULL,
    liquidity TEXT NOT NULL,
    ts_ns INTEGER NOT NULL,
    UNIQUE (venue, execution_id)
);
CREATE TABLE IF NOT EXISTS positions (
    venue TEXT NOT NULL,
    symbol TEXT NOT NULL,
    quantity TEXT NOT NULL,
    average_entry_price TEXT NOT NULL,
    realized_pnl TEXT NOT NULL,
    ts_ns INTEGER NOT NULL,
    PRIMARY KEY (venue, symbol)
);
CREATE TABLE IF NOT EXISTS position_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    venue TEXT NOT NULL,
    symbol TEXT NOT NULL,
    quantity TEXT NOT NULL,
    average_entry_price TEXT NOT NULL,
    realized_pnl TEXT NOT NULL,
    cause TEXT NOT NULL,
    ts_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS routing_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ns INTEGER NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ns INTEGER NOT NULL,
    venue TEXT NOT NULL,
    method TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    phase TEXT NOT NULL,
    request TEXT NOT NULL,
    response TEXT NOT NULL,
    latency_ns INTEGER,
    success INTEGER,
    error_category TEXT NOT NULL,
    error TEXT NOT NULL,
    client_order_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ns INTEGER NOT NULL,
    severity TEXT NOT NULL,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    venue TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS venue_status (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ns INTEGER NOT NULL,
    venue TEXT NOT NULL,
    previous TEXT,
    status TEXT NOT NULL,
    reason TEXT NOT NULL
);
"""

TABLES = ("intents", "orders", "order_events", "fills", "positions", "position_history",
          "routing_decisions", "audit", "alerts", "venue_status")
"""The tables ``Journal.table`` can read."""


@dataclass(frozen=True, slots=True)
class PendingIntent:
    """An order intent without a final answer (SENT or UNKNOWN): a restart must reconcile it."""

    intent_id: int
    client_order_id: str
    venue: str
    symbol: str
    state: IntentState
    ts_ns: int
    request: Mapping[str, str]
    detail: str

    def order_request(self) -> OrderRequest:
        """The ``OrderRequest`` exactly as it was journaled."""
        return _request_from_json(self.request)


# --------------------------------------------------------------------------- value encoding


def _ts(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise JournalError(f"{name} must be a non-negative int of nanoseconds, got {value!r}")
    return value


def _dec(value: object, name: str) -> str:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise JournalError(f"{name} must be a finite Decimal, got {value!r} ({type(value).__name__})")
    return str(value)


def _text(value: object, name: str, *, empty: bool = True) -> str:
    if not isinstance(value, str) or (not empty and not value):
        raise JournalError(f"{name} must be a {'' if empty else 'non-empty '}string, got {value!r}")
    return value


def _json(payload: Mapping[str, object]) -> str:
    return json.dumps(redact(payload), sort_keys=True, separators=(",", ":"))


def _request_to_json(request: OrderRequest) -> dict[str, str]:
    """Every field of the request as text; ``None`` becomes ``""`` (no field is legitimately empty)."""
    out: dict[str, str] = {}
    for f in fields(request):
        value = getattr(request, f.name)
        if isinstance(value, float):
            raise JournalError(f"OrderRequest.{f.name} is a float ({value!r}); money must be Decimal")
        out[f.name] = "" if value is None else str(value)
    return out


def _request_from_json(data: Mapping[str, str]) -> OrderRequest:
    def dec(name: str) -> Decimal | None:
        return Decimal(data[name]) if data.get(name) else None

    quantity = dec("quantity")
    if quantity is None:
        raise JournalError("journaled request has no quantity")
    expire = data.get("expire_at_ns", "")
    return OrderRequest(
        client_order_id=data["client_order_id"], venue=data["venue"], symbol=data["symbol"],
        side=Side(data["side"]), order_type=OrderType(data["order_type"]), quantity=quantity,
        price=dec("price"), stop_price=dec("stop_price"), trailing_delta=dec("trailing_delta"),
        time_in_force=TimeInForce(data["time_in_force"]), expire_at_ns=int(expire) if expire else None,
        post_only=data["post_only"] == "True", reduce_only=data["reduce_only"] == "True",
        strategy_id=data.get("strategy_id", ""),
    )


def _report_mapping(report: OrderReport | Mapping[str, object]) -> dict[str, object]:
    if isinstance(report, OrderReport):
        return {f.name: getattr(report, f.name) for f in fields(report)}
    if isinstance(report, Mapping):
        return dict(report)
    raise JournalError(f"an order record must be an OrderReport or a mapping, not {type(report).__name__}")


# --------------------------------------------------------------------------- the journal


class Journal:
    """One SQLite file in WAL mode holding a run's (or a deployment's) execution record.

    Use as a context manager or call ``close()``. ``clock`` stamps rows that carry no time of
    their own (intents, state marks, decisions without ``ts_ns``).
    """

    def __init__(self, path: str | Path, clock: Clock, *, durable_intents: bool = True) -> None:
        self.path = Path(path)
        self._clock = clock
        self._durable_intents = durable_intents
        self._depth = 0
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc}") from None
        self._conn.row_factory = sqlite3.Row
        mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            self._conn.close()
            raise JournalError(f"journal {self.path} could not switch to WAL mode (got {mode!r})")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
        with self.transaction():
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                self._conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif row[0] != str(SCHEMA_VERSION):
                raise JournalError(f"journal {self.path} has schema version {row[0]}, this code writes "
                                   f"{SCHEMA_VERSION}")

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Checkpoint the WAL into the main file and close (a crash instead of this loses nothing)."""
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._conn.close()

    def integrity_check(self) -> str:
        """SQLite's own integrity check: ``"ok"`` for a healthy file."""
        return str(self._conn.execute("PRAGMA integrity_check").fetchone()[0])

    # -- transactions ---------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes: all of them commit together, or an exception rolls all of them back.

        Nests (inner blocks are savepoints). Errors from SQLite surface as ``JournalError``.
        """
        depth = self._depth
        name = f"sp{depth}"
        self._conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield
        except BaseException as exc:
            self._depth = depth
            self._conn.execute("ROLLBACK" if depth == 0 else f"ROLLBACK TO {name}")
            if depth:
                self._conn.execute(f"RELEASE {name}")
            if isinstance(exc, sqlite3.Error):
                raise JournalError(f"journal write failed and was rolled back: {exc}") from exc
            raise
        self._depth = depth
        self._conn.execute("COMMIT" if depth == 0 else f"RELEASE {name}")

    def _run(self, sql: str, params: tuple[object, ...]) -> sqlite3.Cursor:
        """One statement: a transaction of its own outside ``transaction()`` (SQLite commits it before
        returning), part of the open one inside. A failed statement changes nothing."""
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise JournalError(f"journal write failed and was rolled back: {exc}") from exc

    # -- intents --------------------------------------------------------------------------

    def record_intent(self, request: OrderRequest) -> int:
        """Journal an order about to be sent (state SENT); returns the intent id. Call BEFORE sending."""
        if not isinstance(request, OrderRequest):
            raise JournalError(f"record_intent needs an OrderRequest, not {type(request).__name__}")
        data = _request_to_json(request)
        _text(request.client_order_id, "client_order_id", empty=False)
        now = self._clock.now_ns()
        full = self._durable_intents and self._depth == 0
        if full:
            self._conn.execute("PRAGMA synchronous=FULL")
        try:
            cursor = self._run(
                "INSERT INTO intents (client_order_id, venue, symbol, request, ts_ns, state, updated_ns) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (request.client_order_id, request.venue, request.symbol, _json(data), now,
                 IntentState.SENT.value, now))
        finally:
            if full:
                self._conn.execute("PRAGMA synchronous=NORMAL")
        return int(cursor.lastrowid or 0)

    def mark_intent(self, client_order_id: str, state: IntentState | str, detail: str = "") -> None:
        """Set the state of the latest intent for ``client_order_id`` (ACKED, FAILED, UNKNOWN...)."""
        try:
            state = IntentState(state)
        except ValueError:
            raise JournalError(f"intent state must be one of {[s.value for s in IntentState]}, got {state!r}") \
                from None
        _text(detail, "detail")
        cursor = self._run(
            "UPDATE intents SET state = ?, detail = ?, updated_ns = ? WHERE id = "
            "(SELECT MAX(id) FROM intents WHERE client_order_id = ?)",
            (state.value, detail, self._clock.now_ns(), client_order_id))
        if cursor.rowcount == 0:  # nothing was changed
            raise JournalError(f"no intent journaled for client order id {client_order_id!r}")

    def pending_intents(self) -> list[PendingIntent]:
        """Intents still SENT or UNKNOWN, oldest first: what a restart must reconcile with the venue."""
        rows = self._conn.execute(
            "SELECT * FROM intents WHERE state IN (?, ?) ORDER BY id", _PENDING).fetchall()
        return [PendingIntent(intent_id=row["id"], client_order_id=row["client_order_id"], venue=row["venue"],
                              symbol=row["symbol"], state=IntentState(row["state"]), ts_ns=row["ts_ns"],
                              request=json.loads(row["request"]), detail=row["detail"]) for row in rows]

    def unfinished_orders(self) -> list[PendingIntent]:
        """Orders whose intent was answered but whose last journaled state is not terminal, oldest first.

        A restart must take these back as well as the pending intents: they rested at the venue when
        the process stopped, and may have filled, been cancelled or still rest there now.
        """
        rows = self._conn.execute(
            "SELECT i.* FROM intents i JOIN orders o ON o.client_order_id = i.client_order_id "
            "WHERE i.id = (SELECT MAX(id) FROM intents WHERE client_order_id = i.client_order_id) "
            "AND i.state NOT IN (?, ?) AND o.status NOT IN (?, ?, ?, ?) ORDER BY i.id",
            (*_PENDING, *_TERMINAL)).fetchall()
        return [PendingIntent(intent_id=row["id"], client_order_id=row["client_order_id"], venue=row["venue"],
                              symbol=row["symbol"], state=IntentState(row["state"]), ts_ns=row["ts_ns"],
                              request=json.loads(row["request"]), detail=row["detail"]) for row in rows]

    # -- orders ---------------------------------------------------------------------------

    def record_order(self, report: OrderReport | Mapping[str, object]) -> None:
        """Store an order's latest state and append it to ``order_events``.

        Takes an ``OrderReport`` or a mapping with at least ``client_order_id``, ``venue``,
        ``status`` and ``ts_ns`` (``symbol`` and ``venue_order_id`` optional).
        """
        data = _report_mapping(report)
        for required in ("client_order_id", "venue", "status", "ts_ns"):
            if required not in data:
                raise JournalError(f"order record is missing {required!r}")
        coid = _text(data["client_order_id"], "client_order_id", empty=False)
        venue = _text(data["venue"], "venue", empty=False)
        status = str(data["status"])
        ts_ns = _ts(data["ts_ns"], "ts_ns")
        for name, value in data.items():
            if isinstance(value, float):
                raise JournalError(f"order field {name!r} is a float ({value!r}); money must be Decimal")
        payload = _json(data)
        with self.transaction():
            self._conn.execute(
                "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_order_id) DO UPDATE SET "
                "venue = excluded.venue, symbol = excluded.symbol, venue_order_id = excluded.venue_order_id, "
                "status = excluded.status, ts_ns = excluded.ts_ns, payload = excluded.payload",
                (coid, venue, str(data.get("symbol", "")), str(data.get("venue_order_id", "")), status, ts_ns,
                 payload))
            self._conn.execute(
                "INSERT INTO order_events (client_order_id, venue, status, ts_ns, payload) VALUES (?, ?, ?, ?, ?)",
                (coid, venue, status, ts_ns, payload))

    def orders(self) -> list[dict[str, str]]:
        """The latest journaled state of every order (payload fields as text), by client order id."""
        rows = self._conn.execute("SELECT payload FROM orders ORDER BY client_order_id").fetchall()
        return [dict(json.loads(row[0])) for row in rows]

    # -- fills ----------------------------------------------------------------------------

    def record_fill(self, fill: Fill) -> bool:
        """Store a fill; ``False`` (and nothing written) when its (venue, execution_id) is already there."""
        if not isinstance(fill, Fill):
            raise JournalError(f"record_fill needs a Fill, not {type(fill).__name__}")
        values = (
            _text(fill.venue, "venue", empty=False), _text(fill.execution_id, "execution_id", empty=False),
            _text(fill.client_order_id, "client_order_id"), _text(fill.venue_order_id, "venue_order_id"),
            _text(fill.symbol, "symbol"), Side(fill.side).value, _dec(fill.price, "price"),
            _dec(fill.quantity, "quantity"), _dec(fill.fee, "fee"), _text(fill.fee_asset, "fee_asset"),
            Liquidity(fill.liquidity).value, _ts(fill.ts_ns, "ts_ns"))
        cursor = self._run(
            "INSERT OR IGNORE INTO fills (venue, execution_id, client_order_id, venue_order_id, symbol, side, "
            "price, quantity, fee, fee_asset, liquidity, ts_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values)
        return cursor.rowcount == 1

    def fills(self) -> list[Fill]:
        """Every journaled fill, in the order first recorded, with exact Decimals."""
        rows = self._conn.execute("SELECT * FROM fills ORDER BY id").fetchall()
        return [Fill(venue=r["venue"], symbol=r["symbol"], execution_id=r["execution_id"],
                     client_order_id=r["client_order_id"], venue_order_id=r["venue_order_id"], side=Side(r["side"]),
                     price=Decimal(r["price"]), quantity=Decimal(r["quantity"]), fee=Decimal(r["fee"]),
                     fee_asset=r["fee_asset"], liquidity=Liquidity(r["liquidity"]), ts_ns=r["ts_ns"])
                for r in rows]

    # -- positions ------------------------------------------------------------------------

    def record_position(self, venue: str, symbol: str, quantity: Decimal, average_entry_price: Decimal,
                        realized_pnl: Decimal = Decimal(0), *, ts_ns: int | None = None) -> None:
        """Store the current position of ``symbol`` at ``venue`` (replaces the previous one)."""
        row = self._position_row(venue, symbol, quantity, average_entry_price, realized_pnl, ts_ns=ts_ns)
        self._run("INSERT OR REPLACE INTO positions VALUES (?, ?, ?, ?, ?, ?)", row)

    def record_position_history(self, venue: str, symbol: str, quantity: Decimal, average_entry_price: Decimal,
                                realized_pnl: Decimal = Decimal(0), *, cause: str = "",
                                ts_ns: int | None = None) -> None:
        """Append a position snapshot with what caused it (``OPEN``, ``CLOSE``, ``RECONCILE``...)."""
        row = self._position_row(venue, symbol, quantity, average_entry_price, realized_pnl, ts_ns=ts_ns)
        self._run("INSERT INTO position_history (venue, symbol, quantity, average_entry_price, realized_pnl, ts_ns, "
                  "cause) VALUES (?, ?, ?, ?, ?, ?, ?)", (*row, _text(str(cause), "cause")))

    def _position_row(self, venue: str, symbol: str, quantity: Decimal, average_entry_price: Decimal,
                      realized_pnl: Decimal, *, ts_ns: int | None) -> tuple[str, str, str, str, str, int]:
        return (_text(venue, "venue", empty=False), _text(symbol, "symbol", empty=False),
                _dec(quantity, "quantity"), _dec(average_entry_price, "average_entry_price"),
                _dec(realized_pnl, "realized_pnl"),
                self._clock.now_ns() if ts_ns is None else _ts(ts_ns, "ts_ns"))

    # -- decisions, audit, alerts, venue status -------------------------------------------

    def record_decision(self, row: Mapping[str, object]) -> None:
        """Store one routing decision (any flat mapping; ``ts_ns`` taken from it or the clock)."""
        if not isinstance(row, Mapping):
            raise JournalError(f"a routing decision must be a mapping, not {type(row).__name__}")
        ts_ns = _ts(row["ts_ns"], "ts_ns") if "ts_ns" in row else self._clock.now_ns()
        for name, value in row.items():
            if isinstance(value, float):
                raise JournalError(f"decision field {name!r} is a float ({value!r}); use Decimal")
        self._run("INSERT INTO routing_decisions (ts_ns, payload) VALUES (?, ?)", (ts_ns, _json(row)))

    def audit(self, record: AuditRecord) -> None:
        """Store one audit record (``AuditSink``); request and response are redacted again on the way in."""
        if not isinstance(record, AuditRecord):
            raise JournalError(f"audit needs an AuditRecord, not {type(record).__name__}")
        latency = None if record.latency_ns is None else _ts(record.latency_ns, "latency_ns")
        success = None if record.success is None else int(record.success)
        self._run(
            "INSERT INTO audit (ts_ns, venue, method, endpoint, phase, request, response, latency_ns, success, "
            "error_category, error, client_order_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (_ts(record.ts_ns, "ts_ns"), _text(record.venue, "venue"), _text(record.method, "method"),
             _text(record.endpoint, "endpoint"),
             _text(record.phase, "phase"), _json(record.request), _json(record.response), latency, success,
             _text(record.error_category, "error_category"), _text(record.error, "error"),
             _text(record.client_order_id, "client_order_id")))

    def audit_records(self) -> list[AuditRecord]:
        """Every audit record, in the order written."""
        rows = self._conn.execute("SELECT * FROM audit ORDER BY id").fetchall()
        return [AuditRecord(ts_ns=r["ts_ns"], venue=r["venue"], endpoint=r["endpoint"], phase=r["phase"],
                            request=json.loads(r["request"]), response=json.loads(r["response"]),
                            latency_ns=r["latency_ns"], success=None if r["success"] is None else bool(r["success"]),
                            error_category=r["error_category"], error=r["error"],
                            client_order_id=r["client_order_id"], method=r["method"]) for r in rows]

    def on_alert(self, alert: Alert) -> None:
        """Store an alert (register with ``AlertSink.listen(journal.on_alert)``)."""
        self._run(
            "INSERT INTO alerts (ts_ns, severity, source, kind, message, venue, details) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (_ts(alert.ts_ns, "ts_ns"), str(alert.severity), alert.source, alert.kind, alert.message,
             alert.venue, _json(alert.details)))

    def record_venue_status(self, venue: str, status: str, reason: str, *, previous: str | None = None,
                            ts_ns: int | None = None) -> None:
        """Store one venue status change."""
        self._run(
            "INSERT INTO venue_status (ts_ns, venue, previous, status, reason) VALUES (?, ?, ?, ?, ?)",
            (self._clock.now_ns() if ts_ns is None else _ts(ts_ns, "ts_ns"), _text(venue, "venue", empty=False),
             None if previous is None else str(previous), str(status), _text(reason, "reason")))

    def on_status_change(self, change: StatusChange) -> None:
        """Store a ``harness.registry.StatusChange`` (register with ``VenueRegistry.listen``)."""
        self.record_venue_status(change.venue_id, change.status, change.reason,
                                 previous=None if change.previous is None else str(change.previous),
                                 ts_ns=change.ts_ns)

    # -- generic reading ------------------------------------------------------------------

    def table(self, name: str) -> list[dict[str, object]]:
        """Every row of one of ``TABLES`` as a dict, in insertion (or key) order."""
        if name not in TABLES:
            raise JournalError(f"unknown journal table {name!r} (tables: {list(TABLES)})")
        order = {"orders": "client_order_id", "positions": "venue, symbol"}.get(name, "id")
        rows = self._conn.execute(f"SELECT * FROM {name} ORDER BY {order}").fetchall()  # name checked above
        return [dict(row) for row in rows]

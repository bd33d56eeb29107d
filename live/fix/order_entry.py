"""``FixOrderEntry``: a venue's FIX order-entry (or drop-copy) client, request and answer at a time.

One initiator session (``live.fix.driver.FixInitiator``) in a venue's dialect
(``live.fix.dialects``), logging on with the dialect's credentials and signature and resetting
sequence numbers at every logon (as Binance and Coinbase require). On top of the session:

* ``request(msg_type, body, key)`` sends one order-entry message and waits (on the injected
  clock) for its answer: the first ExecutionReport or OrderCancelReject whose ``11`` is ``key``,
  a BusinessMessageReject or a session Reject of its MsgSeqNum. No answer in time, or a
  connection lost meanwhile, raises ``AmbiguousError`` (the venue may have acted);
* every ExecutionReport (answers and unsolicited ones: fills of resting orders, expiries) goes to
  ``on_report`` in sequence order: a gap is filled by the session's ResendRequest first, so none
  is lost and a resent duplicate (``43=Y``) is recognised by the session;
* a drop-copy client (``role="drop_copy"``) only listens.

Credentials never reach a log (``live.fix.log`` masks ``96``, ``553``, ``554``, ``9407``).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

import simplefix

from harness.clock import NS_PER_SECOND, Clock
from harness.contract import AmbiguousError, RetryableError
from harness.errors import RetryPolicy
from harness.model import VenueMode
from harness.registry import Credentials
from live.backoff import DEFAULT_BACKOFF
from live.fix.dialects.base import FixDialect
from live.fix.dialects.reports import BusinessReject, CancelReject, ExecutionReport
from live.fix.driver import FixInitiator
from live.fix.log import FixLogSink
from live.fix.messages import Field, get_str
from live.fix.session import FixSession
from live.fix.session_types import SessionConfig, SessionEvent, SessionState
from live.fix.store import MemorySequenceStore
from live.guard import check_transport_url

__all__ = ["Answer", "FixEndpoint", "FixOrderEntry", "SessionReject"]


@dataclass(frozen=True, slots=True)
class SessionReject:
    """A session-level Reject (3) of one of our messages."""

    ref_seq: int | None
    text: str


Answer = ExecutionReport | CancelReject | BusinessReject | SessionReject
"""What the venue may answer an order-entry message with."""


@dataclass(frozen=True, slots=True)
class FixEndpoint:
    """Where a FIX session connects, and as whom: ``host:port``, our SenderCompID, heartbeat, timeouts."""

    host: str
    port: int
    sender_comp_id: str
    heartbeat_s: int = 30
    mode: VenueMode = VenueMode.SANDBOX
    logon_timeout_ns: int = 10 * NS_PER_SECOND
    answer_timeout_ns: int = 10 * NS_PER_SECOND
    backoff: RetryPolicy = field(default=DEFAULT_BACKOFF)
    tls: ssl.SSLContext | None = None
    """TLS for real venues (Binance's FIX is ``tcp+tls://``); the local venue speaks plain TCP."""

    @property
    def url(self) -> str:
        """``tcp://host:port`` or ``tcp+tls://host:port``: what ``live.guard`` judges."""
        return f"{'tcp+tls' if self.tls is not None else 'tcp'}://{self.host}:{self.port}"


class FixOrderEntry:
    """A FIX client session in a venue's dialect (see the module docstring)."""

    def __init__(self, dialect: FixDialect, credentials: Credentials, endpoint: FixEndpoint, clock: Clock, *,
                 venue: str, role: str = "order_entry", log: FixLogSink | None = None,
                 on_report: Callable[[ExecutionReport], None] | None = None) -> None:
        check_transport_url(venue, endpoint.mode, endpoint.url, "fix")  # SANDBOX never reaches production
        self.dialect = dialect
        self.endpoint = endpoint
        self.role = role
        self.venue = venue
        self._clock = clock
        self._credentials = credentials
        self._log = log
        self.on_report = on_report
        self.reports: list[ExecutionReport] = []
        self.events: list[SessionEvent] = []
        self._pending: dict[str, asyncio.Future[Answer]] = {}
        self._by_seq: dict[int, str] = {}
        self._probes = 0
        self._waiting_probes: dict[str, asyncio.Event] = {}
        self.initiator: FixInitiator | None = None

    def _new_initiator(self) -> FixInitiator:
        dialect, credentials = self.dialect, self._credentials
        config = SessionConfig(self.endpoint.sender_comp_id, dialect.venue_comp_id,
                               heartbeat_interval_s=self.endpoint.heartbeat_s, begin_string=dialect.begin_string,
                               reset_on_logon=True, logon_hook=lambda ctx: dialect.logon_fields(ctx, credentials),
                               logon_timeout_s=max(1, self.endpoint.logon_timeout_ns // NS_PER_SECOND))
        session = FixSession(config, MemorySequenceStore(), self._log)
        return FixInitiator(session, self.endpoint.host, self.endpoint.port, clock=self._clock, venue=self.venue,
                            mode=self.endpoint.mode, tls=self.endpoint.tls, backoff=self.endpoint.backoff,
                            on_app=self._on_app,
                            on_event=self._on_event)

    @property
    def active(self) -> bool:
        """True while the session is logged on."""
        return self.initiator is not None and self.initiator.session.state is SessionState.ACTIVE

    async def start(self) -> None:
        """Connect and log on; ``RetryableError`` if not logged on within the logon timeout."""
        if self.initiator is None:
            self.initiator = self._new_initiator()
            await self.initiator.start()
        if not await self.initiator.wait_logged_on(self.endpoint.logon_timeout_ns):
            refused = next((e.detail for e in reversed(self.events) if e.kind == "logged_out" and e.detail), "")
            await self.stop()
            raise RetryableError(f"FIX logon to {self.endpoint.host}:{self.endpoint.port} failed"
                                 f"{': ' + refused if refused else ''}", venue=self.venue)

    async def stop(self) -> None:
        """Log out and stop reconnecting; pending requests end with ``AmbiguousError``."""
        initiator, self.initiator = self.initiator, None
        if initiator is not None:
            await initiator.stop(timeout_ns=2 * NS_PER_SECOND)
        self._fail_pending("the FIX session was closed")

    async def request(self, msg_type: str, body: list[Field], key: str) -> Answer:
        """Send one message and wait for the answer to ``key`` (see the module docstring)."""
        initiator = self.initiator
        conn = initiator.connection if initiator is not None else None
        if conn is None or not self.active:
            raise RetryableError(f"FIX {msg_type}: session not logged on", venue=self.venue)
        if key in self._pending:
            raise RetryableError(f"FIX {msg_type}: a request for {key!r} is still unanswered", venue=self.venue)
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            try:
                seq = conn.send(msg_type, body)
            except RuntimeError as inactive:  # the session went down between the check and the send
                raise RetryableError(f"FIX {msg_type}: {inactive}", venue=self.venue) from None
            self._by_seq[seq] = key
            sleeper: asyncio.Future[None] = asyncio.ensure_future(self._clock.sleep_ns(self.endpoint.answer_timeout_ns))
            waiting: set[asyncio.Future[object]] = {future, sleeper}  # type: ignore[arg-type]
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            sleeper.cancel()
            if not future.done():
                raise AmbiguousError(f"FIX {msg_type} {key!r}: no answer in time", venue=self.venue)
            return future.result()
        finally:
            self._pending.pop(key, None)

    async def round_trip(self, timeout_ns: int | None = None) -> bool:
        """A TestRequest answered: everything the venue sent before it has been processed. False if
        not logged on or not answered in time."""
        initiator = self.initiator
        conn = initiator.connection if initiator is not None else None
        if conn is None or not self.active:
            return False
        self._probes += 1
        probe = f"RT-{self._probes}"
        answered = asyncio.Event()
        self._waiting_probes[probe] = answered
        try:
            conn.apply(conn.session.test_request(self._clock.now_ns(), probe))
            sleeper = asyncio.ensure_future(self._clock.sleep_ns(timeout_ns or self.endpoint.answer_timeout_ns))
            waiter = asyncio.ensure_future(answered.wait())
            await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
            sleeper.cancel()
            waiter.cancel()
            return answered.is_set()
        finally:
            self._waiting_probes.pop(probe, None)

    # ------------------------------------------------------------------ inbound

    def _resolve(self, key: str, answer: Answer) -> bool:
        future = self._pending.get(key)
        if future is None or future.done():
            return False
        future.set_result(answer)
        return True

    def _on_app(self, message: simplefix.FixMessage) -> None:
        msg_type = get_str(message, 35)
        if msg_type == "8":
            report = self.dialect.read_execution(message)
            self._resolve(report.cl_ord_id, report)
            self.reports.append(report)
            if self.on_report is not None:
                self.on_report(report)
        elif msg_type == "9":
            reject = self.dialect.read_cancel_reject(message)
            self._resolve(reject.cl_ord_id, reject)
        elif msg_type == "j":
            business = self.dialect.read_business_reject(message)
            key = business.ref_id or self._by_seq.get(business.ref_seq_num or -1, "")
            self._resolve(key, business)

    def _on_event(self, event: SessionEvent) -> None:
        self.events.append(event)
        if event.kind == "heartbeat_received" and event.detail in self._waiting_probes:
            self._waiting_probes[event.detail].set()
        elif event.kind == "reject_received":
            key = self._by_seq.get(event.seq or -1)
            if key is not None:
                self._resolve(key, SessionReject(event.seq, event.detail))
        elif event.kind == "disconnected":
            self._fail_pending("the FIX connection was lost")

    def _fail_pending(self, why: str) -> None:
        for key, future in list(self._pending.items()):
            if not future.done():
                future.set_exception(AmbiguousError(f"FIX request {key!r}: {why}", venue=self.venue))

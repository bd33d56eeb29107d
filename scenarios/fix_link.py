"""A FIX client and a FIX venue session wired back to back in virtual time, for FIX fault scenarios.

No simulated venue speaks FIX yet, so FIX faults (``sim.faults.fix``) run against the session
layer itself (``live.fix.session``): ``FixLink`` connects an initiator ("CLIENT") and an acceptor
("VENUE") over a simulated wire with a constant latency, drives their timers every second, and
plays both applications:

* the client sends a NewOrderSingle every ``order_every_s`` while its session is active, and
  records each ExecutionReport it gets (by ClOrdID);
* the venue answers each order with an ExecutionReport: New, or Rejected when a ``fix_reject``
  fault says so (the client logs the reason and marks the order rejected: a final answer);
* after a dropped connection the client reconnects with backoff (1, 2, 4 ... 30 s), and the
  sessions' persisted sequence numbers resend what was lost; a logon the venue refuses counts as
  a failure, and after ``max_logon_failures`` in a row the client disables FIX connectivity and
  raises an alert (the seed's "Logon Failure: alert administrator, disable FIX connectivity").

Everything either side noticed is a ``Signal`` (venue ``fix``, named after the session event; the
venue side's prefixed ``venue_``) for the scorecard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import simplefix

from harness.clock import Clock
from live.fix.messages import MsgType, Tag, encode, get_str, sending_time
from live.fix.session import FixSession
from live.fix.session_types import Output, SessionConfig, SessionState
from live.fix.store import MemorySequenceStore
from scenarios.observer import Signal
from sim.kernel.runtime import SimRuntime

__all__ = ["FixLink", "FixSettings"]

NS = 1_000_000_000


@dataclass(frozen=True)
class FixSettings:
    """``[fix]`` of a FIX scenario: how long, how often an order, heartbeat, latency, logon policy."""

    minutes: int = 5
    order_every_s: int = 2
    heartbeat_s: int = 30
    latency_ms: int = 1
    max_logon_failures: int = 3


@dataclass
class FixLink:
    """The two sessions, the wire between them and both applications (see the module docstring)."""

    runtime: SimRuntime
    settings: FixSettings
    signals: list[Signal] = field(default_factory=list)
    wire_filters: list[Any] = field(default_factory=list)
    reject_filters: list[Any] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        hb = self.settings.heartbeat_s
        self.client = FixSession(SessionConfig("CLIENT", "VENUE", heartbeat_interval_s=hb), MemorySequenceStore())
        self.venue = FixSession(SessionConfig("VENUE", "CLIENT", heartbeat_interval_s=hb, initiator=False),
                                MemorySequenceStore())
        self.connection = 0
        self.connected = False
        self.disabled = False
        self._refuse = 0
        self._failures = 0
        self._attempt = 0
        self._orders = 0
        self._logged_on = False  # the current connection's logon completed

    @property
    def clock(self) -> Clock:
        """The virtual clock (with ``fix``, what FIX faults need)."""
        return self.runtime.clock

    @property
    def fix(self) -> FixLink:
        """The link itself (the faults' seams)."""
        return self

    @property
    def adapters(self) -> dict[str, Any]:
        """No simulated venue adapters in a FIX link (a ``sim.faults.FaultWorld`` has them)."""
        return {}

    @property
    def markets(self) -> dict[str, Any]:
        """No market sides either."""
        return {}

    # ------------------------------------------------------------------ the seams faults use

    def drop_connection(self, reason: str) -> None:
        """The TCP connection breaks: both sessions see it go; what is in flight is lost."""
        if not self.connected:
            return
        self._note("connection_dropped", reason)
        self._disconnected()

    def refuse_logons(self, count: int) -> None:
        """The venue answers the next ``count`` logons with a Logout."""
        self._refuse += count

    # ------------------------------------------------------------------ driving

    async def run(self) -> None:
        """Connect, trade and keep the link alive for ``settings.minutes`` of virtual time."""
        clock = self.clock
        end = clock.now_ns() + self.settings.minutes * 60 * NS
        self._connect()
        next_order = clock.now_ns() + self.settings.order_every_s * NS
        while clock.now_ns() < end:
            await clock.sleep_ns(NS)
            now = clock.now_ns()
            if self.connected:
                self._from("client", self.client.on_timer(now))
                if self.connected:
                    self._from("venue", self.venue.on_timer(now))
            if now >= next_order:
                next_order = now + self.settings.order_every_s * NS
                self._send_order(now)
        await clock.sleep_ns(5 * NS)  # answers still on the wire arrive

    def _connect(self) -> None:
        if self.disabled or self.connected:
            return
        self.connection += 1
        self.connected = True
        self._logged_on = False
        now = self.clock.now_ns()
        self._from("venue", self.venue.on_connected(now))
        self._from("client", self.client.on_connected(now))

    def _disconnected(self) -> None:
        was_logging_on = not self._logged_on
        self.connected = False
        now = self.clock.now_ns()
        self._events("client", self.client.on_disconnected(now))
        self._events("venue", self.venue.on_disconnected(now))
        if was_logging_on:
            self._failures += 1
            self._note("logon_failed", f"{self._failures} in a row")
            if self._failures >= self.settings.max_logon_failures:
                self.disabled = True
                self._note("disabled", "FIX connectivity disabled after repeated logon failures: alert the "
                                       "administrator")
                return
        self._attempt += 1
        delay = min(30, 2 ** (self._attempt - 1)) * NS
        self.clock.call_later(delay, self._connect)

    def _send_order(self, now: int) -> None:
        if not self.connected or self.client.state is not SessionState.ACTIVE:
            return
        self._orders += 1
        clordid = f"o{self._orders}"
        self.sent[clordid] = now
        self._from("client", self.client.send(MsgType.NEW_ORDER_SINGLE, [(11, clordid), (55, "BTCUSDT"), (54, "1"),
                                                                        (38, "0.01"), (40, "2"), (44, "60000")], now))

    # ------------------------------------------------------------------ the wire

    def _from(self, side: str, out: Output) -> None:
        """Apply one session's output: events, application messages, bytes onto the wire, a close."""
        self._events(side, out)
        for message in out.app_messages:
            (self._client_app if side == "client" else self._venue_app)(message)
        direction = "to_venue" if side == "client" else "to_client"
        for raw in out.outbound:
            msg_type = _msg_type(raw)
            if not all(f.passes(direction, msg_type, self.clock.now_ns()) for f in self.wire_filters):
                continue
            self.clock.call_later(self.settings.latency_ms * 1_000_000, self._arrive, self.connection, direction, raw)
        if out.disconnect and self.connected:
            self._note("disconnected", f"{side} closed the session")
            self._disconnected()

    def _arrive(self, connection: int, direction: str, raw: bytes) -> None:
        if connection != self.connection or not self.connected:
            return  # sent on a connection that is gone
        now = self.clock.now_ns()
        if direction == "to_venue":
            if _msg_type(raw) == MsgType.LOGON and self._refuse > 0:
                self._refuse -= 1
                logout = encode(begin_string="FIX.4.4", msg_type=MsgType.LOGOUT, seq=self.client.next_target_seq,
                                sender="VENUE", target="CLIENT", sent_at=sending_time(now),
                                body=[(Tag.TEXT, "Logon refused: invalid credentials")])
                self.clock.call_later(self.settings.latency_ms * 1_000_000, self._arrive, connection, "to_client",
                                      logout)
                return
            self._from("venue", self.venue.on_data(raw, now))
        else:
            self._from("client", self.client.on_data(raw, now))

    # ------------------------------------------------------------------ the applications

    def _venue_app(self, message: simplefix.FixMessage) -> None:
        if get_str(message, 35) != MsgType.NEW_ORDER_SINGLE:
            return
        clordid = get_str(message, 11) or ""
        now = self.clock.now_ns()
        rejected = any(f.rejects(now) for f in self.reject_filters)
        body = [(11, clordid), (17, f"x-{clordid}"), (150, "8" if rejected else "0"), (39, "8" if rejected else "0")]
        if rejected:
            body += [(103, "99"), (58, "order refused (injected)")]
        if self.venue.state is SessionState.ACTIVE:
            self._from("venue", self.venue.send(MsgType.EXECUTION_REPORT, body, now))

    def _client_app(self, message: simplefix.FixMessage) -> None:
        if get_str(message, 35) != MsgType.EXECUTION_REPORT:
            return
        clordid = get_str(message, 11) or ""
        status = get_str(message, 39) or ""
        self.outcomes.setdefault(clordid, []).append(status)
        if status == "8":
            self._note("order_rejected", f"{clordid}: reason {get_str(message, 103)} {get_str(message, 58)}")

    # ------------------------------------------------------------------ bookkeeping

    def _events(self, side: str, out: Output) -> None:
        for event in out.events:
            if side == "client" and event.kind == "logged_on":
                self._failures = 0
                self._attempt = 0
                self._logged_on = True
            self._note(event.kind if side == "client" else f"venue_{event.kind}", event.detail)

    def _note(self, kind: str, detail: str = "") -> None:
        self.signals.append(Signal(self.clock.now_ns(), "fix", kind, detail))


def _msg_type(raw: bytes) -> str:
    start = raw.find(b"\x0135=")
    end = raw.find(b"\x01", start + 4)
    return raw[start + 4:end].decode() if start >= 0 else ""


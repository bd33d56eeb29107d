"""The local venue's FIX acceptor: order-entry and drop-copy sessions over asyncio TCP on 127.0.0.1.

``FixVenue`` listens on two ports (order entry and drop copy, as Binance has ``fix-oe`` and
``fix-dc``) and runs, per connection, one acceptor ``FixSession`` (``live.fix.session``: sequence
numbers, heartbeats and TestRequests, ResendRequests answered with PossDup resends and
SequenceReset-GapFill for administrative messages, Logout) in the venue's dialect:

1. the first message must be a Logon, within ``logon_timeout_ns`` and 64 KiB; the dialect checks
   it (``verify_logon``: the API key and its Ed25519 or HMAC signature, the venue's own rules); a
   refused Logon, or one refused by the ``fix_logon_failure`` fault, is answered with a Logout
   naming the reason, then the connection is closed;
2. the session is created for the client's SenderCompID and fed everything received so far;
3. application messages go to the ``FixDesk`` (``live.serve.fix_desk``); its reports come back
   through ``send_app``.

The seams of ``sim.faults.fix`` (``FixLinkHooks``) are here, so FIX scenario faults apply to the
served venue as they do to the simulated link: ``wire_filters`` (``passes(direction, msg_type,
now_ns)``: a message the session sent but the wire lost, so the client sees a gap and must ask a
ResendRequest), ``reject_filters`` (the desk's), ``drop_connection`` and ``refuse_logons``.
Time is the venue's clock; every message in and out goes to the optional ``FixLogSink``
(credentials masked).
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Mapping
from typing import Any

import simplefix

from harness.clock import NS_PER_SECOND, Clock
from harness.secrets import safe_logger
from live.fix.dialects.base import FixKey, LogonRefused
from live.fix.framing import FrameReader
from live.fix.log import FixLogSink
from live.fix.messages import Field, MsgType, encode, get_int, get_str, parse, sending_time
from live.fix.session import FixSession
from live.fix.session_types import LogonContext, Output, SessionConfig, SessionState
from live.fix.store import MemorySequenceStore
from live.serve.fix_desk import FixDesk

__all__ = ["FixPeer", "FixVenue"]

logger = safe_logger(__name__)
_MAX_BEFORE_LOGON = 64 * 1024


class FixPeer:
    """One accepted connection: the logon check, then its session (see the module docstring)."""

    def __init__(self, venue: FixVenue, role: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.venue = venue
        self.role = role
        self.session: FixSession | None = None
        self.api_key = ""
        self.refused = ""
        self.closed = asyncio.Event()
        self.logged_on = asyncio.Event()
        self._reader, self._writer = reader, writer
        self._frames = FrameReader()
        self._received = b""

    # ------------------------------------------------------------------ what the desk calls

    def send_app(self, msg_type: str, body: list[Field]) -> None:
        """Send an application message if the session is active (else it is lost, as on a dead link)."""
        session = self.session
        if session is not None and session.state is SessionState.ACTIVE and not self._writer.is_closing():
            self._apply(session.send(msg_type, body, self.venue.clock.now_ns()))

    def session_reject(self, ref_seq: int, reason: int, text: str, ref_tag: int | None, ref_msg_type: str) -> None:
        """A session-level Reject of the client's message ``ref_seq``."""
        if self.session is not None:
            self._apply(self.session.reject(self.venue.clock.now_ns(), ref_seq, reason, text, ref_tag=ref_tag,
                                            ref_msg_type=ref_msg_type))

    # ------------------------------------------------------------------ the connection

    async def serve(self) -> None:
        """Run until the client or the venue closes the connection."""
        timer = asyncio.create_task(self._timer())
        try:
            while not self._writer.is_closing():
                data = await self._reader.read(65536)
                if not data:
                    break
                self._data(data)
                await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            logger.info("fix acceptor: connection lost: %s", exc)
        finally:
            timer.cancel()
            await asyncio.gather(timer, return_exceptions=True)
            if self.session is not None:
                self._apply(self.session.on_disconnected(self.venue.clock.now_ns()))
            self._writer.close()
            self.closed.set()

    def abort(self) -> None:
        """Drop the TCP connection without a Logout."""
        self._writer.transport.abort()

    def _data(self, data: bytes) -> None:
        now = self.venue.clock.now_ns()
        if self.session is not None:
            self._apply(self.session.on_data(data, now))
            return
        self._received += data
        if len(self._received) > _MAX_BEFORE_LOGON:
            self._refuse(None, f"no Logon in the first {_MAX_BEFORE_LOGON} bytes")
            return
        for frame in self._frames.feed(data):
            if frame.error is not None:
                self._refuse(None, f"garbled first message: {frame.error}")
                return
            try:
                message = parse(frame.raw)
            except (ValueError, simplefix.errors.ParsingError) as bad:
                self._refuse(None, f"unreadable first message: {bad}")
                return
            self._logon(message, now)
            return

    def _logon(self, message: simplefix.FixMessage, now: int) -> None:
        if get_str(message, 35) != MsgType.LOGON:
            self._refuse(message, "the first message must be a Logon")
            return
        if get_str(message, 8) != self.venue.dialect.begin_string:
            self._refuse(message, f"BeginString must be {self.venue.dialect.begin_string}")
            return
        try:
            self.api_key = self.venue.dialect.verify_logon(message, self.venue.keys, now)
            if self.venue.refusing > 0:
                self.venue.refusing -= 1
                raise LogonRefused("Logon refused (injected logon failure).")
        except LogonRefused as refused:
            self._refuse(message, str(refused))
            return
        interval = get_int(message, 108) or 30
        config = SessionConfig(self.venue.dialect.venue_comp_id, get_str(message, 49) or "?",
                               heartbeat_interval_s=max(interval, 1), begin_string=self.venue.dialect.begin_string,
                               initiator=False, logon_hook=self.venue.logon_answer)
        self.session = FixSession(config, MemorySequenceStore(), self.venue.log)
        self._apply(self.session.on_connected(now))
        received, self._received = self._received, b""
        self._apply(self.session.on_data(received, now))

    def _refuse(self, message: simplefix.FixMessage | None, text: str) -> None:
        """A Logout naming why, then close (no session was created)."""
        self.refused = text
        self.venue.refusals.append(text)
        target = get_str(message, 49) if message is not None else None
        raw = encode(begin_string=self.venue.dialect.begin_string, msg_type=MsgType.LOGOUT, seq=1,
                     sender=self.venue.dialect.venue_comp_id, target=target or "UNKNOWN",
                     sent_at=sending_time(self.venue.clock.now_ns()), body=[(58, text)])
        if self.venue.log is not None:
            self.venue.log.log(self.venue.clock.now_ns(), "OUT", raw)
        self._writer.write(raw)
        self._writer.close()

    async def _timer(self) -> None:
        connected_ns = self.venue.clock.now_ns()
        while True:
            await self.venue.clock.sleep_ns(self.venue.timer_interval_ns)
            now = self.venue.clock.now_ns()
            if self.session is not None:
                self._apply(self.session.on_timer(now))
            elif now - connected_ns >= self.venue.logon_timeout_ns and not self._writer.is_closing():
                self._refuse(None, "no Logon in time")

    def _apply(self, out: Output) -> None:
        now = self.venue.clock.now_ns()
        for raw in out.outbound:
            if self._writer.is_closing():
                break
            if self.venue.passes(raw, now):
                self._writer.write(raw)
        for event in out.events:
            self.venue.events.append((self.role, event))
            if event.kind == "logged_on":
                self.logged_on.set()
        for message in out.app_messages:
            self.venue.desk.handle(self, message)
        if out.disconnect:
            self._writer.close()


class FixVenue:
    """FIX order entry and drop copy for a local venue (see the module docstring)."""

    def __init__(self, desk: FixDesk, clock: Clock, keys: Mapping[str, FixKey], *, log: FixLogSink | None = None,
                 timer_interval_ns: int = NS_PER_SECOND, logon_timeout_ns: int = 10 * NS_PER_SECOND) -> None:
        self.desk = desk
        self.dialect = desk.dialect
        self.clock = clock
        self.keys = dict(keys)
        self.log = log
        self.timer_interval_ns = timer_interval_ns
        self.logon_timeout_ns = logon_timeout_ns
        self.peers: list[FixPeer] = []
        self.events: list[tuple[str, Any]] = []
        self.refusals: list[str] = []
        self.wire_filters: list[Any] = []
        self.refusing = 0
        self.port = 0
        self.drop_copy_port = 0
        self._servers: list[asyncio.Server] = []
        self._logons = 0

    @property
    def reject_filters(self) -> list[Any]:
        """The ``fix_reject`` fault's seam: asked for every order (``rejects(now_ns)``)."""
        return self.desk.reject_filters

    @property
    def fix(self) -> FixVenue:
        """The seams of ``sim.faults.fix`` (``FixWorld.fix``) are this object's."""
        return self

    async def start(self, host: str = "127.0.0.1", port: int = 0, drop_copy_port: int = 0) -> int:
        """Listen for order entry on ``port`` and drop copy on ``drop_copy_port`` (0: any free); returns ``port``."""
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the FIX acceptor listens on loopback only, not {host!r}")
        for role, wanted in (("order_entry", port), ("drop_copy", drop_copy_port)):
            server = await asyncio.start_server(functools.partial(self._accept, role), host, wanted)
            self._servers.append(server)
            bound = int(server.sockets[0].getsockname()[1])
            if role == "order_entry":
                self.port = bound
            else:
                self.drop_copy_port = bound
        return self.port

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        for server in self._servers:
            server.close()
        for peer in list(self.peers):
            if not peer.closed.is_set():
                peer.abort()
                await peer.closed.wait()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()

    def logon_answer(self, context: LogonContext) -> list[Field]:
        """Extra fields of the venue's Logon answer (Binance: ``25037`` a UUID of the connection)."""
        self._logons += 1
        return [(25037, str(uuid.UUID(int=self._logons)))] if self.dialect.name == "binance" else []

    def passes(self, raw: bytes, now_ns: int) -> bool:
        """Whether the wire delivers ``raw`` to the client (the ``fix_sequence_gap`` fault's seam)."""
        if not self.wire_filters:
            return True
        msg_type = get_str(parse(raw), 35) or ""
        return all(f.passes("to_client", msg_type, now_ns) for f in self.wire_filters)

    def drop_connection(self, reason: str) -> None:
        """Break every connection now, without a Logout (the ``fix_session_drop`` fault)."""
        logger.info("fix acceptor: dropping connections: %s", reason)
        for peer in self.peers:
            if not peer.closed.is_set():
                peer.abort()

    def refuse_logons(self, count: int) -> None:
        """Answer the next ``count`` logons with a Logout (the ``fix_logon_failure`` fault)."""
        self.refusing += count

    async def _accept(self, role: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = FixPeer(self, role, reader, writer)
        self.peers.append(peer)
        self.desk.outlets.append(peer)
        try:
            await peer.serve()
        finally:
            self.desk.outlets.remove(peer)

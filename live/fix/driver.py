"""The thin asyncio TCP drivers of a ``FixSession``: an initiator (with reconnects) and a minimal acceptor.

``FixConnection`` runs one session over one TCP stream: bytes read go to ``on_data``, a timer
calls ``on_timer`` every ``timer_interval_ns`` on the injected clock, and each ``Output`` is
applied (messages written, events and application messages handed to the callbacks, the socket
closed on ``disconnect``). All session logic stays in ``FixSession``.

``FixInitiator`` connects and, until stopped, reconnects after a drop with the backoff of
``live.backoff.DEFAULT_BACKOFF`` (1, 2, 4 ... 30 s); the persisted sequence numbers carry the
session across (a gap on either side is then resent). ``FixAcceptor`` is the counterpart the
tests use (and a start for the local venue's FIX server); ``outbound_filter`` lets a test drop
chosen messages on the wire, as a lossy link would.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

import simplefix

from harness.clock import NS_PER_SECOND, Clock
from harness.errors import RetryPolicy
from harness.model import VenueMode
from harness.secrets import safe_logger
from live.backoff import DEFAULT_BACKOFF
from live.fix.messages import Field
from live.fix.session import FixSession
from live.fix.session_types import Output, SessionEvent, SessionState
from live.guard import check_transport_url

__all__ = ["AppHandler", "EventHandler", "FixAcceptor", "FixConnection", "FixInitiator", "OutboundFilter"]

logger = safe_logger(__name__)

AppHandler = Callable[[simplefix.FixMessage], None]
"""Receives every application message, in sequence order."""
EventHandler = Callable[[SessionEvent], None]
"""Receives every session event."""
OutboundFilter = Callable[[bytes], bool]
"""Fault hook: return False to drop a message on the wire (the session believes it was sent)."""


class FixConnection:
    """One ``FixSession`` over one TCP stream."""

    def __init__(self, session: FixSession, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 clock: Clock, timer_interval_ns: int = NS_PER_SECOND, on_app: AppHandler | None = None,
                 on_event: EventHandler | None = None, outbound_filter: OutboundFilter | None = None) -> None:
        self.session = session
        self.events: list[SessionEvent] = []
        self.app_messages: list[simplefix.FixMessage] = []
        self.logged_on = asyncio.Event()
        self.closed = asyncio.Event()
        self._reader, self._writer = reader, writer
        self._clock = clock
        self._timer_ns = timer_interval_ns
        self._on_app, self._on_event = on_app, on_event
        self._filter = outbound_filter

    async def serve(self) -> None:
        """Run until the peer or the session closes the stream."""
        self._apply(self.session.on_connected(self._clock.now_ns()))
        timer = asyncio.create_task(self._timer())
        try:
            while not self._writer.is_closing():
                data = await self._reader.read(65536)
                if not data:
                    break
                self._apply(self.session.on_data(data, self._clock.now_ns()))
                await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            logger.info("fix %s: connection lost: %s", self.session.config.sender_comp_id, exc)
        finally:
            timer.cancel()
            await asyncio.gather(timer, return_exceptions=True)
            self._apply(self.session.on_disconnected(self._clock.now_ns()))
            self._writer.close()
            self.closed.set()

    def send(self, msg_type: str, body: list[Field]) -> int:
        """Send an application message now; returns its MsgSeqNum."""
        self._apply(self.session.send(msg_type, body, self._clock.now_ns()))
        return self.session.next_sender_seq - 1

    async def logout(self, text: str = "", timeout_ns: int = 5 * NS_PER_SECOND) -> bool:
        """Log out and wait (on the clock) for the stream to close; True if it did in time."""
        self._apply(self.session.logout(self._clock.now_ns(), text))
        return await self.wait_closed(timeout_ns)

    async def wait_closed(self, timeout_ns: int) -> bool:
        """Wait until the stream is closed, at most ``timeout_ns`` on the clock."""
        sleeper = asyncio.ensure_future(self._clock.sleep_ns(timeout_ns))
        waiter = asyncio.ensure_future(self.closed.wait())
        await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
        sleeper.cancel()
        waiter.cancel()
        return self.closed.is_set()

    def run_timers(self, now_ns: int | None = None) -> None:
        """Run the session's timers now (at ``now_ns``, default the clock's time), outside the timer loop."""
        self._apply(self.session.on_timer(self._clock.now_ns() if now_ns is None else now_ns))

    def abort(self) -> None:
        """Drop the TCP stream without a Logout (a crash, as seen by the peer)."""
        transport = self._writer.transport
        transport.abort()

    async def _timer(self) -> None:
        while True:
            await self._clock.sleep_ns(self._timer_ns)
            self.run_timers()

    def apply(self, out: Output) -> None:
        """Carry out what the session asked for outside this driver's own inputs (e.g. ``test_request``)."""
        self._apply(out)

    def _apply(self, out: Output) -> None:
        for raw in out.outbound:
            if (self._filter is None or self._filter(raw)) and not self._writer.is_closing():
                self._writer.write(raw)
        for event in out.events:
            self.events.append(event)
            if event.kind == "logged_on":
                self.logged_on.set()
            if self._on_event is not None:
                self._on_event(event)
        for message in out.app_messages:
            self.app_messages.append(message)
            if self._on_app is not None:
                self._on_app(message)
        if out.disconnect:
            self._writer.close()


class FixInitiator:
    """Connects a session to ``host:port`` and keeps it connected until ``stop``."""

    def __init__(self, session: FixSession, host: str, port: int, *, clock: Clock, venue: str = "binance",
                 mode: VenueMode = VenueMode.SANDBOX, tls: ssl.SSLContext | None = None,
                 timer_interval_ns: int = NS_PER_SECOND, backoff: RetryPolicy = DEFAULT_BACKOFF,
                 on_app: AppHandler | None = None, on_event: EventHandler | None = None) -> None:
        check_transport_url(venue, mode, f"{'tcp+tls' if tls else 'tcp'}://{host}:{port}", "fix")
        self.session = session
        self.connection: FixConnection | None = None
        self.connections = 0
        self._address = (host, port)
        self._clock, self._tls, self._timer_ns, self._backoff = clock, tls, timer_interval_ns, backoff
        self._on_app, self._on_event = on_app, on_event
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._connected = asyncio.Event()

    async def start(self) -> None:
        """Start connecting in the background."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run())

    async def wait_logged_on(self, timeout_ns: int) -> bool:
        """Wait (on the clock) until the current connection is logged on."""
        deadline = self._clock.now_ns() + timeout_ns
        while self._clock.now_ns() < deadline:
            conn = self.connection
            if conn is not None and conn.logged_on.is_set() and self.session.state is SessionState.ACTIVE:
                return True
            await self._clock.sleep_ns(min(10_000_000, timeout_ns))
        return False

    async def stop(self, text: str = "", timeout_ns: int = 5 * NS_PER_SECOND) -> None:
        """Log out (if logged on; waiting up to ``timeout_ns`` for the peer's Logout) and stop reconnecting."""
        self._stopping = True
        conn = self.connection
        if conn is not None and not conn.closed.is_set():
            if self.session.state is SessionState.ACTIVE:
                await conn.logout(text, timeout_ns)
            conn.abort()
            await conn.closed.wait()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                reader, writer = await asyncio.open_connection(*self._address, ssl=self._tls)
            except OSError as exc:
                delay = self._backoff.base_delay_ns(failures)
                failures += 1
                logger.warning("fix %s: connect failed (%s); retrying in %d ns", self._address, exc, delay)
                await self._clock.sleep_ns(delay)
                continue
            failures = 0
            self.connections += 1
            self.connection = FixConnection(self.session, reader, writer, clock=self._clock,
                                            timer_interval_ns=self._timer_ns, on_app=self._on_app,
                                            on_event=self._on_event)
            await self.connection.serve()
            if not self._stopping:
                delay = self._backoff.base_delay_ns(0)
                logger.warning("fix %s: disconnected; reconnecting in %d ns", self._address, delay)
                await self._clock.sleep_ns(delay)


class FixAcceptor:
    """Accepts TCP connections on 127.0.0.1 and runs a fresh session (from ``session_factory``) on each."""

    def __init__(self, session_factory: Callable[[], FixSession], *, clock: Clock,
                 timer_interval_ns: int = NS_PER_SECOND, outbound_filter: OutboundFilter | None = None,
                 on_app: AppHandler | None = None) -> None:
        self._factory = session_factory
        self._clock, self._timer_ns, self._filter, self._on_app = clock, timer_interval_ns, outbound_filter, on_app
        self.connections: list[FixConnection] = []
        self._server: asyncio.Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the port."""
        self._server = await asyncio.start_server(self._accept, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def current(self) -> FixConnection:
        """The most recent connection."""
        return self.connections[-1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = FixConnection(self._factory(), reader, writer, clock=self._clock, timer_interval_ns=self._timer_ns,
                             on_app=self._on_app, outbound_filter=self._filter)
        self.connections.append(conn)
        await conn.serve()

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        if self._server is not None:
            self._server.close()
        for conn in self.connections:
            if not conn.closed.is_set():
                conn.abort()
                await conn.closed.wait()
        if self._server is not None:
            await self._server.wait_closed()

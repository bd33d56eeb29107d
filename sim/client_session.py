"""The simulated client's session with one venue: its links, heartbeat, clock offset and own requests.

``SimAdapter`` serves the contract; this is the connection management under it, the part a live
adapter's transports do (``live.ws``, ``live.rest``), here over the ``sim.channels`` of one venue:

* two ``StreamLink``s (``sim.client_links``), ``user`` and ``market``. A cut is noticed by a
  close frame one response latency later, or (a silent cut) by the heartbeat: every
  ``ping_interval_ns`` each link the client believes up is pinged, and a dead one is declared
  down ``pong_timeout_ns`` later (the seeds' "heartbeat timeout: mark unhealthy, reconnect");
* the request path's timestamps: signed requests carry the client's clock reading plus the
  offset learned from the venue's server time; ``clock_error_ns`` is how far the client's host
  clock is off (a fault sets it). After a -1021 the offset is learned again (``sync_time``);
* the client's own requests (the resync snapshot, the server time): sent through the same
  request channel and the venue's desk, and audited to ``audit`` like every other request;
* staleness: every ``stale_check_ns`` the oldest market-data message still in flight is compared
  with the client's clock; older than ``stale_after_ns`` is ``stale`` until it is not.

Everything noticed goes to ``events`` (``sim.client_links.EventLog``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from harness.audit import AuditRecord, AuditSink
from harness.clock import Cancellable, Clock
from harness.contract import AmbiguousError, RetryableError, VenueError
from harness.errors import categorize, scrub
from harness.venues import VenueDescriptor
from sim.channels import MarketDataChannel, PushChannel, RequestChannel
from sim.client_links import EventLog, LinkSettings, StreamLink
from sim.venue.desk import ORDER_ENTRY, SIGNED, RequestDesk

__all__ = ["ClientSession"]

logger = logging.getLogger(__name__)


class ClientSession:
    """One venue's links, heartbeat, clock offset and internal requests (see the module docstring)."""

    def __init__(self, venue: str, *, clock: Clock, desk: RequestDesk, requests: RequestChannel,
                 user: PushChannel, market: MarketDataChannel, descriptor: VenueDescriptor,
                 settings: LinkSettings | None = None) -> None:
        self.venue = venue
        self.clock = clock
        self.desk = desk
        self.requests = requests
        self.user_channel = user
        self.market_channel = market
        self.descriptor = descriptor
        self.settings = settings or LinkSettings()
        self.events = EventLog(venue)
        self.user = StreamLink("user")
        self.market = StreamLink("market")
        self.audit: AuditSink | None = None
        """Where the client's own requests are audited (set by whoever wires the engine)."""
        self.clock_error_ns = 0
        self.time_offset_ns = 0
        self.parse_errors = 0
        self.on_market_lost: Callable[[], None] | None = None
        self.on_user_lost: Callable[[], None] | None = None
        """Called when the client learns the user stream is gone (``is_connected`` turns false)."""
        self._beat: Cancellable | None = None
        self._probe: Cancellable | None = None
        self._probing = False  # the staleness probe is on (it may be parked: see _check_staleness)
        self._probe_next_ns = 0  # the probe's next tick on its grid, kept while it is parked
        self._late_until_ns = -1  # the latest arrival of an entry that may be stale in flight
        self._stale = False
        requests.timeout_ns = self.settings.request_timeout_ns
        requests.timeout_error = self._timeout_error

    # ------------------------------------------------------------------ links

    def cut(self, stream: str, *, silent: bool = False, refuse_until_ns: int = 0) -> None:
        """The venue side lost ``stream`` (``user`` or ``market``); the client notices per ``silent``."""
        link = self.user if stream == "user" else self.market
        channel = self.user_channel if stream == "user" else self.market_channel
        channel.cut()
        if link.cut(refuse_until_ns=refuse_until_ns) and not silent:
            close_at = self.user_channel.latency.delivery_time(self.clock.now_ns())
            self.clock.call_at(close_at, self.notice, link, "close")

    def notice(self, link: StreamLink, how: str) -> None:
        """The client learned ``link`` is gone (a close frame, or a heartbeat without pong)."""
        if not link.notice_loss():
            return
        self.events.emit(self.clock.now_ns(), link.name, "down", how)
        if link is self.market and self.on_market_lost is not None:
            self.on_market_lost()
        if link is self.user and self.on_user_lost is not None:
            self.on_user_lost()

    def start_heartbeat(self) -> None:
        """Ping the links every ``ping_interval_ns`` from now on (idempotent)."""
        if self._beat is None:
            self._beat = self.clock.call_later(self.settings.ping_interval_ns, self._heartbeat)

    def stop(self) -> None:
        """Stop the heartbeat and the staleness probe."""
        for timer in (self._beat, self._probe):
            if timer is not None:
                timer.cancel()
        self._beat = self._probe = None
        self._probing = False

    def _heartbeat(self) -> None:
        self._beat = self.clock.call_later(self.settings.ping_interval_ns, self._heartbeat)
        for link in (self.user, self.market):
            if link.known_up and not link.carried:
                self.clock.call_later(self.settings.pong_timeout_ns, self.notice, link, "heartbeat timeout")

    def start_staleness_probe(self) -> None:
        """Watch the age of market data in flight (a hosted channel only; idempotent).

        The probe ticks every ``stale_check_ns`` only while its answer could be "stale": an
        entry can be older than ``stale_after_ns`` in flight only if its arrival is that much
        after its event time, so the channel reports such entries (``on_late``) and the probe
        parks, keeping its grid, when none is in flight and the data is fresh: on a healthy
        replay it never wakes the clock, and it says exactly what a probe ticking throughout says.
        """
        channel = self.market_channel
        if self._probing or channel.tapset is None:
            return
        self._probing = True
        self._probe_next_ns = self.clock.now_ns() + self.settings.stale_check_ns
        channel.late_after_ns = self.settings.stale_after_ns
        channel.on_late = self._late_entry
        self._arm_probe()

    def _late_entry(self, arrival_ns: int) -> None:
        """An entry that may turn stale in flight was queued; it arrives at ``arrival_ns``."""
        self._late_until_ns = max(self._late_until_ns, arrival_ns)
        if self._probing and self._probe is None:
            now = self.clock.now_ns()
            step = self.settings.stale_check_ns
            if self._probe_next_ns <= now:  # resume on the grid, strictly after now
                self._probe_next_ns += ((now - self._probe_next_ns) // step + 1) * step
            self._arm_probe()

    def _arm_probe(self) -> None:
        """Schedule the next tick if it could find the data stale (or fresh again); else park."""
        if self._stale or self._late_until_ns >= self._probe_next_ns:
            self._probe = self.clock.call_at(self._probe_next_ns, self._check_staleness)
        else:
            self._probe = None

    def _check_staleness(self) -> None:
        self._probe_next_ns = self.clock.now_ns() + self.settings.stale_check_ns
        queue = self.market_channel.queue
        now = self.clock.now_ns()
        oldest = queue[0][2].ts_event if queue else now
        stale = now - oldest > self.settings.stale_after_ns
        if stale != self._stale:
            self._stale = stale
            self.events.emit(now, "market", "stale" if stale else "fresh", f"oldest in flight {now - oldest} ns old")
        self._arm_probe()

    def parse_error(self, stream: str, raw: object) -> None:
        """A message on ``stream`` could not be parsed: log it raw, skip it, count it."""
        self.parse_errors += 1
        text = scrub(repr(raw))
        logger.warning("%s %s: unparseable message skipped: %s", self.venue, stream, text)
        self.events.emit(self.clock.now_ns(), stream, "parse_error", text[:200])

    # ------------------------------------------------------------------ the request path

    def stamp(self, method: str) -> int | None:
        """The timestamp a signed ``method`` carries (the client's clock plus the learned offset)."""
        if method not in SIGNED:
            return None
        return self.clock.now_ns() + self.clock_error_ns + self.time_offset_ns

    async def send(self, method: str, op: str, args: tuple[Any, ...], *, weight: int | None) -> Any:
        """One request's trip through the channel and the venue's desk (no retry, no audit)."""
        stamp = self.stamp(method)
        desk = self.desk
        window = self.settings.recv_window_ns
        return await self.requests.round_trip(
            method, lambda: desk.handle(method, op, args, weight=weight, stamp_ns=stamp, recv_window_ns=window))

    async def refuse_connection(self, what: str) -> None:
        """An attempt while the venue is away: the refusal comes back after a round trip."""
        await self.requests.reach_venue()
        await self.requests.come_back()
        raise RetryableError(f"{what}: connection refused", venue=self.venue)

    async def internal(self, method: str, op: str, args: tuple[Any, ...] = (), *,
                       weight: int | None = None) -> Any:
        """A request the client makes for itself (resync snapshot, server time), audited like any other."""
        if not self.desk.reachable:
            await self.refuse_connection(method)
        start = self.clock.monotonic_ns()
        try:
            result = await self.send(method, op, args, weight=weight)
        except VenueError as error:
            self.audit_failure(method, error, start)
            raise
        self._audit(method, start, None, "")
        return result

    def audit_failure(self, method: str, error: BaseException, start_ns: int) -> None:
        """Audit one failed attempt the client handled itself (e.g. before a retry after -1021)."""
        self._audit(method, start_ns, categorize(error).value, scrub(str(error)))

    def _audit(self, method: str, start_ns: int, category: str | None, error: str) -> None:
        if self.audit is None:
            return
        now = self.clock.now_ns()
        self.audit.audit(AuditRecord(now, self.venue, self.descriptor.endpoint(method), "result", {"client": "sim"},
                                     {}, self.clock.monotonic_ns() - start_ns, success=category is None,
                                     error_category=category or "", error=error, method=method))

    async def sync_time(self) -> int:
        """Learn the offset between the client's clock and the venue's; returns it in ns."""
        sent = self.clock.now_ns() + self.clock_error_ns
        server: int = await self.internal("get_server_time", "server_time")
        received = self.clock.now_ns() + self.clock_error_ns
        self.time_offset_ns = server - (sent + received) // 2
        self.events.emit(self.clock.now_ns(), "rest", "time_resync", f"offset {self.time_offset_ns} ns")
        return self.time_offset_ns

    def _timeout_error(self, method: str) -> BaseException:
        """A request without an answer within the timeout: ambiguous for order entry (it may have landed)."""
        self.events.emit(self.clock.now_ns(), "rest", "request_timeout", method)
        cls = AmbiguousError if method in ORDER_ENTRY else RetryableError
        return cls(f"{method}: no answer within {self.settings.request_timeout_ns // 1_000_000} ms",
                   venue=self.venue, code="TIMEOUT")

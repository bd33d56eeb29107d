"""Faults on connections and on the venue's availability: drops, dead links, aged connections, outages.

* ``disconnect`` (``VENUE.market`` or ``VENUE.user``): the connection closes at the start (the
  client hears the close frame); reconnecting is refused for ``duration`` (a partition);
* ``heartbeat_timeout``: the same, but the connection dies silently: only the client's
  heartbeat finds out (``sim.client_session``);
* ``connection_age``: the venue closes every connection of the stream when it has been open
  ``max_age_s`` (Binance closes WebSocket connections after 24 hours);
* ``subscription_failure`` (``VENUE.market``): the venue refuses market-data subscriptions while
  active (or the triggered ones), so the client retries them;
* ``venue_outage`` (``VENUE``): the whole venue goes away for ``duration``: requests in flight
  are lost, new connections refused, every stream closed; then it comes back;
* ``maintenance`` (``VENUE``): the venue's API answers 503 for ``duration`` and its streams are
  closed and refused meanwhile (matching goes on: orders rest and fill as the market moves).

A state fault with a trigger begins when the trigger fires (e.g. ``on = "submit_order"``: the
venue vanishes as the next order is sent) and lasts ``duration`` from then.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sim.adapter import SimAdapter
from sim.client_links import StreamEvent
from sim.faults.base import Fault, FaultWorld

__all__ = ["ConnectionAge", "Disconnect", "HeartbeatTimeout", "Maintenance", "SubscriptionFailure", "VenueOutage"]

NS_PER_S = 1_000_000_000


class _StateFault(Fault):
    """A fault that puts something into a state at its start and takes it out after its duration."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._ended_ns: int | None = None

    def install(self, world: FaultWorld) -> None:
        adapter = self.adapter(world)
        clock = world.clock

        def begin() -> None:
            now = clock.now_ns()
            self.touched(now)
            self.begin(adapter, now)

        def end() -> None:
            self._ended_ns = clock.now_ns()
            self.end(adapter, self._ended_ns)

        self.at_start(world, begin, end)

    open_ended: ClassVar[bool] = False
    """Without a duration the state lasts to the end of the run (else it is only a moment)."""

    def refuse_until(self, now_ns: int) -> int:
        """Until when reconnecting is refused: the fault's end (without a duration: now, or never)."""
        duration = self.schedule.duration_ns
        if duration is not None:
            return now_ns + duration
        return 2**62 if self.open_ended else now_ns

    def begin(self, adapter: SimAdapter, now_ns: int) -> None:
        """Enter the fault's state."""
        raise NotImplementedError

    def end(self, adapter: SimAdapter, now_ns: int) -> None:
        """Leave it (nothing by default: reconnection refusals simply expire)."""

    def end_time(self) -> int | None:
        if self._ended_ns is not None:
            return self._ended_ns
        if self.first_ns is not None and self.schedule.duration_ns is not None:
            return self.first_ns + self.schedule.duration_ns
        return self.first_ns


class Disconnect(_StateFault):
    """The stream's connection closes; reconnecting is refused for the duration."""

    kind = "disconnect"
    targets: ClassVar[tuple[str, ...]] = ("market", "user")
    silent: ClassVar[bool] = False

    def begin(self, adapter: SimAdapter, now_ns: int) -> None:
        adapter.session.cut(self.stream, silent=self.silent, refuse_until_ns=self.refuse_until(now_ns))


class HeartbeatTimeout(Disconnect):
    """The stream's connection dies without a close frame; only the client's heartbeat notices."""

    kind = "heartbeat_timeout"
    silent: ClassVar[bool] = True


class ConnectionAge(Fault):
    """The venue closes each connection of the stream once it has been open ``max_age_s``."""

    kind = "connection_age"
    targets: ClassVar[tuple[str, ...]] = ("market", "user")
    defaults: ClassVar[dict[str, Any]] = {"max_age_s": 86_400}

    def install(self, world: FaultWorld) -> None:
        adapter = self.adapter(world)
        clock = world.clock
        link = adapter.session.user if self.stream == "user" else adapter.session.market
        max_age = int(self.param("max_age_s")) * NS_PER_S

        def expire(opened_ns: int) -> None:
            now = clock.now_ns()
            if link.carried and link.opened_ns == opened_ns and self.gate.active(now):
                self.touched(now, f"open since {opened_ns}")
                adapter.session.cut(self.stream)

        def on_event(event: StreamEvent) -> None:
            if event.stream == self.stream and event.kind == "up":
                clock.call_at(link.opened_ns + max_age, expire, link.opened_ns)

        adapter.session.events.listeners.append(on_event)
        if link.carried:
            clock.call_at(link.opened_ns + max_age, expire, link.opened_ns)


class SubscriptionFailure(Fault):
    """The venue refuses market-data subscriptions (those the gate picks) while active."""

    kind = "subscription_failure"
    targets: ClassVar[tuple[str, ...]] = ("market",)

    def install(self, world: FaultWorld) -> None:
        self.adapter(world).market_channel.refusals.append(self)

    def refuses(self, kind: str, symbol: str, now_ns: int) -> bool:
        """The ``SubscriptionRefusal`` protocol: refuse when the gate fires (event ``subscribe``)."""
        if self.gate.fires(now_ns, "subscribe", also=kind):
            self.touched(now_ns, f"{kind} {symbol}")
            return True
        return False


class VenueOutage(_StateFault):
    """The whole venue goes away for the duration, then comes back."""

    kind = "venue_outage"
    status: ClassVar[str] = "away"
    open_ended: ClassVar[bool] = True

    def begin(self, adapter: SimAdapter, now_ns: int) -> None:
        adapter.desk.set_status(self.status)
        until = self.refuse_until(now_ns)
        for stream in ("user", "market"):
            adapter.session.cut(stream, refuse_until_ns=until)

    def end(self, adapter: SimAdapter, now_ns: int) -> None:
        adapter.desk.set_status("up")


class Maintenance(VenueOutage):
    """The venue's API answers 503 and its streams are refused for the duration."""

    kind = "maintenance"
    status: ClassVar[str] = "maintenance"

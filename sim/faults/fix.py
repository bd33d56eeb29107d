"""Faults on a FIX session: a dropped session, lost messages (a sequence gap), rejects, refused logons.

No simulated venue speaks FIX yet, so these are exercised against the FIX session layer itself
(``live.fix.session``, two sessions wired back to back in virtual time by ``scenarios.fix_link``).
The injectors only see a ``FixWorld``: a clock and a link with four seams, and never import the
session layer (``sim`` and ``live`` stay apart):

* ``fix_session_drop``: the TCP connection breaks at the start (both ends see it go); the
  initiator reconnects with backoff and the sessions resynchronise their sequence numbers;
* ``fix_sequence_gap``: application messages from the venue are lost on the wire (the gate picks
  them: event ``app``), so the client sees a gap and sends a ResendRequest;
* ``fix_reject``: the venue answers the orders the gate picks (event ``order``) with a session-level
  Reject instead of an execution report;
* ``fix_logon_failure``: the venue refuses the next ``count`` logons with a Logout.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from harness.clock import Clock
from sim.faults.base import Fault

__all__ = ["FixLinkHooks", "FixLogonFailure", "FixReject", "FixSequenceGap", "FixSessionDrop", "FixWorld"]


class FixLinkHooks(Protocol):
    """The seams of a simulated FIX link that faults use."""

    wire_filters: list[Any]
    """Each has ``passes(direction, msg_type, now_ns) -> bool``; direction ``to_client`` or ``to_venue``."""
    reject_filters: list[Any]
    """Each has ``rejects(now_ns) -> bool``, asked per order the venue receives."""

    def drop_connection(self, reason: str) -> None:
        """Break the TCP connection now (no Logout)."""

    def refuse_logons(self, count: int) -> None:
        """Answer the next ``count`` logons with a Logout."""


class FixWorld(Protocol):
    """What FIX faults touch: the clock and the link."""

    @property
    def clock(self) -> Clock:
        """The virtual clock."""

    @property
    def fix(self) -> FixLinkHooks:
        """The link between client and venue sessions."""


class _FixFault(Fault):
    targets: ClassVar[tuple[str, ...]] = ("venue",)

    @property
    def venue(self) -> str:
        """FIX faults target the session (``fix``)."""
        return "fix"

    def install(self, world: Any) -> None:
        self.install_fix(world)

    def install_fix(self, world: FixWorld) -> None:
        """Hook into the link."""
        raise NotImplementedError


class FixSessionDrop(_FixFault):
    """The connection breaks at the start (a trigger may pick the moment instead)."""

    kind = "fix_session_drop"

    def install_fix(self, world: FixWorld) -> None:
        def drop() -> None:
            self.touched(world.clock.now_ns())
            world.fix.drop_connection(f"injected by {self.name}")

        world.clock.call_at(self.schedule.start_ns, drop)


class FixSequenceGap(_FixFault):
    """Application messages to the client are lost on the wire while the gate picks them."""

    kind = "fix_sequence_gap"

    def install_fix(self, world: FixWorld) -> None:
        world.fix.wire_filters.append(self)

    def passes(self, direction: str, msg_type: str, now_ns: int) -> bool:
        """Drop application messages to the client the gate picks (session messages always pass)."""
        if direction != "to_client" or msg_type in ("0", "1", "2", "3", "4", "5", "A"):
            return True
        if self.gate.fires(now_ns, "app"):
            self.touched(now_ns, f"35={msg_type}")
            return False
        return True


class FixReject(_FixFault):
    """The venue answers the orders the gate picks with a session-level Reject."""

    kind = "fix_reject"
    defaults: ClassVar[dict[str, Any]] = {"reason": 5}

    def install_fix(self, world: FixWorld) -> None:
        world.fix.reject_filters.append(self)

    def rejects(self, now_ns: int) -> bool:
        """Whether the venue rejects this order."""
        if self.gate.fires(now_ns, "order"):
            self.touched(now_ns)
            return True
        return False


class FixLogonFailure(_FixFault):
    """The venue refuses the next ``count`` logons (from the schedule's start) with a Logout."""

    kind = "fix_logon_failure"
    defaults: ClassVar[dict[str, Any]] = {"count": 3}

    def install_fix(self, world: FixWorld) -> None:
        def refuse() -> None:
            self.touched(world.clock.now_ns(), f"{self.param('count')} logons")
            world.fix.refuse_logons(int(self.param("count")))
            world.fix.drop_connection(f"injected by {self.name}: the venue refuses logons")

        world.clock.call_at(self.schedule.start_ns, refuse)

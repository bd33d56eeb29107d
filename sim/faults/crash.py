"""A crash of the harness process itself: a real ``SIGKILL``, at a time or on a trigger.

``crash`` (target ``harness``) kills the process that runs the simulation, with no chance to
flush, close or say goodbye: whatever the execution journal (SQLite WAL) and the venue's own log
(``sim.venue.desk``) hold at that instant is all that survives. ``when`` places the kill on a
triggered request: ``before_venue`` (the request is lost with the process), ``after_venue`` (the
venue handled it, its answer is never read), or ``at_time`` (at the schedule's start).

Only a runner that restarts the harness from its journal may install it (``allow_crash`` of the
``FaultWorld``; ``scenarios.crash`` does): anywhere else it would just kill the caller.
"""

from __future__ import annotations

import os
import signal
from typing import Any, ClassVar

from sim.faults.base import Fault, FaultError, FaultWorld

__all__ = ["Crash", "kill_this_process"]

WHEN = ("at_time", "before_venue", "after_venue")


def kill_this_process() -> None:
    """``SIGKILL`` the current process (never returns)."""
    os.kill(os.getpid(), signal.SIGKILL)


class Crash(Fault):
    """Kills the harness process (see the module docstring)."""

    kind = "crash"
    targets: ClassVar[tuple[str, ...]] = ("venue",)
    defaults: ClassVar[dict[str, Any]] = {"when": "at_time", "venue": ""}

    def install(self, world: FaultWorld) -> None:
        if not getattr(world, "allow_crash", False):
            raise FaultError(f"fault {self.name!r}: a crash kills the process; run the scenario with a runner that "
                             "restarts it from its journal (harness scenario run does)")
        when = self.param("when")
        if when not in WHEN:
            raise FaultError(f"fault {self.name!r}: when must be one of {WHEN}, got {when!r}")
        self._clock = world.clock
        if when == "at_time":
            world.clock.call_at(self.schedule.start_ns, kill_this_process)
            return
        venue = self.param("venue") or next(iter(world.adapters))
        adapter = world.adapters.get(venue)
        if adapter is None:
            raise FaultError(f"fault {self.name!r}: no venue {venue!r} in this run")
        adapter.requests_channel.faults.append(self)

    @property
    def venue(self) -> str:
        """A crash targets the process (``harness``); its trigger may watch a venue (``venue`` param)."""
        return str(self.params.get("venue", "")) or "harness"

    def before_venue(self, method: str, now_ns: int) -> BaseException | None:
        if self.param("when") == "before_venue" and self.gate.fires(now_ns, method):
            kill_this_process()
        return None

    def after_venue(self, method: str, now_ns: int) -> BaseException | None:
        if self.param("when") == "after_venue" and self.gate.fires(now_ns, method):
            kill_this_process()
        return None

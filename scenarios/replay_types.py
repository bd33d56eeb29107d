"""What a replay run hands out: its result, its world as hooks see it, the hooks, its failure.

Kept apart from ``scenarios.replay`` (which builds and runs the world) so callers and hooks can
name these types without the run's machinery; ``scenarios.replay`` re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from harness.clock import Clock
from harness.context import ExecutionContext
from harness.engine import ExecutionEngine
from harness.journal import Journal
from harness.positions import Position
from harness.strategy import Strategy
from reports.run_output import RunRecorder
from reports.summary import run_summary
from scenarios.world import SimulatedVenue
from sim.adapter import SimAdapter
from sim.kernel.runtime import SimRuntime
from sim.market.feed import ReplayFeed
from sim.venue.market_side import VenueMarketSide
from sim.venue.venue import SimVenue

__all__ = ["ReplayWorld", "RunFailedError", "RunHooks", "RunResult"]


@dataclass
class RunResult:
    """Where the run was written and what it did.

    ``strategy`` is the instance that ran (its state after the run: what it counted, what it
    kept), ``positions`` the execution layer's positions at the end (per venue and symbol, marked
    at the closing mid price), ``summary`` the run's text summary (read from ``run_dir``).
    """

    run_dir: Path
    manifest: dict[str, Any]
    recorder: RunRecorder
    final_balances: dict[str, dict[str, tuple[Decimal, Decimal]]]
    strategy: Strategy | None = None
    positions: list[Position] = field(default_factory=list)

    @property
    def summary(self) -> list[str]:
        """The lines ``harness replay`` prints: orders by final status, fills, fees, balances."""
        return run_summary(self.run_dir)


@dataclass
class ReplayWorld:
    """A replay's simulated world as ``RunHooks`` see it (also a ``sim.faults.FaultWorld``)."""

    runtime: SimRuntime
    feed: ReplayFeed
    built: dict[str, SimulatedVenue]
    engine: ExecutionEngine
    context: ExecutionContext
    journal: Journal | None
    """The run's execution journal (None for a run without one, ``run_replay(journal=False)``)."""
    recorder: RunRecorder
    time_range: tuple[int, int]
    allow_crash: bool = False
    manifest: dict[str, Any] = field(default_factory=dict)
    """What the hooks add to the run's manifest."""

    @property
    def clock(self) -> Clock:
        """The run's virtual clock."""
        return self.runtime.clock

    @property
    def adapters(self) -> dict[str, SimAdapter]:
        """Each venue's adapter."""
        return {name: v.adapter for name, v in self.built.items()}

    @property
    def markets(self) -> dict[str, VenueMarketSide]:
        """Each venue's market side."""
        return {name: v.market for name, v in self.built.items()}

    @property
    def venues(self) -> dict[str, SimVenue]:
        """Each simulated venue."""
        return {name: v.venue for name, v in self.built.items()}


class RunHooks(Protocol):
    """What a caller of ``run_replay`` may add to a run (the scenario runner: faults, invariants).

    ``world_built`` runs once the world exists and before anything happens in it; ``before_start``
    and ``before_stop`` are awaited in virtual time before the strategy starts and before it stops
    (after the data is done); ``finished`` runs after the strategy stopped, with the journal open,
    and may add tables to the recorder and entries to ``world.manifest``.
    """

    def world_built(self, world: ReplayWorld) -> None:
        """The world is built: install faults and observers."""

    async def before_start(self, world: ReplayWorld) -> None:
        """Just before the strategy (and the engine) start."""

    async def before_stop(self, world: ReplayWorld) -> None:
        """After the data is done, before the strategy stops."""

    def finished(self, world: ReplayWorld) -> None:
        """After the strategy stopped: check, record."""



class RunFailedError(RuntimeError):
    """A replay raised; its run directory (marked failed, the error in its manifest) is ``run_dir``."""

    def __init__(self, run_dir: Path, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.run_dir = run_dir
        self.error = error

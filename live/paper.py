"""Running a strategy live: the same ``ExecutionEngine`` and ``ExecutionContext`` as a replay, on the wall clock.

``run_live`` starts the engine over live adapters (connect, venue info, recovery of journaled
intents, start-up reconciliation), starts the strategy, runs until ``stop`` is set (Ctrl-C) or
``duration_ns`` passes, and shuts down gracefully: the strategy is stopped, sends in flight
finish, and resting orders are cancelled or left (``on_exit``). With a ``Journal`` every intent
is written before its order leaves, so a restart on the same journal takes back what was in
flight (``ExecutionEngine.recover_from_journal``) and reconciles with the venue.

``LiveLog`` is the live run's ``RunLog``: it keeps orders, fills and events in memory and logs
each line (never a credential: reports and fills carry none).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from harness.clock import Clock
from harness.context import ExecutionContext
from harness.contract import ExchangeAdapter
from harness.engine import EngineConfig, ExecutionEngine
from harness.journal import Journal
from harness.model import Fill, OrderReport
from harness.rng import SeededRng
from harness.strategy import Strategy

__all__ = ["LiveLog", "LiveRun", "run_live", "session_prefix"]

logger = logging.getLogger(__name__)


@dataclass
class LiveLog:
    """Orders, fills, positions and events of a live run, kept and logged."""

    orders: list[OrderReport] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    events: list[tuple[int, str, str]] = field(default_factory=list)
    echo: bool = False

    def order(self, report: OrderReport) -> None:
        """An order changed state."""
        self.orders.append(report)
        self._say(f"order {report.client_order_id} {report.side.value} {report.quantity} @ {report.price}: "
                  f"{report.status.value} filled {report.filled_quantity}")

    def fill(self, fill: Fill) -> None:
        """One of our orders executed."""
        self.fills.append(fill)
        self._say(f"fill {fill.client_order_id} {fill.side.value} {fill.quantity} @ {fill.price} "
                  f"({fill.liquidity.value}, fee {fill.fee} {fill.fee_asset})")

    def position(self, ts_ns: int, venue: str, symbol: str, quantity: Decimal) -> None:
        """A position changed."""
        self._say(f"position {venue} {symbol} {quantity}")

    def event(self, ts_ns: int, kind: str, message: str) -> None:
        """Any other line of the run."""
        self.events.append((ts_ns, kind, message))
        self._say(f"{kind}: {message}")

    def _say(self, line: str) -> None:
        logger.info("%s", line)
        if self.echo:
            print(line, flush=True)


def session_prefix(journal: Journal | None) -> str:
    """A client-order-id prefix no earlier session on ``journal`` used: ``p0s``, then ``p1s``, ...

    The order manager numbers ids after the prefix; a restart must not reuse an old session's ids.
    """
    used = [str(o.get("client_order_id", "")) for o in journal.orders()] if journal is not None else []
    session = 0
    while any(coid.startswith(f"p{session}s") for coid in used):
        session += 1
    return f"p{session}s"


@dataclass
class LiveRun:
    """What a live run left behind: the engine, the context and the log."""

    engine: ExecutionEngine
    context: ExecutionContext
    log: LiveLog
    shutdown: dict[str, int] = field(default_factory=dict)


async def run_live(adapters: Mapping[str, ExchangeAdapter], strategy: Strategy, clock: Clock, *, seed: int = 0,
                   journal: Journal | None = None, stop: asyncio.Event | None = None, duration_ns: int | None = None,
                   on_exit: str = "cancel", symbols: Mapping[str, Sequence[str]] | None = None,
                   log: LiveLog | None = None, config: EngineConfig | None = None,
                   started: asyncio.Event | None = None) -> LiveRun:
    """Run ``strategy`` live until ``stop`` is set or ``duration_ns`` passes (see the module docstring)."""
    if on_exit not in ("cancel", "leave"):
        raise ValueError(f"on_exit must be 'cancel' or 'leave', not {on_exit!r}")
    rng = SeededRng(seed)
    log = log or LiveLog()
    engine = ExecutionEngine(adapters, clock, rng.child("engine"), journal=journal,
                             config=config or EngineConfig(id_prefix=session_prefix(journal)))
    context = ExecutionContext(adapters, clock, rng.stream("strategy"), log=log, engine=engine)
    run = LiveRun(engine, context, log)
    await context.start(strategy, {v: list(s) for v, s in symbols.items()} if symbols else None)
    if started is not None:
        started.set()
    try:
        waits: list[asyncio.Future[Any]] = []
        if stop is not None:
            waits.append(asyncio.ensure_future(stop.wait()))
        if duration_ns is not None:
            waits.append(asyncio.ensure_future(clock.sleep_ns(duration_ns)))
        if waits:
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waits:
                    waiter.cancel()
    finally:
        before = len(log.events)
        await context.stop(cancel_open=on_exit == "cancel")
        run.shutdown = {"events": len(log.events) - before}
    return run

"""The strategy's world, served on top of adapters: order entry, order state, positions, balances.

``ExecutionContext`` implements ``StrategyContext`` using only the adapter contract and the
injected clock, so the same strategy runs against simulated and live venues. Orders placed from
synchronous callbacks return their client order id at once; the request runs as a task and its
outcome arrives through ``on_order_update``/``on_fill`` (a venue refusal arrives as a REJECTED
report carrying the venue's message and code).

Order state here is deliberately simple (last report per order, terminal states absorbing,
fills applied once per execution id); the full order manager with recovery, retries and rate
limiting is ``harness.orders`` and replaces this bookkeeping when it lands.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Coroutine, Mapping
from decimal import Decimal
from typing import Any, Protocol

from harness.clock import Clock
from harness.contract import ExchangeAdapter, VenueError
from harness.model import (
    Balance,
    Fill,
    OrderModification,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    VenueInfo,
)
from harness.positions import PositionState, apply_fill
from harness.strategy import Strategy

__all__ = ["ExecutionContext", "RunLog"]


class RunLog(Protocol):
    """Where a run's records go (``reports.run_output.RunRecorder`` satisfies it)."""

    def order(self, report: OrderReport) -> None:
        """An order report was received."""

    def fill(self, fill: Fill) -> None:
        """A fill was applied."""

    def position(self, ts_ns: int, venue: str, symbol: str, quantity: Decimal) -> None:
        """A position changed."""

    def event(self, ts_ns: int, kind: str, message: str) -> None:
        """Something worth a line in the event log happened."""


class ExecutionContext:
    """A ``StrategyContext`` over a set of adapters (one per venue), a clock and a seeded RNG."""

    def __init__(self, adapters: Mapping[str, ExchangeAdapter], clock: Clock, rng: random.Random,
                 *, log: RunLog | None = None, id_prefix: str = "h") -> None:
        self._adapters = dict(adapters)
        self._clock = clock
        self._rng = rng
        self._log = log
        self._prefix = id_prefix
        self._next = 0
        self._infos: dict[str, VenueInfo] = {}
        self._balances: dict[str, dict[str, Balance]] = {}
        self._orders: dict[str, OrderReport] = {}
        self._order_venue: dict[str, str] = {}
        self._seen_fills: set[tuple[str, str]] = set()
        self._positions: dict[tuple[str, str], PositionState] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._strategy: Strategy | None = None
        self.errors: list[str] = []

    # ------------------------------------------------------------------ lifecycle

    async def start(self, strategy: Strategy, subscriptions: Mapping[str, list[str]] | None = None) -> None:
        """Connect every venue, load its info and balances, subscribe, then start the strategy.

        ``subscriptions`` maps venue -> symbols whose trades and quotes the strategy receives
        (default: every symbol of every venue).
        """
        self._strategy = strategy
        for name, adapter in self._adapters.items():
            await adapter.connect()
            self._infos[name] = await adapter.get_venue_info()
            self._balances[name] = await adapter.get_balances()
            await adapter.subscribe_order_updates(self._on_report)
            await adapter.subscribe_fills(self._on_fill)
            symbols = (subscriptions or {}).get(name, list(self._infos[name].symbols))
            for symbol in symbols:
                await adapter.subscribe_trades(symbol, strategy.on_trade)
                await adapter.subscribe_quotes(symbol, strategy.on_quote)
        strategy.on_start(self)
        self._event("start", f"strategy {type(strategy).__name__} started on {', '.join(self._adapters)}")

    async def stop(self, *, cancel_open: bool = True) -> None:
        """Stop the strategy, optionally cancel what is still open, and wait for pending requests."""
        if self._strategy is not None:
            self._strategy.on_stop()
        if cancel_open:
            for report in self.open_orders():
                self.cancel(report.client_order_id)
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        for name, adapter in self._adapters.items():
            self._balances[name] = await adapter.get_balances()
        self._event("stop", f"{len(self._orders)} orders, {len(self._seen_fills)} fills")

    # ------------------------------------------------------------------ StrategyContext

    @property
    def clock(self) -> Clock:
        """The injected clock."""
        return self._clock

    @property
    def rng(self) -> random.Random:
        """The strategy's seeded generator."""
        return self._rng

    @property
    def venues(self) -> tuple[str, ...]:
        """Venue names in registration order."""
        return tuple(self._adapters)

    def venue_info(self, venue: str) -> VenueInfo:
        """Instruments, filters, fees and capabilities loaded at start."""
        return self._infos[venue]

    def submit(self, venue: str, symbol: str, side: Side, quantity: Decimal, *,
               order_type: OrderType = OrderType.LIMIT, price: Decimal | None = None,
               stop_price: Decimal | None = None, trailing_delta: Decimal | None = None,
               time_in_force: TimeInForce = TimeInForce.GTC, expire_at_ns: int | None = None,
               post_only: bool = False) -> str:
        """Queue an order for ``venue``; returns its client order id at once."""
        self._next += 1
        coid = f"{self._prefix}{self._next:08d}"
        request = OrderRequest(coid, venue, symbol, side, order_type, quantity, price, stop_price, trailing_delta,
                               time_in_force, expire_at_ns, post_only)
        now = self._clock.now_ns()
        self._orders[coid] = OrderReport(venue, symbol, coid, "", OrderStatus.PENDING, side, order_type, quantity,
                                         Decimal(0), price, None, now, time_in_force, stop_price)
        self._order_venue[coid] = venue
        self._spawn(self._submit(request))
        return coid

    def cancel(self, client_order_id: str) -> None:
        """Queue a cancel; a refusal (already filled, unknown) goes to the event log."""
        report = self._orders.get(client_order_id)
        if report is None or report.status.is_terminal:
            return
        self._spawn(self._cancel(report))

    def modify(self, client_order_id: str, *, price: Decimal | None = None,
               quantity: Decimal | None = None) -> None:
        """Queue a native amend (venues without one refuse; the strategy then cancel-replaces)."""
        report = self._orders.get(client_order_id)
        if report is None or report.status.is_terminal:
            return
        self._spawn(self._modify(report, OrderModification(new_price=price, new_quantity=quantity)))

    def open_orders(self, venue: str | None = None, symbol: str | None = None) -> list[OrderReport]:
        """Orders not yet in a terminal state, as last reported."""
        return [r for r in self._orders.values() if not r.status.is_terminal
                and (venue is None or r.venue == venue) and (symbol is None or r.symbol == symbol)]

    def position(self, venue: str, symbol: str) -> Decimal:
        """Net position from our fills."""
        state = self._positions.get((venue, symbol))
        return state.quantity if state is not None else Decimal(0)

    def position_state(self, venue: str, symbol: str) -> PositionState:
        """Quantity, average entry and realized PnL of a position."""
        return self._positions.get((venue, symbol), PositionState())

    def balances(self, venue: str) -> Mapping[str, Balance]:
        """Balances as last fetched from the venue."""
        return self._balances.get(venue, {})

    def log(self, message: str) -> None:
        """Add a strategy line to the event log."""
        self._event("strategy", message)

    # ------------------------------------------------------------------ internals

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _submit(self, request: OrderRequest) -> None:
        adapter = self._adapters[request.venue]
        try:
            report = await adapter.submit_order(request)
        except VenueError as error:
            pending = self._orders[request.client_order_id]
            report = OrderReport(pending.venue, pending.symbol, pending.client_order_id, "", OrderStatus.REJECTED,
                                 pending.side, pending.order_type, pending.quantity, Decimal(0), pending.price,
                                 None, self._clock.now_ns(), pending.time_in_force, pending.stop_price,
                                 reason=f"{error.message} (code {error.code})")
            self._event("reject", f"{request.client_order_id}: {error}")
        self._on_report(report)

    async def _cancel(self, report: OrderReport) -> None:
        try:
            confirmed = await self._adapters[report.venue].cancel_order(report.symbol, report.client_order_id)
        except VenueError as error:
            self._event("cancel-refused", f"{report.client_order_id}: {error}")
            return
        self._on_report(confirmed)

    async def _modify(self, report: OrderReport, change: OrderModification) -> None:
        try:
            confirmed = await self._adapters[report.venue].modify_order(report.symbol, report.client_order_id,
                                                                        change)
        except VenueError as error:
            self._event("modify-refused", f"{report.client_order_id}: {error}")
            return
        self._on_report(confirmed)

    def _on_report(self, report: OrderReport) -> None:
        known = self._orders.get(report.client_order_id)
        if known is None or report == known:
            return  # not one of ours, or a duplicate
        if known.status.is_terminal or report.filled_quantity < known.filled_quantity:
            return  # stale: terminal states absorb, fills never go back
        self._orders[report.client_order_id] = report
        if self._log is not None:
            self._log.order(report)
        if self._strategy is not None:
            self._maybe_spawn(self._strategy.on_order_update(report))

    def _on_fill(self, fill: Fill) -> None:
        key = (fill.venue, fill.execution_id)
        if key in self._seen_fills or fill.client_order_id not in self._order_venue:
            return
        self._seen_fills.add(key)
        signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
        pos_key = (fill.venue, fill.symbol)
        state, _ = apply_fill(self._positions.get(pos_key, PositionState()), signed, fill.price)
        self._positions[pos_key] = state
        if self._log is not None:
            self._log.fill(fill)
            self._log.position(fill.ts_ns, fill.venue, fill.symbol, state.quantity)
        if self._strategy is not None:
            self._maybe_spawn(self._strategy.on_fill(fill))

    def _maybe_spawn(self, result: Awaitable[None] | None) -> None:
        if result is not None and asyncio.iscoroutine(result):
            self._spawn(result)

    def _event(self, kind: str, message: str) -> None:
        if self._log is not None:
            self._log.event(self._clock.now_ns(), kind, message)


"""The strategy's world, served by the execution engine: order entry, order state, positions, balances.

``ExecutionContext`` implements ``StrategyContext`` on top of ``harness.engine.ExecutionEngine``
(order manager with recovery, client-side rate limits, circuit breakers, position book,
reconciliation), so the same strategy runs against simulated and live venues. Orders placed
from synchronous callbacks return their client order id at once; the request runs as a task
and its outcome arrives through ``on_order_update``/``on_fill``. A refusal, by the venue or
before sending (invalid order, venue unavailable), arrives as a REJECTED report carrying the
reason.

Market data goes straight from the venue's stream to the strategy's own callback (see
``harness.strategy`` for what a strategy receives and ``harness.subscriptions`` for how the
requests are checked and defaulted); the context opens the streams and closes them at stop.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from harness.clock import Clock
from harness.contract import ExchangeAdapter, InvalidRequestError, MarginMode, VenueError
from harness.engine import ExecutionEngine
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
    require_decimal,
)
from harness.orders import ManagedOrder, Transition
from harness.positions import PositionState
from harness.rng import SeededRng
from harness.strategy import Instrument, Strategy
from harness.subscriptions import MarketDataRequest, MarketDataSubscriptions

__all__ = ["ExecutionContext", "RunLog", "order_report"]


class RunLog(Protocol):
    """Where a run records what happened (``reports.run_output.RunRecorder`` in replays)."""

    def order(self, report: OrderReport) -> None:
        """An order changed state."""

    def fill(self, fill: Fill) -> None:
        """One of our orders executed."""

    def position(self, ts_ns: int, venue: str, symbol: str, quantity: Decimal) -> None:
        """A position changed."""

    def event(self, ts_ns: int, kind: str, message: str) -> None:
        """Anything else worth a line in the event log."""


def order_report(order: ManagedOrder, ts_ns: int, reason: str = "") -> OrderReport:
    """The order manager's record of ``order`` as an ``OrderReport`` (what strategies receive).

    The filled quantity is the most the venue has reported or our fills add up to, whichever is
    larger: a FILLED report can arrive before the fills it summarises.
    """
    request = order.request
    filled = max(order.filled_quantity, order.venue_filled_quantity)
    return OrderReport(request.venue, request.symbol, order.client_order_id, order.venue_order_id, order.status,
                       request.side, request.order_type, order.quantity, filled, request.price,
                       order.average_price, ts_ns, request.time_in_force, request.stop_price, reason=reason)


class ExecutionContext:
    """A ``StrategyContext`` over an ``ExecutionEngine`` (built from ``adapters`` unless given).

    ``instruments`` are the (venue, symbol) pairs the run has market data for (a replay passes
    those of its data files; live, the configured symbols); by default every symbol every
    venue lists.
    """

    def __init__(self, adapters: Mapping[str, ExchangeAdapter], clock: Clock, rng: random.Random,
                 *, log: RunLog | None = None, engine: ExecutionEngine | None = None,
                 instruments: Sequence[tuple[str, str]] | None = None) -> None:
        self.engine = engine or ExecutionEngine(adapters, clock, SeededRng(rng.getrandbits(64)))
        self._adapters = dict(adapters)
        self._clock = clock
        self.clock: Clock = clock
        """The injected clock (a plain attribute: strategies read it on every market event)."""
        self._rng = rng
        self._log = log
        self._infos: dict[str, VenueInfo] = {}
        self._balances: dict[str, dict[str, Balance]] = {}
        self._refused = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._strategy: Strategy | None = None
        self._instruments = None if instruments is None else tuple(Instrument(v, s) for v, s in instruments)
        self._market = MarketDataSubscriptions(clock)
        self._market_open = False  # the streams asked for in on_start are open: later requests open at once
        self.errors: list[str] = []
        self.engine.orders.order_listeners.append(self._on_transition)
        self.engine.fill_listeners.append(self._on_fill)

    # ------------------------------------------------------------------ lifecycle

    async def start(self, strategy: Strategy, subscriptions: Mapping[str, list[str]] | None = None) -> None:
        """Start the engine (connect, attach, reconcile), load venue info and balances, start, subscribe.

        The strategy's ``on_start`` runs first, so the market data it asks for there is known;
        then every requested stream is opened, and for each kind it requested nowhere but
        handles (overrides the callback), the instruments of ``subscriptions`` (venue ->
        symbols; default ``instruments``). Opening a stream takes no time, so nothing is missed.
        """
        await self.engine.start()
        for name, gateway in self.engine.gateways.items():
            info = self.engine.orders.venue_info(name)
            self._infos[name] = info if info is not None else await gateway.get_venue_info()
            self._balances[name] = await gateway.get_balances()
        if self._instruments is None:
            self._instruments = tuple(Instrument(name, symbol) for name, info in self._infos.items()
                                      for symbol in info.symbols)
        # nothing reaches the strategy before on_start: not the updates of orders a restarted engine recovered
        # from its journal, not the market data of a venue subscribed while the next one is still loading
        self._strategy = strategy
        strategy.on_start(self)
        defaults = self._instruments if subscriptions is None else tuple(
            Instrument(venue, symbol) for venue, symbols in subscriptions.items() for symbol in symbols)
        self._market.requests += self._market.defaults_for(strategy, defaults)
        for request in self._market.requests:
            await self._market.open(request, self.engine.gateways[request.venue], strategy)
        self._market_open = True
        self._event("start", f"strategy {type(strategy).__name__} started on {', '.join(self._adapters)}")

    async def stop(self, *, cancel_open: bool = True) -> None:
        """Stop the strategy, finish pending requests, then shut the engine down gracefully."""
        if self._strategy is not None:
            self._strategy.on_stop()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        counts = await self.engine.stop(cancel_open=cancel_open)
        for name, gateway in self.engine.gateways.items():
            try:
                self._balances[name] = await gateway.get_balances()
            except VenueError as error:  # unavailable at shutdown (an open breaker, an outage): keep the last ones
                self._event("stop-balances-failed", f"{name}: {error}")
        orders = len(self.engine.orders)
        fills = sum(len(o.fills) for o in self.engine.orders)
        self._event("stop", f"{orders} orders, {fills} fills, {self._refused} refused before sending; "
                            f"shutdown {counts}")
        await self._market.close()
        self._market_open = False

    # ------------------------------------------------------------------ StrategyContext


    @property
    def rng(self) -> random.Random:
        """The strategy's seeded generator."""
        return self._rng

    @property
    def venues(self) -> tuple[str, ...]:
        """Venue names in registration order."""
        return tuple(self._adapters)

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        """The (venue, symbol) pairs the run has market data for (every listed symbol unless given)."""
        if self._instruments is None:
            raise RuntimeError("instruments are known once the context has started")
        return self._instruments

    def venue_info(self, venue: str) -> VenueInfo:
        """Instruments, filters, fees and capabilities loaded at start."""
        return self._infos[venue]

    def subscribe_trades(self, venue: str, symbol: str) -> None:
        """Send ``symbol``'s public trades to the strategy's ``on_trade`` (or ``on_trades``, when it overrides that)."""
        self._subscribe(MarketDataRequest("trades", venue, symbol))

    def subscribe_quotes(self, venue: str, symbol: str) -> None:
        """Send ``symbol``'s best bid/offer changes to the strategy's ``on_quote``."""
        self._subscribe(MarketDataRequest("quotes", venue, symbol))

    def subscribe_book(self, venue: str, symbol: str, *, depth: int = 20) -> None:
        """Send ``symbol``'s rebuilt book (top ``depth`` levels a side) to ``on_book`` after each message."""
        self._subscribe(MarketDataRequest("book", venue, symbol, depth=depth))

    def subscribe_bars(self, venue: str, symbol: str, *, interval_s: int = 60) -> None:
        """Send ``symbol``'s closed bars of ``interval_s`` seconds to the strategy's ``on_bar``."""
        self._subscribe(MarketDataRequest("bars", venue, symbol, interval_s=interval_s))

    def submit(self, venue: str, symbol: str, side: Side, quantity: Decimal, *,
               order_type: OrderType = OrderType.LIMIT, price: Decimal | None = None,
               stop_price: Decimal | None = None, trailing_delta: Decimal | None = None,
               time_in_force: TimeInForce = TimeInForce.GTC, expire_at_ns: int | None = None,
               post_only: bool = False, reduce_only: bool = False) -> str:
        """Create an order for ``venue`` and send it in the background; returns its client order id.

        ``quantity``, ``price``, ``stop_price`` and ``trailing_delta`` are ``Decimal``: anything
        else (a fixed-point int, a float) raises ``TypeError`` naming the argument.
        """
        require_decimal("ctx.submit", "quantity", quantity, optional=False)
        require_decimal("ctx.submit", "price", price)
        require_decimal("ctx.submit", "stop_price", stop_price)
        require_decimal("ctx.submit", "trailing_delta", trailing_delta)
        request = OrderRequest("", venue, symbol, side, order_type, quantity, price, stop_price, trailing_delta,
                               time_in_force, expire_at_ns, post_only, reduce_only)
        try:
            order = self.engine.create_order(request)
        except InvalidRequestError as error:
            return self._refuse(request, error)
        self._spawn(self._submit(order))
        return order.client_order_id

    def route(self, instrument: str, side: Side, quantity: Decimal, *, order_type: OrderType = OrderType.MARKET,
              price: Decimal | None = None, time_in_force: TimeInForce = TimeInForce.GTC) -> None:
        """Route an order through the engine's router in the background; its orders arrive as updates.

        ``quantity`` and ``price`` are ``Decimal`` (``TypeError`` naming the argument otherwise).
        """
        require_decimal("ctx.route", "quantity", quantity, optional=False)
        require_decimal("ctx.route", "price", price)
        self._spawn(self._route(instrument, side, quantity, order_type=order_type, price=price,
                                time_in_force=time_in_force))

    def cancel(self, client_order_id: str) -> None:
        """Cancel in the background; a refusal (already filled, unknown) goes to the event log."""
        order = self.engine.orders.by_client_id(client_order_id)
        if order is None or order.is_terminal or order.status is OrderStatus.PENDING_CANCEL:
            return
        self._spawn(self._request("cancel", client_order_id, self.engine.cancel(order)))

    def modify(self, client_order_id: str, *, price: Decimal | None = None,
               quantity: Decimal | None = None) -> None:
        """Modify in the background (native, or cancel-replace where the venue has no amend).

        ``price`` and ``quantity`` are ``Decimal`` (``TypeError`` naming the argument otherwise).
        """
        require_decimal("ctx.modify", "price", price)
        require_decimal("ctx.modify", "quantity", quantity)
        order = self.engine.orders.by_client_id(client_order_id)
        if order is None or order.is_terminal:
            return
        change = OrderModification(new_price=price, new_quantity=quantity)
        self._spawn(self._request("modify", client_order_id, self.engine.modify(order, change)))

    def open_orders(self, venue: str | None = None, symbol: str | None = None) -> list[OrderReport]:
        """Orders not yet in a terminal state, as the order manager knows them."""
        now = self._clock.now_ns()
        return [order_report(o, now) for o in self.engine.orders.list(venue=venue, symbol=symbol, open_only=True)]

    def position(self, venue: str, symbol: str) -> Decimal:
        """Net position from our fills (the engine's position book)."""
        return self.engine.positions.quantity(venue, symbol)

    def position_state(self, venue: str, symbol: str) -> PositionState:
        """Quantity, average entry and realized PnL of a position."""
        position = self.engine.positions.position(venue, symbol)
        return position.state if position is not None else PositionState()

    def balances(self, venue: str) -> Mapping[str, Balance]:
        """Balances as last fetched from the venue."""
        return self._balances.get(venue, {})

    def log(self, message: str) -> None:
        """Add a strategy line to the event log."""
        self._event("strategy", message)

    # ------------------------------------------------------------------ internals

    def _subscribe(self, request: MarketDataRequest) -> None:
        """Check and record a request; opened after ``on_start`` returns, or at once after start."""
        if self._strategy is None or self._instruments is None:
            raise RuntimeError(f"subscribe_{request.kind} is for a started strategy (from on_start on)")
        new, warning = self._market.add(request, self._infos, self._instruments)
        if warning:
            self._event("warning", warning)
        if new and self._market_open:
            self._spawn(self._market.open(request, self.engine.gateways[request.venue], self._strategy))

    def _refuse(self, request: OrderRequest, error: InvalidRequestError) -> str:
        """A request refused before sending: a REJECTED report reaches the strategy on the next turn."""
        self._refused += 1
        coid = f"{self.engine.config.id_prefix}x{self._refused:07d}"
        report = OrderReport(request.venue, request.symbol, coid, "", OrderStatus.REJECTED, request.side,
                             request.order_type, request.quantity, Decimal(0), request.price, None,
                             self._clock.now_ns(), request.time_in_force, request.stop_price, reason=str(error))
        self._event("refused", f"{coid}: {error}")
        if self._log is not None:
            self._log.order(report)
        if self._strategy is not None:
            self._clock.call_later(0, self._deliver, report)
        return coid

    def _deliver(self, report: OrderReport) -> None:
        if self._strategy is not None:
            self._maybe_spawn(self._strategy.on_order_update(report))

    def set_leverage(self, venue: str, symbol: str, leverage: int) -> None:
        """Set a derivatives venue's leverage for ``symbol`` in the background, through the gateway."""
        self._spawn(self._setting("set_leverage", f"{venue} {symbol} {leverage}",
                                  lambda: self.engine.gateways[venue].set_leverage(symbol, leverage)))

    def set_margin_mode(self, venue: str, symbol: str, mode: MarginMode) -> None:
        """Set a derivatives venue's margin mode for ``symbol`` in the background, through the gateway."""
        self._spawn(self._setting("set_margin_mode", f"{venue} {symbol} {mode}",
                                  lambda: self.engine.gateways[venue].set_margin_mode(symbol, mode)))

    async def _setting(self, what: str, detail: str, call: Callable[[], Awaitable[None]]) -> None:
        try:
            await call()
        except (VenueError, KeyError) as error:  # KeyError: no such venue
            self._event(f"{what}-refused", f"{detail}: {error}")
            return
        self._event(what, detail)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _submit(self, order: ManagedOrder) -> None:
        try:
            await self.engine.submit(order)
        except VenueError as error:
            self._event("submit-failed", f"{order.client_order_id}: {error}")
            if order.status is OrderStatus.PENDING:
                # proven not placed (rate limited, not connected, circuit open): nobody resends it, so it is
                # refused, and the strategy hears so, like any refusal before sending
                self.engine.orders.force_status(order, OrderStatus.REJECTED, f"not sent: {error}")
        if order.status is OrderStatus.REJECTED:
            self._event("reject", f"{order.client_order_id}: {order.history[-1].reason if order.history else ''}")

    async def _route(self, instrument: str, side: Side, quantity: Decimal, *, order_type: OrderType,
                     price: Decimal | None, time_in_force: TimeInForce) -> None:
        try:
            decision, orders = await self.engine.route(instrument, side, quantity, order_type, limit_price=price,
                                                       time_in_force=time_in_force)
        except InvalidRequestError as error:  # RoutingError: no venue can take it
            self._event("route-refused", f"{instrument} {side.value} {quantity}: {error}")
            return
        where = ", ".join(f"{o.venue} {o.quantity} ({o.client_order_id})" for o in orders)
        self._event("route", f"{decision.decision_id} {instrument} {side.value} {quantity}: {where}")

    async def _request(self, what: str, client_order_id: str, call: Awaitable[ManagedOrder]) -> None:
        try:
            await call
        except (VenueError, ValueError) as error:  # ValueError: OrderStateError (e.g. a cancel already in flight)
            self._event(f"{what}-refused", f"{client_order_id}: {error}")

    def _on_transition(self, order: ManagedOrder, transition: Transition) -> None:
        report = order_report(order, transition.ts_ns, transition.reason)
        if self._log is not None:
            self._log.order(report)
        if self._strategy is not None:
            self._maybe_spawn(self._strategy.on_order_update(report))

    def _on_fill(self, order: ManagedOrder, fill: Fill) -> None:
        if self._log is not None:
            self._log.fill(fill)
            moved = order.history and order.history[-1].execution_id == fill.execution_id
            if not moved:  # a fill that did not change the status still changes the order's row
                self._log.order(order_report(order, fill.ts_ns, f"fill {fill.execution_id}"))
            self._log.position(fill.ts_ns, fill.venue, fill.symbol, self.position(fill.venue, fill.symbol))
        if self._strategy is not None:
            self._maybe_spawn(self._strategy.on_fill(fill))

    def _maybe_spawn(self, result: Awaitable[None] | None) -> None:
        if result is not None and asyncio.iscoroutine(result):
            self._spawn(result)

    def _event(self, kind: str, message: str) -> None:
        if self._log is not None:
            self._log.event(self._clock.now_ns(), kind, message)

"""``ExecutionEngine``: the shared execution layer assembled, in front of any set of adapters.

One object wires the parts that must behave identically against simulated and live venues:

* per venue a ``VenueGateway`` (client-side rate limits, circuit breakers, audit, error
  handling, retried reads) around the adapter;
* one ``OrderManager`` (ids, lifecycle, fills exactly once) attached to every gateway, with
  ``submit_with_recovery`` for sends (ambiguous outcomes are looked up, never blindly resent);
* one ``PositionBook`` fed by the manager's new fills, per venue and aggregated;
* reconciliation against each venue on start, after reconnects (``reconcile``) and on a timer;
* a ``StuckOrderMonitor`` scanning on a timer (every timer parks while it has nothing to do:
  ``harness.periodic``, so a quiet tape does not wake the clock); an optional ``OrderRouter`` for routed orders
  (``route``: books from every tradable venue, a decision journaled before the orders leave,
  fills recorded as the decision's outcome);
* the ``Journal`` (when given): an intent before every send, orders, fills, position history,
  routing decisions, audit records and alerts;
* connection health: request latency and error rate per venue from the audit records
  (``ConnectionMonitor``: alerts, optional pause), and a supervisor that reconnects dropped
  venues with backoff and reconciles each one when it is back;
* the ``VenueRegistry`` (when given): a venue trades only while ACTIVE, and FATAL disables it.

It reads time only from the injected ``Clock`` and randomness only from the injected seeded
RNG, so a simulation is reproducible; it imports nothing of ``sim`` or ``live``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from harness.alerts import Alert, AlertSink, Severity
from harness.audit import AuditRecord, AuditSink, MemoryAuditSink
from harness.clock import NS_PER_SECOND, Clock
from harness.contract import ExchangeAdapter, InvalidRequestError, OrderNotFoundError, VenueError
from harness.errors import BreakerBoard, ErrorHandler, RetryPolicy
from harness.gateway import VenueGateway
from harness.health import ConnectionMonitor, InFlightTracker, ShuttingDownError
from harness.journal import IntentState, Journal
from harness.model import (
    BookSnapshot,
    Fill,
    OrderModification,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    VenueInfo,
    VenueStatus,
)
from harness.orders import ManagedOrder, OrderManager, Transition, validate_request
from harness.periodic import GatedJob
from harness.positions import PositionBook, PositionHistoryRecord
from harness.ratelimit import ClientRateLimiter, LimitRule, RequestCost
from harness.reconcile import (
    Discrepancy,
)
from harness.reconciler import VenueReconciler
from harness.recovery import StuckOrder, StuckOrderMonitor, submit_with_recovery
from harness.registry import UnknownVenueError, VenueRegistry
from harness.rng import SeededRng
from harness.router import OrderRouter, RoutingDecision
from harness.secrets import safe_logger
from harness.venues import limits_from_status

__all__ = ["EngineConfig", "ExecutionEngine", "VenueUnavailableError"]

logger = safe_logger(__name__)

Limits = tuple[tuple[LimitRule, ...], tuple[RequestCost, ...]]


class VenueUnavailableError(InvalidRequestError):
    """The venue is not tradable now (INACTIVE, MAINTENANCE, ERROR, paused or behind an open breaker)."""


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Timings and policies of the execution layer (defaults suit both simulation and live)."""

    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(
        initial_delay_ns=100_000_000, multiplier=Decimal(2), max_delay_ns=10 * NS_PER_SECOND, max_retries=5))
    submit_timeout_ns: int = 10 * NS_PER_SECOND
    max_lookups: int = 6
    stuck_threshold_ns: int = 120 * NS_PER_SECOND
    quiet_threshold_ns: int = 86_400 * NS_PER_SECOND  # resting GTC orders may be quiet for a day
    reconcile_interval_ns: int = 60 * NS_PER_SECOND  # 0: only on start and on demand
    stuck_scan_interval_ns: int = 10 * NS_PER_SECOND
    report_grace_ns: int = 5 * NS_PER_SECOND  # venue news younger than this may still be in flight
    health_interval_ns: int = NS_PER_SECOND  # how often dropped connections are retried (0: never)
    latency_alert_ns: int = 2 * NS_PER_SECOND  # mean request latency that raises a quality alert
    error_rate_alert: Decimal = Decimal("0.5")  # share of failed requests that raises a quality alert
    pause_on_quality_alert: bool = False  # stop new orders to a venue after a quality alert
    id_prefix: str = "h"
    warning_threshold: Decimal = Decimal("0.8")


_CONNECTION_FAILURES = frozenset({"RETRYABLE", "AMBIGUOUS", "EXCHANGE_ERROR", "FATAL"})


class _HealthTap:
    """An ``AuditSink`` that forwards every record and feeds request outcomes to the health monitor.

    Refusals (invalid requests, rate limits) are answers from a healthy connection; only
    transport-level failures count as errors for connection quality.
    """

    def __init__(self, inner: AuditSink, health: ConnectionMonitor) -> None:
        self.inner = inner
        self.health = health

    def audit(self, record: AuditRecord) -> None:
        """Store ``record`` and, for a finished request, count its latency and outcome."""
        self.inner.audit(record)
        if record.phase == "result" and record.latency_ns is not None:
            self.health.record_request(record.venue, "rest", record.latency_ns,
                                       record.error_category not in _CONNECTION_FAILURES)


class ExecutionEngine:
    """Orders, positions, recovery, reconciliation and (optionally) routing over a set of venues.

    ``adapters`` maps venue names to ``ExchangeAdapter``s; ``limits`` optionally gives a venue's
    client-side rate limits (default: those of the adapter's descriptor, or, for a venue whose
    descriptor has none, mirrored from the limits the venue reports, ``limits_from_status``).
    ``venue_status`` (default: always ACTIVE) lets a registry say which venues may trade.
    """

    def __init__(self, adapters: Mapping[str, ExchangeAdapter], clock: Clock, rng: SeededRng, *,
                 alerts: AlertSink | None = None, journal: Journal | None = None,
                 config: EngineConfig | None = None, limits: Mapping[str, Limits] | None = None,
                 venue_status: Callable[[str], VenueStatus] | None = None,
                 instrument_of: Callable[[str, str], str] | None = None,
                 router: OrderRouter | None = None, registry: VenueRegistry | None = None) -> None:
        self.config = config or EngineConfig()
        self.clock = clock
        self.adapters = dict(adapters)
        self.alerts = alerts or AlertSink()
        self.journal = journal
        self._store: AuditSink = journal if journal is not None else MemoryAuditSink()
        self.health = ConnectionMonitor(clock, self.alerts, latency_threshold_ns=self.config.latency_alert_ns,
                                        error_rate_threshold=self.config.error_rate_alert,
                                        pause_trading_on_alert=self.config.pause_on_quality_alert)
        self.audit: AuditSink = _HealthTap(self._store, self.health)
        self.registry = registry
        self._rng = rng
        self._backoff_rng = rng.stream("engine.backoff")
        self._limits = dict(limits or {})
        self._venue_status = venue_status or self._registry_status
        self.disabled: dict[str, str] = {}
        self.handler = ErrorHandler(clock, self.alerts, on_fatal=self._on_fatal)
        self.breakers = BreakerBoard(clock, on_transition=self.handler.on_breaker_transition)
        self.orders = OrderManager(clock, id_prefix=self.config.id_prefix, alerts=self.alerts)
        self.positions = PositionBook(clock, instrument_of=instrument_of or self.instrument_of)
        self.router = router
        self._decision_of: dict[str, str] = {}  # client order id -> routing decision id
        self.stuck = StuckOrderMonitor(self.orders, clock, threshold_ns=self.config.stuck_threshold_ns,
                                       alerts=self.alerts, quiet_threshold_ns=self.config.quiet_threshold_ns)
        self.gateways: dict[str, VenueGateway] = {}
        self.discrepancies: list[Discrepancy] = []
        self.fill_listeners: list[Callable[[ManagedOrder, Fill], None]] = []
        self.reconcile_listeners: list[Callable[[str, list[Discrepancy]], None]] = []
        """Called with (venue, discrepancies) after every reconciliation (dashboards, scenario scorecards)."""
        self._tasks: list[asyncio.Task[None]] = []
        self._down: dict[str, tuple[int, int]] = {}  # venue -> (failed reconnect attempts, next attempt ns)
        self.in_flight = InFlightTracker(clock)
        """Order sends in flight: a shutdown refuses new ones and waits for these (Property 32)."""
        self.reconciler = VenueReconciler(self.orders, self.positions, self.alerts, clock,
                                          grace_ns=self.config.report_grace_ns, on_position=self._on_position)
        self.orders.fill_listeners.append(self._on_fill)
        self.orders.order_listeners.append(self._on_transition)
        self.orders.created_listeners.append(self._on_created)
        self._unreconciled: set[str] = set()  # venues with activity since their last reconciliation began
        self._reconcile_job: GatedJob | None = None
        self._stuck_job: GatedJob | None = None
        if journal is not None:
            self.alerts.listen(journal.on_alert)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect every venue, put its gateway in front, attach the order manager, reconcile, start timers."""
        for name, adapter in self.adapters.items():
            if not adapter.is_connected():
                await adapter.connect()
            limits = self._limits.get(name) or await self._default_limits(adapter)
            limiter = ClientRateLimiter(name, limits[0], limits[1], self.clock,
                                        warning_threshold=self.config.warning_threshold)
            gateway = VenueGateway(adapter, clock=self.clock, rng=self._rng.stream(f"engine.gateway.{name}"),
                                   limiter=limiter, breakers=self.breakers, handler=self.handler, audit=self.audit,
                                   policy=self.config.retry)
            self.gateways[name] = gateway
            self.health.record_connect(name, "rest")
            await self.orders.attach(gateway)
        await self.recover_from_journal()
        for name in self.gateways:
            await self.reconcile(name)
        self._start_timers()

    def _start_timers(self) -> None:
        """The periodic jobs, each parked while it has nothing to do (``harness.periodic``).

        Reconciliation runs for a venue with working orders, activity since its last run, an
        unfinished last run, or an account other clients may change (an adapter without
        ``sole_client``); connection supervision while a venue is down (or always, for an adapter
        that cannot tell the engine when its connection drops: no ``watch_connection``); stuck
        scans while any order is working.
        """
        config = self.config
        jobs: list[GatedJob] = []
        if config.reconcile_interval_ns > 0:
            self._reconcile_job = GatedJob(self.clock, config.reconcile_interval_ns, self._reconcile_all,
                                           lambda: any(map(self._needs_reconcile, self.gateways)), name="reconcile")
            jobs.append(self._reconcile_job)
        if config.health_interval_ns > 0:
            unwatched = False
            health = GatedJob(self.clock, config.health_interval_ns, self._supervise_connections,
                              lambda: unwatched or self._down_now(), name="connections")
            for adapter in self.adapters.values():
                watch = getattr(adapter, "watch_connection", None)
                if callable(watch):
                    watch(health.poke)
                else:
                    unwatched = True
            jobs.append(health)
        if config.stuck_scan_interval_ns > 0:
            self._stuck_job = GatedJob(self.clock, config.stuck_scan_interval_ns, self._scan_stuck,
                                       self.orders.has_open, name="stuck orders")
            jobs.append(self._stuck_job)
        self._tasks += [asyncio.ensure_future(job.run()) for job in jobs]

    def _down_now(self) -> bool:
        """Whether a venue is disconnected (or still counted down by the supervisor)."""
        return bool(self._down) or not all(g.is_connected() for g in self.gateways.values())

    def _needs_reconcile(self, venue: str) -> bool:
        """Whether a periodic reconciliation of ``venue`` could find anything (see ``_start_timers``)."""
        return (venue in self._unreconciled or self.orders.has_open(venue)
                or not getattr(self.adapters.get(venue), "sole_client", False))

    def _touched(self, venue: str) -> None:
        """Something happened at ``venue``: its next periodic reconciliation is needed."""
        if venue not in self._unreconciled:
            self._unreconciled.add(venue)
            if self._reconcile_job is not None:
                self._reconcile_job.poke()

    def _on_created(self, order: ManagedOrder) -> None:
        self._touched(order.venue)
        if self._stuck_job is not None:
            self._stuck_job.poke()

    async def recover_from_journal(self) -> list[ManagedOrder]:
        """After a restart, settle every journaled intent that never got a final answer, and every
        journaled order that was still working (it may have filled or been cancelled meanwhile).

        Each one is taken back under its client order id and asked for at its venue: found,
        the venue's state is adopted (the intent is ACKED); proven absent, it is REJECTED and
        not resent (the strategy that wanted it is gone; a new decision must be taken); a venue
        that cannot answer leaves it UNKNOWN for reconciliation and the stuck-order monitor.
        Client order ids of a new session must not repeat an old one's: give each deployment
        its own ``EngineConfig.id_prefix``.
        """
        if self.journal is None:
            return []
        settled: list[ManagedOrder] = []
        # the intents never answered, then the orders answered but not finished when the process stopped
        for intent in [*self.journal.pending_intents(), *self.journal.unfinished_orders()]:
            gateway = self.gateways.get(intent.venue)
            if gateway is None or self.orders.by_client_id(intent.client_order_id) is not None:
                continue
            request = intent.order_request()
            try:
                order = self.orders.create_from(request, validate=False)
            except InvalidRequestError as error:
                self.journal.mark_intent(intent.client_order_id, IntentState.FAILED, f"not recoverable: {error}")
                continue
            self.orders.set_unknown(order, "journaled intent without an answer (restart)")
            try:
                report = await gateway.get_order(order.symbol, order.client_order_id)
            except OrderNotFoundError:
                self.orders.force_status(order, OrderStatus.REJECTED, "not at the venue after a restart; not resent")
                self._mark_intent(order, IntentState.FAILED, "absent at the venue after a restart")
            except VenueError as error:
                logger.warning("restart: %s unresolved: %s", order.client_order_id, error)
            else:
                self.orders.apply_report(order, report, authoritative=True)
                self._mark_intent(order, IntentState.ACKED, f"recovered after restart: {report.status.value}")
            settled.append(order)
        return settled

    async def stop(self, *, cancel_open: bool = True, timeout_ns: int = 30 * NS_PER_SECOND) -> dict[str, int]:
        """Graceful shutdown: refuse new orders, finish in-flight sends, cancel what rests, reconcile.

        New orders and sends are refused from the first moment (``in_flight``, an
        ``InFlightTracker``); sends already under way get up to ``timeout_ns`` on the clock.
        Returns counts: ``completed`` in-flight sends, ``abandoned`` ones still running at the
        timeout, ``cancelled`` open orders.
        """
        for task in self._tasks:
            task.cancel()
        report = await self.in_flight.shutdown(timeout_ns)  # stops accepting before its first await
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        cancelled = 0
        if cancel_open:
            for order in self.orders.list(open_only=True):
                if order.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
                    try:
                        await self.orders.cancel(order, self.gateways[order.venue])
                        cancelled += 1
                    except VenueError as error:
                        logger.warning("shutdown: cancel of %s failed: %s", order.client_order_id, error)
        for name in self.gateways:
            try:
                await self.reconcile(name)
            except VenueError as error:
                logger.warning("shutdown: final reconcile of %s failed: %s", name, error)
        return {"completed": report.completed, "abandoned": report.abandoned, "cancelled": cancelled}

    def _registry_status(self, venue: str) -> VenueStatus:
        if self.registry is None:
            return VenueStatus.ACTIVE
        try:
            return self.registry.get(venue).status
        except UnknownVenueError:
            return VenueStatus.INACTIVE

    async def _supervise_connections(self) -> None:
        """Reconnect dropped venues with backoff; reconcile each one as soon as it is back."""
        now = self.clock.now_ns()
        for name, gateway in self.gateways.items():
            if gateway.is_connected():
                continue
            attempts, next_ns = self._down.get(name, (0, now))
            if attempts == 0:
                self.health.record_disconnect(name, "rest")
            if now < next_ns:
                continue
            try:
                await gateway.connect()
            except VenueError as error:
                delay = self.config.retry.delay_ns(min(attempts, 30), self._backoff_rng)
                self._down[name] = (attempts + 1, now + delay)
                logger.warning("reconnect to %s failed (attempt %d): %s", name, attempts + 1, error)
                continue
            self._down.pop(name, None)
            self.health.record_reconnect(name, "rest")
            await self.reconcile(name)

    async def _default_limits(self, adapter: ExchangeAdapter) -> Limits:
        """The adapter's descriptor's limits, else the venue's reported ones mirrored."""
        descriptor = adapter.descriptor
        if descriptor.limits_known:
            return descriptor.rules, descriptor.costs
        return limits_from_status(await adapter.get_rate_limit_status(),
                                  warning_threshold=self.config.warning_threshold)

    # ------------------------------------------------------------------ orders

    def tradable(self, venue: str) -> str | None:
        """Why ``venue`` cannot take orders now, or None when it can (Property 3)."""
        if venue not in self.gateways:
            return "not connected to the engine"
        if venue in self.disabled:
            return f"disabled: {self.disabled[venue]}"
        status = self._venue_status(venue)
        if status is not VenueStatus.ACTIVE:
            return f"status {status.value}"
        if self.health.is_paused(venue):
            return "paused after a connection-quality alert"
        if not self.gateways[venue].is_connected():
            return "disconnected"
        if self.breakers.is_open(venue):
            return "circuit breaker open"
        return None

    def create_order(self, request: OrderRequest) -> ManagedOrder:
        """Validate ``request`` against the venue and register it (PENDING) under a fresh client order id."""
        if not self.in_flight.accepting:
            raise VenueUnavailableError("the engine is shutting down; no new orders", venue=request.venue)
        why = self.tradable(request.venue)
        if why is not None:
            raise VenueUnavailableError(f"venue {request.venue} cannot take orders: {why}", venue=request.venue)
        validate_request(request, self.orders.venue_info(request.venue), now_ns=self.clock.now_ns())
        return self.orders.create_from(request, validate=False)  # validated just above, against the same info

    async def submit(self, order: ManagedOrder) -> ManagedOrder:
        """Send a created order: journal the intent first, then submit with recovery.

        Once a shutdown has begun the order is not sent: it is REJECTED and
        ``VenueUnavailableError`` is raised.
        """
        try:
            async with self.in_flight.track():
                await self._send(order)
        except ShuttingDownError:
            if not order.is_terminal:
                self.orders.force_status(order, OrderStatus.REJECTED, "not sent: the engine is shutting down")
            raise VenueUnavailableError("the engine is shutting down; the order was not sent",
                                        venue=order.venue) from None
        return order

    async def _send(self, order: ManagedOrder) -> None:
        """The intent, the send with recovery, and the intent's outcome."""
        if self.journal is not None:
            self.journal.record_intent(order.request)
        try:
            await submit_with_recovery(self.orders, order, self.gateways[order.venue], clock=self.clock,
                                       backoff=self._backoff, max_lookups=self.config.max_lookups,
                                       timeout_ns=self.config.submit_timeout_ns)
        except VenueError as error:
            self._mark_intent(order, IntentState.FAILED, str(error))
            raise
        state = {OrderStatus.UNKNOWN: IntentState.UNKNOWN, OrderStatus.REJECTED: IntentState.FAILED,
                 OrderStatus.PENDING: IntentState.UNKNOWN}.get(order.status, IntentState.ACKED)
        self._mark_intent(order, state, order.status.value)

    async def cancel(self, ref: str | ManagedOrder) -> ManagedOrder:
        """Cancel an order; its record changes to CANCELLED only when the venue confirms."""
        order = self.orders.lookup(ref)
        return await self.orders.cancel(order, self.gateways[order.venue])

    async def modify(self, ref: str | ManagedOrder, change: OrderModification) -> ManagedOrder:
        """Modify an order natively or by cancel-replace, per the venue's capabilities."""
        order = self.orders.lookup(ref)
        return await self.orders.modify(order, self.gateways[order.venue], change)

    # ------------------------------------------------------------------ routing

    def instrument_of(self, venue: str, symbol: str) -> str:
        """The instrument a venue's symbol trades, as ``BASE/QUOTE`` (``BTCUSDT`` on Binance -> ``BTC/USDT``).

        Positions aggregate across venues by it and the router addresses orders by it. A
        symbol the venue's info does not list is its own instrument.
        """
        info = self.orders.venue_info(venue)
        rules = info.symbols.get(symbol) if info is not None else None
        return f"{rules.base_asset}/{rules.quote_asset}" if rules is not None else symbol

    def venue_symbol(self, instrument: str, venue: str) -> str | None:
        """The symbol ``venue`` lists for ``instrument`` (``BASE/QUOTE``), or None."""
        info = self.orders.venue_info(venue)
        if info is None:
            return None
        if instrument in info.symbols:
            return instrument
        return next((s for s, r in info.symbols.items() if f"{r.base_asset}/{r.quote_asset}" == instrument), None)

    async def route(self, instrument: str, side: Side, quantity: Decimal, order_type: OrderType = OrderType.MARKET,
                    *, limit_price: Decimal | None = None,
                    time_in_force: TimeInForce = TimeInForce.GTC) -> tuple[RoutingDecision, list[ManagedOrder]]:
        """Route an order for ``instrument`` with the router, then send each allocation.

        Books come from every venue that is tradable now; venues that are not (status, disabled,
        breaker) are passed as such so the decision records why they were skipped. The
        decision goes to the journal before any order leaves; fills are later recorded as its
        outcome (price, slippage, time).
        """
        if self.router is None:
            raise InvalidRequestError("no router configured", venue="")
        books: dict[str, BookSnapshot] = {}
        infos: dict[str, VenueInfo] = {}
        statuses: dict[str, VenueStatus] = {}
        symbols: dict[str, str] = {}
        for name, gateway in self.gateways.items():
            symbol = self.venue_symbol(instrument, name)
            info = self.orders.venue_info(name)
            if symbol is None or info is None:
                continue
            symbols[name], infos[name] = symbol, info
            status = self._venue_status(name)
            why = self.tradable(name)
            if why is not None and status is VenueStatus.ACTIVE and not self.breakers.is_open(name):
                status = VenueStatus.ERROR  # disabled, paused or disconnected (an open breaker is said as such)
            statuses[name] = status
            if why is None:
                try:
                    books[name] = await gateway.get_order_book(symbol, depth=50)
                except VenueError as error:
                    logger.warning("route: no book from %s: %s", name, error)
                    statuses[name] = VenueStatus.ERROR
        decision = self.router.route(instrument, side, quantity, order_type, books=books, infos=infos,
                                     statuses=statuses, breaker_open=self.breakers.is_open, limit_price=limit_price,
                                     symbols=symbols)
        if self.journal is not None:
            for row in self.router.decisions_table(decision.decision_id):
                self.journal.record_decision(row)
        orders: list[ManagedOrder] = []
        for allocation in decision.allocations:
            request = OrderRequest("", allocation.venue, allocation.symbol, side, order_type, allocation.quantity,
                                   price=limit_price, time_in_force=time_in_force)
            order = self.create_order(request)
            self._decision_of[order.client_order_id] = decision.decision_id
            orders.append(order)
        await asyncio.gather(*(self.submit(order) for order in orders), return_exceptions=True)
        return decision, orders

    def _backoff(self, attempt: int) -> int:
        return self.config.retry.delay_ns(max(0, attempt - 1), self._backoff_rng)

    def _mark_intent(self, order: ManagedOrder, state: IntentState, detail: str) -> None:
        if self.journal is not None:
            self.journal.mark_intent(order.client_order_id, state, detail)

    # ------------------------------------------------------------------ reconciliation and monitoring

    async def reconcile(self, venue: str) -> list[Discrepancy]:
        """Reconcile with ``venue`` now (see ``VenueReconciler.run``); returns and keeps what disagreed.

        Idempotent: a second run on an unchanged venue finds nothing.
        """
        self._unreconciled.discard(venue)
        try:
            found = await self.reconciler.run(self.gateways[venue])
        except BaseException:
            self._touched(venue)  # unfinished: the next periodic run must not be skipped
            raise
        if found:
            self._touched(venue)  # what was adopted is looked at once more
        self.discrepancies.extend(found)
        for listener in self.reconcile_listeners:
            listener(venue, found)
        return found

    async def _reconcile_all(self) -> None:
        for name in self.gateways:
            if self._needs_reconcile(name):
                await self.reconcile(name)

    async def _scan_stuck(self) -> None:
        self.scan_stuck()

    def scan_stuck(self) -> list[StuckOrder]:
        """Orders stuck in an uncertain state beyond the threshold (alerted once each)."""
        return self.stuck.scan()

    # ------------------------------------------------------------------ listeners

    def _on_fill(self, order: ManagedOrder, fill: Fill) -> None:
        self._touched(fill.venue)
        record = self.positions.apply_fill(fill)
        if record is not None:
            self.reconciler.note_fill(fill)
        decision_id = self._decision_of.get(order.client_order_id)
        if decision_id is not None and self.router is not None:
            self.router.record_outcome(decision_id, fill.venue, fill.price, fill.quantity, fill.ts_ns)
        if self.journal is not None:
            with self.journal.transaction():  # the fill, its order row and the position it moves: one commit
                self.journal.record_fill(fill)
                moved = order.history and order.history[-1].execution_id == fill.execution_id
                if not moved:  # the status was already where the fill leads (a report came first): the row changes
                    self.journal.record_order({
                        "client_order_id": order.client_order_id, "venue": order.venue, "symbol": order.symbol,
                        "status": order.status.value, "filled_quantity": order.filled_quantity,
                        "quantity": order.quantity, "ts_ns": fill.ts_ns, "reason": f"fill {fill.execution_id}"})
                if record is not None:
                    self._on_position(record)
        elif record is not None:
            self._on_position(record)
        for listener in self.fill_listeners:
            listener(order, fill)

    def _on_position(self, record: PositionHistoryRecord) -> None:
        if self.journal is not None:
            position = self.positions.position(record.venue, record.symbol)
            realized = position.realized_pnl if position is not None else Decimal(0)
            self.journal.record_position_history(record.venue, record.symbol, record.new_quantity,
                                                 record.new_average, realized, ts_ns=record.ts_ns,
                                                 cause=f"{record.change.value} {record.trigger}")
            self.journal.record_position(record.venue, record.symbol, record.new_quantity, record.new_average,
                                         realized, ts_ns=record.ts_ns)

    def _on_transition(self, order: ManagedOrder, transition: Transition) -> None:
        self._touched(order.venue)
        if self.journal is not None:
            self.journal.record_order({
                "client_order_id": order.client_order_id, "venue": order.venue, "symbol": order.symbol,
                "status": order.status.value, "filled_quantity": order.filled_quantity,
                "quantity": order.quantity, "ts_ns": transition.ts_ns, "reason": transition.reason})

    def _on_fatal(self, venue: str, error: VenueError) -> None:
        if self.registry is not None:
            try:
                self.registry.disable(venue, f"fatal error {error.code}")
            except UnknownVenueError:
                logger.warning("fatal error from %s, which the registry does not know", venue)
        if venue not in self.disabled:
            self.disabled[venue] = f"{error.category.value} {error.code}"
            self.alerts.raise_alert(Alert(self.clock.now_ns(), Severity.CRITICAL, "engine", "venue_disabled",
                                          f"{venue} disabled after a fatal error; orders refused until re-enabled",
                                          venue=venue))

    def audit_records(self) -> list[AuditRecord]:
        """Every audit record so far (from the journal, or kept in memory without one)."""
        if isinstance(self._store, MemoryAuditSink):
            return list(self._store.records)
        return self.journal.audit_records() if self.journal is not None else []

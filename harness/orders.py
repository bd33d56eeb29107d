"""The order manager: ids, idempotency keys, the lifecycle state machine, fills exactly once.

``OrderManager`` owns every order the harness sends. It assigns each one a unique internal
``order_id`` and a unique ``client_order_id`` (the idempotency key sent to the venue, valid for
Binance's ``newClientOrderId``), sends requests through the adapter contract, and folds the
venue's answers (acks, pushed ``OrderReport``s, ``Fill``s) into one ``ManagedOrder`` per order.

Rules it keeps, whatever order the venue's messages arrive in:

* **Fills exactly once.** A fill is applied once per ``(venue, execution_id)``; a duplicate is
  ignored. ``filled_quantity`` is the sum of the applied fills and never exceeds the order's
  quantity (a venue that overfills raises an alert and the fill is ignored), and
  ``filled_quantity + remaining_quantity == quantity`` always holds.
* **Terminal states absorb.** FILLED, CANCELLED, REJECTED and EXPIRED are never left; a later
  report that disagrees raises an ``order_conflict`` alert instead.
* **No going back.** Reports older than the last one applied (by venue timestamp) or showing
  less filled quantity than already reported are stale and never move the state back; status
  only moves forward (PENDING/UNKNOWN -> OPEN -> PARTIALLY_FILLED -> terminal).
* **Confirmation before change.** A cancel shows PENDING_CANCEL while in flight and becomes
  CANCELLED only when the venue confirms; if it fails the previous status is restored. A
  modify shows PENDING_MODIFY while in flight and changes price or quantity only when
  confirmed: natively when the venue can amend, else by cancel (confirmed) and replace with a
  new order under a new client order id, linked to the old one.

The venue may push fills before or after the reports that count them, so status comes from
reports *and* fills (whichever is further along) while quantities come from fills alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal

from harness.alerts import Alert, AlertSink, Severity
from harness.clock import Clock
from harness.contract import (
    AmbiguousError,
    ExchangeAdapter,
    ExchangeError,
    InvalidRequestError,
    VenueError,
)
from harness.model import (
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
from harness.order_validation import (
    CLIENT_ORDER_ID_PATTERN,
    OrderValidationError,
    validate_modification,
    validate_request,
)

__all__ = [
    "CLIENT_ORDER_ID_PATTERN",
    "FillListener",
    "ManagedOrder",
    "OrderListener",
    "OrderManager",
    "OrderStateError",
    "OrderValidationError",
    "Transition",
    "validate_request",
]

_ZERO = Decimal(0)
_COUNTER_DIGITS = 8
_PENDING_LOCAL = frozenset({OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_MODIFY})
_RANK = {
    OrderStatus.PENDING: 0,
    OrderStatus.UNKNOWN: 0,
    OrderStatus.OPEN: 1,
    OrderStatus.PARTIALLY_FILLED: 2,
    OrderStatus.FILLED: 3,
    OrderStatus.CANCELLED: 3,
    OrderStatus.REJECTED: 3,
    OrderStatus.EXPIRED: 3,
}
# --------------------------------------------------------------------------- errors


class OrderStateError(ValueError):
    """The order is not in a state that allows the requested operation (e.g. modify while cancelling)."""


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Transition:
    """One status change of an order: when, from what, to what, and why (``execution_id`` when a fill moved it)."""

    ts_ns: int
    old: OrderStatus
    new: OrderStatus
    reason: str
    execution_id: str = ""


@dataclass(slots=True)
class ManagedOrder:
    """The manager's mutable record of one order (read it; change it only through the manager).

    ``filled_quantity`` is the sum of ``fills``; ``remaining_quantity`` is ``quantity`` minus it.
    ``quantity`` is the request's and changes only by a confirmed modify. ``venue_filled_quantity``
    is the most the venue has reported filled (fills may still be on their way).
    ``last_venue_update_ns`` is *our* clock time of the last message about this order from the
    venue (stuck detection); ``venue_ts_ns`` the venue's own timestamp of the last report applied
    (staleness). ``pending_from`` is the status to restore if an in-flight cancel/modify fails.
    """

    order_id: str
    client_order_id: str
    request: OrderRequest
    status: OrderStatus
    filled_quantity: Decimal
    remaining_quantity: Decimal
    created_ns: int
    updated_ns: int
    average_price: Decimal | None = None
    fees: dict[str, Decimal] = field(default_factory=dict)
    venue_order_id: str = ""
    last_venue_update_ns: int | None = None
    venue_ts_ns: int | None = None
    venue_filled_quantity: Decimal = _ZERO
    submitted_ns: int | None = None
    pending_from: OrderStatus | None = None
    replaces: str | None = None
    replaced_by: str | None = None
    execution_ids: set[str] = field(default_factory=set)
    fills: list[Fill] = field(default_factory=list)
    history: list[Transition] = field(default_factory=list)

    @property
    def quantity(self) -> Decimal:
        """The order's current quantity (original, or as changed by a confirmed modify)."""
        return self.request.quantity

    @property
    def venue(self) -> str:
        """The venue the order was sent to."""
        return self.request.venue

    @property
    def symbol(self) -> str:
        """The instrument."""
        return self.request.symbol

    @property
    def side(self) -> Side:
        """Buy or sell."""
        return self.request.side

    @property
    def is_terminal(self) -> bool:
        """True once the order reached FILLED, CANCELLED, REJECTED or EXPIRED."""
        return self.status.is_terminal

    @property
    def is_open(self) -> bool:
        """True while the order is not terminal (it may still trade, or its fate is unknown)."""
        return not self.status.is_terminal


OrderListener = Callable[[ManagedOrder, Transition], None]
FillListener = Callable[[ManagedOrder, Fill], None]


# --------------------------------------------------------------------------- the manager


class OrderManager:
    """Creates, sends and tracks orders; the one place order state changes (see the module doc).

    ``fill_listeners`` are called once per newly applied fill (positions subscribe here);
    ``order_listeners`` once per status change. ``alerts`` receives overfills and conflicts.
    """

    def __init__(self, clock: Clock, *, id_prefix: str = "h", alerts: AlertSink | None = None) -> None:
        if not re.fullmatch(r"[a-zA-Z0-9_-]{1,20}", id_prefix):
            raise ValueError(f"id_prefix must be 1-20 characters of [a-zA-Z0-9_-], got {id_prefix!r}")
        self._clock = clock
        self._prefix = id_prefix
        self._alerts = alerts
        self._counter = 0
        self._orders: dict[str, ManagedOrder] = {}
        # the non-terminal subset of _orders, in creation order (terminal states absorb, so an order
        # leaves it once): periodic scans look at working orders only, not at every order ever sent
        self._open: dict[str, ManagedOrder] = {}
        self._by_coid: dict[str, ManagedOrder] = {}
        self._executions: set[tuple[str, str]] = set()
        self._infos: dict[str, VenueInfo] = {}
        self.fill_listeners: list[FillListener] = []
        self.order_listeners: list[OrderListener] = []
        self.created_listeners: list[Callable[[ManagedOrder], None]] = []
        """Called with every order recorded (``create_from``), before anything is sent."""
        self.unmatched_reports: list[OrderReport] = []
        self.unmatched_fills: list[Fill] = []

    # ------------------------------------------------------------------ venues

    def register_venue(self, info: VenueInfo) -> None:
        """Remember a venue's info: requests to it are validated against its capabilities."""
        self._infos[info.venue] = info

    def venue_info(self, venue: str) -> VenueInfo | None:
        """The registered info of ``venue``, if any."""
        return self._infos.get(venue)

    async def attach(self, adapter: ExchangeAdapter) -> None:
        """Load the venue's info and subscribe to its order updates and fills (each applied here)."""
        self.register_venue(await adapter.get_venue_info())

        def on_report(report: OrderReport) -> None:
            self.on_report(report)

        def on_fill(fill: Fill) -> None:
            self.on_fill(fill)

        await adapter.subscribe_order_updates(on_report)
        await adapter.subscribe_fills(on_fill)

    async def _info_for(self, adapter: ExchangeAdapter) -> VenueInfo:
        info = self._infos.get(adapter.venue)
        if info is None:
            info = await adapter.get_venue_info()
            self._infos[adapter.venue] = info
        return info

    # ------------------------------------------------------------------ creating

    def create(self, venue: str, symbol: str, side: Side, quantity: Decimal, *,
               order_type: OrderType = OrderType.LIMIT, price: Decimal | None = None,
               stop_price: Decimal | None = None, trailing_delta: Decimal | None = None,
               time_in_force: TimeInForce = TimeInForce.GTC, expire_at_ns: int | None = None,
               post_only: bool = False, reduce_only: bool = False, strategy_id: str = "") -> ManagedOrder:
        """Validate and record a new PENDING order with fresh ids; nothing is sent yet."""
        request = OrderRequest("", venue, symbol, side, order_type, quantity, price, stop_price, trailing_delta,
                               time_in_force, expire_at_ns, post_only, reduce_only, strategy_id)
        return self.create_from(request)

    def create_from(self, request: OrderRequest, *, replaces: str | None = None,
                    validate: bool = True) -> ManagedOrder:
        """Record ``request`` as a new PENDING order.

        An empty ``client_order_id`` gets a fresh one; a given one must be valid and unused
        (a restart re-creating its journaled orders keeps their keys, with ``validate=False``:
        the order was valid when sent, even if a GTD expiry has passed since). ``validate=False``
        also suits a caller that has just validated the request against this manager's venue info
        (the engine), so it is not checked twice.
        """
        now = self._clock.now_ns()
        if validate:
            validate_request(request, self._infos.get(request.venue), now_ns=now)
        coid = request.client_order_id
        if coid:
            if not CLIENT_ORDER_ID_PATTERN.fullmatch(coid):
                raise OrderValidationError("client_order_id", f"{coid!r} must match {CLIENT_ORDER_ID_PATTERN.pattern}",
                                           venue=request.venue)
            if coid in self._by_coid:
                raise OrderValidationError("client_order_id", f"{coid!r} is already used", venue=request.venue)
        order_id, generated = self._next_ids()
        if not coid:
            coid = generated
            request = replace(request, client_order_id=coid)
        order = ManagedOrder(order_id=order_id, client_order_id=coid, request=request, status=OrderStatus.PENDING,
                             filled_quantity=_ZERO, remaining_quantity=request.quantity, created_ns=now,
                             updated_ns=now, replaces=replaces)
        self._orders[order_id] = order
        self._open[order_id] = order
        self._by_coid[coid] = order
        for listener in self.created_listeners:
            listener(order)
        return order

    def _next_ids(self) -> tuple[str, str]:
        while True:
            self._counter += 1
            coid = f"{self._prefix}{self._counter:0{_COUNTER_DIGITS}d}"
            if coid not in self._by_coid:
                return f"{self._prefix}-{self._counter}", coid

    # ------------------------------------------------------------------ queries

    def get(self, order_id: str) -> ManagedOrder | None:
        """The order with this internal id, if any."""
        return self._orders.get(order_id)

    def by_client_id(self, client_order_id: str) -> ManagedOrder | None:
        """The order with this client order id (idempotency key), if any."""
        return self._by_coid.get(client_order_id)

    def lookup(self, ref: str | ManagedOrder) -> ManagedOrder:
        """The order for an internal id, a client order id or the record itself; ``KeyError`` if unknown."""
        if isinstance(ref, ManagedOrder):
            return ref
        order = self._orders.get(ref) or self._by_coid.get(ref)
        if order is None:
            raise KeyError(f"no order with id or client order id {ref!r}")
        return order

    def __iter__(self) -> Iterator[ManagedOrder]:
        return iter(self._orders.values())

    def __len__(self) -> int:
        return len(self._orders)

    def has_open(self, venue: str | None = None) -> bool:
        """Whether any order (of ``venue``, when given) is not terminal yet; without scanning finished ones."""
        if venue is None:
            return bool(self._open)
        return any(o.venue == venue for o in self._open.values())

    def list(self, *, strategy: str | None = None, venue: str | None = None, symbol: str | None = None,
             status: OrderStatus | Iterable[OrderStatus] | None = None, side: Side | None = None,
             since_ns: int | None = None, until_ns: int | None = None,
             open_only: bool = False) -> list[ManagedOrder]:
        """Orders matching every given filter, in creation order (times compare ``created_ns``)."""
        wanted = None if status is None else ({status} if isinstance(status, OrderStatus) else set(status))
        candidates = self._open if open_only else self._orders
        return [o for o in candidates.values()
                if (strategy is None or o.request.strategy_id == strategy)
                and (venue is None or o.venue == venue)
                and (symbol is None or o.symbol == symbol)
                and (wanted is None or o.status in wanted)
                and (side is None or o.side is side)
                and (since_ns is None or o.created_ns >= since_ns)
                and (until_ns is None or o.created_ns <= until_ns)
                and (not open_only or o.is_open)]

    # ------------------------------------------------------------------ sending

    async def submit(self, order: ManagedOrder, adapter: ExchangeAdapter, *,
                     refusal_is_final: bool = True) -> ManagedOrder:
        """Send a PENDING (or UNKNOWN) order under its client order id and apply the venue's ack.

        A refusal (``InvalidRequestError``) makes it REJECTED (re-raised instead when
        ``refusal_is_final`` is false, for recovery to check whether the venue already has it).
        An ``AmbiguousError``/``ExchangeError`` makes it UNKNOWN and is re-raised: the order may
        exist, and only ``harness.recovery`` decides what to do next. Other errors (not connected,
        rate limited, fatal) mean it was not placed: its status is kept and the error re-raised.
        """
        if order.status not in (OrderStatus.PENDING, OrderStatus.UNKNOWN):
            raise OrderStateError(f"{order.order_id} is {order.status}; only PENDING or UNKNOWN orders are sent")
        if adapter.venue != order.venue:
            raise ValueError(f"order {order.order_id} is for {order.venue}, not {adapter.venue}")
        order.submitted_ns = self._clock.now_ns()
        try:
            ack = await adapter.submit_order(order.request)
        except (AmbiguousError, ExchangeError) as error:
            self.set_unknown(order, f"submit outcome unknown: {error}")
            raise
        except InvalidRequestError as error:
            if not refusal_is_final:
                raise
            self._set_status(order, OrderStatus.REJECTED, f"refused: {error}")
            return order
        self.apply_report(order, ack)
        return order

    async def cancel(self, ref: str | ManagedOrder, adapter: ExchangeAdapter) -> ManagedOrder:
        """Ask the venue to cancel; CANCELLED only once it confirms (Property 18).

        While in flight the order shows PENDING_CANCEL; if the venue refuses or the request
        fails, the status it had before is restored and the error re-raised. A terminal order
        is returned unchanged; a second cancel while one is in flight raises ``OrderStateError``.
        """
        order = self.lookup(ref)
        if order.is_terminal:
            return order
        if order.status in _PENDING_LOCAL:
            raise OrderStateError(f"{order.order_id} is {order.status}; wait for that request first")
        self._begin_pending(order, OrderStatus.PENDING_CANCEL, "cancel sent")
        try:
            confirmation = await adapter.cancel_order(order.symbol, order.client_order_id)
        except VenueError as error:
            self.end_pending(order, f"cancel failed: {error}")
            raise
        self.apply_report(order, confirmation)
        self.end_pending(order, f"cancel answered {confirmation.status}, not a cancellation")
        return order

    async def modify(self, ref: str | ManagedOrder, adapter: ExchangeAdapter,
                     modification: OrderModification) -> ManagedOrder:
        """Change price/quantity/stop of a working order; the record changes only once confirmed.

        Natively when the venue's capabilities say so (the same order is returned, PENDING_MODIFY
        while in flight, restored on failure). Otherwise cancel-replace: the cancel must be
        confirmed, then a new order with a new client order id carries the change for what is
        left to fill (``new_quantity`` is the desired total, as for a native amend); it is linked
        both ways (``replaces``/``replaced_by``) and returned. If the cancel fails, nothing
        changed and the error is re-raised.
        """
        order = self.lookup(ref)
        self._check_modification(order, modification)
        info = await self._info_for(adapter)
        if info.capabilities.native_modify:
            return await self._modify_native(order, adapter, modification)
        return await self._cancel_replace(order, adapter, modification)

    def _check_modification(self, order: ManagedOrder, change: OrderModification) -> None:
        if order.is_terminal or order.status in _PENDING_LOCAL or order.status is OrderStatus.UNKNOWN:
            raise OrderStateError(f"{order.order_id} is {order.status}; only working orders can be modified")
        validate_modification(order.request, change, filled=max(order.filled_quantity, order.venue_filled_quantity))

    @staticmethod
    def _modified_request(request: OrderRequest, change: OrderModification) -> OrderRequest:
        return replace(
            request,
            price=change.new_price if change.new_price is not None else request.price,
            quantity=change.new_quantity if change.new_quantity is not None else request.quantity,
            stop_price=change.new_stop_price if change.new_stop_price is not None else request.stop_price)

    async def _modify_native(self, order: ManagedOrder, adapter: ExchangeAdapter,
                             change: OrderModification) -> ManagedOrder:
        self._begin_pending(order, OrderStatus.PENDING_MODIFY, "modify sent")
        try:
            confirmation = await adapter.modify_order(order.symbol, order.client_order_id, change)
        except VenueError as error:
            self.end_pending(order, f"modify failed: {error}")
            raise
        wanted = self._modified_request(order.request, change)
        self._change_quantity(order, replace(wanted, quantity=confirmation.quantity, price=confirmation.price,
                                             stop_price=confirmation.stop_price))
        self.apply_report(order, confirmation)
        self.end_pending(order, "modify confirmed")
        return order

    async def _cancel_replace(self, order: ManagedOrder, adapter: ExchangeAdapter,
                              change: OrderModification) -> ManagedOrder:
        await self.cancel(order, adapter)
        if order.status is not OrderStatus.CANCELLED:
            return order  # it filled or expired meanwhile: nothing left to replace
        filled = max(order.filled_quantity, order.venue_filled_quantity)
        wanted = self._modified_request(order.request, change)
        left = wanted.quantity - filled
        if left <= 0:
            return order
        new = self.create_from(replace(wanted, client_order_id="", quantity=left), replaces=order.order_id)
        order.replaced_by = new.order_id
        try:
            await self.submit(new, adapter)
        except VenueError as error:
            self._alert(Severity.WARNING, "replace_failed", f"{order.order_id} was cancelled but its "
                        f"replacement {new.order_id} could not be placed: {error}", order.venue)
            raise
        return new

    # ------------------------------------------------------------------ applying venue truth

    def on_report(self, report: OrderReport) -> bool:
        """Apply a pushed venue report to the order it names; False when unknown, stale or a no-op."""
        order = self._by_coid.get(report.client_order_id)
        if order is None or order.venue != report.venue:
            self.unmatched_reports.append(report)
            return False
        return self.apply_report(order, report)

    def apply_report(self, order: ManagedOrder, report: OrderReport, *, authoritative: bool = False) -> bool:
        """Fold one venue report into ``order`` by the transition rules; True if the status moved.

        ``authoritative`` (a reconciliation answer) also adopts the venue's quantity and price when
        they differ from ours and stay consistent with what is filled.
        """
        now = self._clock.now_ns()
        order.last_venue_update_ns = now
        if report.venue_order_id and not order.venue_order_id:
            order.venue_order_id = report.venue_order_id
        if order.is_terminal:
            if report.status.is_terminal and report.status is not order.status:
                self._alert(Severity.WARNING, "order_conflict", f"{order.order_id} is {order.status} here but "
                            f"{report.status} at the venue", order.venue)
            return False
        if order.venue_ts_ns is not None and report.ts_ns < order.venue_ts_ns:
            return False
        if report.filled_quantity < order.venue_filled_quantity:
            return False
        order.venue_ts_ns = report.ts_ns
        order.venue_filled_quantity = report.filled_quantity
        if authoritative and report.quantity != order.quantity and report.quantity >= order.filled_quantity:
            self._change_quantity(order, replace(order.request, quantity=report.quantity, price=report.price,
                                                 stop_price=report.stop_price))
        reason = f"venue: {report.status}" + (f" ({report.reason})" if report.reason else "")
        return self._advance(order, report.status, reason)

    def on_fill(self, fill: Fill) -> bool:
        """Apply one execution exactly once; False for a duplicate, an unknown order or an overfill."""
        order = self._by_coid.get(fill.client_order_id)
        if order is None or order.venue != fill.venue:
            self.unmatched_fills.append(fill)
            return False
        key = (fill.venue, fill.execution_id)
        if key in self._executions:
            return False
        if fill.quantity <= 0 or order.filled_quantity + fill.quantity > order.quantity:
            self._alert(Severity.CRITICAL, "overfill", f"fill {fill.execution_id} of {fill.quantity} on "
                        f"{order.order_id} would fill {order.filled_quantity + fill.quantity} of {order.quantity}; "
                        "ignored", order.venue)
            return False
        self._executions.add(key)
        order.execution_ids.add(fill.execution_id)
        order.fills.append(fill)
        before = order.filled_quantity
        order.filled_quantity = before + fill.quantity
        order.remaining_quantity = order.quantity - order.filled_quantity
        previous_cost = order.average_price * before if order.average_price is not None else _ZERO
        order.average_price = (previous_cost + fill.price * fill.quantity) / order.filled_quantity
        order.fees[fill.fee_asset] = order.fees.get(fill.fee_asset, _ZERO) + fill.fee
        now = self._clock.now_ns()
        order.updated_ns = now
        order.last_venue_update_ns = now
        order.venue_filled_quantity = max(order.venue_filled_quantity, order.filled_quantity)
        if not order.is_terminal:
            status = OrderStatus.FILLED if order.remaining_quantity == 0 else OrderStatus.PARTIALLY_FILLED
            self._advance(order, status, f"fill {fill.execution_id}", execution_id=fill.execution_id)
        for listener in self.fill_listeners:
            listener(order, fill)
        return True

    # ------------------------------------------------------------------ manual and recovery hooks

    def set_unknown(self, order: ManagedOrder, reason: str) -> None:
        """Mark a PENDING order UNKNOWN: the venue may or may not have it (recovery's job).

        An order the venue has already reported on (OPEN, filled, ...) keeps its status: a
        pushed update that overtook a lost answer is better knowledge than the lost answer.
        """
        if order.status is OrderStatus.PENDING:
            self._set_status(order, OrderStatus.UNKNOWN, reason)

    def set_pending(self, order: ManagedOrder, reason: str) -> None:
        """Mark an UNKNOWN order PENDING again: the venue proved it has none, so it may be resent."""
        if order.status is OrderStatus.UNKNOWN:
            self._set_status(order, OrderStatus.PENDING, reason)

    def force_status(self, ref: str | ManagedOrder, status: OrderStatus, reason: str) -> ManagedOrder:
        """Put a non-terminal order into a terminal ``status`` decided outside the venue's reports.

        Used for manual resolutions and when recovery has proof (the venue refused a resend and
        has no such order).
        """
        order = self.lookup(ref)
        if not status.is_terminal:
            raise ValueError(f"status must be terminal, got {status}")
        if order.is_terminal:
            raise OrderStateError(f"{order.order_id} is already {order.status}")
        order.pending_from = None
        self._set_status(order, status, reason)
        return order

    # ------------------------------------------------------------------ internals

    def _advance(self, order: ManagedOrder, status: OrderStatus, reason: str, *, execution_id: str = "") -> bool:
        """Move forward to ``status`` if it is further along; while a request is in flight, move
        the status to restore instead (terminal states end the request's wait at once)."""
        if status not in _RANK:
            return False  # UNKNOWN-style or transitional statuses from a venue carry no news
        if status.is_terminal:
            order.pending_from = None
            return self._set_status(order, status, reason, execution_id=execution_id)
        if order.status in _PENDING_LOCAL:
            base = order.pending_from or OrderStatus.PENDING
            if _RANK[status] > _RANK[base]:
                order.pending_from = status
            return False
        if _RANK[status] > _RANK[order.status] or (order.status is OrderStatus.UNKNOWN
                                                   and status is not OrderStatus.UNKNOWN):
            return self._set_status(order, status, reason, execution_id=execution_id)
        return False

    def _begin_pending(self, order: ManagedOrder, status: OrderStatus, reason: str) -> None:
        order.pending_from = order.status
        self._set_status(order, status, reason)

    def end_pending(self, order: ManagedOrder, reason: str) -> None:
        """Leave PENDING_CANCEL/PENDING_MODIFY for the status the order had (or reached) meanwhile."""
        if order.status in _PENDING_LOCAL:
            previous = order.pending_from or OrderStatus.PENDING
            order.pending_from = None
            self._set_status(order, previous, reason)

    def _change_quantity(self, order: ManagedOrder, request: OrderRequest) -> None:
        order.request = request
        order.remaining_quantity = request.quantity - order.filled_quantity
        order.updated_ns = self._clock.now_ns()
        if order.remaining_quantity == 0 and not order.is_terminal:
            order.pending_from = None
            self._set_status(order, OrderStatus.FILLED, "quantity reduced to the filled quantity")

    def _set_status(self, order: ManagedOrder, status: OrderStatus, reason: str, *, execution_id: str = "") -> bool:
        old = order.status
        if old is status:
            return False
        now = self._clock.now_ns()
        order.status = status
        order.updated_ns = now
        if status.is_terminal:
            self._open.pop(order.order_id, None)
        elif old.is_terminal:  # never by the rules above; kept exact (creation order) should it happen
            self._open = {oid: o for oid, o in self._orders.items() if o.is_open}
        transition = Transition(now, old, status, reason, execution_id)
        order.history.append(transition)
        for listener in self.order_listeners:
            listener(order, transition)
        return True

    def _alert(self, severity: Severity, kind: str, message: str, venue: str) -> None:
        if self._alerts is not None:
            self._alerts.raise_alert(Alert(self._clock.now_ns(), severity, "orders", kind, message, venue))

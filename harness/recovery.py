"""Recovery: submits whose outcome is unknown, stuck orders, and manual intervention.

An order whose submit timed out or failed ambiguously may exist at the venue. It is never sent
again blindly. ``submit_with_recovery`` marks it UNKNOWN and asks the venue by client order id:

* the venue has it: its report is applied (no duplicate; Property 36);
* the venue proves it has none (``OrderNotFoundError``): only then is it resent, with the *same*
  client order id, so that if the first request lands late after all the venue refuses the
  second as a duplicate instead of opening another order (the idempotency key; Property 37);
  unless its owner asked to cancel it meanwhile: then it is closed as never placed, not resent;
* the lookups keep failing: the order stays UNKNOWN, and ``StuckOrderMonitor`` flags it.

``StuckOrderMonitor`` finds orders that stay in an uncertain state (PENDING, UNKNOWN, a cancel
or modify in flight, or OPEN with no word from the venue) longer than a threshold (Property 39),
alerts once per episode, and offers the manual tools: force a cancel, force a reconciliation
against the venue, or resolve by a recorded human decision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from harness.alerts import Alert, AlertSink, Severity
from harness.clock import NS_PER_SECOND, Clock
from harness.contract import (
    AmbiguousError,
    ExchangeAdapter,
    ExchangeError,
    InvalidRequestError,
    OrderNotFoundError,
    RateLimitedError,
    RetryableError,
)
from harness.model import OrderReport, OrderStatus
from harness.orders import ManagedOrder, OrderManager, OrderStateError

__all__ = [
    "Backoff",
    "Resolution",
    "ResolutionRecord",
    "StuckOrder",
    "StuckOrderMonitor",
    "recover_unknown",
    "submit_with_recovery",
]

_T = TypeVar("_T")

Backoff = Callable[[int], int]
"""``backoff(attempt) -> delay_ns`` for the 1-based retry ``attempt`` (``RetryPolicy`` fits)."""

_TRANSIENT = (RetryableError, RateLimitedError, ExchangeError, TimeoutError)
_UNCERTAIN = frozenset({OrderStatus.PENDING, OrderStatus.UNKNOWN, OrderStatus.PENDING_CANCEL,
                        OrderStatus.PENDING_MODIFY})
_QUIET = frozenset({OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED})


async def _bounded(coro: Coroutine[Any, Any, _T], timeout_ns: int | None) -> _T:
    """Await ``coro``, raising ``TimeoutError`` after ``timeout_ns`` (on the loop's clock, virtual in sim)."""
    if timeout_ns is None:
        return await coro
    return await asyncio.wait_for(coro, timeout_ns / NS_PER_SECOND)


def _retry_delay(error: BaseException, backoff: Backoff, attempt: int) -> int:
    delay = backoff(attempt)
    if isinstance(error, RateLimitedError):
        delay = max(delay, round(error.retry_after_s * NS_PER_SECOND))
    return delay


async def submit_with_recovery(manager: OrderManager, order: ManagedOrder, adapter: ExchangeAdapter, *,
                               clock: Clock, backoff: Backoff, max_lookups: int,
                               timeout_ns: int | None = None) -> ManagedOrder:
    """Submit ``order``; if the outcome is unknown, find out from the venue before any resend.

    A timeout (``timeout_ns``), ``AmbiguousError`` or ``ExchangeError`` leads to
    ``recover_unknown``. A refusal makes the order REJECTED as in ``OrderManager.submit``;
    errors that prove the order was not placed (not connected, rate limited, fatal) are
    re-raised with the order still PENDING, for the caller's retry policy.
    """
    try:
        await _bounded(manager.submit(order, adapter), timeout_ns)
        return order
    except TimeoutError:
        manager.set_unknown(order, "submit timed out")
    except (AmbiguousError, ExchangeError):
        pass  # the manager marked it UNKNOWN
    return await recover_unknown(manager, order, adapter, clock=clock, backoff=backoff,
                                 max_lookups=max_lookups, timeout_ns=timeout_ns)


async def recover_unknown(manager: OrderManager, order: ManagedOrder, adapter: ExchangeAdapter, *,
                          clock: Clock, backoff: Backoff, max_lookups: int,
                          timeout_ns: int | None = None) -> ManagedOrder:
    """Resolve an UNKNOWN order by asking the venue (at most ``max_lookups`` rounds, backing off).

    Each round looks the order up by client order id: found, the venue's report is applied;
    proven absent, it is resent under the same client order id. Transient failures of either
    wait ``backoff(round)`` (at least a rate limit's Retry-After). An order still unresolved at
    the end is left UNKNOWN for the stuck-order monitor.
    """
    if max_lookups < 1:
        raise ValueError(f"max_lookups must be at least 1, got {max_lookups}")
    for attempt in range(1, max_lookups + 1):
        if order.status not in (OrderStatus.UNKNOWN, OrderStatus.PENDING):
            return order  # a pushed report settled it meanwhile
        error: BaseException
        try:
            report = await _bounded(adapter.get_order(order.symbol, order.client_order_id), timeout_ns)
        except OrderNotFoundError:
            if _cancel_in_flight(order):
                # its owner cancelled it while we were asking: never placed, and no longer wanted, so not resent
                manager.force_status(order, OrderStatus.REJECTED,
                                     "never placed (the venue has no such order); cancelled while in doubt")
                return order
            manager.set_pending(order, "the venue has no such order: resending under the same client order id")
            failure = await _resend(manager, order, adapter, timeout_ns)
            if failure is None:
                return order
            error = failure
        except _TRANSIENT as transient:
            error = transient
        else:
            manager.apply_report(order, report, authoritative=True)
            return order
        if attempt < max_lookups:
            await clock.sleep_ns(_retry_delay(error, backoff, attempt))
    manager.set_unknown(order, f"unresolved after {max_lookups} lookups")
    return order


def _cancel_in_flight(order: ManagedOrder) -> bool:
    """Whether the order's owner has asked to cancel it (its status changes while lookups are awaited)."""
    return order.status is OrderStatus.PENDING_CANCEL


async def _resend(manager: OrderManager, order: ManagedOrder, adapter: ExchangeAdapter,
                  timeout_ns: int | None) -> BaseException | None:
    """Resend after proven absence; None once the order's fate is known, else what went wrong."""
    try:
        await _bounded(manager.submit(order, adapter, refusal_is_final=False), timeout_ns)
    except InvalidRequestError as refusal:
        # a genuine refusal, or the first request landed late and this is a duplicate: ask again
        try:
            report = await _bounded(adapter.get_order(order.symbol, order.client_order_id), timeout_ns)
        except OrderNotFoundError:
            manager.force_status(order, OrderStatus.REJECTED, f"refused: {refusal}")
            return None
        except _TRANSIENT as transient:
            manager.set_unknown(order, f"resend refused ({refusal}) and lookup failed ({transient})")
            return transient
        manager.apply_report(order, report, authoritative=True)
        return None
    except TimeoutError as timeout:
        manager.set_unknown(order, "resend timed out")
        return timeout
    except (RetryableError, RateLimitedError, ExchangeError) as transient:
        return transient  # ambiguous ones left it UNKNOWN; the others were not placed
    return None


# --------------------------------------------------------------------------- stuck orders


class Resolution(StrEnum):
    """What a human decided for a stuck order."""

    CANCEL = "CANCEL"
    MARK_FILLED = "MARK_FILLED"
    MARK_REJECTED = "MARK_REJECTED"
    RECONCILE = "RECONCILE"


_RESOLVED_STATUS = {
    Resolution.CANCEL: OrderStatus.CANCELLED,
    Resolution.MARK_FILLED: OrderStatus.FILLED,
    Resolution.MARK_REJECTED: OrderStatus.REJECTED,
}


@dataclass(frozen=True, slots=True)
class StuckOrder:
    """An order flagged for manual intervention: what it is, since when, and what was tried."""

    order_id: str
    client_order_id: str
    venue_order_id: str
    venue: str
    symbol: str
    status: OrderStatus
    last_known_status: OrderStatus
    stuck_since_ns: int
    resolution_attempts: int
    requires_manual_intervention: bool = True


@dataclass(frozen=True, slots=True)
class ResolutionRecord:
    """Who resolved which order how, why, and what it changed (kept for the audit trail)."""

    ts_ns: int
    order_id: str
    client_order_id: str
    action: Resolution
    reason: str
    resolved_by: str
    old_status: OrderStatus
    new_status: OrderStatus


class StuckOrderMonitor:
    """Flags orders stuck in an uncertain state and records their manual resolution (Property 39).

    An order is stuck when it has been PENDING, UNKNOWN, PENDING_CANCEL or PENDING_MODIFY for
    more than ``threshold_ns``, or OPEN/PARTIALLY_FILLED with no message from the venue for more
    than ``quiet_threshold_ns`` (default: ``threshold_ns``; set it longer for resting GTC orders).
    """

    def __init__(self, manager: OrderManager, clock: Clock, *, threshold_ns: int, alerts: AlertSink | None = None,
                 quiet_threshold_ns: int | None = None) -> None:
        if threshold_ns <= 0:
            raise ValueError(f"threshold_ns must be positive, got {threshold_ns}")
        self._manager = manager
        self._clock = clock
        self._threshold = threshold_ns
        self._quiet = quiet_threshold_ns if quiet_threshold_ns is not None else threshold_ns
        self._alerts = alerts
        self._alerted: set[tuple[str, int]] = set()
        self._attempts: dict[str, int] = {}
        self.resolutions: list[ResolutionRecord] = []

    def _stuck_since(self, order: ManagedOrder) -> int | None:
        if order.status in _UNCERTAIN:
            since = order.history[-1].ts_ns if order.history else order.created_ns
            return since if self._clock.now_ns() - since > self._threshold else None
        if order.status in _QUIET:
            last = order.last_venue_update_ns
            if last is None:
                last = order.history[-1].ts_ns if order.history else order.created_ns
            return last if self._clock.now_ns() - last > self._quiet else None
        return None

    def scan(self) -> list[StuckOrder]:
        """Every order stuck right now; raises a ``stuck_order`` alert the first time each is seen."""
        stuck: list[StuckOrder] = []
        for order in self._manager.list(open_only=True):
            since = self._stuck_since(order)
            if since is None:
                continue
            last_known = order.pending_from or (order.history[-1].old if order.history else order.status)
            record = StuckOrder(order.order_id, order.client_order_id, order.venue_order_id, order.venue,
                                order.symbol, order.status, last_known, since,
                                self._attempts.get(order.order_id, 0))
            stuck.append(record)
            if (order.order_id, since) not in self._alerted:
                self._alerted.add((order.order_id, since))
                if self._alerts is not None:
                    self._alerts.raise_alert(Alert(
                        self._clock.now_ns(), Severity.WARNING, "recovery", "stuck_order",
                        f"{order.order_id} ({order.client_order_id}) {order.status} since {since}", order.venue,
                        {"order_id": order.order_id, "client_order_id": order.client_order_id,
                         "status": order.status.value}))
        return stuck

    async def force_cancel(self, order_id: str, adapter: ExchangeAdapter) -> ManagedOrder:
        """Ask the venue to cancel the order now (an UNKNOWN order too); CANCELLED once confirmed."""
        order = self._manager.lookup(order_id)
        self._attempts[order.order_id] = self._attempts.get(order.order_id, 0) + 1
        if order.status in (OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_MODIFY):
            raise OrderStateError(f"{order.order_id} has a request in flight; reconcile it first")
        return await self._manager.cancel(order, adapter)

    async def force_reconcile(self, order_id: str, adapter: ExchangeAdapter) -> ManagedOrder:
        """Ask the venue for the order and apply its answer as the truth.

        If the venue has no such order, an order it never acknowledged (PENDING/UNKNOWN) is
        REJECTED; otherwise the ``OrderNotFoundError`` is re-raised for a human to look at.
        """
        order = self._manager.lookup(order_id)
        self._attempts[order.order_id] = self._attempts.get(order.order_id, 0) + 1
        try:
            report: OrderReport = await adapter.get_order(order.symbol, order.client_order_id)
        except OrderNotFoundError:
            if order.status in (OrderStatus.PENDING, OrderStatus.UNKNOWN):
                self._manager.force_status(order, OrderStatus.REJECTED, "reconciled: the venue has no such order")
                return order
            raise
        if order.status in (OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_MODIFY) and not report.status.is_terminal:
            self._manager.end_pending(order, "reconciled while a request was in flight")
        self._manager.apply_report(order, report, authoritative=True)
        return order

    async def resolve(self, order_id: str, action: Resolution, *, reason: str, resolved_by: str,
                      adapter: ExchangeAdapter | None = None) -> ResolutionRecord:
        """Resolve a stuck order by a human decision and record who did it and why.

        CANCEL, MARK_FILLED and MARK_REJECTED put the order into that terminal state here (the
        human vouches for the venue's side; fills still arrive and are applied). RECONCILE needs
        ``adapter`` and applies the venue's answer (``force_reconcile``).
        """
        if not reason or not resolved_by:
            raise ValueError("reason and resolved_by are required for a manual resolution")
        order = self._manager.lookup(order_id)
        old = order.status
        if action is Resolution.RECONCILE:
            if adapter is None:
                raise ValueError("adapter is required to RECONCILE")
            await self.force_reconcile(order.order_id, adapter)
        else:
            self._manager.force_status(order, _RESOLVED_STATUS[action], f"{action} by {resolved_by}: {reason}")
        record = ResolutionRecord(self._clock.now_ns(), order.order_id, order.client_order_id, action, reason,
                                  resolved_by, old, order.status)
        self.resolutions.append(record)
        return record

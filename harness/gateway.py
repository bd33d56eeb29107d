"""``VenueGateway``: one adapter behind the client-side guards every venue request needs.

The gateway exposes the adapter contract's request methods unchanged (the futures-only
``set_leverage`` and ``set_margin_mode`` too, refused as ``NotSupportedError`` when the adapter
has none) and adds, per call:

1. the circuit breaker of (venue, endpoint): an open circuit refuses at once (``CircuitOpenError``);
2. ``ClientRateLimiter.acquire`` (cancels are critical: they use the reserve and jump the queue);
3. an audit record: an ``"intent"`` before a submit leaves, and a ``"result"`` after every call
   with the redacted request, a response summary, latency, success and error category
   (Property 9), also for a request cancelled in flight by its caller's timeout (AMBIGUOUS for
   order entry: it may have landed);
4. error handling: every error goes through ``ErrorHandler`` (logs, alerts, FATAL disables the
   venue); a 429/418 makes the limiter hold every request until the Retry-After has passed;
5. retries of RETRYABLE *reads* (queries) with backoff. Submits, cancels and modifies are never
   retried here: an ``AmbiguousError`` propagates so recovery can ask the venue by client order id.

Requests are named by contract method (``submit_order``, or a variant such as
``get_open_orders_all``): the rate limiter counts them under that name, as the simulated venue
does. The venue's own label for each (``"POST /api/v3/order"``) comes from the adapter's
descriptor (``harness.venues``); breakers are per labelled endpoint (two methods served by one
venue endpoint share its breaker), and audit records carry both the method and the label.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import fields, is_dataclass
from typing import TypeVar

from harness.audit import AuditRecord, AuditSink, redact
from harness.clock import Clock
from harness.contract import (
    BarCallback,
    BookCallback,
    ErrorCategory,
    ExchangeAdapter,
    FillCallback,
    FuturesAdapter,
    HealthStatus,
    MarginMode,
    NotSupportedError,
    OrderUpdateCallback,
    QuoteCallback,
    RateLimitedError,
    RateLimitStatus,
    Subscription,
    TradeCallback,
)
from harness.contract_methods import REQUEST_NAMES
from harness.errors import BreakerBoard, ErrorHandler, RetryPolicy, retry, scrub
from harness.model import (
    Balance,
    BookSnapshot,
    Candle,
    Fill,
    OrderModification,
    OrderReport,
    OrderRequest,
    PositionReport,
    Quote,
    VenueInfo,
    VenueMode,
)
from harness.money import from_fixed
from harness.ratelimit import ClientRateLimiter
from harness.venues import VenueDescriptor

__all__ = ["VenueGateway"]

_T = TypeVar("_T")

_ORDER_ENTRY = frozenset({"submit_order", "cancel_order", "modify_order"})
"""Requests whose outcome is unknown when they are cancelled in flight."""

_FIELD_NAMES: dict[type, tuple[str, ...]] = {}  # dataclass type -> its field names (one lookup per request)


def _payload(obj: object) -> dict[str, object]:
    """A dataclass's fields as a flat mapping (for ``redact``)."""
    names = _FIELD_NAMES.get(type(obj))
    if names is None:
        if not is_dataclass(obj) or isinstance(obj, type):
            return {"value": obj}
        names = _FIELD_NAMES[type(obj)] = tuple(f.name for f in fields(obj))
    return {name: getattr(obj, name) for name in names}


def _summary(result: object) -> dict[str, str]:
    """A short, secret-free description of a response for the audit trail."""
    if isinstance(result, OrderReport):
        # venue_ts_ns: when the venue handled the request by its own clock (the report's time), which
        # splits the round trip into its way in and its way back (reports.metrics.latency)
        return {"status": result.status.value, "client_order_id": result.client_order_id,
                "venue_order_id": result.venue_order_id, "filled_quantity": str(result.filled_quantity),
                "reason": result.reason, "venue_ts_ns": str(result.ts_ns)}
    if isinstance(result, Quote):
        return {"type": "Quote", "ts_event": str(result.ts_event), "bid": str(from_fixed(result.bid_price)),
                "ask": str(from_fixed(result.ask_price))}
    if isinstance(result, BookSnapshot):
        return {"type": "BookSnapshot", "ts_event": str(result.ts_event), "bids": str(len(result.bids)),
                "asks": str(len(result.asks)), "update_id": str(result.update_id)}
    if isinstance(result, list | dict):
        return {"count": str(len(result))}
    if isinstance(result, HealthStatus):
        return {"status": result.status, "connected": str(result.connected)}
    if isinstance(result, int):
        return {"value": str(result)}
    return {"type": type(result).__name__}


class VenueGateway:
    """An ``ExchangeAdapter`` wrapper adding rate limiting, breakers, audit, error handling, read retries.

    All collaborators are injected: ``clock`` and ``rng`` (backoff jitter) keep it deterministic
    in simulation; ``limiter`` is this venue's ``ClientRateLimiter``; ``breakers`` and
    ``handler`` may be shared across venues; ``audit`` receives every record.
    """

    def __init__(self, adapter: ExchangeAdapter, *, clock: Clock, rng: random.Random, limiter: ClientRateLimiter,
                 breakers: BreakerBoard, handler: ErrorHandler, audit: AuditSink, policy: RetryPolicy) -> None:
        self._adapter = adapter
        self._clock = clock
        self._rng = rng
        self._limiter = limiter
        self._breakers = breakers
        self._handler = handler
        self._audit = audit
        self._policy = policy
        descriptor = adapter.descriptor
        self._endpoints = {request: descriptor.endpoint(request) for request in REQUEST_NAMES}

    # ------------------------------------------------------------------ plumbing

    @property
    def adapter(self) -> ExchangeAdapter:
        """The wrapped adapter."""
        return self._adapter

    @property
    def limiter(self) -> ClientRateLimiter:
        """This venue's client-side rate limiter (``status()`` is the client-side view)."""
        return self._limiter

    @property
    def venue(self) -> str:
        """The wrapped adapter's venue name."""
        return self._adapter.venue

    @property
    def descriptor(self) -> VenueDescriptor:
        """The wrapped adapter's venue descriptor."""
        return self._adapter.descriptor

    @property
    def mode(self) -> VenueMode:
        """SANDBOX or PRODUCTION, as the adapter says."""
        return self._adapter.mode

    def is_connected(self) -> bool:
        """Whether the adapter can send requests."""
        return self._adapter.is_connected()

    def endpoint(self, method: str) -> str:
        """The venue's label for request ``method`` (from the adapter's descriptor)."""
        return self._endpoints[method]

    async def _request(self, method: str, payload: Mapping[str, object], call: Callable[[], Awaitable[_T]], *,
                       critical: bool = False, retried: bool = True, intent: bool = False,
                       client_order_id: str = "") -> _T:
        """One guarded request ``method`` (retried with backoff when ``retried``); see the module docstring."""
        venue = self._adapter.venue
        endpoint = self._endpoints[method]
        request = redact(payload)
        if intent:
            self._audit.audit(AuditRecord(self._clock.now_ns(), venue, endpoint, "intent", request,
                                          client_order_id=client_order_id, method=method))

        async def attempt() -> _T:
            start: int | None = None
            try:
                with self._breakers.get(venue, endpoint).guard():
                    await self._limiter.acquire(method, critical=critical)
                    start = self._clock.monotonic_ns()
                    result = await call()
            except Exception as exc:
                latency = None if start is None else self._clock.monotonic_ns() - start
                if isinstance(exc, RateLimitedError):
                    self._limiter.on_retry_after(exc.retry_after_s)
                category = self._handler.handle(exc, venue=venue, endpoint=endpoint, context=request)
                self._result(method, endpoint, request, {}, latency_ns=latency, category=category,
                             error=scrub(str(exc)), client_order_id=client_order_id)
                raise
            except asyncio.CancelledError:
                if start is not None:  # the request had left: cancelled (a caller's timeout) before any answer
                    category = ErrorCategory.AMBIGUOUS if method in _ORDER_ENTRY else ErrorCategory.RETRYABLE
                    self._result(method, endpoint, request, {}, latency_ns=self._clock.monotonic_ns() - start,
                                 category=category, error="cancelled before the venue answered (the caller's "
                                 "timeout or a shutdown): outcome unknown", client_order_id=client_order_id)
                raise
            assert start is not None  # set before the call that succeeded
            self._result(method, endpoint, request, _summary(result), latency_ns=self._clock.monotonic_ns() - start,
                         category=None, error="", client_order_id=client_order_id)
            return result

        if not retried:
            return await attempt()
        return await retry(attempt, policy=self._policy, clock=self._clock, rng=self._rng)

    def _result(self, method: str, endpoint: str, request: Mapping[str, str], response: Mapping[str, str], *,
                latency_ns: int | None, category: ErrorCategory | None, error: str, client_order_id: str) -> None:
        self._audit.audit(AuditRecord(
            self._clock.now_ns(), self._adapter.venue, endpoint, "result", request, response, latency_ns,
            success=category is None, error_category="" if category is None else category.value, error=error,
            client_order_id=client_order_id, method=method))

    # ------------------------------------------------------------------ order entry (never retried here)

    async def submit_order(self, request: OrderRequest) -> OrderReport:
        """Send a new order: an intent record first; an ``AmbiguousError`` is left for recovery."""
        return await self._request("submit_order", _payload(request),
                                   lambda: self._adapter.submit_order(request), retried=False, intent=True,
                                   client_order_id=request.client_order_id)

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """Cancel an order (critical: uses the reserved rate-limit capacity, goes ahead of the queue)."""
        return await self._request("cancel_order", {"symbol": symbol, "client_order_id": client_order_id},
                                   lambda: self._adapter.cancel_order(symbol, client_order_id), critical=True,
                                   retried=False, client_order_id=client_order_id)

    async def modify_order(self, symbol: str, client_order_id: str,
                           modification: OrderModification) -> OrderReport:
        """Amend a resting order (not retried: its outcome may be ambiguous like a submit's)."""
        payload = {"symbol": symbol, "client_order_id": client_order_id, **_payload(modification)}
        return await self._request("modify_order", payload,
                                   lambda: self._adapter.modify_order(symbol, client_order_id, modification),
                                   retried=False, client_order_id=client_order_id)

    # ------------------------------------------------------------------ reads (retried)

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """The venue's view of one order."""
        return await self._request("get_order", {"symbol": symbol, "client_order_id": client_order_id},
                                   lambda: self._adapter.get_order(symbol, client_order_id),
                                   client_order_id=client_order_id)

    async def get_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Open orders, optionally of one symbol."""
        method = "get_open_orders" if symbol else "get_open_orders_all"
        return await self._request(method, {"symbol": symbol or ""}, lambda: self._adapter.get_open_orders(symbol))

    async def get_fills(self, symbol: str | None = None, since_ns: int = 0) -> list[Fill]:
        """Our executions since ``since_ns``."""
        return await self._request("get_fills", {"symbol": symbol or "", "since_ns": since_ns},
                                   lambda: self._adapter.get_fills(symbol, since_ns))

    async def get_balances(self) -> dict[str, Balance]:
        """Balances per asset."""
        return await self._request("get_balances", {}, self._adapter.get_balances)

    async def get_positions(self) -> list[PositionReport]:
        """Positions the venue reports."""
        return await self._request("get_positions", {}, self._adapter.get_positions)

    # ------------------------------------------------------------------ futures settings (optional capabilities)

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        """Set a symbol's leverage (retried: setting the same value again changes nothing);
        ``NotSupportedError`` when the adapter has no futures methods."""
        adapter = self._futures("set_leverage")
        await self._request("set_leverage", {"symbol": symbol, "leverage": leverage},
                            lambda: adapter.set_leverage(symbol, leverage))

    async def set_margin_mode(self, symbol: str, mode: MarginMode) -> None:
        """Set a symbol's margin mode (retried, as ``set_leverage``)."""
        adapter = self._futures("set_margin_mode")
        await self._request("set_margin_mode", {"symbol": symbol, "mode": str(mode)},
                            lambda: adapter.set_margin_mode(symbol, mode))

    def _futures(self, method: str) -> FuturesAdapter:
        if not isinstance(self._adapter, FuturesAdapter):
            raise NotSupportedError(f"{method}: this venue's adapter has no futures methods", venue=self.venue)
        return self._adapter

    async def get_ticker(self, symbol: str) -> Quote:
        """Best bid and offer."""
        return await self._request("get_ticker", {"symbol": symbol},
                                   lambda: self._adapter.get_ticker(symbol))

    async def get_order_book(self, symbol: str, depth: int = 100) -> BookSnapshot:
        """L2 book, ``depth`` levels per side."""
        return await self._request("get_order_book", {"symbol": symbol, "depth": depth},
                                   lambda: self._adapter.get_order_book(symbol, depth))

    async def get_candles(self, symbol: str, interval_ns: int, limit: int = 500) -> list[Candle]:
        """Recent OHLCV bars."""
        return await self._request("get_candles",
                                   {"symbol": symbol, "interval_ns": interval_ns, "limit": limit},
                                   lambda: self._adapter.get_candles(symbol, interval_ns, limit))

    async def get_server_time(self) -> int:
        """The venue's clock in ns."""
        return await self._request("get_server_time", {}, self._adapter.get_server_time)

    async def health(self) -> HealthStatus:
        """Probe the venue (one round trip)."""
        return await self._request("health", {}, self._adapter.health)

    async def get_venue_info(self) -> VenueInfo:
        """Instruments, filters, fees and capabilities."""
        return await self._request("get_venue_info", {}, self._adapter.get_venue_info)

    async def get_rate_limit_status(self) -> RateLimitStatus:
        """The venue-side usage as the adapter last saw it (no request, so not limited or audited)."""
        return await self._adapter.get_rate_limit_status()

    # ------------------------------------------------------------------ pass-through (not venue requests)

    async def connect(self) -> None:
        """Open the adapter's connections."""
        await self._adapter.connect()

    async def disconnect(self) -> None:
        """Close the adapter's connections."""
        await self._adapter.disconnect()

    async def subscribe_order_updates(self, callback: OrderUpdateCallback) -> Subscription:
        """Deliver every change of our orders (straight from the adapter)."""
        return await self._adapter.subscribe_order_updates(callback)

    async def subscribe_fills(self, callback: FillCallback) -> Subscription:
        """Deliver every execution of our orders."""
        return await self._adapter.subscribe_fills(callback)

    async def subscribe_trades(self, symbol: str, callback: TradeCallback) -> Subscription:
        """Deliver public trades."""
        return await self._adapter.subscribe_trades(symbol, callback)

    async def subscribe_quotes(self, symbol: str, callback: QuoteCallback) -> Subscription:
        """Deliver best bid/offer changes."""
        return await self._adapter.subscribe_quotes(symbol, callback)

    async def subscribe_book(self, symbol: str, callback: BookCallback, depth: int = 20) -> Subscription:
        """Deliver L2 book updates."""
        return await self._adapter.subscribe_book(symbol, callback, depth)

    async def subscribe_bars(self, symbol: str, interval_ns: int, callback: BarCallback) -> Subscription:
        """Deliver closed bars (an optional capability of the adapter)."""
        return await self._adapter.subscribe_bars(symbol, interval_ns, callback)

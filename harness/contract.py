"""The one exchange-adapter contract, served by simulated and live venues alike.

Shared code (order manager, router, reconciliation, recovery) talks to every venue through
``ExchangeAdapter`` and nothing else. ``SimAdapter`` serves it from a simulated venue in virtual
time; the live adapters serve it over REST, WebSocket and FIX. The contract test kit in
``tests/contract/`` runs one suite against each of them.

Required methods are the protocol below; ``harness.contract_methods.CONTRACT_METHODS`` marks
every method required or optional with the capability flag (``VenueCapabilities``) that governs
it, for tools and tests to read (``missing_methods`` checks an adapter class against it). A required method with a
capability (``modify_order``: ``native_modify``) always exists and raises ``NotSupportedError``
(an ``InvalidRequestError``) on a venue without the capability; an optional method
(``set_leverage``, ``set_margin_mode``: the futures-only ``FuturesAdapter``) exists only on
adapters of venues that claim its capability; an adapter class serving spot and derivatives
venues alike (``SimAdapter``) has it and raises ``NotSupportedError`` where the venue lacks it.
The bar stream (``subscribe_bars``: closed candles pushed as a venue's kline stream pushes them)
is optional the same way: an adapter whose venue has none raises ``NotSupportedError``.

Errors cross the contract only as ``VenueError`` subclasses, one per category, so callers
decide what to do from the type and never from a venue's message text::

    VenueError                       category, venue, code, message (never a secret)
    ├── RetryableError               RETRYABLE: transient (5xx, disconnect, timeout on a read)
    │   └── AmbiguousError           the request may have taken effect (submit timed out, 5xx
    │                                on an order): ask the venue by client order id before any
    │                                resubmit; never resend blindly
    ├── RateLimitedError             RATE_LIMITED: 429/418 and friends, with ``retry_after_s``
    ├── InvalidRequestError          INVALID_REQUEST: the venue refused this request as such
    │   ├── NotSupportedError        a capability this venue does not have
    │   ├── OrderNotFoundError       the venue has no order with that id
    │   └── DuplicateOrderError      the client order id is taken: that order exists
    ├── ExchangeError                EXCHANGE_ERROR: the venue failed in a way to alert on
    └── FatalError                   FATAL: credentials revoked, account disabled: stop the venue

``ErrorCategory`` names the five categories (AMBIGUOUS is a RETRYABLE refinement, reported as
its own value so dashboards can count it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

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
    Trade,
    VenueInfo,
    VenueMode,
)
from harness.secrets import mask_secrets

if TYPE_CHECKING:  # harness.venues reads the contract's method table, so it is imported for types only
    from harness.venues import VenueDescriptor

__all__ = [
    "AmbiguousError",
    "DuplicateOrderError",
    "ErrorCategory",
    "ExchangeAdapter",
    "ExchangeError",
    "FatalError",
    "FuturesAdapter",
    "HealthStatus",
    "InvalidRequestError",
    "MarginMode",
    "NotSupportedError",
    "OrderNotFoundError",
    "RateLimitStatus",
    "RateLimitedError",
    "RetryableError",
    "Subscription",
    "VenueError",
]


class ErrorCategory(StrEnum):
    """The five error categories of the contract, plus AMBIGUOUS for unknown-outcome submits."""

    RETRYABLE = "RETRYABLE"
    AMBIGUOUS = "AMBIGUOUS"
    RATE_LIMITED = "RATE_LIMITED"
    INVALID_REQUEST = "INVALID_REQUEST"
    EXCHANGE_ERROR = "EXCHANGE_ERROR"
    FATAL = "FATAL"


class VenueError(Exception):
    """Root of every error an adapter raises; carries the venue's own code and message."""

    category: ErrorCategory = ErrorCategory.EXCHANGE_ERROR

    def __init__(self, message: str, *, venue: str = "", code: int | str | None = None,
                 http_status: int | None = None) -> None:
        message = mask_secrets(message)  # a venue echoing a registered key never carries it further
        super().__init__(message)
        self.message = message
        self.venue = venue
        self.code = code
        self.http_status = http_status

    def __str__(self) -> str:
        where = f"[{self.venue}] " if self.venue else ""
        code = f" (code {self.code})" if self.code is not None else ""
        return f"{where}{self.category.value}: {self.message}{code}"


class RetryableError(VenueError):
    """A transient failure; the same request may succeed if retried with backoff."""

    category = ErrorCategory.RETRYABLE


class AmbiguousError(RetryableError):
    """The request may or may not have taken effect; reconcile by client order id before retrying."""

    category = ErrorCategory.AMBIGUOUS


class RateLimitedError(VenueError):
    """The venue refused the request for rate reasons; wait ``retry_after_s`` seconds (may be banned)."""

    category = ErrorCategory.RATE_LIMITED

    def __init__(self, message: str, *, retry_after_s: Decimal, banned: bool = False, venue: str = "",
                 code: int | str | None = None, http_status: int | None = None) -> None:
        super().__init__(message, venue=venue, code=code, http_status=http_status)
        self.retry_after_s = retry_after_s
        self.banned = banned


class InvalidRequestError(VenueError):
    """The venue rejected this request as invalid (filters, balance, bad parameters); do not retry."""

    category = ErrorCategory.INVALID_REQUEST


class NotSupportedError(InvalidRequestError):
    """The venue lacks the capability the request needs (e.g. native modify, leverage)."""


class OrderNotFoundError(InvalidRequestError):
    """The venue has no order with the given id (a proven absence, which recovery relies on)."""


class DuplicateOrderError(InvalidRequestError):
    """The client order id is already in use at the venue: the order exists (recovery adopts it)."""


class ExchangeError(VenueError):
    """The venue failed in an unexpected way; log full detail and alert."""

    category = ErrorCategory.EXCHANGE_ERROR


class FatalError(VenueError):
    """Unrecoverable for this venue (credentials, account, protocol); disable the venue."""

    category = ErrorCategory.FATAL


@dataclass(frozen=True, slots=True)
class RateLimitStatus:
    """Usage of each venue-side limit as the venue reports it: name -> (used, limit, window_s)."""

    venue: str
    usage: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    banned_until_ns: int | None = None


@dataclass(frozen=True, slots=True)
class HealthStatus:
    """A health probe's answer: connected, round-trip latency, venue status text."""

    venue: str
    connected: bool
    latency_ns: int | None
    status: str
    ts_ns: int


class Subscription(Protocol):
    """A handle to a live subscription; ``close`` stops delivery."""

    async def close(self) -> None:
        """Stop delivering events to the callback."""


OrderUpdateCallback = Callable[[OrderReport], object]
FillCallback = Callable[[Fill], object]
TradeCallback = Callable[[Trade], None]
QuoteCallback = Callable[[Quote], None]
BookCallback = Callable[[BookSnapshot], None]
BarCallback = Callable[[Candle], None]


@runtime_checkable
class ExchangeAdapter(Protocol):
    """Everything shared code may ask of a venue; identical in simulation and live.

    All methods are coroutines except ``is_connected``. Order methods are addressed by
    ``client_order_id`` (our idempotency key); the venue's own id is carried in reports.
    """

    @property
    def venue(self) -> str:
        """Venue name, e.g. ``"binance"``."""

    @property
    def mode(self) -> VenueMode:
        """SANDBOX or PRODUCTION."""

    @property
    def descriptor(self) -> VenueDescriptor:
        """What the shared layer knows of this venue (``harness.venues``): hosts, the venue's label
        for each request, client-side limits (none: the engine mirrors ``get_rate_limit_status``)."""

    # connection -------------------------------------------------------------
    async def connect(self) -> None:
        """Open connections and sessions; raises ``RetryableError`` when the venue is unreachable."""

    async def disconnect(self) -> None:
        """Close connections; pending requests fail with ``RetryableError``."""

    def is_connected(self) -> bool:
        """True while the adapter can send requests."""

    async def health(self) -> HealthStatus:
        """Probe the venue (server time round trip) and report latency and status."""

    # orders -----------------------------------------------------------------
    async def submit_order(self, request: OrderRequest) -> OrderReport:
        """Send a new order; the report is the venue's acknowledgement (may already show fills)."""

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """Cancel an open order; returns the venue's confirmation (status CANCELLED)."""

    async def modify_order(self, symbol: str, client_order_id: str,
                           modification: OrderModification) -> OrderReport:
        """Change price/quantity of a resting order, natively or by cancel-replace per capability."""

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """The venue's current view of one order; ``OrderNotFoundError`` if it has none."""

    async def get_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """All orders the venue holds open, optionally for one symbol."""

    async def get_fills(self, symbol: str | None = None, since_ns: int = 0) -> list[Fill]:
        """Our executions since a time, oldest first."""

    # account ----------------------------------------------------------------
    async def get_balances(self) -> dict[str, Balance]:
        """Balances per asset."""

    async def get_positions(self) -> list[PositionReport]:
        """Open positions (derivatives) or net holdings the venue reports."""

    # market data ------------------------------------------------------------
    async def get_ticker(self, symbol: str) -> Quote:
        """Current best bid and offer."""

    async def get_order_book(self, symbol: str, depth: int = 100) -> BookSnapshot:
        """Current L2 book, ``depth`` levels per side."""

    async def get_candles(self, symbol: str, interval_ns: int, limit: int = 500) -> list[Candle]:
        """Recent OHLCV bars, oldest first."""

    async def get_server_time(self) -> int:
        """The venue's clock in ns."""

    async def subscribe_order_updates(self, callback: OrderUpdateCallback) -> Subscription:
        """Deliver every change of our orders."""

    async def subscribe_fills(self, callback: FillCallback) -> Subscription:
        """Deliver every execution of our orders."""

    async def subscribe_trades(self, symbol: str, callback: TradeCallback) -> Subscription:
        """Deliver public trades."""

    async def subscribe_quotes(self, symbol: str, callback: QuoteCallback) -> Subscription:
        """Deliver best bid/offer changes."""

    async def subscribe_book(self, symbol: str, callback: BookCallback, depth: int = 20) -> Subscription:
        """Deliver L2 book updates (as snapshots of ``depth`` levels)."""

    async def subscribe_bars(self, symbol: str, interval_ns: int, callback: BarCallback) -> Subscription:
        """Deliver each closed bar of ``interval_ns`` (epoch-aligned) once its interval has ended.

        Optional capability: ``NotSupportedError`` when the venue has no bar stream, and an
        ``InvalidRequestError`` for an interval it does not serve.
        """

    # limits and info --------------------------------------------------------
    async def get_rate_limit_status(self) -> RateLimitStatus:
        """Venue-side rate-limit usage as last reported by the venue."""

    async def get_venue_info(self) -> VenueInfo:
        """Instruments, filters, fees and capabilities."""


class MarginMode(StrEnum):
    """How a futures position is margined: against the whole account or on its own."""

    CROSS = "CROSS"
    ISOLATED = "ISOLATED"


@runtime_checkable
class FuturesAdapter(ExchangeAdapter, Protocol):
    """The optional futures-only methods, on adapters of venues that claim ``leverage`` / ``margin_mode``."""

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        """Set the leverage of ``symbol`` (capability ``leverage``)."""

    async def set_margin_mode(self, symbol: str, mode: MarginMode) -> None:
        """Set cross or isolated margin for ``symbol`` (capability ``margin_mode``)."""

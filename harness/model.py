"""Domain types shared by the simulated and the live worlds.

Two number conventions, each where it pays:

* **Market data** (``Trade``, ``Quote``, ``BookLevel``, ``BookDelta``, ``BookSnapshot``,
  ``Candle``) carries prices and sizes as fixed-point ``int`` (see ``harness.money``): it is the
  hot path of every replay and is compared and summed millions of times. These are
  ``NamedTuple`` so the replay feed can build them cheaply and strategies can unpack them.
* **Orders and accounting** (``OrderRequest``, ``OrderReport``, ``Fill``, ``Balance``,
  ``PositionReport``, venue filters and fees) carry ``Decimal``: they are what users write and
  read, what venues send as strings, and what reports print.

No field anywhere is a float. Timestamps are ``int`` nanoseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import NamedTuple

from harness.money import from_fixed

__all__ = [
    "BOOK_ASK",
    "BOOK_BID",
    "F_LAST",
    "F_SNAPSHOT",
    "Aggressor",
    "Balance",
    "BookDelta",
    "BookLevel",
    "BookSnapshot",
    "Candle",
    "Fill",
    "Liquidity",
    "OrderModification",
    "OrderReport",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "PositionReport",
    "Quote",
    "Side",
    "SymbolInfo",
    "TimeInForce",
    "Trade",
    "VenueCapabilities",
    "VenueFees",
    "VenueInfo",
    "VenueMode",
    "VenueStatus",
    "require_decimal",
]


class Side(StrEnum):
    """Order side."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: the sign a fill of this side gives a position."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        """The other side of the book."""
        return Side.SELL if self is Side.BUY else Side.BUY


class Aggressor(IntEnum):
    """Which side took liquidity in a public trade (0 when the venue does not say)."""

    UNKNOWN = 0
    BUYER = 1
    SELLER = -1


class OrderType(StrEnum):
    """Order types every adapter understands; a venue declares the subset it supports."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_MARKET = "STOP_MARKET"
    STOP_LIMIT = "STOP_LIMIT"
    TRAILING_STOP = "TRAILING_STOP"
    TAKE_PROFIT = "TAKE_PROFIT"


class TimeInForce(StrEnum):
    """How long an order may rest: until cancelled, immediate-or-cancel, fill-or-kill, until a date."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    GTD = "GTD"


class OrderStatus(StrEnum):
    """Order lifecycle states (the venue's and ours); the last four are the transitional ones."""

    PENDING = "PENDING"
    OPEN = "OPEN"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    PENDING_CANCEL = "PENDING_CANCEL"
    PENDING_MODIFY = "PENDING_MODIFY"
    UNKNOWN = "UNKNOWN"

    @property
    def is_terminal(self) -> bool:
        """True for states no later event may leave (filled, cancelled, rejected, expired)."""
        return self in _TERMINAL

    @property
    def is_open(self) -> bool:
        """True while the order can still trade at the venue."""
        return self in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED,
                        OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_MODIFY)


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED})


class Liquidity(StrEnum):
    """Whether a fill added liquidity (maker) or removed it (taker); decides the fee rate."""

    MAKER = "MAKER"
    TAKER = "TAKER"


class VenueStatus(StrEnum):
    """Operational status of a registered venue."""

    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    MAINTENANCE = "MAINTENANCE"
    ERROR = "ERROR"


class VenueMode(StrEnum):
    """Which environment a live adapter talks to; SANDBOX must never reach a production URL."""

    SANDBOX = "SANDBOX"
    PRODUCTION = "PRODUCTION"


# --------------------------------------------------------------------------- market data


class Trade(NamedTuple):
    """A public trade. ``price``/``size`` are fixed-point ints; ``aggressor`` is an ``Aggressor``."""

    ts_event: int
    ts_recv: int
    venue: str
    symbol: str
    price: int
    size: int
    aggressor: int
    trade_id: str

    @property
    def price_dec(self) -> Decimal:
        """The price as an exact ``Decimal``."""
        return from_fixed(self.price)

    @property
    def size_dec(self) -> Decimal:
        """The size as an exact ``Decimal``."""
        return from_fixed(self.size)


class Quote(NamedTuple):
    """Best bid and offer. ``update_id`` is the venue's book sequence, or -1 when it has none."""

    ts_event: int
    ts_recv: int
    venue: str
    symbol: str
    bid_price: int
    bid_size: int
    ask_price: int
    ask_size: int
    update_id: int


class BookLevel(NamedTuple):
    """One price level of an L2 book (fixed-point ints)."""

    price: int
    size: int


class BookDelta(NamedTuple):
    """One level change of an L2 book: set ``size`` at ``price`` on ``side`` (0 removes the level).

    ``first_update_id``/``update_id``/``prev_update_id`` are the venue's sequence fields of the
    message the change came in (Binance ``U``/``u``/``pu``; -1 where the venue has none) and
    ``flags`` marks snapshot rows and the last row of a message (``F_SNAPSHOT``, ``F_LAST``);
    ``side`` is ``BOOK_BID`` (1) or ``BOOK_ASK`` (-1).
    """

    ts_event: int
    ts_recv: int
    venue: str
    symbol: str
    side: int
    price: int
    size: int
    first_update_id: int
    update_id: int
    prev_update_id: int
    flags: int


BOOK_BID = 1
BOOK_ASK = -1
F_SNAPSHOT = 1  # BookDelta.flags: the row belongs to a full snapshot
F_LAST = 2  # BookDelta.flags: the last row of one venue message


class BookSnapshot(NamedTuple):
    """A full L2 book at one moment: bids best-first (descending), asks best-first (ascending)."""

    ts_event: int
    venue: str
    symbol: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    update_id: int


class Candle(NamedTuple):
    """An OHLCV bar opening at ``ts_open`` and lasting ``interval_ns`` (fixed-point ints)."""

    ts_open: int
    interval_ns: int
    venue: str
    symbol: str
    open: int
    high: int
    low: int
    close: int
    volume: int


# --------------------------------------------------------------------------- orders


def require_decimal(owner: str, name: str, value: object, *, optional: bool = True) -> None:
    """Refuse a non-``Decimal`` amount with a ``TypeError`` naming ``owner``'s argument ``name``.

    Prices and sizes of orders are ``Decimal``; a fixed-point int (``harness.money`` units) or a
    float passed by mistake would otherwise reach the venue's filters as a wildly wrong number
    and be rejected there (a PRICE_FILTER on every order) without saying why.
    """
    if isinstance(value, Decimal) or (value is None and optional):
        return
    hint = (" (a fixed-point int? harness.money.from_fixed(units) gives its Decimal)" if isinstance(value, int)
            and not isinstance(value, bool) else " (Decimal(str(x)) or Decimal('...') gives one exactly)"
            if isinstance(value, float) else "")
    raise TypeError(f"{owner}: {name} must be a Decimal, got {type(value).__name__} {value!r}{hint}")


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What a strategy asks a venue to do. Required fields per type are checked by the order manager.

    ``client_order_id`` doubles as the idempotency key: it is sent to the venue so that a
    resubmit after an ambiguous failure can be recognised.
    """

    client_order_id: str
    venue: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    trailing_delta: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    expire_at_ns: int | None = None
    post_only: bool = False
    reduce_only: bool = False
    strategy_id: str = ""

    def __post_init__(self) -> None:
        require_decimal("OrderRequest", "quantity", self.quantity, optional=False)
        require_decimal("OrderRequest", "price", self.price)
        require_decimal("OrderRequest", "stop_price", self.stop_price)
        require_decimal("OrderRequest", "trailing_delta", self.trailing_delta)


@dataclass(frozen=True, slots=True)
class OrderModification:
    """A change to a resting order; unset fields keep their value."""

    new_price: Decimal | None = None
    new_quantity: Decimal | None = None
    new_stop_price: Decimal | None = None

    def __post_init__(self) -> None:
        require_decimal("OrderModification", "new_price", self.new_price)
        require_decimal("OrderModification", "new_quantity", self.new_quantity)
        require_decimal("OrderModification", "new_stop_price", self.new_stop_price)


@dataclass(frozen=True, slots=True)
class OrderReport:
    """The venue's view of one order at one moment (an ack, a status answer or an update)."""

    venue: str
    symbol: str
    client_order_id: str
    venue_order_id: str
    status: OrderStatus
    side: Side
    order_type: OrderType
    quantity: Decimal
    filled_quantity: Decimal
    price: Decimal | None
    average_price: Decimal | None
    ts_ns: int
    time_in_force: TimeInForce = TimeInForce.GTC
    stop_price: Decimal | None = None
    reason: str = ""

    @property
    def remaining_quantity(self) -> Decimal:
        """Quantity still open (original minus filled)."""
        return self.quantity - self.filled_quantity


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of one of our orders, identified uniquely by ``execution_id`` per venue."""

    venue: str
    symbol: str
    execution_id: str
    client_order_id: str
    venue_order_id: str
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: Liquidity
    ts_ns: int


@dataclass(frozen=True, slots=True)
class Balance:
    """Funds of one asset at one venue: ``free`` can be used, ``locked`` backs open orders."""

    asset: str
    free: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        """Free plus locked."""
        return self.free + self.locked


@dataclass(frozen=True, slots=True)
class PositionReport:
    """The venue's view of a position: signed quantity (negative = short) and entry price.

    Derivatives venues also report what they know of the position (None where a venue says
    nothing, as spot venues do): the mark price and the unrealized PnL at it, the realized PnL,
    the leverage, the margin mode (``CROSS`` / ``ISOLATED``, ``harness.contract.MarginMode``'s
    values) and the margin the position holds, all in the settle asset.
    """

    venue: str
    symbol: str
    quantity: Decimal
    average_entry_price: Decimal
    ts_ns: int
    mark_price: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    realized_pnl: Decimal | None = None
    leverage: int | None = None
    margin_mode: str | None = None
    margin: Decimal | None = None


# --------------------------------------------------------------------------- venue info


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """Trading rules of one instrument: the filters an order must pass before it is accepted."""

    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: Decimal
    lot_size: Decimal
    min_quantity: Decimal
    max_quantity: Decimal
    min_notional: Decimal
    max_notional: Decimal | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class VenueFees:
    """Fee rates as fractions of notional (0.001 = 10 bps); negative maker rates are rebates."""

    maker: Decimal
    taker: Decimal


@dataclass(frozen=True, slots=True)
class VenueCapabilities:
    """What a venue supports; shared code checks these instead of the venue's name."""

    order_types: frozenset[OrderType]
    time_in_force: frozenset[TimeInForce]
    native_modify: bool = False
    post_only: bool = True
    websocket: bool = True
    fix: bool = False
    futures: bool = False
    leverage: bool = False
    margin_mode: bool = False


@dataclass(frozen=True, slots=True)
class VenueInfo:
    """Everything static about a venue: its instruments, fees and capabilities."""

    venue: str
    symbols: dict[str, SymbolInfo]
    fees: VenueFees
    capabilities: VenueCapabilities
    mode: VenueMode = VenueMode.SANDBOX
    extra: dict[str, str] = field(default_factory=dict)

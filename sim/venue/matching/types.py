"""Value types of the matching engine: depth modes, configuration, our orders, output events, fees.

Everything here is plain data so that ``sim.venue.matching.engine`` can stay a tight loop. Prices, sizes
and fees are fixed-point ``int`` (``harness.money``: units of 1e-9); fee rates are ``Decimal``
at the edge and ``int`` rate units (1e-9) inside.

Events are ``NamedTuple``: cheap to build on the hot path, easy to compare in tests
(``assert events == [OrderAccepted(...), OrderFilled(...)]``) and easy to dispatch on with
``match``/``isinstance``. Every event carries ``ts_ns`` (the engine's time of the input that
caused it) and ``order_id``, so the venue layer can lock and unlock funds from them alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from harness.model import Liquidity, OrderStatus, OrderType, TimeInForce
from harness.money import SCALE, MoneyError, to_fixed
from sim.venue.queue_models import ConservativeQueueModel, QueueModel

__all__ = [
    "REASON_FOK",
    "REASON_GTD",
    "REASON_IOC",
    "REASON_MARKET_REMAINDER",
    "REASON_NO_LIQUIDITY",
    "REASON_POST_ONLY",
    "REASON_TRIGGER_NOW",
    "REASON_UNKNOWN_ORDER",
    "CancelRejected",
    "DepthMode",
    "MatchEvent",
    "MatchingConfig",
    "ModifyRejected",
    "OrderAccepted",
    "OrderCancelled",
    "OrderExpired",
    "OrderFilled",
    "OrderModified",
    "OrderRejected",
    "OrderTriggered",
    "SimOrder",
    "compute_fee",
    "rate_units",
]

#: Binance's text for a LIMIT_MAKER (post-only) order that would cross.
REASON_POST_ONLY = "Order would immediately match and take."
#: Binance's text for a stop whose trigger condition already holds at submission.
REASON_TRIGGER_NOW = "Order would trigger immediately."
#: Binance's text for cancelling/amending an order the venue does not know (or no longer has open).
REASON_UNKNOWN_ORDER = "Unknown order sent."
#: A market order (or a triggered stop-market) met no liquidity at all.
REASON_NO_LIQUIDITY = "No liquidity to match the order."
#: Expiry reasons.
REASON_IOC = "IOC remainder expired."
REASON_FOK = "FOK order could not be filled in full."
REASON_GTD = "GTD order reached its expiry time."
REASON_MARKET_REMAINDER = "Market order remainder expired: insufficient liquidity."


class DepthMode(StrEnum):
    """How much of the market the replay shows the engine.

    * ``TRADES``: public trades only. Resting orders fill from trade volume; an aggressive order
      fills in full at the last trade price moved ``trades_slippage_ticks`` against us.
    * ``QUOTES``: best bid/ask with sizes (L1) plus trades. Aggressive orders take the displayed
      top size; see ``MatchingConfig.l1_overflow_ticks`` for what happens beyond it.
    * ``BOOK``: full L2 book from snapshots and deltas plus trades. Aggressive orders walk levels.
    """

    TRADES = "TRADES"
    QUOTES = "QUOTES"
    BOOK = "BOOK"


def rate_units(rate: Decimal | str | int) -> int:
    """Convert a fee rate (0.001 = 10 bps, negative = rebate) to int units of 1e-9, exactly.

    A rate with more than nine decimals raises ``MoneyError``: a fee schedule that cannot be
    represented exactly must be fixed, not rounded.
    """
    return to_fixed(rate)


_FEE_DIVISOR = SCALE * SCALE


def compute_fee(price: int, qty: int, rate: int) -> int:
    """Fee of one fill in quote units: ``price * qty * rate``, rounded once, half-even, to 1e-9.

    ``price`` and ``qty`` are fixed-point ints and ``rate`` is in 1e-9 units (``rate_units``).
    The product is exact in Python ints; the single rounding step divides by ``SCALE**2`` with
    banker's rounding (ties to the even unit), symmetric for negative (rebate) rates. Each fill
    is rounded on its own, as venues do, so the fees of partial fills may differ by one unit
    from the fee of the same quantity filled at once.
    """
    product = price * qty * rate
    negative = product < 0
    quotient, remainder = divmod(-product if negative else product, _FEE_DIVISOR)
    doubled = remainder * 2
    if doubled > _FEE_DIVISOR or (doubled == _FEE_DIVISOR and quotient & 1):
        quotient += 1
    return -quotient if negative else quotient


@dataclass(frozen=True, slots=True)
class MatchingConfig:
    """Settings of one engine (one venue and symbol); unknown keys are impossible by construction.

    ``tick_size`` (fixed-point) prices the slippage options. ``lot_size`` (fixed-point, the
    symbol's quantity step; 1 = the 1e-9 grid, i.e. none) is the grid every order quantity,
    fill and remainder stays on: orders off it are rejected, fills are whole lots, and the
    queue models' fractional answers advance the queue in whole lots (see
    ``sim.venue.queue_models``). ``default_queue_ahead`` is the
    queue estimate for a resting order whose price level the data does not show (always in
    TRADES mode, below the top in QUOTES mode): 0 is optimistic, a large value pessimistic.
    ``l1_overflow_ticks``: in QUOTES mode a MARKET order that exhausts the displayed top size
    fills its remainder at the top price moved this many ticks against us (the level behind
    the top exists but is unseen, as NautilusTrader assumes); ``None`` expires the remainder
    instead. ``reject_immediate_stop`` rejects stop/take-profit orders whose trigger condition
    the last trade already meets (Binance behaviour); when False they trigger at once.
    ``use_aggressor``: in QUOTES/BOOK mode a trade whose aggressor is on our side (a buyer
    lifting asks, for our buys) does not fill our resting orders, because the ask it lifted
    is liquidity the book-crossing rule already matched against us.
    """

    depth: DepthMode = DepthMode.BOOK
    maker_fee: Decimal = Decimal(0)
    taker_fee: Decimal = Decimal(0)
    tick_size: int = 1
    lot_size: int = 1
    queue_model: QueueModel = field(default_factory=ConservativeQueueModel)
    default_queue_ahead: int = 0
    trades_slippage_ticks: int = 0
    l1_overflow_ticks: int | None = 1
    reject_immediate_stop: bool = True
    use_aggressor: bool = True

    def __post_init__(self) -> None:
        """Validate the settings once so the engine never has to."""
        if not isinstance(self.depth, DepthMode):
            raise ValueError(f"depth must be a DepthMode, got {self.depth!r}")
        for name in ("maker_fee", "taker_fee"):
            value = getattr(self, name)
            if not isinstance(value, Decimal):
                raise MoneyError(f"{name} must be a Decimal, got {value!r}")
            rate_units(value)
        if self.tick_size <= 0:
            raise ValueError("tick_size must be positive")
        if self.lot_size <= 0:
            raise ValueError("lot_size must be positive")
        if self.default_queue_ahead < 0 or self.trades_slippage_ticks < 0:
            raise ValueError("default_queue_ahead and trades_slippage_ticks must be >= 0")
        if self.l1_overflow_ticks is not None and self.l1_overflow_ticks < 0:
            raise ValueError("l1_overflow_ticks must be >= 0 or None")


class SimOrder:
    """One of our orders inside the engine: int fields only, mutated in place by the engine.

    The venue layer builds it (after its own filters and balance checks) and passes it to
    ``MatchingEngine.submit``; afterwards it may read it but must change it only through the
    engine's commands. ``side`` is +1 (buy) or -1 (sell). ``price`` is the limit price (0 for
    market orders, and for stops/take-profits/trailing stops that become market orders when
    triggered). ``stop`` is the trigger price (the activation price for a trailing stop, 0 for
    none). ``trail`` is a trailing stop's absolute price distance. ``expire_at_ns`` is the GTD
    deadline (0 when none). ``queue_ahead`` is the market volume estimated ahead of us at our
    price; ``queue_known`` is False while that estimate is a default because the level was
    never visible. ``arrived_ns`` is the engine time at which the order last joined the queue
    (its venue arrival, or the amendment or trigger that re-queued it): market data stamped
    before it shows the level as it was before we stood in it. ``seq`` orders our own orders
    in time priority; ``trade_since_update`` is trade volume at our level since the last book
    update of that level (so a book decrease that only reflects those trades is not counted
    twice). ``queue_carry`` is the part of the queue models' estimated advance (less than one
    lot) not yet applied to ``queue_ahead``, which moves in whole lots.
    """

    __slots__ = (
        "arrived_ns",
        "client_id",
        "expire_at_ns",
        "filled",
        "id",
        "order_type",
        "post_only",
        "price",
        "qty",
        "queue_ahead",
        "queue_carry",
        "queue_known",
        "seq",
        "side",
        "status",
        "stop",
        "tif",
        "trade_since_update",
        "trail",
        "trail_ref",
        "triggered",
    )

    def __init__(
        self,
        order_id: int,
        side: int,
        order_type: OrderType,
        qty: int,
        *,
        price: int = 0,
        stop: int = 0,
        trail: int = 0,
        tif: TimeInForce = TimeInForce.GTC,
        expire_at_ns: int = 0,
        post_only: bool = False,
        client_id: str = "",
    ) -> None:
        """Build an order; the engine validates it on submit."""
        self.id = order_id
        self.client_id = client_id
        self.side = side
        self.order_type = order_type
        self.tif = tif
        self.price = price
        self.stop = stop
        self.trail = trail
        self.qty = qty
        self.filled = 0
        self.expire_at_ns = expire_at_ns
        self.post_only = post_only
        self.status = OrderStatus.PENDING
        self.triggered = False
        self.trail_ref: int | None = None
        self.queue_ahead = 0
        self.queue_carry = 0
        self.queue_known = False
        self.trade_since_update = 0
        self.arrived_ns = 0
        self.seq = 0

    @property
    def leaves(self) -> int:
        """Quantity still open (ordered minus filled)."""
        return self.qty - self.filled

    @property
    def is_conditional(self) -> bool:
        """True while this is a stop, take-profit or trailing stop waiting for its trigger."""
        return self.order_type in _CONDITIONAL and not self.triggered

    def __repr__(self) -> str:
        """Compact debugging form."""
        side = "BUY" if self.side > 0 else "SELL"
        return (
            f"SimOrder(id={self.id}, {side} {self.order_type.value} {self.tif.value} qty={self.qty} "
            f"filled={self.filled} price={self.price} stop={self.stop} q={self.queue_ahead} "
            f"status={self.status.value})"
        )


_CONDITIONAL = frozenset(
    {OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT, OrderType.TRAILING_STOP}
)


class OrderAccepted(NamedTuple):
    """The engine took the order (it rests, waits for its trigger, or is about to match)."""

    ts_ns: int
    order_id: int


class OrderRejected(NamedTuple):
    """The engine refused a submit; nothing was filled and nothing rests."""

    ts_ns: int
    order_id: int
    reason: str


class OrderFilled(NamedTuple):
    """One execution of our order: ``qty`` at ``price``, ``fee`` in quote units (1e-9).

    ``side`` is +1/-1, ``leaves_qty`` what is still open after this fill (0 = done) and
    ``exec_id`` a per-engine sequence number, unique and increasing.
    """

    ts_ns: int
    order_id: int
    side: int
    price: int
    qty: int
    liquidity: Liquidity
    fee: int
    leaves_qty: int
    exec_id: int


class OrderTriggered(NamedTuple):
    """A stop/take-profit/trailing stop fired on a trade and now behaves as ``order_type``."""

    ts_ns: int
    order_id: int
    order_type: OrderType
    trigger_price: int


class OrderExpired(NamedTuple):
    """The open remainder ``leaves_qty`` ended by time in force (IOC/FOK/GTD) or exhausted liquidity."""

    ts_ns: int
    order_id: int
    leaves_qty: int
    reason: str


class OrderCancelled(NamedTuple):
    """The order was cancelled on request; ``leaves_qty`` was still open."""

    ts_ns: int
    order_id: int
    leaves_qty: int


class OrderModified(NamedTuple):
    """The order now has ``price``/``qty``/``stop``; ``priority_lost`` says it rejoined the queue's end."""

    ts_ns: int
    order_id: int
    price: int
    qty: int
    stop: int
    priority_lost: bool


class CancelRejected(NamedTuple):
    """A cancel could not be applied (unknown or already closed order)."""

    ts_ns: int
    order_id: int
    reason: str


class ModifyRejected(NamedTuple):
    """A modify could not be applied; the order (if any) is unchanged."""

    ts_ns: int
    order_id: int
    reason: str


MatchEvent = (
    OrderAccepted
    | OrderRejected
    | OrderFilled
    | OrderTriggered
    | OrderExpired
    | OrderCancelled
    | OrderModified
    | CancelRejected
    | ModifyRejected
)

"""Binance Spot's JSON shapes, built from the simulated venue's records (no I/O, no clock).

Everything the local venue sends is formatted here, so the shapes live in one place and match
``spec/venues.md`` §1.4-1.9: numbers as decimal strings (``"0.10000000"``: at least 8 places,
more only when the value has them, so nothing is ever rounded), times in ms, Binance's order
type, status and time-in-force names, the ``cummulativeQuoteQty`` spelling, ACK / RESULT / FULL
order responses, ``executionReport`` and ``outboundAccountPosition`` user-data events, and the
market streams' ``trade``, ``bookTicker``, ``depthUpdate``, partial depth and ``kline`` events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from harness.model import (
    Balance,
    BookLevel,
    Candle,
    Fill,
    Liquidity,
    OrderRequest,
    OrderStatus,
    OrderType,
    Quote,
    Side,
    TimeInForce,
    Trade,
)
from harness.money import from_fixed

__all__ = ["BINANCE_INTERVALS", "STATUS_NAMES", "balance_json", "binance_order_type", "book_ticker_event",
           "depth_levels", "depth_update_event", "fmt", "fmt_fixed", "is_maker", "kline_event", "kline_row", "ms",
           "side_name", "time_in_force_name", "trade_event"]

_EIGHT = Decimal("0.00000001")
_NS_PER_MS = 1_000_000

STATUS_NAMES: Mapping[OrderStatus, str] = {
    OrderStatus.PENDING: "NEW",
    OrderStatus.OPEN: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELLED: "CANCELED",
    OrderStatus.REJECTED: "REJECTED",
    OrderStatus.EXPIRED: "EXPIRED",
    OrderStatus.PENDING_CANCEL: "PENDING_CANCEL",
    OrderStatus.PENDING_MODIFY: "NEW",
    OrderStatus.UNKNOWN: "NEW",
}
"""Binance's ``status`` for each contract status (``enums.md``)."""

BINANCE_INTERVALS: Mapping[str, int] = {
    "1s": 1, "1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "2h": 7200,
    "4h": 14_400, "6h": 21_600, "8h": 28_800, "12h": 43_200, "1d": 86_400, "3d": 259_200, "1w": 604_800,
}
"""Kline interval names and their length in seconds (``1M``, a calendar month, is not served)."""


def fmt(value: Decimal) -> str:
    """A decimal string as Binance writes it: 8 places, or every place the value has beyond 8."""
    if value == value.quantize(_EIGHT):
        return format(value.quantize(_EIGHT), "f")
    return format(value.normalize(), "f")


def fmt_fixed(units: int) -> str:
    """A fixed-point int (``harness.money``) as a Binance decimal string."""
    return fmt(from_fixed(units))


def ms(ns: int) -> int:
    """Nanoseconds to Binance's milliseconds (floor)."""
    return ns // _NS_PER_MS


def binance_order_type(request: OrderRequest) -> str:
    """Binance's ``type`` of an order: LIMIT_MAKER for post-only, STOP_LOSS(_LIMIT), TAKE_PROFIT(_LIMIT)."""
    kind = request.order_type
    if kind is OrderType.LIMIT:
        return "LIMIT_MAKER" if request.post_only else "LIMIT"
    if kind is OrderType.STOP_MARKET:
        return "STOP_LOSS"
    if kind is OrderType.STOP_LIMIT:
        return "STOP_LOSS_LIMIT"
    if kind is OrderType.TAKE_PROFIT:
        return "TAKE_PROFIT_LIMIT" if request.price is not None else "TAKE_PROFIT"
    return kind.value


def time_in_force_name(request: OrderRequest) -> str:
    """Binance reports GTC for orders without a time in force of their own (MARKET, LIMIT_MAKER)."""
    if request.order_type is OrderType.MARKET or request.post_only:
        return TimeInForce.GTC.value
    return request.time_in_force.value


def side_name(side: Side) -> str:
    """``BUY`` / ``SELL``."""
    return side.value


def is_maker(fill: Fill) -> bool:
    """Whether a fill added liquidity."""
    return fill.liquidity is Liquidity.MAKER


def balance_json(balance: Balance) -> dict[str, str]:
    """One ``balances`` entry of ``GET /api/v3/account``."""
    return {"asset": balance.asset, "free": fmt(balance.free), "locked": fmt(balance.locked)}


def depth_levels(levels: Iterable[BookLevel]) -> list[list[str]]:
    """``[[price, qty], ...]`` of a depth answer or event."""
    return [[fmt_fixed(level.price), fmt_fixed(level.size)] for level in levels]


def trade_event(trade: Trade, trade_id: int, event_ms: int) -> dict[str, Any]:
    """A ``<symbol>@trade`` event; ``m`` is true when the buyer was the maker (a seller aggressed)."""
    return {"e": "trade", "E": event_ms, "s": trade.symbol, "t": trade_id, "p": fmt_fixed(trade.price),
            "q": fmt_fixed(trade.size), "T": ms(trade.ts_event), "m": trade.aggressor < 0, "M": True}


def book_ticker_event(quote: Quote, update_id: int) -> dict[str, Any]:
    """A ``<symbol>@bookTicker`` event (spot: no ``e``/``E``)."""
    return {"u": update_id, "s": quote.symbol, "b": fmt_fixed(quote.bid_price), "B": fmt_fixed(quote.bid_size),
            "a": fmt_fixed(quote.ask_price), "A": fmt_fixed(quote.ask_size)}


def depth_update_event(symbol: str, event_ms: int, ids: tuple[int, int],
                       bids: Sequence[tuple[int, int]], asks: Sequence[tuple[int, int]]) -> dict[str, Any]:
    """A ``<symbol>@depth`` / ``@depth@100ms`` diff: levels set to absolute sizes, 0 removes."""
    return {"e": "depthUpdate", "E": event_ms, "s": symbol, "U": ids[0], "u": ids[1],
            "b": [[fmt_fixed(p), fmt_fixed(q)] for p, q in bids],
            "a": [[fmt_fixed(p), fmt_fixed(q)] for p, q in asks]}


def kline_row(candle: Candle, trades: int = 0) -> list[Any]:
    """One row of ``GET /api/v3/klines``: open time, o, h, l, c, volume, close time, quote volume, ..."""
    close_ms = ms(candle.ts_open + candle.interval_ns) - 1
    return [ms(candle.ts_open), fmt_fixed(candle.open), fmt_fixed(candle.high), fmt_fixed(candle.low),
            fmt_fixed(candle.close), fmt_fixed(candle.volume), close_ms, "0.00000000", trades,
            "0.00000000", "0.00000000", "0"]


def kline_event(candle: Candle, interval: str, event_ms: int, closed: bool) -> dict[str, Any]:
    """A ``<symbol>@kline_<interval>`` event for the bar being built (``x``: closed)."""
    return {"e": "kline", "E": event_ms, "s": candle.symbol, "k": {
        "t": ms(candle.ts_open), "T": ms(candle.ts_open + candle.interval_ns) - 1, "s": candle.symbol,
        "i": interval, "f": -1, "L": -1, "o": fmt_fixed(candle.open), "c": fmt_fixed(candle.close),
        "h": fmt_fixed(candle.high), "l": fmt_fixed(candle.low), "v": fmt_fixed(candle.volume), "n": 0,
        "x": closed, "q": "0.00000000", "V": "0.00000000", "Q": "0.00000000", "B": "0"}}

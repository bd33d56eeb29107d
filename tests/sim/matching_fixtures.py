"""Builders shared by the matching-engine tests: market events and orders from decimal strings."""

from __future__ import annotations

from decimal import Decimal

from harness.model import F_LAST, F_SNAPSHOT, BookDelta, OrderType, Quote, TimeInForce, Trade
from harness.money import to_fixed
from sim.venue.matching.engine import MatchingEngine
from sim.venue.matching.types import DepthMode, MatchEvent, MatchingConfig, SimOrder
from sim.venue.queue_models import QueueModel

BUY = 1
SELL = -1


def fx(value: str) -> int:
    """Fixed-point units of a decimal string."""
    return to_fixed(value)


def engine(depth: DepthMode = DepthMode.BOOK, *, maker: str = "0", taker: str = "0",
           queue_model: QueueModel | None = None, **kw: object) -> MatchingEngine:
    """An engine with the given depth mode and fee rates (decimal strings)."""
    cfg_kw: dict[str, object] = {"depth": depth, "maker_fee": Decimal(maker), "taker_fee": Decimal(taker)}
    if queue_model is not None:
        cfg_kw["queue_model"] = queue_model
    cfg_kw.update(kw)
    return MatchingEngine(MatchingConfig(**cfg_kw))  # type: ignore[arg-type]


def trade(price: str, size: str, aggressor: int = 0, ts: int = 10) -> Trade:
    """A public trade; ``aggressor`` +1 buyer, -1 seller, 0 unknown."""
    return Trade(ts, ts, "SIM", "BTCUSDT", fx(price), fx(size), aggressor, "t")


def delta(side: int, price: str, size: str, flags: int = 0, ts: int = 10) -> BookDelta:
    """One L2 row (+1 bid, -1 ask)."""
    return BookDelta(ts, ts, "SIM", "BTCUSDT", side, fx(price), fx(size), -1, -1, -1, flags)


def quote(bid: str, bid_size: str, ask: str, ask_size: str, ts: int = 10) -> Quote:
    """Best bid/ask."""
    return Quote(ts, ts, "SIM", "BTCUSDT", fx(bid), fx(bid_size), fx(ask), fx(ask_size), -1)


def snapshot(eng: MatchingEngine, bids: list[tuple[str, str]], asks: list[tuple[str, str]],
             ts: int = 1) -> list[MatchEvent]:
    """Feed a full L2 snapshot (rows flagged F_SNAPSHOT, the last one also F_LAST); return the events."""
    rows = [(BUY, p, s) for p, s in bids] + [(SELL, p, s) for p, s in asks]
    out: list[MatchEvent] = []
    for i, (side, p, s) in enumerate(rows):
        flags = F_SNAPSHOT | (F_LAST if i == len(rows) - 1 else 0)
        out += eng.on_book_delta(delta(side, p, s, flags, ts))
    return out


def limit(oid: int, side: int, qty: str, price: str, tif: TimeInForce = TimeInForce.GTC,
          **kw: object) -> SimOrder:
    """A limit order."""
    return SimOrder(oid, side, OrderType.LIMIT, fx(qty), price=fx(price), tif=tif, **kw)  # type: ignore[arg-type]


def market(oid: int, side: int, qty: str, tif: TimeInForce = TimeInForce.GTC) -> SimOrder:
    """A market order."""
    return SimOrder(oid, side, OrderType.MARKET, fx(qty), tif=tif)

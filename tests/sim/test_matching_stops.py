"""Conditional orders: stop-market, stop-limit, take-profit and trailing stops along price paths."""

from __future__ import annotations

from matching_fixtures import BUY, SELL, engine, fx, quote, snapshot, trade

from harness.model import Liquidity, OrderStatus, OrderType, TimeInForce
from sim.venue.matching.engine import MatchingEngine
from sim.venue.matching.types import (
    REASON_GTD,
    REASON_TRIGGER_NOW,
    DepthMode,
    MatchEvent,
    ModifyRejected,
    OrderAccepted,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderRejected,
    OrderTriggered,
    SimOrder,
)

T = Liquidity.TAKER


def run_path(eng: MatchingEngine, prices: list[str], start_ts: int = 100) -> list[MatchEvent]:
    """Feed trades (size 1, unknown aggressor) at ``prices`` with increasing timestamps."""
    out: list[MatchEvent] = []
    for i, p in enumerate(prices):
        out += eng.on_trade(trade(p, "1", ts=start_ts + i))
    return out


def trades_engine(last: str = "100") -> MatchingEngine:
    eng = engine(DepthMode.TRADES)
    eng.on_trade(trade(last, "1", ts=1))
    return eng


def test_stop_market_buy_triggers_at_or_above_stop_and_walks_the_book() -> None:
    eng = engine(DepthMode.BOOK)
    snapshot(eng, bids=[("104", "1")], asks=[("105.5", "0.4"), ("106", "1")])
    eng.on_trade(trade("104", "1", ts=2))
    o = SimOrder(1, BUY, OrderType.STOP_MARKET, fx("1"), stop=fx("105"))
    assert eng.submit(o, 3) == [OrderAccepted(3, 1)]
    assert run_path(eng, ["104.5", "104.99"]) == []
    ev = run_path(eng, ["105"], start_ts=200)
    assert ev == [
        OrderTriggered(200, 1, OrderType.MARKET, fx("105")),
        OrderFilled(200, 1, BUY, fx("105.5"), fx("0.4"), T, 0, fx("0.6"), 1),
        OrderFilled(200, 1, BUY, fx("106"), fx("0.6"), T, 0, 0, 2),
    ]
    assert o.status is OrderStatus.FILLED


def test_stop_market_sell_triggers_at_or_below_stop() -> None:
    eng = trades_engine()
    eng.submit(SimOrder(1, SELL, OrderType.STOP_MARKET, fx("2"), stop=fx("95")), 2)
    assert run_path(eng, ["99", "96", "95.01"]) == []
    ev = run_path(eng, ["94"], start_ts=200)
    assert ev == [OrderTriggered(200, 1, OrderType.MARKET, fx("94")),
                  OrderFilled(200, 1, SELL, fx("94"), fx("2"), T, 0, 0, 1)]


def test_stop_limit_becomes_a_resting_limit() -> None:
    eng = trades_engine()
    o = SimOrder(1, SELL, OrderType.STOP_LIMIT, fx("1"), stop=fx("95"), price=fx("95.5"))
    eng.submit(o, 2)
    ev = run_path(eng, ["95"])
    assert ev == [OrderTriggered(100, 1, OrderType.LIMIT, fx("95"))]
    assert o in eng.open_orders() and o.triggered and not o.is_conditional
    ev = run_path(eng, ["95.5"], start_ts=200)  # unknown aggressor at our price: reaches our ask
    assert [(e.price, e.qty, e.liquidity) for e in ev if isinstance(e, OrderFilled)] == [
        (fx("95.5"), fx("1"), Liquidity.MAKER)]


def test_take_profit_triggers_in_the_opposite_direction() -> None:
    eng = trades_engine()
    eng.submit(SimOrder(1, SELL, OrderType.TAKE_PROFIT, fx("1"), stop=fx("110")), 2)
    eng.submit(SimOrder(2, BUY, OrderType.TAKE_PROFIT, fx("1"), stop=fx("90")), 2)
    assert run_path(eng, ["105", "91", "109.99"]) == []
    ev = run_path(eng, ["110"], start_ts=200)
    assert ev[0] == OrderTriggered(200, 1, OrderType.MARKET, fx("110"))
    assert run_path(eng, ["95"], start_ts=300) == []
    ev = run_path(eng, ["89.5"], start_ts=400)
    assert ev == [OrderTriggered(400, 2, OrderType.MARKET, fx("89.5")),
                  OrderFilled(400, 2, BUY, fx("89.5"), fx("1"), T, 0, 0, 2)]


def test_stop_that_would_trigger_at_once_is_rejected_or_triggers_by_config() -> None:
    eng = trades_engine("100")
    o = SimOrder(1, BUY, OrderType.STOP_MARKET, fx("1"), stop=fx("99"))
    assert eng.submit(o, 2) == [OrderRejected(2, 1, REASON_TRIGGER_NOW)]
    eng = engine(DepthMode.TRADES, reject_immediate_stop=False)
    eng.on_trade(trade("100", "1", ts=1))
    ev = eng.submit(SimOrder(1, BUY, OrderType.STOP_MARKET, fx("1"), stop=fx("99")), 2)
    assert ev == [OrderAccepted(2, 1), OrderTriggered(2, 1, OrderType.MARKET, fx("100")),
                  OrderFilled(2, 1, BUY, fx("100"), fx("1"), T, 0, 0, 1)]


def test_trailing_sell_tracks_the_high_and_fires_on_the_retrace() -> None:
    eng = trades_engine("100")
    o = SimOrder(1, SELL, OrderType.TRAILING_STOP, fx("1"), trail=fx("3"))
    eng.submit(o, 2)
    assert o.trail_ref == fx("100")
    assert run_path(eng, ["101", "105", "103", "102.5"]) == []
    assert o.trail_ref == fx("105")
    ev = run_path(eng, ["102"], start_ts=200)
    assert ev == [OrderTriggered(200, 1, OrderType.MARKET, fx("102")),
                  OrderFilled(200, 1, SELL, fx("102"), fx("1"), T, 0, 0, 1)]


def test_trailing_buy_with_activation_price() -> None:
    eng = trades_engine("100")
    o = SimOrder(1, BUY, OrderType.TRAILING_STOP, fx("1"), trail=fx("2"), stop=fx("95"))
    eng.submit(o, 2)
    inactive_ref = o.trail_ref  # a name of its own: mypy would keep None as o.trail_ref's type below
    assert inactive_ref is None
    assert run_path(eng, ["97", "99", "94.99"]) == []  # activates at 94.99 (<= 95)
    assert o.trail_ref == fx("94.99")
    assert run_path(eng, ["93", "94", "94.99"], start_ts=200) == []
    ev = run_path(eng, ["95"], start_ts=300)
    assert ev[0] == OrderTriggered(300, 1, OrderType.MARKET, fx("95"))


def test_trailing_limit_and_first_trade_arms_when_no_last_price() -> None:
    eng = engine(DepthMode.TRADES)
    o = SimOrder(1, SELL, OrderType.TRAILING_STOP, fx("1"), trail=fx("1"), price=fx("99"))
    eng.submit(o, 1)
    assert run_path(eng, ["100", "100.5", "99.6"]) == []
    ev = run_path(eng, ["99.5"], start_ts=200)
    # becomes a sell limit at 99: strictly below the last price, so it takes at the last price
    assert ev == [OrderTriggered(200, 1, OrderType.LIMIT, fx("99.5")),
                  OrderFilled(200, 1, SELL, fx("99.5"), fx("1"), T, 0, 0, 1)]


def test_quotes_never_trigger_stops() -> None:
    eng = engine(DepthMode.QUOTES)
    eng.on_quote(quote("99", "1", "100", "1", ts=1))
    eng.submit(SimOrder(1, BUY, OrderType.STOP_MARKET, fx("1"), stop=fx("101")), 2)
    assert eng.on_quote(quote("101", "1", "102", "1", ts=3)) == []
    ev = eng.on_trade(trade("101", "0.1", ts=4))
    assert ev == [OrderTriggered(4, 1, OrderType.MARKET, fx("101")),
                  OrderFilled(4, 1, BUY, fx("102"), fx("1"), T, 0, 0, 1)]


def test_modify_stop_price_and_gtd_on_a_waiting_stop() -> None:
    eng = trades_engine("100")
    o = SimOrder(1, BUY, OrderType.STOP_LIMIT, fx("1"), stop=fx("105"), price=fx("106"),
                 tif=TimeInForce.GTD, expire_at_ns=500)
    eng.submit(o, 2)
    assert eng.modify(1, 3, stop=fx("99")) == [ModifyRejected(3, 1, REASON_TRIGGER_NOW)]
    assert eng.modify(1, 4, stop=fx("103")) == [OrderModified(4, 1, fx("106"), fx("1"), fx("103"), False)]
    assert run_path(eng, ["102", "102.9"]) == []
    assert eng.on_trade(trade("104", "1", ts=500)) == [OrderExpired(500, 1, fx("1"), REASON_GTD)]

"""Matching engine: order types, time in force, book walking, consumption, modify, fees (exact values)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from matching_fixtures import BUY, SELL, delta, engine, fx, limit, market, quote, snapshot, trade

from harness.model import Liquidity, OrderStatus, OrderType, TimeInForce
from harness.money import from_fixed
from sim.venue.matching.engine import MatchingEngine
from sim.venue.matching.types import (
    REASON_FOK,
    REASON_GTD,
    REASON_IOC,
    REASON_MARKET_REMAINDER,
    REASON_NO_LIQUIDITY,
    REASON_POST_ONLY,
    REASON_UNKNOWN_ORDER,
    CancelRejected,
    DepthMode,
    MatchEvent,
    MatchingConfig,
    ModifyRejected,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderRejected,
    SimOrder,
    compute_fee,
)

M, T = Liquidity.MAKER, Liquidity.TAKER


def _txt(units: int) -> str:
    """Fixed-point units as plain decimal text without trailing zeros."""
    return format(from_fixed(units).normalize(), "f")


def fills(events: Iterable[MatchEvent]) -> list[tuple[int, int, str, str, Liquidity, int]]:
    """(order id, side, price, qty, liquidity, leaves) of each fill, prices/sizes as decimal text."""
    return [(e.order_id, e.side, _txt(e.price), _txt(e.qty),
             e.liquidity, e.leaves_qty) for e in events if isinstance(e, OrderFilled)]


def book_engine(maker: str = "0", taker: str = "0") -> MatchingEngine:
    eng = engine(DepthMode.BOOK, maker=maker, taker=taker)
    snapshot(eng, bids=[("99", "1"), ("98", "2"), ("97", "5")], asks=[("100", "1"), ("101", "2"), ("102", "5")])
    return eng


# ------------------------------------------------------------------ market orders / book walking


def test_market_buy_walks_levels_and_fills_partially_across_them() -> None:
    eng = book_engine(taker="0.001")
    ev = eng.submit(market(1, BUY, "2.5"), 20)
    assert ev[0] == OrderAccepted(20, 1)
    assert fills(ev) == [(1, BUY, "100", "1", T, fx("1.5")), (1, BUY, "101", "1.5", T, 0)]
    assert [e.fee for e in ev if isinstance(e, OrderFilled)] == [fx("0.1"), fx("0.1515")]
    assert [e.exec_id for e in ev if isinstance(e, OrderFilled)] == [1, 2]
    assert eng.get(1) is None
    assert eng.book_available(SELL, fx("101")) == fx("0.5")


def test_market_sell_exhausting_the_book_expires_the_remainder() -> None:
    eng = book_engine()
    ev = eng.submit(market(1, SELL, "10"), 20)
    assert fills(ev) == [(1, SELL, "99", "1", T, fx("9")), (1, SELL, "98", "2", T, fx("7")),
                         (1, SELL, "97", "5", T, fx("2"))]
    assert ev[-1] == OrderExpired(20, 1, fx("2"), REASON_MARKET_REMAINDER)


def test_market_order_without_liquidity_is_rejected() -> None:
    eng = engine(DepthMode.BOOK)
    assert eng.submit(market(1, BUY, "1"), 5) == [OrderRejected(5, 1, REASON_NO_LIQUIDITY)]
    eng = engine(DepthMode.TRADES)
    assert eng.submit(market(1, BUY, "1"), 5) == [OrderRejected(5, 1, REASON_NO_LIQUIDITY)]


def test_marketable_limit_takes_up_to_its_price_then_rests_ahead_of_the_market() -> None:
    eng = book_engine()
    o = limit(1, BUY, "4", "101")
    ev = eng.submit(o, 20)
    assert fills(ev) == [(1, BUY, "100", "1", T, fx("3")), (1, BUY, "101", "2", T, fx("1"))]
    assert o.status is OrderStatus.PARTIALLY_FILLED
    assert o.queue_ahead == 0  # better than the market's best bid 99
    # a seller hitting the book at 99 reaches our better-priced bid first
    ev = eng.on_trade(trade("99", "0.4", aggressor=SELL, ts=21))
    assert fills(ev) == [(1, BUY, "101", "0.4", M, fx("0.6"))]


# ------------------------------------------------------------------ own fills never reuse liquidity


def test_two_own_orders_never_take_the_same_displayed_volume() -> None:
    eng = book_engine()
    ev1 = eng.submit(market(1, BUY, "0.6"), 20)
    ev2 = eng.submit(market(2, BUY, "0.6"), 21)
    assert fills(ev1) == [(1, BUY, "100", "0.6", T, 0)]
    assert fills(ev2) == [(2, BUY, "100", "0.4", T, fx("0.2")), (2, BUY, "101", "0.2", T, 0)]
    # a market update of level 100 restores it (the market never saw our fills)
    eng.on_book_delta(delta(SELL, "100", "0.7", ts=22))
    assert fills(eng.submit(market(3, BUY, "1"), 23)) == [(3, BUY, "100", "0.7", T, fx("0.3")),
                                                          (3, BUY, "101", "0.3", T, 0)]


def test_an_amended_order_cannot_retake_what_it_already_took() -> None:
    eng = book_engine()
    o = limit(1, BUY, "2", "100")
    assert fills(eng.submit(o, 20)) == [(1, BUY, "100", "1", T, fx("1"))]
    ev = eng.modify(1, 21, price=fx("100.5"))
    assert ev[0] == OrderModified(21, 1, fx("100.5"), fx("2"), 0, True)
    assert fills(ev) == []  # level 100 is used up until the market updates it
    # the market re-displays 100: the ask now reaches our resting bid, which fills as maker
    ev = eng.on_book_delta(delta(SELL, "100", "0.3", ts=22))
    assert fills(ev) == [(1, BUY, "100.5", "0.3", M, fx("0.7"))]
    assert eng.on_book_delta(delta(BUY, "99", "3", ts=23)) == []


def test_fok_checks_the_whole_quantity_first_and_takes_nothing_otherwise() -> None:
    eng = book_engine()
    ev = eng.submit(limit(1, BUY, "3.5", "101", TimeInForce.FOK), 20)
    assert ev == [OrderAccepted(20, 1), OrderExpired(20, 1, fx("3.5"), REASON_FOK)]
    assert eng.book_available(SELL, fx("100")) == fx("1")
    ev = eng.submit(limit(2, BUY, "3", "101", TimeInForce.FOK), 21)
    assert fills(ev) == [(2, BUY, "100", "1", T, fx("2")), (2, BUY, "101", "2", T, 0)]
    ev = eng.submit(market(3, SELL, "9", TimeInForce.FOK), 22)
    assert ev == [OrderAccepted(22, 3), OrderExpired(22, 3, fx("9"), REASON_FOK)]


def test_ioc_fills_what_it_can_and_expires_the_rest() -> None:
    eng = book_engine()
    ev = eng.submit(limit(1, SELL, "2", "99", TimeInForce.IOC), 20)
    assert fills(ev) == [(1, SELL, "99", "1", T, fx("1"))]
    assert ev[-1] == OrderExpired(20, 1, fx("1"), REASON_IOC)
    ev = eng.submit(limit(2, SELL, "2", "105", TimeInForce.IOC), 21)
    assert ev == [OrderAccepted(21, 2), OrderExpired(21, 2, fx("2"), REASON_IOC)]


# ------------------------------------------------------------------ post-only, GTD, cancel, modify


def test_post_only_rejects_when_it_would_cross_with_binance_text() -> None:
    eng = book_engine()
    ev = eng.submit(limit(1, BUY, "1", "100", post_only=True), 20)
    assert ev == [OrderRejected(20, 1, "Order would immediately match and take.")]
    assert REASON_POST_ONLY == "Order would immediately match and take."
    assert eng.get(1) is None
    assert eng.submit(limit(2, BUY, "1", "99.5", post_only=True), 21) == [OrderAccepted(21, 2)]
    assert eng.modify(2, 22, price=fx("100")) == [ModifyRejected(22, 2, REASON_POST_ONLY)]
    kept = eng.get(2)
    assert kept is not None and kept.price == fx("99.5")


def test_gtd_expires_when_time_reaches_the_deadline() -> None:
    eng = book_engine()
    o = limit(1, BUY, "1", "98", TimeInForce.GTD, expire_at_ns=100)
    assert eng.submit(o, 20) == [OrderAccepted(20, 1)]
    assert eng.advance(99) == []
    assert eng.advance(100) == [OrderExpired(100, 1, fx("1"), REASON_GTD)]
    assert o.status is OrderStatus.EXPIRED
    # expiry happens before the input that reaches the deadline: the trade no longer fills it
    eng.submit(limit(2, BUY, "1", "98", TimeInForce.GTD, expire_at_ns=200), 150)
    ev = eng.on_trade(trade("97", "5", SELL, ts=200))
    assert ev == [OrderExpired(200, 2, fx("1"), REASON_GTD)]
    ev = eng.submit(limit(3, BUY, "1", "98", TimeInForce.GTD, expire_at_ns=300), 300)
    assert isinstance(ev[0], OrderRejected)


def test_cancel_reports_leaves_and_rejects_unknown_ids() -> None:
    eng = book_engine()
    eng.submit(limit(1, BUY, "3", "101"), 20)  # takes 1 @100, 2 @101: fully filled
    assert eng.cancel(1, 21) == [CancelRejected(21, 1, REASON_UNKNOWN_ORDER)]
    eng.submit(limit(2, BUY, "3", "98"), 22)
    eng.on_trade(trade("97", "1", SELL, ts=23))
    assert eng.cancel(2, 24) == [OrderCancelled(24, 2, fx("2"))]
    assert eng.cancel(2, 25) == [CancelRejected(25, 2, REASON_UNKNOWN_ORDER)]
    assert eng.modify(7, 26, qty=fx("1")) == [ModifyRejected(26, 7, REASON_UNKNOWN_ORDER)]


def test_modify_size_decrease_keeps_priority_increase_and_price_change_lose_it() -> None:
    eng = book_engine()
    o = limit(1, BUY, "3", "98")
    eng.submit(o, 20)
    assert o.queue_ahead == fx("2")
    eng.on_trade(trade("98", "1.5", SELL, ts=21))
    assert o.queue_ahead == fx("0.5")
    ev = eng.modify(1, 22, qty=fx("2"))
    assert ev == [OrderModified(22, 1, fx("98"), fx("2"), 0, False)]
    assert o.queue_ahead == fx("0.5")
    ev = eng.modify(1, 23, qty=fx("2.5"))
    assert ev == [OrderModified(23, 1, fx("98"), fx("2.5"), 0, True)]
    assert o.queue_ahead == fx("2")  # rejoined behind the displayed 2 at 98
    ev = eng.modify(1, 24, price=fx("97"))
    assert ev == [OrderModified(24, 1, fx("97"), fx("2.5"), 0, True)]
    assert o.queue_ahead == fx("5")
    eng.on_trade(trade("97", "5.5", SELL, ts=25))
    assert o.filled == fx("0.5")
    assert eng.modify(1, 26, qty=fx("0.5")) == [
        ModifyRejected(26, 1, "New quantity must exceed the filled quantity.")]


def test_modify_into_a_marketable_price_takes_liquidity() -> None:
    eng = book_engine(taker="0.001")
    eng.submit(limit(1, BUY, "1.5", "98"), 20)
    ev = eng.modify(1, 21, price=fx("100"))
    assert ev[0] == OrderModified(21, 1, fx("100"), fx("1.5"), 0, True)
    assert fills(ev) == [(1, BUY, "100", "1", T, fx("0.5"))]
    rest = eng.get(1)
    assert rest is not None and rest.queue_ahead == 0


def test_partial_fills_all_reach_the_caller_and_add_up() -> None:
    eng = book_engine()
    o = limit(1, SELL, "2", "101")
    eng.submit(o, 20)
    assert o.queue_ahead == fx("2")
    all_fills = []
    for i, size in enumerate(["1.5", "1", "0.25", "0.5"]):
        all_fills += [e for e in eng.on_trade(trade("101", size, BUY, ts=30 + i)) if isinstance(e, OrderFilled)]
    assert [(e.qty, e.leaves_qty) for e in all_fills] == [(fx("0.5"), fx("1.5")), (fx("0.25"), fx("1.25")),
                                                          (fx("0.5"), fx("0.75"))]
    assert sum(e.qty for e in all_fills) == o.filled == fx("1.25")


# ------------------------------------------------------------------ depth modes: quotes and trades


def test_quotes_mode_market_order_overflows_one_tick_beyond_the_top() -> None:
    eng = engine(DepthMode.QUOTES, tick_size=fx("0.1"))
    eng.on_quote(quote("99", "1", "100", "0.5", ts=1))
    ev = eng.submit(market(1, BUY, "2"), 2)
    assert fills(ev) == [(1, BUY, "100", "0.5", T, fx("1.5")), (1, BUY, "100.1", "1.5", T, 0)]
    eng = engine(DepthMode.QUOTES, l1_overflow_ticks=None)
    eng.on_quote(quote("99", "1", "100", "0.5", ts=1))
    ev = eng.submit(market(1, SELL, "2"), 2)
    assert fills(ev) == [(1, SELL, "99", "1", T, fx("1"))]
    assert ev[-1] == OrderExpired(2, 1, fx("1"), REASON_MARKET_REMAINDER)


def test_quotes_mode_marketable_limit_takes_top_size_then_rests() -> None:
    eng = engine(DepthMode.QUOTES)
    eng.on_quote(quote("99", "1", "100", "0.5", ts=1))
    o = limit(1, BUY, "2", "100")
    assert fills(eng.submit(o, 2)) == [(1, BUY, "100", "0.5", T, fx("1.5"))]
    assert eng.on_quote(quote("99", "1", "100", "0.5", ts=3)) == []  # unchanged top: still used up
    ev = eng.on_quote(quote("99", "1", "100", "0.8", ts=4))  # the top was updated: volume is back
    assert fills(ev) == [(1, BUY, "100", "0.8", M, fx("0.7"))]


def test_trades_mode_market_fills_at_last_price_with_slippage() -> None:
    eng = engine(DepthMode.TRADES, taker="0.0005", tick_size=fx("0.5"), trades_slippage_ticks=2)
    eng.on_trade(trade("100", "0.01", ts=1))
    ev = eng.submit(market(1, BUY, "3"), 2)
    assert fills(ev) == [(1, BUY, "101", "3", T, 0)]
    last = ev[-1]
    assert isinstance(last, OrderFilled) and last.fee == fx("0.1515")
    ev = eng.submit(limit(2, SELL, "1", "99.5"), 3)  # marketable; slippage capped at the limit
    assert fills(ev) == [(2, SELL, "99.5", "1", T, 0)]


def test_trades_mode_resting_limit_uses_aggressor_and_trade_through() -> None:
    eng = engine(DepthMode.TRADES)
    eng.on_trade(trade("100", "1", ts=1))
    o = limit(1, BUY, "2", "100")
    assert eng.submit(o, 2) == [OrderAccepted(2, 1)]  # at the last price: rests (not marketable)
    assert eng.on_trade(trade("100", "5", BUY, ts=3)) == []  # a buyer lifted an ask: not our bid
    assert fills(eng.on_trade(trade("100", "0.5", SELL, ts=4))) == [(1, BUY, "100", "0.5", M, fx("1.5"))]
    assert fills(eng.on_trade(trade("99", "0.7", BUY, ts=5))) == [(1, BUY, "100", "0.7", M, fx("0.8"))]


# ------------------------------------------------------------------ fees


def test_fee_is_exact_half_even_on_one_rounding() -> None:
    price, qty, rate = Decimal("61837.63"), Decimal("0.0123"), Decimal("0.00075")
    expected = (price * qty * rate).quantize(Decimal("1e-9"), rounding=ROUND_HALF_EVEN)
    assert expected == Decimal("0.570452137")
    assert compute_fee(fx("61837.63"), fx("0.0123"), fx("0.00075")) == fx("0.570452137")
    # ties go to the even unit, symmetric for rebates
    assert compute_fee(fx("1"), 1, fx("0.5")) == 0
    assert compute_fee(fx("1"), 3, fx("0.5")) == 2
    assert compute_fee(fx("1"), 3, fx("-0.5")) == -2
    assert compute_fee(fx("1"), 5, fx("0.5")) == 2


def test_maker_rebate_and_taker_fee_on_fills() -> None:
    eng = book_engine(maker="-0.0001", taker="0.00075")
    ev = eng.submit(market(1, BUY, "0.0123"), 20)
    assert [e.fee for e in ev if isinstance(e, OrderFilled)] == [compute_fee(fx("100"), fx("0.0123"),
                                                                              fx("0.00075"))]
    last = ev[-1]
    assert isinstance(last, OrderFilled) and last.fee == fx("0.00092250")
    eng.submit(limit(2, SELL, "1", "100.5"), 21)
    ev = eng.on_trade(trade("100.5", "0.3", BUY, ts=22))
    assert [(e.liquidity, e.fee) for e in ev if isinstance(e, OrderFilled)] == [(M, -fx("0.003015"))]


def test_config_refuses_float_or_inexact_rates() -> None:
    with pytest.raises(ValueError):
        MatchingConfig(maker_fee=0.001)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        MatchingConfig(taker_fee=Decimal("0.0000000001"))


def test_validation_rejects_malformed_orders() -> None:
    eng = book_engine()
    assert isinstance(eng.submit(limit(1, BUY, "0", "99"), 20)[0], OrderRejected)
    assert isinstance(eng.submit(SimOrder(2, BUY, OrderType.LIMIT, fx("1")), 20)[0], OrderRejected)
    assert isinstance(eng.submit(SimOrder(3, BUY, OrderType.STOP_MARKET, fx("1")), 20)[0], OrderRejected)
    assert isinstance(eng.submit(limit(4, BUY, "1", "99", TimeInForce.IOC, post_only=True), 20)[0],
                      OrderRejected)
    eng.submit(limit(5, BUY, "1", "90"), 20)
    assert eng.submit(limit(5, BUY, "1", "90"), 21) == [OrderRejected(21, 5, "Duplicate order id.")]

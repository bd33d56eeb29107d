"""The market maker's calm bands are exactly the references for which it would move no quote.

``PassiveMarketMaker`` skips its requote logic when market data falls inside precomputed
bands; these tests check the bands against the rule they shortcut, for any order prices,
tick, requote distance and offset, so the shortcut can neither miss a requote nor add one.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from strategies.market_maker import PassiveMarketMaker


def maker(tick: int, k: int, offset_ticks: int, bid_px: int | None, ask_px: int | None) -> PassiveMarketMaker:
    """A market maker with the given working quotes (prices in ticks), without a context."""
    mm = PassiveMarketMaker()
    mm.tick, mm.requote_distance, mm.offset = tick, k * tick, offset_ticks * tick
    mm.bid_id, mm.bid_px = (None, 0) if bid_px is None else ("b", bid_px * tick)
    mm.ask_id, mm.ask_px = (None, 0) if ask_px is None else ("a", ask_px * tick)
    mm._calm()
    return mm


def would_move(mm: PassiveMarketMaker, bid: int, ask: int) -> bool:
    """``_follow``'s rule: does either side's rounded reference call for a new quote?"""
    tick = mm.tick
    bid -= bid % tick
    ask += -ask % tick
    move_bid = mm.bid_id is None or abs(bid - mm.bid_px) >= mm.requote_distance
    move_ask = mm.ask_id is None or abs(ask - mm.ask_px) >= mm.requote_distance
    return move_bid or move_ask


sides = st.one_of(st.none(), st.integers(1, 200))


@given(st.integers(1, 7), st.integers(0, 4), sides, sides, st.integers(0, 1_600), st.integers(0, 1_600))
def test_quote_bands_hold_exactly_the_calm_quotes(tick: int, k: int, bid_px: int | None, ask_px: int | None,
                                                  bid: int, ask: int) -> None:
    mm = maker(tick, k, 1, bid_px, ask_px)
    calm = mm.calm_bid_lo <= bid < mm.calm_bid_hi and mm.calm_ask_lo <= ask < mm.calm_ask_hi
    assert calm == (not would_move(mm, bid, ask))


@given(st.integers(1, 7), st.integers(0, 4), st.integers(0, 3), sides, sides, st.integers(0, 1_600))
def test_trade_band_holds_exactly_the_calm_trade_prices(tick: int, k: int, offset: int, bid_px: int | None,
                                                        ask_px: int | None, price: int) -> None:
    mm = maker(tick, k, offset, bid_px, ask_px)
    calm = mm.calm_trade_lo <= price < mm.calm_trade_hi
    assert calm == (not would_move(mm, price - mm.offset, price + mm.offset))

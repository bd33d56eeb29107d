"""Queue position against our arrival time: market data stamped before it is ahead of us.

An order joins its level's queue when it reaches the venue (``SimOrder.arrived_ns``). Market
data the engine receives afterwards may still describe the book as it stood before that
moment (its stamp is earlier: a diff published after the fact, or a snapshot taken before
it); whatever that data shows at our level was there before us. Data stamped at or after our
arrival is behind us, and a level first seen after we rest (no book yet) counts in full.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from matching_fixtures import BUY, SELL, delta, engine, fx, limit, quote, snapshot, trade

from harness.model import F_LAST, F_SNAPSHOT, BookDelta, OrderRequest, OrderType, Side
from harness.rng import SeededRng
from sim.venue.matching.engine import MatchingEngine
from sim.venue.matching.types import DepthMode, MatchEvent, OrderFilled, SimOrder
from sim.venue.profile import load_profile
from sim.venue.venue import SimVenue

ARRIVAL = 50


def filled(events: Iterable[MatchEvent]) -> list[tuple[int, int]]:
    """(order id, qty) of each fill."""
    return [(e.order_id, e.qty) for e in events if isinstance(e, OrderFilled)]


def inside_the_spread() -> tuple[MatchingEngine, SimOrder]:
    """BOOK engine with bid 99x1 / ask 101x1; our buy 1 @100 arrives at 50 where the book shows nothing."""
    eng = engine(DepthMode.BOOK)
    snapshot(eng, bids=[("99", "1")], asks=[("101", "1")], ts=1)
    o = limit(1, BUY, "1", "100")
    eng.submit(o, ARRIVAL)
    assert (o.queue_ahead, o.queue_known) == (0, True)
    return eng, o


def test_volume_stamped_before_our_arrival_at_an_empty_level_is_ahead_of_us() -> None:
    eng, o = inside_the_spread()
    eng.on_book_delta(delta(BUY, "100", "2", ts=ARRIVAL - 10))  # delivered late, happened before us
    assert o.queue_ahead == fx("2")
    assert filled(eng.on_trade(trade("100", "1.5", SELL, ts=60))) == []
    assert filled(eng.on_trade(trade("100", "1", SELL, ts=61))) == [(1, fx("0.5"))]


def test_volume_stamped_at_or_after_our_arrival_is_behind_us() -> None:
    for stamp in (ARRIVAL, ARRIVAL + 10):
        eng, o = inside_the_spread()
        eng.on_book_delta(delta(BUY, "100", "2", ts=stamp))
        assert o.queue_ahead == 0
        assert filled(eng.on_trade(trade("100", "1", SELL, ts=60))) == [(1, fx("1"))]


def test_a_late_update_moves_the_queue_by_its_whole_change_and_leaves_later_trades_pending() -> None:
    eng = engine(DepthMode.BOOK)
    snapshot(eng, bids=[("98", "2")], asks=[("101", "1")], ts=1)
    o = limit(1, BUY, "1", "98")
    eng.submit(o, ARRIVAL)
    assert o.queue_ahead == fx("2")
    eng.on_trade(trade("98", "1", SELL, ts=55))  # after us: takes 1 from the front
    assert o.queue_ahead == fx("1")
    eng.on_book_delta(delta(BUY, "98", "3", ts=ARRIVAL - 5))  # 1 joined before us (not the trade yet)
    assert o.queue_ahead == fx("2")
    eng.on_book_delta(delta(BUY, "98", "2", ts=70))  # the trade, now in the book: no cancellation
    assert o.queue_ahead == fx("2")
    # a late update that shrinks the level took the volume from in front of us
    eng.on_book_delta(delta(BUY, "98", "1.5", ts=ARRIVAL - 1))
    assert o.queue_ahead == fx("1.5")


def test_a_snapshot_stamped_before_our_arrival_puts_its_level_ahead_of_us() -> None:
    eng, o = inside_the_spread()
    eng.on_trade(trade("100", "0.25", SELL, ts=55))  # reaches us at once (nothing ahead yet)
    assert o.filled == fx("0.25")
    snapshot(eng, bids=[("100", "2"), ("99", "1")], asks=[("101", "1")], ts=ARRIVAL - 20)
    assert o.queue_ahead == fx("1.75")  # 2 stood there before us; the later trade took 0.25
    snapshot(eng, bids=[("100", "1"), ("99", "1")], asks=[("101", "1")], ts=80)
    assert o.queue_ahead == fx("1")  # a later snapshot only clamps


def test_an_order_resting_before_the_book_exists_takes_its_level_from_the_first_snapshot() -> None:
    eng = engine(DepthMode.BOOK)
    o = limit(1, BUY, "1", "100")
    eng.submit(o, ARRIVAL)  # no snapshot yet: the engine cannot know who is ahead
    assert o.queue_known is False
    snapshot(eng, bids=[("100", "3")], asks=[("101", "1")], ts=ARRIVAL + 100)
    assert (o.queue_ahead, o.queue_known) == (fx("3"), True)
    assert filled(eng.on_trade(trade("100", "3.5", SELL, ts=ARRIVAL + 200))) == [(1, fx("0.5"))]


def test_quotes_mode_top_stamped_before_our_arrival_is_ahead_of_us() -> None:
    eng = engine(DepthMode.QUOTES)
    eng.on_quote(quote("99", "1", "101", "1", ts=1))
    o = limit(1, BUY, "1", "100")
    eng.submit(o, ARRIVAL)
    assert (o.queue_ahead, o.queue_known) == (0, True)
    eng.on_quote(quote("100", "2", "101", "1", ts=ARRIVAL - 10))
    assert o.queue_ahead == fx("2")
    eng.on_quote(quote("100", "1.5", "101", "1", ts=ARRIVAL - 5))  # shrank before us: from the front
    assert o.queue_ahead == fx("1.5")
    eng.on_quote(quote("100", "4", "101", "1", ts=ARRIVAL + 5))  # joined after us
    assert o.queue_ahead == fx("1.5")


def test_venue_hands_the_engine_each_book_row_with_its_own_stamp() -> None:
    """Through ``SimVenue.on_book`` (book sync included), a late row still counts as before us."""
    now = [0]
    venue = SimVenue(load_profile("binance"), balances={"USDT": Decimal(100_000), "BTC": Decimal(1)},
                     rng=SeededRng(1), now=lambda: now[0], depth=DepthMode.BOOK)

    def row(side: int, price: str, size: str, ts: int, flags: int = F_LAST) -> BookDelta:
        return BookDelta(ts, ts, "binance", "BTCUSDT", side, fx(price), fx(size), -1, -1, -1, flags)

    venue.on_book(row(BUY, "60000", "1", 1, F_SNAPSHOT))
    venue.on_book(row(SELL, "60001", "1", 1, F_SNAPSHOT | F_LAST))
    now[0] = ARRIVAL
    venue.submit(OrderRequest("c1", "binance", "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal("0.01"),
                              price=Decimal("60000.5")))
    order = venue.engines["BTCUSDT"].open_orders()[0]
    assert order.queue_ahead == 0
    venue.on_book(row(BUY, "60000.5", "0.3", ARRIVAL - 1))
    assert order.queue_ahead == fx("0.3")
    venue.on_book(row(BUY, "60000.5", "0.8", ARRIVAL + 1))
    assert order.queue_ahead == fx("0.3")

"""Queue position of resting orders: trades, cancels (conservative and probabilistic), quotes, snapshots."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable

from matching_fixtures import BUY, SELL, delta, engine, fx, limit, quote, snapshot, trade

from harness.model import Liquidity, OrderType
from sim.venue.matching.engine import MatchingEngine
from sim.venue.matching.types import DepthMode, MatchEvent, OrderFilled, SimOrder
from sim.venue.queue_models import ConservativeQueueModel, LogProbQueueModel, PowerProbQueueModel, QueueModel

M = Liquidity.MAKER


def qty_filled(events: Iterable[MatchEvent]) -> list[tuple[int, int]]:
    """(order id, qty) of each fill."""
    return [(e.order_id, e.qty) for e in events if isinstance(e, OrderFilled)]


def placed(model: QueueModel | None = None) -> tuple[MatchingEngine, SimOrder]:
    """BOOK engine with bids 99x1, 98x2 and asks 100x1; our buy 1 @98 rests behind 2."""
    eng = engine(DepthMode.BOOK, queue_model=model)
    snapshot(eng, bids=[("99", "1"), ("98", "2")], asks=[("100", "1")])
    o = limit(1, BUY, "1", "98")
    eng.submit(o, 5)
    assert o.queue_ahead == fx("2")
    return eng, o


def test_trades_at_our_price_shrink_the_queue_then_fill_the_volume_that_reaches_us() -> None:
    eng, o = placed()
    assert eng.on_trade(trade("98", "1.5", SELL)) == []
    assert o.queue_ahead == fx("0.5")
    ev = eng.on_trade(trade("98", "1", SELL))
    assert qty_filled(ev) == [(1, fx("0.5"))]
    assert o.queue_ahead == 0
    assert all(e.liquidity is M and e.price == fx("98") for e in ev if isinstance(e, OrderFilled))


def test_own_orders_at_one_level_queue_behind_each_other() -> None:
    eng, _a = placed()
    b = limit(2, BUY, "1", "98")
    eng.submit(b, 6)
    assert b.queue_ahead == fx("2")
    assert qty_filled(eng.on_trade(trade("98", "2.5", SELL))) == [(1, fx("0.5"))]
    # 1.0 traded: a's last 0.5, then 0.5 reaches b (which stood behind a's 0.5)
    assert qty_filled(eng.on_trade(trade("98", "1", SELL))) == [(1, fx("0.5")), (2, fx("0.5"))]


def test_trade_through_our_price_fills_regardless_of_queue_sharing_its_size() -> None:
    eng, _a = placed()
    b = limit(2, BUY, "1", "97.5")
    eng.submit(b, 6)
    ev = eng.on_trade(trade("97", "1.2", SELL))
    assert qty_filled(ev) == [(1, fx("1")), (2, fx("0.2"))]
    assert [e.price for e in ev if isinstance(e, OrderFilled)] == [fx("98"), fx("97.5")]


def test_conservative_model_takes_cancels_from_behind_unless_the_level_falls_below_us() -> None:
    eng, o = placed(ConservativeQueueModel())
    eng.on_book_delta(delta(BUY, "98", "5"))  # 3 joined behind us
    assert o.queue_ahead == fx("2")
    eng.on_book_delta(delta(BUY, "98", "3.5"))  # 1.5 cancelled, fits behind us
    assert o.queue_ahead == fx("2")
    eng.on_book_delta(delta(BUY, "98", "1"))  # 2.5 cancelled, only 1.5 behind: 1 was ahead
    assert o.queue_ahead == fx("1")


def test_level_decrease_explained_by_trades_is_not_counted_twice() -> None:
    eng, o = placed(PowerProbQueueModel(n=2))
    eng.on_book_delta(delta(BUY, "98", "5"))
    eng.on_trade(trade("98", "1", SELL))
    assert o.queue_ahead == fx("1")
    eng.on_book_delta(delta(BUY, "98", "4"))  # the trade, now seen in the book
    assert o.queue_ahead == fx("1")


def test_power_model_expected_share_is_exact_integer_maths() -> None:
    eng, o = placed(PowerProbQueueModel(n=2))
    eng.on_book_delta(delta(BUY, "98", "5"))  # ahead 2, behind 3
    eng.on_book_delta(delta(BUY, "98", "4"))  # 1 cancelled: 4/13 of it ahead, rounded down
    assert o.queue_ahead == fx("2") - fx("1") * 4 // 13 == 1_692_307_693


def test_log_model_expected_share() -> None:
    eng, o = placed(LogProbQueueModel())
    eng.on_book_delta(delta(BUY, "98", "5"))
    eng.on_book_delta(delta(BUY, "98", "4"))
    wa, wb = round(math.log1p(2) * 2**32), round(math.log1p(3) * 2**32)
    assert o.queue_ahead == fx("2") - fx("1") * wa // (wa + wb)
    assert 1_557_000_000 < o.queue_ahead < 1_558_000_000  # ln3/(ln3+ln4) = 0.4425 of the cancel ahead


def _sampled_path(seed: int) -> list[int]:
    eng, o = placed(PowerProbQueueModel(n=1, rng=random.Random(seed)))
    eng.on_book_delta(delta(BUY, "98", "20"))
    path = []
    for size in ["19.5", "19", "18.5", "18", "17.5", "17", "16.5", "16"]:
        eng.on_book_delta(delta(BUY, "98", size))
        path.append(o.queue_ahead)
    return path


def test_sampled_probabilistic_model_is_deterministic_per_seed_and_all_or_nothing() -> None:
    a, b = _sampled_path(7), _sampled_path(7)
    assert a == b
    steps = [fx("2") - a[0]] + [x - y for x, y in itertools.pairwise(a)]
    assert set(steps) <= {0, fx("0.5")}
    paths = {tuple(_sampled_path(seed)) for seed in range(12)}
    assert len(paths) > 1  # the seed matters
    # pinned: a change here means runs recorded with this seed no longer reproduce
    assert _sampled_path(7) == [2_000_000_000, 2_000_000_000, 2_000_000_000, 2_000_000_000,
                                1_500_000_000, 1_500_000_000, 1_000_000_000, 1_000_000_000]


def test_level_gone_means_nobody_ahead() -> None:
    eng, o = placed()
    eng.on_book_delta(delta(BUY, "98", "0"))
    assert o.queue_ahead == 0
    assert qty_filled(eng.on_trade(trade("98", "0.25", SELL))) == [(1, fx("0.25"))]


def test_quotes_mode_queue_follows_the_top_of_book() -> None:
    eng = engine(DepthMode.QUOTES, default_queue_ahead=fx("10"))
    eng.on_quote(quote("99", "3", "100", "1"))
    o = limit(1, BUY, "1", "99")
    eng.submit(o, 11)
    assert (o.queue_ahead, o.queue_known) == (fx("3"), True)
    # quotes stamped after our arrival at 11
    eng.on_quote(quote("99", "2", "100", "1", ts=12))  # 1 cancelled, nobody behind us: it was ahead
    assert o.queue_ahead == fx("2")
    eng.on_quote(quote("99.5", "1", "100", "1", ts=13))  # the top moved up: our level is unseen
    assert o.queue_ahead == fx("2")
    eng.on_quote(quote("99", "4", "100", "1", ts=14))
    assert o.queue_ahead == fx("2")
    below = limit(2, BUY, "1", "98")
    eng.submit(below, 15)
    assert (below.queue_ahead, below.queue_known) == (fx("10"), False)
    eng.on_quote(quote("98", "3", "100", "1", ts=16))  # 99 emptied; 98 seen for the first time
    assert (o.queue_ahead, below.queue_ahead, below.queue_known) == (0, fx("3"), True)


def test_snapshot_clamps_queues_and_matches_crossed_orders() -> None:
    eng, o = placed()
    ev = snapshot(eng, bids=[("98", "0.5")], asks=[("97.5", "0.3"), ("99", "1")], ts=20)
    assert [(e.price, e.qty, e.liquidity) for e in ev if isinstance(e, OrderFilled)] == [
        (fx("98"), fx("0.3"), M)]
    assert o.queue_ahead == fx("0.5")
    assert o.filled == fx("0.3")
    assert eng.book_available(SELL, fx("97.5")) == 0


def test_resting_sell_fills_from_a_bid_that_appears_at_or_above_it() -> None:
    eng = engine(DepthMode.BOOK)
    snapshot(eng, bids=[("99", "1")], asks=[("101", "1")])
    s = SimOrder(1, SELL, OrderType.LIMIT, fx("2"), price=fx("100"))
    eng.submit(s, 2)
    ev = eng.on_book_delta(delta(BUY, "100.5", "0.4", ts=3))
    assert [(e.price, e.qty, e.liquidity) for e in ev if isinstance(e, OrderFilled)] == [
        (fx("100"), fx("0.4"), M)]
    assert eng.on_book_delta(delta(BUY, "99", "5", ts=4)) == []

"""Batches, time-only inputs and determinism of the matching engine."""

from __future__ import annotations

import random

import pytest
from matching_fixtures import BUY, SELL, delta, engine, fx, limit, quote, snapshot, trade

from harness.model import BookDelta, OrderType, TimeInForce, Trade
from sim.venue.matching.engine import MatchingEngine
from sim.venue.matching.types import REASON_GTD, DepthMode, MatchEvent, OrderExpired, OrderFilled, SimOrder
from sim.venue.queue_models import PowerProbQueueModel


def scripted_run(seed: int) -> list[MatchEvent]:
    """A random but seeded replay with resting orders and a sampled queue model."""
    rng = random.Random(seed)
    eng = engine(DepthMode.BOOK, maker="-0.0001", taker="0.0004",
                 queue_model=PowerProbQueueModel(n=3, rng=random.Random(seed + 1)))
    out: list[MatchEvent] = snapshot(eng, bids=[("99", "5"), ("98", "5")], asks=[("100", "5"), ("101", "5")])
    oid = 0
    for ts in range(2, 400):
        r = rng.random()
        if r < 0.4:
            side = rng.choice((BUY, SELL))
            px = rng.choice(["98", "99", "100", "101"])
            out += eng.on_book_delta(delta(side, px, str(rng.randint(0, 8)), ts=ts))
        elif r < 0.8:
            out += eng.on_trade(trade(rng.choice(["98", "99", "100", "101"]), str(rng.randint(1, 4)),
                                      rng.choice((-1, 0, 1)), ts=ts))
        elif r < 0.95:
            oid += 1
            out += eng.submit(limit(oid, rng.choice((BUY, SELL)), str(rng.randint(1, 3)),
                                    rng.choice(["98", "99", "100", "101"])), ts)
        elif oid:
            out += eng.cancel(rng.randint(1, oid), ts)
    return out


def test_same_inputs_and_seed_give_identical_events() -> None:
    a, b = scripted_run(3), scripted_run(3)
    assert a == b
    assert len(a) > 50
    assert a != scripted_run(4)


def test_batch_equals_one_by_one() -> None:
    feed: list[Trade | BookDelta] = [
        trade("99", "0.5", SELL, ts=2), delta(BUY, "99", "0.5", ts=3), trade("99", "0.7", SELL, ts=4)]

    def fresh() -> MatchingEngine:
        eng = engine(DepthMode.BOOK)
        snapshot(eng, bids=[("99", "1")], asks=[("100", "1")])
        eng.submit(limit(1, BUY, "1", "99"), 1)
        return eng

    one = fresh()
    singles: list[MatchEvent] = []
    for item in feed:
        singles += one.on_trade(item) if isinstance(item, Trade) else one.on_book_delta(item)
    assert fresh().on_market(feed) == singles
    # queue 1: 0.5 traded ahead, the book confirms it, then 0.2 of 0.7 reaches us
    assert [e.qty for e in singles if isinstance(e, OrderFilled)] == [fx("0.2")]
    with pytest.raises(TypeError):
        fresh().on_market([object()])  # type: ignore[list-item]


def test_inputs_of_another_depth_still_advance_time() -> None:
    eng = engine(DepthMode.TRADES)
    eng.on_trade(trade("100", "1", ts=1))
    eng.submit(limit(1, BUY, "1", "99", TimeInForce.GTD, expire_at_ns=50), 2)
    assert eng.on_quote(quote("99", "1", "100", "1", ts=49)) == []
    assert eng.on_book_delta(delta(BUY, "99", "1", ts=50)) == [OrderExpired(50, 1, fx("1"), REASON_GTD)]
    assert eng.open_orders() == []


def test_far_away_trades_take_the_fast_path_without_missing_a_trigger() -> None:
    eng = engine(DepthMode.TRADES)
    eng.on_trade(trade("100", "1", ts=1))
    eng.submit(limit(1, BUY, "1", "90"), 2)
    eng.submit(SimOrder(2, SELL, OrderType.TRAILING_STOP, fx("1"), trail=fx("5")), 2)
    for i in range(1000):
        assert eng.on_trade(trade(str(100 + i % 3), "1", ts=3 + i)) == []
    ev = eng.on_trade(trade("97", "1", ts=2000))
    assert [type(e).__name__ for e in ev] == ["OrderTriggered", "OrderFilled"]

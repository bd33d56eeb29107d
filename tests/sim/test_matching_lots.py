"""Fills, remainders and queues stay on the symbol's lot grid (``MatchingConfig.lot_size``).

The deterministic probabilistic queue models estimate in 1e-9 units; the engine advances the
queue by whole lots and carries the rest, so no fill is ever a fraction of a lot.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from matching_fixtures import BUY, SELL, delta, engine, fx, limit, market, snapshot, trade

from harness.model import OrderType
from harness.money import to_fixed
from harness.rng import SeededRng
from sim.venue.matching.engine import MatchingEngine
from sim.venue.matching.types import DepthMode, MatchEvent, ModifyRejected, OrderFilled, OrderRejected, SimOrder
from sim.venue.profile import load_profile
from sim.venue.queue_models import LogProbQueueModel, PowerProbQueueModel, QueueModel
from sim.venue.venue import SimVenue

LOT = fx("0.001")


def fills(events: list[MatchEvent]) -> list[tuple[int, int]]:
    """(price, qty) of each fill."""
    return [(e.price, e.qty) for e in events if isinstance(e, OrderFilled)]


def placed(model: QueueModel) -> tuple[MatchingEngine, SimOrder]:
    """BOOK engine on a 0.001 lot: bids 98x2, asks 100x1; our buy 1 @98 rests behind 2."""
    eng = engine(DepthMode.BOOK, queue_model=model, lot_size=LOT)
    snapshot(eng, bids=[("98", "2")], asks=[("100", "1")], ts=1)
    o = limit(1, BUY, "1", "98")
    eng.submit(o, 5)
    assert o.queue_ahead == fx("2")
    return eng, o


def test_power_model_fills_are_whole_lots() -> None:
    eng, o = placed(PowerProbQueueModel(n=2))
    eng.on_book_delta(delta(BUY, "98", "5"))  # ahead 2, behind 3
    eng.on_book_delta(delta(BUY, "98", "4"))  # 1 cancelled, 4/13 of it ahead = 0.307692307...
    assert o.queue_ahead == fx("1.693")  # 0.307 applied, 0.000692307 carried
    assert o.queue_carry == fx("1") * 4 // 13 - fx("0.307")
    ev = eng.on_trade(trade("98", "2", SELL, ts=20))
    assert fills(ev) == [(fx("98"), fx("0.307"))]
    assert o.leaves % LOT == 0


def test_the_sub_lot_remainder_is_carried_until_it_makes_a_whole_lot() -> None:
    class TwoFifths:
        """Two fifths of every cancellation were ahead of us."""

        def cancelled_ahead(self, ahead: int, behind: int, cancelled: int) -> int:
            return cancelled * 2 // 5

    eng, o = placed(TwoFifths())
    eng.on_book_delta(delta(BUY, "98", "5"))  # 3 behind us
    path = []
    for size in ("4.999", "4.998", "4.997", "4.996", "4.995", "4.994"):
        eng.on_book_delta(delta(BUY, "98", size))  # one lot cancelled each time
        path.append(o.queue_ahead)
    # 0.4 of a lot each time: carried 0.4, 0.8, then 1.2 moves the queue one lot (0.2 left) ...
    assert path == [fx("2"), fx("2"), fx("1.999"), fx("1.999"), fx("1.998"), fx("1.998")]
    assert o.queue_carry == fx("0.0004")


def test_log_model_fills_are_whole_lots() -> None:
    eng, o = placed(LogProbQueueModel())
    eng.on_book_delta(delta(BUY, "98", "5"))
    eng.on_book_delta(delta(BUY, "98", "4"))
    ahead = o.queue_ahead
    assert ahead % LOT == 0 and fx("1.5") < ahead < fx("1.6")  # 0.4425 of the cancel was ahead
    assert fills(eng.on_trade(trade("98", "2", SELL, ts=20))) == [(fx("98"), fx("2") - ahead)]


def test_book_sizes_off_the_lot_grid_are_taken_in_whole_lots() -> None:
    eng = engine(DepthMode.BOOK, lot_size=LOT)
    snapshot(eng, bids=[("98", "1")], asks=[("100", "0.0015"), ("101", "1")], ts=1)
    assert fills(eng.submit(market(1, BUY, "0.002"), 5)) == [(fx("100"), fx("0.001")), (fx("101"), fx("0.001"))]
    rest = limit(2, SELL, "0.002", "98")  # crosses the bid, takes whole lots
    assert fills(eng.submit(rest, 6)) == [(fx("98"), fx("0.002"))]
    o = limit(3, BUY, "0.005", "97")
    eng.submit(o, 7)
    assert fills(eng.on_trade(trade("96", "0.0035", SELL, ts=8))) == [(fx("97"), fx("0.003"))]


def test_quantities_off_the_lot_grid_are_rejected() -> None:
    eng = engine(DepthMode.BOOK, lot_size=LOT)
    snapshot(eng, bids=[("98", "1")], asks=[("100", "1")], ts=1)
    (rejected,) = eng.submit(limit(1, BUY, "0.0015", "97"), 5)
    assert isinstance(rejected, OrderRejected) and rejected.reason == "Quantity must be a multiple of the lot size."
    eng.submit(limit(2, BUY, "0.002", "97"), 6)
    (refused,) = eng.modify(2, 7, qty=fx("0.0025"))
    assert isinstance(refused, ModifyRejected) and refused.reason == "Quantity must be a multiple of the lot size."


def test_venue_engines_use_the_profile_lot_size() -> None:
    profile = load_profile("binance")
    venue = SimVenue(profile, balances={"USDT": Decimal(1000)}, rng=SeededRng(1), now=lambda: 0)
    for symbol, rules in profile.symbols.items():
        assert venue.engines[symbol].config.lot_size == to_fixed(rules.lot_size)


level_op = st.one_of(
    st.tuples(st.just("delta"), st.integers(0, 6000)),  # level size in lots
    st.tuples(st.just("trade"), st.integers(1, 1500)),  # trade size in lots at our price
    st.tuples(st.just("through"), st.integers(1, 500)),  # trade size in lots below our price
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["power1", "power2", "power3", "log"]), st.lists(level_op, max_size=40))
def test_property_fills_remainders_and_queues_stay_on_the_lot_grid(model_name: str, ops: list[tuple[str, int]]) -> None:
    model: QueueModel = LogProbQueueModel() if model_name == "log" else PowerProbQueueModel(n=int(model_name[-1]))
    eng = engine(DepthMode.BOOK, queue_model=model, lot_size=LOT)
    snapshot(eng, bids=[("98", "2")], asks=[("100", "1")], ts=1)
    orders = [SimOrder(i, BUY, OrderType.LIMIT, fx("1.5"), price=fx("98")) for i in (1, 2)]
    events: list[MatchEvent] = []
    for i, o in enumerate(orders):
        events += eng.submit(o, 2 + i)
    for ts, (kind, lots) in enumerate(ops, start=10):
        if kind == "delta":
            events += eng.on_book_delta(delta(BUY, "98", str(Decimal(lots) / 1000), ts=ts))
        else:
            events += eng.on_trade(trade("98" if kind == "trade" else "97", str(Decimal(lots) / 1000), SELL, ts=ts))
        for o in orders:
            assert o.queue_ahead % LOT == 0 and 0 <= o.queue_carry < LOT
    for e in events:
        if isinstance(e, OrderFilled):
            assert e.qty % LOT == 0 and e.qty > 0 and e.leaves_qty % LOT == 0

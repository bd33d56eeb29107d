"""Property tests: our fills never use the same liquidity twice, and fills add up per order.

TRADES mode, stated precisely: passive (MAKER) fills come only from trade volume, so

* for every trade, the MAKER fills it causes sum to at most its size, buys at prices at or
  above the trade price and sells at or below it;
* hence for every price ``P``: the sum of our MAKER buy fills at prices <= ``P`` is at most the
  summed size of trades at prices <= ``P`` (trades at or through those levels), and likewise
  for sells at prices >= ``P``.

BOOK mode: between two market updates of an ask (bid) level, our TAKER buys (sells) at that
level sum to at most the size the last update displayed there, however many orders take it.
"""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st
from matching_fixtures import BUY, SELL, delta, engine, trade

from harness.model import Liquidity, OrderType, TimeInForce
from sim.venue.matching.engine import MatchingEngine
from sim.venue.matching.types import (
    CancelRejected,
    DepthMode,
    MatchEvent,
    ModifyRejected,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    SimOrder,
)

UNIT = 10**9
Op = tuple[str, int, int, int]  # what the op strategies draw: a kind, then three ints read by that kind
PRICES = [95 + i for i in range(11)]

trade_op = st.tuples(st.just("trade"), st.sampled_from(PRICES), st.integers(1, 5), st.sampled_from([-1, 0, 1]))
limit_op = st.tuples(st.just("limit"), st.sampled_from([BUY, SELL]), st.sampled_from(PRICES), st.integers(1, 4))
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 20), st.just(0), st.just(0))
modify_op = st.tuples(st.just("modify"), st.integers(0, 20), st.sampled_from([0, *PRICES]), st.integers(1, 6))
trades_ops = st.lists(st.one_of(trade_op, trade_op, limit_op, cancel_op, modify_op), max_size=60)


class Ledger:
    """Checks per-order bookkeeping of every event the engine emits."""

    def __init__(self) -> None:
        self.filled: dict[int, int] = defaultdict(int)
        self.closed: set[int] = set()

    def see(self, eng: MatchingEngine, events: list[MatchEvent]) -> None:
        for e in events:
            if isinstance(e, CancelRejected | ModifyRejected):
                continue
            assert e.order_id not in self.closed, f"event after the order closed: {e}"
            if isinstance(e, OrderFilled):
                assert e.qty > 0
                self.filled[e.order_id] += e.qty
                if e.leaves_qty == 0:
                    self.closed.add(e.order_id)
            elif isinstance(e, OrderCancelled | OrderExpired | OrderRejected):
                self.closed.add(e.order_id)
        for oid in self.closed:
            assert eng.get(oid) is None
        for o in eng.open_orders():
            assert o.id not in self.closed
            assert 0 <= o.filled == self.filled[o.id] < o.qty


@settings(max_examples=300, deadline=None)
@given(trades_ops)
def test_trades_mode_fills_never_exceed_the_trade_volume_that_reached_them(ops: list[Op]) -> None:
    eng = engine(DepthMode.TRADES)
    ledger = Ledger()
    ledger.see(eng, eng.on_trade(trade("100", "1", ts=1)))
    ids: list[int] = []
    trade_volume: list[tuple[int, int]] = []
    maker_fills: list[tuple[int, int, int]] = []  # (side, price, qty)
    ts = 2
    for kind, a, b, c in ops:
        ts += 1
        if kind == "trade":
            ev = eng.on_trade(trade(str(a), str(b), aggressor=c, ts=ts))
            made = [e for e in ev if isinstance(e, OrderFilled)]
            assert all(e.liquidity is Liquidity.MAKER for e in made)
            assert sum(e.qty for e in made) <= b * UNIT
            for e in made:
                assert (e.price - a * UNIT) * e.side >= 0
                maker_fills.append((e.side, e.price, e.qty))
            trade_volume.append((a * UNIT, b * UNIT))
        elif kind == "limit":
            oid = len(ids) + 1
            ids.append(oid)
            ev = eng.submit(SimOrder(oid, a, OrderType.LIMIT, c * UNIT, price=b * UNIT), ts)
            assert all(e.liquidity is Liquidity.TAKER for e in ev if isinstance(e, OrderFilled))
        elif kind == "cancel":
            ev = eng.cancel(ids[a % len(ids)] if ids else 99, ts)
        else:
            target = ids[a % len(ids)] if ids else 99
            ev = eng.modify(target, ts, price=b * UNIT if b else None, qty=c * UNIT)
            assert all(e.liquidity is Liquidity.TAKER for e in ev if isinstance(e, OrderFilled))
        ledger.see(eng, ev)
        for p in PRICES:
            level = p * UNIT
            volume_below = sum(s for px, s in trade_volume if px <= level)
            volume_above = sum(s for px, s in trade_volume if px >= level)
            assert sum(q for side, px, q in maker_fills if side == BUY and px <= level) <= volume_below
            assert sum(q for side, px, q in maker_fills if side == SELL and px >= level) <= volume_above


book_delta_op = st.tuples(st.just("delta"), st.sampled_from([BUY, SELL]), st.sampled_from(PRICES),
                          st.integers(0, 3))
take_op = st.tuples(st.sampled_from(["market", "ioc", "fok"]), st.sampled_from([BUY, SELL]),
                    st.sampled_from(PRICES), st.integers(1, 5))
book_ops = st.lists(st.one_of(book_delta_op, book_delta_op, take_op), max_size=60)


@settings(max_examples=300, deadline=None)
@given(book_ops)
def test_book_mode_taker_fills_never_take_a_level_twice(ops: list[Op]) -> None:
    eng = engine(DepthMode.BOOK)
    ledger = Ledger()
    displayed: dict[tuple[int, int], int] = defaultdict(int)  # (book side, price) -> last size
    taken: dict[tuple[int, int], int] = defaultdict(int)  # taken since that update
    ts = 1
    for i, (kind, side, price, n) in enumerate(ops):
        ts += 1
        if kind == "delta":
            ev = eng.on_book_delta(delta(side, str(price), str(n), ts=ts))
            displayed[(side, price * UNIT)] = n * UNIT
            taken[(side, price * UNIT)] = 0
            assert ev == []  # nothing of ours rests: deltas alone never fill
        else:
            tif = TimeInForce.FOK if kind == "fok" else TimeInForce.IOC
            if kind == "market":
                order = SimOrder(i, side, OrderType.MARKET, n * UNIT)
            else:
                order = SimOrder(i, side, OrderType.LIMIT, n * UNIT, price=price * UNIT, tif=tif)
            ev = eng.submit(order, ts)
            got = [e for e in ev if isinstance(e, OrderFilled)]
            if kind == "fok":
                assert sum(e.qty for e in got) in (0, n * UNIT)
            for e in got:
                assert e.liquidity is Liquidity.TAKER
                key = (-side, e.price)  # a buy takes the ask side
                taken[key] += e.qty
                assert taken[key] <= displayed[key]
                if kind != "market":
                    assert (price * UNIT - e.price) * side >= 0
            assert eng.open_orders() == []
        ledger.see(eng, ev)

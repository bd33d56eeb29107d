"""PositionBook: per-venue and aggregated positions, PnL, commissions and history (Properties 25, 26, 28)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.model import Fill, Liquidity, PositionReport, Side
from harness.positions import PositionBook, PositionChange, PositionKey

D = Decimal
ZERO = D(0)


class StepClock:
    """A clock that advances one microsecond each time it is read."""

    def __init__(self, start_ns: int = 1_000) -> None:
        self.now = start_ns

    def now_ns(self) -> int:
        self.now += 1_000
        return self.now


_seq = iter(range(10**9))


def fill(venue: str, symbol: str, side: Side, qty: str | Decimal, price: str | Decimal, *,
         fee: str | Decimal = "0", fee_asset: str = "USDT", exec_id: str | None = None) -> Fill:
    return Fill(venue, symbol, exec_id or f"e{next(_seq)}", "c1", "v1", side, D(price), D(qty), D(fee), fee_asset,
                Liquidity.TAKER, 0)


# --------------------------------------------------------------------------- examples


def test_fill_sequence_history_and_pnl() -> None:
    book = PositionBook(StepClock())
    r1 = book.apply_fill(fill("binance", "BTCUSDT", Side.BUY, "1", "100", fee="0.1", exec_id="a"))
    r2 = book.apply_fill(fill("binance", "BTCUSDT", Side.BUY, "3", "104", fee="0.001", fee_asset="BTC", exec_id="b"))
    r3 = book.apply_fill(fill("binance", "BTCUSDT", Side.SELL, "1", "110", fee="0.2", exec_id="c"))
    r4 = book.apply_fill(fill("binance", "BTCUSDT", Side.SELL, "3", "100", exec_id="d"))
    assert [r.change for r in (r1, r2, r3, r4) if r] == [PositionChange.OPEN, PositionChange.INCREASE,
                                                         PositionChange.DECREASE, PositionChange.CLOSE]
    assert [r.trigger for r in book.history()] == ["a", "b", "c", "d"]
    assert r2 is not None and (r2.previous_average, r2.new_average) == (D(100), D(103))
    assert r3 is not None and r3.realized_delta == D(7)
    assert r4 is not None and r4.realized_delta == D(-9)
    pos = book.position("binance", "BTCUSDT")
    assert pos is not None
    assert (pos.quantity, pos.average_price, pos.realized_pnl) == (ZERO, ZERO, D(-2))
    assert dict(pos.commissions) == {"BTC": D("0.001"), "USDT": D("0.3")}
    assert pos.updated_ns == book.history()[-1].ts_ns


def test_duplicate_execution_is_ignored_per_venue() -> None:
    book = PositionBook(StepClock())
    assert book.apply_fill(fill("binance", "BTCUSDT", Side.BUY, "1", "100", exec_id="x")) is not None
    assert book.apply_fill(fill("binance", "BTCUSDT", Side.BUY, "1", "100", exec_id="x")) is None
    # the same id on another venue is another execution
    assert book.apply_fill(fill("okx", "BTCUSDT", Side.BUY, "1", "100", exec_id="x")) is not None
    assert book.aggregate("BTCUSDT").quantity == D(2)
    assert len(book.history()) == 2
    assert book.known_execution_ids("binance") == frozenset({"x"})


def test_mark_and_unrealized_long_and_short() -> None:
    book = PositionBook(StepClock())
    book.apply_fill(fill("binance", "BTCUSDT", Side.BUY, "2", "100"))
    book.apply_fill(fill("okx", "BTCUSDT", Side.SELL, "1", "120"))
    assert book.unrealized("binance", "BTCUSDT") == ZERO  # no mark yet
    book.mark("binance", "BTCUSDT", D("110"))
    book.mark("okx", "BTCUSDT", D("110"))
    assert book.unrealized("binance", "BTCUSDT") == D(20)
    assert book.unrealized("okx", "BTCUSDT") == D(10)
    assert book.unrealized("kraken", "BTCUSDT") == ZERO
    agg = book.aggregate("BTCUSDT")
    assert (agg.quantity, agg.unrealized_pnl, agg.average_price) == (D(1), D(30), D(80))
    assert (D(110) - agg.average_price) * agg.quantity == agg.unrealized_pnl


def test_instrument_mapping_aggregates_different_symbols() -> None:
    names = {("binance", "BTCUSDT"): "BTC", ("coinbase", "BTC-USD"): "BTC"}
    book = PositionBook(StepClock(), instrument_of=lambda v, s: names.get((v, s), s))
    book.apply_fill(fill("binance", "BTCUSDT", Side.BUY, "1", "100"))
    book.apply_fill(fill("coinbase", "BTC-USD", Side.BUY, "3", "200"))
    book.apply_fill(fill("binance", "ETHUSDT", Side.BUY, "5", "10"))
    agg = book.aggregate("BTC")
    assert [leg.key for leg in agg.legs] == [PositionKey("binance", "BTCUSDT"), PositionKey("coinbase", "BTC-USD")]
    assert (agg.quantity, agg.average_price) == (D(4), D(175))
    assert [a.instrument for a in book.aggregates()] == ["BTC", "ETHUSDT"]
    assert book.aggregate("DOGE").quantity == ZERO and book.aggregate("DOGE").legs == ()


def test_positions_listing_and_flat_filter() -> None:
    book = PositionBook(StepClock())
    book.apply_fill(fill("okx", "ETHUSDT", Side.BUY, "1", "10"))
    book.apply_fill(fill("binance", "BTCUSDT", Side.BUY, "1", "10"))
    book.apply_fill(fill("binance", "BTCUSDT", Side.SELL, "1", "11"))
    assert [p.key for p in book.all()] == [("binance", "BTCUSDT"), ("okx", "ETHUSDT")]
    assert [p.key for p in book.positions("binance")] == [("binance", "BTCUSDT")]
    assert [p.key for p in book.positions(include_flat=False)] == [("okx", "ETHUSDT")]
    assert book.position("kraken", "BTCUSDT") is None
    assert [r.symbol for r in book.history(venue="binance")] == ["BTCUSDT", "BTCUSDT"]
    assert [r.venue for r in book.history(symbol="ETHUSDT")] == ["okx"]


def test_set_from_venue_records_and_is_idempotent() -> None:
    book = PositionBook(StepClock())
    book.apply_fill(fill("binance", "BTCUSDT", Side.BUY, "1", "100"))
    report = PositionReport("binance", "BTCUSDT", D("1.5"), D("101"), 0)
    rec = book.set_from_venue(report, "test")
    assert rec is not None and rec.change is PositionChange.RECONCILE and rec.trigger == "reconcile:test"
    assert (rec.previous_quantity, rec.new_quantity, rec.previous_average, rec.new_average) == (
        D(1), D("1.5"), D(100), D(101))
    assert book.set_from_venue(report, "test") is None
    assert len(book.history()) == 2
    # a venue flat report for a symbol we never held creates nothing
    assert book.set_from_venue(PositionReport("binance", "ETHUSDT", ZERO, D(5), 0), "x") is None
    assert book.position("binance", "ETHUSDT") is None


@pytest.mark.parametrize(("field", "value"), [("quantity", "0"), ("quantity", "-1"), ("price", "0"),
                                              ("price", "NaN"), ("fee", "Infinity")])
def test_bad_fill_is_refused_naming_field(field: str, value: str) -> None:
    book = PositionBook(StepClock())
    kwargs = {"qty": "1", "price": "1", "fee": "0"}
    kwargs["qty" if field == "quantity" else field] = value
    bad = fill("binance", "BTCUSDT", Side.BUY, kwargs["qty"], kwargs["price"], fee=kwargs["fee"], exec_id="bad")
    with pytest.raises(ValueError, match=field):
        book.apply_fill(bad)
    assert book.all() == [] and book.known_execution_ids("binance") == frozenset()


def test_bad_mark_is_refused() -> None:
    with pytest.raises(ValueError, match="mark price"):
        PositionBook(StepClock()).mark("binance", "BTCUSDT", D(0))


# --------------------------------------------------------------------------- properties

VENUES = ("binance", "okx", "coinbase")
SYMBOLS = ("BTCUSDT", "ETHUSDT")
prices = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)
quantities = st.decimals(min_value=D("0.001"), max_value=D("50"), places=3)
fees = st.decimals(min_value=D("-1"), max_value=D("5"), places=4)
fill_tuples = st.tuples(st.sampled_from(VENUES), st.sampled_from(SYMBOLS), st.sampled_from(Side), quantities,
                        prices, fees, st.sampled_from(("USDT", "BTC", "BNB")))


def _fills(rows: list[tuple[str, str, Side, Decimal, Decimal, Decimal, str]]) -> list[Fill]:
    return [Fill(v, s, f"x{i}", "c", "o", side, p, q, fee, asset, Liquidity.MAKER, i)
            for i, (v, s, side, q, p, fee, asset) in enumerate(rows)]


@settings(max_examples=150)
@given(st.lists(fill_tuples, max_size=40), st.fixed_dictionaries({v: prices for v in VENUES}))
def test_property_25_aggregate_equals_sum_of_parts(rows: list[tuple[str, str, Side, Decimal, Decimal, Decimal, str]],
                                                   marks: dict[str, Decimal]) -> None:
    # BTCUSDT on coinbase is listed as BTC-USD; the mapping folds both into "BTC"
    def venue_symbol(venue: str, symbol: str) -> str:
        return "BTC-USD" if (venue, symbol) == ("coinbase", "BTCUSDT") else symbol

    def instrument(venue: str, symbol: str) -> str:
        return "BTC" if symbol in ("BTCUSDT", "BTC-USD") else symbol

    book = PositionBook(StepClock(), instrument_of=instrument)
    expected_qty: dict[str, Decimal] = defaultdict(Decimal)
    expected_fees: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for generated in _fills(rows):
        f = replace(generated, symbol=venue_symbol(generated.venue, generated.symbol))
        book.apply_fill(f)
        expected_qty[instrument(f.venue, f.symbol)] += f.quantity * f.side.sign
        expected_fees[instrument(f.venue, f.symbol)][f.fee_asset] += f.fee
    for p in book.all():
        book.mark(p.venue, p.symbol, marks[p.venue])
    for name in ("BTC", "ETHUSDT"):
        agg = book.aggregate(name)
        legs = book.all()
        parts = [p for p in legs if instrument(p.venue, p.symbol) == name]
        assert agg.legs == tuple(parts)
        # per-venue positions and the aggregate are queryable; aggregate == sum of the parts, exactly
        assert agg.quantity == sum((p.quantity for p in parts), ZERO) == expected_qty[name]
        assert agg.realized_pnl == sum((p.realized_pnl for p in parts), ZERO)
        assert agg.unrealized_pnl == sum((book.unrealized(p.venue, p.symbol) for p in parts), ZERO)
        assert dict(agg.commissions) == {a: v for a, v in expected_fees[name].items()}
        cost = sum((p.average_price * p.quantity for p in parts), ZERO)
        assert agg.average_price == (cost / agg.quantity if agg.quantity else ZERO)
    # all positions = the union of per-venue listings
    assert book.all() == [p for v in sorted(VENUES) for p in book.positions(v)]


@settings(max_examples=200)
@given(st.lists(st.tuples(st.sampled_from(Side), quantities, prices), min_size=1, max_size=40), prices)
def test_property_26_position_and_pnl_accuracy(rows: list[tuple[Side, Decimal, Decimal]], mark: Decimal) -> None:
    book = PositionBook(StepClock())
    net = ZERO
    cash = ZERO
    for i, (side, qty, price) in enumerate(rows):
        before = book.position("binance", "BTCUSDT")
        prev_qty = before.quantity if before else ZERO
        prev_avg = before.average_price if before else ZERO
        book.apply_fill(Fill("binance", "BTCUSDT", f"e{i}", "c", "o", side, price, qty, ZERO, "USDT",
                             Liquidity.TAKER, i))
        after = book.position("binance", "BTCUSDT")
        assert after is not None
        signed = qty if side is Side.BUY else -qty
        net += signed
        cash -= signed * price
        # add for BUY, subtract for SELL
        assert after.quantity == prev_qty + signed == net
        if prev_qty == 0 or (after.quantity != 0 and (after.quantity > 0) != (prev_qty > 0)):
            assert after.average_price == price  # opened, or reversed: the new side enters at the fill price
        elif (signed > 0) == (prev_qty > 0):
            assert after.average_price == (prev_avg * prev_qty + price * signed) / (prev_qty + signed)
        elif after.quantity == 0:
            assert after.average_price == ZERO
        else:
            assert after.average_price == prev_avg  # reducing never moves the entry
    book.mark("binance", "BTCUSDT", mark)
    pos = book.position("binance", "BTCUSDT")
    assert pos is not None and pos.last_price == mark
    assert book.unrealized("binance", "BTCUSDT") == (mark - pos.average_price) * pos.quantity == pos.unrealized_pnl
    # realized + unrealized is the cash flow marked to market, up to average-price rounding
    assert abs(pos.realized_pnl + pos.unrealized_pnl - (cash + net * mark)) < D("1e-12")


@settings(max_examples=150)
@given(st.lists(st.one_of(
    st.tuples(st.just("fill"), st.sampled_from(Side), quantities, prices, st.integers(0, 30)),
    st.tuples(st.just("venue"), st.sampled_from(Side), quantities, prices, st.integers(0, 30)),
), max_size=40))
def test_property_28_every_change_has_a_history_record(
        ops: list[tuple[str, Side, Decimal, Decimal, int]]) -> None:
    book = PositionBook(StepClock())
    applied: set[str] = set()
    expected_records = 0
    for what, side, qty, price, n in ops:
        before = book.position("okx", "ETHUSDT")
        prev_qty = before.quantity if before else ZERO
        prev_avg = before.average_price if before else ZERO
        if what == "fill":
            exec_id = f"e{n}"  # small id space: some fills are duplicates
            record = book.apply_fill(Fill("okx", "ETHUSDT", exec_id, "c", "o", side, price, qty, ZERO, "USDT",
                                          Liquidity.TAKER, 0))
            if exec_id in applied:
                assert record is None
                continue
            applied.add(exec_id)
            expected_trigger = exec_id
        else:
            target = qty * side.sign if n % 3 else ZERO
            record = book.set_from_venue(PositionReport("okx", "ETHUSDT", target, price, 0), "periodic")
            if target == prev_qty and (target == 0 or price == prev_avg):
                assert record is None
                continue
            expected_trigger = "reconcile:periodic"
        after = book.position("okx", "ETHUSDT")
        assert record is not None and after is not None
        expected_records += 1
        assert (record.previous_quantity, record.new_quantity) == (prev_qty, after.quantity)
        assert (record.previous_average, record.new_average) == (prev_avg, after.average_price)
        assert record.trigger == expected_trigger
        assert record.ts_ns == after.updated_ns
        assert record.change is _expected_change(what, prev_qty, after.quantity)
        assert book.history()[-1] == record
    assert len(book.history("okx", "ETHUSDT")) == expected_records


def _expected_change(what: str, prev: Decimal, new: Decimal) -> PositionChange:
    if what == "venue":
        return PositionChange.RECONCILE
    if prev == 0:
        return PositionChange.OPEN
    if new == 0:
        return PositionChange.CLOSE
    if (new > 0) != (prev > 0):
        return PositionChange.REVERSE
    return PositionChange.INCREASE if abs(new) > abs(prev) else PositionChange.DECREASE

"""Reconciliation against the venue: discrepancies, corrections, alerts, idempotency (Property 27)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.alerts import AlertSink, Severity
from harness.contract import OrderNotFoundError
from harness.model import (
    Aggressor,
    Balance,
    Fill,
    Liquidity,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    PositionReport,
    Side,
)
from harness.positions import PositionBook, PositionChange
from harness.reconcile import (
    DiscrepancyKind,
    apply_missing_fills,
    apply_position_corrections,
    fetch_venue_state,
    raise_discrepancy_alerts,
    reconcile_balances,
    reconcile_fills,
    reconcile_orders,
    reconcile_positions,
    statuses_agree,
)
from scenarios.world import SimWorld

D = Decimal
ZERO = D(0)


class StepClock:
    """A clock that advances one microsecond each time it is read."""

    def __init__(self) -> None:
        self.now = 0

    def now_ns(self) -> int:
        self.now += 1_000
        return self.now


@dataclass(frozen=True, slots=True)
class Order:
    """A minimal OrderView, as the order manager's orders look to reconciliation."""

    client_order_id: str
    venue: str
    symbol: str
    status: OrderStatus
    filled_quantity: Decimal
    quantity: Decimal


def report(cid: str, status: OrderStatus, filled: str | Decimal = "0", *, qty: str = "1", venue: str = "binance",
           symbol: str = "BTCUSDT") -> OrderReport:
    return OrderReport(venue, symbol, cid, f"v-{cid}", status, Side.BUY, OrderType.LIMIT, D(qty), D(filled),
                       D(100), None, 0)


def a_fill(exec_id: str, side: Side, qty: str | Decimal, price: str | Decimal, *, symbol: str = "BTCUSDT",
           ts: int = 0) -> Fill:
    return Fill("binance", symbol, exec_id, "c", "o", side, D(price), D(qty), ZERO, "USDT", Liquidity.MAKER, ts)


# --------------------------------------------------------------------------- orders


def test_reconcile_orders_finds_every_kind_of_order_discrepancy() -> None:
    ours = [
        Order("same", "binance", "BTCUSDT", OrderStatus.OPEN, ZERO, D(1)),
        Order("status", "binance", "BTCUSDT", OrderStatus.OPEN, ZERO, D(1)),
        Order("filled", "binance", "BTCUSDT", OrderStatus.PARTIALLY_FILLED, D("0.2"), D(1)),
        Order("cancelling", "binance", "BTCUSDT", OrderStatus.PENDING_CANCEL, ZERO, D(1)),
        Order("gone", "binance", "BTCUSDT", OrderStatus.OPEN, ZERO, D(1)),
        Order("done", "binance", "BTCUSDT", OrderStatus.FILLED, D(1), D(1)),
        Order("other-venue", "okx", "BTCUSDT", OrderStatus.OPEN, ZERO, D(1)),
    ]
    reports = [report("same", OrderStatus.OPEN), report("status", OrderStatus.CANCELLED),
               report("filled", OrderStatus.PARTIALLY_FILLED, "0.5"), report("cancelling", OrderStatus.OPEN),
               report("stranger", OrderStatus.OPEN), report("same", OrderStatus.OPEN)]
    result = reconcile_orders(ours, reports, venue="binance")
    assert result.checked == 6
    kinds = {(d.kind, d.key) for d in result.discrepancies}
    assert kinds == {(DiscrepancyKind.ORDER_STATUS, "status"),
                     (DiscrepancyKind.ORDER_FILLED_QUANTITY, "filled"),
                     (DiscrepancyKind.ORDER_UNKNOWN_TO_US, "stranger"),
                     (DiscrepancyKind.ORDER_MISSING_AT_VENUE, "gone")}
    by_key = {d.key: d for d in result.discrepancies}
    assert (by_key["status"].ours, by_key["status"].venue_value) == ("OPEN", "CANCELLED")
    assert (by_key["filled"].ours, by_key["filled"].venue_value) == ("0.2", "0.5")
    assert [r.client_order_id for r in result.corrections] == ["status", "filled"]
    assert [r.client_order_id for r in result.unknown] == ["stranger"]
    assert result.missing == ("gone",)
    assert not result.clean


def test_statuses_agree_only_for_requests_in_flight() -> None:
    assert statuses_agree(OrderStatus.PENDING_CANCEL, OrderStatus.OPEN)
    assert statuses_agree(OrderStatus.PENDING_MODIFY, OrderStatus.PARTIALLY_FILLED)
    assert not statuses_agree(OrderStatus.PENDING_CANCEL, OrderStatus.CANCELLED)
    assert not statuses_agree(OrderStatus.OPEN, OrderStatus.PENDING_CANCEL)
    assert not statuses_agree(OrderStatus.PENDING, OrderStatus.OPEN)


statuses = st.sampled_from(OrderStatus)
fills_of = st.sampled_from([D(0), D("0.25"), D("0.5"), D(1)])


@settings(max_examples=150)
@given(st.lists(st.tuples(st.booleans(), st.booleans(), statuses, fills_of, statuses, fills_of), max_size=25))
def test_property_27_order_corrections_are_idempotent(
        rows: list[tuple[bool, bool, OrderStatus, Decimal, OrderStatus, Decimal]]) -> None:
    ours: dict[str, Order] = {}
    reports: list[OrderReport] = []
    for i, (we_know, venue_knows, our_status, our_filled, venue_status, venue_filled) in enumerate(rows):
        cid = f"c{i}"
        if we_know:
            ours[cid] = Order(cid, "binance", "BTCUSDT", our_status, our_filled, D(1))
        if venue_knows:
            reports.append(report(cid, venue_status, venue_filled))
    first = reconcile_orders(ours.values(), reports, venue="binance")
    assert len(first.discrepancies) == len(set((d.kind, d.key) for d in first.discrepancies))
    for r in first.corrections:  # the venue is the truth
        ours[r.client_order_id] = replace(ours[r.client_order_id], status=r.status, filled_quantity=r.filled_quantity)
    for r in first.unknown:  # adopt what the venue has
        ours[r.client_order_id] = Order(r.client_order_id, r.venue, r.symbol, r.status, r.filled_quantity, r.quantity)
    for cid in first.missing:  # the venue has never heard of it: the order manager ends it
        assert cid not in {r.client_order_id for r in reports}
        ours[cid] = replace(ours[cid], status=OrderStatus.REJECTED)
    second = reconcile_orders(ours.values(), reports, venue="binance")
    assert second.clean and second.corrections == () and second.unknown == () and second.missing == ()


# --------------------------------------------------------------------------- fills


@settings(max_examples=100)
@given(st.lists(st.tuples(st.sampled_from(Side), st.decimals(D("0.01"), D(5), places=2)), min_size=1, max_size=20),
       st.data())
def test_property_27_missing_fills_are_applied_once(rows: list[tuple[Side, Decimal]], data: st.DataObject) -> None:
    venue_fills = [a_fill(f"x{i}", side, qty, "100", ts=i) for i, (side, qty) in enumerate(rows)]
    seen = data.draw(st.lists(st.sampled_from(venue_fills), unique_by=lambda f: f.execution_id))
    book = PositionBook(StepClock())
    for f in seen:
        book.apply_fill(f)
    reported = venue_fills + data.draw(st.lists(st.sampled_from(venue_fills), max_size=5))  # duplicates
    missing, discrepancies = reconcile_fills(book.known_execution_ids("binance"), reported)
    assert {f.execution_id for f in missing} == {f.execution_id for f in venue_fills} - {f.execution_id for f in seen}
    assert [d.key for d in discrepancies] == [f.execution_id for f in missing]
    assert all(d.kind is DiscrepancyKind.FILL_MISSING and d.ours == "absent" for d in discrepancies)
    assert len(apply_missing_fills(book, missing)) == len(missing)
    position = book.position("binance", "BTCUSDT")
    assert position is not None and position.quantity == sum((f.quantity * f.side.sign for f in venue_fills), ZERO)
    history = book.history()
    again, none = reconcile_fills(book.known_execution_ids("binance"), reported)
    assert again == () and none == ()
    assert apply_missing_fills(book, missing) == [] and book.history() == history


# --------------------------------------------------------------------------- positions

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")
prices = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)
signed_qty = st.decimals(min_value=D(-20), max_value=D(20), places=3)
perturbation = st.sampled_from(["same", "quantity", "price", "both", "absent_at_venue", "absent_in_book"])


@settings(max_examples=150)
@given(st.lists(st.tuples(st.sampled_from(SYMBOLS), signed_qty, prices, perturbation, signed_qty, prices),
                max_size=len(SYMBOLS), unique_by=lambda row: row[0]))
def test_property_27_venue_is_source_of_truth_with_alerts(
        rows: list[tuple[str, Decimal, Decimal, str, Decimal, Decimal]]) -> None:
    book = PositionBook(StepClock())
    venue_reports: list[PositionReport] = []
    for symbol, qty, price, how, other_qty, other_price in rows:
        if how != "absent_in_book" and qty != 0:
            side = Side.BUY if qty > 0 else Side.SELL
            book.apply_fill(a_fill(f"{symbol}-1", side, abs(qty), price, symbol=symbol))
        venue_qty = other_qty if how in ("quantity", "both", "absent_in_book") else qty
        venue_price = other_price if how in ("price", "both", "absent_in_book") else price
        if how != "absent_at_venue" and venue_qty != 0:
            venue_reports.append(PositionReport("binance", symbol, venue_qty, venue_price, 7))
    before = {p.symbol: p for p in book.positions("binance")}
    history_before = len(book.history())
    alerts = AlertSink()

    corrections, discrepancies = reconcile_positions(book.positions("binance"), venue_reports)
    records = apply_position_corrections(book, corrections, alerts, ts_ns=42)

    truth = {r.symbol: r for r in venue_reports}
    for symbol in SYMBOLS:  # every position now is the venue's
        mine = book.position("binance", symbol)
        venue_qty = truth[symbol].quantity if symbol in truth else ZERO
        venue_avg = truth[symbol].average_entry_price if symbol in truth else ZERO
        got = (mine.quantity, mine.average_price) if mine else (ZERO, ZERO)
        assert got == (venue_qty, venue_avg)
        if mine is not None and symbol in before:
            assert mine.realized_pnl == before[symbol].realized_pnl
    # one alert per discrepancy, both values in its details
    assert len(alerts.alerts) == len(discrepancies)
    for alert, d in zip(alerts.alerts, discrepancies, strict=True):
        assert alert.kind == "position_discrepancy" and alert.ts_ns == 42 and alert.venue == "binance"
        assert (alert.details["ours"], alert.details["venue_value"], alert.details["key"]) == (
            d.ours, d.venue_value, d.key)
        ours_pos = before.get(d.key)
        if d.kind is DiscrepancyKind.POSITION_QUANTITY:
            assert D(d.ours) == (ours_pos.quantity if ours_pos else ZERO)
            assert D(d.venue_value) == (truth[d.key].quantity if d.key in truth else ZERO)
            assert alert.severity is Severity.CRITICAL
    # a RECONCILE history record for each position that moved, with previous and new values
    assert len(book.history()) == history_before + len(records)
    assert {r.symbol for r in records} == {c.report.symbol for c in corrections}
    for r in records:
        assert r.change is PositionChange.RECONCILE and r.trigger.startswith("reconcile:")
        assert r.previous_quantity == (before[r.symbol].quantity if r.symbol in before else ZERO)
    # idempotent: a second pass finds nothing and records nothing
    again, none = reconcile_positions(book.positions("binance"), venue_reports)
    assert again == () and none == ()
    assert apply_position_corrections(book, corrections, AlertSink(), ts_ns=43) == []
    assert len(book.history()) == history_before + len(records)


def test_positions_within_tolerance_and_outside_scope_are_left_alone() -> None:
    book = PositionBook(StepClock())
    book.apply_fill(a_fill("1", Side.BUY, "1.0000", "100"))
    book.apply_fill(a_fill("2", Side.BUY, "2", "10", symbol="ETHUSDT"))
    venue = [PositionReport("binance", "BTCUSDT", D("1.0004"), D("100.5"), 5)]
    corrections, found = reconcile_positions(book.positions(), venue, tolerance=D("0.001"), price_tolerance=D(1),
                                             symbols={"BTCUSDT"})
    assert corrections == () and found == ()
    corrections, found = reconcile_positions(book.positions(), venue, tolerance=D("0.001"))
    assert [(d.kind, d.key) for d in found] == [(DiscrepancyKind.POSITION_PRICE, "BTCUSDT"),
                                                (DiscrepancyKind.POSITION_QUANTITY, "ETHUSDT"),
                                                (DiscrepancyKind.POSITION_PRICE, "ETHUSDT")]
    assert corrections[1].report == PositionReport("binance", "ETHUSDT", ZERO, ZERO, 5)
    with pytest.raises(ValueError, match="tolerance"):
        reconcile_positions([], [], tolerance=D(-1))


# --------------------------------------------------------------------------- balances


def test_reconcile_balances_compares_totals_per_asset() -> None:
    venue = {"BTC": Balance("BTC", D("1.5"), D("0.5")), "USDT": Balance("USDT", D(100), ZERO)}
    assert reconcile_balances({"BTC": D(2), "USDT": D(100)}, venue, venue="okx") == ()
    found = reconcile_balances({"BTC": D(2), "USDT": D(99), "ETH": D(1)}, venue, venue="okx")
    assert [(d.kind, d.venue, d.key, d.ours, d.venue_value) for d in found] == [
        (DiscrepancyKind.BALANCE, "okx", "ETH", "1", "0"), (DiscrepancyKind.BALANCE, "okx", "USDT", "99", "100")]
    assert reconcile_balances({"USDT": D(99)}, venue, venue="okx", tolerance=D(1)) != ()  # BTC unexpected
    alerts = AlertSink()
    raise_discrepancy_alerts(alerts, found, 9)
    assert [a.kind for a in alerts.alerts] == ["balance_discrepancy"] * 2
    assert alerts.alerts[1].details["ours"] == "99" and alerts.alerts[1].details["venue_value"] == "100"


# --------------------------------------------------------------------------- against the simulated venue


def test_sim_venue_truth_wins_after_reconcile() -> None:
    with SimWorld(["binance"], seed=3) as world:
        adapter = world.adapters["binance"]
        world.quote("binance", "BTCUSDT", bid="60000", ask="60002")
        buy = OrderRequest("c1", "binance", "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.5"), price=D("60001"))
        far = OrderRequest("c2", "binance", "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.1"), price=D("50000"))
        world.run(adapter.submit_order(buy))
        world.run(adapter.submit_order(far))
        world.trade("binance", "BTCUSDT", price="60001", size="1", aggressor=Aggressor.SELLER)
        state = world.run(fetch_venue_state(adapter, ["BTCUSDT"]))
        everything = world.run(fetch_venue_state(adapter))

        assert [f.client_order_id for f in state.fills] == ["c1"]
        assert [(p.symbol, p.quantity) for p in state.positions] == [("BTCUSDT", D("0.5"))]
        assert [o.client_order_id for o in state.open_orders] == ["c2"]
        assert everything.fills == state.fills and everything.symbols is None and state.covers("BTCUSDT")

        # our book saw the real fill and a phantom one that never happened at the venue
        clock = world.runtime.clock
        book = PositionBook(clock)
        book.apply_fill(state.fills[0])
        book.apply_fill(replace(state.fills[0], execution_id="phantom", quantity=D("0.2"), price=D("59000")))
        missing, _ = reconcile_fills(book.known_execution_ids("binance"), state.fills)
        assert missing == ()
        alerts = AlertSink()
        corrections, found = reconcile_positions(book.positions("binance"), state.positions, symbols=state.symbols)
        apply_position_corrections(book, corrections, alerts, clock.now_ns())

        mine = book.position("binance", "BTCUSDT")
        truth = state.positions[0]
        assert mine is not None and (mine.quantity, mine.average_price) == (truth.quantity,
                                                                            truth.average_entry_price)
        quantity_alert = next(a for a in alerts.of_kind("position_discrepancy")
                              if a.details["discrepancy"] == "POSITION_QUANTITY")
        assert (D(quantity_alert.details["ours"]), D(quantity_alert.details["venue_value"])) == (D("0.7"), D("0.5"))
        assert len(alerts.alerts) == len(found) == 2
        assert book.history()[-1].change is PositionChange.RECONCILE
        assert reconcile_positions(book.positions("binance"), state.positions) == ((), ())

        # a book that missed the fill entirely catches up through fill reconciliation alone
        fresh = PositionBook(clock)
        missing, _ = reconcile_fills(fresh.known_execution_ids("binance"), state.fills)
        apply_missing_fills(fresh, missing)
        assert reconcile_positions(fresh.positions("binance"), state.positions) == ((), ())

        # orders: c1 filled while we still thought it open; "ghost" never reached the venue
        ours = [Order("c1", "binance", "BTCUSDT", OrderStatus.OPEN, ZERO, D("0.5")),
                Order("c2", "binance", "BTCUSDT", OrderStatus.OPEN, ZERO, D("0.1")),
                Order("ghost", "binance", "BTCUSDT", OrderStatus.OPEN, ZERO, D("0.1"))]
        result = reconcile_orders(ours, state.open_orders, venue="binance", symbols=state.symbols)
        assert result.missing == ("c1", "ghost")
        answers = [world.run(adapter.get_order("BTCUSDT", "c1"))]
        with pytest.raises(OrderNotFoundError):
            world.run(adapter.get_order("BTCUSDT", "ghost"))
        followup = reconcile_orders(ours[:1], answers, venue="binance")
        status, filled = followup.discrepancies
        assert (status.kind, status.ours, status.venue_value) == (DiscrepancyKind.ORDER_STATUS, "OPEN", "FILLED")
        assert (filled.kind, D(filled.ours), D(filled.venue_value)) == (
            DiscrepancyKind.ORDER_FILLED_QUANTITY, ZERO, D("0.5"))
        assert followup.corrections == tuple(answers)

        # balances: what our fills imply, against the venue's account
        fill = state.fills[0]
        expected = {"BTC": D(10) + fill.quantity - fill.fee, "ETH": D(10),
                    "USDT": D(1_000_000) - fill.quantity * fill.price}
        assert fill.fee_asset == "BTC"
        assert reconcile_balances(expected, state.balances, venue="binance") == ()
        wrong = reconcile_balances({**expected, "BTC": D(10) + fill.quantity}, state.balances, venue="binance")
        assert [(d.key, D(d.ours), D(d.venue_value)) for d in wrong] == [
            ("BTC", D(10) + fill.quantity, state.balances["BTC"].total)]

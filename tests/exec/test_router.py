"""harness.router.OrderRouter: criteria (Property 21), books in the reasoning (22), splitting (23),
size rules (24), failover (3), the decision log, and a route between two SimWorld venues.

Expected values are recomputed here independently (a plain Decimal book walk, a plain filter
check) rather than read back from the router."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from harness.clock import ManualClock
from harness.model import (
    BookLevel,
    BookSnapshot,
    OrderType,
    Side,
    SymbolInfo,
    TimeInForce,
    VenueCapabilities,
    VenueFees,
    VenueInfo,
    VenueStatus,
)
from harness.money import from_fixed, to_fixed
from harness.router import (
    OrderRouter,
    RouterConfig,
    RouterConfigError,
    RoutingCriteria,
    RoutingDecision,
    RoutingError,
    estimate_fill,
    size_violation,
)
from scenarios.world import SimWorld

SYMBOL = "X"
CAPS = VenueCapabilities(frozenset(OrderType), frozenset(TimeInForce))
UNAVAILABLE = (VenueStatus.INACTIVE, VenueStatus.MAINTENANCE, VenueStatus.ERROR)


# --------------------------------------------------------------------------- builders


def levels(pairs: list[tuple[Decimal, Decimal]]) -> tuple[BookLevel, ...]:
    return tuple(BookLevel(to_fixed(p), to_fixed(s)) for p, s in pairs)


def book(venue: str, bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]) -> BookSnapshot:
    return BookSnapshot(0, venue, SYMBOL, levels(bids), levels(asks), 1)


def info(venue: str, *, lot: Decimal = Decimal("0.01"), min_qty: Decimal = Decimal("0.01"),
         max_qty: Decimal = Decimal(1000), min_notional: Decimal = Decimal(0),
         maker: Decimal = Decimal("0.0005"), taker: Decimal = Decimal("0.001")) -> VenueInfo:
    rules = SymbolInfo(SYMBOL, "B", "Q", Decimal("0.01"), lot, min_qty, max_qty, min_notional)
    return VenueInfo(venue, {SYMBOL: rules}, VenueFees(maker, taker), CAPS)


@dataclass(frozen=True)
class Venue:
    name: str
    book: BookSnapshot
    info: VenueInfo


def our_side(b: BookSnapshot, side: Side) -> list[tuple[Decimal, Decimal]]:
    raw = b.asks if side is Side.BUY else b.bids
    return [(from_fixed(lv.price), from_fixed(lv.size)) for lv in raw if lv.size > 0]


def naive(b: BookSnapshot, side: Side, quantity: Decimal, fee_rate: Decimal) -> tuple[Decimal, Decimal, Decimal, bool]:
    """(gross notional, fee, depth, shortfall?) of a market order, the missing part at the worst level."""
    left, gross, worst = quantity, Decimal(0), Decimal(0)
    book_side = our_side(b, side)
    for price, size in book_side:
        take = min(size, left)
        gross += take * price
        left -= take
        worst = price
        if left == 0:
            break
    gross += left * worst
    return gross, gross * fee_rate, sum((s for _, s in book_side), Decimal(0)), left > 0


def rules_ok(rules: SymbolInfo, quantity: Decimal, price: Decimal) -> bool:
    return (quantity >= rules.min_quantity and quantity <= rules.max_quantity
            and quantity % rules.lot_size == 0 and quantity * price >= rules.min_notional)


def router(**config: object) -> OrderRouter:
    return OrderRouter(RouterConfig.from_mapping(config), ManualClock(1_000))


# --------------------------------------------------------------------------- strategies

cents = st.integers(min_value=9_000, max_value=11_000).map(lambda c: Decimal(c) / 100)
sizes = st.integers(min_value=1, max_value=300).map(lambda c: Decimal(c) / 100)
fee_rates = st.sampled_from([Decimal("-0.0001"), Decimal(0), Decimal("0.0002"), Decimal("0.0005"), Decimal("0.001")])


@st.composite
def books_for(draw: st.DrawFn, name: str) -> BookSnapshot:
    mid = draw(cents)
    n_bids = draw(st.integers(min_value=0, max_value=4))
    n_asks = draw(st.integers(min_value=0, max_value=4))
    bid_steps = draw(st.lists(st.integers(1, 50), min_size=n_bids, max_size=n_bids))
    ask_steps = draw(st.lists(st.integers(1, 50), min_size=n_asks, max_size=n_asks))
    bids, asks, price = [], [], mid
    for step in bid_steps:
        price -= Decimal(step) / 100
        bids.append((price, draw(sizes)))
    price = mid
    for step in ask_steps:
        price += Decimal(step) / 100
        asks.append((price, draw(sizes)))
    return book(name, bids, asks)


@st.composite
def venue_sets(draw: st.DrawFn, min_venues: int = 2, max_venues: int = 4) -> list[Venue]:
    n = draw(st.integers(min_value=min_venues, max_value=max_venues))
    out = []
    for i in range(n):
        name = f"v{i}"
        out.append(Venue(name, draw(books_for(name)), info(name, maker=draw(fee_rates), taker=draw(fee_rates))))
    return out


def route(r: OrderRouter, venues: list[Venue], side: Side, quantity: Decimal, **kwargs: object) -> RoutingDecision:
    return r.route(SYMBOL, side, quantity, books={v.name: v.book for v in venues},
                   infos={v.name: v.info for v in venues}, **kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- pure estimates


@settings(max_examples=150)
@given(b=books_for("v"), side=st.sampled_from(list(Side)), quantity=sizes)
def test_estimate_fill_walks_the_book_exactly(b: BookSnapshot, side: Side, quantity: Decimal) -> None:
    book_side = our_side(b, side)
    est = estimate_fill(b.asks if side is Side.BUY else b.bids, quantity, side)
    depth = sum((s for _, s in book_side), Decimal(0))
    assert est.filled == min(quantity, depth)
    assert est.band_depth == depth
    gross, _, _, _ = naive(b, side, est.filled, Decimal(0)) if est.filled else (Decimal(0), 0, 0, False)
    assert est.notional == gross
    if est.filled:
        assert est.average_price is not None
        prices = [p for p, _ in book_side[:est.levels_used]]
        assert min(prices) <= est.average_price <= max(prices)
        assert est.best_price == book_side[0][0]
        assert est.slippage_bps >= 0
        assert (est.slippage_bps == 0) == (est.levels_used == 1)
    else:
        assert est.average_price is None and est.levels_used == 0


@given(b=books_for("v"), side=st.sampled_from(list(Side)), quantity=sizes,
       bps=st.integers(min_value=0, max_value=100).map(Decimal))
def test_estimate_fill_stays_inside_limit_and_slippage_band(b: BookSnapshot, side: Side, quantity: Decimal,
                                                            bps: Decimal) -> None:
    book_side = our_side(b, side)
    assume(book_side)
    best = book_side[0][0]
    limit = best + side.sign * Decimal("0.2")
    est = estimate_fill(b.asks if side is Side.BUY else b.bids, quantity, side, limit_price=limit,
                        max_slippage_bps=bps)
    bound = best * (1 + side.sign * bps / 10_000)
    allowed = [(p, s) for p, s in book_side if side.sign * (limit - p) >= 0 and side.sign * (bound - p) >= 0]
    assert est.band_depth == sum((s for _, s in allowed), Decimal(0))
    assert est.filled == min(quantity, est.band_depth)
    assert est.worst_price is None or side.sign * (min(limit, bound) if side is Side.BUY else max(limit, bound)) \
        >= side.sign * est.worst_price


def test_size_violation_names_each_rule() -> None:
    rules = info("v", lot=Decimal("0.1"), min_qty=Decimal("0.2"), max_qty=Decimal(5),
                 min_notional=Decimal(10)).symbols[SYMBOL]
    assert size_violation(rules, Decimal("0.3"), Decimal(100)) is None
    cases = {Decimal(0): "quantity", Decimal("0.1"): "min_quantity", Decimal(6): "max_quantity",
             Decimal("0.35"): "lot_size"}
    for quantity, rule in cases.items():
        assert (size_violation(rules, quantity, Decimal(100)) or "").startswith(rule + ":")
    assert (size_violation(rules, Decimal("0.3"), Decimal(1)) or "").startswith("min_notional:")


def test_config_refuses_unknown_keys_floats_and_bad_criteria() -> None:
    with pytest.raises(RouterConfigError, match="splitting"):
        RouterConfig.from_mapping({"splitting": True})
    with pytest.raises(RouterConfigError, match="split_threshold"):
        RouterConfig.from_mapping({"split_threshold": 1.5})
    with pytest.raises(RouterConfigError, match="criteria"):
        RouterConfig.from_mapping({"criteria": "CHEAPEST"})
    cfg = RouterConfig.from_mapping({"criteria": "LOWEST_FEES", "priority": ["b", "a"], "split_threshold": "2",
                                     "symbols": {"BTC/USDT": {"okx": "BTC-USDT"}}})
    assert cfg.criteria is RoutingCriteria.LOWEST_FEES and cfg.split_threshold == Decimal(2)
    assert cfg.venue_symbol("BTC/USDT", "okx") == "BTC-USDT"
    assert cfg.venue_symbol("BTC/USDT", "binance") == "BTC/USDT"


# --------------------------------------------------------------------------- Property 21 and 22


@settings(max_examples=120)
@given(venues=venue_sets(), side=st.sampled_from(list(Side)), quantity=sizes,
       criteria=st.sampled_from(list(RoutingCriteria)), data=st.data())
def test_property_21_selected_venue_matches_criteria(venues: list[Venue], side: Side, quantity: Decimal,
                                                     criteria: RoutingCriteria, data: st.DataObject) -> None:
    names = [v.name for v in venues]
    preferred = data.draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
    r = router(criteria=criteria.value, preferred=preferred)
    by_name = {v.name: v for v in venues}
    liquid = [v.name for v in venues if our_side(v.book, side)]
    if not liquid:
        with pytest.raises(RoutingError):
            route(r, venues, side, quantity)
        return
    decision = route(r, venues, side, quantity)
    assert r.decisions[-1] is decision and decision.criteria is criteria
    assert decision.reasoning.criteria is criteria
    assert sorted(decision.reasoning.ranking) == sorted(liquid)
    [allocation] = decision.allocations
    assert allocation.quantity == quantity
    chosen = allocation.venue
    est = {n: naive(by_name[n].book, side, quantity, by_name[n].info.fees.taker) for n in liquid}
    full = [n for n in liquid if not est[n][3]] or liquid
    if criteria is RoutingCriteria.BEST_PRICE:
        assert chosen in full
        assert all(side.sign * est[chosen][0] <= side.sign * est[n][0] for n in full)
    elif criteria is RoutingCriteria.LOWEST_FEES:
        assert chosen in full
        assert all(est[chosen][1] <= est[n][1] for n in full)
    elif criteria is RoutingCriteria.HIGHEST_LIQUIDITY:
        assert all(est[chosen][2] >= est[n][2] for n in liquid)
    else:
        expected = next((n for n in preferred if n in liquid), liquid[0])
        assert chosen == expected
    assert decision.alternatives == tuple(n for n in decision.reasoning.ranking if n != chosen)


@settings(max_examples=100)
@given(venues=venue_sets(), side=st.sampled_from(list(Side)), quantity=sizes, data=st.data())
def test_property_22_reasoning_carries_every_book(venues: list[Venue], side: Side, quantity: Decimal,
                                                  data: st.DataObject) -> None:
    statuses = {v.name: data.draw(st.sampled_from(list(VenueStatus))) for v in venues}
    r = router()
    try:
        decision = route(r, venues, side, quantity, statuses=statuses)
        reasoning = decision.reasoning
    except RoutingError as exc:
        assert set(exc.skipped) == {v.name for v in venues}
        return
    assert [a.venue for a in reasoning.assessments] == sorted(v.name for v in venues)
    for v in venues:
        a = reasoning.assessment(v.name)
        bids, asks = our_side(v.book, Side.SELL), our_side(v.book, Side.BUY)
        assert a.best_bid == (bids[0][0] if bids else None)
        assert a.best_ask == (asks[0][0] if asks else None)
        assert a.spread == (asks[0][0] - bids[0][0] if bids and asks else None)
        assert a.bid_depth == sum((s for _, s in bids), Decimal(0))
        assert a.ask_depth == sum((s for _, s in asks), Decimal(0))
        if a.available:
            gross, fee, depth, short = naive(v.book, side, quantity, v.info.fees.taker)
            assert a.band_depth == depth and a.estimated_fee == fee and (a.shortfall > 0) == short
            assert a.estimated_notional == gross
            assert a.estimated_price == (gross / quantity).quantize(Decimal("1e-9"))
            assert a.estimated_total == gross + side.sign * fee
            assert a.slippage_bps is not None and a.slippage_bps >= 0
            assert a.taker_fee_rate == v.info.fees.taker
    assert all(a.available for a in reasoning.assessments if a.venue in reasoning.ranking)
    assert decision.selected_venue in reasoning.ranking
    assert '"best_ask"' in decision.reasoning.to_json()


def test_limit_order_rests_the_remainder_at_the_limit_with_maker_fees() -> None:
    asks = [(Decimal(100), Decimal(1)), (Decimal(102), Decimal(5))]
    venue = Venue("v0", book("v0", [(Decimal(99), Decimal(1))], asks),
                  info("v0", maker=Decimal("0.0002"), taker=Decimal("0.001")))
    limit = Decimal(101)
    decision = route(router(), [venue], Side.BUY, Decimal(3), limit_price=limit)
    [allocation] = decision.allocations
    taken, resting = Decimal(1) * 100, Decimal(2) * limit
    assert allocation.expected_fee == taken * Decimal("0.001") + resting * Decimal("0.0002")
    assert allocation.expected_price == ((taken + resting) / 3).quantize(Decimal("1e-9"))
    assert decision.reasoning.assessment("v0").shortfall == 0


def test_max_slippage_skips_venues_without_the_depth() -> None:
    shallow = Venue("a", book("a", [], [(Decimal(100), Decimal(1)), (Decimal(110), Decimal(9))]), info("a"))
    deep = Venue("b", book("b", [], [(Decimal("100.5"), Decimal(9))]), info("b"))
    decision = route(router(max_slippage_bps="100"), [shallow, deep], Side.BUY, Decimal(2))
    assert decision.selected_venue == "b"
    assert decision.reasoning.skipped["a"].startswith("max_slippage:")
    assert route(router(), [shallow, deep], Side.BUY, Decimal(2)).selected_venue == "b"  # a is worse anyway
    with pytest.raises(RoutingError, match="max_slippage"):
        route(router(max_slippage_bps="100"), [shallow, deep], Side.BUY, Decimal(20))
    split = route(router(max_slippage_bps="100", enable_splitting=True, split_threshold="1"), [shallow, deep],
                  Side.BUY, Decimal(10))  # 1 at a's 100 and 9 at b's 100.5, never a's 110
    assert {x.venue: x.quantity for x in split.allocations} == {"a": Decimal(1), "b": Decimal(9)}
    with pytest.raises(RoutingError, match="within 100 bps"):
        route(router(max_slippage_bps="100", enable_splitting=True, split_threshold="1"), [shallow, deep],
              Side.BUY, Decimal(11))


def test_venues_without_the_symbol_order_type_or_book_are_skipped() -> None:
    asks = [(Decimal(100), Decimal(5))]
    market_only = VenueCapabilities(frozenset({OrderType.MARKET}), frozenset(TimeInForce))
    no_limit = Venue("a", book("a", [], asks), VenueInfo("a", info("a").symbols, info("a").fees, market_only))
    other_symbol = Venue("b", book("b", [], asks), VenueInfo("b", {}, info("b").fees, CAPS))
    no_book = info("c")
    ok = Venue("d", book("d", [], [(Decimal(200), Decimal(5))]), info("d"))
    r = router()
    decision = r.route(SYMBOL, Side.BUY, Decimal(1), OrderType.LIMIT, limit_price=Decimal(300),
                       books={v.name: v.book for v in (no_limit, other_symbol, ok)},
                       infos={"a": no_limit.info, "b": other_symbol.info, "c": no_book, "d": ok.info})
    assert decision.selected_venue == "d"
    skipped = decision.reasoning.skipped
    assert skipped["a"].startswith("order_type:") and skipped["b"].startswith("symbol:")
    assert skipped["c"] == "no order book"
    assert decision.reasoning.assessment("a").best_ask == Decimal(100)  # skipped venues still show their book


# --------------------------------------------------------------------------- Property 3


@settings(max_examples=150)
@given(n=st.integers(min_value=1, max_value=5), data=st.data())
def test_property_3_unavailable_venues_are_skipped_in_priority_order(n: int, data: st.DataObject) -> None:
    names = [f"v{i}" for i in range(n)]
    priority = data.draw(st.permutations(names))
    statuses = {name: data.draw(st.sampled_from(list(VenueStatus))) for name in names}
    broken = set(data.draw(st.lists(st.sampled_from(names), unique=True)))
    same_book = [(Decimal(99), Decimal(5))], [(Decimal(100), Decimal(5))]
    venues = [Venue(name, book(name, *same_book), info(name)) for name in names]
    r = router(priority=list(priority))
    available = [name for name in priority if statuses[name] is VenueStatus.ACTIVE and name not in broken]
    kwargs = {"statuses": statuses, "breaker_open": broken.__contains__}
    if not available:
        with pytest.raises(RoutingError) as err:
            route(r, venues, Side.BUY, Decimal(1), **kwargs)
        assert set(err.value.skipped) == set(names)
        assert err.value.venue == priority[0] and priority[0] in str(err.value)
        assert r.decisions == ()
        return
    decision = route(r, venues, Side.BUY, Decimal(1), **kwargs)
    assert decision.selected_venue == available[0]
    assert decision.reasoning.ranking == tuple(available)
    assert [a.venue for a in decision.reasoning.assessments] == list(priority)
    for name in names:
        reason = decision.reasoning.assessment(name).skip_reason
        if statuses[name] is not VenueStatus.ACTIVE:
            assert reason == f"status: {statuses[name].value}"
        elif name in broken:
            assert reason == "circuit breaker open"
        else:
            assert reason == ""


@settings(max_examples=60)
@given(venues=venue_sets(), data=st.data())
def test_property_3_never_routes_to_an_unavailable_venue_whatever_the_prices(venues: list[Venue],
                                                                              data: st.DataObject) -> None:
    statuses = {v.name: data.draw(st.sampled_from(list(VenueStatus))) for v in venues}
    broken = {v.name for v in venues if data.draw(st.booleans())}
    criteria = data.draw(st.sampled_from(list(RoutingCriteria)))
    try:
        decision = route(router(criteria=criteria.value, enable_splitting=True, split_threshold="0.5"), venues,
                         Side.BUY, data.draw(sizes), statuses=statuses, breaker_open=broken.__contains__)
    except RoutingError:
        return
    for allocation in decision.allocations:
        assert statuses[allocation.venue] is VenueStatus.ACTIVE and allocation.venue not in broken


# --------------------------------------------------------------------------- Property 23


@st.composite
def split_case(draw: st.DrawFn) -> tuple[list[Venue], Decimal]:
    n = draw(st.integers(min_value=2, max_value=4))
    venues = []
    for i in range(n):
        name = f"v{i}"
        lot = Decimal(1).scaleb(-draw(st.integers(min_value=0, max_value=3)))
        venues.append(Venue(name, draw(books_for(name)), info(
            name, lot=lot, min_qty=lot * draw(st.integers(min_value=1, max_value=20)),
            max_qty=draw(st.sampled_from([Decimal(2), Decimal(5), Decimal(1000)])),
            min_notional=draw(st.sampled_from([Decimal(0), Decimal(5), Decimal(50)])),
            taker=draw(fee_rates))))
    quantity = Decimal(draw(st.integers(min_value=1, max_value=8_000))) / 1000
    return venues, quantity


@settings(max_examples=200)
@given(case=split_case(), side=st.sampled_from(list(Side)), criteria=st.sampled_from(list(RoutingCriteria)))
def test_property_23_split_sums_exactly_and_respects_lots(case: tuple[list[Venue], Decimal], side: Side,
                                                          criteria: RoutingCriteria) -> None:
    venues, quantity = case
    assume(sum(1 for v in venues if our_side(v.book, side)) >= 2)
    r = router(criteria=criteria.value, enable_splitting=True, split_threshold="0.5")
    try:
        decision = route(r, venues, side, quantity)
    except RoutingError as exc:
        if quantity > Decimal("0.5"):
            assert "cannot split" in str(exc)
        rule_names = ("min_quantity", "max_quantity", "lot_size", "min_notional", "liquidity")
        assert exc.skipped and all(why.split(":")[0] in rule_names for why in exc.skipped.values())
        return
    rules = {v.name: v.info.symbols[SYMBOL] for v in venues}
    total = sum((a.quantity for a in decision.allocations), Decimal(0))
    assert total == quantity
    assert len({a.venue for a in decision.allocations}) == len(decision.allocations)
    for a in decision.allocations:
        assert a.quantity > 0 and our_side(next(v for v in venues if v.name == a.venue).book, side)
        assert rules_ok(rules[a.venue], a.quantity, a.expected_price), (a, rules[a.venue])
    if quantity <= Decimal("0.5"):
        assert not decision.is_split


@settings(max_examples=150)
@given(n=st.integers(min_value=2, max_value=4), data=st.data(), side=st.sampled_from(list(Side)),
       criteria=st.sampled_from(list(RoutingCriteria)))
def test_property_23_order_too_big_for_any_one_book_lands_on_several_venues(
        n: int, data: st.DataObject, side: Side, criteria: RoutingCriteria) -> None:
    lot = Decimal(1).scaleb(-data.draw(st.integers(min_value=0, max_value=2)))
    venues = []
    for i in range(n):
        name = f"v{i}"
        sizes_in_lots = data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
        base = data.draw(cents)
        rows = [(base + side.sign * Decimal(k) / 10, lot * s) for k, s in enumerate(sizes_in_lots)]
        bids, asks = ([], rows) if side is Side.BUY else (rows, [])
        venues.append(Venue(name, book(name, bids, asks), info(name, lot=lot, min_qty=lot, taker=data.draw(fee_rates))))
    depths = [sum((s for _, s in our_side(v.book, side)), Decimal(0)) for v in venues]
    total_lots = int(sum(depths) / lot)
    quantity = lot * data.draw(st.integers(min_value=int(max(depths) / lot) + 1, max_value=max(total_lots, 1)))
    assume(max(depths) < quantity <= sum(depths))
    decision = route(router(criteria=criteria.value, enable_splitting=True, split_threshold="0"), venues, side,
                     quantity)
    assert decision.is_split
    assert sum((a.quantity for a in decision.allocations), Decimal(0)) == quantity
    depth_of = dict(zip([v.name for v in venues], depths, strict=True))
    assert all(a.quantity <= depth_of[a.venue] for a in decision.allocations)  # whole levels fit: no overflow


def test_split_takes_the_cheapest_levels_across_venues() -> None:
    a_asks = [(Decimal(100), Decimal(1)), (Decimal(101), Decimal(2))]
    b_asks = [(Decimal("100.5"), Decimal(1)), (Decimal(102), Decimal(5))]
    a = Venue("a", book("a", [], a_asks), info("a", lot=Decimal("0.001")))
    b = Venue("b", book("b", [], b_asks), info("b", lot=Decimal("0.1")))
    quantity = Decimal("2.555")
    decision = route(router(enable_splitting=True, split_threshold="1"), [a, b], Side.BUY, quantity)
    got = {x.venue: x.quantity for x in decision.allocations}
    # a's 100 and b's 100.5 go first, the rest comes from a's 101 (cheaper than b's 102)
    assert got == {"a": quantity - 1, "b": Decimal(1)}
    assert decision.reasoning.notes[-1].startswith("split over 2")


def test_split_that_no_lot_grid_can_absorb_falls_back_to_one_venue() -> None:
    asks = [(Decimal(100), Decimal(1))]
    a = Venue("a", book("a", [], asks), info("a", lot=Decimal("0.5"), min_qty=Decimal("0.5")))
    b = Venue("b", book("b", [], [(Decimal(101), Decimal(10))]), info("b", lot=Decimal("0.001"), min_qty=Decimal(1)))
    # a's 1 is cheapest; b would get the other 0.2 but its minimum is 1 and a's lot refuses 1.2: all of it to b
    decision = route(router(enable_splitting=True, split_threshold="1"), [a, b], Side.BUY, Decimal("1.2"))
    assert [(x.venue, x.quantity) for x in decision.allocations] == [("b", Decimal("1.2"))]
    assert any(note.startswith("split impossible") for note in decision.reasoning.notes)
    b_small = Venue("b", b.book, info("b", lot=Decimal("0.001"), min_qty=Decimal(1), max_qty=Decimal(1)))
    with pytest.raises(RoutingError, match="cannot split"):
        route(router(enable_splitting=True, split_threshold="1"), [a, b_small], Side.BUY, Decimal("1.2"))


# --------------------------------------------------------------------------- Property 24


@st.composite
def rule_case(draw: st.DrawFn) -> tuple[list[Venue], Decimal]:
    n = draw(st.integers(min_value=1, max_value=3))
    venues = []
    for i in range(n):
        name = f"v{i}"
        lot = Decimal(1).scaleb(-draw(st.integers(min_value=0, max_value=4)))
        venues.append(Venue(name, book(name, [(Decimal(99), Decimal(50))], [(Decimal(100), Decimal(50))]), info(
            name, lot=lot, min_qty=lot * draw(st.integers(min_value=1, max_value=50)),
            max_qty=draw(st.sampled_from([Decimal(1), Decimal(10), Decimal(40)])),
            min_notional=draw(st.sampled_from([Decimal(0), Decimal(10), Decimal(500)])))))
    quantity = Decimal(draw(st.integers(min_value=1, max_value=50_000_000))).scaleb(-draw(st.integers(0, 6)))
    return venues, quantity


@settings(max_examples=200)
@given(case=rule_case(), side=st.sampled_from(list(Side)))
def test_property_24_size_rules_checked_before_submission(case: tuple[list[Venue], Decimal], side: Side) -> None:
    venues, quantity = case
    price = Decimal(100) if side is Side.BUY else Decimal(99)
    accepts = {v.name: rules_ok(v.info.symbols[SYMBOL], quantity, price) for v in venues}
    r = router()
    if not any(accepts.values()):
        with pytest.raises(RoutingError) as err:
            route(r, venues, side, quantity)
        message = str(err.value)
        for v in venues:
            assert v.name in message
            assert err.value.skipped[v.name].split(":")[0] in (
                "quantity", "min_quantity", "max_quantity", "lot_size", "min_notional")
        assert r.decisions == ()
        return
    decision = route(r, venues, side, quantity)
    assert decision.selected_venue == next(name for name, ok in accepts.items() if ok)
    for name, ok in accepts.items():
        assert decision.reasoning.assessment(name).available == ok


# --------------------------------------------------------------------------- decision log


def test_outcomes_give_realised_slippage_and_time_to_fill() -> None:
    clock = ManualClock(5_000)
    r = OrderRouter(RouterConfig(), clock)
    venue = Venue("a", book("a", [(Decimal(99), Decimal(5))], [(Decimal(100), Decimal(5))]), info("a"))
    decision = r.route(SYMBOL, Side.BUY, Decimal(2), books={"a": venue.book}, infos={"a": venue.info})
    expected = decision.allocations[0].expected_price
    first = r.record_outcome(decision.decision_id, "a", expected + 1, Decimal(1), 7_000)
    assert first.slippage_bps > 0 and first.time_to_fill_ns == 2_000
    r.record_outcome(decision.decision_id, "a", expected - 1, Decimal(1), 9_000)
    [row] = r.decisions_table()
    assert row["fill_price"] == expected and row["filled_quantity"] == Decimal(2) and row["slippage_bps"] == 0
    assert row["time_to_fill_ns"] == 4_000 and row["decision_id"] == decision.decision_id
    assert all(isinstance(v, str | int | Decimal) or v is None for v in row.values())
    assert not any(isinstance(v, float) for v in row.values())
    with pytest.raises(ValueError, match="nothing"):
        r.record_outcome(decision.decision_id, "b", expected, Decimal(1), 9_000)
    sell = r.route(SYMBOL, Side.SELL, Decimal(1), books={"a": venue.book}, infos={"a": venue.info})
    assert sell.decision_id != decision.decision_id
    worse = r.record_outcome(sell.decision_id, "a", sell.allocations[0].expected_price - 1, Decimal(1), 9_000)
    assert worse.slippage_bps > 0
    assert [row["decision_id"] for row in r.decisions_table(sell.decision_id)] == [sell.decision_id]
    assert [row["decision_id"] for row in r.decisions_table()] == [decision.decision_id, sell.decision_id]


# --------------------------------------------------------------------------- SimWorld


@pytest.mark.parametrize("side", list(Side))
def test_routes_to_the_best_priced_simworld_venue(side: Side) -> None:
    instrument = "BTC/USDT"
    symbols = {"binance": "BTCUSDT", "okx": "BTC-USDT"}
    with SimWorld(["binance", "okx"], seed=3) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60010")
        world.quote("okx", "BTC-USDT", bid="59990", ask="60001")

        async def fetch() -> tuple[dict[str, BookSnapshot], dict[str, VenueInfo]]:
            books = {v: await world.adapters[v].get_order_book(s) for v, s in symbols.items()}
            infos = {v: await world.adapters[v].get_venue_info() for v in symbols}
            return books, infos

        books, infos = world.run(fetch())
        r = OrderRouter(RouterConfig(symbols={instrument: symbols}), world.runtime.clock)
        decision = r.route(instrument, side, Decimal("0.5"), books=books, infos=infos)
        assert decision.ts_ns == world.now_ns()
    best = min(symbols, key=lambda v: side.sign * from_fixed((books[v].asks if side is Side.BUY else books[v].bids)[0]
                                                              .price))
    assert decision.selected_venue == best == ("okx" if side is Side.BUY else "binance")
    assert decision.allocations[0].symbol == symbols[best]
    for venue, symbol in symbols.items():
        a = decision.reasoning.assessment(venue)
        assert a.symbol == symbol
        assert a.best_bid == from_fixed(books[venue].bids[0].price)
        assert a.best_ask == from_fixed(books[venue].asks[0].price)
        assert a.ask_depth == from_fixed(books[venue].asks[0].size) and a.available

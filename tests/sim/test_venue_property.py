"""Properties of the simulated venue over random sequences of our orders, cancels, trades and quotes.

One Binance ``SimVenue`` (QUOTES depth: best bid/ask with sizes, plus trades) is driven
directly, without the adapter, so that hypothesis can try many sequences quickly. Every fill is
attributed to the action that caused it, which is where its liquidity came from:

* a public trade: our fills from it never exceed its size (one budget for all our orders), a
  buy fills only if the trade printed at or below its price (a sell at or above), and summed
  over the run, our orders priced at or worse than any level P filled no more than the volume
  that traded at or through P;
* a quote update that reaches our resting order, or our own marketable order: fills come out
  of the displayed size at the touch, and displayed size we took is not available again until
  the venue shows that level anew.

And the account: for every asset, free + locked changes exactly by the fills' cash flows
(cost, proceeds, fees), nothing is ever negative, locked equals what the open orders hold,
and once every order has ended nothing is locked. Positions are the signed sum of fills.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.model import Fill, Liquidity, OrderRequest, OrderType, Quote, Side, TimeInForce, Trade
from harness.money import from_fixed, to_fixed
from harness.rng import SeededRng
from sim.venue.filters import VenueRejection
from sim.venue.matching.types import DepthMode
from sim.venue.profile import load_profile
from sim.venue.venue import RejectedRequest, SimVenue

D = Decimal
PROFILE = load_profile("binance")
SYMBOL = "BTCUSDT"
TICK = D("0.01")
MID = D("60000")
START = {"BTC": D(2), "USDT": D(200_000)}
ZERO = D(0)

# ----------------------------------------------------------------------------- actions

# submit: side, ticks away from mid on the passive side (-1 crosses), lots, style
submits = st.tuples(st.just("submit"), st.sampled_from([Side.BUY, Side.SELL]), st.integers(-1, 4),
                    st.integers(1, 40), st.sampled_from(["gtc", "gtc", "ioc", "post"]))
cancels = st.tuples(st.just("cancel"), st.integers(0, 30))
trades = st.tuples(st.just("trade"), st.integers(-5, 5), st.integers(1, 60), st.sampled_from([-1, 0, 1]))
quotes = st.tuples(st.just("quote"), st.integers(-3, 3), st.integers(0, 20), st.integers(0, 20))
actions = st.lists(st.one_of(submits, submits, submits, cancels, trades, trades, trades, quotes), min_size=4,
                   max_size=50)

LOT = D("0.01")  # sizes are multiples of 0.01 BTC: 0.01-0.40 per order, 0.01-0.60 per trade


def _prices(req_ids: dict[str, OrderRequest], fill: Fill) -> Decimal:
    price = req_ids[fill.client_order_id].price
    assert price is not None
    return price


def _cash_flows(fills: list[Fill]) -> dict[str, Decimal]:
    """Per asset, what our fills paid and received (cost, proceeds, fees)."""
    flows: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for f in fills:
        base, quote = PROFILE.symbols[f.symbol].base_asset, PROFILE.symbols[f.symbol].quote_asset
        sign = 1 if f.side is Side.BUY else -1
        flows[base] += sign * f.quantity
        flows[quote] -= sign * f.price * f.quantity
        flows[f.fee_asset] -= f.fee
    return flows


def run(seq: list[tuple[object, ...]]) -> tuple[list[str], list[str]]:
    """Play ``seq`` on a fresh venue checking the invariants after every step.

    Returns the violations found: (liquidity and fill bookkeeping, account).
    """
    clock = [1_723_075_200_000_000_000]
    venue = SimVenue(PROFILE, balances=START, rng=SeededRng(1), now=lambda: clock[0], depth=DepthMode.QUOTES)
    problems: list[str] = []
    account: list[str] = []
    trade_driven: list[Fill] = []
    requests: dict[str, OrderRequest] = {}
    submitted: list[str] = []
    shown = {1: (MID - TICK, D("0.05")), -1: (MID + TICK, D("0.05"))}  # displayed (price, size) per side
    taken = {1: ZERO, -1: ZERO}  # displayed size our fills took since that side last changed
    traded: list[tuple[Decimal, Decimal]] = []  # (price, size) of every public trade
    mid = MID

    def show(bid: Decimal, bid_size: Decimal, ask: Decimal, ask_size: Decimal) -> list[Fill]:
        for side, level in ((1, (bid, bid_size)), (-1, (ask, ask_size))):
            if level != shown[side]:
                shown[side], taken[side] = level, ZERO
        quote = Quote(clock[0], clock[0], "binance", SYMBOL, to_fixed(bid), to_fixed(bid_size), to_fixed(ask),
                      to_fixed(ask_size), -1)
        before = len(venue.fills)
        venue.on_quote(quote)
        return venue.fills[before:]

    def from_display(fills: list[Fill], what: str) -> None:
        """Fills out of the displayed touch: within its untaken size, at or inside our price."""
        for side in (1, -1):
            ours = [f for f in fills if (f.side is Side.BUY) == (side > 0)]
            qty = sum((f.quantity for f in ours), ZERO)
            touch_price, touch_size = shown[-side]
            if qty > touch_size - taken[-side]:
                problems.append(f"{what}: {qty} taken from a touch of {touch_size} ({taken[-side]} already used)")
            taken[-side] += qty
            for f in ours:
                limit = requests[f.client_order_id].price
                if f.liquidity is Liquidity.TAKER and f.price != touch_price:
                    problems.append(f"{what}: taker fill at {f.price}, touch at {touch_price}")
                if limit is not None and (f.price - limit) * side > 0:
                    problems.append(f"{what}: fill at {f.price} beyond the limit {limit}")

    show(*shown[1], *shown[-1])
    for step, action in enumerate(seq):
        clock[0] += 1_000_000
        kind = action[0]
        before = len(venue.fills)
        if kind == "submit":
            _, side, offset, lots, style = action
            assert isinstance(side, Side) and isinstance(offset, int) and isinstance(lots, int)
            cid = f"o{step}"
            price = mid - side.sign * offset * TICK
            request = OrderRequest(cid, "binance", SYMBOL, side, OrderType.LIMIT, lots * LOT, price,
                                   time_in_force=TimeInForce.IOC if style == "ioc" else TimeInForce.GTC,
                                   post_only=style == "post")
            try:
                venue.submit(request)
            except RejectedRequest as refusal:
                assert isinstance(refusal.rejection, VenueRejection)
                continue
            requests[cid] = request
            submitted.append(cid)
            from_display(venue.fills[before:], f"step {step} submit {cid}")
        elif kind == "cancel":
            _, index = action
            assert isinstance(index, int)
            if submitted:
                cid = submitted[index % len(submitted)]
                with contextlib.suppress(RejectedRequest):  # already ended: the venue says -2011
                    venue.cancel(SYMBOL, cid)
            if venue.fills[before:]:
                problems.append(f"step {step}: a cancel produced fills")
        elif kind == "trade":
            _, offset, lots, aggressor = action
            assert isinstance(offset, int) and isinstance(lots, int) and isinstance(aggressor, int)
            price, size = mid + offset * TICK, lots * LOT
            traded.append((price, size))
            venue.on_trade(Trade(clock[0], clock[0], "binance", SYMBOL, to_fixed(price), to_fixed(size), aggressor,
                                 f"t{step}"))
            got = venue.fills[before:]
            trade_driven.extend(got)
            if sum((f.quantity for f in got), ZERO) > size:
                problems.append(f"step {step}: fills {[f.quantity for f in got]} exceed the trade's size {size}")
            for f in got:
                limit = _prices(requests, f)
                if f.price != limit or f.liquidity is not Liquidity.MAKER:
                    problems.append(f"step {step}: a trade filled {f.client_order_id} at {f.price}, not its price")
                if (price - limit) * (1 if f.side is Side.BUY else -1) > 0:
                    problems.append(f"step {step}: a trade at {price} filled {f.side} {f.client_order_id} at {limit}")
        else:
            _, move, bid_lots, ask_lots = action
            assert isinstance(move, int) and isinstance(bid_lots, int) and isinstance(ask_lots, int)
            mid += move * TICK
            got = show(mid - TICK, bid_lots * LOT, mid + TICK, ask_lots * LOT)
            from_display(got, f"step {step} quote")
        account.extend(_account_problems(venue, step))

    # the statement, per level: our orders priced at or worse than P filled at most the
    # volume that traded at or through P (buys: at or below P; sells: at or above P)
    for level in {p for p, _ in traded}:
        for side in (1, -1):
            volume = sum((s for p, s in traded if (p - level) * side <= 0), ZERO)
            ours = sum((f.quantity for f in trade_driven if (f.side is Side.BUY) == (side > 0)
                        and (_prices(requests, f) - level) * side <= 0), ZERO)
            if ours > volume:
                problems.append(f"level {level} side {side}: {ours} filled from {volume} traded")

    # partial fills (property 19): every order's fills sum to its filled quantity
    per_order: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for f in venue.fills:
        per_order[f.client_order_id] += f.quantity
    for cid, order in venue.orders.items():
        if order.filled != per_order[cid] or order.filled > order.request.quantity:
            problems.append(f"{cid}: filled {order.filled}, fills sum {per_order[cid]}")

    for cid in list(venue.orders):
        with contextlib.suppress(RejectedRequest):
            venue.cancel(SYMBOL, cid)
    if any(v != 0 for v in venue.locked.values()):
        account.append(f"funds still locked after every order ended: {venue.locked}")
    account.extend(_account_problems(venue, len(seq)))
    return problems, account


def _account_problems(venue: SimVenue, step: int) -> list[str]:
    """Conservation, no negative amounts, locked = what open orders hold, positions = fills."""
    problems = []
    flows = _cash_flows(venue.fills)
    for asset in set(START) | set(venue.free):
        total = venue.free.get(asset, ZERO) + venue.locked.get(asset, ZERO)
        if total != START.get(asset, ZERO) + flows[asset]:
            problems.append(f"step {step}: {asset} free+locked {total} != start + cash flows "
                            f"{START.get(asset, ZERO) + flows[asset]}")
        if venue.free.get(asset, ZERO) < 0 or venue.locked.get(asset, ZERO) < 0:
            problems.append(f"step {step}: {asset} negative: {venue.balances()[asset]}")
    held: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for order in venue.orders.values():
        if order.locked < 0:
            problems.append(f"step {step}: order {order.request.client_order_id} holds {order.locked}")
        held[order.lock_asset] += order.locked
        if order.status.is_terminal and order.locked != 0:
            problems.append(f"step {step}: ended order {order.request.client_order_id} still holds {order.locked}")
    for asset, amount in venue.locked.items():
        if amount != held[asset]:
            problems.append(f"step {step}: {asset} locked {amount} but open orders hold {held[asset]}")
    position = sum(((f.quantity if f.side is Side.BUY else -f.quantity) for f in venue.fills), ZERO)
    reported = {p.symbol: p.quantity for p in venue.position_reports()}
    if reported.get(SYMBOL, ZERO) != position:
        problems.append(f"step {step}: position {reported.get(SYMBOL)} != signed fills {position}")
    return problems


@settings(max_examples=150, deadline=None)
@given(actions)
def test_property_19_fills_never_exceed_the_liquidity_that_reached_them(seq: list[tuple[object, ...]]) -> None:
    liquidity, _ = run(seq)
    assert liquidity == []


@settings(max_examples=150, deadline=None)
@given(actions)
def test_property_26_balances_and_locked_funds_change_only_by_fill_cash_flows(
        seq: list[tuple[object, ...]]) -> None:
    _, account = run(seq)
    assert account == []


def test_the_checks_can_fail() -> None:
    """The runner's own bookkeeping notices a venue that loses funds (a guard against a vacuous test)."""
    venue = SimVenue(PROFILE, balances=START, rng=SeededRng(1), now=lambda: 0, depth=DepthMode.QUOTES)
    venue.free["USDT"] -= D("0.000000001")
    assert any("USDT free+locked" in p for p in _account_problems(venue, 0))
    venue = SimVenue(PROFILE, balances=START, rng=SeededRng(1), now=lambda: 0, depth=DepthMode.QUOTES)
    venue.locked["BTC"] += D(1)
    venue.free["BTC"] -= D(1)
    assert any("open orders hold" in p for p in _account_problems(venue, 0))
    assert from_fixed(to_fixed(MID)) == MID

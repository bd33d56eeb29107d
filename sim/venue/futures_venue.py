"""A simulated linear perpetual venue: one-way positions, leverage, margin, reduce-only, funding.

``FuturesVenue`` is the ``SimVenue`` of a profile with a ``[futures]`` table
(``sim.venue.futures_terms``). Matching, filters, rate limits and the request path are the spot
venue's; what differs is the money:

* **One account in the settle asset** (USDT). Balances report it as ``free`` (available) and
  ``locked`` (margin in use: what open orders and positions hold); their sum is the wallet.
* **Positions** are one-way: a signed size per symbol with its average entry price
  (``harness.positions.apply_fill``, the maths the engine's ``PositionBook`` uses). A fill that
  reduces a position pays the realized PnL into the wallet; fees leave it, in the settle asset.
* **Initial margin** is checked on order entry: the part of an order that opens or grows a
  position holds ``price * quantity / leverage`` (a market order: at the touch plus the
  profile's ``market_buy_margin``); the part that closes an opposite position holds nothing. Too
  little available balance is the venue's insufficient-margin rejection. A position holds
  ``|size| * entry / leverage`` for as long as it is open.
* **Reduce-only** orders must shrink the position (opposite side, at most its size) and hold no
  margin; otherwise they are refused with the venue's reduce-only code.
* **Leverage and margin mode** are per symbol (``set_leverage``, ``set_margin_mode``): leverage
  within ``1..max_leverage`` (a change re-holds the position's margin, refused if it cannot be
  covered); the margin mode only while the symbol has no position and no open order. Setting the
  value already set is a no-op.
* **Funding** (``apply_funding``, driven by ``sim.venue.funding.FundingSchedule``): at each funding
  time a position pays ``size * mark * rate`` (received when negative), recorded as a
  ``FundingPayment`` in ``funding_payments`` and told to ``funding_listeners``.

What is not simulated, on purpose: liquidation and maintenance margin, mark prices other than the
venue's mid, hedge mode, and unrealized PnL counting toward the available balance (both margin
modes use the conservative isolated rule; the mode is kept, reported and guarded).
Amounts are ``Decimal`` on the 1e-9 grid of ``harness.money``: holds are rounded up, realized PnL
and funding half-even.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from harness.model import OrderRequest, OrderType, PositionReport
from harness.money import from_fixed
from harness.positions import PositionState, apply_fill
from harness.rng import SeededRng
from sim.venue.accounts import ZERO, hold_on_grid, on_grid
from sim.venue.filters import LockedFunds, RejectReason, SymbolRules, VenueRejection
from sim.venue.futures_terms import MARGIN_MODES, FuturesTerms
from sim.venue.matching.types import DepthMode, OrderFilled
from sim.venue.profile import VenueProfile
from sim.venue.venue import RejectedRequest, SimVenue, VenueOrder

__all__ = ["FundingListener", "FundingPayment", "FuturesVenue", "SymbolSettings", "venue_class_for"]

_PRICED = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})


@dataclass(slots=True)
class SymbolSettings:
    """A symbol's leverage and margin mode at the venue (``CROSS`` or ``ISOLATED``)."""

    leverage: int
    margin_mode: str


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One funding settlement of one position: ``amount`` is what the account received (negative: paid).

    ``amount = -(quantity * mark_price * rate)`` on the 1e-9 grid: a long pays a positive rate, a
    short receives it.
    """

    ts_ns: int
    venue: str
    symbol: str
    quantity: Decimal
    mark_price: Decimal
    rate: Decimal
    amount: Decimal
    asset: str


FundingListener = Callable[[FundingPayment], None]


class FuturesVenue(SimVenue):
    """A ``SimVenue`` whose symbols are linear perpetuals (see the module docstring)."""

    def __init__(self, profile: VenueProfile, *, balances: Mapping[str, Decimal], rng: SeededRng,
                 now: Callable[[], int], depth: DepthMode = DepthMode.BOOK,
                 queue_model: str = "conservative", name: str | None = None) -> None:
        super().__init__(profile, balances=balances, rng=rng, now=now, depth=depth, queue_model=queue_model, name=name)
        terms = self.profile.futures
        if terms is None:
            raise ValueError(f"profile {self.profile.name!r} has no [futures] table")
        for symbol, rules in self.profile.symbols.items():
            if rules.quote_asset != terms.settle_asset:
                raise ValueError(f"profile {self.profile.name!r}: {symbol} is quoted in {rules.quote_asset}, "
                                 f"not the settle asset {terms.settle_asset}")
        self.terms: FuturesTerms = terms
        self.settle_asset = terms.settle_asset
        self.settings = {symbol: SymbolSettings(terms.default_leverage, terms.default_margin_mode)
                         for symbol in self.profile.symbols}
        self.position_margin: dict[str, Decimal] = {}
        """Margin each open position holds (part of the settle asset's ``locked``)."""
        self.realized: dict[str, Decimal] = {}
        """Realized PnL paid into the wallet per symbol (on the grid)."""
        self.funding_payments: list[FundingPayment] = []
        self.funding_listeners: list[FundingListener] = []

    # ------------------------------------------------------------------ order entry

    def _check_entry(self, request: OrderRequest, reference: Decimal | None) -> VenueRejection | None:
        """Filters, then the reduce-only rule, then initial margin against the available balance.

        A reduce-only order is exempt from the minimum notional (Binance USD-M says so in -4164's
        message), so a position smaller than the minimum can still be closed.
        """
        rejection = self.profile.validate_order(request, reference_price=reference)
        if rejection is not None and request.reduce_only and rejection.reason is RejectReason.MIN_NOTIONAL:
            rejection = None
        if rejection is not None or request.symbol not in self.profile.symbols:
            return rejection
        if request.reduce_only:
            return self._reduce_only_refusal(request)
        rules = self.profile.symbols[request.symbol]
        try:
            need = hold_on_grid(self._order_lock(request, rules, reference).amount)
        except ValueError:
            return None  # a market order with no price: submit answers "no liquidity"
        if self.free.get(self.settle_asset, ZERO) < need:
            return self.profile.errors.reject(RejectReason.INSUFFICIENT_MARGIN)
        return None

    def _reduce_only_refusal(self, request: OrderRequest) -> VenueRejection | None:
        """Refuse a reduce-only order that would not shrink the position (or would flip it)."""
        position = self._position(request.symbol).quantity
        signed = request.quantity * request.side.sign
        if position == 0 or (position > 0) == (signed > 0) or abs(signed) > abs(position):
            return self.profile.errors.reject(RejectReason.REDUCE_ONLY_REJECTED)
        return None

    def _order_lock(self, request: OrderRequest, rules: SymbolRules, reference: Decimal | None) -> LockedFunds:
        """Initial margin of the part of ``request`` that opens or grows the position."""
        opening = ZERO if request.reduce_only else self._opening_quantity(request)
        if opening == 0:
            return LockedFunds(self.settle_asset, ZERO)
        if request.order_type in _PRICED and request.price is not None:
            price = request.price
        else:
            ref = reference if reference is not None else request.stop_price
            if ref is None:
                raise ValueError(f"cannot price the margin of a {request.order_type.value} order without a quote")
            price = ref * (1 + self.profile.market_buy_margin)
        leverage = self.settings[request.symbol].leverage
        return LockedFunds(self.settle_asset, price * opening / leverage)

    def _opening_quantity(self, request: OrderRequest) -> Decimal:
        """How much of the order adds exposure: all of it, less what closes an opposite position."""
        position = self._position(request.symbol).quantity
        signed = request.quantity * request.side.sign
        if position == 0 or (position > 0) == (signed > 0):
            return request.quantity
        return max(request.quantity - abs(position), ZERO)

    def _check_modify(self, probe: OrderRequest, order: VenueOrder) -> VenueRejection | None:
        """A modified order passes the filters and the reduce-only rule, and its margin fits."""
        rejection = self.profile.validate_order(probe, reference_price=self._reference_price(probe.symbol, probe.side))
        if rejection is not None:
            return rejection
        if probe.reduce_only:
            return self._reduce_only_refusal(probe)
        rules = self.profile.symbols[probe.symbol]
        try:
            need = hold_on_grid(self._order_lock(probe, rules, self._reference_price(probe.symbol, probe.side)).amount)
        except ValueError:
            return None
        if self.free.get(self.settle_asset, ZERO) + order.locked < need:
            return self.profile.errors.reject(RejectReason.INSUFFICIENT_MARGIN)
        return None

    # ------------------------------------------------------------------ fills

    def _fee_of(self, event: OrderFilled, base: str, quote: str) -> tuple[str, Decimal]:
        """Every fee is paid in the settle asset, on the fill's notional."""
        return self.settle_asset, from_fixed(event.fee)

    def _settle(self, order: VenueOrder, event: OrderFilled, cost: Decimal, fee_asset: str, fee: Decimal) -> None:
        """Release the order margin this fill used, pay realized PnL in and the fee out, re-hold the
        position's margin."""
        symbol = order.request.symbol
        qty, price = from_fixed(event.qty), from_fixed(event.price)
        leaves = from_fixed(event.leaves_qty)
        keep = ZERO if leaves == 0 else hold_on_grid(order.locked * leaves / (leaves + qty))
        self._unlock(order, order.locked - keep)
        before = self._position(symbol)
        after, _ = apply_fill(before, qty if event.side > 0 else -qty, price)
        realized = on_grid(after.realized_pnl - before.realized_pnl)
        self.realized[symbol] = self.realized.get(symbol, ZERO) + realized
        self.accounts.transfer(self.settle_asset, fee, self.settle_asset, realized)
        self._hold_position_margin(symbol, after, self.settings[symbol].leverage)

    def _hold_position_margin(self, symbol: str, state: PositionState, leverage: int) -> None:
        """Hold exactly the margin ``state`` needs at ``leverage`` (the difference moves free <-> locked)."""
        want = hold_on_grid(abs(state.quantity) * state.average_price / leverage) if state.quantity else ZERO
        had = self.position_margin.get(symbol, ZERO)
        if want != had:
            self.accounts.hold(self.settle_asset, want - had)
        self.position_margin[symbol] = want

    def _relock(self, order: VenueOrder) -> None:
        """After a modify: hold the margin the order's remaining quantity needs."""
        request = order.request
        remaining = replace(request, quantity=request.quantity - order.filled)
        rules = self.profile.symbols[request.symbol]
        reference = self._reference_price(request.symbol, request.side)
        want = hold_on_grid(self._order_lock(remaining, rules, reference).amount)
        self.accounts.hold(order.lock_asset, want - order.locked)
        order.locked = want

    # ------------------------------------------------------------------ positions, leverage, margin mode

    def _position(self, symbol: str) -> PositionState:
        return self.positions.get(symbol, PositionState())

    def mark_price(self, symbol: str) -> Decimal | None:
        """The venue's mark: the mid of its best bid and offer, else its last trade, else None."""
        quote = self.ticker(symbol)
        if quote.bid_price > 0 and quote.ask_price > 0:
            return (from_fixed(quote.bid_price) + from_fixed(quote.ask_price)) / 2
        last = self.engines[symbol].last_trade_price
        return from_fixed(last) if last is not None else None

    def position_reports(self) -> list[PositionReport]:
        """Every open position: size, entry, mark and unrealized PnL, realized PnL, leverage, mode, margin."""
        now = self.now()
        reports = []
        for symbol, state in sorted(self.positions.items()):
            if state.quantity == 0:
                continue
            mark = self.mark_price(symbol)
            unrealized = on_grid((mark - state.average_price) * state.quantity) if mark is not None else None
            settings = self.settings[symbol]
            reports.append(PositionReport(
                self.name, symbol, state.quantity, state.average_price, now, mark_price=mark,
                unrealized_pnl=unrealized, realized_pnl=self.realized.get(symbol, ZERO),
                leverage=settings.leverage, margin_mode=settings.margin_mode,
                margin=self.position_margin.get(symbol, ZERO)))
        return reports

    def set_leverage(self, symbol: str, leverage: int) -> None:
        """Set ``symbol``'s leverage (1..max); an open position's margin is held again at it."""
        self._known_symbol(symbol)
        errors = self.profile.errors
        if isinstance(leverage, bool) or not isinstance(leverage, int) or not 1 <= leverage <= self.terms.max_leverage:
            raise RejectedRequest(errors.reject(RejectReason.INVALID_LEVERAGE))
        settings = self.settings[symbol]
        if leverage == settings.leverage:
            return
        state = self._position(symbol)
        want = hold_on_grid(abs(state.quantity) * state.average_price / leverage) if state.quantity else ZERO
        extra = want - self.position_margin.get(symbol, ZERO)
        if extra > self.free.get(self.settle_asset, ZERO):
            raise RejectedRequest(errors.reject(RejectReason.INSUFFICIENT_MARGIN))
        settings.leverage = leverage
        self._hold_position_margin(symbol, state, leverage)

    def set_margin_mode(self, symbol: str, mode: str) -> None:
        """Set ``symbol``'s margin mode (``CROSS``/``ISOLATED``); refused while it has a position or order."""
        self._known_symbol(symbol)
        value = str(mode)
        if value not in MARGIN_MODES:
            raise RejectedRequest(self.profile.errors.reject(RejectReason.MANDATORY_PARAM, param="marginMode"))
        settings = self.settings[symbol]
        if value == settings.margin_mode:
            return
        if self._position(symbol).quantity != 0 or self.open_orders(symbol):
            raise RejectedRequest(self.profile.errors.reject(RejectReason.MARGIN_MODE_LOCKED))
        settings.margin_mode = value

    # ------------------------------------------------------------------ funding

    def apply_funding(self, ts_ns: int, rates: Mapping[str, Decimal]) -> list[FundingPayment]:
        """Settle funding at ``ts_ns``: each open position of a symbol in ``rates`` pays or receives
        ``size * mark * rate``; returns (and records) the payments, in symbol order."""
        payments = []
        for symbol in sorted(rates):
            state = self.positions.get(symbol)
            if state is None or state.quantity == 0:
                continue
            mark = self.mark_price(symbol)
            if mark is None:
                continue
            rate = rates[symbol]
            amount = on_grid(-(state.quantity * mark * rate))
            self.accounts.transfer(self.settle_asset, ZERO, self.settle_asset, amount)
            payment = FundingPayment(ts_ns, self.name, symbol, state.quantity, mark, rate, amount, self.settle_asset)
            self.funding_payments.append(payment)
            payments.append(payment)
            for listener in self.funding_listeners:
                listener(payment)
        return payments


def venue_class_for(profile: VenueProfile) -> type[SimVenue]:
    """The venue class that serves ``profile``: ``FuturesVenue`` when it has a ``[futures]`` table,
    else the spot ``SimVenue`` (every place that builds a venue from a profile asks here)."""
    return FuturesVenue if profile.futures is not None else SimVenue

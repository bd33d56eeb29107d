"""A simulated exchange's order lifecycle: one matching engine per symbol, venue rules, rate limits.

``SimVenue`` is what sits behind ``SimAdapter``. It lives entirely at *venue time*: the adapter
delays requests by the order-entry latency before calling it and delays its answers and pushed
updates by the response latency. Market data reaches it at exchange time from the replay feed.

What it does, in the order a request meets it:

1. rate limits (``sim.venue.limits``): 429 with Retry-After, then 418 bans, as the venue does;
2. filters and balance (``sim.venue.filters`` via the profile): the venue's own codes and messages;
3. locking of funds on open orders (``funds_to_lock``), released as orders fill or end;
4. matching (``sim.venue.matching.engine``): queue position, partial fills, order types, time in force.

The account (free and locked funds, ``sim.venue.accounts``) is ``Decimal`` and changes only on
orders and fills; the engines work in fixed-point ints. This module decides how much an order
holds and releases as it lives; a fill's cost ``price * qty`` is rounded half-even onto the
1e-9 grid (exact on every shipped profile, whose tick x lot has at most 9 decimals), and fees
are already on it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from harness.contract import RateLimitedError
from harness.data.book import BookStream
from harness.model import (
    F_LAST,
    F_SNAPSHOT,
    Balance,
    BookDelta,
    BookLevel,
    BookSnapshot,
    Candle,
    Fill,
    Liquidity,
    OrderModification,
    OrderReport,
    OrderRequest,
    OrderStatus,
    PositionReport,
    Quote,
    Side,
    Trade,
    VenueInfo,
    VenueMode,
)
from harness.money import from_fixed, to_fixed
from harness.positions import PositionState, apply_fill
from harness.rng import SeededRng
from sim.venue.accounts import ZERO, Accounts, hold_on_grid, on_grid
from sim.venue.candles import CandleBuilder
from sim.venue.filters import LockedFunds, RejectReason, SymbolRules, VenueRejection, funds_to_lock
from sim.venue.limits import LimitDecision, VenueRateLimiter
from sim.venue.matching.engine import MatchingEngine
from sim.venue.matching.types import (
    REASON_POST_ONLY,
    CancelRejected,
    DepthMode,
    MatchEvent,
    MatchingConfig,
    ModifyRejected,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderRejected,
    OrderTriggered,
    SimOrder,
    compute_fee,
    rate_units,
)
from sim.venue.profile import VenueProfile
from sim.venue.queue_models import ConservativeQueueModel, LogProbQueueModel, PowerProbQueueModel, QueueModel

__all__ = [
    "ONE",
    "QUEUE_MODELS",
    "FillListener",
    "Int64Array",
    "OrderListener",
    "RejectedRequest",
    "SimVenue",
    "VenueOrder",
    "make_queue_model",
]

Int64Array = npt.NDArray[np.int64]
ONE = 10**9  # a price of 1.0 in fixed-point units (fees in base asset)
QUEUE_MODELS = ("conservative", "power", "log")


def _fill_ts(fill: Fill) -> int:
    return fill.ts_ns


def make_queue_model(name: str, rng: SeededRng, venue: str) -> QueueModel:
    """The queue model called ``name``, seeded from the venue's own RNG stream."""
    if name == "conservative":
        return ConservativeQueueModel()
    if name == "power":
        return PowerProbQueueModel(rng=rng.stream(f"queue.{venue}"))
    if name == "log":
        return LogProbQueueModel(rng=rng.stream(f"queue.{venue}"))
    raise ValueError(f"unknown queue model {name!r}; expected one of {', '.join(QUEUE_MODELS)}")


@dataclass(slots=True)
class VenueOrder:
    """The venue's record of one order: the request, the engine's order, funds held, progress."""

    request: OrderRequest
    engine_order: SimOrder
    venue_order_id: str
    lock_asset: str
    locked: Decimal
    status: OrderStatus
    filled: Decimal
    cum_quote: Decimal
    created_ns: int
    updated_ns: int
    reason: str = ""


_R = TypeVar("_R", OrderRejected, CancelRejected, ModifyRejected)


def _refusal_of(events: list[MatchEvent], order_id: int, kind: type[_R]) -> _R | None:
    """The engine's refusal of the command for ``order_id`` (other orders' events may come first)."""
    for event in events:
        if isinstance(event, kind) and event.order_id == order_id:
            return event
    return None


class RejectedRequest(Exception):  # noqa: N818  (a refusal, not a failure of ours)
    """The venue refused a request in its own terms; ``rejection`` has the code and message."""

    def __init__(self, rejection: VenueRejection) -> None:
        super().__init__(rejection.message)
        self.rejection = rejection


OrderListener = Callable[[OrderReport], None]
FillListener = Callable[[Fill], None]


class SimVenue:
    """One simulated exchange serving orders, account queries and market-data queries."""

    def __init__(self, profile: VenueProfile, *, balances: Mapping[str, Decimal], rng: SeededRng,
                 now: Callable[[], int], depth: DepthMode = DepthMode.BOOK,
                 queue_model: str = "conservative", name: str | None = None) -> None:
        self.profile = profile
        self.name = name or profile.name
        self.now = now
        self.depth = depth
        self.limiter = VenueRateLimiter(profile.rate_limits)
        self.accounts = Accounts(balances)
        self.free = self.accounts.free  # the same dicts: free and locked funds per asset
        self.locked = self.accounts.locked
        self.orders: dict[str, VenueOrder] = {}  # by client order id (the newest order of each)
        self.accepted: list[VenueOrder] = []
        """Every order the venue ever accepted, in order (two may share a client order id when the
        profile's ``client_order_id_reuse`` is ``after_close``)."""
        self._by_engine_id: dict[int, VenueOrder] = {}
        self.fills: list[Fill] = []
        self._fills_in_time_order = True  # fills_since bisects while this holds
        # open_orders looks at these client order ids only (an index, pruned as orders finish), in
        # the order of their keys in ``orders`` (``_key_seq``): never at every order ever placed
        self._maybe_open: dict[str, None] = {}
        self._key_seq: dict[str, int] = {}
        self.positions: dict[str, PositionState] = {}
        self.quotes: dict[str, Quote] = {}
        self.books: dict[str, BookStream] = {}
        self.order_listeners: list[OrderListener] = []
        self.fill_listeners: list[FillListener] = []
        self.candles = CandleBuilder(self.name)
        """OHLCV bars of the venue's own trade tape (what its klines endpoint serves)."""
        self._next_id = 1
        self._book_ts = 0
        self._maker_rate = rate_units(profile.fees.maker)
        self._taker_rate = rate_units(profile.fees.taker)
        self.engines: dict[str, MatchingEngine] = {}
        for symbol, rules in profile.symbols.items():
            config = MatchingConfig(depth=depth, maker_fee=profile.fees.maker, taker_fee=profile.fees.taker,
                                    tick_size=to_fixed(rules.tick_size), lot_size=to_fixed(rules.lot_size),
                                    queue_model=make_queue_model(queue_model, rng, f"{self.name}.{symbol}"))
            self.engines[symbol] = MatchingEngine(config)

    # ------------------------------------------------------------------ market data (exchange time)

    def on_trade(self, trade: Trade) -> None:
        """A public trade happened on this venue: matching, then its candle."""
        engine = self.engines.get(trade.symbol)
        if engine is not None:
            events = engine.on_trade(trade)
            if events:
                self._apply(events)
        self.candles.add(trade)

    def quiet_band(self, symbol: str) -> tuple[int, int, int] | None:
        """``(lo, hi, expiry)`` of ``symbol``'s engine: trades strictly inside touch no order or stop.

        None when the venue does not list the symbol (its trades only make candles).
        """
        engine = self.engines.get(symbol)
        return None if engine is None else engine.quiet_band()

    def on_quiet_trades(self, symbol: str, ts_event: Int64Array, price: Int64Array, size: Int64Array) -> None:
        """A run of public trades that all fell in ``quiet_band``, in one call (the replay's fast path).

        Their whole effect is what ``on_trade`` one by one would do to such trades: the engine's
        last price moves to the run's last, and every trade joins its candle.
        """
        engine = self.engines.get(symbol)
        if engine is not None:
            engine.note_trades(int(price[-1]))
        self.candles.add_many(symbol, ts_event, price, size)

    def on_quote(self, quote: Quote) -> None:
        """The venue's best bid/offer changed."""
        self.quotes[quote.symbol] = quote
        engine = self.engines.get(quote.symbol)
        if engine is not None:
            events = engine.on_quote(quote)
            if events:
                self._apply(events)

    def on_book(self, delta: BookDelta) -> None:
        """One row of an L2 book message (snapshot or diff).

        Rows go through the venue's ``BookStream`` first, so the matching engine only ever sees
        the book as the Binance sync rules rebuild it: diffs older than the snapshot are
        dropped, diffs that arrived before it are replayed, and after a gap the engine's book
        stays frozen until a new snapshot (a real venue never has a gap in its own book).
        """
        stream = self.books.get(delta.symbol)
        if stream is None:
            stream = self._book_stream(delta.symbol)
        self._book_ts = delta.ts_event
        stream.push(delta)

    def _book_stream(self, symbol: str) -> BookStream:
        stream = self.books[symbol] = BookStream()
        engine = self.engines.get(symbol)
        if engine is not None and self.depth is DepthMode.BOOK:
            stream.sync.on_apply = lambda levels, snapshot: self._engine_levels(symbol, engine, levels, snapshot)
        return stream

    def _engine_levels(self, symbol: str, engine: MatchingEngine, levels: list[tuple[int, int, int]],
                       snapshot: bool) -> None:
        """Hand levels the synced book applied to the engine, as canonical rows.

        Rows with side 0 only carry update ids and are skipped; an empty snapshot becomes one
        removal row, so the engine still clears its book.
        """
        ts = self._book_ts
        name = self.name
        real = [level for level in levels if level[0] != 0]
        if snapshot and not real:
            real = [(1, 0, 0)]
        base = F_SNAPSHOT if snapshot else 0
        last = len(real) - 1
        for i, (side, price, size) in enumerate(real):
            row = BookDelta(ts, ts, name, symbol, side, price, size, -1, -1, -1, base | F_LAST if i == last else base)
            events = engine.on_book_delta(row)
            if events:
                self._apply(events)

    # ------------------------------------------------------------------ requests (venue time)

    def check_rate(self, request: str, *, weight: int | None = None) -> LimitDecision:
        """Count ``request`` (a contract method or variant) against the venue's limits; raises
        ``RateLimitedError`` when refused."""
        decision = self.limiter.check(self.now(), request, weight)
        if not decision.allowed:
            raise RateLimitedError(decision.message, retry_after_s=Decimal(decision.retry_after_s or 0),
                                   banned=decision.http_status == 418, venue=self.name, code=decision.code,
                                   http_status=decision.http_status)
        return decision

    def submit(self, request: OrderRequest) -> OrderReport:
        """Accept (and possibly fill at once) or reject a new order; raises ``VenueRejection``."""
        now = self.now()
        errors = self.profile.errors
        earlier = self.orders.get(request.client_order_id)
        if earlier is not None and (self.profile.client_order_id_reuse == "never" or not earlier.status.is_terminal):
            raise RejectedRequest(errors.reject(RejectReason.DUPLICATE_ORDER))
        rules = self.profile.symbols.get(request.symbol)
        reference = self._reference_price(request.symbol, request.side)
        rejection = self._check_entry(request, reference)
        if rejection is not None:
            raise RejectedRequest(rejection)
        assert rules is not None  # validate_order rejects unknown symbols
        try:
            lock = self._order_lock(request, rules, reference)
        except ValueError:  # a market buy with no ask to price it: the venue has no liquidity
            raise RejectedRequest(self._new_order_rejected("No liquidity to price the market order.")) from None
        engine_id = self._next_id
        self._next_id += 1
        order = VenueOrder(
            request=request, engine_order=self._engine_order(engine_id, request),
            venue_order_id=str(engine_id), lock_asset=lock.asset, locked=hold_on_grid(lock.amount),
            status=OrderStatus.PENDING, filled=ZERO, cum_quote=ZERO, created_ns=now, updated_ns=now)
        self.accounts.hold(lock.asset, order.locked)
        self.orders[request.client_order_id] = order
        self._key_seq.setdefault(request.client_order_id, engine_id)  # where the key sits in ``orders``
        self._maybe_open[request.client_order_id] = None
        self._by_engine_id[engine_id] = order
        events = self.engines[request.symbol].submit(order.engine_order, now)
        refusal = _refusal_of(events, engine_id, OrderRejected)
        if refusal is not None:
            self._release(order)
            if earlier is None:
                del self.orders[request.client_order_id]
                del self._key_seq[request.client_order_id]
                self._maybe_open.pop(request.client_order_id, None)
            else:
                self.orders[request.client_order_id] = earlier
            del self._by_engine_id[engine_id]
            self._apply([e for e in events if e.order_id != engine_id])  # e.g. GTD expiries of others
            reason = refusal.reason
            if reason == REASON_POST_ONLY:
                raise RejectedRequest(errors.reject(RejectReason.POST_ONLY_WOULD_TAKE))
            raise RejectedRequest(self._new_order_rejected(reason))
        self.accepted.append(order)
        self._apply(events)
        return self.report(order)

    def _check_entry(self, request: OrderRequest, reference: Decimal | None) -> VenueRejection | None:
        """The venue's checks of a new order before it is accepted: filters, then free funds."""
        return self.profile.validate_order(request, reference_price=reference, free_balances=self.free)

    def _order_lock(self, request: OrderRequest, rules: SymbolRules, reference: Decimal | None) -> LockedFunds:
        """What a new order holds while it works (a spot venue: ``funds_to_lock``); ``ValueError``
        when a market order has no price to estimate it from."""
        return funds_to_lock(request, rules, best_ask=reference if request.side is Side.BUY else None,
                             fee_rate_reserve=self.profile.fee_rate_reserve,
                             market_buy_margin=self.profile.market_buy_margin)

    def cancel(self, symbol: str, client_order_id: str) -> OrderReport:
        """Cancel an open order; raises ``VenueRejection`` (unknown order) otherwise."""
        order = self._open_order(symbol, client_order_id, RejectReason.UNKNOWN_ORDER)
        events = self.engines[symbol].cancel(order.engine_order.id, self.now())
        if _refusal_of(events, order.engine_order.id, CancelRejected) is not None:
            self._apply(events)
            raise RejectedRequest(self.profile.errors.reject(RejectReason.UNKNOWN_ORDER))
        self._apply(events)
        return self.report(order)

    def modify(self, symbol: str, client_order_id: str, modification: OrderModification) -> OrderReport:
        """Change price and/or quantity of an open order, re-locking funds; keeps the client id."""
        order = self._open_order(symbol, client_order_id, RejectReason.UNKNOWN_ORDER)
        request = order.request
        new_price = modification.new_price if modification.new_price is not None else request.price
        new_qty = modification.new_quantity if modification.new_quantity is not None else request.quantity
        probe = OrderRequest(client_order_id=request.client_order_id, venue=request.venue, symbol=symbol,
                             side=request.side, order_type=request.order_type, quantity=new_qty,
                             price=new_price, stop_price=modification.new_stop_price or request.stop_price,
                             trailing_delta=request.trailing_delta, time_in_force=request.time_in_force,
                             expire_at_ns=request.expire_at_ns, post_only=request.post_only,
                             reduce_only=request.reduce_only, strategy_id=request.strategy_id)
        rejection = self._check_modify(probe, order)
        if rejection is not None:
            raise RejectedRequest(rejection)
        events = self.engines[symbol].modify(order.engine_order.id, self.now(), price=to_fixed(new_price)
                                             if new_price is not None else None, qty=to_fixed(new_qty))
        refused = _refusal_of(events, order.engine_order.id, ModifyRejected)
        if refused is not None:
            self._apply(events)
            code = self.profile.errors.entries[RejectReason.UNKNOWN_ORDER][0]
            raise RejectedRequest(VenueRejection(RejectReason.UNKNOWN_ORDER, code, refused.reason,
                                                 http_status=self.profile.errors.http_status))
        order.request = probe
        self._apply(events)
        return self.report(order)

    def _check_modify(self, probe: OrderRequest, order: VenueOrder) -> VenueRejection | None:
        """The venue's checks of an order as a modification would leave it (its own hold counts as free)."""
        free_plus_own = self.accounts.free_plus(order.lock_asset, order.locked)
        return self.profile.validate_order(probe, reference_price=self._reference_price(probe.symbol, probe.side),
                                           free_balances=free_plus_own)

    def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """The venue's current view of an order; raises ``VenueRejection`` (no such order)."""
        order = self.orders.get(client_order_id)
        if order is None or order.request.symbol != symbol:
            raise RejectedRequest(self.profile.errors.reject(RejectReason.NO_SUCH_ORDER))
        return self.report(order)

    def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Reports of every order still working, oldest first."""
        working: list[VenueOrder] = []
        for coid in list(self._maybe_open):
            order = self.orders.get(coid)
            if order is None or not (order.status.is_open or order.status is OrderStatus.PENDING):
                del self._maybe_open[coid]  # finished orders stay finished
            elif symbol is None or order.request.symbol == symbol:
                working.append(order)
        working.sort(key=lambda o: self._key_seq[o.request.client_order_id])
        return [self.report(o) for o in working]

    def fills_since(self, symbol: str | None = None, since_ns: int = 0) -> list[Fill]:
        """Our executions at or after ``since_ns``, oldest first (a bisection into the time-ordered fills)."""
        start = bisect_left(self.fills, since_ns, key=_fill_ts) if self._fills_in_time_order else 0
        return [f for f in self.fills[start:] if f.ts_ns >= since_ns and (symbol is None or f.symbol == symbol)]

    def balances(self) -> dict[str, Balance]:
        """Free and locked funds per asset."""
        return self.accounts.balances()

    def position_reports(self) -> list[PositionReport]:
        """Net position per symbol built from our fills (non-zero only)."""
        now = self.now()
        return [PositionReport(self.name, symbol, state.quantity, state.average_price, now)
                for symbol, state in sorted(self.positions.items()) if state.quantity != 0]

    def ticker(self, symbol: str) -> Quote:
        """Best bid/offer: the last quote, or the top of the rebuilt book."""
        self._known_symbol(symbol)
        stream = self.books.get(symbol)
        if stream is not None and stream.sync.valid:
            bid, ask = stream.sync.book.best_bid(), stream.sync.book.best_ask()
            if bid is not None and ask is not None:
                now = self.now()
                return Quote(now, now, self.name, symbol, bid.price, bid.size, ask.price, ask.size,
                             stream.sync.update_id)
        quote = self.quotes.get(symbol)
        if quote is None:
            now = self.now()
            return Quote(now, now, self.name, symbol, 0, 0, 0, 0, -1)
        return quote

    def server_time(self) -> int:
        """The venue's clock (``GET /api/v3/time``)."""
        return self.now()

    def candle_bars(self, symbol: str, interval_ns: int, limit: int) -> list[Candle]:
        """OHLCV bars of the venue's own trade tape up to now (its klines endpoint)."""
        return self.candles.candles(symbol, interval_ns, limit, self.now())

    def venue_info(self, mode: VenueMode) -> VenueInfo:
        """Instruments, filters, fees and capabilities from the profile (``exchangeInfo``)."""
        return self.profile.to_venue_info(mode)

    def order_book(self, symbol: str, depth: int) -> BookSnapshot:
        """Top ``depth`` levels per side of the rebuilt book (or the quote in L1 modes)."""
        self._known_symbol(symbol)
        now = self.now()
        stream = self.books.get(symbol)
        if stream is not None and stream.sync.valid:
            book = stream.sync.book
            return BookSnapshot(now, self.name, symbol, tuple(book.depth(1, depth)), tuple(book.depth(-1, depth)),
                                stream.sync.update_id)
        quote = self.ticker(symbol)
        bids = (BookLevel(quote.bid_price, quote.bid_size),) if quote.bid_size else ()
        asks = (BookLevel(quote.ask_price, quote.ask_size),) if quote.ask_size else ()
        return BookSnapshot(now, self.name, symbol, bids, asks, quote.update_id)

    # ------------------------------------------------------------------ internals

    def _new_order_rejected(self, message: str) -> VenueRejection:
        """A matching-engine refusal in the venue's words (Binance: -2010 NEW_ORDER_REJECTED)."""
        errors = self.profile.errors
        code = errors.entries[RejectReason.POST_ONLY_WOULD_TAKE][0]
        return VenueRejection(RejectReason.POST_ONLY_WOULD_TAKE, code, message,
                              http_status=errors.http_status)

    def _known_symbol(self, symbol: str) -> None:
        if symbol not in self.profile.symbols:
            raise RejectedRequest(self.profile.errors.reject(RejectReason.INVALID_SYMBOL))

    def _reference_price(self, symbol: str, side: Side) -> Decimal | None:
        quote = self.ticker(symbol) if symbol in self.profile.symbols else None
        if quote is None:
            return None
        px = quote.ask_price if side is Side.BUY else quote.bid_price
        return from_fixed(px) if px > 0 else None

    def _open_order(self, symbol: str, client_order_id: str, reason: RejectReason) -> VenueOrder:
        order = self.orders.get(client_order_id)
        if order is None or order.request.symbol != symbol or order.status.is_terminal:
            raise RejectedRequest(self.profile.errors.reject(reason))
        return order

    @staticmethod
    def _engine_order(engine_id: int, request: OrderRequest) -> SimOrder:
        return SimOrder(
            engine_id, request.side.sign, request.order_type, to_fixed(request.quantity),
            price=to_fixed(request.price) if request.price is not None else 0,
            stop=to_fixed(request.stop_price) if request.stop_price is not None else 0,
            trail=to_fixed(request.trailing_delta) if request.trailing_delta is not None else 0,
            tif=request.time_in_force, expire_at_ns=request.expire_at_ns or 0,
            post_only=request.post_only, client_id=request.client_order_id)

    def _apply(self, events: list[MatchEvent]) -> None:
        for event in events:
            order = self._by_engine_id.get(event.order_id)
            if order is None:
                continue
            order.updated_ns = event.ts_ns
            if isinstance(event, OrderFilled):
                self._fill(order, event)
                continue
            if isinstance(event, OrderAccepted):
                if order.status is OrderStatus.PENDING:
                    order.status = OrderStatus.OPEN
            elif isinstance(event, OrderCancelled):
                order.status = OrderStatus.CANCELLED
                self._release(order)
            elif isinstance(event, OrderExpired):
                order.status = OrderStatus.EXPIRED
                order.reason = event.reason
                self._release(order)
            elif isinstance(event, OrderRejected):
                order.status = OrderStatus.REJECTED
                order.reason = event.reason
                self._release(order)
            elif isinstance(event, OrderModified):
                self._relock(order)
            elif isinstance(event, OrderTriggered):
                order.reason = f"triggered at {from_fixed(event.trigger_price)}"
            else:
                continue
            self._notify(order)

    def _fill(self, order: VenueOrder, event: OrderFilled) -> None:
        request = order.request
        rules = self.profile.symbols[request.symbol]
        base, quote = rules.base_asset, rules.quote_asset
        price, qty = from_fixed(event.price), from_fixed(event.qty)
        cost = on_grid(price * qty)
        buy = event.side > 0
        fee_asset, fee = self._fee_of(event, base, quote)
        self._settle(order, event, cost, fee_asset, fee)
        order.filled += qty
        order.cum_quote += cost
        order.status = OrderStatus.FILLED if event.leaves_qty == 0 else OrderStatus.PARTIALLY_FILLED
        fill = Fill(self.name, request.symbol, f"{self.name}-{request.symbol}-{event.exec_id}",
                    request.client_order_id, order.venue_order_id, request.side, price, qty, fee, fee_asset,
                    event.liquidity, event.ts_ns)
        if self.fills and fill.ts_ns < self.fills[-1].ts_ns:
            self._fills_in_time_order = False
        self.fills.append(fill)
        state = self.positions.get(request.symbol, PositionState())
        self.positions[request.symbol], _ = apply_fill(state, qty if buy else -qty, price)
        if event.leaves_qty == 0:
            self._release(order)
        for listener in self.fill_listeners:
            listener(fill)
        self._notify(order)

    def _fee_of(self, event: OrderFilled, base: str, quote: str) -> tuple[str, Decimal]:
        """The fee of a fill and its asset: a spot buy pays in the base asset it receives (unless
        the profile holds fees in quote), everything else in the quote asset."""
        rate = self._maker_rate if event.liquidity is Liquidity.MAKER else self._taker_rate
        if event.side > 0 and not self.profile.hold_fee_in_quote:
            return base, from_fixed(compute_fee(ONE, event.qty, rate))
        return quote, from_fixed(event.fee)

    def _settle(self, order: VenueOrder, event: OrderFilled, cost: Decimal, fee_asset: str, fee: Decimal) -> None:
        """Move the funds of one fill: release what it used of the order's hold, then exchange the
        assets (a spot trade: quote for base, the fee off the asset it is paid in)."""
        request = order.request
        rules = self.profile.symbols[request.symbol]
        base, quote = rules.base_asset, rules.quote_asset
        qty = from_fixed(event.qty)
        if event.side > 0:
            need = cost + (fee if fee_asset == quote else ZERO)
            priced = request.price is not None
            release = self._hold_after_fill(order, event) if priced else min(order.locked, need)
            self._unlock(order, release)
            self.accounts.transfer(quote, need, base, qty - (fee if fee_asset == base else ZERO))
        else:
            self._unlock(order, min(order.locked, qty))
            self.accounts.transfer(base, qty, quote, cost - fee)

    def _hold_after_fill(self, order: VenueOrder, event: OrderFilled) -> Decimal:
        """How much of a priced buy's hold this fill frees: hold(before) - hold(leaves after)."""
        request = order.request
        assert request.price is not None
        leaves = from_fixed(event.leaves_qty)
        remaining_hold = hold_on_grid(request.price * leaves * (1 + self.profile.fee_rate_reserve))
        return max(order.locked - remaining_hold, ZERO)

    def _relock(self, order: VenueOrder) -> None:
        """After a modify: hold exactly what the order now needs (difference from free)."""
        request = order.request
        rules = self.profile.symbols[request.symbol]
        leaves = request.quantity - order.filled
        remaining = OrderRequest(request.client_order_id, request.venue, request.symbol, request.side,
                                 request.order_type, leaves, request.price, request.stop_price)
        want = hold_on_grid(self._order_lock(remaining, rules, self._reference_price(request.symbol, Side.BUY)).amount)
        self.accounts.hold(order.lock_asset, want - order.locked)
        order.locked = want

    def _unlock(self, order: VenueOrder, amount: Decimal) -> None:
        if amount <= 0:
            return
        order.locked -= amount
        self.accounts.release(order.lock_asset, amount)

    def _release(self, order: VenueOrder) -> None:
        self._unlock(order, order.locked)

    def _notify(self, order: VenueOrder) -> None:
        if self.order_listeners:
            report = self.report(order)
            for listener in self.order_listeners:
                listener(report)

    def report(self, order: VenueOrder) -> OrderReport:
        """The contract's view of a venue order right now."""
        request = order.request
        average = order.cum_quote / order.filled if order.filled else None
        return OrderReport(
            venue=self.name, symbol=request.symbol, client_order_id=request.client_order_id,
            venue_order_id=order.venue_order_id, status=order.status, side=request.side,
            order_type=request.order_type, quantity=request.quantity, filled_quantity=order.filled,
            price=request.price, average_price=average, ts_ns=order.updated_ns,
            time_in_force=request.time_in_force, stop_price=request.stop_price, reason=order.reason)


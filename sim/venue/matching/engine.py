"""The matching core of the simulated venue: one pure, synchronous, deterministic engine per symbol.

Inputs are market events (``on_trade``, ``on_quote``, ``on_book_delta``, or ``on_market`` for a
batch) and our commands (``submit``, ``cancel``, ``modify``, ``advance``), each at a time in
integer nanoseconds. Outputs are lists of events (``sim.venue.matching.types``): accepted, rejected,
filled (price, qty, liquidity, fee, leaves), triggered, expired, cancelled, modified. There is
no SimPy, asyncio, wall clock or global RNG in here; the same inputs give the same outputs.
Balance checks and venue filters belong to the venue layer, which calls the engine afterwards
and locks/unlocks funds from the events.

Modelling rules (see also ``DepthMode``, ``MatchingConfig``, ``sim.venue.matching.queue``,
``sim.venue.queue_models``, ``sim.venue.matching.book`` and ``sim.venue.matching.stops``):

* **Aggressive orders** (market, marketable limit, triggered stops): BOOK mode walks the L2
  levels best-first, each fill at the level's price, up to the limit; QUOTES mode takes the
  displayed top size (a MARKET remainder then fills ``l1_overflow_ticks`` worse, or expires);
  TRADES mode fills in full at the last trade price moved ``trades_slippage_ticks`` against us
  (capped at the limit). A limit is marketable when it reaches the best *unconsumed* opposite
  level (TRADES: when it is strictly better than the last trade price). MARKET remainders
  expire; a MARKET order meeting no liquidity at all is rejected (after a trigger: expired).
* **Time in force**: IOC expires what did not fill at once; FOK first checks that the whole
  quantity is available (in the current depth mode) and otherwise expires with nothing filled;
  GTD expires once the engine's time reaches ``expire_at_ns`` (checked on every input before
  the input itself is applied, and by ``advance``); GTC rests.
* **Post-only** limits that would cross are rejected with Binance's text
  ``"Order would immediately match and take."``.
* **Resting orders and queue position**: an order resting at ``P`` gets ``queue_ahead`` = the
  unconsumed displayed size at ``P`` (BOOK; QUOTES when ``P`` is the top), 0 when ``P`` is better
  than the market's best, and ``default_queue_ahead`` when the level is not visible (TRADES
  always; QUOTES below the top; BOOK/QUOTES while our side shows no level at all, as before the
  first snapshot), replaced by the displayed size the first time the data shows ``P``.
  **Arrival time**: the order joins the queue at its venue arrival (``SimOrder.arrived_ns``).
  Market data stamped before that time but received after it (a diff whose exchange time
  precedes our arrival, a snapshot taken before it) shows the level as it stood before we
  joined: all of its change is ahead of us (a snapshot sets ``queue_ahead`` to the level less
  the trades at ``P`` since). Data stamped at or after our arrival is behind us. What L2 data
  cannot tell: when one message sums several changes (Binance spot diffs cover 100 ms and
  carry only their end time), the part of an increase that happened before our arrival is
  invisible; the message's stamp decides for all of it.
  A trade at ``P`` (aggressor on the other side, or unknown) first reduces ``queue_ahead``,
  then fills us with the volume that reached us (minus our own earlier orders at ``P``). A trade
  strictly through ``P`` fills us up to its size regardless of queue. A level decrease not
  explained by trades since the last update is split by the queue model; the queue never
  exceeds the level's size, and is 0 when the level is gone. Resting fills are MAKER at our
  price. In QUOTES/BOOK mode a market update that makes the opposite side reach a resting
  order fills it (MAKER, our price) from that displayed volume.
* **Our fills never reuse liquidity**: each trade's size is a budget shared by all our
  resting orders (best price first, then our time priority; across both sides when the
  aggressor is unknown), so our fills from one trade never exceed its size. Displayed volume
  we take (as taker, or as a resting order the book crossed) is recorded per level (see
  ``BookSide``) until market data updates that level. With ``use_aggressor`` (default), in
  QUOTES/BOOK mode a trade whose aggressor is on our side (a buyer, for our bids) fills
  nothing: the ask it lifted was already matched against us by the crossing rule. In TRADES
  mode aggressive fills are assumed unlimited at the last price and take no trade volume.
* **Conditional orders** trigger on trade prices only (``sim.venue.matching.stops``), after that
  trade's passive fills; a stop whose condition already holds at submission is rejected
  (``reject_immediate_stop``) or triggers at once.
* **Modify**: a price change or a quantity increase loses priority (the order re-enters as if
  new: fresh queue estimate, may be marketable); a pure decrease keeps it. The new quantity is
  the total, and must exceed what has already filled.
* **Self-trade**: our own orders never match each other; aggressive orders see only the
  market's liquidity.
* **Lots**: with ``MatchingConfig.lot_size`` every order quantity must be a multiple of the
  lot; every fill is a whole number of lots (displayed or traded volume off the grid leaves its
  remainder unused) and so is every remainder. The queue models' fractional estimates move
  ``queue_ahead`` in whole lots, the remainder carried per order (``sim.venue.queue_models``).
* **Fees**: ``price * qty * rate`` rounded half-even to 1e-9 quote units per fill
  (``compute_fee``); maker rate for resting fills, taker rate for aggressive ones.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.model import F_LAST, F_SNAPSHOT, BookDelta, OrderStatus, OrderType, Quote, Trade
from sim.venue.matching.core import INF, EngineCore
from sim.venue.matching.stops import stop_condition_met, trailing_start
from sim.venue.matching.types import (
    REASON_NO_LIQUIDITY,
    REASON_POST_ONLY,
    REASON_TRIGGER_NOW,
    REASON_UNKNOWN_ORDER,
    CancelRejected,
    DepthMode,
    MatchEvent,
    ModifyRejected,
    OrderAccepted,
    OrderCancelled,
    OrderModified,
    OrderRejected,
    SimOrder,
)

__all__ = ["MatchingEngine"]

_INF = INF
_QUOTES = DepthMode.QUOTES
_BOOK = DepthMode.BOOK


class MatchingEngine(EngineCore):
    """Matches our orders against replayed market data for one (venue, symbol).

    Build it with a ``MatchingConfig``. Public methods return a list of events (empty when
    nothing happened). Every input first expires GTD orders that are due at its time.
    """

    # ------------------------------------------------------------------ read access

    @property
    def last_trade_price(self) -> int | None:
        """Price of the last trade seen, or None before the first one."""
        return self._last_px

    def quiet_band(self) -> tuple[int, int, int]:
        """``(lo, hi, expiry)``: a trade priced strictly between lo and hi at a time before expiry
        changes nothing in this engine but its last trade price (no order or stop is touched).

        The replay's trade fast path (``sim.venue.trade_runs``) uses it to hand whole runs of trades
        to the venue at once; ``note_trades`` then records their effect.
        """
        return self._lo, self._hi, self._next_expiry

    def note_trades(self, last_price: int) -> None:
        """Record a run of trades that all fell in ``quiet_band``: only the last price moves."""
        self._last_px = last_price

    @property
    def best_bid(self) -> int | None:
        """The market's best bid (QUOTES/BOOK modes), or None."""
        return self._book_bid.best()

    @property
    def best_ask(self) -> int | None:
        """The market's best ask (QUOTES/BOOK modes), or None."""
        return self._book_ask.best()

    def book_size(self, side: int, price: int) -> int:
        """Displayed market size at ``price`` on ``side`` (+1 bids, -1 asks)."""
        return (self._book_bid if side > 0 else self._book_ask).size_at(price)

    def book_available(self, side: int, price: int) -> int:
        """Displayed size at ``price`` on ``side`` that our fills have not consumed."""
        return (self._book_bid if side > 0 else self._book_ask).available(price)

    def get(self, order_id: int) -> SimOrder | None:
        """The open order with ``order_id`` (resting or waiting for its trigger), or None."""
        return self._orders.get(order_id)

    def open_orders(self) -> list[SimOrder]:
        """All open orders, in submission order."""
        return list(self._orders.values())

    # ------------------------------------------------------------------ commands

    def submit(self, order: SimOrder, now_ns: int) -> list[MatchEvent]:
        """Accept or reject ``order`` and match it at once as far as the market allows."""
        ev: list[MatchEvent] = []
        if now_ns >= self._next_expiry:
            self._expire_due(now_ns, ev)
        reason = self._validate(order, now_ns)
        if not reason and order.order_type is OrderType.MARKET and not self._has_liquidity(order.side):
            reason = REASON_NO_LIQUIDITY
        conditional = order.is_conditional
        trigger_now = False
        if not reason and conditional and order.order_type is not OrderType.TRAILING_STOP:
            last = self._last_px
            trigger_now = last is not None and stop_condition_met(order, last)
            if trigger_now and self.config.reject_immediate_stop:
                reason = REASON_TRIGGER_NOW
        if not reason and order.post_only and self._crosses(order.side, order.price):
            reason = REASON_POST_ONLY
        if reason:
            order.status = OrderStatus.REJECTED
            ev.append(OrderRejected(now_ns, order.id, reason))
            return ev
        order.status = OrderStatus.OPEN
        self._orders[order.id] = order
        ev.append(OrderAccepted(now_ns, order.id))
        if conditional:
            if order.order_type is OrderType.TRAILING_STOP:
                trailing_start(order, self._last_px)
            if trigger_now:
                self._trigger(order, self._last_px or 0, now_ns, ev)
            else:
                self._stops.append(order)
        else:
            self._execute(order, now_ns, ev)
        self._refresh()
        return ev

    def cancel(self, order_id: int, now_ns: int) -> list[MatchEvent]:
        """Cancel an open order; unknown or closed ids give ``CancelRejected``."""
        ev: list[MatchEvent] = []
        if now_ns >= self._next_expiry:
            self._expire_due(now_ns, ev)
        order = self._orders.get(order_id)
        if order is None:
            ev.append(CancelRejected(now_ns, order_id, REASON_UNKNOWN_ORDER))
            return ev
        self._close(order, OrderStatus.CANCELLED)
        ev.append(OrderCancelled(now_ns, order_id, order.qty - order.filled))
        self._refresh()
        return ev

    def modify(
        self,
        order_id: int,
        now_ns: int,
        *,
        price: int | None = None,
        qty: int | None = None,
        stop: int | None = None,
    ) -> list[MatchEvent]:
        """Amend price, total quantity and/or stop of an open order (None keeps a field).

        A price change or a quantity increase loses queue priority: the order re-enters as if
        new (fresh queue estimate; it may now be marketable and fill as taker). A pure
        decrease keeps its place. Invalid amendments give ``ModifyRejected`` and change nothing.
        """
        ev: list[MatchEvent] = []
        if now_ns >= self._next_expiry:
            self._expire_due(now_ns, ev)
        order = self._orders.get(order_id)
        if order is None:
            ev.append(ModifyRejected(now_ns, order_id, REASON_UNKNOWN_ORDER))
            return ev
        price = order.price if price is None else price
        qty = order.qty if qty is None else qty
        stop = order.stop if stop is None else stop
        reason = self._check_amendment(order, price, qty, stop)
        if reason:
            ev.append(ModifyRejected(now_ns, order_id, reason))
            return ev
        lost = price != order.price or qty > order.qty
        if order.is_conditional:
            order.price, order.qty, order.stop = price, qty, stop
            ev.append(OrderModified(now_ns, order_id, price, qty, stop, lost))
            last = self._last_px
            if (
                order.order_type is not OrderType.TRAILING_STOP
                and last is not None
                and stop_condition_met(order, last)
            ):
                self._stops.remove(order)
                self._trigger(order, last, now_ns, ev)
        elif not lost:
            order.qty = qty
            ev.append(OrderModified(now_ns, order_id, price, qty, stop, False))
        else:
            (self._bids if order.side > 0 else self._asks).remove(order)
            order.price, order.qty, order.stop = price, qty, stop
            ev.append(OrderModified(now_ns, order_id, price, qty, stop, True))
            self._execute(order, now_ns, ev)
        self._refresh()
        return ev

    def advance(self, now_ns: int) -> list[MatchEvent]:
        """Move the engine's time to ``now_ns``: expire GTD orders whose deadline has come."""
        if now_ns < self._next_expiry:
            return []
        ev: list[MatchEvent] = []
        self._expire_due(now_ns, ev)
        return ev

    # ------------------------------------------------------------------ market data

    def on_trade(self, trade: Trade, now_ns: int | None = None) -> list[MatchEvent]:
        """Apply one public trade (time ``now_ns``, default ``trade.ts_event``)."""
        p = trade.price
        self._last_px = p
        now = trade.ts_event if now_ns is None else now_ns
        if self._lo < p < self._hi and now < self._next_expiry:
            return []
        ev: list[MatchEvent] = []
        if now >= self._next_expiry:
            self._expire_due(now, ev)
        size = budget = trade.size
        n_bids, n_asks = len(self._bids), len(self._asks)
        if n_bids and p <= self._max_buy:
            budget = self._trade_hits(self._bids, 1, p, size, trade.aggressor, budget=budget, now=now, ev=ev)
        if n_asks and p >= self._min_sell:
            self._trade_hits(self._asks, -1, p, size, trade.aggressor, budget=budget, now=now, ev=ev)
        had_stops = bool(self._stops)
        if had_stops:
            self._check_stops(p, now, ev)
        # partial fills change no price, set or deadline: rebuild the caches only when needed
        if had_stops or len(self._bids) != n_bids or len(self._asks) != n_asks:
            self._refresh()
        return ev

    def on_quote(self, quote: Quote, now_ns: int | None = None) -> list[MatchEvent]:
        """Apply a best bid/ask update (QUOTES mode; other modes only advance time)."""
        now = quote.ts_event if now_ns is None else now_ns
        if self._mode is not _QUOTES:
            return self.advance(now)
        ev: list[MatchEvent] = []
        if now >= self._next_expiry:
            self._expire_due(now, ev)
        book = self._book_bid
        bp, bs = (quote.bid_price, quote.bid_size) if quote.bid_size > 0 else (0, 0)
        old_p = book.best() or 0
        old_s = book.size_at(old_p)
        if bp != old_p or bs != old_s:
            book.clear()
            if bs:
                book.update(bp, bs)
            if self._bids and (not bs or self._max_buy >= bp):
                self._queue.top_moved(self._bids, 1, old_p, old_s, new_p=bp, new_s=bs, ts=now)
            if bs and self._asks and bp >= self._min_sell:
                self._cross_level(self._asks, book, bp, now, ev)
        book = self._book_ask
        ap, az = (quote.ask_price, quote.ask_size) if quote.ask_size > 0 else (0, 0)
        old_p = book.best() or 0
        old_s = book.size_at(old_p)
        if ap != old_p or az != old_s:
            book.clear()
            if az:
                book.update(ap, az)
            if self._asks and (not az or self._min_sell <= ap):
                self._queue.top_moved(self._asks, -1, old_p, old_s, new_p=ap, new_s=az, ts=now)
            if az and self._bids and ap <= self._max_buy:
                self._cross_level(self._bids, book, ap, now, ev)
        if ev:
            self._refresh()
        return ev if ev else []

    def on_book_delta(self, delta: BookDelta, now_ns: int | None = None) -> list[MatchEvent]:
        """Apply one L2 row (BOOK mode; other modes only advance time).

        Snapshot rows (``F_SNAPSHOT``) replace the book: the first one clears it, and the
        snapshot ends at a row flagged ``F_LAST`` or at the first non-snapshot row. At its end
        our queue estimates are clamped to the new level sizes and crossed orders are matched.
        """
        now = delta.ts_event if now_ns is None else now_ns
        if self._mode is not _BOOK:
            return self.advance(now)
        ev: list[MatchEvent] | None = None
        if now >= self._next_expiry:
            ev = []
            self._expire_due(now, ev)
        flags = delta.flags
        if flags & F_SNAPSHOT:
            if not self._in_snapshot:
                self._book_bid.clear()
                self._book_ask.clear()
                self._in_snapshot = True
                self._snap_ts = now
            (self._book_bid if delta.side > 0 else self._book_ask).update(delta.price, delta.size)
            if flags & F_LAST:
                ev = ev if ev is not None else []
                self._end_snapshot(now, ev)
            return ev if ev else []
        if self._in_snapshot:
            ev = ev if ev is not None else []
            self._end_snapshot(now, ev)
        p = delta.price
        s = delta.size
        if delta.side > 0:
            prev = self._book_bid.update(p, s)
            if p in self._bid_px:
                self._level_update(self._bids, p, prev, s, now)
            if s and p >= self._min_sell:
                ev = ev if ev is not None else []
                self._cross_level(self._asks, self._book_bid, p, now, ev)
                self._refresh()
        else:
            prev = self._book_ask.update(p, s)
            if p in self._ask_px:
                self._level_update(self._asks, p, prev, s, now)
            if s and p <= self._max_buy:
                ev = ev if ev is not None else []
                self._cross_level(self._bids, self._book_ask, p, now, ev)
                self._refresh()
        return ev if ev else []

    def on_market(
        self, events: Iterable[Trade | Quote | BookDelta], now_ns: int | None = None
    ) -> list[MatchEvent]:
        """Apply a batch of market events in order; ``now_ns`` (if given) stamps them all."""
        out: list[MatchEvent] = []
        for item in events:
            if type(item) is Trade:
                res = self.on_trade(item, now_ns)
            elif type(item) is BookDelta:
                res = self.on_book_delta(item, now_ns)
            elif type(item) is Quote:
                res = self.on_quote(item, now_ns)
            else:
                raise TypeError(f"not a market event: {type(item).__name__}")
            if res:
                out.extend(res)
        return out


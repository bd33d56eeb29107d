"""Internals of the matching engine: state, execution, passive fills, caches (queue rules: ``queue``).

``sim.matching.MatchingEngine`` is the public face (commands and market-data inputs) and
documents the modelling rules; this module holds the machinery it shares, split out only to
keep each file readable in one sitting. Nothing here is public API.
"""

from __future__ import annotations

from bisect import insort
from typing import Final

from harness.model import Liquidity, OrderStatus, OrderType, TimeInForce
from sim.venue.matching.book import BookSide
from sim.venue.matching.queue import QueueTracker
from sim.venue.matching.stops import stop_condition_met, trailing_step, trigger_bounds
from sim.venue.matching.types import (
    REASON_FOK,
    REASON_GTD,
    REASON_IOC,
    REASON_MARKET_REMAINDER,
    REASON_NO_LIQUIDITY,
    REASON_POST_ONLY,
    REASON_TRIGGER_NOW,
    DepthMode,
    MatchEvent,
    MatchingConfig,
    OrderExpired,
    OrderFilled,
    OrderTriggered,
    SimOrder,
    compute_fee,
    rate_units,
)

__all__ = ["INF", "EngineCore"]

INF: Final = 1 << 126
_INF: Final = INF
_MAKER = Liquidity.MAKER
_TAKER = Liquidity.TAKER
_TRADES = DepthMode.TRADES
_QUOTES = DepthMode.QUOTES
_BOOK = DepthMode.BOOK


def _bid_key(order: SimOrder) -> tuple[int, int]:
    """Priority of resting buys: higher price first, then earlier."""
    return -order.price, order.seq


def _ask_key(order: SimOrder) -> tuple[int, int]:
    """Priority of resting sells: lower price first, then earlier."""
    return order.price, order.seq


class EngineCore:
    """State and internal operations of one engine; see ``sim.matching.MatchingEngine``."""

    def __init__(self, config: MatchingConfig | None = None) -> None:
        """Build an empty engine; ``config`` defaults to ``MatchingConfig()`` (BOOK, zero fees)."""
        cfg = config if config is not None else MatchingConfig()
        self.config = cfg
        self._mode = cfg.depth
        self._maker_rate = rate_units(cfg.maker_fee)
        self._taker_rate = rate_units(cfg.taker_fee)
        self._lot = cfg.lot_size
        self._queue = QueueTracker(cfg.queue_model, cfg.lot_size)
        self._use_agg = cfg.use_aggressor
        self._orders: dict[int, SimOrder] = {}
        self._bids: list[SimOrder] = []  # our resting buys, best first
        self._asks: list[SimOrder] = []  # our resting sells, best first
        self._stops: list[SimOrder] = []  # conditional orders waiting for a trigger
        self._book_bid = BookSide(True)
        self._book_ask = BookSide(False)
        self._in_snapshot = False
        self._snap_ts = 0  # stamp of the snapshot being loaded
        self._last_px: int | None = None
        self._seq = 0
        self._exec = 0
        # Fast-path caches, rebuilt by _refresh() after every change to our orders.
        self._lo = -_INF  # trades at p <= _lo matter
        self._hi = _INF  # trades at p >= _hi matter
        self._max_buy = -_INF
        self._min_sell = _INF
        self._bid_px: frozenset[int] = frozenset()
        self._ask_px: frozenset[int] = frozenset()
        self._next_expiry = _INF

    # ------------------------------------------------------------------ validation

    def _validate(self, o: SimOrder, now_ns: int) -> str:
        """Reason the engine cannot take ``o`` (structural checks only), or ''."""
        if o.id in self._orders:
            return "Duplicate order id."
        if o.side not in (1, -1):
            return "Side must be +1 (buy) or -1 (sell)."
        if o.qty <= 0 or o.filled != 0:
            return "Quantity must be positive (and nothing filled yet)."
        if o.qty % self._lot:
            return "Quantity must be a multiple of the lot size."
        t = o.order_type
        if t is OrderType.MARKET and (o.price != 0 or o.post_only):
            return "A market order has no price and cannot be post-only."
        if t in (OrderType.LIMIT, OrderType.STOP_LIMIT) and o.price <= 0:
            return "A limit order needs a positive price."
        if o.price < 0 or o.stop < 0:
            return "Prices must not be negative."
        if t is OrderType.STOP_MARKET and o.price != 0:
            return "A stop-market order has no limit price."
        if t in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT) and o.stop <= 0:
            return "A stop or take-profit order needs a positive stop price."
        if t is OrderType.TRAILING_STOP and o.trail <= 0:
            return "A trailing stop needs a positive trailing delta."
        if o.post_only and (t is not OrderType.LIMIT or o.tif not in (TimeInForce.GTC, TimeInForce.GTD)):
            return "Post-only applies to GTC/GTD limit orders only."
        if o.tif is TimeInForce.GTD and o.expire_at_ns <= now_ns:
            return "GTD expiry time must be in the future."
        return ""

    def _check_amendment(self, o: SimOrder, price: int, qty: int, stop: int) -> str:
        """Reason an amendment of ``o`` to (price, qty, stop) is invalid, or ''."""
        if qty <= o.filled:
            return "New quantity must exceed the filled quantity."
        if qty % self._lot:
            return "Quantity must be a multiple of the lot size."
        t = o.order_type
        if t is OrderType.MARKET:
            return "A market order cannot be modified."
        if price < 0 or stop < 0:
            return "Prices must not be negative."
        if (price <= 0) != (o.price <= 0):
            return "Modify cannot turn a limit order into a market order or back."
        if o.is_conditional:
            if t is not OrderType.TRAILING_STOP and stop <= 0:
                return "A stop or take-profit order needs a positive stop price."
            last = self._last_px
            if (
                t is not OrderType.TRAILING_STOP
                and self.config.reject_immediate_stop
                and last is not None
                and stop_condition_met(_probe(o, stop), last)
            ):
                return REASON_TRIGGER_NOW
            return ""
        if o.post_only and price != o.price and self._crosses(o.side, price):
            return REASON_POST_ONLY
        return ""

    # ------------------------------------------------------------------ execution

    def _has_liquidity(self, side: int) -> bool:
        """Whether an aggressive order of ``side`` has anything to trade against."""
        if self._mode is _TRADES:
            return self._last_px is not None
        return self._best_available(side) is not None

    def _best_available(self, side: int) -> int | None:
        """Best opposite price (asks for a buy) that still has unconsumed displayed volume."""
        book = self._book_ask if side > 0 else self._book_bid
        for px in book.levels_from_best(None):
            if book.available(px) > 0:
                return px
        return None

    def _crosses(self, side: int, price: int) -> bool:
        """Whether a limit at ``price`` would take liquidity now (see module rules)."""
        if self._mode is _TRADES:
            last = self._last_px
            return last is not None and (price - last) * side > 0
        best = self._best_available(side)
        return best is not None and (price - best) * side >= 0

    def _available(self, o: SimOrder, limit: int | None) -> int:
        """Quantity an aggressive ``o`` could fill right now (for FOK); _INF when unbounded."""
        if self._mode is _TRADES:
            if self._last_px is None:
                return 0
            return _INF if limit is None or self._crosses(o.side, limit) else 0
        book = self._book_ask if o.side > 0 else self._book_bid
        total = 0
        lot = self._lot
        for px in book.levels_from_best(limit):
            avail = max(0, book.available(px))
            total += avail - avail % lot
        if (
            limit is None
            and self._mode is _QUOTES
            and self.config.l1_overflow_ticks is not None
            and book.best() is not None
        ):
            return _INF
        return total

    def _execute(self, o: SimOrder, now: int, ev: list[MatchEvent]) -> None:
        """Match a (possibly just triggered) market or limit order, then rest or expire it."""
        limit = o.price if o.price > 0 else None
        if o.tif is TimeInForce.FOK and self._available(o, limit) < o.qty - o.filled:
            self._close(o, OrderStatus.EXPIRED)
            ev.append(OrderExpired(now, o.id, o.qty - o.filled, REASON_FOK))
            return
        if limit is None or self._crosses(o.side, limit):
            self._take(o, limit, now, ev)
        leaves = o.qty - o.filled
        if leaves == 0:
            return
        if limit is None:
            self._close(o, OrderStatus.EXPIRED)
            reason = REASON_MARKET_REMAINDER if o.filled else REASON_NO_LIQUIDITY
            ev.append(OrderExpired(now, o.id, leaves, reason))
        elif o.tif is TimeInForce.IOC or o.tif is TimeInForce.FOK:
            self._close(o, OrderStatus.EXPIRED)
            ev.append(OrderExpired(now, o.id, leaves, REASON_IOC))
        else:
            self._rest(o, now)

    def _take(self, o: SimOrder, limit: int | None, now: int, ev: list[MatchEvent]) -> None:
        """Fill ``o`` as taker against the liquidity the depth mode shows."""
        side = o.side
        cfg = self.config
        if self._mode is _TRADES:
            last = self._last_px
            if last is None:
                return
            px = last + side * cfg.trades_slippage_ticks * cfg.tick_size
            if limit is not None and (px - limit) * side > 0:
                px = limit
            self._fill(o, px, o.qty - o.filled, _TAKER, now=now, ev=ev)
            return
        book = self._book_ask if side > 0 else self._book_bid
        for px in book.levels_from_best(limit):
            q = min(book.available(px), o.qty - o.filled)
            q -= q % self._lot  # whole lots only (displayed sizes off the lot grid leave the rest)
            if q <= 0:
                continue
            book.consume(px, q)
            self._fill(o, px, q, _TAKER, now=now, ev=ev)
            if o.filled == o.qty:
                return
        ticks = cfg.l1_overflow_ticks
        top = book.best()
        if limit is None and self._mode is _QUOTES and ticks is not None and top is not None:
            px = max(cfg.tick_size, top + side * ticks * cfg.tick_size)
            self._fill(o, px, o.qty - o.filled, _TAKER, now=now, ev=ev)

    def _rest(self, o: SimOrder, now: int) -> None:
        """Put ``o`` in our resting book at time ``now`` with a fresh queue estimate and time priority.

        With no level at all on our side (no book yet: BOOK mode before the first snapshot,
        QUOTES mode before the first quote), the estimate is a default until the level is
        first seen, like a level the data does not show.
        """
        self._seq += 1
        o.seq = self._seq
        o.trade_since_update = 0
        o.queue_carry = 0
        o.arrived_ns = now
        side = o.side
        same = self._book_bid if side > 0 else self._book_ask
        mode = self._mode
        if mode is _TRADES:
            o.queue_ahead, o.queue_known = self.config.default_queue_ahead, False
        else:
            best = same.best()
            if best is None:
                o.queue_ahead, o.queue_known = self.config.default_queue_ahead, False
            elif (o.price - best) * side > 0:
                o.queue_ahead, o.queue_known = 0, True
            elif mode is _BOOK or o.price == best:
                o.queue_ahead, o.queue_known = max(0, same.available(o.price)), True
            else:
                o.queue_ahead, o.queue_known = self.config.default_queue_ahead, False
        if side > 0:
            insort(self._bids, o, key=_bid_key)
        else:
            insort(self._asks, o, key=_ask_key)

    def _fill(self, o: SimOrder, px: int, q: int, liq: Liquidity, *, now: int, ev: list[MatchEvent]) -> None:
        """Record one execution of ``q`` at ``px``; an order that completes leaves ``_orders``."""
        o.filled += q
        leaves = o.qty - o.filled
        fee = compute_fee(px, q, self._maker_rate if liq is _MAKER else self._taker_rate)
        self._exec += 1
        ev.append(OrderFilled(now, o.id, o.side, px, q, liq, fee, leaves, self._exec))
        if leaves == 0:
            o.status = OrderStatus.FILLED
            self._orders.pop(o.id, None)
        else:
            o.status = OrderStatus.PARTIALLY_FILLED

    def _close(self, o: SimOrder, status: OrderStatus) -> None:
        """Take ``o`` out of every structure with a terminal ``status``."""
        self._orders.pop(o.id, None)
        if o.is_conditional:
            if o in self._stops:
                self._stops.remove(o)
        else:
            lst = self._bids if o.side > 0 else self._asks
            if o in lst:
                lst.remove(o)
        o.status = status

    def _expire_due(self, now: int, ev: list[MatchEvent]) -> None:
        """Expire every GTD order whose ``expire_at_ns`` is at or before ``now``."""
        for o in list(self._orders.values()):
            if o.tif is TimeInForce.GTD and o.expire_at_ns <= now:
                self._close(o, OrderStatus.EXPIRED)
                ev.append(OrderExpired(now, o.id, o.qty - o.filled, REASON_GTD))
        self._refresh()

    # ------------------------------------------------------------------ passive fills

    def _trade_hits(
        self,
        orders: list[SimOrder],
        side: int,
        p: int,
        size: int,
        agg: int,
        *,
        budget: int,
        now: int,
        ev: list[MatchEvent],
    ) -> int:
        """Let a trade at ``p`` reach our resting orders of ``side`` (best first); return unused budget.

        ``budget`` is what is left of the trade's size for our fills: shared by all our orders,
        and across both sides when a trade with an unknown aggressor reaches our bids and asks.
        """
        allow_equal = True
        if self._use_agg and agg == side:
            if self._mode is not _TRADES:
                return budget
            allow_equal = False
        own_ahead = 0
        lot = self._lot
        done: list[SimOrder] = []
        for o in orders:
            d = (o.price - p) * side
            if d < 0 or (d == 0 and not allow_equal):
                break
            leaves = o.qty - o.filled
            if d == 0:
                reach = size - o.queue_ahead - own_ahead
                o.queue_ahead = max(0, o.queue_ahead - size)
                o.trade_since_update += size
                own_ahead += leaves
                q = min(reach, leaves, budget)
            else:
                q = min(leaves, budget)
            q -= q % lot  # whole lots (a negative reach stays negative)
            if q > 0:
                budget -= q
                self._fill(o, o.price, q, _MAKER, now=now, ev=ev)
                if q == leaves:
                    done.append(o)
        for o in done:
            orders.remove(o)
        return budget

    def _cross_level(
        self, orders: list[SimOrder], book: BookSide, p: int, now: int, ev: list[MatchEvent]
    ) -> None:
        """Fill our resting ``orders`` that the opposite level ``p`` now reaches, from its free volume."""
        done: list[SimOrder] = []
        for o in orders:
            if (o.price - p) * o.side < 0:
                break
            leaves = o.qty - o.filled
            q = min(book.available(p), leaves)
            q -= q % self._lot
            if q <= 0:
                break
            book.consume(p, q)
            self._fill(o, o.price, q, _MAKER, now=now, ev=ev)
            if q == leaves:
                done.append(o)
        for o in done:
            orders.remove(o)

    def _end_snapshot(self, now: int, ev: list[MatchEvent]) -> None:
        """Finish a snapshot: re-estimate queues from it (``QueueTracker.snapshot_seen``), match crossed orders."""
        self._in_snapshot = False
        stamp = self._snap_ts
        for orders, same in ((self._bids, self._book_bid), (self._asks, self._book_ask)):
            for o in orders:
                self._queue.snapshot_seen(o, same.size_at(o.price), stamp)
        for orders, opposite in ((self._bids, self._book_ask), (self._asks, self._book_bid)):
            for px in list(opposite.levels_from_best(None)):
                if not orders or (orders[0].price - px) * orders[0].side < 0:
                    break
                self._cross_level(orders, opposite, px, now, ev)
        self._refresh()

    # ------------------------------------------------------------------ queue position (sim.venue.matching.queue)

    def _level_update(self, orders: list[SimOrder], p: int, prev: int, new: int, ts: int) -> None:
        """A book level at one of our resting prices changed (update stamped ``ts``): update queues."""
        level_changed = self._queue.level_changed
        for o in orders:
            if o.price == p:
                level_changed(o, prev, new, ts)

    # ------------------------------------------------------------------ conditional orders

    def _check_stops(self, p: int, now: int, ev: list[MatchEvent]) -> None:
        """Feed a trade price to every waiting conditional order; trigger those it fires."""
        fired = [
            o
            for o in self._stops
            if (trailing_step(o, p) if o.order_type is OrderType.TRAILING_STOP else stop_condition_met(o, p))
        ]
        for o in fired:
            self._stops.remove(o)
            self._trigger(o, p, now, ev)

    def _trigger(self, o: SimOrder, p: int, now: int, ev: list[MatchEvent]) -> None:
        """Turn a conditional order into its market/limit form and execute it."""
        o.triggered = True
        kind = OrderType.LIMIT if o.price > 0 else OrderType.MARKET
        ev.append(OrderTriggered(now, o.id, kind, p))
        if kind is OrderType.MARKET and not self._has_liquidity(o.side):
            self._close(o, OrderStatus.EXPIRED)
            ev.append(OrderExpired(now, o.id, o.qty - o.filled, REASON_NO_LIQUIDITY))
            return
        self._execute(o, now, ev)

    # ------------------------------------------------------------------ caches

    def _refresh(self) -> None:
        """Rebuild the fast-path window, price sets and next expiry from our open orders."""
        bids = self._bids
        asks = self._asks
        lo = self._max_buy = bids[0].price if bids else -_INF
        hi = self._min_sell = asks[0].price if asks else _INF
        for o in self._stops:
            lo, hi = trigger_bounds(o, lo, hi)
        self._lo, self._hi = lo, hi
        self._bid_px = frozenset(o.price for o in bids)
        self._ask_px = frozenset(o.price for o in asks)
        expiry = _INF
        for o in self._orders.values():
            if o.tif is TimeInForce.GTD and o.expire_at_ns < expiry:
                expiry = o.expire_at_ns
        self._next_expiry = expiry


def _probe(o: SimOrder, stop: int) -> SimOrder:
    """A throwaway copy of conditional order ``o`` with another stop price, for trigger checks."""
    return SimOrder(o.id, o.side, o.order_type, o.qty, price=o.price, stop=stop, trail=o.trail)


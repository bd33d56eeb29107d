"""A passive market maker: quotes both sides at the touch and requotes when the market moves.

Parameters (strings, from the command line or a scenario):

* ``venue`` (default ``binance``), ``symbol`` (``BTCUSDT``)
* ``size``: quantity of each quote in base units (``0.001``)
* ``max_position``: stop quoting the side that would grow the position past this (``0.01``)
* ``requote_ticks``: move a quote only when the touch moved at least this many ticks (``2``)
* ``min_requote_ms``: never replace a side's quote more often than this (``500``), which keeps
  the order rate (about 4 per second at most) well inside Binance's 50 orders per 10 seconds
* ``quote_on``: ``quote`` (default) joins the best bid and ask; ``trade`` quotes
  ``offset_ticks`` (``1``) either side of the last trade, for trades-only data

It joins the best bid and best ask with post-only limit orders, so every fill it gets is a
maker fill that had to wait its turn in the queue. Market-data callbacks compare the price with
a precomputed calm band and return; orders are only touched when the touch has moved far enough.
"""

from __future__ import annotations

from decimal import Decimal

from harness.model import OrderReport, OrderType, Quote, Side, Trade
from harness.money import from_fixed, to_fixed
from harness.strategy import Strategy, StrategyContext


class PassiveMarketMaker(Strategy):
    """Joins the touch on both sides with post-only quotes, within a position limit."""

    def on_start(self, ctx: StrategyContext) -> None:
        """Read parameters and the instrument's tick size."""
        super().on_start(ctx)
        self.venue = self.params.get("venue", ctx.venues[0] if ctx.venues else "binance")
        self.symbol = self.params.get("symbol", "BTCUSDT")
        self.size = Decimal(self.params.get("size", "0.001"))
        self.max_position = Decimal(self.params.get("max_position", "0.01"))
        info = ctx.venue_info(self.venue).symbols[self.symbol]
        self.tick = to_fixed(info.tick_size)
        self.requote_distance = int(self.params.get("requote_ticks", "2")) * self.tick
        self.min_requote_ns = int(self.params.get("min_requote_ms", "500")) * 1_000_000
        quote_on = self.params.get("quote_on", "quote")
        if quote_on not in ("quote", "trade"):
            raise ValueError(f"quote_on must be 'quote' or 'trade', got {quote_on!r}")
        self.quote_on_trades = quote_on == "trade"
        self.offset = int(self.params.get("offset_ticks", "1")) * self.tick
        self.bid_at = -(2**62)  # virtual time of the last bid / ask replacement
        self.ask_at = -(2**62)
        self._wake_ns = -(2**62)  # before this time neither side may be replaced (min_requote_ms)
        self._now = ctx.clock.now_ns
        self.bid_id: str | None = None
        self.ask_id: str | None = None
        self.bid_px = 0  # fixed-point price of our working bid (0 = none)
        self.ask_px = 0
        self.quotes_seen = 0
        self.trades_seen = 0
        self._calm()

    def on_trade(self, trade: Trade) -> None:
        """Count trades; with ``quote_on=trade``, quote around the last trade price."""
        self.trades_seen += 1
        if self.quote_on_trades and not self.calm_trade_lo <= trade.price < self.calm_trade_hi:
            self._follow(trade.price - self.offset, trade.price + self.offset)

    def on_quote(self, quote: Quote) -> None:
        """Follow the best bid/offer (unless quoting on trades)."""
        self.quotes_seen += 1
        if not self.quote_on_trades and not (self.calm_bid_lo <= quote.bid_price < self.calm_bid_hi
                                             and self.calm_ask_lo <= quote.ask_price < self.calm_ask_hi):
            self._follow(quote.bid_price, quote.ask_price)

    def _calm(self) -> None:
        """Recompute the calm bands: reference prices for which ``_follow`` would move neither quote.

        A side stays put while its rounded reference is within ``requote_ticks - 1`` ticks of our
        order's price; solved for the unrounded reference that is one half-open interval per side
        (empty without an order). Market data inside the bands returns after one comparison.
        """
        tick, k = self.tick, self.requote_distance // self.tick
        if self.bid_id is None:
            self.calm_bid_lo, self.calm_bid_hi = 1, 0
        else:  # floor_tick(bid) within (k - 1) ticks of bid_px
            self.calm_bid_lo, self.calm_bid_hi = self.bid_px - (k - 1) * tick, self.bid_px + k * tick
        if self.ask_id is None:
            self.calm_ask_lo, self.calm_ask_hi = 1, 0
        else:  # ceil_tick(ask) within (k - 1) ticks of ask_px
            self.calm_ask_lo, self.calm_ask_hi = self.ask_px - k * tick + 1, self.ask_px + (k - 1) * tick + 1
        # quoting on trades, the references are trade price -/+ offset
        self.calm_trade_lo = max(self.calm_bid_lo + self.offset, self.calm_ask_lo - self.offset)
        self.calm_trade_hi = min(self.calm_bid_hi + self.offset, self.calm_ask_hi - self.offset)

    def _follow(self, bid: int, ask: int) -> None:
        """Requote a side when the reference moved at least ``requote_ticks`` away from our order.

        Prices are rounded away from the touch onto this venue's tick (the data may come from a
        venue with a finer tick), so a quote never crosses. Called on market data outside the
        calm bands; while both sides wait out ``min_requote_ms`` it returns at once.
        """
        now = self._now()
        if now < self._wake_ns:  # neither side may be replaced yet
            return
        tick = self.tick
        bid -= bid % tick
        ask += -ask % tick
        if bid <= 0 or ask <= bid:
            return
        distance = self.requote_distance
        move_bid = self.bid_id is None or abs(bid - self.bid_px) >= distance
        move_ask = self.ask_id is None or abs(ask - self.ask_px) >= distance
        if not (move_bid or move_ask):
            return
        if move_bid and now - self.bid_at >= self.min_requote_ns:
            self.bid_at = now
            self._quote(Side.BUY, bid)
        if move_ask and now - self.ask_at >= self.min_requote_ns:
            self.ask_at = now
            self._quote(Side.SELL, ask)
        self._wake_ns = min(self.bid_at, self.ask_at) + self.min_requote_ns

    def _quote(self, side: Side, price: int) -> None:
        """Replace our quote on ``side`` with a post-only order at ``price`` (within the position limit)."""
        ctx = self.ctx
        position = ctx.position(self.venue, self.symbol)
        old = self.bid_id if side is Side.BUY else self.ask_id
        if old is not None:
            ctx.cancel(old)
        allowed = (position + self.size <= self.max_position if side is Side.BUY
                   else position - self.size >= -self.max_position)
        new_id = None
        if allowed:
            new_id = ctx.submit(self.venue, self.symbol, side, self.size, order_type=OrderType.LIMIT,
                                price=from_fixed(price), post_only=True)
        if side is Side.BUY:
            self.bid_id, self.bid_px = new_id, price if new_id else 0
        else:
            self.ask_id, self.ask_px = new_id, price if new_id else 0
        self._calm()

    def on_order_update(self, report: OrderReport) -> None:
        """Forget a quote once it is no longer working, so the next quote replaces it."""
        if report.status.is_terminal:
            if report.client_order_id == self.bid_id:
                self.bid_id, self.bid_px = None, 0
                self._calm()
            elif report.client_order_id == self.ask_id:
                self.ask_id, self.ask_px = None, 0
                self._calm()

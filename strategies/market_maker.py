"""A passive market maker: quotes both sides at the touch and requotes when the market moves.

Its parameters (``parameters`` below, given as ``--param name=value`` or in a scenario) say what
each does; ``min_requote_ms`` (500) keeps the order rate, about 4 per second at most, well inside
Binance's 50 orders per 10 seconds, and ``quote_on=trade`` quotes ``offset_ticks`` either side of
the last trade, for trades-only data.

It joins the best bid and best ask with post-only limit orders, so every fill it gets is a
maker fill that had to wait its turn in the queue. On a venue without post-only orders it
quotes plain limit orders at the same prices instead (a quote the market crossed while it was
on its way then takes liquidity), and says so in the run's event log.
"""

from __future__ import annotations

from decimal import Decimal

from harness.model import OrderReport, OrderType, Quote, Side, Trade
from harness.money import from_fixed, to_fixed
from harness.params import Param
from harness.strategy import Strategy, StrategyContext, instrument_for

__all__ = ["PassiveMarketMaker"]


class PassiveMarketMaker(Strategy):
    """Joins the touch on both sides with post-only quotes, within a position limit."""

    parameters = (
        Param("venue", str, None, "venue to quote on (default: the first venue)"),
        Param("symbol", str, None, "instrument (default: the first the run has market data for on the venue)"),
        Param("size", Decimal, "0.001", "quantity of each quote, in base units", positive=True),
        Param("max_position", Decimal, "0.01", "stop quoting the side that would grow the position past this",
              minimum=Decimal(0)),
        Param("requote_ticks", int, "2", "move a quote only when the touch moved at least this many ticks",
              minimum=1),
        Param("min_requote_ms", int, "500", "never replace a side's quote more often than this", minimum=0),
        Param("quote_on", str, "quote", "join the best bid and ask, or quote around the last trade",
              choices=("quote", "trade")),
        Param("offset_ticks", int, "1", "with quote_on=trade: ticks either side of the last trade", minimum=0),
    )

    def on_start(self, ctx: StrategyContext) -> None:
        """Read parameters and the instrument's tick size."""
        super().on_start(ctx)
        self.venue, self.symbol = instrument_for(ctx, self.param("venue"), self.param("symbol"))
        self.size = self.param("size")
        self.max_position = self.param("max_position")
        info = ctx.venue_info(self.venue)
        self.tick = to_fixed(info.symbols[self.symbol].tick_size)
        self.requote_distance = self.param("requote_ticks") * self.tick
        self.min_requote_ns = self.param("min_requote_ms") * 1_000_000
        self.quote_on_trades = self.param("quote_on") == "trade"
        self.offset = self.param("offset_ticks") * self.tick
        self.post_only = info.capabilities.post_only
        if not self.post_only:
            ctx.log(f"{self.venue} has no post-only orders: quoting plain limit orders")
        self.bid_id: str | None = None  # our working quote on each side, if any
        self.ask_id: str | None = None
        self.bid_px = 0  # its fixed-point price
        self.ask_px = 0
        self.bid_at = -(2**62)  # virtual time of the last bid / ask replacement
        self.ask_at = -(2**62)

    def on_trade(self, trade: Trade) -> None:
        """With ``quote_on=trade``, quote around the last trade price."""
        if self.quote_on_trades:
            self.follow(trade.price - self.offset, trade.price + self.offset)

    def on_quote(self, quote: Quote) -> None:
        """Follow the best bid/offer (unless quoting on trades)."""
        if not self.quote_on_trades:
            self.follow(quote.bid_price, quote.ask_price)

    def follow(self, bid: int, ask: int) -> None:
        """Requote a side when its reference price moved at least ``requote_ticks`` from our quote.

        Prices are rounded away from the touch onto this venue's tick (the data may come from a
        venue with a finer tick), so a quote never crosses; a side replaced less than
        ``min_requote_ms`` ago waits.
        """
        bid -= bid % self.tick
        ask += -ask % self.tick
        if bid <= 0 or ask <= bid:
            return
        now = self.ctx.clock.now_ns()
        bid_moved = self.bid_id is None or abs(bid - self.bid_px) >= self.requote_distance
        ask_moved = self.ask_id is None or abs(ask - self.ask_px) >= self.requote_distance
        if bid_moved and now - self.bid_at >= self.min_requote_ns:
            self.bid_at = now
            self.quote(Side.BUY, bid)
        if ask_moved and now - self.ask_at >= self.min_requote_ns:
            self.ask_at = now
            self.quote(Side.SELL, ask)

    def quote(self, side: Side, price: int) -> None:
        """Replace our quote on ``side`` with a limit order at ``price`` (within the position limit)."""
        ctx = self.ctx
        old = self.bid_id if side is Side.BUY else self.ask_id
        if old is not None:
            ctx.cancel(old)
        position = ctx.position(self.venue, self.symbol)
        if side is Side.BUY:
            allowed = position + self.size <= self.max_position
        else:
            allowed = position - self.size >= -self.max_position
        new_id = None
        if allowed:
            new_id = ctx.submit(self.venue, self.symbol, side, self.size, order_type=OrderType.LIMIT,
                                price=from_fixed(price), post_only=self.post_only)
        if side is Side.BUY:
            self.bid_id, self.bid_px = new_id, price if new_id else 0
        else:
            self.ask_id, self.ask_px = new_id, price if new_id else 0

    def on_order_update(self, report: OrderReport) -> None:
        """Forget a quote once it is no longer working, so the next quote replaces it."""
        if report.status.is_terminal:
            if report.client_order_id == self.bid_id:
                self.bid_id, self.bid_px = None, 0
            elif report.client_order_id == self.ask_id:
                self.ask_id, self.ask_px = None, 0

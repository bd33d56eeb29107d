"""An aggressive TWAP taker: buys or sells a total quantity in equal slices on a timer.

Its parameters are declared below (``parameters``). ``venue=router`` hands every slice to the
order router instead, for ``instrument`` across all venues (market slices; sizes on the coarsest
lot of the venues that list it); ``order_type=IOC`` sends IOC limits ``limit_ticks`` through the
touch.

Slices are scheduled with the context's clock, so in simulation they fire in virtual time.
The last slice takes whatever rounding left over, so the slices sum exactly to ``quantity``.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from harness.model import OrderType, Quote, Side, TimeInForce
from harness.money import from_fixed, to_fixed
from harness.params import Param
from harness.strategy import Strategy, StrategyConfigError, StrategyContext, instrument_for

__all__ = ["TwapTaker"]


class TwapTaker(Strategy):
    """Sends ``slices`` aggressive child orders every ``interval_s`` seconds."""

    parameters = (
        Param("venue", str, None, "venue to trade on, or 'router' (default: the first venue)"),
        Param("symbol", str, None, "instrument (default: the first the run has market data for on the venue)"),
        Param("side", str, "BUY", "BUY or SELL", choices=("BUY", "SELL")),
        Param("quantity", Decimal, "0.05", "total base quantity", positive=True),
        Param("slices", int, "10", "number of child orders", minimum=1),
        Param("interval_s", Decimal, "30", "seconds between slices", positive=True),
        Param("order_type", str, "MARKET", "MARKET, or IOC limits through the touch", choices=("MARKET", "IOC")),
        Param("limit_ticks", int, "5", "with order_type=IOC: ticks through the touch", minimum=0),
        Param("instrument", str, "BTC/USDT", "with venue=router: the BASE/QUOTE instrument to route"),
    )

    def on_start(self, ctx: StrategyContext) -> None:
        """Plan the slices and schedule the first one."""
        super().on_start(ctx)
        self.routed = self.param("venue") == "router"
        if not self.routed:
            self.venue, self.symbol = instrument_for(ctx, self.param("venue"), self.param("symbol"))
        self.side = Side(self.param("side"))
        total = self.param("quantity")
        slices = self.param("slices")
        self.interval_ns = int(self.param("interval_s") * 1_000_000_000)
        self.order_type = self.param("order_type")
        self.instrument = self.param("instrument")
        if self.routed:
            lots = [r.lot_size for v in ctx.venues for r in ctx.venue_info(v).symbols.values()
                    if f"{r.base_asset}/{r.quote_asset}" == self.instrument]
            if not lots:
                raise StrategyConfigError(f"no venue lists {self.instrument}")
            step, self.tick = max(lots), 0
        else:
            info = ctx.venue_info(self.venue).symbols[self.symbol]
            self.tick = to_fixed(info.tick_size)
            step = info.lot_size
        self.limit_ticks = self.param("limit_ticks")
        each = (total / slices / step).to_integral_value(rounding=ROUND_DOWN) * step
        self.plan = [each] * (slices - 1) + [total - each * (slices - 1)]
        self.sent: list[str] = []
        self.last_quote: Quote | None = None
        ctx.clock.call_later(self.interval_ns, self._slice)

    def on_quote(self, quote: Quote) -> None:
        """Remember the touch for IOC limit prices."""
        self.last_quote = quote

    def _slice(self) -> None:
        if not self.plan:
            return
        qty = self.plan.pop(0)
        ctx = self.ctx
        if self.routed:
            ctx.route(self.instrument, self.side, qty, order_type=OrderType.MARKET)
        elif self.order_type == "IOC" and self.last_quote is not None:
            through = self.limit_ticks * self.tick
            px = (self.last_quote.ask_price + through if self.side is Side.BUY
                  else self.last_quote.bid_price - through)
            self.sent.append(ctx.submit(self.venue, self.symbol, self.side, qty, order_type=OrderType.LIMIT,
                                        price=from_fixed(px), time_in_force=TimeInForce.IOC))
        else:
            self.sent.append(ctx.submit(self.venue, self.symbol, self.side, qty, order_type=OrderType.MARKET))
        if self.plan:
            ctx.clock.call_later(self.interval_ns, self._slice)

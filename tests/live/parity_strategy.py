"""A strategy for the parity test: a fixed grid of resting orders placed at start, nothing after.

Its decisions depend on nothing that could differ between worlds (no timer, no market data):
every order rests before the first recorded event, so which of them fill, at what price and in
what order is decided by the recorded trades and quotes alone.
"""

from __future__ import annotations

from decimal import Decimal

from harness.model import Side
from harness.strategy import Strategy, StrategyContext


class StartGrid(Strategy):
    """``levels`` bids below and asks above ``center``, ``step`` apart, ``size`` each."""

    def on_start(self, ctx: StrategyContext) -> None:
        """Place the whole grid."""
        super().on_start(ctx)
        center, step = Decimal(self.params["center"]), Decimal(self.params["step"])
        size, levels = Decimal(self.params.get("size", "0.001")), int(self.params.get("levels", "5"))
        venue, symbol = ctx.venues[0], self.params.get("symbol", "BTCUSDT")
        for k in range(1, levels + 1):
            ctx.submit(venue, symbol, Side.BUY, size, price=center - step * k)
            ctx.submit(venue, symbol, Side.SELL, size, price=center + step * k)

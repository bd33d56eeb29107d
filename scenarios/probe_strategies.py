"""Strategies written for fault scenarios: plain user code that keeps orders resting and trading.

A scenario needs a strategy whose orders are at the venue when the fault strikes: resting orders
that fill while a stream is down, cancels that race fills, modifications in flight. These are
ordinary strategies (they import only ``harness``), placed here because they exist to exercise
the execution layer rather than to make money.

``RestingLadder`` (parameters as strings):

* ``venue`` (the first venue), ``symbol`` (``BTCUSDT``), ``size`` (``0.001``)
* ``levels``: resting orders per side (``3``), ``spacing_ticks`` between them (``2``)
* ``interval_s``: how often the ladder is checked (``2``)
* ``max_distance_ticks``: an order further than this from the touch is moved (``20``)
* ``move``: ``cancel`` (cancel it; the next check places a new one) or ``modify`` (amend its price)
* ``max_position``: no new orders on a side that would take the position past this (``0.05``)
* ``reference``: ``quote`` (the touch) or ``trade`` (one tick either side of the last trade, for
  trades-only data)
"""

from __future__ import annotations

from decimal import Decimal

from harness.model import OrderReport, OrderType, Quote, Side, Trade
from harness.money import from_fixed, to_fixed
from harness.strategy import Strategy, StrategyContext

__all__ = ["RestingLadder"]


class RestingLadder(Strategy):
    """Keeps a few limit orders resting on each side of the market, checked on a timer."""

    def on_start(self, ctx: StrategyContext) -> None:
        """Read the parameters and start the timer."""
        super().on_start(ctx)
        self.venue = self.params.get("venue", ctx.venues[0])
        self.symbol = self.params.get("symbol", "BTCUSDT")
        self.size = Decimal(self.params.get("size", "0.001"))
        self.levels = int(self.params.get("levels", "3"))
        self.tick = to_fixed(ctx.venue_info(self.venue).symbols[self.symbol].tick_size)
        self.spacing = int(self.params.get("spacing_ticks", "2")) * self.tick
        self.max_distance = int(self.params.get("max_distance_ticks", "20")) * self.tick
        self.interval_ns = int(Decimal(self.params.get("interval_s", "2")) * 1_000_000_000)
        self.move = self.params.get("move", "cancel")
        if self.move not in ("cancel", "modify"):
            raise ValueError(f"move must be 'cancel' or 'modify', got {self.move!r}")
        self.max_position = Decimal(self.params.get("max_position", "0.05"))
        self.reference = self.params.get("reference", "quote")
        if self.reference not in ("quote", "trade"):
            raise ValueError(f"reference must be 'quote' or 'trade', got {self.reference!r}")
        self.touch: tuple[int, int] | None = None  # (bid, ask) to ladder around
        self.working: dict[str, tuple[Side, int]] = {}  # client order id -> (side, price)
        ctx.clock.call_later(self.interval_ns, self._check)

    def on_quote(self, quote: Quote) -> None:
        """Remember the touch."""
        if self.reference == "quote":
            self.touch = (quote.bid_price, quote.ask_price)

    def on_trade(self, trade: Trade) -> None:
        """With ``reference = trade``, the touch is one tick either side of the last trade."""
        if self.reference == "trade":
            self.touch = (trade.price - self.tick, trade.price + self.tick)

    def on_order_update(self, report: OrderReport) -> None:
        """Forget orders that are done."""
        if report.status.is_terminal:
            self.working.pop(report.client_order_id, None)

    def _check(self) -> None:
        self.ctx.clock.call_later(self.interval_ns, self._check)
        if self.touch is None:
            return
        bid, ask = self.touch
        if bid <= 0 or ask <= bid:
            return
        for side, touch in ((Side.BUY, bid), (Side.SELL, ask)):
            self._tend(side, touch)

    def _tend(self, side: Side, touch: int) -> None:
        ctx = self.ctx
        mine = {coid: price for coid, (s, price) in self.working.items() if s is side}
        for coid, price in mine.items():
            if abs(price - touch) > self.max_distance:
                if self.move == "modify":
                    new_price = self._level_price(side, touch, 0)
                    ctx.modify(coid, price=from_fixed(new_price))
                    self.working[coid] = (side, new_price)
                else:
                    ctx.cancel(coid)
        position = ctx.position(self.venue, self.symbol)
        room = self.max_position - position if side is Side.BUY else self.max_position + position
        taken = {price for price in mine.values()}
        for level in range(self.levels):
            if len([1 for s, _ in self.working.values() if s is side]) >= self.levels or room < self.size:
                break
            price = self._level_price(side, touch, level)
            if price in taken or price <= 0:
                continue
            coid = ctx.submit(self.venue, self.symbol, side, self.size, order_type=OrderType.LIMIT,
                              price=from_fixed(price))
            self.working[coid] = (side, price)
            room -= self.size

    def _level_price(self, side: Side, touch: int, level: int) -> int:
        """The price of ladder ``level`` on ``side``: away from the touch, on the tick."""
        offset = self.spacing * level
        return touch - offset if side is Side.BUY else touch + offset

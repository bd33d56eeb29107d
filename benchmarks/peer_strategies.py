"""The peer workload's two strategies, written as a user writes a ``Strategy`` (``benchmarks/peers.py``).

Strategy B (``PeerReader``) reads every trade's price and places nothing; ``PeerBatchReader`` is
the same through the vectorized path (``on_trades``: a column batch per call). Strategy A
(``PeerQuoter``) every ``every`` trades (param, default 1,000) cancels its working orders and
places a buy limit 5 ticks below and a sell limit 5 ticks above the last trade, 0.001 each, and
counts its fills. Both note the wall time of ``on_start`` and ``on_stop`` in ``RUNS`` (the
replay's own span, what the benchmark divides by): that is the only thing in them for the
benchmark; the trading logic is plain user code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from harness.model import Fill, Side, Trade
from harness.money import from_fixed
from harness.strategy import Strategy, StrategyContext
from harness.trade_batch import TradeBatch

__all__ = ["RUNS", "PeerBatchReader", "PeerQuoter", "PeerReader", "RunSpan"]

VENUE, SYMBOL = "binance", "BTCUSDT"


@dataclass
class RunSpan:
    """What one strategy run saw: trades, orders placed, fills, and its wall-clock span."""

    trades: int = 0
    orders: int = 0
    fills: int = 0
    started: float = 0.0
    stopped: float = 0.0

    @property
    def seconds(self) -> float:
        """Wall seconds between ``on_start`` and ``on_stop``."""
        return self.stopped - self.started


RUNS: list[RunSpan] = []
"""One ``RunSpan`` per strategy run, in order (``run_replay`` builds the strategy from its path)."""


class PeerReader(Strategy):
    """Strategy B: keep the last trade price, count trades, never trade."""

    def on_start(self, ctx: StrategyContext) -> None:
        """Open this run's span."""
        super().on_start(ctx)
        self.span = RunSpan(started=time.perf_counter())
        RUNS.append(self.span)
        self.last = 0

    def on_trade(self, trade: Trade) -> None:
        """Read the price."""
        self.span.trades += 1
        self.last = trade.price

    def on_stop(self) -> None:
        """Close this run's span."""
        self.span.stopped = time.perf_counter()


class PeerBatchReader(PeerReader):
    """Strategy B through ``on_trades``: keep the last price of each batch, count its trades."""

    def on_trades(self, batch: TradeBatch) -> None:
        """Read the batch's last price."""
        self.span.trades += len(batch)
        self.last = int(batch.price[-1])


class PeerQuoter(PeerReader):
    """Strategy A: every ``every`` trades, cancel what is working and quote 5 ticks either side."""

    def on_start(self, ctx: StrategyContext) -> None:
        """Read the parameters and the venue's tick size."""
        super().on_start(ctx)
        self.every = int(self.params.get("every", "1000"))
        self.offset = 5 * ctx.venue_info(VENUE).symbols[SYMBOL].tick_size
        self.quantity = Decimal("0.001")

    def on_trade(self, trade: Trade) -> None:
        """Count the trade; on every ``every``-th, requote around its price."""
        super().on_trade(trade)
        if self.span.trades % self.every:
            return
        for order in self.ctx.open_orders(VENUE, SYMBOL):
            self.ctx.cancel(order.client_order_id)
        last = from_fixed(trade.price)
        self.ctx.submit(VENUE, SYMBOL, Side.BUY, self.quantity, price=last - self.offset)
        self.ctx.submit(VENUE, SYMBOL, Side.SELL, self.quantity, price=last + self.offset)
        self.span.orders += 2

    def on_fill(self, fill: Fill) -> None:
        """Count the fill."""
        self.span.fills += 1

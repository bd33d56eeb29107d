"""Market trades as columns: what a strategy overriding ``Strategy.on_trades`` receives.

A ``TradeBatch`` is a run of one instrument's public trades, delivered in one call instead of
one ``on_trade`` per trade. Its columns are numpy ``int64`` arrays (fixed-point prices and
sizes, as ``Trade`` holds them), so a strategy can count, sum or filter a whole run with numpy.

In a replay the engine delivers a batch for each run of trades that reach the strategy between
events that can change the world (an order or its answer reaching the venue or the client, a
fill, a timer, a fault, the end of a feed window); the callback runs at the virtual time of the
batch's last delivery (``ts[-1]``), so whatever the strategy does happens then. A trade that may
fill or trigger something at the venue arrives as a batch of one. Live adapters (and any path
that delivers trades one at a time) hand the strategy batches of one: ``BatchedTrades`` wraps
each ``Trade`` as it comes, so the same strategy runs live unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harness.clock import Clock
from harness.model import Trade

__all__ = ["BatchedTrades", "Int64Column", "TradeBatch"]

Int64Column = npt.NDArray[np.int64]
"""One column of a ``TradeBatch``."""


@dataclass(frozen=True, slots=True, eq=False)
class TradeBatch:
    """A run of public trades of one instrument, as columns (row ``i`` is one trade).

    ``ts``: when each trade reached the strategy (after market-data latency); ``ts_event`` and
    ``ts_recv``: the venue's and the recorder's times; ``price`` and ``size``: fixed-point ints
    (``harness.money``); ``side``: the aggressor (``harness.model.Aggressor`` values);
    ``trade_ids``: the venue's trade ids. Arrays may be views of the engine's buffers: read them,
    do not write to them (copy first).
    """

    venue: str
    symbol: str
    ts: Int64Column
    ts_event: Int64Column
    ts_recv: Int64Column
    price: Int64Column
    size: Int64Column
    side: Int64Column
    trade_ids: Sequence[str]

    def __len__(self) -> int:
        return len(self.ts)

    def trade(self, row: int) -> Trade:
        """Row ``row`` as a ``Trade`` (what ``on_trade`` would have received; negative rows count from the end)."""
        return Trade(int(self.ts_event[row]), int(self.ts_recv[row]), self.venue, self.symbol,
                     int(self.price[row]), int(self.size[row]), int(self.side[row]), self.trade_ids[row])

    @classmethod
    def of_trade(cls, trade: Trade, ts_ns: int) -> TradeBatch:
        """A batch of one: ``trade`` delivered at ``ts_ns``."""
        ts, ts_event, ts_recv, price, size, side = np.array(
            (ts_ns, trade.ts_event, trade.ts_recv, trade.price, trade.size, trade.aggressor),
            dtype=np.int64).reshape(6, 1)  # one array, six one-row views
        return cls(trade.venue, trade.symbol, ts, ts_event, ts_recv, price, size, side, (trade.trade_id,))


class BatchedTrades:
    """The trade callback of a strategy that overrides ``on_trades``: one ``Trade`` in, a batch of one out.

    Any adapter can call it like an ``on_trade`` callback (that is how live adapters deliver);
    an engine that knows this class hands whole runs to ``on_batch`` instead (the simulated
    venue's trade fast path, ``sim.venue.trade_runs``). ``clock`` stamps a single trade's ``ts``.
    """

    __slots__ = ("_clock", "on_batch")

    def __init__(self, on_batch: Callable[[TradeBatch], object], clock: Clock) -> None:
        self.on_batch = on_batch
        self._clock = clock

    def __call__(self, trade: Trade) -> None:
        self.on_batch(TradeBatch.of_trade(trade, self._clock.now_ns()))

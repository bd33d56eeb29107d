"""``BarPoller``: closed bars of one product and interval, from Advanced Trade REST candles after each close.

Coinbase's WebSocket ``candles`` channel carries five-minute buckets only, so bars of any
granularity are read from ``/products/{id}/candles`` instead: shortly after each interval closes
(``delay_ns`` of venue time, for the venue to fold its last trades) the poller asks for the last
two bars and delivers the one that just closed, once. Coinbase lists no candle for an interval
without trades: that bar is delivered flat at the previous close with zero volume (nothing is
delivered before the first bar with trades). Time is the injected clock's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from harness.clock import Clock
from harness.contract import BarCallback, VenueError
from harness.model import Candle

__all__ = ["BarPoller"]

logger = logging.getLogger(__name__)

CandleQuery = Callable[[str, int, int, int], Awaitable[list[Candle]]]
"""``(symbol, interval_ns, limit, now_ns)`` -> bars oldest first (``CoinbaseAccount.candles``)."""


class BarPoller:
    """One polling task delivering each closed bar of ``symbol`` at ``interval_ns`` to ``callback``."""

    def __init__(self, query: CandleQuery, clock: Clock, symbol: str, interval_ns: int, callback: BarCallback, *,
                 delay_ns: int = 1_000_000_000) -> None:
        self._query, self._clock = query, clock
        self.symbol, self.interval_ns = symbol, interval_ns
        self._callback = callback
        self._delay_ns = delay_ns
        self._last: Candle | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start polling (idempotent)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"coinbase-bars-{self.symbol}")

    async def close(self) -> None:
        """Stop polling."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        interval = self.interval_ns
        while True:
            now = self._clock.now_ns()
            close = now - now % interval + interval
            await self._clock.sleep_ns(close + self._delay_ns - now)
            try:
                self._deliver(close, await self._query(self.symbol, interval, 2, self._clock.now_ns()))
            except VenueError as error:  # the next close tries again; the callback never sees errors
                logger.info("coinbase bars %s: %s", self.symbol, error)

    def _deliver(self, close_ns: int, bars: list[Candle]) -> None:
        opening = close_ns - self.interval_ns
        bar = next((b for b in bars if b.ts_open == opening), None)
        if bar is None:
            previous = next((b for b in reversed(bars) if b.ts_open < opening), self._last)
            if previous is None:
                return
            price = previous.close
            bar = Candle(opening, self.interval_ns, previous.venue, self.symbol, price, price, price, price, 0)
        if self._last is not None and bar.ts_open <= self._last.ts_open:
            return
        self._last = bar
        self._callback(bar)

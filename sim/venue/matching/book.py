"""One side of the market's L2 book as the engine sees it, plus what our own fills took from it.

The book holds the *market's* orders only (from snapshots, deltas or quotes); our orders are
kept apart by the engine. ``used`` records displayed volume our fills have consumed per price,
so two of our orders, or an order and its amendment, cannot take the same displayed volume.

Consumption rule: the consumed amount at a price lasts until market data updates that price
(an L2 delta or snapshot row for it, or a changed top of book in QUOTES mode). The update
shows the market's own view of the level, in which our fills never happened, so from then
on the displayed size is taken as the volume available to us again.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator

__all__ = ["BookSide"]


class BookSide:
    """Price -> size for one side, prices kept sorted ascending, with our per-price consumption."""

    __slots__ = ("is_bid", "prices", "sizes", "used")

    def __init__(self, is_bid: bool) -> None:
        """An empty side; ``is_bid`` decides which end of the sorted prices is the best."""
        self.is_bid = is_bid
        self.sizes: dict[int, int] = {}
        self.prices: list[int] = []
        self.used: dict[int, int] = {}

    def update(self, price: int, size: int) -> int:
        """Set ``size`` at ``price`` (0 removes the level), reset our consumption there; return old size."""
        sizes = self.sizes
        prev = sizes.get(price, 0)
        if size > 0:
            sizes[price] = size
            if not prev:
                insort(self.prices, price)
        elif prev:
            del sizes[price]
            prices = self.prices
            del prices[bisect_left(prices, price)]
        if self.used:
            self.used.pop(price, None)
        return prev

    def clear(self) -> None:
        """Forget every level and all consumption (a new snapshot starts)."""
        self.sizes.clear()
        self.prices.clear()
        self.used.clear()

    def best(self) -> int | None:
        """Best price (highest bid / lowest ask) or None when the side is empty."""
        prices = self.prices
        if not prices:
            return None
        return prices[-1] if self.is_bid else prices[0]

    def size_at(self, price: int) -> int:
        """Displayed market size at ``price`` (0 when no level)."""
        return self.sizes.get(price, 0)

    def available(self, price: int) -> int:
        """Displayed size at ``price`` not yet consumed by our fills."""
        return self.sizes.get(price, 0) - self.used.get(price, 0)

    def consume(self, price: int, qty: int) -> None:
        """Record that our fills took ``qty`` of the displayed size at ``price``."""
        used = self.used
        used[price] = used.get(price, 0) + qty

    def levels_from_best(self, limit: int | None) -> Iterator[int]:
        """Prices best-first, stopping before the first one worse than ``limit`` (None = all).

        For bids "worse" means lower than ``limit``; for asks, higher. The caller may consume
        while walking but must not add or remove levels until the walk ends.
        """
        if self.is_bid:
            for price in reversed(self.prices):
                if limit is not None and price < limit:
                    return
                yield price
        else:
            for price in self.prices:
                if limit is not None and price > limit:
                    return
                yield price

"""What the contract kit sees of one adapter: ``VenueUnderTest`` and the factory for simulated venues.

The kit (``test_contract_kit.py``) is written once against ``ExchangeAdapter`` and a small
market driver (set a quote, print a trade, let time pass). Each adapter implementation
contributes a factory here: today the simulated venue for each of the eight venue profiles;
later each live adapter talking to the simulator served on 127.0.0.1. An adapter is done when
the whole kit passes for it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal
from typing import Any, Protocol, TypeVar

from harness.clock import Clock
from harness.contract import ExchangeAdapter
from harness.model import Aggressor, SymbolInfo
from scenarios.world import SimWorld
from sim.venue.profile import available_profiles

SIM_VENUES = tuple(available_profiles())  # every shipped profile: a new venue joins the kit by its profile alone
T = TypeVar("T")
MID = Decimal(60_000)  # every kit symbol is a BTC pair; quotes sit around this price


class Runner(Protocol):
    """Runs a coroutine to its end on the venue's loop and returns its result."""

    def __call__(self, coro: Coroutine[Any, Any, T], /) -> T: ...


@dataclass
class VenueUnderTest:
    """An adapter plus what the kit needs to move its market and run async code against it."""

    name: str
    adapter: ExchangeAdapter  # the raw adapter behind PacedAdapter (same methods)
    raw: ExchangeAdapter
    clock: Clock
    symbol: str
    info: SymbolInfo
    run: Runner
    set_quote: Callable[[Decimal, Decimal], None]
    print_trade: Callable[[Decimal, Decimal, Aggressor], None]
    set_book: Callable[[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]], None]
    leverage: int | None = None
    """A linear perpetual venue's leverage for the kit's symbol (its account is margin in the quote
    asset, positions are signed sizes); None for a spot venue."""

    @property
    def is_perpetual(self) -> bool:
        """Whether the venue trades the symbol as a linear perpetual (see ``leverage``)."""
        return self.leverage is not None

    @property
    def tick(self) -> Decimal:
        """The symbol's price increment."""
        return self.info.tick_size

    def quantity(self, multiple: int = 1) -> Decimal:
        """A valid order size: ``multiple`` times the smallest lot-aligned size that passes every minimum."""
        need = max(self.info.min_quantity, self.info.min_notional * 2 / MID)
        lots = (need / self.info.lot_size).to_integral_value(rounding=ROUND_UP)
        return lots * self.info.lot_size * multiple

    async def settle(self, seconds: int = 1) -> None:
        """Let pushed updates and market data arrive (virtual time)."""
        await self.clock.sleep_ns(seconds * 1_000_000_000)


class PacedAdapter:
    """Spaces an adapter's requests at least ``gap_ns`` apart (in the adapter's clock).

    Some venues allow one order or five requests per second; the kit checks behaviour, not
    rate limits (those have their own tests), so it paces its calls the way a polite client
    would instead of tripping 429s. Everything else passes through unchanged.
    """

    def __init__(self, adapter: ExchangeAdapter, clock: Clock, gap_ns: int) -> None:
        self._adapter = adapter
        self._clock = clock
        self._gap_ns = gap_ns
        self._next_ns = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._adapter, name)
        if not inspect.iscoroutinefunction(attribute) or name.startswith("subscribe"):
            return attribute

        async def paced(*args: Any, **kwargs: Any) -> Any:
            now = self._clock.now_ns()
            if now < self._next_ns:
                await self._clock.sleep_ns(self._next_ns - now)
            self._next_ns = self._clock.now_ns() + self._gap_ns
            return await attribute(*args, **kwargs)

        return paced


def polite_gap_ns(rules: Iterable[Any]) -> int:
    """The smallest spacing that keeps one client under every request- or order-count rule."""
    gaps = [rule.interval_s * 1_000_000_000 // rule.limit for rule in rules if rule.counts in ("requests", "orders")]
    return max(gaps, default=0) + 1_000_000


def sim_venue(name: str) -> Iterator[VenueUnderTest]:
    world = SimWorld([name], seed=11)
    venue = world.venues[name]
    raw = world.adapters[name]
    adapter = PacedAdapter(raw, world.runtime.clock, polite_gap_ns(venue.profile.rate_limits.rules))
    symbol = next(s for s, rules in venue.profile.symbols.items() if rules.base_asset in ("BTC", "XBT"))
    info = venue.profile.to_venue_info(adapter.mode).symbols[symbol]

    def set_quote(bid: Decimal, ask: Decimal) -> None:
        world.quote(name, symbol, bid=bid, ask=ask, bid_size="2", ask_size="2")

    def print_trade(price: Decimal, size: Decimal, aggressor: Aggressor) -> None:
        world.trade(name, symbol, price=price, size=size, aggressor=aggressor)

    def set_book(bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]) -> None:
        world.book(name, symbol, bids=[(str(p), str(q)) for p, q in bids], asks=[(str(p), str(q)) for p, q in asks])

    try:
        futures = venue.profile.futures
        yield VenueUnderTest(name, adapter, raw, world.runtime.clock, symbol, info, world.run, set_quote, print_trade,
                             set_book, leverage=futures.default_leverage if futures is not None else None)
    finally:
        world.close()



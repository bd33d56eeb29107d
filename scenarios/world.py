"""A hand-driven simulated world: venues, their adapters and a market you move yourself.

``SimWorld`` is for tests, the contract kit and small examples that need a venue but no
recorded data: build one, set a quote or print a trade on a venue, and run async execution
code against the adapters in virtual time::

    with SimWorld(["binance", "okx"], seed=1) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        report = world.run(world.adapters["binance"].submit_order(request))

Market events reach the venue at the current virtual time and subscribers after the venue's
market-data latency, exactly as replayed data does. Balances default to a comfortable account
in every asset the venue's symbols use.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar

from harness.model import BOOK_ASK, BOOK_BID, F_LAST, F_SNAPSHOT, Aggressor, BookDelta, Quote, Trade
from harness.money import to_fixed
from sim.adapter import SimAdapter
from sim.kernel.runtime import SimRuntime
from sim.venue.matching.types import DepthMode
from sim.venue.profile import VenueProfile, load_profile
from sim.venue.venue import SimVenue

__all__ = ["DEFAULT_START_NS", "SimWorld", "default_balances"]

_T = TypeVar("_T")

DEFAULT_START_NS = 1_723_075_200_000_000_000  # 2024-08-08T00:00:00Z, the day of the shipped sample


def default_balances(profile: VenueProfile) -> dict[str, Decimal]:
    """A test account: 10 of every base asset and 1,000,000 of every quote asset of the profile."""
    balances: dict[str, Decimal] = {}
    for rules in profile.symbols.values():
        balances.setdefault(rules.base_asset, Decimal(10))
        balances[rules.quote_asset] = Decimal(1_000_000)
    return balances


class SimWorld:
    """One ``SimRuntime`` with named simulated venues (profile per venue) and a ``SimAdapter`` each.

    ``venues`` maps a venue name to its profile, by name or as a ``VenueProfile`` (a test's
    variant of a shipped one, e.g. with constant latencies); a plain list uses each name as its
    profile. ``balances`` overrides the starting account per venue name.
    """

    def __init__(self, venues: Sequence[str] | Mapping[str, str | VenueProfile] = ("binance",), *, seed: int = 0,
                 start_ns: int = DEFAULT_START_NS, depth: DepthMode = DepthMode.QUOTES,
                 balances: Mapping[str, Mapping[str, Decimal]] | None = None,
                 queue_model: str = "conservative", connect: bool = True) -> None:
        profiles: dict[str, str | VenueProfile] = (dict(venues) if isinstance(venues, Mapping)
                                                   else {name: name for name in venues})
        self.runtime = SimRuntime(seed=seed, start_ns=start_ns)
        self.venues: dict[str, SimVenue] = {}
        self.adapters: dict[str, SimAdapter] = {}
        for name, profile_name in profiles.items():
            profile = profile_name if isinstance(profile_name, VenueProfile) else load_profile(profile_name)
            start = dict((balances or {}).get(name) or default_balances(profile))
            venue = SimVenue(profile, balances=start, rng=self.runtime.rng.child(f"venue.{name}"),
                             now=self.runtime.now_ns, depth=depth, queue_model=queue_model, name=name)
            self.venues[name] = venue
            adapter = SimAdapter(venue, self.runtime)
            self.adapters[name] = adapter
        self._trade_seq = 0
        if connect:
            self.run(self._connect_all())

    async def _connect_all(self) -> None:
        for adapter in self.adapters.values():
            await adapter.connect()

    # ------------------------------------------------------------------ moving the market

    def quote(self, venue: str, symbol: str, *, bid: str | Decimal, ask: str | Decimal,
              bid_size: str | Decimal = "5", ask_size: str | Decimal = "5") -> Quote:
        """Set the best bid/offer of ``symbol`` on ``venue`` now; returns the event sent."""
        now = self.runtime.now_ns()
        quote = Quote(now, now, venue, symbol, to_fixed(Decimal(bid)), to_fixed(Decimal(bid_size)),
                      to_fixed(Decimal(ask)), to_fixed(Decimal(ask_size)), -1)
        self.adapters[venue].inject_market(quote)
        return quote

    def trade(self, venue: str, symbol: str, *, price: str | Decimal, size: str | Decimal,
              aggressor: Aggressor = Aggressor.UNKNOWN) -> Trade:
        """Print a public trade of ``size`` at ``price`` on ``venue`` now; returns the event sent."""
        now = self.runtime.now_ns()
        self._trade_seq += 1
        trade = Trade(now, now, venue, symbol, to_fixed(Decimal(price)), to_fixed(Decimal(size)), int(aggressor),
                      f"w{self._trade_seq}")
        self.adapters[venue].inject_market(trade)
        return trade

    def book(self, venue: str, symbol: str, *, bids: Sequence[tuple[str, str]],
             asks: Sequence[tuple[str, str]]) -> list[BookDelta]:
        """Replace the L2 book of ``symbol`` on ``venue`` with these ``(price, size)`` levels now.

        Sent as one snapshot message without update ids (the generic sync rule), as a venue
        without sequence numbers would; returns the rows sent.
        """
        now = self.runtime.now_ns()
        levels = [(BOOK_BID, p, q) for p, q in bids] + [(BOOK_ASK, p, q) for p, q in asks]
        if not levels:
            raise ValueError("a book snapshot needs at least one level")
        rows = [BookDelta(now, now, venue, symbol, side, to_fixed(Decimal(p)), to_fixed(Decimal(q)), -1, -1, -1,
                          F_SNAPSHOT | (F_LAST if i == len(levels) - 1 else 0))
                for i, (side, p, q) in enumerate(levels)]
        for row in rows:
            self.adapters[venue].inject_market(row)
        return rows

    # ------------------------------------------------------------------ driving

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coro`` to completion in virtual time and return its result."""
        return self.runtime.run(coro)

    def now_ns(self) -> int:
        """The current virtual time."""
        return self.runtime.now_ns()

    def close(self) -> None:
        """Release the runtime's event loop."""
        self.runtime.close()

    def __enter__(self) -> SimWorld:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

"""Building a simulated world: venues, their adapters and market sides, with one set of defaults.

Every simulated run is built here, so a replay, a scenario and a hand-driven test world agree
on what a venue starts with:

* ``VenueSetup`` says what one venue of a run is: its profile, starting balances (default:
  ``default_balances`` of the profile), matching depth (default: what the market data can
  support, ``depth_for``), queue model, the recording that drives it and its latency source;
* ``build_venue`` turns a setup into a ``SimulatedVenue``: the ``SimVenue``, its ``SimAdapter``
  (the contract, with the venue's channels) and its ``VenueMarketSide`` (what market data does
  at the venue and sends on to the client);
* ``SimWorld`` is a hand-driven world for tests, the contract kit and small examples that need a
  venue but no recorded data: set a quote or print a trade on a venue, and run async execution
  code against the adapters in virtual time::

    with SimWorld(["binance", "okx"], seed=1) as world:
        world.quote("binance", "BTCUSDT", bid="60000", ask="60001")
        report = world.run(world.adapters["binance"].submit_order(request))

Market events of a hand-driven world reach the venue at the current virtual time and the
client after the venue's market-data latency, exactly as replayed data does.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, TypeVar

from harness.model import BOOK_ASK, BOOK_BID, F_LAST, F_SNAPSHOT, Aggressor, BookDelta, Quote, Trade
from harness.money import to_fixed
from harness.rng import SeededRng
from sim.adapter import SimAdapter
from sim.kernel.runtime import SimClock, SimRuntime
from sim.venue.funding import FundingSchedule, load_funding_rates
from sim.venue.futures_venue import FuturesVenue, venue_class_for
from sim.venue.market_side import VenueMarketSide
from sim.venue.matching.types import DepthMode
from sim.venue.profile import ProfileError, VenueProfile, load_profile
from sim.venue.venue import SimVenue

__all__ = ["DEFAULT_START_NS", "SimWorld", "SimulatedVenue", "VenueSetup", "adapter_class", "build_venue",
           "default_balances", "depth_for", "symbol_map_between"]

_T = TypeVar("_T")

DEFAULT_START_NS = 1_723_075_200_000_000_000  # 2024-08-08T00:00:00Z, the day of the shipped sample


def default_balances(profile: VenueProfile) -> dict[str, Decimal]:
    """A comfortable account: 10 of every base asset and 1,000,000 of every quote asset of the profile
    (a derivatives venue: 1,000,000 of its settle asset, its only account)."""
    if profile.futures is not None:
        return {profile.futures.settle_asset: Decimal(1_000_000)}
    balances: dict[str, Decimal] = {}
    for rules in profile.symbols.values():
        balances.setdefault(rules.base_asset, Decimal(10))
        balances[rules.quote_asset] = Decimal(1_000_000)
    return balances


def depth_for(kinds: Collection[str]) -> DepthMode:
    """The deepest matching the market data supports: the L2 book, else quotes, else trades alone."""
    if "book" in kinds:
        return DepthMode.BOOK
    if "quotes" in kinds:
        return DepthMode.QUOTES
    return DepthMode.TRADES


@dataclass(frozen=True)
class VenueSetup:
    """One simulated venue of a run: its profile, starting balances and matching settings.

    ``balances`` None means ``default_balances`` of the profile; ``depth`` None means what the
    run's market data supports (``depth_for``). ``data_venue`` names the venue in the market data
    that drives it (default: its own name), so one recording can drive several simulated venues.
    """

    name: str
    profile: str
    balances: Mapping[str, Decimal] | None = None
    depth: DepthMode | None = None
    queue_model: str = "conservative"
    data_venue: str | None = None
    market_latency: str = "profile"
    """``profile``: the profile's market-data model; ``data``: resample the recorded
    ``ts_recv - ts_event`` delays of the run's trade data (de-skewed to the profile's floor)."""
    adapter: str | None = None
    """``MODULE:CLASS`` of a ``SimAdapter`` subclass to serve this venue instead (a test double,
    e.g. one with a planted bug for the fault search to find); None: ``SimAdapter``."""
    funding_rates: str | None = None
    """A derivatives venue's recorded funding rates (a CSV file, ``sim.venue.funding``); None: the
    profile's constant rate on its schedule."""


class SimulatedVenue(NamedTuple):
    """A venue of a built world: the venue, the adapter serving the contract, its market side."""

    venue: SimVenue
    adapter: SimAdapter
    market: VenueMarketSide


def symbol_map_between(data_venue: str | None, profile: VenueProfile) -> dict[str, str]:
    """Recorded symbols of ``data_venue`` mapped to ``profile``'s symbols of the same base and quote.

    Empty when the data venue is the venue itself or has no profile of its own (then symbols
    are taken as they are).
    """
    if data_venue is None or data_venue == profile.name:
        return {}
    try:
        source = load_profile(data_venue)
    except ProfileError:
        return {}
    ours = {(rules.base_asset, rules.quote_asset): symbol for symbol, rules in profile.symbols.items()}
    return {symbol: ours[(rules.base_asset, rules.quote_asset)] for symbol, rules in source.symbols.items()
            if (rules.base_asset, rules.quote_asset) in ours}


def build_venue(runtime: SimRuntime, setup: VenueSetup, profile: VenueProfile, *,
                depth: DepthMode) -> SimulatedVenue:
    """The venue of ``setup`` inside ``runtime`` (``profile`` already loaded, ``depth`` resolved)."""
    balances = dict(setup.balances) if setup.balances is not None else default_balances(profile)
    rng: SeededRng = runtime.rng.child(f"venue.{setup.name}")
    venue = venue_class_for(profile)(profile, balances=balances, rng=rng, now=runtime.now_ns, depth=depth,
                                     queue_model=setup.queue_model, name=setup.name)
    if isinstance(venue, FuturesVenue):
        recorded = load_funding_rates(Path(setup.funding_rates)) if setup.funding_rates else None
        FundingSchedule(venue, runtime.clock, recorded).start()
    elif setup.funding_rates:
        raise ValueError(f"venue {setup.name}: funding rates given, but profile {profile.name!r} "
                         "is not a derivatives venue")
    adapter = adapter_class(setup.adapter)(venue, runtime)
    market = VenueMarketSide(venue, adapter.market_channel, data_venue=setup.data_venue,
                             symbol_map=symbol_map_between(setup.data_venue, profile))
    return SimulatedVenue(venue, adapter, market)


def adapter_class(path: str | None) -> type[SimAdapter]:
    """The ``SimAdapter`` subclass named ``MODULE:CLASS`` (``SimAdapter`` itself for None)."""
    if path is None:
        return SimAdapter
    module_name, _, class_name = path.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, SimAdapter)):
        raise ValueError(f"adapter {path!r} is not a SimAdapter subclass")
    return cls


class SimWorld:
    """One ``SimRuntime`` with named simulated venues (profile per venue) and a ``SimAdapter`` each.

    ``venues`` maps a venue name to its profile: a shipped profile's name or a ``VenueProfile``
    (e.g. one with constant latencies for exact timing tests); a plain list uses each name as
    its profile. ``balances`` overrides the starting account per venue name. A hand-driven world
    has no recording, so its depth defaults to QUOTES (you set quotes by hand); pass
    ``depth=DepthMode.BOOK`` to match against books set with ``book``.
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
        self.markets: dict[str, VenueMarketSide] = {}
        for name, given in profiles.items():
            profile = load_profile(given) if isinstance(given, str) else given
            setup = VenueSetup(name, profile.name, balances=(balances or {}).get(name), queue_model=queue_model)
            built = build_venue(self.runtime, setup, profile, depth=depth)
            self.venues[name], self.adapters[name], self.markets[name] = built
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
        self.markets[venue].on_quote(quote)
        return quote

    def trade(self, venue: str, symbol: str, *, price: str | Decimal, size: str | Decimal,
              aggressor: Aggressor = Aggressor.UNKNOWN) -> Trade:
        """Print a public trade of ``size`` at ``price`` on ``venue`` now; returns the event sent."""
        now = self.runtime.now_ns()
        self._trade_seq += 1
        trade = Trade(now, now, venue, symbol, to_fixed(Decimal(price)), to_fixed(Decimal(size)), int(aggressor),
                      f"w{self._trade_seq}")
        self.markets[venue].on_trade(trade)
        return trade

    def book(self, venue: str, symbol: str, *, bids: Sequence[tuple[str, str]],
             asks: Sequence[tuple[str, str]], update_id: int = -1) -> list[BookDelta]:
        """Replace the L2 book of ``symbol`` on ``venue`` with these ``(price, size)`` levels now.

        Sent as one snapshot message, by default without update ids (the generic sync rule), as a
        venue without sequence numbers would; with ``update_id`` as Binance's ``lastUpdateId``.
        Returns the rows sent.
        """
        return self._book_message(venue, symbol, bids, asks, ids=(update_id, update_id, -1), flags=F_SNAPSHOT)

    def book_diff(self, venue: str, symbol: str, *, first_id: int, last_id: int,
                  bids: Sequence[tuple[str, str]] = (), asks: Sequence[tuple[str, str]] = ()) -> list[BookDelta]:
        """Send one diff message (Binance spot ``U``/``u``) changing these levels now (size 0 removes)."""
        return self._book_message(venue, symbol, bids, asks, ids=(first_id, last_id, -1), flags=0)

    def _book_message(self, venue: str, symbol: str, bids: Sequence[tuple[str, str]],
                      asks: Sequence[tuple[str, str]], *, ids: tuple[int, int, int], flags: int) -> list[BookDelta]:
        now = self.runtime.now_ns()
        levels = [(BOOK_BID, p, q) for p, q in bids] + [(BOOK_ASK, p, q) for p, q in asks]
        if not levels:
            raise ValueError("a book message needs at least one level")
        rows = [BookDelta(now, now, venue, symbol, side, to_fixed(Decimal(p)), to_fixed(Decimal(q)), *ids,
                          flags | (F_LAST if i == len(levels) - 1 else 0))
                for i, (side, p, q) in enumerate(levels)]
        for row in rows:
            self.markets[venue].on_book(row)
        return rows

    # ------------------------------------------------------------------ driving

    @property
    def clock(self) -> SimClock:
        """The world's virtual clock (with ``adapters`` and ``markets``, what fault injectors need)."""
        return self.runtime.clock

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

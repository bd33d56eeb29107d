"""Routing's vocabulary and book maths: criteria, configuration, decisions, and fill estimates.

The records a routing decision is made of (``RouterConfig``, ``VenueAssessment``,
``RoutingReasoning``, ``Allocation``, ``RoutingDecision``, ``RoutingOutcome``) and the pure
functions that walk a book (``estimate_fill``, ``price_band``) or check a venue's size rules
(``size_violation``). ``harness.router.OrderRouter`` makes decisions out of them; keeping them
here leaves the router module to the decision logic. Everything is exact ``Decimal`` maths.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from harness.config import Section
from harness.contract import InvalidRequestError
from harness.model import BookLevel, OrderType, Side, SymbolInfo, VenueStatus
from harness.money import DECIMALS, from_fixed, to_fixed

__all__ = [
    "PRICE_QUANTUM",
    "ZERO",
    "Allocation",
    "FillEstimate",
    "RouterConfig",
    "RouterConfigError",
    "RoutingCriteria",
    "RoutingDecision",
    "RoutingError",
    "RoutingOutcome",
    "RoutingReasoning",
    "VenueAssessment",
    "bps",
    "estimate_fill",
    "price_band",
    "size_violation",
]

_BPS = Decimal(10_000)
PRICE_QUANTUM = Decimal(1).scaleb(-DECIMALS)
"""Prices are kept on the 1e-9 grid of fixed-point market data."""
_BPS_QUANTUM = Decimal("0.01")
ZERO = Decimal(0)
"""Zero, as a ``Decimal``."""


class RoutingCriteria(StrEnum):
    """What the router optimises when it picks venues."""

    BEST_PRICE = "BEST_PRICE"
    LOWEST_FEES = "LOWEST_FEES"
    HIGHEST_LIQUIDITY = "HIGHEST_LIQUIDITY"
    USER_PREFERENCE = "USER_PREFERENCE"


class RoutingError(InvalidRequestError):
    """No venue can take the order: every venue is unavailable or the order breaks its rules.

    ``skipped`` maps each venue considered to the reason it was refused (the violated rule for
    size filters, e.g. ``"lot_size: quantity 0.15 is not a multiple of 0.1"``); ``venue`` is the
    first of them, so the error names a venue as every ``VenueError`` does.
    """

    def __init__(self, message: str, *, skipped: Mapping[str, str] | None = None, code: str = "ROUTING") -> None:
        skipped = dict(skipped or {})
        super().__init__(message, venue=next(iter(skipped), ""), code=code)
        self.skipped = skipped


class RouterConfigError(ValueError):
    """A router configuration value is missing, unknown or malformed; the message names the field."""


# --------------------------------------------------------------------------- configuration


def _empty_symbols() -> Mapping[str, Mapping[str, str]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RouterConfig:
    """How the router decides.

    ``priority`` orders venues for failover and ties (unlisted venues follow, by name);
    ``preferred`` is the user's order for ``USER_PREFERENCE``; ``split_threshold`` is the
    quantity above which an order may be split (when ``enable_splitting``) over at most
    ``max_split_venues`` venues (0 = no limit); ``max_slippage_bps`` bounds how deep into a book
    an estimate may go; ``symbols`` maps an instrument to each venue's own symbol for it
    (``{"BTC/USDT": {"binance": "BTCUSDT", "okx": "BTC-USDT"}}``), an unmapped instrument being
    used as the symbol as it is.
    """

    criteria: RoutingCriteria = RoutingCriteria.BEST_PRICE
    priority: tuple[str, ...] = ()
    preferred: tuple[str, ...] = ()
    enable_splitting: bool = False
    split_threshold: Decimal = ZERO
    max_split_venues: int = 0
    max_slippage_bps: Decimal | None = None
    symbols: Mapping[str, Mapping[str, str]] = field(default_factory=_empty_symbols)

    def __post_init__(self) -> None:
        object.__setattr__(self, "criteria", _enum_value(self.criteria))
        for name in ("priority", "preferred"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(v, str) and v for v in value):
                raise RouterConfigError(f"{name}: must be a sequence of venue names, got {value!r}")
            if len(set(value)) != len(tuple(value)):
                raise RouterConfigError(f"{name}: lists a venue twice: {value!r}")
            object.__setattr__(self, name, tuple(value))
        if not isinstance(self.enable_splitting, bool):
            raise RouterConfigError(f"enable_splitting: must be a bool, got {self.enable_splitting!r}")
        if not isinstance(self.split_threshold, Decimal) or self.split_threshold < 0:
            raise RouterConfigError(f"split_threshold: must be a Decimal >= 0, got {self.split_threshold!r}")
        if isinstance(self.max_split_venues, bool) or not isinstance(self.max_split_venues, int) \
                or self.max_split_venues < 0:
            raise RouterConfigError(f"max_split_venues: must be an int >= 0, got {self.max_split_venues!r}")
        if self.max_slippage_bps is not None and (not isinstance(self.max_slippage_bps, Decimal)
                                                  or self.max_slippage_bps < 0):
            raise RouterConfigError(f"max_slippage_bps: must be a Decimal >= 0 or None, got {self.max_slippage_bps!r}")
        symbols: dict[str, Mapping[str, str]] = {}
        for instrument, per_venue in dict(self.symbols).items():
            if not isinstance(per_venue, Mapping) or not all(
                    isinstance(k, str) and isinstance(v, str) and v for k, v in per_venue.items()):
                raise RouterConfigError(f"symbols.{instrument}: must map venue names to symbols, got {per_venue!r}")
            symbols[instrument] = MappingProxyType(dict(per_venue))
        object.__setattr__(self, "symbols", MappingProxyType(symbols))

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> RouterConfig:
        """Build a config from plain data (a TOML table): unknown keys, floats and bad values are refused."""
        section = Section(data, error=_config_error)
        values: dict[str, Any] = {}
        if section.has("criteria"):
            values["criteria"] = section.choice("criteria", RoutingCriteria)
        for name in ("priority", "preferred"):
            if section.has(name):
                values[name] = tuple(section.strings(name))
        if section.has("enable_splitting"):
            values["enable_splitting"] = section.boolean("enable_splitting")
        if section.has("max_split_venues"):
            values["max_split_venues"] = section.integer("max_split_venues")
        for name in ("split_threshold", "max_slippage_bps"):
            amount = section.decimal(name, required=False, ints=True)
            if amount is not None:
                values[name] = amount
        symbols = section.raw("symbols")  # instrument -> venue -> symbol, checked in __post_init__
        if symbols is not None:
            values["symbols"] = symbols
        section.done()
        return cls(**values)

    def venue_symbol(self, instrument: str, venue: str) -> str:
        """The symbol ``venue`` uses for ``instrument`` (the instrument itself when unmapped)."""
        return self.symbols.get(instrument, {}).get(venue, instrument)


def _enum_value(value: object) -> RoutingCriteria:
    if isinstance(value, str) and value in {c.value for c in RoutingCriteria}:
        return RoutingCriteria(value)
    raise RouterConfigError(f"criteria: must be one of {[c.value for c in RoutingCriteria]}, got {value!r}")


def _config_error(key: str, problem: str, line: int | None) -> RouterConfigError:
    return RouterConfigError(f"{key}: {problem}")


# --------------------------------------------------------------------------- pure estimates


@dataclass(frozen=True, slots=True)
class FillEstimate:
    """What taking ``quantity`` from one side of a book would do, within the allowed price band.

    ``notional`` is the exact sum of price x size over the levels used; ``average_price`` is
    ``notional / filled`` on the 1e-9 grid (``None`` when nothing fills); ``slippage_bps`` is how
    much worse the average is than the best level (never negative, 0.01 bps grid);
    ``band_depth`` is all the size the band offers, used or not.
    """

    filled: Decimal
    notional: Decimal
    average_price: Decimal | None
    slippage_bps: Decimal
    levels_used: int
    best_price: Decimal | None
    worst_price: Decimal | None
    band_depth: Decimal


def price_band(levels: Sequence[BookLevel], side: Side, *, limit_price: Decimal | None = None,
               max_slippage_bps: Decimal | None = None) -> tuple[BookLevel, ...]:
    """The levels of our side of a book an order may take: at or inside its limit price and within
    ``max_slippage_bps`` of the best level. ``levels`` are best-first (asks for a buy, bids for a sell)."""
    live = [level for level in levels if level.size > 0]
    if not live:
        return ()
    bound: Decimal | None = limit_price
    if max_slippage_bps is not None:
        slip = from_fixed(live[0].price) * (1 + side.sign * max_slippage_bps / _BPS)
        bound = slip if bound is None else min(bound, slip) if side is Side.BUY else max(bound, slip)
    if bound is None:
        return tuple(live)
    return tuple(level for level in live if side.sign * (bound - from_fixed(level.price)) >= 0)


def estimate_fill(levels: Sequence[BookLevel], quantity: Decimal, side: Side, *,
                  limit_price: Decimal | None = None, max_slippage_bps: Decimal | None = None) -> FillEstimate:
    """Walk ``quantity`` through one side of a book (best-first levels, fixed-point ints), exactly.

    Only levels inside the band (``price_band``) are taken, so ``filled`` may fall short of
    ``quantity``. A buy takes asks and a sell takes bids: pass the side the order trades against.
    """
    want = to_fixed(quantity)
    if want <= 0:
        raise ValueError(f"quantity must be positive, got {quantity}")
    band = price_band(levels, side, limit_price=limit_price, max_slippage_bps=max_slippage_bps)
    filled = 0
    notional = 0  # in units of 10**-(2 * DECIMALS)
    used = 0
    worst: int | None = None
    for level in band:
        if filled >= want:
            break
        take = min(level.size, want - filled)
        filled += take
        notional += take * level.price
        used += 1
        worst = level.price
    exact_notional = Decimal(notional).scaleb(-2 * DECIMALS)
    best = from_fixed(band[0].price) if band else None
    average: Decimal | None = None
    slippage = ZERO
    if filled and best is not None:
        filled_dec = from_fixed(filled)
        average = (exact_notional / filled_dec).quantize(PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)
        slippage = bps(side.sign * (exact_notional - best * filled_dec), best * filled_dec)
    return FillEstimate(from_fixed(filled), exact_notional, average, slippage, used, best,
                        None if worst is None else from_fixed(worst), from_fixed(sum(lv.size for lv in band)))


def bps(difference: Decimal, base: Decimal) -> Decimal:
    """``difference`` as basis points of ``base`` (two decimals, half-even; 0 when ``base`` is 0)."""
    if base == 0:
        return ZERO
    return (difference * _BPS / base).quantize(_BPS_QUANTUM, rounding=ROUND_HALF_EVEN)


def size_violation(rules: SymbolInfo, quantity: Decimal, price: Decimal | None) -> str | None:
    """The first of the venue's size rules ``quantity`` breaks (``"rule: why"``), or ``None``.

    Rules, in order: positive, ``min_quantity``, ``max_quantity`` (0 = none), ``lot_size`` step,
    ``min_notional`` and ``max_notional`` at ``price`` (skipped when the price is unknown).
    """
    if quantity <= 0:
        return f"quantity: must be positive, got {quantity}"
    if quantity < rules.min_quantity:
        return f"min_quantity: quantity {quantity} is below {rules.min_quantity}"
    if rules.max_quantity > 0 and quantity > rules.max_quantity:
        return f"max_quantity: quantity {quantity} is above {rules.max_quantity}"
    if rules.lot_size > 0 and quantity % rules.lot_size != 0:
        return f"lot_size: quantity {quantity} is not a multiple of {rules.lot_size}"
    if price is not None:
        notional = quantity * price
        if notional < rules.min_notional:
            return f"min_notional: notional {notional} is below {rules.min_notional}"
        if rules.max_notional is not None and rules.max_notional > 0 and notional > rules.max_notional:
            return f"max_notional: notional {notional} is above {rules.max_notional}"
    return None


# --------------------------------------------------------------------------- decision records


@dataclass(frozen=True, slots=True)
class VenueAssessment:
    """What the router saw and estimated at one venue (Property 22), and why it was skipped if it was.

    Book fields come from the snapshot (``bid_depth``/``ask_depth`` are the total visible sizes);
    estimate fields are for the whole order at this venue: ``band_depth`` is the size on our side
    within the limit price and slippage band, ``estimated_price`` the expected average price
    (1e-9 grid) and ``estimated_notional`` the exact expected price x quantity,
    ``estimated_fee`` the fee, ``estimated_total`` the quote amount paid (buy: notional + fee) or
    received (sell: notional - fee), ``shortfall`` the part of a market order the visible book
    cannot fill. ``skip_reason`` is empty for a venue that could take the order.
    """

    venue: str
    symbol: str
    status: VenueStatus | None
    breaker_open: bool
    skip_reason: str = ""
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    spread: Decimal | None = None
    spread_bps: Decimal | None = None
    bid_depth: Decimal = ZERO
    ask_depth: Decimal = ZERO
    band_depth: Decimal = ZERO
    levels_used: int = 0
    estimated_price: Decimal | None = None
    estimated_notional: Decimal | None = None
    slippage_bps: Decimal | None = None
    maker_fee_rate: Decimal | None = None
    taker_fee_rate: Decimal | None = None
    estimated_fee: Decimal | None = None
    estimated_total: Decimal | None = None
    shortfall: Decimal = ZERO

    @property
    def available(self) -> bool:
        """True when the venue was not skipped."""
        return not self.skip_reason

    def as_dict(self) -> dict[str, str | int | None]:
        """Plain JSON-ready fields (Decimals as strings, ``None`` where unknown)."""
        out: dict[str, str | int | None] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, bool):
                out[name] = int(value)
            elif isinstance(value, int | str) or value is None:
                out[name] = value
            else:
                out[name] = str(value)
        return out


@dataclass(frozen=True, slots=True)
class RoutingReasoning:
    """Why a decision came out as it did: every venue's assessment (in priority order), the ranking
    of the eligible venues (best first) and notes (e.g. a split that fell back to one venue)."""

    criteria: RoutingCriteria
    assessments: tuple[VenueAssessment, ...]
    ranking: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def assessment(self, venue: str) -> VenueAssessment:
        """The assessment of ``venue`` (``KeyError`` if it was not considered)."""
        for item in self.assessments:
            if item.venue == venue:
                return item
        raise KeyError(venue)

    @property
    def skipped(self) -> dict[str, str]:
        """Venue -> reason, for every venue that could not take the order."""
        return {a.venue: a.skip_reason for a in self.assessments if a.skip_reason}

    def to_json(self) -> str:
        """The reasoning as deterministic JSON text (for the decisions table and the journal)."""
        return json.dumps({"criteria": self.criteria.value, "ranking": list(self.ranking), "notes": list(self.notes),
                           "venues": [a.as_dict() for a in self.assessments]}, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Allocation:
    """One slice of a routed order: ``quantity`` of the venue's ``symbol`` at ``venue``, with its
    expected average price and fee."""

    venue: str
    symbol: str
    quantity: Decimal
    expected_price: Decimal
    expected_fee: Decimal


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """Where an order goes: one allocation, or several that sum exactly to ``quantity`` when split."""

    decision_id: str
    ts_ns: int
    instrument: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    limit_price: Decimal | None
    criteria: RoutingCriteria
    allocations: tuple[Allocation, ...]
    reasoning: RoutingReasoning

    @property
    def selected_venue(self) -> str:
        """The venue of the first (largest-priority) allocation."""
        return self.allocations[0].venue

    @property
    def is_split(self) -> bool:
        """True when the order goes to more than one venue."""
        return len(self.allocations) > 1

    @property
    def alternatives(self) -> tuple[str, ...]:
        """Eligible venues that were ranked but got no allocation, best first."""
        used = {a.venue for a in self.allocations}
        return tuple(v for v in self.reasoning.ranking if v not in used)


@dataclass(frozen=True, slots=True)
class RoutingOutcome:
    """What happened to one allocation: fill price and quantity, realised slippage against the
    expected price (bps, positive = worse for us) and time from decision to fill."""

    decision_id: str
    venue: str
    fill_price: Decimal
    filled_quantity: Decimal
    expected_price: Decimal
    slippage_bps: Decimal
    time_to_fill_ns: int
    ts_ns: int



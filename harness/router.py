"""Smart order routing: pick the venue (or venues) for an order from books, fees, rules and health.

``OrderRouter.route`` is a pure decision over plain data handed in by the caller: each venue's
current ``BookSnapshot``, its ``VenueInfo`` (fees, symbol filters, supported order types), its
``VenueStatus`` and whether its circuit breaker is open. No I/O happens here, so the same router
decides identically in simulation and live, and tests drive it with hand-made books.

How a decision is made:

1. **Availability** (Property 3). Venues are visited in priority order (``RouterConfig.priority``
   first, then the remaining venues by name). A venue that is not ACTIVE (INACTIVE, MAINTENANCE,
   ERROR), whose breaker is open, that does not list the instrument, lacks the order type or has
   no book is skipped, and the skip is recorded with its reason.
2. **Book-aware estimate** (Property 22). For every remaining venue the order is walked through
   the venue's book on our side (asks for a buy, bids for a sell) with ``estimate_fill``: average
   price, slippage against the best level, levels used, depth available within the limit price
   and the slippage band, and the fee (taker rate on what fills at once, maker rate on what a
   limit order leaves resting at its limit price). A market order larger than the visible book
   is priced at the worst visible level for the missing part and flagged as a depth shortfall;
   with ``max_slippage_bps`` set, such a venue cannot take the whole order (a split may still
   use the depth it has inside the band).
3. **Size rules** (Property 24). The quantity is checked against the venue's filters
   (``size_violation``: positive, min and max quantity, lot step, min and max notional at the
   expected price). A venue whose rules the order breaks is skipped; if every venue is skipped,
   ``route`` raises ``RoutingError`` naming each venue and the rule, before anything is sent.
4. **Criteria** (Property 21). The eligible venues are ranked by the configured criterion:

   * ``BEST_PRICE``: the lowest expected notional for a buy (highest for a sell), then lower fees;
   * ``LOWEST_FEES``: the lowest expected fee, then the best all-in amount;
   * ``HIGHEST_LIQUIDITY``: the most depth on our side within the limit price / slippage band,
     then the best all-in amount;
   * ``USER_PREFERENCE``: ``RouterConfig.preferred`` in order, then everyone else.

   For the price and fee criteria a venue that cannot fill a market order from its visible book
   ranks after every venue that can. Remaining ties go to the priority order.
5. **Splitting** (Property 23). With ``enable_splitting`` and a quantity above
   ``split_threshold``, the order is spread over the eligible venues by walking their books
   jointly, level by level in the criterion's order (cheapest level first for BEST_PRICE). Each
   slice is then capped at the venue's max quantity, rounded *down* to its lot size and dropped
   if it falls below the venue's min quantity or min notional; what this frees is handed back in
   lot-sized pieces, first to venues with visible depth to spare, so that the slices sum to the
   original quantity *exactly*. When no combination of lots can absorb the remainder, the whole
   order goes to the single best venue that accepts it (the reasoning says so); if none does,
   ``RoutingError``. A split never takes a worse level than necessary, so when one venue's book
   is best for the whole quantity the "split" has a single slice.

Every decision is kept with its full reasoning (``decisions``); ``record_outcome`` adds what
actually happened (fill price, realised slippage against the expectation, time to fill) and
``decisions_table`` flattens both into rows for the run directory and the journal.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from harness.clock import Clock
from harness.contract import InvalidRequestError
from harness.model import BookLevel, BookSnapshot, OrderType, Side, SymbolInfo, VenueInfo, VenueStatus
from harness.money import DECIMALS, MoneyError, from_fixed, to_fixed

__all__ = [
    "Allocation",
    "FillEstimate",
    "OrderRouter",
    "RouterConfig",
    "RouterConfigError",
    "RoutingCriteria",
    "RoutingDecision",
    "RoutingError",
    "RoutingOutcome",
    "RoutingReasoning",
    "VenueAssessment",
    "estimate_fill",
    "price_band",
    "size_violation",
]

_BPS = Decimal(10_000)
_PRICE_QUANTUM = Decimal(1).scaleb(-DECIMALS)
_BPS_QUANTUM = Decimal("0.01")
_ZERO = Decimal(0)


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
    split_threshold: Decimal = _ZERO
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
        known = ("criteria", "priority", "preferred", "enable_splitting", "split_threshold", "max_split_venues",
                 "max_slippage_bps", "symbols")
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise RouterConfigError(f"{unknown[0]}: unknown key (known keys: {', '.join(known)})")
        values = dict(data)
        for name in ("split_threshold", "max_slippage_bps"):
            if name in values and values[name] is not None:
                values[name] = _decimal_value(values[name], name)
        for name in ("priority", "preferred"):
            if name in values:
                raw = values[name]
                if isinstance(raw, str) or not isinstance(raw, Sequence):
                    raise RouterConfigError(f"{name}: must be a list of venue names, got {raw!r}")
                values[name] = tuple(raw)
        return cls(**values)  # type: ignore[arg-type]  # each field is validated in __post_init__

    def venue_symbol(self, instrument: str, venue: str) -> str:
        """The symbol ``venue`` uses for ``instrument`` (the instrument itself when unmapped)."""
        return self.symbols.get(instrument, {}).get(venue, instrument)


def _enum_value(value: object) -> RoutingCriteria:
    if isinstance(value, str) and value in {c.value for c in RoutingCriteria}:
        return RoutingCriteria(value)
    raise RouterConfigError(f"criteria: must be one of {[c.value for c in RoutingCriteria]}, got {value!r}")


def _decimal_value(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise RouterConfigError(f"{name}: must be a decimal string or int (never a float), got {value!r}")
    try:
        return Decimal(value)
    except ArithmeticError:
        raise RouterConfigError(f"{name}: not a decimal number: {value!r}") from None


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
    slippage = _ZERO
    if filled and best is not None:
        filled_dec = from_fixed(filled)
        average = (exact_notional / filled_dec).quantize(_PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)
        slippage = _bps(side.sign * (exact_notional - best * filled_dec), best * filled_dec)
    return FillEstimate(from_fixed(filled), exact_notional, average, slippage, used, best,
                        None if worst is None else from_fixed(worst), from_fixed(sum(lv.size for lv in band)))


def _bps(difference: Decimal, base: Decimal) -> Decimal:
    if base == 0:
        return _ZERO
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
    bid_depth: Decimal = _ZERO
    ask_depth: Decimal = _ZERO
    band_depth: Decimal = _ZERO
    levels_used: int = 0
    estimated_price: Decimal | None = None
    estimated_notional: Decimal | None = None
    slippage_bps: Decimal | None = None
    maker_fee_rate: Decimal | None = None
    taker_fee_rate: Decimal | None = None
    estimated_fee: Decimal | None = None
    estimated_total: Decimal | None = None
    shortfall: Decimal = _ZERO

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


# --------------------------------------------------------------------------- the router


@dataclass(frozen=True, slots=True)
class _Candidate:
    """An available venue with everything the ranking and the split need."""

    rank_index: int
    venue: str
    symbol: str
    rules: SymbolInfo
    info: VenueInfo
    band: tuple[BookLevel, ...]
    assessment: VenueAssessment


@dataclass(frozen=True, slots=True)
class _Execution:
    """An estimated execution of some quantity at one venue."""

    fill: FillEstimate
    gross: Decimal
    fee: Decimal
    price: Decimal
    shortfall: Decimal


class OrderRouter:
    """Routes orders by the configured criterion, keeps every decision and later its outcome.

    Pure and synchronous: the caller fetches books, venue infos, statuses and breaker states
    (from adapters, the registry and the gateways) and hands them to ``route``. The clock only
    stamps decisions; ids are sequential (``<id_prefix>000001``...), so runs are reproducible.
    """

    def __init__(self, config: RouterConfig, clock: Clock, *, id_prefix: str = "route-") -> None:
        self.config = config
        self._clock = clock
        self._prefix = id_prefix
        self._decisions: dict[str, RoutingDecision] = {}
        self._outcomes: dict[str, list[RoutingOutcome]] = {}

    @property
    def decisions(self) -> tuple[RoutingDecision, ...]:
        """Every decision made, oldest first."""
        return tuple(self._decisions.values())

    def decision(self, decision_id: str) -> RoutingDecision:
        """One decision by id (``KeyError`` if unknown)."""
        return self._decisions[decision_id]

    def outcomes(self, decision_id: str) -> tuple[RoutingOutcome, ...]:
        """The outcomes recorded for one decision, in the order they were recorded."""
        return tuple(self._outcomes.get(decision_id, ()))

    # ------------------------------------------------------------------ routing

    def route(self, instrument: str, side: Side, quantity: Decimal, order_type: OrderType = OrderType.MARKET, *,
              books: Mapping[str, BookSnapshot], infos: Mapping[str, VenueInfo],
              statuses: Mapping[str, VenueStatus] | None = None,
              breaker_open: Callable[[str], bool] | None = None,
              limit_price: Decimal | None = None) -> RoutingDecision:
        """Decide where ``quantity`` of ``instrument`` goes; raise ``RoutingError`` if nowhere.

        ``books``/``infos`` are keyed by venue name (books for the venue's own symbol);
        ``statuses`` defaults to every venue ACTIVE (a venue missing from a given mapping is
        skipped as of unknown status); ``breaker_open(venue)`` says whether the venue's breaker
        refuses calls. ``limit_price`` makes the estimate stop at that price and assume the rest
        rests there (maker fee); without it the order is estimated as a market order.
        """
        _check_quantity(quantity, limit_price)
        cfg = self.config
        venues = self._venue_order([*books, *infos, *(statuses or {})])
        assessments: list[VenueAssessment] = []
        candidates: list[_Candidate] = []
        for index, venue in enumerate(venues):
            status = VenueStatus.ACTIVE if statuses is None else statuses.get(venue)
            is_open = bool(breaker_open(venue)) if breaker_open is not None else False
            symbol = cfg.venue_symbol(instrument, venue)
            candidate = self._candidate(index, venue, symbol, side=side, quantity=quantity, order_type=order_type,
                                        limit_price=limit_price, status=status, is_open=is_open,
                                        book=books.get(venue), info=infos.get(venue))
            if isinstance(candidate, _Candidate):
                candidates.append(candidate)
                assessments.append(candidate.assessment)
            else:
                assessments.append(candidate)
        notes: list[str] = []
        ranked = sorted(candidates, key=lambda c: self._rank_key(c, side))
        splitting = cfg.enable_splitting and quantity > cfg.split_threshold and len(ranked) > 1
        allocations: tuple[Allocation, ...] | None = None
        if splitting:
            allocations = self._split(ranked, side, quantity, limit_price, notes)
        violations = {c.venue: why for c in ranked if (why := self._whole_violation(c, quantity, limit_price))}
        whole = [c for c in ranked if c.venue not in violations]
        if not splitting:
            assessments = [_skip(a, violations[a.venue]) if a.venue in violations else a for a in assessments]
        if allocations is None:
            if not whole:
                skipped = {a.venue: a.skip_reason or violations[a.venue] for a in assessments}
                reasons = "; ".join(f"{v}: {why}" for v, why in skipped.items()) or "no venue configured"
                prefix = "cannot split, and " if splitting else ""
                raise RoutingError(f"{prefix}no venue can take {side.value} {quantity} {instrument}: {reasons}",
                                   skipped=skipped, code="NO_VENUE")
            best = whole[0]
            execution = self._execute(best, side, quantity, limit_price)
            allocations = (Allocation(best.venue, best.symbol, quantity, execution.price, execution.fee),)
            if splitting:
                notes.append(f"routed whole to {best.venue}")
        ranking = tuple(c.venue for c in (ranked if splitting else whole))
        reasoning = RoutingReasoning(cfg.criteria, tuple(assessments), ranking, tuple(notes))
        decision = RoutingDecision(f"{self._prefix}{len(self._decisions) + 1:06d}", self._clock.now_ns(), instrument,
                                   side, order_type, quantity, limit_price, cfg.criteria, allocations, reasoning)
        self._decisions[decision.decision_id] = decision
        return decision

    def _venue_order(self, names: Iterable[str]) -> list[str]:
        present = set(names)
        listed = [v for v in self.config.priority if v in present]
        return listed + sorted(present - set(listed))

    def _candidate(self, index: int, venue: str, symbol: str, *, side: Side, quantity: Decimal,
                   order_type: OrderType, limit_price: Decimal | None, status: VenueStatus | None, is_open: bool,
                   book: BookSnapshot | None, info: VenueInfo | None) -> _Candidate | VenueAssessment:
        """Assess one venue: a ``_Candidate`` when it can trade, else the assessment with why not."""
        base = VenueAssessment(venue, symbol, status, is_open)
        if book is not None:
            base = _with_book(base, book)
        if status is not VenueStatus.ACTIVE:
            return _skip(base, f"status: {status.value if status else 'unknown'}")
        if is_open:
            return _skip(base, "circuit breaker open")
        if info is None:
            return _skip(base, "no venue info")
        base = _with_fees(base, info)
        rules = info.symbols.get(symbol)
        if rules is None:
            return _skip(base, f"symbol: {symbol} is not listed")
        if order_type not in info.capabilities.order_types:
            return _skip(base, f"order_type: {order_type.value} is not supported")
        if book is None:
            return _skip(base, "no order book")
        levels = book.asks if side is Side.BUY else book.bids
        band = price_band(levels, side, limit_price=limit_price, max_slippage_bps=self.config.max_slippage_bps)
        if limit_price is None and not band:
            return _skip(base, f"liquidity: no {'asks' if side is Side.BUY else 'bids'} in the book")
        candidate = _Candidate(index, venue, symbol, rules, info, band, base)
        execution = self._execute(candidate, side, quantity, limit_price)
        return _Candidate(index, venue, symbol, rules, info, band, _with_estimate(base, execution, side))

    def _whole_violation(self, candidate: _Candidate, quantity: Decimal, limit_price: Decimal | None) -> str | None:
        """Why the venue cannot take the whole quantity: its size rules, or (market orders with a
        slippage cap) too little depth within the cap. A split may still give it a slice."""
        a = candidate.assessment
        if a.shortfall and self.config.max_slippage_bps is not None:
            return f"max_slippage: only {a.band_depth} within {self.config.max_slippage_bps} bps of the best price"
        return size_violation(candidate.rules, quantity, _rule_price(a, limit_price))

    def _execute(self, candidate: _Candidate, side: Side, quantity: Decimal,
                 limit_price: Decimal | None) -> _Execution:
        """Estimate ``quantity`` at one venue: what fills now, what rests (limit) or is missing (market)."""
        fill = estimate_fill(candidate.band, quantity, side)
        rest = quantity - fill.filled
        fees = candidate.info.fees
        fee = fill.notional * fees.taker
        gross = fill.notional
        shortfall = _ZERO
        if rest:
            if limit_price is not None:
                gross += rest * limit_price
                fee += rest * limit_price * fees.maker
            else:
                shortfall = rest
                worst = fill.worst_price if fill.worst_price is not None else _ZERO
                gross += rest * worst
                fee += rest * worst * fees.taker
        price = (gross / quantity).quantize(_PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)
        return _Execution(fill, gross, fee, price, shortfall)

    def _rank_key(self, candidate: _Candidate, side: Side) -> tuple[object, ...]:
        """Sort key of an eligible venue under the configured criterion (smaller is better)."""
        a = candidate.assessment
        sign = side.sign
        total = sign * (a.estimated_total or _ZERO)
        gross = sign * (a.estimated_notional or _ZERO)
        fee = a.estimated_fee or _ZERO
        short = a.shortfall > 0
        criteria = self.config.criteria
        key: tuple[object, ...]
        if criteria is RoutingCriteria.BEST_PRICE:
            key = (short, gross, fee)
        elif criteria is RoutingCriteria.LOWEST_FEES:
            key = (short, fee, total)
        elif criteria is RoutingCriteria.HIGHEST_LIQUIDITY:
            key = (-a.band_depth, total)
        else:
            preferred = self.config.preferred
            key = (preferred.index(a.venue) if a.venue in preferred else len(preferred),)
        return (*key, candidate.rank_index)

    # ------------------------------------------------------------------ splitting

    def _split(self, ranked: list[_Candidate], side: Side, quantity: Decimal, limit_price: Decimal | None,
               notes: list[str]) -> tuple[Allocation, ...] | None:
        """Slices over ``ranked`` summing exactly to ``quantity``, or ``None`` (with a note) when the
        lots cannot absorb it."""
        cfg = self.config
        pool = ranked[:cfg.max_split_venues] if cfg.max_split_venues else ranked
        want = to_fixed(quantity)
        raw = self._joint_walk(pool, side, want)
        if limit_price is None and cfg.max_slippage_bps is not None and sum(raw.values()) < want:
            depth = from_fixed(sum(raw.values()))
            raise RoutingError(f"cannot route {side.value} {quantity}: only {depth} is offered within "
                               f"{cfg.max_slippage_bps} bps of the best prices across "
                               f"{', '.join(c.venue for c in pool)}",
                               skipped={c.venue: "max_slippage: not enough depth" for c in pool}, code="DEPTH")
        raw[pool[0].venue] += want - sum(raw.values())  # beyond the visible books: rests / walks at the best venue
        slices: dict[str, int] = {}
        for c in pool:
            slices[c.venue] = self._fit_slice(c, side, raw[c.venue], limit_price)
        remainder = want - sum(slices.values())
        for within_depth in (True, False):
            for c in pool:
                if remainder == 0:
                    break
                room = remainder
                if within_depth:
                    room = min(room, max(0, sum(lv.size for lv in c.band) - slices[c.venue]))
                add = self._addable(c, side, slices[c.venue], room, limit_price)
                slices[c.venue] += add
                remainder -= add
        if remainder:
            notes.append(f"split impossible: {from_fixed(remainder)} left over fits no venue's lot size and minimums")
            return None
        allocations = []
        for c in pool:
            if slices[c.venue]:
                qty = from_fixed(slices[c.venue])
                execution = self._execute(c, side, qty, limit_price)
                allocations.append(Allocation(c.venue, c.symbol, qty, execution.price, execution.fee))
        notes.append(f"split over {len(allocations)} venue(s) by {cfg.criteria.value}")
        return tuple(allocations)

    def _joint_walk(self, pool: list[_Candidate], side: Side, want: int) -> dict[str, int]:
        """Take ``want`` from all the pool's bands together, best level first under the criterion."""
        criteria = self.config.criteria
        entries: list[tuple[tuple[object, ...], str, int]] = []
        for rank, c in enumerate(pool):
            fee = c.info.fees.taker
            for level in c.band:
                price = side.sign * level.price
                if criteria is RoutingCriteria.BEST_PRICE:
                    key: tuple[object, ...] = (price, fee, rank)
                elif criteria is RoutingCriteria.LOWEST_FEES:
                    key = (fee, price, rank)
                else:
                    key = (rank, price)
                entries.append((key, c.venue, level.size))
        entries.sort(key=lambda entry: entry[0])
        taken = {c.venue: 0 for c in pool}
        left = want
        for _, venue, size in entries:
            if left == 0:
                break
            take = min(size, left)
            taken[venue] += take
            left -= take
        return taken

    def _fit_slice(self, c: _Candidate, side: Side, units: int, limit_price: Decimal | None) -> int:
        """``units`` capped at the max quantity, rounded down to the lot, or 0 if it breaks a rule."""
        lot = _lot_units(c.rules)
        if c.rules.max_quantity > 0:
            units = min(units, to_fixed(c.rules.max_quantity))
        units -= units % lot
        if units <= 0 or self._slice_violation(c, side, units, limit_price):
            return 0
        return units

    def _addable(self, c: _Candidate, side: Side, current: int, room: int, limit_price: Decimal | None) -> int:
        """The largest lot multiple (at most ``room``) that can join the venue's slice, or 0."""
        lot = _lot_units(c.rules)
        add = room - room % lot
        if c.rules.max_quantity > 0:
            cap = to_fixed(c.rules.max_quantity) - current
            add = min(add, cap - cap % lot)
        if add <= 0 or self._slice_violation(c, side, current + add, limit_price):
            return 0
        return add

    def _slice_violation(self, c: _Candidate, side: Side, units: int, limit_price: Decimal | None) -> str | None:
        qty = from_fixed(units)
        execution = self._execute(c, side, qty, limit_price)
        return size_violation(c.rules, qty, limit_price if limit_price is not None else execution.price)

    # ------------------------------------------------------------------ outcomes

    def record_outcome(self, decision_id: str, venue: str, fill_price: Decimal, filled_quantity: Decimal,
                       ts_ns: int) -> RoutingOutcome:
        """Record a fill of one allocation; may be called once per partial fill.

        Realised slippage is against the allocation's expected price, in bps, positive when the
        fill is worse for us; the time to fill counts from the decision.
        """
        decision = self._decisions.get(decision_id)
        if decision is None:
            raise KeyError(f"unknown routing decision {decision_id!r}")
        allocation = next((a for a in decision.allocations if a.venue == venue), None)
        if allocation is None:
            raise ValueError(f"decision {decision_id} allocated nothing to venue {venue!r}")
        if filled_quantity <= 0 or fill_price <= 0:
            raise ValueError(f"an outcome needs a positive price and quantity, got {fill_price} x {filled_quantity}")
        slippage = _bps(decision.side.sign * (fill_price - allocation.expected_price), allocation.expected_price)
        outcome = RoutingOutcome(decision_id, venue, fill_price, filled_quantity, allocation.expected_price,
                                 slippage, ts_ns - decision.ts_ns, ts_ns)
        self._outcomes.setdefault(decision_id, []).append(outcome)
        return outcome

    def decisions_table(self) -> list[dict[str, str | int | Decimal | None]]:
        """One row per allocation of every decision, with its outcome aggregated (VWAP, total filled,
        last fill time) or ``None`` in the outcome columns while nothing has filled."""
        rows: list[dict[str, str | int | Decimal | None]] = []
        for decision in self._decisions.values():
            reasoning = decision.reasoning
            skipped = "; ".join(f"{v}: {why}" for v, why in reasoning.skipped.items())
            for allocation in decision.allocations:
                fills = [o for o in self._outcomes.get(decision.decision_id, ()) if o.venue == allocation.venue]
                row: dict[str, str | int | Decimal | None] = {
                    "decision_id": decision.decision_id, "ts_ns": decision.ts_ns, "instrument": decision.instrument,
                    "side": decision.side.value, "order_type": decision.order_type.value,
                    "quantity": decision.quantity, "limit_price": decision.limit_price,
                    "criteria": decision.criteria.value, "split": int(decision.is_split),
                    "venue": allocation.venue, "symbol": allocation.symbol,
                    "allocated_quantity": allocation.quantity, "expected_price": allocation.expected_price,
                    "expected_fee": allocation.expected_fee, "alternatives": ",".join(decision.alternatives),
                    "skipped": skipped, "reasoning": reasoning.to_json(),
                    "fill_price": None, "filled_quantity": None, "slippage_bps": None, "time_to_fill_ns": None,
                }
                if fills:
                    filled = sum((o.filled_quantity for o in fills), _ZERO)
                    vwap = (sum((o.fill_price * o.filled_quantity for o in fills), _ZERO) / filled).quantize(
                        _PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)
                    row["fill_price"] = vwap
                    row["filled_quantity"] = filled
                    row["slippage_bps"] = _bps(decision.side.sign * (vwap - allocation.expected_price),
                                               allocation.expected_price)
                    row["time_to_fill_ns"] = max(o.time_to_fill_ns for o in fills)
                rows.append(row)
        return rows


# --------------------------------------------------------------------------- helpers


def _check_quantity(quantity: Decimal, limit_price: Decimal | None) -> None:
    if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity <= 0:
        raise RoutingError(f"quantity must be a positive Decimal, got {quantity!r}", code="quantity")
    try:
        to_fixed(quantity)
    except MoneyError as exc:
        raise RoutingError(f"quantity {quantity}: {exc}", code="quantity") from None
    if limit_price is not None and (not isinstance(limit_price, Decimal) or not limit_price.is_finite()
                                    or limit_price <= 0):
        raise RoutingError(f"limit_price must be a positive Decimal, got {limit_price!r}", code="limit_price")


def _lot_units(rules: SymbolInfo) -> int:
    return max(1, to_fixed(rules.lot_size)) if rules.lot_size > 0 else 1


def _rule_price(assessment: VenueAssessment, limit_price: Decimal | None) -> Decimal | None:
    """The price a venue checks notional filters against: the limit price, else the expected average."""
    return limit_price if limit_price is not None else assessment.estimated_price


def _skip(assessment: VenueAssessment, reason: str) -> VenueAssessment:
    return _replace(assessment, skip_reason=reason)


def _replace(assessment: VenueAssessment, **changes: Any) -> VenueAssessment:
    return dataclasses.replace(assessment, **changes)


def _with_book(assessment: VenueAssessment, book: BookSnapshot) -> VenueAssessment:
    bid = from_fixed(book.bids[0].price) if book.bids else None
    ask = from_fixed(book.asks[0].price) if book.asks else None
    spread = spread_bps = None
    if bid is not None and ask is not None:
        spread = ask - bid
        spread_bps = _bps(spread, (ask + bid) / 2)
    return _replace(assessment, best_bid=bid, best_ask=ask, spread=spread, spread_bps=spread_bps,
                    bid_depth=from_fixed(sum(lv.size for lv in book.bids)),
                    ask_depth=from_fixed(sum(lv.size for lv in book.asks)))


def _with_fees(assessment: VenueAssessment, info: VenueInfo) -> VenueAssessment:
    return _replace(assessment, maker_fee_rate=info.fees.maker, taker_fee_rate=info.fees.taker)


def _with_estimate(assessment: VenueAssessment, execution: _Execution, side: Side) -> VenueAssessment:
    total = execution.gross + execution.fee if side is Side.BUY else execution.gross - execution.fee
    return _replace(assessment, band_depth=execution.fill.band_depth, levels_used=execution.fill.levels_used,
                    estimated_price=execution.price, estimated_notional=execution.gross,
                    slippage_bps=execution.fill.slippage_bps, estimated_fee=execution.fee, estimated_total=total,
                    shortfall=execution.shortfall)

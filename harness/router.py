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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from harness.clock import Clock
from harness.model import BookLevel, BookSnapshot, OrderType, Side, SymbolInfo, VenueInfo, VenueStatus
from harness.money import MoneyError, from_fixed, to_fixed
from harness.routing import (
    PRICE_QUANTUM,
    ZERO,
    Allocation,
    FillEstimate,
    RouterConfig,
    RouterConfigError,
    RoutingCriteria,
    RoutingDecision,
    RoutingError,
    RoutingOutcome,
    RoutingReasoning,
    VenueAssessment,
    bps,
    estimate_fill,
    price_band,
    size_violation,
)

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
              limit_price: Decimal | None = None, symbols: Mapping[str, str] | None = None) -> RoutingDecision:
        """Decide where ``quantity`` of ``instrument`` goes; raise ``RoutingError`` if nowhere.

        ``books``/``infos`` are keyed by venue name (books for the venue's own symbol);
        ``symbols`` names each venue's symbol for the instrument when the caller knows it (the
        engine does, from the venues' infos), else ``RouterConfig.symbols`` is used;
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
            symbol = symbols[venue] if symbols is not None and venue in symbols else cfg.venue_symbol(instrument, venue)
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
        shortfall = ZERO
        if rest:
            if limit_price is not None:
                gross += rest * limit_price
                fee += rest * limit_price * fees.maker
            else:
                shortfall = rest
                worst = fill.worst_price if fill.worst_price is not None else ZERO
                gross += rest * worst
                fee += rest * worst * fees.taker
        price = (gross / quantity).quantize(PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)
        return _Execution(fill, gross, fee, price, shortfall)

    def _rank_key(self, candidate: _Candidate, side: Side) -> tuple[object, ...]:
        """Sort key of an eligible venue under the configured criterion (smaller is better)."""
        a = candidate.assessment
        sign = side.sign
        total = sign * (a.estimated_total or ZERO)
        gross = sign * (a.estimated_notional or ZERO)
        fee = a.estimated_fee or ZERO
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
        slippage = bps(decision.side.sign * (fill_price - allocation.expected_price), allocation.expected_price)
        outcome = RoutingOutcome(decision_id, venue, fill_price, filled_quantity, allocation.expected_price,
                                 slippage, ts_ns - decision.ts_ns, ts_ns)
        self._outcomes.setdefault(decision_id, []).append(outcome)
        return outcome

    def decisions_table(self, decision_id: str | None = None) -> list[dict[str, str | int | Decimal | None]]:
        """One row per allocation of every decision (or of ``decision_id`` only), with its outcome
        aggregated (VWAP, total filled, last fill time) or ``None`` in the outcome columns while
        nothing has filled."""
        rows: list[dict[str, str | int | Decimal | None]] = []
        chosen = self._decisions.values() if decision_id is None else [self._decisions[decision_id]]
        for decision in chosen:
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
                    filled = sum((o.filled_quantity for o in fills), ZERO)
                    vwap = (sum((o.fill_price * o.filled_quantity for o in fills), ZERO) / filled).quantize(
                        PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)
                    row["fill_price"] = vwap
                    row["filled_quantity"] = filled
                    row["slippage_bps"] = bps(decision.side.sign * (vwap - allocation.expected_price),
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
        spread_bps = bps(spread, (ask + bid) / 2)
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

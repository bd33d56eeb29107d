"""Invariants checked after every scenario run, against the simulated venue's own records: the venue is the truth.

``RunFacts`` gathers what a run left behind: each venue's records (every order it accepted, its
fills, positions, balances, its request log), our journal (fills, intents, the audit trail), the
engine's final orders and positions, the stuck orders it flagged, and the client's book checks.
Each invariant is a pure function of those facts returning an ``InvariantResult`` with the
virtual time of its first violation:

* ``unique_idempotency_keys``: no two venue orders for one client order id;
* ``no_lost_orders``: every order the venue accepted is one we journaled (none unknown to us);
* ``fills_exactly_once``: every venue fill is in our journal exactly once, and nothing else is;
* ``positions_match``: after the final reconciliation our positions (quantity and average
  entry) equal the venue's;
* ``balances_match``: starting balances plus our journaled fills (cost, fees) equal the venue's
  balances, asset by asset;
* ``orders_resolved``: every order of ours is terminal, or flagged stuck with a reason; an order
  the engine knows was never placed (its intent FAILED) must not be left open either;
* ``order_states_match``: every venue order we know ended in the state we think (and filled
  as much), unless flagged stuck;
* ``rate_limits_respected``: the venue refused none of our requests for rate limits (429/418),
  unless the scenario injected a ``rate_limit`` fault;
* ``requests_audited``: every request the venue received has an audit record (matched per venue
  and method, each record at or after the venue saw the request);
* ``book_matches_after_resync``: after each resync, the first time the client's book and the
  venue's stand at the same update id, their top levels are equal (and again at the end of the run).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from harness.audit import AuditRecord
from harness.model import Fill, OrderStatus, Side
from harness.positions import PositionState, apply_fill
from sim.venue.accounts import on_grid
from sim.venue.desk import VenueRequest
from sim.venue.futures_venue import FuturesVenue
from sim.venue.venue import SimVenue

__all__ = [
    "INVARIANTS",
    "BookCheck",
    "InvariantResult",
    "OurOrder",
    "RunFacts",
    "balances_match",
    "book_matches_after_resync",
    "check_invariants",
    "fills_exactly_once",
    "no_lost_orders",
    "order_states_match",
    "orders_resolved",
    "perpetual_account",
    "positions_match",
    "rate_limits_respected",
    "requests_audited",
    "unique_idempotency_keys",
]

_RATE_LIMIT_STATUSES = frozenset({429, 418})


@dataclass(frozen=True, slots=True)
class InvariantResult:
    """One invariant's verdict: the row of ``scorecard.parquet`` (``first_violation_ns`` None when it held)."""

    invariant: str
    passed: bool
    first_violation_ns: int | None
    detail: str


@dataclass(frozen=True, slots=True)
class OurOrder:
    """Our final view of one order: status, filled quantity, and why it is stuck (if flagged)."""

    venue: str
    client_order_id: str
    status: OrderStatus
    filled: Decimal
    stuck_reason: str = ""


@dataclass(frozen=True, slots=True)
class BookCheck:
    """The client's book compared with the venue's at one update id, after a resync."""

    ts_ns: int
    venue: str
    symbol: str
    update_id: int
    equal: bool
    detail: str = ""


@dataclass
class RunFacts:
    """Everything the invariants look at, gathered once at the end of a run (see the module docstring).

    ``known_client_ids`` are every client order id our journal holds (intents, orders);
    ``positions`` our final (quantity, average entry) per (venue, symbol); ``injected`` the fault
    kinds of the scenario; ``unaudited_ok`` windows ``(start, end)`` in which a request the venue
    saw may lack an audit record (the moments a crashed process died with it in flight).
    """

    venues: Mapping[str, SimVenue]
    requests: Mapping[str, Sequence[VenueRequest]]
    start_balances: Mapping[str, Mapping[str, Decimal]]
    journal_fills: Sequence[Fill]
    audit: Sequence[AuditRecord]
    orders: Sequence[OurOrder]
    known_client_ids: set[str]
    positions: Mapping[tuple[str, str], tuple[Decimal, Decimal]]
    end_ns: int
    injected: set[str] = field(default_factory=set)
    failed_intents: set[str] = field(default_factory=set)
    """Client order ids whose journaled intent is FAILED: the engine knows they were not placed."""
    book_checks: Sequence[BookCheck] = ()
    resyncs: int = 0
    unaudited_ok: Sequence[tuple[int, int]] = ()


def _result(name: str, problems: list[tuple[int, str]], ok: str) -> InvariantResult:
    if not problems:
        return InvariantResult(name, True, None, ok)
    problems.sort()
    shown = "; ".join(text for _, text in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return InvariantResult(name, False, problems[0][0], f"{len(problems)} violation(s): {shown}{more}")


def unique_idempotency_keys(facts: RunFacts) -> InvariantResult:
    """No two venue orders share a client order id."""
    problems: list[tuple[int, str]] = []
    total = 0
    for name, venue in facts.venues.items():
        seen: dict[str, int] = {}
        for order in venue.accepted:
            total += 1
            coid = order.request.client_order_id
            if coid in seen:
                problems.append((order.created_ns, f"{name} {coid}: a second venue order (first at {seen[coid]})"))
            else:
                seen[coid] = order.created_ns
    return _result("unique_idempotency_keys", problems, f"{total} venue orders, every client order id once")


def no_lost_orders(facts: RunFacts) -> InvariantResult:
    """Every order the venue accepted is one of ours (journaled), so none is lost or orphaned."""
    problems = [(o.created_ns, f"{name} {o.request.client_order_id}: at the venue, unknown to our journal")
                for name, venue in facts.venues.items() for o in venue.accepted
                if o.request.client_order_id not in facts.known_client_ids]
    total = sum(len(v.accepted) for v in facts.venues.values())
    return _result("no_lost_orders", problems, f"all {total} venue orders are in our journal")


def fills_exactly_once(facts: RunFacts) -> InvariantResult:
    """Every venue fill is in our journal exactly once, and the journal holds no other fill."""
    ours: dict[tuple[str, str], int] = defaultdict(int)
    for fill in facts.journal_fills:
        ours[(fill.venue, fill.execution_id)] += 1
    problems: list[tuple[int, str]] = []
    venue_keys: set[tuple[str, str]] = set()
    for name, venue in facts.venues.items():
        for fill in venue.fills:
            key = (name, fill.execution_id)
            venue_keys.add(key)
            count = ours.get(key, 0)
            if count != 1:
                problems.append((fill.ts_ns, f"{name} fill {fill.execution_id} ({fill.client_order_id}) "
                                             f"journaled {count} times"))
    for fill in facts.journal_fills:
        if (fill.venue, fill.execution_id) not in venue_keys:
            problems.append((fill.ts_ns, f"{fill.venue} fill {fill.execution_id}: journaled, unknown to the venue"))
    return _result("fills_exactly_once", problems, f"{len(venue_keys)} venue fills, each journaled once")


def positions_match(facts: RunFacts) -> InvariantResult:
    """Our final positions equal the venue's (quantity, and average entry while not flat)."""
    venue_side: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    for name, venue in facts.venues.items():
        for symbol, state in venue.positions.items():
            if state.quantity != 0:
                venue_side[(name, symbol)] = (state.quantity, state.average_price)
    ours = {k: v for k, v in facts.positions.items() if v[0] != 0}
    problems = []
    for key in sorted(set(venue_side) | set(ours)):
        theirs = venue_side.get(key, (Decimal(0), Decimal(0)))
        mine = ours.get(key, (Decimal(0), Decimal(0)))
        if theirs != mine:
            problems.append((facts.end_ns, f"{key[0]} {key[1]}: ours {mine[0]} @ {mine[1]}, venue {theirs[0]} @ "
                                           f"{theirs[1]}"))
    return _result("positions_match", problems, f"{len(venue_side)} open position(s) agree")


def _fill_effects(fill: Fill, base: str, quote: str) -> dict[str, Decimal]:
    """What one fill does to an account, as the venue books it (cost rounded half-even onto 1e-9)."""
    cost = on_grid(fill.price * fill.quantity)
    fee_base = fill.fee if fill.fee_asset == base else Decimal(0)
    fee_quote = fill.fee if fill.fee_asset == quote else Decimal(0)
    if fill.side is Side.BUY:
        return {base: fill.quantity - fee_base, quote: -(cost + fee_quote)}
    return {base: -(fill.quantity + fee_base), quote: cost - fee_quote}


def _venue_order(fill: Fill) -> tuple[int, int]:
    """Fills in the order the venue made them: time, then the venue's execution number."""
    number = fill.execution_id.rsplit("-", 1)[-1]
    return fill.ts_ns, int(number) if number.isdigit() else 0


def perpetual_account(venue: FuturesVenue, start: Mapping[str, Decimal], fills: Iterable[Fill]) -> dict[str, Decimal]:
    """A perpetual venue's account as our fills make it: the settle asset gains each fill's
    realized PnL (on the grid, as the venue pays it) less its fee, plus the venue's funding
    settlements; every other asset stays as it started."""
    account = dict(start)
    settle = venue.settle_asset
    wallet = account.get(settle, Decimal(0))
    states: dict[str, PositionState] = {}
    for fill in sorted((f for f in fills if f.venue == venue.name and f.symbol in venue.profile.symbols),
                       key=_venue_order):
        before = states.get(fill.symbol, PositionState())
        after, _ = apply_fill(before, fill.quantity * fill.side.sign, fill.price)
        states[fill.symbol] = after
        wallet += on_grid(after.realized_pnl - before.realized_pnl) - fill.fee
    account[settle] = wallet + sum((p.amount for p in venue.funding_payments), Decimal(0))
    return account


def balances_match(facts: RunFacts) -> InvariantResult:
    """Starting balances plus the effect of our journaled fills equal the venue's balances."""
    expected: dict[str, dict[str, Decimal]] = {v: dict(b) for v, b in facts.start_balances.items()}
    for name, perpetual in facts.venues.items():
        if isinstance(perpetual, FuturesVenue):
            expected[name] = perpetual_account(perpetual, expected.get(name, {}), facts.journal_fills)
    for fill in facts.journal_fills:
        venue = facts.venues.get(fill.venue)
        if venue is None or fill.symbol not in venue.profile.symbols or isinstance(venue, FuturesVenue):
            continue
        rules = venue.profile.symbols[fill.symbol]
        account = expected.setdefault(fill.venue, {})
        for asset, change in _fill_effects(fill, rules.base_asset, rules.quote_asset).items():
            account[asset] = account.get(asset, Decimal(0)) + change
    problems = []
    for name, venue in facts.venues.items():
        actual = {asset: b.total for asset, b in venue.balances().items()}
        mine = expected.get(name, {})
        for asset in sorted(set(actual) | set(mine)):
            if actual.get(asset, Decimal(0)) != mine.get(asset, Decimal(0)):
                problems.append((facts.end_ns, f"{name} {asset}: expected {mine.get(asset, 0)}, venue "
                                               f"{actual.get(asset, 0)}"))
    return _result("balances_match", problems, "every asset of every venue agrees with our fills")


def orders_resolved(facts: RunFacts) -> InvariantResult:
    """Every order of ours is terminal, or flagged stuck with a reason (never one known not to be placed)."""
    problems = [(facts.end_ns, f"{o.venue} {o.client_order_id}: {o.status.value}, not flagged")
                for o in facts.orders if not o.status.is_terminal and not o.stuck_reason]
    problems += [(facts.end_ns, f"{o.venue} {o.client_order_id}: never placed (intent FAILED), left {o.status.value}")
                 for o in facts.orders if not o.status.is_terminal and o.stuck_reason
                 and o.client_order_id in facts.failed_intents]
    stuck = [o for o in facts.orders if not o.status.is_terminal and o.stuck_reason]
    note = f"; {len(stuck)} flagged stuck: " + ", ".join(f"{o.client_order_id} ({o.stuck_reason})"
                                                          for o in stuck[:3]) if stuck else ""
    return _result("orders_resolved", problems, f"{len(facts.orders)} orders terminal or flagged{note}")


def order_states_match(facts: RunFacts) -> InvariantResult:
    """Every venue order we know ended as we think it did (status and filled quantity), unless flagged stuck."""
    ours = {(o.venue, o.client_order_id): o for o in facts.orders}
    problems = []
    checked = 0
    for name, venue in facts.venues.items():
        for coid, order in venue.orders.items():
            mine = ours.get((name, coid))
            if mine is None or mine.stuck_reason:
                continue
            checked += 1
            if mine.status is not order.status or mine.filled != order.filled:
                problems.append((facts.end_ns, f"{name} {coid}: ours {mine.status.value} {mine.filled}, venue "
                                               f"{order.status.value} {order.filled}"))
    return _result("order_states_match", problems, f"{checked} orders agree with the venue")


def rate_limits_respected(facts: RunFacts) -> InvariantResult:
    """The venue refused none of our requests for rate limits, unless the scenario injected a rate limit."""
    refused = [(r.ts_ns, f"{name} {r.method}: {r.http_status} ({r.outcome})")
               for name, log in facts.requests.items() for r in log if r.http_status in _RATE_LIMIT_STATUSES]
    if "rate_limit" in facts.injected:
        return InvariantResult("rate_limits_respected", True, None,
                               f"{len(refused)} refusal(s), allowed: the scenario injected other traffic")
    return _result("rate_limits_respected", refused, "no request of ours was refused for rate limits")


def requests_audited(facts: RunFacts) -> InvariantResult:
    """Each request the venue received is matched to an audit record of its method at or after it."""
    problems: list[tuple[int, str]] = []
    results: dict[tuple[str, str], list[int]] = defaultdict(list)
    for record in facts.audit:
        if record.phase == "result":
            results[(record.venue, record.method)].append(record.ts_ns)
    total = 0
    for name, log in facts.requests.items():
        by_method: dict[str, list[int]] = defaultdict(list)
        for request in log:
            by_method[request.method].append(request.ts_ns)
        for method, times in by_method.items():
            audits = sorted(results.get((name, method), []))
            total += len(times)
            cursor = 0
            for ts in sorted(times):
                if any(start <= ts <= end for start, end in facts.unaudited_ok):
                    continue  # in flight when a process was killed: its result died with it
                while cursor < len(audits) and audits[cursor] < ts:
                    cursor += 1
                if cursor < len(audits):
                    cursor += 1
                else:
                    problems.append((ts, f"{name} {method} at {ts}: no audit record"))
    return _result("requests_audited", problems, f"{total} venue requests, each with an audit record")


def book_matches_after_resync(facts: RunFacts) -> InvariantResult:
    """After every resync the client's book equals the venue's at the same update id."""
    problems = [(c.ts_ns, f"{c.venue} {c.symbol} at {c.update_id}: {c.detail}") for c in facts.book_checks
                if not c.equal]
    note = f"{len(facts.book_checks)} check(s) after {facts.resyncs} resync(s)"
    return _result("book_matches_after_resync", problems, note + ", all equal")


INVARIANTS: Mapping[str, Callable[[RunFacts], InvariantResult]] = {
    "unique_idempotency_keys": unique_idempotency_keys,
    "no_lost_orders": no_lost_orders,
    "fills_exactly_once": fills_exactly_once,
    "positions_match": positions_match,
    "balances_match": balances_match,
    "orders_resolved": orders_resolved,
    "order_states_match": order_states_match,
    "rate_limits_respected": rate_limits_respected,
    "requests_audited": requests_audited,
    "book_matches_after_resync": book_matches_after_resync,
}
"""Every invariant by name, in the order the scorecard shows them."""


def check_invariants(facts: RunFacts, names: Iterable[str] | None = None) -> list[InvariantResult]:
    """The verdicts of ``names`` (default: all) on ``facts``."""
    return [INVARIANTS[name](facts) for name in (names if names is not None else INVARIANTS)]

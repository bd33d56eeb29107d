"""Each invariant holds on faithful records and catches the violation it names, with the time of the first one.

The venue side is a real simulated venue (a hand-driven world); our side (journal fills, orders,
positions, audit) is written here, correct first and then broken one way per test.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from harness.audit import AuditRecord
from harness.model import OrderRequest, OrderStatus, OrderType, Side
from scenarios.invariants import INVARIANTS, BookCheck, OurOrder, RunFacts, check_invariants
from scenarios.world import SimWorld

V, S = "binance", "BTCUSDT"


@pytest.fixture
def facts() -> RunFacts:
    """A venue that filled one market buy and holds one resting sell; our records agree with it."""
    with SimWorld([V], seed=1) as w:
        w.quote(V, S, bid="60000", ask="60001")
        venue = w.venues[V]
        start = {asset: b.total for asset, b in venue.balances().items()}
        adapter = w.adapters[V]
        w.run(adapter.submit_order(OrderRequest("b1", V, S, Side.BUY, OrderType.MARKET, Decimal("0.01"))))
        w.run(adapter.submit_order(OrderRequest("s1", V, S, Side.SELL, OrderType.LIMIT, Decimal("0.02"),
                                                price=Decimal("61000"))))
        end = w.now_ns()
    fills = list(venue.fills)
    audit = [AuditRecord(r.ts_ns + 1, V, r.method, "result", {}, method=r.method, success=True)
             for r in adapter.desk.log]
    orders = [OurOrder(V, "b1", OrderStatus.FILLED, Decimal("0.01")), OurOrder(V, "s1", OrderStatus.OPEN, Decimal(0),
                                                                                "OPEN: quiet since the last report")]
    state = venue.positions[S]
    return RunFacts(venues={V: venue}, requests={V: list(adapter.desk.log)}, start_balances={V: start},
                    journal_fills=fills, audit=audit, orders=orders, known_client_ids={"b1", "s1"},
                    positions={(V, S): (state.quantity, state.average_price)}, end_ns=end)


def failing(facts: RunFacts) -> dict[str, int | None]:
    return {r.invariant: r.first_violation_ns for r in check_invariants(facts) if not r.passed}


def test_faithful_records_pass_every_invariant(facts: RunFacts) -> None:
    assert failing(facts) == {}
    assert len(check_invariants(facts)) == len(INVARIANTS) == 10


def test_a_second_venue_order_for_one_key_is_caught(facts: RunFacts) -> None:
    venue = facts.venues[V]
    venue.accepted.append(replace(venue.accepted[0], created_ns=venue.accepted[0].created_ns + 7))
    assert failing(facts) == {"unique_idempotency_keys": venue.accepted[0].created_ns + 7}


def test_a_venue_order_we_never_journaled_is_lost(facts: RunFacts) -> None:
    facts.known_client_ids.discard("s1")
    assert "no_lost_orders" in failing(facts)


def test_a_missing_or_foreign_fill_breaks_exactly_once_and_the_balances(facts: RunFacts) -> None:
    fill = facts.journal_fills[0]
    lacking = replace(facts, journal_fills=[])
    assert failing(lacking) == {"fills_exactly_once": fill.ts_ns, "balances_match": facts.end_ns}
    foreign = replace(facts, journal_fills=[*facts.journal_fills, replace(fill, execution_id="x-9")])
    assert set(failing(foreign)) == {"fills_exactly_once", "balances_match"}


def test_positions_must_match_in_quantity_and_average(facts: RunFacts) -> None:
    qty, avg = facts.positions[(V, S)]
    assert failing(replace(facts, positions={(V, S): (qty, avg + 1)})) == {"positions_match": facts.end_ns}
    assert failing(replace(facts, positions={})) == {"positions_match": facts.end_ns}


def test_an_open_order_must_be_flagged_and_agree_with_the_venue(facts: RunFacts) -> None:
    unflagged = [facts.orders[0], replace(facts.orders[1], stuck_reason="")]
    assert failing(replace(facts, orders=unflagged)) == {"orders_resolved": facts.end_ns}
    abandoned = replace(facts, failed_intents={"s1"})  # known not to be placed, yet left open
    assert failing(abandoned) == {"orders_resolved": facts.end_ns}
    wrong = [replace(facts.orders[0], status=OrderStatus.CANCELLED), facts.orders[1]]
    assert failing(replace(facts, orders=wrong)) == {"order_states_match": facts.end_ns}


def test_rate_limit_refusals_fail_unless_injected(facts: RunFacts) -> None:
    refused = replace(facts.requests[V][0], outcome="-1003", http_status=429)
    limited = replace(facts, requests={V: [*facts.requests[V], refused]})
    found = failing(limited)
    assert found["rate_limits_respected"] == refused.ts_ns and set(found) == {"rate_limits_respected",
                                                                              "requests_audited"}
    injected = replace(limited, injected={"rate_limit"}, audit=[*facts.audit, replace(facts.audit[0], ts_ns=10**19)])
    assert failing(injected) == {}


def test_a_request_without_an_audit_record_is_caught_unless_lost_with_a_crash(facts: RunFacts) -> None:
    last = facts.requests[V][-1]
    unaudited = replace(facts, audit=facts.audit[:-1])
    assert failing(unaudited) == {"requests_audited": last.ts_ns}
    assert failing(replace(unaudited, unaudited_ok=[(last.ts_ns, last.ts_ns)])) == {}


def test_a_book_that_differs_after_a_resync_is_caught(facts: RunFacts) -> None:
    checks = [BookCheck(5, V, S, 10, True), BookCheck(9, V, S, 12, False, "bids differ")]
    result = {r.invariant: r for r in check_invariants(replace(facts, book_checks=checks, resyncs=2))}
    assert not result["book_matches_after_resync"].passed
    assert result["book_matches_after_resync"].first_violation_ns == 9
    assert "bids differ" in result["book_matches_after_resync"].detail

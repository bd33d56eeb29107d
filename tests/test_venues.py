"""Venue descriptors: strict loading, agreement with the simulated venues' profiles, mirrored limits."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from harness.clock import NS_PER_SECOND
from harness.contract import RateLimitStatus
from harness.contract_methods import REQUEST_NAMES
from harness.ratelimit import ClientRateLimiter, LimitCategory
from harness.venues import (
    DescriptorError,
    descriptor_for,
    limits_from_status,
    parse_descriptor,
    shipped_descriptors,
    unknown_descriptor,
)
from harness.venues.mirror import FALLBACK_RULE
from scenarios.world import SimWorld
from sim.kernel.runtime import SimRuntime
from sim.venue.profile import available_profiles, load_profile

S = NS_PER_SECOND
MINIMAL = '''[venue]
name = "mini"

[hosts]
production = ["api.mini.example"]
sandbox = ["sandbox.mini.example"]

[endpoints]
submit_order = "POST /orders"

[[limits.rules]]
name = "R"
category = "QUERIES"
limit = 10
window_s = 1

[limits.default]
QUERIES = 1
'''


def test_every_shipped_profile_has_a_descriptor_of_the_same_name() -> None:
    assert sorted(shipped_descriptors()) == available_profiles()
    for name, descriptor in shipped_descriptors().items():
        assert descriptor.name == name and descriptor.display_name
        assert set(descriptor.endpoints) <= REQUEST_NAMES


@pytest.mark.parametrize("name", sorted(shipped_descriptors()))
def test_descriptor_and_profile_agree_where_both_say(name: str) -> None:
    """Weights, which requests count as orders, and limit sizes: the client side and the simulated venue agree."""
    descriptor = descriptor_for(name)
    assert descriptor is not None
    limits = load_profile(name).rate_limits
    if not descriptor.limits_known:
        assert descriptor.costs == ()  # the engine mirrors the venue's reported limits instead
        return
    categories = {rule.category for rule in descriptor.rules}
    compared = 0
    for request in sorted(REQUEST_NAMES):
        cost = descriptor.cost_of(request)
        if "WEIGHT" in cost:
            assert cost["WEIGHT"] == limits.weight_of(request), request
            compared += 1
    if LimitCategory.WEIGHT in categories:
        assert compared > 0
        assert all(descriptor.cost_of(r).get("WEIGHT") == w for r, w in limits.weights.items())
    if LimitCategory.ORDERS in categories:
        ours = {r for r in REQUEST_NAMES if "ORDERS" in descriptor.cost_of(r)}
        assert ours == limits.order_requests
    venue_rules = {rule.name: rule for rule in limits.rules}
    for rule in descriptor.rules:
        theirs = venue_rules.get(rule.name)
        if theirs is None:
            continue
        assert rule.limit == theirs.limit, rule.name
        if theirs.kind == "fixed_window":
            assert rule.window_ns == theirs.interval_s * S, rule.name
        else:  # a decaying counter is bounded by a window no shorter than its drain time
            assert Fraction(rule.window_ns, S) >= Fraction(theirs.limit) / Fraction(theirs.refill_per_s), rule.name


@pytest.mark.parametrize("name", sorted(shipped_descriptors()))
def test_the_engine_gets_usable_limits_for_every_venue(name: str) -> None:
    """Every venue's client-side limits build a limiter: the descriptor's, or its reported ones mirrored."""
    with SimWorld([name], seed=1) as world:
        adapter = world.adapters[name]
        assert adapter.descriptor is descriptor_for(name)
        status = world.run(adapter.get_rate_limit_status())
        descriptor = adapter.descriptor
        rules, costs = ((descriptor.rules, descriptor.costs) if descriptor.limits_known
                        else limits_from_status(status))
        limiter = ClientRateLimiter(name, rules, costs, world.runtime.clock)
        for request in sorted(REQUEST_NAMES):
            assert limiter.cost_of(request)


def test_labels_fall_back_to_the_request_name() -> None:
    binance = descriptor_for("binance")
    assert binance is not None and binance.endpoint("submit_order") == "POST /api/v3/order"
    assert binance.endpoint("set_leverage") == "set_leverage"
    assert descriptor_for("nowhere") is None
    unknown = unknown_descriptor("nowhere")
    assert unknown.endpoint("get_order") == "get_order" and not unknown.limits_known
    assert unknown.hosts.production == unknown.hosts.sandbox == frozenset()


def test_a_minimal_descriptor_parses() -> None:
    mini = parse_descriptor(MINIMAL, source="mini.toml")
    assert mini.hosts.sandbox == {"sandbox.mini.example"} and mini.endpoint("submit_order") == "POST /orders"
    assert [r.name for r in mini.rules] == ["R"] and mini.cost_of("get_order") == {"QUERIES": 1}


@pytest.mark.parametrize(("change", "key", "line", "fragment"), [
    (('submit_order = "POST /orders"', 'submit_ordr = "POST /orders"'), "endpoints.submit_ordr", 9,
     "unknown request"),
    (("limit = 10", "limit = 10\nburst = 3"), "limits.rules[0].burst", 15, "unknown key"),
    (("QUERIES = 1", "QUERIES = 1.0"), "limits.default.QUERIES", 18, "TOML float"),
    (('sandbox = ["sandbox.mini.example"]', 'sandbox = ["api.mini.example"]'), "hosts.sandbox", 6,
     "production and sandbox"),
    (('production = ["api.mini.example"]', 'production = ["https://api.mini.example"]'), "hosts.production", 5,
     "bare host"),
    (("[limits.default]\nQUERIES = 1", "[limits.default]\nORDERS = 1"), "", None, "ORDERS, which has no rule"),
])
def test_bad_descriptors_are_refused_naming_key_and_line(change: tuple[str, str], key: str, line: int | None,
                                                         fragment: str) -> None:
    text = MINIMAL.replace(*change)
    assert text != MINIMAL
    if key:
        with pytest.raises(DescriptorError) as info:
            parse_descriptor(text, source="mini.toml")
        assert (info.value.key, info.value.line) == (key, line)
        assert fragment in str(info.value) and str(info.value).startswith(f"mini.toml:{line}: {key}: ")
        return
    descriptor = parse_descriptor(text, source="mini.toml")  # well-formed, but inconsistent as limits:
    with SimRuntime() as runtime, pytest.raises(ValueError, match=fragment):
        ClientRateLimiter("mini", descriptor.rules, descriptor.costs, runtime.clock)


def test_mirrored_limits_are_never_looser_and_always_usable() -> None:
    status = RateLimitStatus("v", {"ORDERS": (0, 1, 1), "REQUESTS": (0, 5, 1), "BUCKET": (0, 15, 0),
                                   "PLACE_ORDER": (0, 60, 2)})
    rules, costs = limits_from_status(status)
    by_name = {rule.name: rule for rule in rules}
    assert (by_name["ORDERS"].limit, by_name["ORDERS"].window_ns) == (2, 2 * S)  # 1 per 1 s -> 2 per 2 s
    assert (by_name["PLACE_ORDER"].limit, by_name["PLACE_ORDER"].window_ns) == (60, 2 * S)  # untouched
    assert "BUCKET" not in by_name  # windowless: left to the venue's 429 handling
    by_request = {cost.request: dict(cost.amounts) for cost in costs}
    assert by_request["submit_order"] == by_request["modify_order"] == {LimitCategory.ORDERS: 1,
                                                                          LimitCategory.QUERIES: 1}
    assert by_request["*"] == {LimitCategory.QUERIES: 1}
    with SimRuntime() as runtime:
        ClientRateLimiter("v", rules, costs, runtime.clock)
        strict = limits_from_status(RateLimitStatus("v", {"ORDERS": (0, 1, 1)}), warning_threshold=Decimal("0.5"))
        assert {r.name: r.limit for r in strict[0]} == {"ORDERS": 2, "DEFAULT": 10}
        ClientRateLimiter("v", *strict, runtime.clock, warning_threshold=Decimal("0.5"))
    nothing = limits_from_status(RateLimitStatus("v", {"BUCKET": (0, 15, 0)}))
    assert nothing[0] == (FALLBACK_RULE,) and [c.request for c in nothing[1]] == ["*"]  # no ORDERS rule, no cost

"""Client-side limits mirroring what a venue reports, for venues whose descriptor has no limits.

``limits_from_status`` turns a ``RateLimitStatus`` (``name -> (used, limit, window_s)``) into
rules and costs a ``ClientRateLimiter`` accepts for every valid report, so the engine can start
on any venue: the limits are exactly the venue's, never looser, and every request name costs
only categories that have a rule.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from harness.clock import NS_PER_SECOND
from harness.contract import RateLimitStatus
from harness.contract_methods import CONTRACT_METHODS
from harness.ratelimit import DEFAULT_REQUEST, ClientRateLimiter, LimitCategory, LimitRule, RequestCost

__all__ = ["FALLBACK_RULE", "limits_from_status"]

FALLBACK_RULE = LimitRule(LimitCategory.QUERIES, 10, NS_PER_SECOND, "DEFAULT")
"""The rule used when a venue reports no limit with a window (10 requests per second)."""

_ORDER_REQUESTS = tuple(m.name for m in CONTRACT_METHODS.values() if m.places_order)


def _usable(name: str, category: LimitCategory, limit: int, window_s: int, share: Decimal) -> LimitRule:
    """The rule for ``limit`` per ``window_s``, widened when ordinary requests would get none of it.

    With ``share`` 0.8 a limit of 1 per second leaves ordinary requests floor(0.8) = 0; it becomes
    2 per 2 seconds instead, which lets one request through per 2 s: never more than the venue's
    1 per second in any of its windows, and still usable.
    """
    scale = 1
    if (limit * share).to_integral_value(rounding=ROUND_FLOOR) < 1:
        scale = int((1 / (limit * share)).to_integral_value(rounding=ROUND_CEILING))
    return LimitRule(category, limit * scale, window_s * scale * NS_PER_SECOND, name)


def limits_from_status(status: RateLimitStatus, *, warning_threshold: Decimal = Decimal("0.8"),
                       critical_reserve: Decimal = Decimal("0.1")) -> tuple[tuple[LimitRule, ...],
                                                                              tuple[RequestCost, ...]]:
    """Rules and costs mirroring ``status``, for a limiter built with the same threshold and reserve.

    Each reported rule becomes a rule of ORDERS (names that mention orders, counted by the
    requests that place orders: ``submit_order``, ``modify_order``) or QUERIES (every request
    counts one). Rules with no window (decaying counters such as Kraken's) are left to the
    venue's 429 handling; without any windowed QUERIES rule, ``FALLBACK_RULE`` applies.
    """
    share = ClientRateLimiter.ordinary_share(warning_threshold, critical_reserve)
    rules = []
    for name, (_, limit, window_s) in sorted(status.usage.items()):
        if window_s <= 0 or limit <= 0:
            continue
        category = LimitCategory.ORDERS if "ORDER" in name.upper() else LimitCategory.QUERIES
        rules.append(_usable(name, category, limit, window_s, share))
    if not any(rule.category is LimitCategory.QUERIES for rule in rules):
        rules.append(FALLBACK_RULE)
    query = (LimitCategory.QUERIES, 1)
    costs = [RequestCost(DEFAULT_REQUEST, (query,))]
    if any(rule.category is LimitCategory.ORDERS for rule in rules):
        costs.extend(RequestCost(request, ((LimitCategory.ORDERS, 1), query)) for request in _ORDER_REQUESTS)
    return tuple(rules), tuple(costs)

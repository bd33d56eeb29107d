"""Venue-side rate limits in virtual time: Binance windows, 429 then 418 bans, generic buckets."""

from __future__ import annotations

from decimal import Decimal

from sim.venue.limits import (
    NS_PER_S,
    LimitDecision,
    LimitRule,
    RateLimitConfig,
    VenueRateLimiter,
    binance_interval_name,
)
from sim.venue.profile import load_profile

S = NS_PER_S
T0 = 1_723_161_600 * S  # 2024-08-09 00:00:00 UTC: a whole minute and a whole day
WEIGHT_MSG = ("Too much request weight used; current limit is 1200 request weight per 1 MINUTE. "
              "Please use WebSocket Streams for live updates to avoid polling the API.")


def binance() -> VenueRateLimiter:
    return VenueRateLimiter(load_profile("binance").rate_limits)


def exhaust_weight(limiter: VenueRateLimiter, now: int, already: int = 0) -> None:
    """Spend the rest of the 1200 weight of the current minute at ``now`` (all allowed)."""
    left = 1200 - already
    while left:
        weight = min(20, left)
        decision = limiter.check(now, "get_venue_info", weight=weight)
        assert decision.allowed, decision
        left -= weight


def test_interval_names() -> None:
    assert [binance_interval_name(s) for s in (10, 60, 300, 3600, 86400)] == [
        "10 SECOND", "1 MINUTE", "5 MINUTE", "1 HOUR", "1 DAY"]


def test_weight_header_counts_per_aligned_minute() -> None:
    limiter = binance()
    first = limiter.check(T0 + 59 * S, "get_venue_info")
    assert first == LimitDecision(True, 200, None, {"X-MBX-USED-WEIGHT-1M": "20"})
    second = limiter.check(T0 + 59 * S + 999_999_999, "get_order_book")
    assert second.headers["X-MBX-USED-WEIGHT-1M"] == "25"
    # 00:01:00 starts a new window: the count restarts even though only 1 s passed.
    third = limiter.check(T0 + 60 * S, "health")
    assert third.headers["X-MBX-USED-WEIGHT-1M"] == "1"
    assert "X-MBX-ORDER-COUNT-10S" not in third.headers


def test_1200_weight_then_429_with_retry_after_until_the_minute_ends() -> None:
    limiter = binance()
    now = T0 + 10 * S
    exhaust_weight(limiter, now)
    refused = limiter.check(now, "health")
    assert not refused.allowed
    assert (refused.http_status, refused.retry_after_s, refused.code) == (429, 50, -1003)
    assert refused.message == WEIGHT_MSG
    assert refused.headers == {"X-MBX-USED-WEIGHT-1M": "1200", "Retry-After": "50"}
    assert refused.rule == "REQUEST_WEIGHT"
    # Retry-After rounds up to whole seconds.
    limiter2 = binance()
    exhaust_weight(limiter2, T0 + 10 * S + 1)
    assert limiter2.check(T0 + 10 * S + 1, "health").retry_after_s == 50


def test_window_reset_restores_service_when_the_client_waits() -> None:
    limiter = binance()
    exhaust_weight(limiter, T0 + 30 * S)
    assert limiter.check(T0 + 30 * S, "health").http_status == 429
    # The client honours Retry-After (30 s) and comes back in the next minute.
    back = limiter.check(T0 + 60 * S, "health")
    assert back.allowed and back.headers["X-MBX-USED-WEIGHT-1M"] == "1"
    assert limiter.banned_until_ns(T0 + 60 * S) is None


def test_sending_while_limited_gets_418_and_bans_grow() -> None:
    limiter = binance()
    now = T0 + 10 * S
    exhaust_weight(limiter, now)
    assert limiter.check(now, "health").http_status == 429
    banned = limiter.check(now + S, "health")
    assert (banned.allowed, banned.http_status, banned.retry_after_s, banned.code) == (False, 418, 120, -1003)
    until = now + S + 120 * S
    assert banned.banned_until_ns == until
    assert banned.message == (f"Way too much request weight used; IP banned until {until // 1_000_000}. "
                              "Please use WebSocket Streams for live updates to avoid bans.")
    assert banned.headers["Retry-After"] == "120"
    # Every request during the ban is refused with the remaining time; it does not extend it.
    later = limiter.check(until - 30 * S, "health")
    assert (later.http_status, later.retry_after_s, later.banned_until_ns) == (418, 30, until)
    assert limiter.check(until - 1, "health").retry_after_s == 1
    # The ban ends: a new minute, a fresh window.
    assert limiter.check(until, "health").allowed

    # Repeat offences: each ban twice as long, capped at 3 days.
    lengths = []
    now = until
    for _ in range(14):
        exhaust_weight(limiter, now, already=limiter.usage(now)["REQUEST_WEIGHT"][0])
        assert limiter.check(now, "health").http_status == 429
        ban = limiter.check(now, "health")
        assert ban.http_status == 418 and ban.banned_until_ns is not None
        lengths.append((ban.banned_until_ns - now) // S)
        now = ban.banned_until_ns
    assert lengths == [240, 480, 960, 1920, 3840, 7680, 15360, 30720, 61440, 122880, 245760,
                       259200, 259200, 259200]
    assert limiter.ban_count == 15


def test_escalation_is_forgotten_after_a_quiet_day() -> None:
    limiter = binance()
    exhaust_weight(limiter, T0)
    limiter.check(T0, "health")
    first = limiter.check(T0, "health")
    assert first.retry_after_s == 120
    quiet = T0 + 120 * S + 86_400 * S
    exhaust_weight(limiter, quiet)
    limiter.check(quiet, "health")
    assert limiter.check(quiet, "health").retry_after_s == 120


def test_a_lighter_request_sent_during_retry_after_is_still_a_strike() -> None:
    limiter = binance()
    exhaust_weight(limiter, T0, already=20)  # 1180 used
    assert limiter.check(T0, "get_venue_info").allowed  # 1200
    assert limiter.check(T0, "get_balances").http_status == 429
    assert limiter.check(T0 + S, "health").http_status == 418


def test_orders_50_per_10_seconds_and_headers() -> None:
    limiter = binance()
    now = T0 + 3 * S
    for i in range(1, 51):
        decision = limiter.check(now, "submit_order")
        assert decision.allowed
        assert decision.headers["X-MBX-ORDER-COUNT-10S"] == str(i)
        assert decision.headers["X-MBX-ORDER-COUNT-1D"] == str(i)
        assert decision.headers["X-MBX-USED-WEIGHT-1M"] == str(i)
    refused = limiter.check(now, "submit_order")
    assert (refused.http_status, refused.retry_after_s, refused.code) == (429, 7, -1015)
    assert refused.message == "Too many new orders; current limit is 50 orders per 10 SECOND."
    # Order limits are per account: no IP ban however often the client insists.
    assert limiter.check(now + S, "submit_order").http_status == 429
    query = limiter.check(now + S, "get_order")
    assert query.allowed and "X-MBX-ORDER-COUNT-10S" not in query.headers
    again = limiter.check(T0 + 10 * S, "submit_order")
    assert again.allowed
    assert again.headers["X-MBX-ORDER-COUNT-10S"] == "1"
    assert again.headers["X-MBX-ORDER-COUNT-1D"] == "51"


def test_orders_160000_per_day() -> None:
    limiter = binance()
    for i in range(160_000):
        # 50 orders per 10-second window, 12 windows a minute well under the weight limit.
        assert limiter.check(T0 + (i // 50) * 10 * S, "submit_order").allowed
    now = T0 + 3200 * 10 * S
    refused = limiter.check(now, "submit_order")
    assert (refused.http_status, refused.code, refused.rule) == (429, -1015, "ORDERS_1D")
    assert refused.retry_after_s == 86_400 - 32_000
    assert refused.message == "Too many new orders; current limit is 160000 orders per 1 DAY."
    assert limiter.check(T0 + 86_400 * S, "submit_order").allowed


def test_kraken_style_decaying_counter() -> None:
    limiter = VenueRateLimiter(load_profile("kraken").rate_limits)
    for _ in range(15):
        assert limiter.check(T0, "get_balances").allowed
    refused = limiter.check(T0, "get_balances")
    assert (refused.http_status, refused.code, refused.retry_after_s) == (200, "EAPI:Rate limit exceeded", 4)
    # 0.33 per second: after 3.0 s the counter is 14.01, one more call would make 15.01.
    assert not limiter.check(T0 + 3 * S, "get_balances").allowed
    assert limiter.check(T0 + 3_030_304_000, "get_balances").allowed
    # Orders go to the separate trading counter.
    assert limiter.check(T0 + 3_030_304_000, "submit_order").allowed
    assert limiter.usage(T0 + 3_030_304_000)["TRADING_COUNTER"][0] == 1
    # Kraken's trading counter also counts cancels (its profile's order_requests); its call counter
    # charges 2 for trade history.
    assert limiter.check(T0 + 3_030_304_000, "cancel_order").allowed
    assert limiter.usage(T0 + 3_030_304_000)["TRADING_COUNTER"][0] == 2
    assert VenueRateLimiter(load_profile("binance").rate_limits).config.is_order("cancel_order") is False
    before = limiter.usage(T0 + 60 * S)["API_COUNTER"][0]
    assert limiter.check(T0 + 60 * S, "get_fills").allowed
    assert limiter.usage(T0 + 60 * S)["API_COUNTER"][0] == before + 2


def test_bybit_ip_limit_blocks_at_once() -> None:
    limiter = VenueRateLimiter(load_profile("bybit").rate_limits)
    for _ in range(600):
        assert limiter.check(T0, "get_ticker").allowed
    blocked = limiter.check(T0 + S, "get_ticker")
    assert (blocked.http_status, blocked.retry_after_s, blocked.code) == (403, 600, 403)
    assert limiter.check(T0 + 599 * S, "get_ticker").http_status == 403
    assert limiter.check(T0 + 601 * S, "get_ticker").allowed


def test_bybit_order_headers() -> None:
    limiter = VenueRateLimiter(load_profile("bybit").rate_limits)
    decision = limiter.check(T0 + 250_000_000, "submit_order")
    assert decision.headers == {"X-Bapi-Limit": "20", "X-Bapi-Limit-Status": "19",
                                "X-Bapi-Limit-Reset-Timestamp": str((T0 + S) // 1_000_000)}


def test_decisions_are_deterministic() -> None:
    def run() -> list[LimitDecision]:
        limiter = VenueRateLimiter(RateLimitConfig(rules=(
            LimitRule("W", "fixed_window", 5, interval_s=1),
            LimitRule("B", "token_bucket", 3, refill_per_s=Decimal("2.5"), counts="orders"),
        )))
        return [limiter.check(T0 + i * 100_000_000, "submit_order" if i % 2 == 0 else "get_ticker") for i in range(40)]
    first, second = run(), run()
    assert first == second
    assert [d.allowed for d in first[:12]] == [True] * 5 + [False] * 5 + [True, True]

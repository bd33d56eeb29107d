"""Binance's rate-limit usage as the venue last reported it, for ``get_rate_limit_status``.

The limits come from ``exchangeInfo``'s ``rateLimits`` (REQUEST_WEIGHT, RAW_REQUESTS, ORDERS per
interval); the usage from the response headers ``X-MBX-USED-WEIGHT-<n><unit>`` and
``X-MBX-ORDER-COUNT-<n><unit>`` (``spec/venues.md`` §1.7). Binance's windows are fixed and
aligned to the epoch, so a count reported in a window that has since ended reads as 0. Rules are
named as the simulated venue names them: the limit type, with the interval added where a type
has several (``REQUEST_WEIGHT``, ``RAW_REQUESTS``, ``ORDERS_10S``, ``ORDERS_1D``). A 418 answer
records the ban's end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.contract import RateLimitStatus

__all__ = ["UsageTracker"]

_UNITS = {"SECOND": ("s", 1), "MINUTE": ("m", 60), "HOUR": ("h", 3600), "DAY": ("d", 86_400)}
_HEADERS = {"REQUEST_WEIGHT": "x-mbx-used-weight-", "ORDERS": "x-mbx-order-count-"}
_NS = 1_000_000_000


@dataclass
class _Rule:
    name: str
    limit: int
    window_s: int
    header: str | None
    used: int = 0
    window_start_ns: int = -1


class UsageTracker:
    """Per rule: the last reported count and the window it was counted in."""

    def __init__(self, venue: str = "binance") -> None:
        self.venue = venue
        self._rules: list[_Rule] = []
        self.banned_until_ns: int | None = None

    def set_limits(self, rate_limits: Sequence[Mapping[str, Any]]) -> None:
        """Take the rules of an ``exchangeInfo`` answer (keeps counts of rules that stay)."""
        kinds = [str(r.get("rateLimitType")) for r in rate_limits]
        old = {r.name: r for r in self._rules}
        rules = []
        for entry, kind in zip(rate_limits, kinds, strict=True):
            letter, unit_s = _UNITS.get(str(entry.get("interval")), ("s", 1))
            num = int(entry.get("intervalNum", 1))
            suffix = f"{num}{letter}"
            name = kind if kinds.count(kind) == 1 else f"{kind}_{suffix.upper()}"
            prefix = _HEADERS.get(kind)
            rule = _Rule(name, int(entry.get("limit", 0)), num * unit_s, f"{prefix}{suffix}" if prefix else None)
            if name in old:
                rule.used, rule.window_start_ns = old[name].used, old[name].window_start_ns
            rules.append(rule)
        self._rules = rules

    def observe(self, headers: Mapping[str, str], venue_now_ns: int) -> None:
        """Counts from one answer's usage headers (names in any case), at venue time ``venue_now_ns``."""
        lowered = {k.lower(): v for k, v in headers.items()}
        for rule in self._rules:
            if rule.header is None or rule.header not in lowered:
                continue
            try:
                rule.used = int(lowered[rule.header])
            except ValueError:
                continue
            length = rule.window_s * _NS
            rule.window_start_ns = venue_now_ns - venue_now_ns % length

    def banned(self, until_ns: int) -> None:
        """A 418 said the IP is banned until ``until_ns`` (venue time)."""
        self.banned_until_ns = until_ns

    def status(self, venue_now_ns: int) -> RateLimitStatus:
        """Usage per rule now: ``(used, limit, window_s)``; a count of an ended window reads 0."""
        usage = {}
        for rule in self._rules:
            length = rule.window_s * _NS
            current = rule.window_start_ns >= 0 and venue_now_ns - venue_now_ns % length == rule.window_start_ns
            usage[rule.name] = (rule.used if current else 0, rule.limit, rule.window_s)
        banned = self.banned_until_ns if self.banned_until_ns is not None and self.banned_until_ns > venue_now_ns \
            else None
        return RateLimitStatus(self.venue, usage, banned)

"""Bybit's rate-limit usage as the venue last reported it, honoured before the next call.

Bybit limits each endpoint on its own and reports, on each answer, ``X-Bapi-Limit`` (the
limit), ``X-Bapi-Limit-Status`` (what is **left**) and ``X-Bapi-Limit-Reset-Timestamp`` (ms, when
the window resets) (``docs/v5/rate-limit/rate-limit.mdx``). ``BybitUsage`` keeps them per endpoint
(``"POST /v5/order/create"``): ``wait_ns`` says how long to hold the next call to an endpoint
whose allowance is spent until its reset, and ``status`` reports ``(used, limit, 1)`` per
endpoint while its window lasts. The per-IP limit (600 requests per 5 s, then a 403 block) has
no header: the requests we sent in the current 5 s window are counted here as ``IP``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.contract import RateLimitStatus

__all__ = ["IP_LIMIT", "IP_WINDOW_S", "BybitUsage"]

IP_LIMIT = 600
"""Requests per IP per 5 s (``rate-limit.mdx``)."""

IP_WINDOW_S = 5

_NS = 1_000_000_000
_MS = 1_000_000


@dataclass
class _Endpoint:
    limit: int
    remaining: int
    reset_ns: int


class BybitUsage:
    """Per endpoint: the last reported limit, allowance left and reset time (venue ns)."""

    def __init__(self, venue: str = "bybit", margin_ns: int = 5 * _MS) -> None:
        self.venue = venue
        self.margin_ns = margin_ns
        """Added to every wait: the reset is reported in whole ms and our clock offset is an estimate."""
        self._endpoints: dict[str, _Endpoint] = {}
        self._ip_window = -1
        self._ip_used = 0
        self.banned_until_ns: int | None = None

    def sent(self, venue_now_ns: int) -> None:
        """One request leaves now (the per-IP count)."""
        window = venue_now_ns // (IP_WINDOW_S * _NS)
        if window != self._ip_window:
            self._ip_window, self._ip_used = window, 0
        self._ip_used += 1

    def observe(self, endpoint: str, headers: Mapping[str, str]) -> None:
        """The limit headers of one answer of ``endpoint`` (names in any case); unreadable ones are ignored."""
        lowered = {k.lower(): v for k, v in headers.items()}
        texts = [lowered.get(n) for n in ("x-bapi-limit", "x-bapi-limit-status", "x-bapi-limit-reset-timestamp")]
        if any(t is None or not t.strip().isdigit() for t in texts):
            return
        limit, remaining, reset_ms = (int(str(t).strip()) for t in texts)
        self._endpoints[endpoint] = _Endpoint(limit, remaining, reset_ms * _MS)

    def banned(self, until_ns: int) -> None:
        """A 403 IP block lasts until ``until_ns`` (venue time)."""
        self.banned_until_ns = until_ns

    def wait_ns(self, endpoint: str, venue_now_ns: int) -> int:
        """How long to hold a call to ``endpoint`` now: until its reset when nothing is left, else 0."""
        known = self._endpoints.get(endpoint)
        if known is None or known.remaining > 0 or known.reset_ns <= venue_now_ns:
            return 0
        return known.reset_ns - venue_now_ns + self.margin_ns

    def status(self, venue_now_ns: int) -> RateLimitStatus:
        """Usage per endpoint while its window lasts (0 after its reset), and the per-IP count."""
        usage: dict[str, tuple[int, int, int]] = {}
        for endpoint, known in sorted(self._endpoints.items()):
            used = known.limit - known.remaining if known.reset_ns > venue_now_ns else 0
            usage[endpoint] = (max(0, used), known.limit, 1)
        ip_current = self._ip_window == venue_now_ns // (IP_WINDOW_S * _NS)
        usage["IP"] = (min(self._ip_used, IP_LIMIT) if ip_current else 0, IP_LIMIT, IP_WINDOW_S)
        banned = self.banned_until_ns if self.banned_until_ns is not None and self.banned_until_ns > venue_now_ns \
            else None
        return RateLimitStatus(self.venue, usage, banned)

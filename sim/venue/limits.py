"""Exchange-side rate limits, enforced the way each venue enforces them, in virtual time.

The harness has its own client-side limiter (``harness/ratelimit.py``); this module is the
other side: what the simulated *venue* does when a client sends too much. Time is always passed
in as integer nanoseconds; nothing here reads a clock.

Two kinds of rule, both data from the venue profile:

* ``fixed_window``: a counter per window aligned to the epoch (a 1-minute window starts at every
  whole minute, a 1-day window at 00:00 UTC), reset to zero when the next window starts. This
  is how Binance counts (``REQUEST_WEIGHT`` per minute, ``ORDERS`` per 10 s and per day): a
  request at 00:01:23.456 counts toward the 00:01:00 minute.
* ``token_bucket``: a counter that rises by the cost of each request and decays continuously at
  ``refill_per_s``; exceeding ``limit`` is refused. This is Kraken's call counter and
  trading-engine counter (a leaky bucket). Decay is exact (``Fraction``), not float.

Requests are named by contract method (``submit_order``, ``get_order_book``, or a variant such
as ``get_open_orders_all``; ``harness.contract_methods.REQUEST_NAMES``), as the client side names them.
A rule counts ``weight`` (each request's weight), ``requests`` (1 each) or ``orders`` (1 per
order request: those in ``order_requests``, by default the ones that place orders), for ``all``
requests, only ``orders`` or only ``non_orders``.

Refusal and bans (Binance semantics, ``rest-api.md`` §LIMITS): a request that would exceed a
rule gets the rule's status (429) with ``Retry-After`` = whole seconds until the rule has room
again (the window's end), and does not count. For rules with ``bans = true`` (Binance's per-IP
weight and raw-request rules) the limiter then remembers it is *limited* until then; each
further request sent while limited is a strike, and when ``ban.strikes`` is reached the IP is
banned: 418 with ``Retry-After`` = seconds until the ban ends, for every request until then. A
ban lasts ``ban.first_s`` (2 minutes) and each later ban ``ban.factor`` times longer, capped at
``ban.max_s`` (3 days); the escalation is forgotten after ``ban.reset_after_s`` without a ban.
``strikes = 0`` bans on the first excess (Bybit's 403 IP block). Order-count rules do not ban
(they are per account, bans are per IP).

Rejected requests (429 or 418) consume nothing. Headers are those the venue sends: Binance's
``X-MBX-USED-WEIGHT-1M`` on every response, and ``X-MBX-ORDER-COUNT-10S``/``-1D`` on accepted
orders (``header`` of each rule, plus optional ``limit_header``/``remaining_header``/
``reset_header`` for Bybit-style ``X-Bapi-Limit*``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from harness.contract_methods import CONTRACT_METHODS

__all__ = [
    "NS_PER_S",
    "ORDER_REQUESTS",
    "BanPolicy",
    "LimitDecision",
    "LimitRule",
    "RateLimitConfig",
    "VenueRateLimiter",
    "binance_interval_name",
]

NS_PER_S = 1_000_000_000
_KINDS = ("fixed_window", "token_bucket")
_COUNTS = ("weight", "requests", "orders")
_APPLIES = ("all", "orders", "non_orders")


@dataclass(frozen=True, slots=True)
class LimitRule:
    """One venue limit (see the module docstring for ``kind``, ``counts`` and ``applies_to``).

    ``message`` may use ``{limit}``, ``{interval}`` (Binance wording such as ``1 MINUTE``) and
    ``{retry_after}``. ``refill_per_s`` is only used by token buckets (``Decimal``, exact).
    """

    name: str
    kind: str
    limit: int
    interval_s: int = 0
    refill_per_s: Decimal = Decimal(0)
    counts: str = "weight"
    applies_to: str = "all"
    bans: bool = False
    http_status: int = 429
    code: int | str = 429
    message: str = "Rate limit exceeded."
    header: str | None = None
    limit_header: str | None = None
    remaining_header: str | None = None
    reset_header: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"rate limit {self.name!r}: kind must be one of {_KINDS}, not {self.kind!r}")
        if self.counts not in _COUNTS:
            raise ValueError(f"rate limit {self.name!r}: counts must be one of {_COUNTS}")
        if self.applies_to not in _APPLIES:
            raise ValueError(f"rate limit {self.name!r}: applies_to must be one of {_APPLIES}")
        if self.limit <= 0:
            raise ValueError(f"rate limit {self.name!r}: limit must be positive")
        if self.kind == "fixed_window" and self.interval_s <= 0:
            raise ValueError(f"rate limit {self.name!r}: a fixed window needs interval_s > 0")
        if self.kind == "token_bucket" and self.refill_per_s <= 0:
            raise ValueError(f"rate limit {self.name!r}: a token bucket needs refill_per_s > 0")


@dataclass(frozen=True, slots=True)
class BanPolicy:
    """How repeated violations of a banning rule turn into an IP ban (see the module docstring)."""

    strikes: int = 1
    first_s: int = 120
    max_s: int = 259_200
    factor: int = 2
    reset_after_s: int = 86_400
    http_status: int = 418
    code: int | str = -1003
    message: str = "Way too much request weight used; IP banned until {until_ms}."


ORDER_REQUESTS: frozenset[str] = frozenset(m.name for m in CONTRACT_METHODS.values() if m.places_order)
"""The requests a venue counts as orders unless its profile says otherwise (submit and modify)."""


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """All limits of one venue: rules, request weights, order requests and the ban policy (``None``: no bans)."""

    rules: tuple[LimitRule, ...] = ()
    weights: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    default_weight: int = 1
    ban: BanPolicy | None = None
    order_requests: frozenset[str] = ORDER_REQUESTS

    def weight_of(self, request: str) -> int:
        """The venue's weight for ``request`` (e.g. ``"get_order_book"``), else the default."""
        return self.weights.get(request, self.default_weight)

    def is_order(self, request: str) -> bool:
        """Whether the venue counts ``request`` as an order."""
        return request in self.order_requests


@dataclass(frozen=True, slots=True)
class LimitDecision:
    """The venue's answer to one request: allowed or not, HTTP status, wait, headers, error.

    ``retry_after_s`` is whole seconds (the ``Retry-After`` header), ``None`` when allowed.
    ``code``/``message`` are the venue's error body when refused; ``rule`` names the rule that
    refused it (``"BAN"`` for an IP ban); ``banned_until_ns`` is set while banned.
    """

    allowed: bool
    http_status: int
    retry_after_s: int | None
    headers: Mapping[str, str]
    code: int | str | None = None
    message: str = ""
    rule: str = ""
    banned_until_ns: int | None = None


def binance_interval_name(interval_s: int) -> str:
    """Binance's wording of an interval in limit messages: ``60`` -> ``"1 MINUTE"``."""
    for unit_s, unit in ((86_400, "DAY"), (3_600, "HOUR"), (60, "MINUTE")):
        if interval_s % unit_s == 0:
            return f"{interval_s // unit_s} {unit}"
    return f"{interval_s} SECOND"


def _ceil_s(ns: int) -> int:
    """Whole seconds covering ``ns`` (at least 1: a Retry-After of 0 would invite a retry storm)."""
    return max(1, -(-ns // NS_PER_S))


class _Counter:
    """Mutable state of one rule: the current window and its count, or the bucket level.

    A fixed window counts in plain ints; only a decaying bucket needs exact ``Fraction`` levels
    (every request to a venue passes here, so the common case stays cheap).
    """

    __slots__ = ("fixed", "length_ns", "level", "rule", "stamp_ns", "window_start_ns")

    def __init__(self, rule: LimitRule) -> None:
        self.rule = rule
        self.fixed = rule.kind == "fixed_window"
        self.length_ns = rule.interval_s * NS_PER_S
        self.window_start_ns = -1
        self.level: Fraction | int = 0
        self.stamp_ns = 0

    def _advance(self, now_ns: int) -> None:
        rule = self.rule
        if self.fixed:
            start = now_ns - now_ns % self.length_ns
            if start != self.window_start_ns:
                self.window_start_ns = start
                self.level = 0
        else:
            elapsed = max(0, now_ns - self.stamp_ns)
            decay = Fraction(rule.refill_per_s) * elapsed / NS_PER_S
            self.level = max(Fraction(0), self.level - decay)
            self.stamp_ns = max(self.stamp_ns, now_ns)

    def used(self, now_ns: int) -> int:
        """The count shown to clients (rounded up for a decaying bucket)."""
        self._advance(now_ns)
        level = self.level
        return level if isinstance(level, int) else -(-level.numerator // level.denominator)

    def fits(self, now_ns: int, cost: int) -> bool:
        """True when ``cost`` more stays within the limit."""
        self._advance(now_ns)
        return self.level + cost <= self.rule.limit

    def add(self, cost: int) -> None:
        """Count an accepted request (``fits`` must have advanced the state to now)."""
        self.level += cost

    def wait_ns(self, now_ns: int, cost: int) -> int:
        """Nanoseconds until ``cost`` would fit (window end, or bucket drain time)."""
        rule = self.rule
        if rule.kind == "fixed_window":
            return self.window_start_ns + rule.interval_s * NS_PER_S - now_ns
        excess = self.level + cost - rule.limit
        if cost > rule.limit:
            excess = self.level  # can never fit: wait until the bucket is empty
        ns = excess * NS_PER_S / Fraction(rule.refill_per_s)
        return -(-ns.numerator // ns.denominator)

    def reset_ns(self) -> int:
        """When the current fixed window ends (the bucket's "empty" time otherwise)."""
        rule = self.rule
        if rule.kind == "fixed_window":
            return self.window_start_ns + rule.interval_s * NS_PER_S
        ns = self.level * NS_PER_S / Fraction(rule.refill_per_s)
        return self.stamp_ns + -(-ns.numerator // ns.denominator)


class VenueRateLimiter:
    """The venue's limiter for one client (one IP and its account), driven by virtual time.

    Call ``check`` once per incoming request, in time order; it counts the request when it is
    allowed and answers with the status, ``Retry-After`` and headers the venue would send.
    Deterministic: the same calls give the same decisions.
    """

    def __init__(self, config: RateLimitConfig) -> None:
        self.config = config
        self._counters = [_Counter(rule) for rule in config.rules]
        # the counters a request counts against, by whether it places an order (fixed per rule)
        self._applicable: dict[bool, tuple[_Counter, ...]] = {
            flag: tuple(c for c in self._counters if self._applies(c.rule, flag)) for flag in (False, True)}
        self._limited_until_ns = -1
        self._strikes = 0
        self._banned_until_ns = -1
        self._bans = 0
        self._last_ban_end_ns = -1

    # ------------------------------------------------------------------ queries
    def banned_until_ns(self, now_ns: int) -> int | None:
        """End of the current IP ban, or ``None`` when not banned at ``now_ns``."""
        return self._banned_until_ns if now_ns < self._banned_until_ns else None

    @property
    def ban_count(self) -> int:
        """How many bans the current escalation has handed out (resets after a quiet period)."""
        return self._bans

    def usage(self, now_ns: int) -> dict[str, tuple[int, int, int]]:
        """Per rule: ``(used, limit, window_s)`` (the contract's ``RateLimitStatus.usage``)."""
        return {c.rule.name: (c.used(now_ns), c.rule.limit, c.rule.interval_s) for c in self._counters}

    def share(self, now_ns: int, weight: int) -> bool:
        """Count ``weight`` of someone else's traffic on the same IP (unordered requests), if it
        fits every rule it falls under; False, counting nothing, when it would not fit. No refusal
        is recorded: the other client simply used part of the budget (fault injection)."""
        applicable = self._applicable[False]
        costs = [(counter, self._cost(counter.rule, weight)) for counter in applicable]
        if not all(counter.fits(now_ns, cost) for counter, cost in costs):
            return False
        for counter, cost in costs:
            counter.add(cost)
        return True

    # ------------------------------------------------------------------ the check
    def check(self, now_ns: int, request: str = "", weight: int | None = None) -> LimitDecision:
        """Decide one ``request`` (a contract method or variant) arriving at ``now_ns``; counts it when allowed.

        ``weight`` overrides the profile's weight for ``request`` (Binance weights that depend
        on parameters, e.g. depth ``limit``). Order requests (``RateLimitConfig.order_requests``)
        count toward ``orders`` rules and get the order-count headers.
        """
        is_order = self.config.is_order(request)
        cost_weight = self.config.weight_of(request) if weight is None else weight
        ban = self.config.ban

        if now_ns < self._banned_until_ns:
            return self._ban_decision(now_ns)

        applicable = self._applicable[bool(is_order)]
        for counter in applicable:
            cost = self._cost(counter.rule, cost_weight)
            if counter.fits(now_ns, cost):
                continue
            rule = counter.rule
            wait_ns = counter.wait_ns(now_ns, cost)
            if rule.bans and ban is not None:
                if now_ns < self._limited_until_ns:
                    self._strikes += 1
                else:
                    self._strikes = 0
                    self._limited_until_ns = now_ns + wait_ns
                if self._strikes >= ban.strikes:
                    self._start_ban(now_ns)
                    return self._ban_decision(now_ns)
            retry = _ceil_s(wait_ns)
            message = rule.message.format(limit=rule.limit, interval=binance_interval_name(rule.interval_s),
                                          retry_after=retry)
            headers = self._headers(now_ns, is_order=False)
            headers["Retry-After"] = str(retry)
            return LimitDecision(False, rule.http_status, retry, MappingProxyType(headers),
                                 code=rule.code, message=message, rule=rule.name)

        if ban is not None and now_ns < self._limited_until_ns and any(
                c.rule.bans for c in applicable):
            # Limited, yet this request fits (e.g. a lighter one): still a strike, as the client
            # was told to wait; Binance does not promise to serve requests sent during Retry-After.
            self._strikes += 1
            if self._strikes >= ban.strikes:
                self._start_ban(now_ns)
                return self._ban_decision(now_ns)

        for counter in applicable:
            counter.add(self._cost(counter.rule, cost_weight))
        return LimitDecision(True, 200, None, MappingProxyType(self._headers(now_ns, is_order=is_order)))

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _applies(rule: LimitRule, is_order: bool) -> bool:
        if rule.counts == "orders" or rule.applies_to == "orders":
            return is_order
        if rule.applies_to == "non_orders":
            return not is_order
        return True

    @staticmethod
    def _cost(rule: LimitRule, weight: int) -> int:
        return weight if rule.counts == "weight" else 1

    def _start_ban(self, now_ns: int) -> None:
        ban = self.config.ban
        assert ban is not None
        if self._last_ban_end_ns >= 0 and now_ns - self._last_ban_end_ns >= ban.reset_after_s * NS_PER_S:
            self._bans = 0
        length_s = min(ban.max_s, ban.first_s * ban.factor ** self._bans)
        self._bans += 1
        self._banned_until_ns = now_ns + length_s * NS_PER_S
        self._last_ban_end_ns = self._banned_until_ns
        self._limited_until_ns = -1
        self._strikes = 0

    def _ban_decision(self, now_ns: int) -> LimitDecision:
        ban = self.config.ban
        assert ban is not None
        retry = _ceil_s(self._banned_until_ns - now_ns)
        headers = self._headers(now_ns, is_order=False)
        headers["Retry-After"] = str(retry)
        message = ban.message.format(until_ms=self._banned_until_ns // 1_000_000, retry_after=retry)
        return LimitDecision(False, ban.http_status, retry, MappingProxyType(headers), code=ban.code,
                             message=message, rule="BAN", banned_until_ns=self._banned_until_ns)

    def _headers(self, now_ns: int, *, is_order: bool) -> dict[str, str]:
        headers: dict[str, str] = {}
        for counter in self._counters:
            rule = counter.rule
            if rule.counts == "orders" and not is_order:
                continue  # order counts ride only on order responses
            used = counter.used(now_ns)
            if rule.header:
                headers[rule.header] = str(used)
            if rule.limit_header:
                headers[rule.limit_header] = str(rule.limit)
            if rule.remaining_header:
                headers[rule.remaining_header] = str(max(0, rule.limit - used))
            if rule.reset_header:
                headers[rule.reset_header] = str(counter.reset_ns() // 1_000_000)
        return headers

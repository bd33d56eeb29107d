"""Client-side rate limiting: queue requests before the venue would refuse them.

A venue counts our requests against limits (Binance: request weight per minute, orders per
10 s and per day, raw requests per 5 minutes) and answers 429, then bans (418), when we exceed
them. ``ClientRateLimiter`` keeps our own count of every limit and makes a request *wait* in
virtual or wall time (via the injected ``Clock``) instead of sending it when it would take a
limit past ``warning_threshold`` (Property 8). Cancels are *critical*: they may use the capacity
between the threshold and the hard limit (at least ``critical_reserve`` of it), and are served
ahead of queued ordinary requests, so a burst of submits can never starve a cancel.

Categories (Property 33): ``ORDERS`` (order-placing requests), ``QUERIES`` (raw request count:
every REST call, Binance's ``RAW_REQUESTS``), ``WEBSOCKET`` (connection attempts), ``WEIGHT``
(endpoint weights). One category may have several rules (orders per 10 s and per day); each
rule is tracked on its own, and a request consumes an amount of one or more categories.
Requests are named by contract method (``submit_order``, ``get_order_book``, or a variant such
as ``get_open_orders_all``), never by a venue's endpoint path; a venue's rules and costs come
from its descriptor (``harness.venues``).

Windows: a sliding log, not the venue's fixed windows. Binance's windows are fixed and aligned to
the epoch, but it counts a request when it *arrives*; we count it when it leaves, and latency
varies. A sliding log of length ``window + latency_guard`` bounds the usage in *every* interval
of that length, hence in every venue window however it is aligned, as long as latency jitter
stays under the guard (1 s by default). Its price is throughput: no "double burst" across a
window boundary. It also fits venues whose windows slide or leak (Kraken's decaying counter is
bounded by a sliding window of its drain time).

Venue feedback: ``on_retry_after`` blocks every category until the venue's Retry-After has passed
(Property 34), and ``observe_usage`` reads the venue's usage headers (Binance's
``X-MBX-USED-WEIGHT-1M``, ``X-MBX-ORDER-COUNT-10S``/``-1D``) and raises our figure to the venue's
when higher (other processes on the same IP or account spend the same limits). ``status`` shows
used, remaining and queued per configured category (Property 35).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Any

from harness.clock import NS_PER_SECOND, Cancellable, Clock, seconds_to_ns
from harness.config import Section
from harness.secrets import safe_logger

__all__ = [
    "DEFAULT_REQUEST",
    "CategoryStatus",
    "ClientRateLimiter",
    "LimitCategory",
    "LimitRule",
    "RequestCost",
    "limits_from_mapping",
    "limits_from_section",
]

logger = safe_logger(__name__)

DEFAULT_REQUEST = "*"
"""The ``RequestCost.request`` whose amounts apply to requests not listed explicitly."""


class LimitCategory(StrEnum):
    """What a limit counts (Property 33): orders, raw requests, WebSocket connections, weight."""

    ORDERS = "ORDERS"
    QUERIES = "QUERIES"
    WEBSOCKET = "WEBSOCKET"
    WEIGHT = "WEIGHT"


@dataclass(frozen=True, slots=True)
class LimitRule:
    """One venue limit: at most ``limit`` units of ``category`` per ``window_ns``.

    ``header`` names the venue response header that reports this rule's usage in the venue's
    current (epoch-aligned) window, e.g. ``"X-MBX-USED-WEIGHT-1M"``.
    """

    category: LimitCategory
    limit: int
    window_ns: int
    name: str = ""
    header: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.category, LimitCategory):
            raise TypeError(f"rate limit {self.name!r}: category must be a LimitCategory, got {self.category!r}")
        for field_name in ("limit", "window_ns"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"rate limit {self.name!r}: {field_name} must be a positive int, got {value!r}")

    @property
    def label(self) -> str:
        """The rule's name, or ``CATEGORY/window`` when unnamed."""
        return self.name or f"{self.category.value}/{self.window_ns}ns"


@dataclass(frozen=True, slots=True)
class RequestCost:
    """What one request consumes: ``(category, amount)`` pairs.

    ``request`` names the request: a contract method or variant (``"get_order_book"``,
    ``"get_open_orders_all"``, see ``harness.contract_methods.REQUEST_NAMES``); ``DEFAULT_REQUEST``
    (``"*"``) gives the cost of requests not listed.
    """

    request: str
    amounts: tuple[tuple[LimitCategory, int], ...]

    def __post_init__(self) -> None:
        if not self.request:
            raise ValueError("request cost: request must be a non-empty string")
        seen: set[LimitCategory] = set()
        for category, amount in self.amounts:
            if not isinstance(category, LimitCategory):
                raise TypeError(f"request {self.request!r}: category must be a LimitCategory, got {category!r}")
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise ValueError(f"request {self.request!r}: amount of {category} must be a positive int")
            if category in seen:
                raise ValueError(f"request {self.request!r}: category {category} listed twice")
            seen.add(category)


@dataclass(frozen=True, slots=True)
class CategoryStatus:
    """Usage of one category (its tightest rule): used, limit, remaining, window, queued requests."""

    category: LimitCategory
    used: int
    limit: int
    remaining: int
    window_ns: int
    queued: int
    rule: str


class _Window:
    """The sliding log of one rule, plus a floor from the venue's own usage report."""

    __slots__ = ("ceilings", "floor", "floor_until_ns", "log", "rule", "span_ns", "total")

    def __init__(self, rule: LimitRule, guard_ns: int, ceilings: tuple[int, int]) -> None:
        self.rule = rule
        self.ceilings = ceilings  # (ordinary, critical) ceilings: fixed per rule, so computed once
        self.span_ns = rule.window_ns + guard_ns
        self.log: deque[list[int]] = deque()  # [ts_ns, amount], oldest first
        self.total = 0
        self.floor = 0
        self.floor_until_ns = 0

    def _prune(self, now: int) -> None:
        log, span = self.log, self.span_ns
        while log and log[0][0] + span <= now:
            self.total -= log.popleft()[1]

    def used(self, now: int) -> int:
        """Units counted at ``now``: our log, or the venue's figure if higher and still current."""
        self._prune(now)
        return max(self.total, self.floor) if now < self.floor_until_ns else self.total

    def fit_time(self, now: int, amount: int, ceiling: int) -> int:
        """The earliest time >= ``now`` at which ``amount`` more stays within ``ceiling``."""
        self._prune(now)
        allowed = ceiling - amount
        when = now
        if self.total > allowed:
            excess = self.total - allowed
            for ts, spent in self.log:
                excess -= spent
                if excess <= 0:
                    when = ts + self.span_ns
                    break
        if self.floor > allowed and now < self.floor_until_ns:
            when = max(when, self.floor_until_ns)
        return when

    def add(self, now: int, amount: int) -> None:
        """Count ``amount`` at ``now``."""
        if self.log and self.log[-1][0] == now:
            self.log[-1][1] += amount
        else:
            self.log.append([now, amount])
        self.total += amount


class _Waiter:
    """One ``acquire`` call in a queue."""

    __slots__ = ("amounts", "critical", "event", "request")

    def __init__(self, request: str, amounts: tuple[tuple[LimitCategory, int], ...], critical: bool) -> None:
        self.request = request
        self.amounts = amounts
        self.critical = critical
        self.event = asyncio.Event()


def _fraction(value: Decimal, name: str, *, low: Decimal, high: Decimal, high_inclusive: bool) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"{name} must be a finite Decimal, got {value!r}")
    if not (low <= value <= high if high_inclusive else low <= value < high):
        raise ValueError(f"{name} must be in [{low}, {high}{']' if high_inclusive else ')'}, got {value}")
    return value


class ClientRateLimiter:
    """Our side of one venue's rate limits: count, queue (FIFO, critical first) and report.

    ``acquire(request)`` returns when the request may be sent and counts it; it waits while any
    rule of a consumed category would pass ``warning_threshold`` of its limit (ordinary requests)
    or the hard limit (``critical=True``: cancels), or while a Retry-After is pending. Ordinary
    requests are served strictly in arrival order (a heavy request is not overtaken forever), and
    only after every queued critical request. The share of each limit above
    ``min(warning_threshold, 1 - critical_reserve)`` is reserved for critical requests.
    """

    def __init__(self, venue: str, rules: Iterable[LimitRule], costs: Iterable[RequestCost], clock: Clock, *,
                 warning_threshold: Decimal = Decimal("0.8"), critical_reserve: Decimal = Decimal("0.1"),
                 latency_guard_ns: int = NS_PER_SECOND) -> None:
        _fraction(warning_threshold, "warning_threshold", low=Decimal(0), high=Decimal(1), high_inclusive=True)
        if warning_threshold == 0:
            raise ValueError("warning_threshold must be > 0")
        _fraction(critical_reserve, "critical_reserve", low=Decimal(0), high=Decimal(1), high_inclusive=False)
        if isinstance(latency_guard_ns, bool) or not isinstance(latency_guard_ns, int) or latency_guard_ns < 0:
            raise ValueError(f"latency_guard_ns must be a non-negative int, got {latency_guard_ns!r}")
        self.venue = venue
        self._clock = clock
        self._share = self.ordinary_share(warning_threshold, critical_reserve)
        self._windows: dict[LimitCategory, list[_Window]] = {}
        names: set[str] = set()
        for rule in rules:
            if rule.label in names:
                raise ValueError(f"{venue}: rate limit {rule.label!r} defined twice")
            names.add(rule.label)
            ceilings = (self._ceiling(rule, critical=False), self._ceiling(rule, critical=True))
            self._windows.setdefault(rule.category, []).append(_Window(rule, latency_guard_ns, ceilings))
        if not self._windows:
            raise ValueError(f"{venue}: at least one rate limit rule is needed")
        self._costs: dict[str, tuple[tuple[LimitCategory, int], ...]] = {}
        for cost in costs:
            if cost.request in self._costs:
                raise ValueError(f"{venue}: request {cost.request!r} has two costs")
            self._check_cost(cost)
            self._costs[cost.request] = cost.amounts
        # request -> every (window, amount) one request counts against (built on first use)
        self._plans: dict[str, tuple[tuple[_Window, int], ...]] = {}
        self._normal: deque[_Waiter] = deque()
        self._critical: deque[_Waiter] = deque()
        self._blocked_until_ns = 0
        self.queued_total = 0
        """How many ``acquire`` calls had to wait (for tests, metrics and the dashboard)."""
        self.wait_ns_total = 0
        """Total time requests spent waiting in ``acquire``."""

    # ------------------------------------------------------------------ configuration helpers

    @staticmethod
    def ordinary_share(warning_threshold: Decimal, critical_reserve: Decimal) -> Decimal:
        """The share of each limit ordinary (non-critical) requests may use."""
        return min(warning_threshold, 1 - critical_reserve)

    def _ceiling(self, rule: LimitRule, critical: bool) -> int:
        if critical:
            return rule.limit
        return int((rule.limit * self._share).to_integral_value(rounding=ROUND_FLOOR))

    def _check_cost(self, cost: RequestCost) -> None:
        for category, amount in cost.amounts:
            windows = self._windows.get(category)
            if windows is None:
                raise ValueError(f"{self.venue}: request {cost.request!r} consumes {category}, which has no rule")
            for window in windows:
                if amount > self._ceiling(window.rule, critical=False):
                    raise ValueError(f"{self.venue}: request {cost.request!r} costs {amount} {category}, more "
                                     f"than rule {window.rule.label!r} ever lets through")

    def cost_of(self, request: str) -> tuple[tuple[LimitCategory, int], ...]:
        """The ``(category, amount)`` pairs one ``request`` consumes."""
        amounts = self._costs.get(request)
        if amounts is None:
            amounts = self._costs.get(DEFAULT_REQUEST)
            if amounts is None:
                raise KeyError(f"{self.venue}: no rate-limit cost for request {request!r} and no default")
        return amounts

    def _plan(self, request: str) -> tuple[tuple[_Window, int], ...]:
        """The ``(window, amount)`` pairs one ``request`` counts against (cached)."""
        plan = self._plans.get(request)
        if plan is None:
            plan = self._plans[request] = tuple((window, amount) for category, amount in self.cost_of(request)
                                                 for window in self._windows[category])
        return plan

    # ------------------------------------------------------------------ acquiring

    async def acquire(self, request: str, *, critical: bool = False) -> None:
        """Wait until one ``request`` (a contract method or variant) may be sent, then count it.

        ``critical`` requests (cancels) may use the reserved capacity up to the hard limit and
        go ahead of queued ordinary requests. Cancelling the waiting task leaves the queue cleanly.
        """
        if not self._critical and (critical or not self._normal):
            # Nobody it would have to queue behind: if it fits now, count it without queueing
            # (exactly what the queue does for a request that finds itself at the head and fits).
            now = self._clock.now_ns()
            plan = self._plan(request)
            if self._blocked_until_ns <= now and all(
                    window.fit_time(now, amount, window.ceilings[critical]) <= now for window, amount in plan):
                for window, amount in plan:
                    window.add(now, amount)
                self._wake_heads()
                return
        waiter = _Waiter(request, self.cost_of(request), critical)
        queue = self._critical if critical else self._normal
        queue.append(waiter)
        start = self._clock.now_ns()
        waited = False
        try:
            while True:
                now = self._clock.now_ns()
                ready_at = self._ready_at(waiter, now)
                if ready_at is not None and ready_at <= now:
                    for window, amount in self._plan(request):
                        window.add(now, amount)
                    return
                if not waited:
                    waited = True
                    self.queued_total += 1
                await self._wait(waiter, ready_at)
        finally:
            queue.remove(waiter)
            if waited:
                self.wait_ns_total += self._clock.now_ns() - start
            self._wake_heads()

    def _ready_at(self, waiter: _Waiter, now: int) -> int | None:
        """When ``waiter`` could go, or ``None`` while others must go first."""
        queue = self._critical if waiter.critical else self._normal
        if queue[0] is not waiter or (not waiter.critical and self._critical):
            return None
        when = max(now, self._blocked_until_ns)
        for window, amount in self._plan(waiter.request):
            when = max(when, window.fit_time(now, amount, window.ceilings[waiter.critical]))
        return when

    async def _wait(self, waiter: _Waiter, until_ns: int | None) -> None:
        """Sleep until ``until_ns`` (if given) or until woken as the new head of a queue."""
        waiter.event.clear()
        timer: Cancellable | None = None
        if until_ns is not None:
            timer = self._clock.call_at(until_ns, waiter.event.set)
        try:
            await waiter.event.wait()
        finally:
            if timer is not None:
                timer.cancel()

    def _wake_heads(self) -> None:
        for queue in (self._critical, self._normal):
            if queue:
                queue[0].event.set()

    # ------------------------------------------------------------------ venue feedback

    def on_retry_after(self, seconds: Decimal | int) -> None:
        """The venue said Retry-After ``seconds``: hold every request of every category until then."""
        until = self._clock.now_ns() + seconds_to_ns(seconds)
        if until > self._blocked_until_ns:
            self._blocked_until_ns = until
            logger.warning("%s: venue asked to retry after %s s; holding all requests", self.venue, seconds)
        self._wake_heads()

    @property
    def blocked_until_ns(self) -> int:
        """Until when a Retry-After holds every request (in the past when none does)."""
        return self._blocked_until_ns

    def observe_usage(self, headers: Mapping[str, str]) -> None:
        """Raise our usage to the venue's own figures from response headers, when they are higher.

        A rule with a ``header`` takes the header's value as a floor for the rest of the venue's
        current epoch-aligned window (plus the latency guard). Header names are case-insensitive;
        an unparsable value is logged and ignored (a bad header must not stop trading).
        """
        lowered = {name.lower(): value for name, value in headers.items()}
        now = self._clock.now_ns()
        for windows in self._windows.values():
            for window in windows:
                header = window.rule.header
                if header is None or header.lower() not in lowered:
                    continue
                raw = lowered[header.lower()]
                try:
                    reported = int(raw.strip())
                except ValueError:
                    logger.warning("%s: ignoring unparsable %s header %r", self.venue, header, raw)
                    continue
                if reported > window.used(now):
                    length = window.rule.window_ns
                    window.floor = reported
                    window.floor_until_ns = now - now % length + length + (window.span_ns - length)

    # ------------------------------------------------------------------ visibility

    def status(self) -> dict[LimitCategory, CategoryStatus]:
        """Per configured category: usage of its tightest rule and how many requests wait for it."""
        now = self._clock.now_ns()
        out: dict[LimitCategory, CategoryStatus] = {}
        waiting = [*self._critical, *self._normal]
        for category, windows in self._windows.items():
            tightest = min(windows, key=lambda w: (Decimal(w.rule.limit - w.used(now)) / w.rule.limit,
                                                   w.rule.window_ns))
            used = tightest.used(now)
            queued = sum(1 for w in waiting if any(c is category for c, _ in w.amounts))
            out[category] = CategoryStatus(category, used, tightest.rule.limit, max(0, tightest.rule.limit - used),
                                           tightest.rule.window_ns, queued, tightest.rule.label)
        return out

    def rule_usage(self) -> dict[str, tuple[int, int, int]]:
        """Every rule by label: ``(used, limit, window_ns)`` (finer than ``status``)."""
        now = self._clock.now_ns()
        return {w.rule.label: (w.used(now), w.rule.limit, w.rule.window_ns)
                for windows in self._windows.values() for w in windows}

    @property
    def queued(self) -> int:
        """Requests waiting right now."""
        return len(self._normal) + len(self._critical)


# ---------------------------------------------------------------------------- configuration

def _limits_error(key: str, problem: str, line: int | None) -> ValueError:
    return ValueError(f"rate limits.{key}: {problem}" if key else f"rate limits: {problem}")


def _amounts(section: Section) -> tuple[tuple[LimitCategory, int], ...]:
    """``{category: amount}`` pairs of one cost table."""
    amounts = []
    for name in section.names():
        if name not in LimitCategory.__members__:
            raise section.error(name, f"unknown category {name!r}; expected one of {[c.value for c in LimitCategory]}")
        category = LimitCategory(name)
        amount = section.integer(name)
        if amount <= 0:
            raise section.error(name, f"amount of {category} must be a positive int, got {amount}")
        amounts.append((category, amount))
    section.done()
    return tuple(amounts)


def limits_from_section(section: Section) -> tuple[tuple[LimitRule, ...], tuple[RequestCost, ...]]:
    """Rules and request costs from a checked configuration table (see ``limits_from_mapping``)."""
    rules: list[LimitRule] = []
    for spec in section.tables("rules"):
        category = spec.choice("category", LimitCategory)
        limit = spec.integer("limit")
        window_s = spec.req_decimal("window_s", ints=True)
        try:
            rules.append(LimitRule(category, limit, seconds_to_ns(window_s), name=spec.string("name", ""),
                                   header=spec.opt_string("header")))
        except ValueError as exc:
            raise spec.error("", str(exc)) from None
        spec.done()
    costs = []
    table = section.table("costs", required=False)
    if table is not None:
        for request in table.names():
            costs.append(RequestCost(request, _amounts(table.req_table(request))))
    default = section.table("default", required=False)
    if default is not None:
        costs.append(RequestCost(DEFAULT_REQUEST, _amounts(default)))
    section.done()
    return tuple(rules), tuple(costs)


def limits_from_mapping(config: Mapping[str, Any]) -> tuple[tuple[LimitRule, ...], tuple[RequestCost, ...]]:
    """Rules and request costs from a plain mapping, as a venue config file holds them.

    ``{"rules": [{"name"?, "category", "limit", "window_s", "header"?}, ...],
    "costs": {request: {category: amount}}, "default": {category: amount}}``; ``window_s``
    is whole or decimal seconds (an int, a decimal string or a ``Decimal``, never a float).
    Unknown keys and categories are refused with an error naming them (``harness.config``).
    """
    return limits_from_section(Section(config, error=_limits_error))

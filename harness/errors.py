"""What to do when a venue request fails: categorize, retry with backoff, break circuits, alert.

The typed error tree lives in ``harness.contract`` (``VenueError`` and its five categories).
This module is the policy around it, shared by every world:

* ``categorize``: exactly one ``ErrorCategory`` for any exception, decided by type alone.
* ``error_from_http``: the one place a live adapter turns an HTTP answer into the typed tree.
* ``RetryPolicy`` and ``retry``: exponential backoff with seeded jitter, in the injected clock's
  time; only RETRYABLE errors are retried, RATE_LIMITED ones after the venue's Retry-After.
  AMBIGUOUS (a submit that may have taken effect), INVALID_REQUEST and FATAL are never retried:
  recovery asks the venue by client order id before anything is sent again.
* ``CircuitBreaker`` / ``BreakerBoard``: stop calling an endpoint that keeps failing, probe it
  again after a cool-down (CLOSED -> OPEN -> HALF_OPEN -> CLOSED or OPEN).
* ``ErrorHandler``: logs every error (never a secret), alerts on EXCHANGE_ERROR with full detail,
  disables a venue on FATAL, and turns breaker transitions into alerts.

Nothing here reads the wall clock or the global random: time comes from a ``Clock`` and jitter
from a seeded ``random.Random``, so a retry storm replays identically in simulation.
"""

from __future__ import annotations

import functools
import logging
import random
import re
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import TracebackType
from typing import TypeVar

from harness.alerts import Alert, AlertSink, Severity
from harness.audit import SECRET_FIELD_MARKERS, redact
from harness.clock import NS_PER_SECOND, Clock, seconds_to_ns
from harness.contract import (
    AmbiguousError,
    ErrorCategory,
    ExchangeError,
    FatalError,
    InvalidRequestError,
    RateLimitedError,
    RetryableError,
    VenueError,
)
from harness.secrets import MASK, mask_secrets, safe_logger
from harness.secrets import version as secrets_version

__all__ = [
    "BREAKER_FAILURES",
    "DEFAULT_BAN_RETRY_AFTER_S",
    "DEFAULT_RETRY_AFTER_S",
    "NEVER_RETRIED",
    "BreakerBoard",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpenError",
    "ErrorHandler",
    "FatalCallback",
    "RetryCallback",
    "RetryPolicy",
    "TransitionCallback",
    "categorize",
    "error_from_http",
    "retry",
    "scrub",
]

logger = safe_logger(__name__)

_T = TypeVar("_T")

DEFAULT_RETRY_AFTER_S = Decimal(1)
"""Wait assumed for a 429 that carries no Retry-After header."""

DEFAULT_BAN_RETRY_AFTER_S = Decimal(120)
"""Wait assumed for a 418 (IP ban) without Retry-After: Binance's shortest ban."""

NEVER_RETRIED = frozenset({ErrorCategory.AMBIGUOUS, ErrorCategory.INVALID_REQUEST, ErrorCategory.FATAL})
"""Categories ``retry`` refuses to retry, whatever ``retry_on`` says."""

BREAKER_FAILURES = frozenset({ErrorCategory.RETRYABLE, ErrorCategory.AMBIGUOUS, ErrorCategory.EXCHANGE_ERROR})
"""Categories that count against a circuit breaker: the venue did not answer sanely.

A rejection (INVALID_REQUEST) or a rate-limit refusal is an answer from a healthy venue, and FATAL
disables the venue by itself, so none of them trips a breaker.
"""

_ASSIGNMENT = re.compile(
    r"""(?<![\w.-])(?P<q>["']?)(?P<name>[A-Za-z_][\w.-]*)(?P=q)(?P<sep>\s*[=:]\s*)"""
    r"""(?P<v>"[^"]*"|'[^']*'|[^&\s,;"'}\]]+)""")
_MAX_MESSAGE = 500


def _mask(match: re.Match[str]) -> str:
    name = match.group("name").lower()
    if not any(marker in name for marker in SECRET_FIELD_MARKERS):
        return match.group(0)
    value = match.group("v")
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group('q')}{match.group('name')}{match.group('q')}{match.group('sep')}{quote}{MASK}{quote}"


def scrub(message: str) -> str:
    """``message`` with every registered secret and any ``secret-looking-name=value`` masked, bounded.

    Venues sometimes echo a credential: in a query string (``...&signature=ab12``), a JSON body
    (``{"apiKey": "..."}``), a Python repr (``api_key='...'``) or free text (``Invalid API-key
    vmPUZE6m...``). Registered secret values (``harness.secrets``) are masked wherever they
    appear; secret-looking names (``harness.audit.SECRET_FIELD_MARKERS``) have their values
    masked whatever they are. The result is at most about 500 characters. Cached: venues repeat
    the same few refusal messages on every rejected request.
    """
    return _scrub(message, secrets_version())


@functools.lru_cache(maxsize=1024)
def _scrub(message: str, _version: int) -> str:
    """``scrub`` for one registry version (the version is part of the cache key)."""
    masked = mask_secrets(message)
    if len(masked) > _MAX_MESSAGE:
        masked = masked[:_MAX_MESSAGE] + "..."
    return _ASSIGNMENT.sub(_mask, masked)


# ---------------------------------------------------------------------------- categories


def categorize(exc: BaseException) -> ErrorCategory:
    """The one ``ErrorCategory`` of ``exc``, decided by its type alone (so always the same per type).

    ``VenueError`` subclasses carry their category (``AmbiguousError`` gives AMBIGUOUS); a timeout
    or a connection/OS error on a request is RETRYABLE (an adapter that knows a *submit* timed out
    raises ``AmbiguousError`` instead); anything else is an unexpected EXCHANGE_ERROR.
    """
    if isinstance(exc, VenueError):
        return exc.category
    if isinstance(exc, TimeoutError | ConnectionError | OSError):  # asyncio.TimeoutError is TimeoutError
        return ErrorCategory.RETRYABLE
    return ErrorCategory.EXCHANGE_ERROR


def error_from_http(status: int, *, venue: str, code: int | str | None, message: str,
                    retry_after_s: Decimal | None, order_entry: bool) -> VenueError:
    """Map one HTTP error answer of a venue to the typed error tree (the one place live adapters do).

    5xx and 408 are transient, but on an order-entry request the order may exist, so they become
    ``AmbiguousError`` there; 429 is ``RateLimitedError`` and 418 a ban; 401/403 are FATAL
    (credentials or permissions); any other 4xx is the venue refusing this request; anything else
    is an ``ExchangeError`` to alert on. Venue-specific meanings (Bybit's 403 IP block, Binance's
    403 WAF refusal) must be mapped by the adapter before calling this. ``message`` is scrubbed.
    """
    if isinstance(status, bool) or not isinstance(status, int):
        raise TypeError(f"status must be an int HTTP status, not {type(status).__name__}")
    text = scrub(message)
    if status >= 500 or status == 408:
        cls: type[RetryableError] = AmbiguousError if order_entry else RetryableError
        return cls(text, venue=venue, code=code, http_status=status)
    if status == 429:
        wait = DEFAULT_RETRY_AFTER_S if retry_after_s is None else retry_after_s
        return RateLimitedError(text, retry_after_s=wait, venue=venue, code=code, http_status=status)
    if status == 418:
        wait = DEFAULT_BAN_RETRY_AFTER_S if retry_after_s is None else retry_after_s
        return RateLimitedError(text, retry_after_s=wait, banned=True, venue=venue, code=code, http_status=status)
    if status in (401, 403):
        return FatalError(text, venue=venue, code=code, http_status=status)
    if 400 <= status < 500:
        return InvalidRequestError(text, venue=venue, code=code, http_status=status)
    return ExchangeError(text, venue=venue, code=code, http_status=status)


# ---------------------------------------------------------------------------- retry


def _check_int(value: int, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


_JITTER_STEPS = 1_000_000
"""Resolution of the jitter draw: an integer in [-steps, steps] (no float arithmetic)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: retry ``n`` waits ``min(max_delay, initial * multiplier**n)`` +/- jitter.

    ``max_retries`` counts retries after the first attempt (0: never retry). ``jitter`` is a
    fraction (``Decimal("0.1")``: +/-10 %) that spreads clients apart so they do not retry in
    lock-step; the jittered delay never exceeds ``max_delay_ns``.
    """

    initial_delay_ns: int
    multiplier: Decimal
    max_delay_ns: int
    max_retries: int
    jitter: Decimal = Decimal("0.1")

    def __post_init__(self) -> None:
        _check_int(self.initial_delay_ns, "initial_delay_ns", 0)
        _check_int(self.max_delay_ns, "max_delay_ns", self.initial_delay_ns)
        _check_int(self.max_retries, "max_retries", 0)
        for name in ("multiplier", "jitter"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise TypeError(f"{name} must be a finite Decimal, got {value!r}")
        if self.multiplier < 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter}")

    def base_delay_ns(self, attempt: int) -> int:
        """The un-jittered delay before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
        _check_int(attempt, "attempt", 0)
        if self.multiplier == 1:
            return self.initial_delay_ns
        # Stop multiplying once past the cap: huge attempt numbers stay cheap and exact.
        delay = Decimal(self.initial_delay_ns)
        for _ in range(attempt):
            delay *= self.multiplier
            if delay >= self.max_delay_ns:
                return self.max_delay_ns
        return min(self.max_delay_ns, int(delay.to_integral_value()))

    def delay_ns(self, attempt: int, rng: random.Random) -> int:
        """The jittered delay before retry number ``attempt + 1``, drawing once from ``rng``."""
        base = self.base_delay_ns(attempt)
        if self.jitter == 0:
            return base
        step = rng.randint(-_JITTER_STEPS, _JITTER_STEPS)
        factor = 1 + self.jitter * Decimal(step) / _JITTER_STEPS
        return min(self.max_delay_ns, max(0, int((base * factor).to_integral_value())))


RetryCallback = Callable[[int, BaseException, int], None]
"""``on_retry(retry_number, error, delay_ns)``, called before each backoff sleep."""


async def retry(call: Callable[[], Awaitable[_T]], *, policy: RetryPolicy, clock: Clock, rng: random.Random,
                retry_on: Iterable[ErrorCategory] = (ErrorCategory.RETRYABLE,),
                breaker: CircuitBreaker | None = None, on_retry: RetryCallback | None = None) -> _T:
    """Await ``call()`` until it succeeds, retrying what may be retried, then raise the last error.

    Errors whose category is in ``retry_on`` wait ``policy.delay_ns(n)`` before retry ``n + 1``;
    RATE_LIMITED errors wait the venue's ``retry_after_s`` (or the backoff, if longer) and count
    as an attempt too. AMBIGUOUS, INVALID_REQUEST and FATAL are raised at once (and refused in
    ``retry_on``): an ambiguous submit is for recovery to resolve by client order id. After
    ``policy.max_retries`` retries the last error is raised. With a ``breaker``, each attempt
    goes through ``breaker.guard()`` (an open circuit refuses with ``CircuitOpenError``).
    """
    allowed = frozenset(retry_on)
    forbidden = allowed & NEVER_RETRIED
    if forbidden:
        raise ValueError(f"retry_on must not include {sorted(forbidden)}: those are never retried blindly")
    attempt = 0
    while True:
        try:
            if breaker is None:
                return await call()
            with breaker.guard():
                return await call()
        except Exception as exc:
            category = categorize(exc)
            if category is not ErrorCategory.RATE_LIMITED and category not in allowed:
                raise
            if attempt >= policy.max_retries:
                raise
            delay = policy.delay_ns(attempt, rng)
            if isinstance(exc, RateLimitedError):
                delay = max(delay, seconds_to_ns(exc.retry_after_s))
            attempt += 1
            logger.info("retry %d/%d after %s (%s): waiting %d ns", attempt, policy.max_retries,
                        type(exc).__name__, category.value, delay)
            if on_retry is not None:
                on_retry(attempt, exc, delay)
            await clock.sleep_ns(delay)


# ---------------------------------------------------------------------------- circuit breakers


class BreakerState(StrEnum):
    """A circuit breaker's state: CLOSED passes calls, OPEN refuses them, HALF_OPEN allows one trial."""

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


TransitionCallback = Callable[[str, BreakerState, BreakerState, int], None]
"""``on_transition(breaker_name, old_state, new_state, ts_ns)``."""


class CircuitOpenError(RetryableError):
    """A call refused locally because the endpoint's circuit is open; it never reached the venue."""

    def __init__(self, *, venue: str, endpoint: str, half_open_at_ns: int | None) -> None:
        when = "after the current trial call" if half_open_at_ns is None else f"at {half_open_at_ns} ns"
        super().__init__(f"circuit open for {endpoint or 'endpoint'}; next trial {when}", venue=venue,
                         code="CIRCUIT_OPEN")
        self.endpoint = endpoint
        self.half_open_at_ns = half_open_at_ns


class _Guard:
    """Context manager around one call: refuses when open, records the outcome on exit."""

    __slots__ = ("_breaker",)

    def __init__(self, breaker: CircuitBreaker) -> None:
        self._breaker = breaker

    def __enter__(self) -> None:
        self._breaker.before_call()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        breaker = self._breaker
        if exc is None:
            breaker.record_success()
        elif not isinstance(exc, Exception):  # cancelled: no verdict on the venue's health
            breaker.release()
        elif categorize(exc) in BREAKER_FAILURES:
            breaker.record_failure()
        else:
            breaker.record_success()  # the venue answered (a rejection or a rate limit)


class CircuitBreaker:
    """Stops calls to an endpoint after repeated failures, then probes it with one trial call.

    Opens after ``failure_threshold`` failures within the sliding ``window_ns``; while OPEN every
    call is refused with ``CircuitOpenError``; ``open_ns`` after opening the next call is let
    through as a trial (HALF_OPEN): its success closes the circuit, its failure re-opens it. The
    OPEN -> HALF_OPEN step happens when the breaker is next consulted (no timers, so it works
    outside an event loop). Every transition is logged and reported to ``on_transition``.
    """

    def __init__(self, name: str, clock: Clock, *, venue: str = "", endpoint: str = "",
                 failure_threshold: int = 5, window_ns: int = 30 * NS_PER_SECOND,
                 open_ns: int = 60 * NS_PER_SECOND, on_transition: TransitionCallback | None = None) -> None:
        _check_int(failure_threshold, "failure_threshold", 1)
        _check_int(window_ns, "window_ns", 1)
        _check_int(open_ns, "open_ns", 0)
        self.name = name
        self.venue = venue
        self.endpoint = endpoint
        self._clock = clock
        self._threshold = failure_threshold
        self._window_ns = window_ns
        self._open_ns = open_ns
        self._on_transition = on_transition
        self._state = BreakerState.CLOSED
        self._failures: deque[int] = deque()
        self._opened_at_ns = 0
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        """The current state (an OPEN breaker whose cool-down is over reports HALF_OPEN)."""
        self._maybe_half_open()
        return self._state

    @property
    def half_open_at_ns(self) -> int | None:
        """When an OPEN breaker will allow a trial call; ``None`` unless OPEN."""
        return self._opened_at_ns + self._open_ns if self.state is BreakerState.OPEN else None

    def guard(self) -> _Guard:
        """``with breaker.guard(): await call()``: refuse when open, record the outcome."""
        return _Guard(self)

    def before_call(self) -> None:
        """Raise ``CircuitOpenError`` unless a call may go out now (claims the trial when HALF_OPEN)."""
        if self._state is BreakerState.CLOSED:  # the common case; only an OPEN breaker changes when consulted
            return
        state = self.state
        if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return
        raise CircuitOpenError(venue=self.venue, endpoint=self.endpoint, half_open_at_ns=self.half_open_at_ns)

    def record_success(self) -> None:
        """A call got a sane answer: a HALF_OPEN trial closes the circuit."""
        self._trial_in_flight = False
        if self._state is not BreakerState.CLOSED and self.state is BreakerState.HALF_OPEN:
            self._failures.clear()
            self._transition(BreakerState.CLOSED)

    def record_failure(self) -> None:
        """A call failed: count it in the window (CLOSED) or re-open (HALF_OPEN trial)."""
        now = self._clock.now_ns()
        self._trial_in_flight = False
        state = self.state
        if state is BreakerState.HALF_OPEN:
            self._open(now)
            return
        if state is BreakerState.OPEN:
            return  # a call that was already in flight when the circuit opened
        self._failures.append(now)
        while self._failures and self._failures[0] <= now - self._window_ns:
            self._failures.popleft()
        if len(self._failures) >= self._threshold:
            self._open(now)

    def release(self) -> None:
        """A call ended without a verdict (cancelled): free the trial slot for another call."""
        self._trial_in_flight = False

    def _open(self, now: int) -> None:
        self._opened_at_ns = now
        self._failures.clear()
        self._transition(BreakerState.OPEN)

    def _maybe_half_open(self) -> None:
        if self._state is BreakerState.OPEN and self._clock.now_ns() >= self._opened_at_ns + self._open_ns:
            self._trial_in_flight = False
            self._transition(BreakerState.HALF_OPEN)

    def _transition(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        ts = self._clock.now_ns()
        log = logger.warning if new is BreakerState.OPEN else logger.info
        log("circuit breaker %s: %s -> %s at %d", self.name, old.value, new.value, ts)
        if self._on_transition is not None:
            self._on_transition(self.name, old, new, ts)


class BreakerBoard:
    """One ``CircuitBreaker`` per (venue, endpoint), created on first use with shared settings."""

    def __init__(self, clock: Clock, *, failure_threshold: int = 5, window_ns: int = 30 * NS_PER_SECOND,
                 open_ns: int = 60 * NS_PER_SECOND, on_transition: TransitionCallback | None = None) -> None:
        _check_int(failure_threshold, "failure_threshold", 1)
        _check_int(window_ns, "window_ns", 1)
        _check_int(open_ns, "open_ns", 0)
        self._clock = clock
        self._settings = (failure_threshold, window_ns, open_ns)
        self._on_transition = on_transition
        self._breakers: dict[tuple[str, str], CircuitBreaker] = {}

    def get(self, venue: str, endpoint: str) -> CircuitBreaker:
        """The breaker of ``endpoint`` on ``venue`` (named ``"venue endpoint"``)."""
        key = (venue, endpoint)
        breaker = self._breakers.get(key)
        if breaker is None:
            threshold, window_ns, open_ns = self._settings
            breaker = CircuitBreaker(f"{venue} {endpoint}", self._clock, venue=venue, endpoint=endpoint,
                                     failure_threshold=threshold, window_ns=window_ns, open_ns=open_ns,
                                     on_transition=self._on_transition)
            self._breakers[key] = breaker
        return breaker

    def is_open(self, venue: str) -> bool:
        """True while any endpoint of ``venue`` refuses calls (OPEN, cool-down not over)."""
        # ``state`` is consulted (and may move OPEN -> HALF_OPEN) only for breakers that are OPEN
        return any(b._state is BreakerState.OPEN and b.state is BreakerState.OPEN
                   for (v, _), b in self._breakers.items() if v == venue)

    def states(self, venue: str | None = None) -> dict[tuple[str, str], BreakerState]:
        """Every breaker's state, optionally for one venue (dashboards, tests)."""
        return {key: b.state for key, b in self._breakers.items() if venue is None or key[0] == venue}


# ---------------------------------------------------------------------------- handling


FatalCallback = Callable[[str, VenueError], None]
"""``on_fatal(venue, error)``: the registry disables the venue."""


class ErrorHandler:
    """Where every venue error is logged and, by category, escalated (alerts, venue disablement).

    EXCHANGE_ERROR raises an ``"exchange_error"`` alert carrying code, message, HTTP status and
    the (redacted) request context; FATAL calls ``on_fatal`` and raises a CRITICAL
    ``"venue_fatal"`` alert; ``on_breaker_transition`` (pass it to a ``BreakerBoard``) raises a
    ``"circuit_breaker"`` alert per transition. Nothing logged or alerted contains a secret.
    """

    def __init__(self, clock: Clock, alerts: AlertSink, *, on_fatal: FatalCallback) -> None:
        self._clock = clock
        self._alerts = alerts
        self._on_fatal = on_fatal

    def handle(self, exc: BaseException, *, venue: str, endpoint: str,
               context: Mapping[str, str]) -> ErrorCategory:
        """Log ``exc`` from ``endpoint`` on ``venue``, escalate it by category, return the category."""
        category = categorize(exc)
        if category is ErrorCategory.INVALID_REQUEST:
            # routine (e.g. a post-only order that would take): the details only feed an INFO line
            if logger.isEnabledFor(logging.INFO):
                logger.info("%s %s: request refused: %s", venue, endpoint, self._details(exc, endpoint, context))
            return category
        details = self._details(exc, endpoint, context)
        if category is ErrorCategory.EXCHANGE_ERROR:
            logger.error("%s %s: exchange error %s", venue, endpoint, details)
            self._raise(Severity.WARNING, "exchange_error", venue, f"{venue} {endpoint}: {details['message']}",
                        details)
        elif category is ErrorCategory.FATAL:
            logger.critical("%s %s: fatal error, disabling venue: %s", venue, endpoint, details)
            error = exc if isinstance(exc, VenueError) else FatalError(details["message"], venue=venue)
            self._on_fatal(venue, error)
            self._raise(Severity.CRITICAL, "venue_fatal", venue,
                        f"{venue} disabled after a fatal error on {endpoint}: {details['message']}", details)
        else:
            logger.warning("%s %s: %s: %s", venue, endpoint, category.value, details)
        return category

    def on_breaker_transition(self, name: str, old: BreakerState, new: BreakerState, ts_ns: int) -> None:
        """Alert on a circuit-breaker transition (WARNING when it opens, INFO otherwise).

        The venue is read from the breaker's name, ``"venue endpoint"`` as ``BreakerBoard`` names them.
        """
        venue = name.split(" ", 1)[0]
        severity = Severity.WARNING if new is BreakerState.OPEN else Severity.INFO
        self._alerts.raise_alert(Alert(ts_ns, severity, "errors", "circuit_breaker",
                                       f"circuit {name}: {old.value} -> {new.value}", venue,
                                       {"breaker": name, "from": old.value, "to": new.value}))

    @staticmethod
    def _details(exc: BaseException, endpoint: str, context: Mapping[str, str]) -> dict[str, str]:
        details = {f"request.{k}": v for k, v in redact(context).items()}
        details["endpoint"] = endpoint
        details["type"] = type(exc).__name__
        if isinstance(exc, VenueError):
            details["message"] = scrub(exc.message)
            details["code"] = "" if exc.code is None else str(exc.code)
            details["http_status"] = "" if exc.http_status is None else str(exc.http_status)
            if isinstance(exc, RateLimitedError):
                details["retry_after_s"] = str(exc.retry_after_s)
                details["banned"] = str(exc.banned)
        else:
            details["message"] = scrub(str(exc))
            details["code"] = ""
            details["http_status"] = ""
        return details

    def _raise(self, severity: Severity, kind: str, venue: str, message: str, details: Mapping[str, str]) -> None:
        self._alerts.raise_alert(Alert(self._clock.now_ns(), severity, "errors", kind, message, venue, dict(details)))

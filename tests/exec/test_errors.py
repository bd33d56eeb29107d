"""harness.errors: categorization, HTTP mapping, backoff, retry, circuit breakers, the error handler."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.alerts import AlertSink, Severity
from harness.clock import NS_PER_SECOND, seconds_to_ns
from harness.contract import (
    AmbiguousError,
    ErrorCategory,
    ExchangeError,
    FatalError,
    InvalidRequestError,
    NotSupportedError,
    OrderNotFoundError,
    RateLimitedError,
    RetryableError,
    VenueError,
)
from harness.errors import (
    BreakerBoard,
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    ErrorHandler,
    RetryPolicy,
    categorize,
    error_from_http,
    retry,
    scrub,
)
from sim.kernel.runtime import SimRuntime

S = NS_PER_SECOND
T0 = 1_723_161_600 * S

# The expected category of each exception type, written out independently of the code under test.
EXPECTED: dict[type[BaseException], ErrorCategory] = {
    RetryableError: ErrorCategory.RETRYABLE,
    AmbiguousError: ErrorCategory.AMBIGUOUS,
    InvalidRequestError: ErrorCategory.INVALID_REQUEST,
    NotSupportedError: ErrorCategory.INVALID_REQUEST,
    OrderNotFoundError: ErrorCategory.INVALID_REQUEST,
    ExchangeError: ErrorCategory.EXCHANGE_ERROR,
    FatalError: ErrorCategory.FATAL,
    VenueError: ErrorCategory.EXCHANGE_ERROR,
    TimeoutError: ErrorCategory.RETRYABLE,
    asyncio.TimeoutError: ErrorCategory.RETRYABLE,
    ConnectionResetError: ErrorCategory.RETRYABLE,
    ConnectionError: ErrorCategory.RETRYABLE,
    OSError: ErrorCategory.RETRYABLE,
    ValueError: ErrorCategory.EXCHANGE_ERROR,
    KeyError: ErrorCategory.EXCHANGE_ERROR,
    RuntimeError: ErrorCategory.EXCHANGE_ERROR,
}


def make_error(cls: type[BaseException], message: str, code: int | None) -> BaseException:
    if issubclass(cls, VenueError):
        return cls(message, venue="binance", code=code)
    return cls(message)


exception_types = st.sampled_from([*EXPECTED, RateLimitedError])


@settings(max_examples=200)
@given(cls=exception_types, message=st.text(max_size=40), code=st.none() | st.integers(-3000, 3000),
       retry_after=st.integers(0, 300))
def test_property_7_error_categorization_completeness(cls: type[BaseException], message: str, code: int | None,
                                                      retry_after: int) -> None:
    if cls is RateLimitedError:
        first: BaseException = RateLimitedError(message, retry_after_s=Decimal(retry_after), code=code)
        second: BaseException = RateLimitedError("other", retry_after_s=Decimal(1), banned=True)
        expected = ErrorCategory.RATE_LIMITED
    else:
        first, second = make_error(cls, message, code), make_error(cls, "something else", None)
        expected = EXPECTED[cls]
    category = categorize(first)
    assert isinstance(category, ErrorCategory)
    assert category is expected
    assert categorize(second) is category  # consistent for the same type


def expected_http(status: int, order_entry: bool) -> ErrorCategory:
    if status >= 500 or status == 408:
        return ErrorCategory.AMBIGUOUS if order_entry else ErrorCategory.RETRYABLE
    if status in (429, 418):
        return ErrorCategory.RATE_LIMITED
    if status in (401, 403):
        return ErrorCategory.FATAL
    if 400 <= status < 500:
        return ErrorCategory.INVALID_REQUEST
    return ErrorCategory.EXCHANGE_ERROR


@settings(max_examples=300)
@given(status=st.integers(100, 599), order_entry=st.booleans(), code=st.none() | st.integers(-3000, 0),
       retry_after=st.none() | st.integers(0, 600).map(Decimal))
def test_property_7_http_mapping_is_total_and_typed(status: int, order_entry: bool, code: int | None,
                                                   retry_after: Decimal | None) -> None:
    error = error_from_http(status, venue="binance", code=code, message="boom", retry_after_s=retry_after,
                            order_entry=order_entry)
    assert categorize(error) is expected_http(status, order_entry)
    assert (error.venue, error.code, error.http_status) == ("binance", code, status)
    if isinstance(error, RateLimitedError):
        assert error.banned is (status == 418)
        if retry_after is not None:
            assert error.retry_after_s == retry_after
        assert error.retry_after_s > 0 or retry_after == 0


def test_http_messages_are_scrubbed_of_secrets() -> None:
    error = error_from_http(400, venue="binance", code=-1022, order_entry=True, retry_after_s=None,
                            message="Signature invalid: symbol=BTCUSDT&signature=abc123&apiKey=XYZ&timestamp=1")
    assert "abc123" not in str(error) and "XYZ" not in str(error)
    assert "symbol=BTCUSDT" in error.message and "timestamp=1" in error.message
    assert len(scrub("x" * 5000)) < 600


def test_error_from_http_rejects_non_int_status() -> None:
    with pytest.raises(TypeError, match="status"):
        error_from_http("500", venue="v", code=None, message="", retry_after_s=None,  # type: ignore[arg-type]
                        order_entry=False)


# ---------------------------------------------------------------------------- backoff

policies = st.builds(
    RetryPolicy,
    initial_delay_ns=st.integers(0, 5 * S),
    multiplier=st.sampled_from([Decimal(1), Decimal("1.5"), Decimal(2), Decimal(3)]),
    max_delay_ns=st.integers(5 * S, 120 * S),
    max_retries=st.integers(0, 6),
    jitter=st.sampled_from([Decimal(0), Decimal("0.1"), Decimal("0.25")]),
)


def exact_base(policy: RetryPolicy, attempt: int) -> Fraction:
    return min(Fraction(policy.max_delay_ns), policy.initial_delay_ns * Fraction(policy.multiplier) ** attempt)


@settings(max_examples=300)
@given(policy=policies, attempt=st.integers(0, 200), seed=st.integers(0, 2**32))
def test_property_6_backoff_delay_is_exponential_capped_and_jittered(policy: RetryPolicy, attempt: int,
                                                                    seed: int) -> None:
    base = exact_base(policy, attempt)
    assert abs(policy.base_delay_ns(attempt) - base) <= 1
    delay = policy.delay_ns(attempt, random.Random(seed))
    assert isinstance(delay, int)
    jitter = Fraction(policy.jitter)
    upper = min(Fraction(policy.max_delay_ns), base * (1 + jitter) + 1)
    assert base * (1 - jitter) - 1 <= delay <= upper
    assert delay == policy.delay_ns(attempt, random.Random(seed))  # seeded: reproducible


def test_jitter_spreads_delays() -> None:
    policy = RetryPolicy(initial_delay_ns=S, multiplier=Decimal(2), max_delay_ns=60 * S, max_retries=5,
                         jitter=Decimal("0.1"))
    rng = random.Random(3)
    delays = {policy.delay_ns(2, rng) for _ in range(50)}
    assert len(delays) > 10
    assert min(delays) >= 4 * S * Decimal("0.9") and max(delays) <= 4 * S * Decimal("1.1")


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"initial_delay_ns": -1}, "initial_delay_ns"),
    ({"initial_delay_ns": 0.5}, "initial_delay_ns"),
    ({"max_delay_ns": 10}, "max_delay_ns"),
    ({"max_retries": -1}, "max_retries"),
    ({"multiplier": Decimal("0.5")}, "multiplier"),
    ({"multiplier": 2.0}, "multiplier"),
    ({"jitter": Decimal(1)}, "jitter"),
])
def test_retry_policy_validation(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"initial_delay_ns": S, "multiplier": Decimal(2), "max_delay_ns": 60 * S,
                               "max_retries": 3}
    args.update(kwargs)
    with pytest.raises((TypeError, ValueError), match=match):
        RetryPolicy(**args)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- retry


def run(coro_factory: Callable[[SimRuntime], object]) -> None:
    with SimRuntime(seed=0, start_ns=T0) as rt:
        rt.run(coro_factory(rt))  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(policy=policies, failures=st.integers(0, 8), seed=st.integers(0, 2**16))
def test_property_6_retry_backs_off_and_stops_after_max_retries(policy: RetryPolicy, failures: int,
                                                                seed: int) -> None:
    calls: list[int] = []
    raised: list[RetryableError] = []
    retries: list[tuple[int, int]] = []

    async def main(rt: SimRuntime) -> None:
        async def call() -> str:
            calls.append(rt.clock.now_ns())
            if len(calls) <= failures:
                error = RetryableError(f"failure {len(calls)}", venue="v")
                raised.append(error)
                raise error
            return "ok"

        try:
            result = await retry(call, policy=policy, clock=rt.clock, rng=random.Random(seed),
                                 on_retry=lambda n, exc, delay: retries.append((n, delay)))
        except RetryableError as exc:
            assert failures > policy.max_retries
            assert exc is raised[-1]  # the last error, not a wrapper
        else:
            assert result == "ok" and failures <= policy.max_retries

    run(main)
    assert len(calls) == min(failures, policy.max_retries) + 1
    replay = random.Random(seed)
    expected = [policy.delay_ns(i, replay) for i in range(len(calls) - 1)]
    assert [b - a for a, b in itertools.pairwise(calls)] == expected
    assert retries == [(i + 1, d) for i, d in enumerate(expected)]


@pytest.mark.parametrize("error", [
    AmbiguousError("submit timed out", venue="v"),
    InvalidRequestError("bad tick", venue="v", code=-1013),
    OrderNotFoundError("unknown order", venue="v", code=-2013),
    FatalError("key revoked", venue="v", code=-2015),
    ExchangeError("weird", venue="v"),
])
def test_retry_never_retries_ambiguous_invalid_fatal_or_unlisted(error: VenueError) -> None:
    calls = 0

    async def main(rt: SimRuntime) -> None:
        async def call() -> None:
            nonlocal calls
            calls += 1
            raise error

        policy = RetryPolicy(initial_delay_ns=S, multiplier=Decimal(2), max_delay_ns=10 * S, max_retries=5)
        with pytest.raises(type(error)) as info:
            await retry(call, policy=policy, clock=rt.clock, rng=random.Random(0))
        assert info.value is error

    run(main)
    assert calls == 1


def test_retry_on_may_not_name_never_retried_categories() -> None:
    async def main(rt: SimRuntime) -> None:
        async def call() -> None:
            return None

        policy = RetryPolicy(initial_delay_ns=S, multiplier=Decimal(2), max_delay_ns=10 * S, max_retries=5)
        with pytest.raises(ValueError, match="AMBIGUOUS"):
            await retry(call, policy=policy, clock=rt.clock, rng=random.Random(0),
                        retry_on=(ErrorCategory.RETRYABLE, ErrorCategory.AMBIGUOUS))

    run(main)


@settings(max_examples=30, deadline=None)
@given(retry_after=st.integers(1, 120), initial_ms=st.integers(1, 500))
def test_property_34_retry_waits_retry_after_on_rate_limit(retry_after: int, initial_ms: int) -> None:
    calls: list[int] = []

    async def main(rt: SimRuntime) -> None:
        async def call() -> str:
            calls.append(rt.clock.now_ns())
            if len(calls) == 1:
                raise RateLimitedError("429", retry_after_s=Decimal(retry_after), venue="v")
            return "ok"

        policy = RetryPolicy(initial_delay_ns=initial_ms * 1_000_000, multiplier=Decimal(2), max_delay_ns=S,
                             max_retries=1, jitter=Decimal(0))
        assert await retry(call, policy=policy, clock=rt.clock, rng=random.Random(0)) == "ok"

    run(main)
    assert len(calls) == 2
    assert calls[1] - calls[0] == seconds_to_ns(retry_after)


def test_retry_with_breaker_stops_at_open_circuit() -> None:
    calls = 0

    async def main(rt: SimRuntime) -> None:
        breaker = CircuitBreaker("v e", rt.clock, venue="v", endpoint="e", failure_threshold=3)

        async def call() -> None:
            nonlocal calls
            calls += 1
            raise RetryableError("down", venue="v")

        policy = RetryPolicy(initial_delay_ns=S // 10, multiplier=Decimal(1), max_delay_ns=S, max_retries=6,
                             jitter=Decimal(0))
        with pytest.raises(CircuitOpenError) as info:
            await retry(call, policy=policy, clock=rt.clock, rng=random.Random(0), breaker=breaker)
        assert info.value.endpoint == "e" and info.value.venue == "v"
        assert breaker.state is BreakerState.OPEN

    run(main)
    assert calls == 3  # the other retries were refused locally


# ---------------------------------------------------------------------------- circuit breakers


class StepClock:
    """A hand-moved clock for synchronous breaker tests (only ``now_ns`` is used)."""

    def __init__(self) -> None:
        self.t = T0

    def now_ns(self) -> int:
        return self.t

    def monotonic_ns(self) -> int:
        return self.t


def breaker_with_log(clock: StepClock, **kwargs: int) -> tuple[CircuitBreaker, list[tuple[int, str, str]]]:
    log: list[tuple[int, str, str]] = []
    breaker = CircuitBreaker("binance GET /api/v3/order", clock, venue="binance",  # type: ignore[arg-type]
                             endpoint="GET /api/v3/order",
                             on_transition=lambda name, old, new, ts: log.append((ts - T0, old.value, new.value)),
                             **kwargs)
    return breaker, log


def test_breaker_lifecycle_exact_log() -> None:
    clock = StepClock()
    breaker, log = breaker_with_log(clock)
    for _ in range(5):
        breaker.before_call()
        breaker.record_failure()
        clock.t += S
    assert breaker.state.value == "OPEN"
    with pytest.raises(CircuitOpenError) as info:
        breaker.before_call()
    assert info.value.half_open_at_ns == T0 + 4 * S + 60 * S
    assert "GET /api/v3/order" in str(info.value) and info.value.venue == "binance"
    assert categorize(info.value) is ErrorCategory.RETRYABLE
    clock.t = T0 + 64 * S
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.before_call()  # the one trial
    with pytest.raises(CircuitOpenError):
        breaker.before_call()  # a second call while the trial is out
    breaker.record_failure()  # trial failed: re-open
    clock.t += 60 * S
    breaker.before_call()
    breaker.record_success()  # trial succeeded: close
    breaker.before_call()
    assert log == [(4 * S, "CLOSED", "OPEN"), (64 * S, "OPEN", "HALF_OPEN"), (64 * S, "HALF_OPEN", "OPEN"),
                   (124 * S, "OPEN", "HALF_OPEN"), (124 * S, "HALF_OPEN", "CLOSED")]


@settings(max_examples=200)
@given(gaps=st.lists(st.integers(0, 20 * S), min_size=1, max_size=30), threshold=st.integers(1, 6))
def test_breaker_opens_exactly_at_threshold_failures_within_window(gaps: list[int], threshold: int) -> None:
    clock = StepClock()
    breaker, log = breaker_with_log(clock, failure_threshold=threshold)
    times: list[int] = []
    opened_at = None
    for gap in gaps:
        clock.t += gap
        times.append(clock.t)
        breaker.record_failure()
        if breaker.state is BreakerState.OPEN:
            opened_at = len(times) - 1
            break
    # Reference: the first failure index i with `threshold` failures inside the 30 s window ending at it.
    expected = next((i for i in range(threshold - 1, len(times))
                     if times[i] - times[i - threshold + 1] < 30 * S), None)
    assert opened_at == expected
    assert len(log) == (0 if expected is None else 1)


def test_cancelled_trial_frees_the_slot() -> None:
    clock = StepClock()
    breaker, _ = breaker_with_log(clock, failure_threshold=1)
    breaker.record_failure()
    clock.t += 60 * S

    class Cancelled(BaseException):
        pass

    with pytest.raises(Cancelled), breaker.guard():
        raise Cancelled
    with breaker.guard():  # the slot was released, so a new trial may go
        pass
    assert breaker.state is BreakerState.CLOSED


def test_breaker_ignores_answers_from_a_healthy_venue() -> None:
    clock = StepClock()
    breaker, _ = breaker_with_log(clock, failure_threshold=2)
    for error in (InvalidRequestError("bad", venue="v"), RateLimitedError("429", retry_after_s=Decimal(1))):
        for _ in range(3):
            with pytest.raises(type(error)), breaker.guard():
                raise error
    assert breaker.state is BreakerState.CLOSED


def test_breaker_board_per_venue_and_endpoint() -> None:
    clock = StepClock()
    sink = AlertSink()
    handler = ErrorHandler(clock, sink, on_fatal=lambda venue, exc: None)  # type: ignore[arg-type]
    board = BreakerBoard(clock, failure_threshold=2, on_transition=handler.on_breaker_transition)  # type: ignore[arg-type]
    assert board.get("binance", "GET /api/v3/order") is board.get("binance", "GET /api/v3/order")
    for _ in range(2):
        board.get("binance", "GET /api/v3/order").record_failure()
    board.get("okx", "GET /api/v3/order").record_failure()
    assert board.is_open("binance") and not board.is_open("okx")
    assert board.get("binance", "GET /api/v3/depth").state is BreakerState.CLOSED
    alerts = sink.of_kind("circuit_breaker")
    assert [(a.venue, a.severity, a.details["to"]) for a in alerts] == [("binance", Severity.WARNING, "OPEN")]
    clock.t += 60 * S
    assert not board.is_open("binance")
    assert sink.of_kind("circuit_breaker")[-1].details["to"] == "HALF_OPEN"


# ---------------------------------------------------------------------------- error handler

contexts = st.dictionaries(st.sampled_from(["symbol", "side", "quantity", "api_key", "signature", "orderId"]),
                           st.text(alphabet="abcXYZ0123", min_size=1, max_size=8), max_size=5)


@settings(max_examples=100)
@given(code=st.integers(-3000, 3000), message=st.text(alphabet="abc def:", min_size=1, max_size=30),
       context=contexts, status=st.none() | st.integers(500, 599))
def test_property_38_exchange_errors_alert_with_full_detail(code: int, message: str, context: dict[str, str],
                                                            status: int | None) -> None:
    clock = StepClock()
    sink = AlertSink()
    fatal: list[str] = []
    handler = ErrorHandler(clock, sink, on_fatal=lambda venue, exc: fatal.append(venue))  # type: ignore[arg-type]
    error = ExchangeError(message, venue="binance", code=code, http_status=status)
    category = handler.handle(error, venue="binance", endpoint="POST /api/v3/order", context=context)
    assert category is ErrorCategory.EXCHANGE_ERROR
    [alert] = sink.of_kind("exchange_error")
    assert alert.venue == "binance" and alert.ts_ns == T0
    assert alert.details["code"] == str(code)
    assert alert.details["message"] == message
    assert alert.details["endpoint"] == "POST /api/v3/order"
    assert alert.details["http_status"] == ("" if status is None else str(status))
    for key, value in context.items():
        secret = key in ("api_key", "signature")
        assert alert.details[f"request.{key}"] == ("***" if secret else value)
    assert fatal == []


def test_unexpected_exceptions_alert_as_exchange_errors() -> None:
    sink = AlertSink()
    handler = ErrorHandler(StepClock(), sink, on_fatal=lambda venue, exc: None)  # type: ignore[arg-type]
    assert handler.handle(KeyError("price"), venue="okx", endpoint="GET /x", context={}) is ErrorCategory.EXCHANGE_ERROR
    [alert] = sink.alerts
    assert alert.kind == "exchange_error" and alert.details["type"] == "KeyError"


def test_fatal_disables_venue_and_raises_critical_alert() -> None:
    sink = AlertSink()
    disabled: list[tuple[str, VenueError]] = []
    handler = ErrorHandler(StepClock(), sink, on_fatal=lambda venue, exc: disabled.append((venue, exc)))  # type: ignore[arg-type]
    error = FatalError("API key revoked", venue="binance", code=-2015, http_status=401)
    assert handler.handle(error, venue="binance", endpoint="GET /api/v3/account",
                          context={"apiKey": "k-123"}) is ErrorCategory.FATAL
    assert disabled == [("binance", error)]
    [alert] = sink.alerts
    assert (alert.kind, alert.severity, alert.venue) == ("venue_fatal", Severity.CRITICAL, "binance")
    assert "k-123" not in repr(alert)


@pytest.mark.parametrize("error", [
    RetryableError("down", venue="v"),
    AmbiguousError("timeout", venue="v"),
    InvalidRequestError("bad", venue="v"),
    RateLimitedError("429", retry_after_s=Decimal(3), venue="v"),
])
def test_other_categories_are_logged_without_alerts(error: VenueError, caplog: pytest.LogCaptureFixture) -> None:
    sink = AlertSink()
    handler = ErrorHandler(StepClock(), sink, on_fatal=lambda venue, exc: None)  # type: ignore[arg-type]
    with caplog.at_level("INFO", logger="harness.errors"):
        assert handler.handle(error, venue="v", endpoint="e", context={"secret": "s3cr3t"}) is error.category
    assert sink.alerts == ()
    assert caplog.records and "s3cr3t" not in caplog.text

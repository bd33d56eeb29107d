"""live.rest.client over a real socket (127.0.0.1): signing accepted, -1021 re-sync, usage, audit, errors."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_rest_server import Failure, MiniBinance

from harness.audit import AuditRecord, MemoryAuditSink
from harness.clock import WallClock
from harness.contract import (
    AmbiguousError,
    FatalError,
    OrderNotFoundError,
    RateLimitedError,
    RetryableError,
    VenueError,
)
from harness.model import VenueMode
from harness.ratelimit import ClientRateLimiter, LimitCategory
from harness.registry import Credentials
from harness.venues import descriptor_for
from live.rest import (
    AiohttpSender,
    BinanceRestProtocol,
    PreparedRequest,
    RawResponse,
    RestClient,
    RestRequest,
    UsageCallback,
)
from live.rest.aiohttp_driver import RestTimeouts
from live.signing import ParamValue

KEY = "test-key-0123456789abcdef"
SECRET = "test-secret-fedcba9876543210"
T = TypeVar("T")


class SkewedClock(WallClock):
    """The wall clock an hour behind: the offset has to come from the server-time sync."""

    def now_ns(self) -> int:
        return time.time_ns() - 3_600 * 1_000_000_000


def order(**extra: object) -> RestRequest:
    body: list[tuple[str, ParamValue]] = [
        ("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC"),
        ("quantity", Decimal("0.010")), ("price", Decimal("50000.5")), ("newClientOrderId", "cid-1")]
    return RestRequest("POST", "/api/v3/order", body=body, signed=True, order_entry=True, client_order_id="cid-1",
                       **extra)  # type: ignore[arg-type]


async def with_venue(test: Callable[[MiniBinance, RestClient, MemoryAuditSink], Awaitable[T]], *,
                     clock: WallClock | None = None, timeouts: RestTimeouts | None = None,
                     on_usage: UsageCallback | None = None, base_url: str | None = None) -> T:
    venue = MiniBinance(KEY, SECRET)
    url = await venue.start()
    audit = MemoryAuditSink()
    protocol = BinanceRestProtocol(base_url=base_url or url, mode=VenueMode.SANDBOX,
                                   credentials=Credentials(KEY, SECRET))
    client = RestClient(protocol, AiohttpSender(timeouts=timeouts), clock or WallClock(), audit=audit,
                        on_usage=on_usage)
    try:
        return await test(venue, client, audit)
    finally:
        await client.close()
        await venue.stop()


def check_audit_pairs(records: list[AuditRecord]) -> None:
    """Every request: one intent then one result with latency and outcome."""
    assert len(records) % 2 == 0
    for intent, result in zip(records[::2], records[1::2], strict=True):
        assert (intent.phase, result.phase) == ("intent", "result")
        assert intent.endpoint == result.endpoint and intent.request == result.request
        assert result.latency_ns is not None and result.latency_ns >= 0
        assert result.success is (result.error_category == "")
        assert intent.ts_ns <= result.ts_ns


def test_property_5_signed_order_is_accepted_by_the_venue_and_audited() -> None:
    async def run(venue: MiniBinance, client: RestClient, audit: MemoryAuditSink) -> None:
        ack = await client.request(order())
        assert isinstance(ack, dict) and ack["clientOrderId"] == "cid-1"
        assert venue.hits == ["time", "order"]  # lazy time sync before the first signed request
        assert venue.received[0]["price"] == "50000.5" and venue.received[0]["quantity"] == "0.010"
        check_audit_pairs(audit.records)
        result = audit.records[-1]
        assert result.success and result.client_order_id == "cid-1"
        assert result.request["body.symbol"] == "BTCUSDT" and result.request["header.X-MBX-APIKEY"] == "***"
        assert result.response["status"] == "200" and '"orderId": 1' in result.response["body"]

    asyncio.run(with_venue(run))


def test_timestamp_comes_from_the_injected_clock_plus_the_synced_offset() -> None:
    async def run(venue: MiniBinance, client: RestClient, audit: MemoryAuditSink) -> None:
        await client.request(order())
        assert abs(client.time.offset_ms - 3_600_000) < 60_000
        assert venue.hits == ["time", "order"]

    asyncio.run(with_venue(run, clock=SkewedClock()))


def test_1021_resyncs_once_and_retries_with_a_fresh_signature() -> None:
    async def run(venue: MiniBinance, client: RestClient, audit: MemoryAuditSink) -> None:
        await client.request(order())
        before = client.time.offset_ms
        venue.skew_ms = 120_000  # the venue's clock jumps 2 minutes ahead
        await client.request(order())
        assert venue.hits == ["time", "order", "order", "time", "order"]
        assert client.time.offset_ms - before > 100_000
        check_audit_pairs(audit.records)
        outcomes = [(r.endpoint, r.success) for r in audit.records if r.phase == "result"]
        assert outcomes == [("GET /api/v3/time", True), ("POST /api/v3/order", True),
                            ("POST /api/v3/order", False), ("GET /api/v3/time", True), ("POST /api/v3/order", True)]
        assert "-1021" in audit.records[5].error and audit.records[5].error_category == "RETRYABLE"
        t1, t2 = int(venue.received[1]["timestamp"]), int(venue.received[2]["timestamp"])
        assert t2 - t1 > 100_000  # the retry was re-stamped and re-signed (the venue verified it)

    asyncio.run(with_venue(run))


def test_second_1021_is_raised_not_retried_forever() -> None:
    async def run(venue: MiniBinance, client: RestClient, audit: MemoryAuditSink) -> None:
        venue.always_stale = True
        with pytest.raises(RetryableError) as info:
            await client.request(order())
        assert info.value.code == -1021 and not isinstance(info.value, AmbiguousError)
        assert venue.hits == ["time", "order", "time", "order"]

    asyncio.run(with_venue(run))


def test_usage_headers_reach_the_client_limiter() -> None:
    binance = descriptor_for("binance")
    assert binance is not None
    limiter = ClientRateLimiter("binance", binance.rules, binance.costs, WallClock())
    seen: list[dict[str, str]] = []

    def observe(headers: Mapping[str, str]) -> None:
        seen.append(dict(headers))
        limiter.observe_usage(headers)

    async def run(venue: MiniBinance, client: RestClient, audit: MemoryAuditSink) -> None:
        await client.request(order())
        await client.request(RestRequest("GET", "/api/v3/account", signed=True))

    asyncio.run(with_venue(run, on_usage=observe))
    assert seen == [{"x-mbx-used-weight-1m": "1"},
                    {"x-mbx-used-weight-1m": "7", "x-mbx-order-count-10s": "3", "x-mbx-order-count-1d": "12"},
                    {"x-mbx-used-weight-1m": "21"}]
    status = limiter.status()
    assert status[LimitCategory.WEIGHT].used >= 21
    assert status[LimitCategory.ORDERS].used >= 3


@pytest.mark.parametrize(("failure", "order_entry", "cls"), [
    (Failure(500, None, "Internal Server Error"), True, AmbiguousError),
    (Failure(503, None, "Service Unavailable"), False, RetryableError),
    (Failure(429, -1003, "Too much request weight used", {"Retry-After": "7"}), True, RateLimitedError),
    (Failure(418, -1003, "IP banned until 1", {"Retry-After": "600"}), False, RateLimitedError),
    (Failure(400, -2013, "Order does not exist."), False, OrderNotFoundError),
    (Failure(400, -1022, "Signature for this request is not valid."), True, FatalError),
])
def test_error_answers_over_the_socket(failure: Failure, order_entry: bool, cls: type[VenueError]) -> None:
    async def run(venue: MiniBinance, client: RestClient, audit: MemoryAuditSink) -> VenueError:
        venue.failures.append(failure)
        request = order() if order_entry else RestRequest("GET", "/api/v3/account", signed=True)
        with pytest.raises(VenueError) as info:
            await client.request(request)
        check_audit_pairs(audit.records)
        assert audit.records[-1].error_category == info.value.category.value
        assert audit.records[-1].response["status"] == str(failure.status)
        return info.value

    error = asyncio.run(with_venue(run))
    assert type(error) is cls and error.http_status == failure.status
    if isinstance(error, RateLimitedError):
        assert error.retry_after_s == Decimal(failure.headers["Retry-After"])
        assert error.banned is (failure.status == 418)


@pytest.mark.parametrize(("order_entry", "cls"), [(True, AmbiguousError), (False, RetryableError)])
def test_read_timeout_is_ambiguous_only_for_order_entry(order_entry: bool, cls: type[VenueError]) -> None:
    async def run(venue: MiniBinance, client: RestClient, audit: MemoryAuditSink) -> None:
        with pytest.raises(VenueError) as info:
            await client.request(RestRequest("POST", "/hang", order_entry=order_entry))
        assert type(info.value) is cls
        check_audit_pairs(audit.records)
        assert audit.records[-1].error_category == cls.category.value and "response" not in audit.records[-1].error

    asyncio.run(with_venue(run, timeouts=RestTimeouts(read_s=Decimal("0.2"))))


def test_refused_connection_is_retryable_even_for_an_order() -> None:
    async def closed_port() -> str:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        return f"http://127.0.0.1:{port}"

    url = asyncio.run(closed_port())

    async def run(venue: MiniBinance, client: RestClient, audit: MemoryAuditSink) -> None:
        client.time.update(0, 0, 0)
        with pytest.raises(RetryableError) as info:
            await client.request(order())
        assert not isinstance(info.value, AmbiguousError) and "could not connect" in str(info.value)
        check_audit_pairs(audit.records)
        assert audit.records[-1].response == {}

    asyncio.run(with_venue(run, base_url=url))


def test_rest_timeouts_default_and_validate() -> None:
    timeouts = RestTimeouts()
    assert (timeouts.connect_s, timeouts.read_s, timeouts.total_s) == (Decimal(5), Decimal(10), Decimal(30))
    aio = timeouts.client_timeout()
    assert (aio.connect, aio.sock_read, aio.total) == (5.0, 10.0, 30.0)
    with pytest.raises(ValueError):
        RestTimeouts(read_s=Decimal(0))


# ---------------------------------------------------------------------------- no secrets anywhere


class EchoSender:
    """A fake venue that echoes back everything it was sent, in an error or in a success body."""

    def __init__(self, status: int) -> None:
        self.status = status

    async def send(self, request: PreparedRequest) -> RawResponse:
        if request.url.endswith("/api/v3/time"):
            return RawResponse(200, {}, json.dumps({"serverTime": 1}).encode())
        echo = f"url={request.url} headers={dict(request.headers)} body={request.body!r} key {request.headers}"
        if self.status == 200:
            return RawResponse(200, {"x-mbx-used-weight-1m": "1"}, json.dumps({"echo": echo}).encode())
        return RawResponse(self.status, {}, json.dumps({"code": -2015, "msg": echo}).encode())

    async def close(self) -> None:
        pass


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


secret_text = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=16,
                      max_size=64).filter(lambda s: len(set(s)) >= 8)
"""Keys as venues issue them: long and random (a short or repetitive value such as ``AuditRec`` or
``00000000`` would turn up in any record's own text, secret or not)."""


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(api_key=secret_text, secret=secret_text, status=st.sampled_from([200, 400, 401, 500]))
def test_property_9_audit_logs_and_errors_never_carry_the_key_or_secret(api_key: str, secret: str,
                                                                          status: int) -> None:
    audit = MemoryAuditSink()
    protocol = BinanceRestProtocol(base_url="http://127.0.0.1:1", mode=VenueMode.SANDBOX,
                                   credentials=Credentials(api_key, secret))
    client = RestClient(protocol, EchoSender(status), WallClock(), audit=audit)
    handler = ListHandler()
    root = logging.getLogger("live")
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    texts: list[str] = []
    try:
        try:
            asyncio.run(client.request(order()))  # a success returns the venue's own payload, as sent
        except VenueError as exc:
            texts.extend([str(exc), repr(exc), exc.message])
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    texts.extend(repr(r) for r in audit.records)
    texts.extend(handler.lines)
    assert len(audit.records) == 4  # time sync + order, each with intent and result
    for text in texts:
        assert api_key not in text and secret not in text

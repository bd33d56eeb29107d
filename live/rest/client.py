"""The REST client: one request through protocol, sender, audit, usage feedback and time re-sync.

``RestClient`` is the orchestration between the I/O-free ``BinanceRestProtocol`` and a
``Sender`` (the aiohttp driver, or a fake in tests, as httpx's transport seam). For every
request it:

1. syncs the clock offset first if a signed request finds it unsynced (``GET /api/v3/time``);
2. writes an ``intent`` audit record, sends, and writes a ``result`` record with latency,
   outcome and the (redacted) response, whatever happens, so every request is audited;
3. hands the rate-limit usage headers to ``on_usage`` (``ClientRateLimiter.observe_usage``);
4. on Binance -1021 (timestamp outside the recvWindow) re-syncs the offset once and retries the
   request once with a fresh timestamp and signature; a second -1021 is raised.

Time is read only from the injected ``Clock`` (``now_ns`` for timestamps, ``monotonic_ns`` for
latency). Secrets never reach a record, a log line or an exception (``SecretRedactor``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Protocol

from harness.audit import AuditRecord, AuditSink
from harness.clock import Clock
from harness.contract import ErrorCategory, ExchangeError, RetryableError, VenueError
from harness.errors import categorize
from harness.secrets import safe_logger
from live.redaction import SecretRedactor
from live.rest.errors import INVALID_TIMESTAMP
from live.rest.protocol import PreparedRequest, RawResponse, RestRequest, TimeSync, usage_headers

__all__ = ["RestClient", "RestProtocol", "Sender", "UsageCallback"]

logger = safe_logger(__name__)

UsageCallback = Callable[[Mapping[str, str]], None]
"""Receives the usage headers of every response (``ClientRateLimiter.observe_usage`` fits)."""


class RestProtocol(Protocol):
    """What ``RestClient`` needs of a venue's I/O-free REST protocol (``BinanceRestProtocol``,
    ``live.bybit.rest_protocol.BybitRestProtocol``)."""

    venue: str
    redactor: SecretRedactor

    def time_request(self) -> RestRequest:
        """The unsigned server-time request."""

    def parse_server_time(self, payload: object) -> int:
        """The venue's time (ms) from the server-time answer."""

    def prepare(self, request: RestRequest, *, timestamp_ms: int | None = None) -> PreparedRequest:
        """The wire form of ``request`` (signed when it is SIGNED)."""

    def parse(self, prepared: PreparedRequest, response: RawResponse) -> object:
        """The decoded answer, or raise the typed error."""


class Sender(Protocol):
    """Sends one prepared request; raises only typed ``VenueError``s (it translates its own)."""

    async def send(self, request: PreparedRequest) -> RawResponse:
        """Send ``request`` and return the raw answer (any HTTP status)."""

    async def close(self) -> None:
        """Release connections."""


class RestClient:
    """Signed, audited, time-synced REST calls to one venue over one ``Sender``."""

    def __init__(self, protocol: RestProtocol, sender: Sender, clock: Clock, *, audit: AuditSink,
                 on_usage: UsageCallback | None = None) -> None:
        self.protocol = protocol
        self.time = TimeSync()
        self._sender = sender
        self._clock = clock
        self._audit = audit
        self._on_usage = on_usage

    async def sync_time(self) -> int:
        """Learn the clock offset from ``GET /api/v3/time``; returns the offset in ms."""
        sent = self._clock.now_ns()
        payload = await self._send(self.protocol.time_request(), None)
        received = self._clock.now_ns()
        offset = self.time.update(self.protocol.parse_server_time(payload), sent, received)
        logger.info("%s: clock offset %d ms", self.protocol.venue, offset)
        return offset

    async def request(self, request: RestRequest) -> object:
        """Send ``request`` and return its decoded JSON, or raise a typed ``VenueError``."""
        if request.signed and not self.time.synced:
            await self.sync_time()
        try:
            return await self._send(request, self._timestamp(request))
        except RetryableError as exc:
            if not request.signed or exc.code != getattr(self.protocol, "invalid_timestamp_code", INVALID_TIMESTAMP):
                raise
            logger.warning("%s %s: timestamp outside recvWindow; re-syncing the clock offset once",
                           self.protocol.venue, request.endpoint)
        await self.sync_time()
        return await self._send(request, self._timestamp(request))

    async def close(self) -> None:
        """Close the sender."""
        await self._sender.close()

    def _timestamp(self, request: RestRequest) -> int | None:
        return self.time.timestamp_ms(self._clock.now_ns()) if request.signed else None

    async def _send(self, request: RestRequest, timestamp_ms: int | None) -> object:
        prepared = self.protocol.prepare(request, timestamp_ms=timestamp_ms)
        venue = self.protocol.venue
        self._audit.audit(AuditRecord(ts_ns=self._clock.now_ns(), venue=venue, endpoint=prepared.endpoint,
                                      phase="intent", request=prepared.audit,
                                      client_order_id=prepared.client_order_id))
        start = self._clock.monotonic_ns()
        response: RawResponse | None = None
        try:
            response = await self._sender.send(prepared)
            if self._on_usage is not None:
                usage = usage_headers(response.headers)
                if usage:
                    self._on_usage(usage)
            result = self.protocol.parse(prepared, response)
        except asyncio.CancelledError:
            # the caller gave up: the request may still have reached the venue
            category = ErrorCategory.AMBIGUOUS if prepared.order_entry else ErrorCategory.RETRYABLE
            self._record(prepared, response, start, category, "cancelled by the caller")
            raise
        except Exception as exc:
            error = exc if isinstance(exc, VenueError) else ExchangeError(
                self.protocol.redactor.text(f"{type(exc).__name__}: {exc}"), venue=venue)
            self._record(prepared, response, start, categorize(error), str(error))
            if error is exc:
                raise
            raise error from None
        self._record(prepared, response, start, None, "")
        return result

    def _record(self, prepared: PreparedRequest, response: RawResponse | None, start_ns: int,
                category: ErrorCategory | None, error: str) -> None:
        latency = self._clock.monotonic_ns() - start_ns
        redactor = self.protocol.redactor
        answer: dict[str, object] = {}
        if response is not None:
            answer["status"] = response.status
            answer.update({f"header.{k}": v for k, v in usage_headers(response.headers).items()})
            answer["body"] = response.body.decode("utf-8", errors="replace")
        text = redactor.text(error)
        self._audit.audit(AuditRecord(
            ts_ns=self._clock.now_ns(), venue=self.protocol.venue, endpoint=prepared.endpoint, phase="result",
            request=prepared.audit, response=redactor.mapping(answer), latency_ns=latency,
            success=category is None, error_category=category.value if category is not None else "", error=text,
            client_order_id=prepared.client_order_id))
        status = response.status if response is not None else "-"
        if category is None:
            logger.debug("%s %s -> %s in %d ns", self.protocol.venue, prepared.endpoint, status, latency)
        else:
            logger.info("%s %s -> %s in %d ns: %s", self.protocol.venue, prepared.endpoint, status, latency, text)

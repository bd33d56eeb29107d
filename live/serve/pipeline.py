"""One request's way through the local venue, the same for REST and the WS API.

In the order a request meets them:

1. the endpoint (``live.serve.actions.ENDPOINTS``) names the contract request it is and its weight;
2. request faults (``ServeFaults.requests``) may refuse it before the venue sees it;
3. the venue's rate limits count it (``sim.venue.limits``: 429 with Retry-After, then 418 bans,
   usage headers on every answer);
4. a SIGNED endpoint checks the API key, the signature and the timestamp (``live.serve.auth``);
5. the venue acts (``VenueActions``); refusals keep the venue's code and message;
6. request faults may hide the venue's answer (the order may now exist: an ambiguous 5xx).

``Answer`` carries the JSON and the headers; a refusal is a ``BinanceApiError`` (with the usage
headers too), and ``DropConnection`` means: close the connection without any answer. REST answers
wait ``delay_ns`` first (``ServeFaults.delays``: a latency spike on the request path).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from harness.clock import Clock
from harness.contract import InvalidRequestError, RateLimitedError, RetryableError, VenueError
from live.serve.actions import ENDPOINTS, VenueActions
from live.serve.auth import (
    ApiKeys,
    BinanceApiError,
    RequestParams,
    check_timestamp,
    verify_rest_signature,
    verify_ws_signature,
)
from live.serve.faults import ServeFaults
from live.serve.wire import ms

__all__ = ["Answer", "DropConnection", "RequestPipeline", "fault_answer"]


class DropConnection(Exception):  # noqa: N818  (an instruction to the transport, not a failure)
    """The request is to go unanswered: the connection is closed (a timeout, as the client sees it)."""


@dataclass(frozen=True)
class Answer:
    """A successful answer: the JSON result and the response headers."""

    result: Any
    headers: Mapping[str, str] = field(default_factory=dict)


def fault_answer(error: BaseException, headers: Mapping[str, str] | None = None) -> BinanceApiError | DropConnection:
    """What the venue sends for an exception a request fault chose (see ``live.serve.faults``)."""
    if isinstance(error, TimeoutError):
        return DropConnection(str(error))
    extra = dict(headers or {})
    if isinstance(error, RateLimitedError):
        status = error.http_status or (418 if error.banned else 429)
        extra["Retry-After"] = str(int(error.retry_after_s.to_integral_value()))
        code = error.code if isinstance(error.code, int) else -1003
        return BinanceApiError(status, code, error.message, extra)
    if isinstance(error, VenueError):
        default = 503 if isinstance(error, RetryableError) else 400 if isinstance(error, InvalidRequestError) else 500
        status = error.http_status or default
        fallback = -1001 if status >= 500 else -1000
        return BinanceApiError(status, error.code if isinstance(error.code, int) else fallback, error.message, extra)
    return BinanceApiError(500, -1000, f"An unknown error occurred while processing the request. ({error})", extra)


class RequestPipeline:
    """Runs requests through faults, limits, authentication and the venue (see the module docstring)."""

    def __init__(self, actions: VenueActions, keys: ApiKeys, faults: ServeFaults, clock: Clock) -> None:
        self.actions = actions
        self.keys = keys
        self.faults = faults
        self.clock = clock
        self.requests = 0

    def handle(self, endpoint: str, params: RequestParams, api_key: str | None, *,
               ws_params: Mapping[str, object] | None = None) -> Answer:
        """Serve ``endpoint`` (``"METHOD /api/v3/path"``); ``ws_params`` marks a WS-API request (its
        signature rule). Raises ``BinanceApiError`` or ``DropConnection``."""
        spec = ENDPOINTS.get(endpoint)
        if spec is None:
            raise BinanceApiError(404, -1000, f"Unknown endpoint {endpoint}.")
        self.requests += 1
        request, weight = spec.request(params)
        self._fault(request, before=True)
        now = self.clock.now_ns()
        decision = self.actions.venue.limiter.check(now, request, weight)
        if not decision.allowed:
            code = decision.code if isinstance(decision.code, int) else -1003
            raise BinanceApiError(decision.http_status, code, decision.message, dict(decision.headers))
        headers = dict(decision.headers)
        try:
            if spec.signed:
                self._authenticate(params, api_key, ws_params)
            result = self.actions.run(spec.action, params)
        except BinanceApiError as refused:
            raise BinanceApiError(refused.status, refused.code, refused.msg, {**headers, **refused.headers}) from None
        self._fault(request, before=False, headers=headers)
        return Answer(result, headers)

    def delay_ns(self, endpoint: str, params: RequestParams) -> int:
        """Extra time (venue ns) a REST request to ``endpoint`` spends on its two legs (``ServeFaults.delays``)."""
        spec = ENDPOINTS.get(endpoint)
        if spec is None or not self.faults.delays:
            return 0
        request, _ = spec.request(params)
        now = self.clock.now_ns()
        return sum(d.extra_ns(request, now, leg) for d in self.faults.delays for leg in ("request", "response"))

    def _authenticate(self, params: RequestParams, api_key: str | None, ws_params: Mapping[str, object] | None) -> None:
        if ws_params is not None:
            key = ws_params.get("apiKey")
            secret = self.keys.secret_of(key if isinstance(key, str) else None)
            verify_ws_signature(ws_params, secret)
        else:
            secret = self.keys.secret_of(api_key)
            verify_rest_signature(params, secret)
        check_timestamp(params.get("timestamp"), params.get("recvWindow"), ms(self.clock.now_ns()))

    def authenticate_ws(self, ws_params: Mapping[str, object]) -> str:
        """Check a signed WS-API request that maps to no endpoint (``userDataStream.subscribe.signature``);
        returns its API key."""
        key = ws_params.get("apiKey")
        secret = self.keys.secret_of(key if isinstance(key, str) else None)
        verify_ws_signature(ws_params, secret)
        stamp, window = ws_params.get("timestamp"), ws_params.get("recvWindow")
        check_timestamp(_text(stamp), _text(window), ms(self.clock.now_ns()))
        assert isinstance(key, str)
        return key

    def _fault(self, request: str, *, before: bool, headers: Mapping[str, str] | None = None) -> None:
        if not self.faults.requests:
            return
        now = self.clock.now_ns()
        for fault in self.faults.requests:
            error = fault.before_venue(request, now) if before else fault.after_venue(request, now)
            if error is not None:
                raise fault_answer(error, headers)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


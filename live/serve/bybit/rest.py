"""The Bybit front's REST endpoints on aiohttp: ``/v5/*`` through faults, limits, auth and the venue.

In the order a request meets them (as ``live.serve.pipeline`` does for the Binance front):

1. the endpoint (``BYBIT_ENDPOINTS``) names the contract request it counts as;
2. request faults (``ServeFaults.requests``) may answer instead of the venue;
3. the venue's rate limits count it (``sim.venue.limits`` with the Bybit profile: 10006 in an
   HTTP 200 envelope past the per-second order limit, the 403 IP block, and the
   ``X-Bapi-Limit`` / ``-Limit-Status`` / ``-Limit-Reset-Timestamp`` headers);
4. a signed endpoint checks the ``X-BAPI-*`` headers over the raw query string or body;
5. the venue acts; refusals keep the profile's Bybit retCode and retMsg;
6. request faults may hide the venue's answer (the order may exist: 10016, or a dropped connection).

Every answer is the v5 envelope. A request fault's exception is answered as Bybit would:
``RateLimitedError`` as 10006 (403 when a ban), a retryable or server-side error as HTTP 503 when
it names a 5xx status and 10016 otherwise, a ``TimeoutError`` by closing the connection.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aiohttp import web

from harness.clock import Clock
from harness.contract import InvalidRequestError, RateLimitedError, VenueError
from live.serve.bybit.actions import BYBIT_ENDPOINTS, BybitActions
from live.serve.bybit.auth import BybitApiError, BybitKeys, parse_bybit_params, verify_bybit_request
from live.serve.bybit.shapes import envelope, ms
from live.serve.faults import ServeFaults

__all__ = ["BybitRest", "bybit_fault_answer"]


class _Drop(Exception):  # noqa: N818  (an instruction to the transport)
    """Close the connection without an answer."""


def bybit_fault_answer(error: BaseException) -> BybitApiError | _Drop:
    """What the venue answers for an exception a request fault chose."""
    if isinstance(error, TimeoutError):
        return _Drop(str(error))
    if isinstance(error, RateLimitedError):
        if error.banned:
            return BybitApiError(10018, error.message, 403)
        return BybitApiError(10006, error.message or "Too many visits!")
    if isinstance(error, VenueError):
        if error.http_status is not None and error.http_status >= 500:
            return BybitApiError(10016, error.message, error.http_status)
        if isinstance(error, InvalidRequestError):
            return BybitApiError(error.code if isinstance(error.code, int) else 10001, error.message)
        return BybitApiError(10016, error.message or "Server error.")
    return BybitApiError(10016, f"Server error. ({error})")


class BybitRest:
    """Serves ``/v5/*`` (see the module docstring); ``requests`` counts what it was asked."""

    def __init__(self, actions: BybitActions, keys: BybitKeys, faults: ServeFaults, clock: Clock) -> None:
        self.actions = actions
        self.keys = keys
        self.faults = faults
        self.clock = clock
        self.requests = 0

    def add_routes(self, app: web.Application) -> None:
        """Route ``/v5/{tail}`` here."""
        app.router.add_route("*", "/v5/{tail:.*}", self.handle)

    def _json(self, payload: object, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
        return web.Response(text=json.dumps(payload, separators=(",", ":")), status=status,
                            content_type="application/json", headers=dict(headers or {}))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """One REST request, answered as Bybit v5 answers it."""
        endpoint = f"{request.method} /v5/{request.match_info['tail']}"
        raw_body = (await request.read()).decode("utf-8", errors="replace") if request.can_read_body else ""
        headers: dict[str, str] = {}
        try:
            answer = self._serve(endpoint, request, raw_body, headers)
        except BybitApiError as refused:
            return self._json(envelope({}, self.clock.now_ns(), refused.code, refused.msg), refused.status,
                              {**headers, **refused.headers})
        except _Drop:
            if request.transport is not None:
                request.transport.abort()
            raise web.HTTPServiceUnavailable() from None
        return self._json(envelope(answer, self.clock.now_ns()), 200, headers)

    def _serve(self, endpoint: str, request: web.Request, raw_body: str, headers: dict[str, str]) -> object:
        spec = BYBIT_ENDPOINTS.get(endpoint)
        if spec is None:
            raise BybitApiError(10001, f"Unknown endpoint {endpoint}.", 404)
        self.requests += 1
        self._fault(spec.request, before=True)
        decision = self.actions.venue.limiter.check(self.clock.now_ns(), spec.request, None)
        headers.update(decision.headers)
        headers.pop("Retry-After", None)
        if not decision.allowed:
            code = decision.code if isinstance(decision.code, int) else 10006
            raise BybitApiError(code, decision.message, decision.http_status)
        params = parse_bybit_params(request.method, request.rel_url.raw_query_string, raw_body)
        if spec.signed:
            verify_bybit_request(request.headers, params.payload, self.keys, ms(self.clock.now_ns()))
        result = self.actions.run(spec.action, params)
        self._fault(spec.request, before=False)
        return result

    def _fault(self, method: str, *, before: bool) -> None:
        now = self.clock.now_ns()
        for fault in self.faults.requests:
            error = fault.before_venue(method, now) if before else fault.after_venue(method, now)
            if error is not None:
                raise bybit_fault_answer(error)

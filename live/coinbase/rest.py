"""Coinbase Advanced Trade REST (``/api/v3/brokerage``): where it is, how a call is signed, what an answer means.

* ``CoinbaseRestEndpoint``: the base URL in one mode, as ``BinanceEndpoints`` does it:
  ``sandbox()`` (``api-sandbox.coinbase.com``, Advanced Trade's static sandbox), ``production(
  allow_production=True)`` (``api.coinbase.com``, never by default) or ``local(url)`` (the local
  venue on loopback); every URL passes ``live.guard`` for its mode.
* ``CoinbaseRest``: one GET at a time over ``live.rest.AiohttpSender``, each with a fresh ES256
  JWT (``live.coinbase.jwt_auth``); answers are JSON objects or a typed error (``coinbase_error``).
  It counts its own requests over the last second for ``get_rate_limit_status`` (Coinbase sends no
  usage headers; the private limit is 30 requests per second per key). JWT nonces come from the
  given ``rng`` (tests seed one) or the system's generator: a nonce must not repeat across runs.

Errors (Advanced Trade answers ``{"error", "error_details", "message"}`` with an HTTP status):
429 is ``RateLimitedError`` (``Retry-After`` when given), 401 and 403 ``FatalError`` (credentials),
404 ``OrderNotFoundError`` on an order path and ``InvalidRequestError`` elsewhere, other 4xx
``InvalidRequestError``, 5xx ``RetryableError`` (every call here is a read). A 2xx answer that is
not a JSON object is an ``ExchangeError`` naming the endpoint. Secrets never reach a message.
"""

from __future__ import annotations

import json
import random
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from harness.clock import Clock
from harness.contract import (
    ExchangeError,
    FatalError,
    InvalidRequestError,
    OrderNotFoundError,
    RateLimitedError,
    RetryableError,
    VenueError,
)
from harness.errors import DEFAULT_RETRY_AFTER_S
from harness.model import VenueMode
from harness.registry import Credentials, ProductionNotAllowedError
from live.coinbase.jwt_auth import jwt_uri, load_ec_private_key, rest_jwt
from live.guard import check_transport_url
from live.redaction import SecretRedactor
from live.rest.aiohttp_driver import AiohttpSender, RestTimeouts
from live.rest.errors import parse_retry_after
from live.rest.protocol import PreparedRequest, RawResponse

__all__ = ["BROKERAGE", "PRIVATE_LIMIT", "CoinbaseRest", "CoinbaseRestEndpoint", "coinbase_error"]

BROKERAGE = "/api/v3/brokerage"
"""The path prefix of every Advanced Trade REST endpoint."""

_NS = 1_000_000_000
PRIVATE_LIMIT = 30
"""Requests per second per key on private endpoints (docs.cdp.coinbase.com, REST API rate limits)."""


@dataclass(frozen=True, slots=True)
class CoinbaseRestEndpoint:
    """The Advanced Trade REST base URL (no path) in one mode."""

    url: str
    mode: VenueMode = VenueMode.SANDBOX

    def __post_init__(self) -> None:
        check_transport_url("coinbase", self.mode, self.url, "rest")

    @classmethod
    def sandbox(cls) -> CoinbaseRestEndpoint:
        """Advanced Trade's sandbox (static answers; no production host)."""
        return cls("https://api-sandbox.coinbase.com", VenueMode.SANDBOX)

    @classmethod
    def production(cls, *, allow_production: bool = False) -> CoinbaseRestEndpoint:
        """``api.coinbase.com`` itself; refused unless ``allow_production`` is given explicitly."""
        if allow_production is not True:
            raise ProductionNotAllowedError("mode", "PRODUCTION endpoints need allow_production=True")
        return cls("https://api.coinbase.com", VenueMode.PRODUCTION)

    @classmethod
    def local(cls, url: str) -> CoinbaseRestEndpoint:
        """The local venue at ``http://127.0.0.1:PORT`` (SANDBOX)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"a local venue URL looks like http://127.0.0.1:PORT, not {url!r}")
        return cls(f"{parts.scheme}://{parts.netloc}", VenueMode.SANDBOX)


def _error_fields(body: bytes) -> tuple[str, str]:
    try:
        data = json.loads(body)
    except ValueError:
        return "", body.decode("utf-8", errors="replace").strip()
    if not isinstance(data, dict):
        return "", str(data)
    code = str(data.get("error") or "")
    message = str(data.get("message") or data.get("error_details") or code)
    return code, message


def coinbase_error(status: int, body: bytes, *, endpoint: str, retry_after: str | None, venue: str,
                   redactor: SecretRedactor | None = None) -> VenueError:
    """The typed error of one failed Advanced Trade answer (see the module docstring)."""
    code, message = _error_fields(body)
    text = f"{endpoint}: {message or f'HTTP {status}'}"
    if redactor is not None:
        text = redactor.text(text)
    if status == 429:
        wait = parse_retry_after(retry_after)
        return RateLimitedError(text, retry_after_s=DEFAULT_RETRY_AFTER_S if wait is None else wait, venue=venue,
                                code=code or None, http_status=status)
    if status in (401, 403):
        return FatalError(text, venue=venue, code=code or None, http_status=status)
    if status >= 500:
        return RetryableError(text, venue=venue, code=code or None, http_status=status)
    if status == 404 and "/orders/" in endpoint:
        return OrderNotFoundError(text, venue=venue, code=code or None, http_status=status)
    if 400 <= status < 500:
        return InvalidRequestError(text, venue=venue, code=code or None, http_status=status)
    return ExchangeError(text, venue=venue, code=code or None, http_status=status)


class CoinbaseRest:
    """JWT-signed Advanced Trade REST reads over one ``AiohttpSender`` (see the module docstring)."""

    def __init__(self, endpoint: CoinbaseRestEndpoint, credentials: Credentials, clock: Clock, *,
                 venue: str = "coinbase", rng: random.Random | None = None,
                 timeouts: RestTimeouts | None = None) -> None:
        self.endpoint = endpoint
        self._clock = clock
        self._venue = venue
        self._key_name = credentials.api_key
        self._key = load_ec_private_key(credentials.secret)
        self._host = urlsplit(endpoint.url).netloc
        self._rng = rng or random.SystemRandom()  # JWT nonces guard against replay: unpredictable unless given
        self._sender = AiohttpSender(timeouts=timeouts, venue=venue)
        self.redactor = SecretRedactor((credentials.api_key, credentials.secret))
        self._sent: deque[int] = deque()

    def used_last_second(self) -> int:
        """Requests this client sent in the last second of its clock."""
        horizon = self._clock.monotonic_ns() - _NS
        while self._sent and self._sent[0] <= horizon:
            self._sent.popleft()
        return len(self._sent)

    async def get(self, path: str, params: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        """``GET /api/v3/brokerage<path>?params``: the JSON object, or a typed ``VenueError``."""
        full = f"{BROKERAGE}{path}"
        endpoint = f"GET {full}"
        nonce = f"{self._rng.getrandbits(64):016x}"
        token = rest_jwt(self._key_name, self._key, jwt_uri("GET", self._host, full), self._clock.now_ns() // _NS,
                         nonce)
        query = urlencode(params or [])
        url = f"{self.endpoint.url}{full}" + (f"?{query}" if query else "")
        prepared = PreparedRequest(method="GET", url=url, body=None,
                                   headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                                   endpoint=endpoint, order_entry=False, audit={"method": "GET", "path": full})
        self._sent.append(self._clock.monotonic_ns())
        response = await self._sender.send(prepared)
        return self._parse(endpoint, response)

    def _parse(self, endpoint: str, response: RawResponse) -> dict[str, Any]:
        if not 200 <= response.status < 300:
            raise coinbase_error(response.status, response.body, endpoint=endpoint,
                                 retry_after=response.header("Retry-After"), venue=self._venue, redactor=self.redactor)
        try:
            data = json.loads(response.body)
        except ValueError:
            raise ExchangeError(f"{endpoint}: the answer is not JSON ({len(response.body)} bytes)", venue=self._venue,
                                http_status=response.status) from None
        if not isinstance(data, dict):
            raise ExchangeError(f"{endpoint}: the answer is not a JSON object", venue=self._venue,
                                http_status=response.status)
        return data

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._sender.close()


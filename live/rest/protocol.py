"""The Binance REST protocol without I/O: build a signed request, read a response, keep time.

``BinanceRestProtocol.prepare`` turns a ``RestRequest`` (method, path, parameters) into a
``PreparedRequest``: the exact URL, body and headers to send, signed when the request is SIGNED
(``timestamp`` and ``recvWindow`` added, the signature computed over the very text that is sent),
and a redacted view of it for the audit trail. ``parse`` turns a ``RawResponse`` (status,
headers, body) into the decoded JSON or a typed error (``live.rest.errors.binance_error``).
``TimeSync`` holds the offset between our ``Clock`` and the venue's, learnt from
``GET /api/v3/time``. Nothing here opens a socket or reads a clock; ``RestClient`` drives it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from harness.contract import ExchangeError
from harness.model import VenueMode
from harness.registry import AuthMethod, Credentials
from live.guard import check_transport_url
from live.redaction import SecretRedactor
from live.rest.errors import binance_error, error_body, parse_retry_after
from live.signing import (
    ParamValue,
    Signer,
    binance_rest_payload,
    ed25519_signer,
    encode_params,
    hmac_signer,
    load_ed25519_key,
)

__all__ = [
    "USAGE_HEADER_PREFIXES",
    "BinanceRestProtocol",
    "PreparedRequest",
    "RawResponse",
    "RestRequest",
    "TimeSync",
    "usage_headers",
]

_NS_PER_MS = 1_000_000
_METHODS = frozenset({"GET", "POST", "PUT", "DELETE"})

USAGE_HEADER_PREFIXES = ("x-mbx-used-weight", "x-mbx-order-count", "x-bapi-limit", "x-ratelimit", "ratelimit")
"""Response headers that report rate-limit usage (Binance, Bybit, and the common generic names)."""


@dataclass(frozen=True, slots=True)
class RestRequest:
    """One venue call as the adapter means it: method, path, query and form-body parameters.

    ``signed`` asks for ``timestamp``/``recvWindow``/``signature``; ``order_entry`` marks a call that
    may create or change an order (its unknown outcome is AMBIGUOUS); ``client_order_id`` is copied
    into the audit record. Values are ``str``, ``int``, ``Decimal`` or ``bool``, never floats.
    """

    method: str
    path: str
    params: Sequence[tuple[str, ParamValue]] = ()
    body: Sequence[tuple[str, ParamValue]] = ()
    signed: bool = False
    order_entry: bool = False
    client_order_id: str = ""

    def __post_init__(self) -> None:
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {sorted(_METHODS)}, got {self.method!r}")
        if not self.path.startswith("/"):
            raise ValueError(f"path must start with '/', got {self.path!r}")
        if self.method == "GET" and self.body:
            raise ValueError("GET requests carry their parameters in the query string")

    @property
    def endpoint(self) -> str:
        """``"METHOD /path"``: the label rate limits, audit records and breakers use."""
        return f"{self.method} {self.path}"


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """Exactly what goes on the wire for one ``RestRequest``, plus its redacted audit view."""

    method: str
    url: str
    body: bytes | None
    headers: Mapping[str, str]
    endpoint: str
    order_entry: bool
    audit: Mapping[str, str]
    client_order_id: str = ""


@dataclass(frozen=True, slots=True)
class RawResponse:
    """An HTTP answer as the driver read it; header names are lower-cased."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """One header's value by case-insensitive name, or ``None``."""
        return self.headers.get(name.lower())


def usage_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The rate-limit usage headers among ``headers`` (names lower-cased), for the client limiter."""
    return {name.lower(): value for name, value in headers.items()
            if name.lower().startswith(USAGE_HEADER_PREFIXES)}


class TimeSync:
    """The offset between our clock and the venue's, in ms, from one server-time round trip.

    The server's time is taken to be read at the midpoint of the round trip, so the offset is
    ``server_ms - (sent + received) / 2``. ``timestamp_ms(now_ns)`` is what a signed request sends.
    """

    __slots__ = ("offset_ms", "synced")

    def __init__(self) -> None:
        self.offset_ms = 0
        self.synced = False

    def update(self, server_ms: int, sent_ns: int, received_ns: int) -> int:
        """Learn the offset from one round trip (both local times from the same ``Clock``); returns it."""
        if received_ns < sent_ns:
            raise ValueError("received_ns is before sent_ns")
        midpoint_ms = (sent_ns + received_ns) // 2 // _NS_PER_MS
        self.offset_ms = server_ms - midpoint_ms
        self.synced = True
        return self.offset_ms

    def timestamp_ms(self, now_ns: int) -> int:
        """The venue-time timestamp (ms) for a request sent at local ``now_ns``."""
        return now_ns // _NS_PER_MS + self.offset_ms


def _signer(credentials: Credentials, auth: AuthMethod) -> Signer:
    if auth is AuthMethod.HMAC:
        return hmac_signer(credentials.secret)
    if auth is AuthMethod.ED25519:
        return ed25519_signer(load_ed25519_key(credentials.secret))
    raise ValueError(f"Binance REST signing supports HMAC and ED25519, not {auth.value}")


class BinanceRestProtocol:
    """Binance Spot REST: signed request construction and response interpretation (no I/O).

    Built for one base URL in one mode; the URL must pass the registry's allow-list for that
    mode (``live.guard``), so a SANDBOX protocol can never address a production host.
    """

    time_path = "/api/v3/time"
    """The unsigned server-time endpoint used by ``RestClient.sync_time``."""

    def __init__(self, *, base_url: str, mode: VenueMode, credentials: Credentials | None = None,
                 auth: AuthMethod = AuthMethod.HMAC, recv_window_ms: int = 5000, venue: str = "binance") -> None:
        check_transport_url(venue, mode, base_url, "rest")
        if isinstance(recv_window_ms, bool) or not isinstance(recv_window_ms, int) or not 0 < recv_window_ms <= 60_000:
            raise ValueError(f"recv_window_ms must be an int in (0, 60000], got {recv_window_ms!r}")
        self.venue = venue
        self.mode = mode
        self.base_url = base_url.rstrip("/")
        self.recv_window_ms = recv_window_ms
        self._api_key = credentials.api_key if credentials else None
        self._signer = _signer(credentials, auth) if credentials else None
        self.redactor = SecretRedactor((credentials.api_key, credentials.secret, credentials.passphrase)
                                       if credentials else ())

    def time_request(self) -> RestRequest:
        """The ``GET /api/v3/time`` request."""
        return RestRequest("GET", self.time_path)

    def prepare(self, request: RestRequest, *, timestamp_ms: int | None = None) -> PreparedRequest:
        """The wire form of ``request``; a signed one needs ``timestamp_ms`` (venue time, see ``TimeSync``).

        ``timestamp`` and ``recvWindow`` go where the other parameters are (the body when there is
        one) and ``signature`` last, over ``query + body`` exactly as sent (``rest-api.md``).
        """
        query_params = list(request.params)
        body_params = list(request.body)
        headers: dict[str, str] = {}
        if self._api_key is not None:
            headers["X-MBX-APIKEY"] = self._api_key
        if request.signed:
            if self._signer is None:
                raise ValueError(f"{request.endpoint} is SIGNED but the protocol has no credentials")
            if timestamp_ms is None:
                raise ValueError("a signed request needs timestamp_ms")
            target = body_params if body_params else query_params
            target += [("recvWindow", self.recv_window_ms), ("timestamp", timestamp_ms)]
            query, body = encode_params(query_params), encode_params(body_params)
            signature = encode_params([("signature", self._signer(binance_rest_payload(query, body)))])
            if body_params:
                body = f"{body}&{signature}"
            else:
                query = f"{query}&{signature}" if query else signature
        else:
            query, body = encode_params(query_params), encode_params(body_params)
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        url = f"{self.base_url}{request.path}" + (f"?{query}" if query else "")
        audit: dict[str, object] = {"method": request.method, "path": request.path}
        audit.update({f"param.{name}": value for name, value in query_params})
        audit.update({f"body.{name}": value for name, value in body_params})
        if request.signed:
            audit["param.signature"] = "***"
        audit.update({f"header.{name}": value for name, value in headers.items()})
        return PreparedRequest(method=request.method, url=url, body=body.encode("ascii") if body else None,
                               headers=MappingProxyType(headers), endpoint=request.endpoint,
                               order_entry=request.order_entry, audit=MappingProxyType(self.redactor.mapping(audit)),
                               client_order_id=request.client_order_id)

    def parse(self, prepared: PreparedRequest, response: RawResponse) -> object:
        """The decoded JSON of a 2xx answer; otherwise raise the typed error (``binance_error``)."""
        if 200 <= response.status < 300:
            try:
                return json.loads(response.body) if response.body else None
            except ValueError:
                raise ExchangeError(f"{prepared.endpoint}: undecodable JSON in a {response.status} answer",
                                    venue=self.venue, http_status=response.status) from None
        code, message = error_body(response.body)
        raise binance_error(response.status, code=code, message=message or f"HTTP {response.status}",
                            retry_after_s=parse_retry_after(response.header("Retry-After")),
                            order_entry=prepared.order_entry, venue=self.venue, redactor=self.redactor)

    def parse_server_time(self, payload: object) -> int:
        """``serverTime`` (ms) from a ``/api/v3/time`` answer; ``ExchangeError`` if it is malformed."""
        value = payload.get("serverTime") if isinstance(payload, dict) else None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ExchangeError("malformed /api/v3/time answer", venue=self.venue)
        return value

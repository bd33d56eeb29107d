"""The Bybit v5 REST protocol without I/O: header-signed requests in, envelopes out.

``BybitRestProtocol.prepare`` turns a ``RestRequest`` into the exact bytes to send: GET
parameters in the query string (in the given order, never sorted), POST parameters as a compact
JSON body, and, when SIGNED, the four ``X-BAPI-*`` headers whose ``X-BAPI-SIGN`` is the hex
HMAC-SHA256 of ``timestamp + apiKey + recvWindow + (query string | raw JSON body)`` over the very
text that is sent (``spec/venues.md`` §2, ``live.signing.bybit_v5_signature``). ``parse`` reads
the ``{"retCode", "retMsg", "result", "time"}`` envelope: ``result`` when ``retCode`` is 0,
otherwise the typed error (``live.bybit.errors``). The rate-limit headers of every answer go to
``on_limits`` with the endpoint they belong to (Bybit counts per endpoint). The audit view masks
the key and the signature. Nothing here opens a socket or reads a clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

from harness.contract import ExchangeError
from harness.model import VenueMode
from harness.registry import Credentials
from live.bybit.errors import INVALID_TIMESTAMP, bybit_error
from live.guard import check_transport_url
from live.redaction import SecretRedactor
from live.rest.protocol import PreparedRequest, RawResponse, RestRequest
from live.signing import ParamValue, bybit_v5_headers, encode_params, format_value

__all__ = ["BybitRestProtocol", "LimitsObserver", "json_body"]

LimitsObserver = Callable[[str, Mapping[str, str], int | None], None]
"""Receives ``(endpoint, lower-cased headers, server time ms)`` of every answer."""

_MS = 1000


def json_body(params: Sequence[tuple[str, ParamValue]]) -> str:
    """The compact JSON body of a POST: decimals and strings as strings, ints as numbers, bools as bools."""
    def value(v: ParamValue) -> object:
        return v if isinstance(v, bool | int) else format_value(v)
    return json.dumps({name: value(v) for name, v in params}, separators=(",", ":"))


class BybitRestProtocol:
    """Bybit v5 REST: signed request construction and envelope interpretation (no I/O)."""

    time_path = "/v5/market/time"
    """The unsigned server-time endpoint used by ``RestClient.sync_time``."""

    invalid_timestamp_code = INVALID_TIMESTAMP
    """The retCode that makes ``RestClient`` re-sync its clock offset and retry once."""

    def __init__(self, *, base_url: str, mode: VenueMode, credentials: Credentials | None = None,
                 recv_window_ms: int = 5000, venue: str = "bybit", on_limits: LimitsObserver | None = None) -> None:
        check_transport_url(venue, mode, base_url, "rest")
        if isinstance(recv_window_ms, bool) or not isinstance(recv_window_ms, int) or not 0 < recv_window_ms <= 60_000:
            raise ValueError(f"recv_window_ms must be an int in (0, 60000], got {recv_window_ms!r}")
        self.venue = venue
        self.mode = mode
        self.base_url = base_url.rstrip("/")
        self.recv_window_ms = recv_window_ms
        self.on_limits = on_limits
        self._credentials = credentials
        self.redactor = SecretRedactor((credentials.api_key, credentials.secret, credentials.passphrase)
                                       if credentials else ())

    def time_request(self) -> RestRequest:
        """The ``GET /v5/market/time`` request."""
        return RestRequest("GET", self.time_path)

    def prepare(self, request: RestRequest, *, timestamp_ms: int | None = None) -> PreparedRequest:
        """The wire form of ``request``; a signed one needs ``timestamp_ms`` (venue time)."""
        query = encode_params(request.params)
        body = json_body(request.body) if request.method != "GET" else ""
        headers: dict[str, str] = {}
        if request.method != "GET":
            headers["Content-Type"] = "application/json"
        if request.signed:
            if self._credentials is None:
                raise ValueError(f"{request.endpoint} is SIGNED but the protocol has no credentials")
            if timestamp_ms is None:
                raise ValueError("a signed request needs timestamp_ms")
            headers.update(bybit_v5_headers(self._credentials.secret, timestamp_ms=timestamp_ms,
                                            api_key=self._credentials.api_key, recv_window_ms=self.recv_window_ms,
                                            payload=body if request.method != "GET" else query))
        url = f"{self.base_url}{request.path}" + (f"?{query}" if query else "")
        audit: dict[str, object] = {"method": request.method, "path": request.path}
        audit.update({f"param.{name}": value for name, value in request.params})
        audit.update({f"body.{name}": value for name, value in request.body})
        audit.update({f"header.{name}": ("***" if name == "X-BAPI-SIGN" else value) for name, value in headers.items()})
        return PreparedRequest(method=request.method, url=url, body=body.encode("utf-8") if body else None,
                               headers=MappingProxyType(headers), endpoint=request.endpoint,
                               order_entry=request.order_entry, audit=MappingProxyType(self.redactor.mapping(audit)),
                               client_order_id=request.client_order_id)

    def parse(self, prepared: PreparedRequest, response: RawResponse) -> object:
        """``result`` of a ``retCode`` 0 envelope; otherwise raise the typed error (``bybit_error``)."""
        envelope: object = None
        try:
            envelope = json.loads(response.body) if response.body else None
        except ValueError:
            envelope = None
        server_ms = envelope.get("time") if isinstance(envelope, dict) else None
        server_ms = server_ms if isinstance(server_ms, int) and not isinstance(server_ms, bool) else None
        if self.on_limits is not None:
            self.on_limits(prepared.endpoint, response.headers, server_ms)
        if response.status == 200 and not isinstance(envelope, dict):
            raise ExchangeError(f"{prepared.endpoint}: the answer is not a Bybit JSON envelope", venue=self.venue,
                                http_status=response.status)
        code = envelope.get("retCode") if isinstance(envelope, dict) else None
        if response.status == 200 and code == 0:
            assert isinstance(envelope, dict)
            if "result" not in envelope:
                raise ExchangeError(f"{prepared.endpoint}: envelope without 'result'", venue=self.venue)
            return envelope["result"]
        if response.status == 200 and (isinstance(code, bool) or not isinstance(code, int)):
            raise ExchangeError(f"{prepared.endpoint}: envelope without an integer 'retCode'", venue=self.venue)
        message = str(envelope.get("retMsg", "")) if isinstance(envelope, dict) else \
            response.body.decode("utf-8", errors="replace")[:200]
        return self._raise(prepared, response, code if isinstance(code, int) else None, message, server_ms)

    def _raise(self, prepared: PreparedRequest, response: RawResponse, code: int | None, message: str,
               server_ms: int | None) -> object:
        retry = None
        reset = response.header("X-Bapi-Limit-Reset-Timestamp")
        if reset is not None and server_ms is not None:
            try:
                retry = max(Decimal(0), (Decimal(reset.strip()) - server_ms) / _MS)
            except InvalidOperation:
                retry = None
        raise bybit_error(response.status, code=code, message=message or f"HTTP {response.status}",
                          retry_after_s=retry, order_entry=prepared.order_entry, venue=self.venue,
                          redactor=self.redactor)

    def parse_server_time(self, payload: object) -> int:
        """The venue time (ms) from a ``/v5/market/time`` result (``timeNano``, else ``timeSecond``)."""
        if isinstance(payload, dict):
            nano, second = payload.get("timeNano"), payload.get("timeSecond")
            if isinstance(nano, str) and nano.isdigit():
                return int(nano) // 1_000_000
            if isinstance(second, str) and second.isdigit():
                return int(second) * 1000
        raise ExchangeError("malformed /v5/market/time answer", venue=self.venue)

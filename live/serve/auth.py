"""What the local venue checks on every request before the venue sees it: parameters, key, signature, time.

Binance's rules (``rest-api.md``, ``spec/venues.md`` §1.2-1.3), applied to the raw request:

* parameters come from the query string and the form body, mixed freely; a parameter in both
  takes the query string's value;
* a SIGNED request carries ``X-MBX-APIKEY`` (missing: -2014, unknown: -2015) and a
  ``signature`` over *query string + body exactly as sent* with the ``signature`` pair removed
  (HMAC-SHA256 hex, compared case-insensitively; wrong: -1022);
* ``timestamp`` must satisfy ``timestamp < serverTime + 1000`` and ``serverTime - timestamp <=
  recvWindow`` (default 5000 ms, at most 60000, up to three decimals), otherwise -1021.

The WS API signs differently (sorted ``k=v`` pairs with ``apiKey`` included, UTF-8, no
percent-encoding): ``verify_ws_signature``. Failures raise ``BinanceApiError`` with the venue's
HTTP status, code and message; nothing here reads a clock (``now_ms`` is passed in).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl

__all__ = ["ApiKeys", "BinanceApiError", "RequestParams", "check_timestamp", "mandatory", "parse_params",
           "verify_rest_signature", "verify_ws_signature"]

_MAX_RECV_WINDOW_MS = Decimal(60_000)
_AHEAD_MS = 1000


@dataclass
class BinanceApiError(Exception):
    """An answer the venue gives instead of a result: HTTP status, Binance code and message."""

    status: int
    code: int
    msg: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.msg}"

    def body(self) -> dict[str, object]:
        """The JSON error body, ``{"code": -1121, "msg": "Invalid symbol."}``."""
        return {"code": self.code, "msg": self.msg}


def mandatory(name: str) -> BinanceApiError:
    """-1102 for a parameter that is missing or malformed."""
    return BinanceApiError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


@dataclass(frozen=True)
class RequestParams:
    """A request's parameters (query wins over body) and the raw texts its signature covers."""

    values: Mapping[str, str]
    raw_query: str = ""
    raw_body: str = ""

    def get(self, name: str) -> str | None:
        """The value of ``name``, or None when it was not sent (an empty value counts as not sent)."""
        value = self.values.get(name)
        return value if value else None

    def require(self, name: str) -> str:
        """The value of ``name``, or -1102."""
        value = self.get(name)
        if value is None:
            raise mandatory(name)
        return value

    def decimal(self, name: str) -> Decimal | None:
        """A decimal parameter (None when not sent), -1102 when malformed."""
        value = self.get(name)
        if value is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise mandatory(name) from None
        if not number.is_finite():
            raise mandatory(name)
        return number

    def integer(self, name: str, default: int | None = None) -> int | None:
        """An integer parameter, ``default`` when not sent, -1102 when malformed."""
        value = self.get(name)
        if value is None:
            return default
        if not value.lstrip("-").isdigit():
            raise mandatory(name)
        return int(value)


def parse_params(raw_query: str, raw_body: str) -> RequestParams:
    """Parameters from the raw query string and form body; the query string's copy wins."""
    try:
        body = dict(parse_qsl(raw_body, keep_blank_values=True, strict_parsing=False))
        query = dict(parse_qsl(raw_query, keep_blank_values=True, strict_parsing=False))
    except ValueError as exc:
        raise BinanceApiError(400, -1100, f"Illegal characters found in a parameter: {exc}") from None
    return RequestParams({**body, **query}, raw_query, raw_body)


def _without_signature(raw: str) -> tuple[str, str | None]:
    """``raw`` with its ``signature=...`` pair removed (the rest byte for byte), and the signature."""
    if not raw:
        return raw, None
    pairs = raw.split("&")
    kept = [p for p in pairs if not p.startswith("signature=")]
    found = [p.split("=", 1)[1] for p in pairs if p.startswith("signature=")]
    return "&".join(kept), (found[-1] if found else None)


class ApiKeys:
    """The API keys the venue knows: key -> HMAC secret (Binance HMAC keys)."""

    def __init__(self, keys: Mapping[str, str]) -> None:
        self._keys = dict(keys)

    def secret_of(self, api_key: str | None) -> str:
        """The secret of ``api_key``: -2014 when no key was sent, -2015 when it is unknown."""
        if not api_key:
            raise BinanceApiError(401, -2014, "API-key format invalid.")
        secret = self._keys.get(api_key)
        if secret is None:
            raise BinanceApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        return secret


def _same_hex(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.lower(), given.lower())


def verify_rest_signature(params: RequestParams, secret: str) -> None:
    """Check ``signature`` over the raw query + body without it (-1022 when wrong or missing)."""
    query, in_query = _without_signature(params.raw_query)
    body, in_body = _without_signature(params.raw_body)
    given = in_query or in_body
    if given is None:
        raise mandatory("signature")
    expected = hmac.new(secret.encode(), (query + body).encode("utf-8"), hashlib.sha256).hexdigest()
    if not _same_hex(expected, given):
        raise BinanceApiError(400, -1022, "Signature for this request is not valid.")


def verify_ws_signature(params: Mapping[str, object], secret: str) -> None:
    """Check a WS-API ``signature`` over the sorted ``k=v`` pairs of the other parameters (UTF-8)."""
    given = params.get("signature")
    if not isinstance(given, str) or not given:
        raise mandatory("signature")
    payload = "&".join(f"{name}={_ws_text(params[name])}" for name in sorted(params) if name != "signature")
    expected = hmac.new(secret.encode(), payload.encode("utf-8"), hashlib.sha256).hexdigest()
    if not _same_hex(expected, given):
        raise BinanceApiError(400, -1022, "Signature for this request is not valid.")


def _ws_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_timestamp(timestamp: str | int | None, recv_window: str | int | None, now_ms: int) -> None:
    """Binance's timing check of a signed request (-1021 outside the window, -1102 malformed)."""
    if timestamp is None or timestamp == "":
        raise mandatory("timestamp")
    try:
        stamp = int(str(timestamp))
        window = Decimal(str(recv_window)) if recv_window not in (None, "") else Decimal(5000)
    except (ValueError, InvalidOperation):
        raise mandatory("timestamp" if not str(timestamp).isdigit() else "recvWindow") from None
    if not window.is_finite() or window <= 0 or window > _MAX_RECV_WINDOW_MS or window != window.quantize(
            Decimal("0.001")):
        raise BinanceApiError(400, -1131, "recvWindow must be less than 60000")
    if stamp >= now_ms + _AHEAD_MS:
        raise BinanceApiError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if now_ms - stamp > window:
        raise BinanceApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")

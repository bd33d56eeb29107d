"""Bybit v5 request parameters and authentication at the local venue, checked over the raw bytes.

A GET's parameters come from its raw query string, a POST's from its raw JSON body; the
signature (``X-BAPI-SIGN``) is recomputed over ``timestamp + key + recvWindow + payload`` with the
payload exactly as received, never re-serialized (pybit signs ``json.dumps`` with spaces after
the colons). The timing rule of ``docs/v5/guide.mdx``: accepted when
``server_time - recv_window <= timestamp < server_time + 1000``. Refusals are ``BybitApiError``:
retCode and retMsg in an HTTP 200 envelope, as Bybit answers (10001 parameter error, 10002
timestamp, 10003 invalid key, 10004 bad sign).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from live.signing import bybit_v5_signature

__all__ = ["BybitApiError", "BybitKeys", "BybitParams", "param_error", "parse_bybit_params", "verify_bybit_request"]

_AHEAD_MS = 1000
_MAX_RECV_WINDOW_MS = 60_000


@dataclass
class BybitApiError(Exception):
    """An answer the venue gives instead of a result: retCode, retMsg, HTTP status (200 but for IP blocks)."""

    code: int
    msg: str
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.msg}"


def param_error(detail: str) -> BybitApiError:
    """10001 for a parameter that is missing or malformed."""
    return BybitApiError(10001, f"Request parameter error: {detail}" if detail else "Request parameter error.")


@dataclass(frozen=True)
class BybitParams:
    """One request's parameters (query or JSON body) and the raw payload its signature covers."""

    values: Mapping[str, Any]
    payload: str = ""

    def get(self, name: str) -> str | None:
        """The value of ``name`` as text, or None when not sent (empty counts as not sent)."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            raise param_error(f"{name} must be a decimal string")
        return str(value)

    def require(self, name: str) -> str:
        """The value of ``name``, or 10001."""
        value = self.get(name)
        if value is None:
            raise param_error(f"missing {name}")
        return value

    def decimal(self, name: str) -> Decimal | None:
        """A decimal parameter (None when not sent), 10001 when malformed."""
        value = self.get(name)
        if value is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise param_error(f"{name} is not a number") from None
        if not number.is_finite():
            raise param_error(f"{name} is not a number")
        return number

    def integer(self, name: str, default: int | None = None) -> int | None:
        """An integer parameter, ``default`` when not sent, 10001 when malformed."""
        value = self.get(name)
        if value is None:
            return default
        if not value.lstrip("-").isdigit():
            raise param_error(f"{name} is not an integer")
        return int(value)


def parse_bybit_params(method: str, raw_query: str, raw_body: str) -> BybitParams:
    """GET: the query string; anything else: the JSON body (10001 if it is not a JSON object)."""
    if method == "GET":
        return BybitParams(dict(parse_qsl(raw_query, keep_blank_values=True)), raw_query)
    if not raw_body.strip():
        return BybitParams({}, raw_body)
    try:
        values = json.loads(raw_body)
    except ValueError:
        raise param_error("the body is not JSON") from None
    if not isinstance(values, dict):
        raise param_error("the body is not a JSON object")
    return BybitParams(values, raw_body)


class BybitKeys:
    """The API keys the venue knows: key -> HMAC secret."""

    def __init__(self, keys: Mapping[str, str]) -> None:
        self._keys = dict(keys)

    def secret_of(self, api_key: str | None) -> str:
        """The secret of ``api_key``; 10003 when absent or unknown."""
        secret = self._keys.get(api_key or "")
        if secret is None:
            raise BybitApiError(10003, "API key is invalid.")
        return secret


def verify_bybit_request(headers: Mapping[str, str], payload: str, keys: BybitKeys, now_ms: int) -> str:
    """Check the ``X-BAPI-*`` headers of a signed request over ``payload``; returns the API key."""
    key = headers.get("X-BAPI-API-KEY")
    secret = keys.secret_of(key)
    stamp_text, window_text, sign = (headers.get(n) for n in ("X-BAPI-TIMESTAMP", "X-BAPI-RECV-WINDOW",
                                                               "X-BAPI-SIGN"))
    if not stamp_text or not stamp_text.isdigit():
        raise param_error("X-BAPI-TIMESTAMP")
    window_text = window_text or "5000"
    if not window_text.isdigit() or not 0 < int(window_text) <= _MAX_RECV_WINDOW_MS:
        raise param_error("X-BAPI-RECV-WINDOW")
    stamp, window = int(stamp_text), int(window_text)
    if not sign:
        raise BybitApiError(10004, "Error sign, please check your signature generation algorithm.")
    assert key is not None
    expected = bybit_v5_signature(secret, timestamp_ms=stamp, api_key=key, recv_window_ms=window, payload=payload)
    if not hmac.compare_digest(expected, sign.lower()):
        raise BybitApiError(10004, "Error sign, please check your signature generation algorithm.")
    if not now_ms - window <= stamp < now_ms + _AHEAD_MS:
        raise BybitApiError(10002, f"invalid request, please check your server timestamp or recv_window param. "
                                   f"req_timestamp[{stamp}],server_timestamp[{now_ms}],recv_window[{window}]")
    return key

"""The one place a Binance answer (REST or WS API) becomes a typed contract error.

Binance reports failures twice over: an HTTP status and a venue code in the body
(``{"code": -1121, "msg": "Invalid symbol."}``, ``errors.md``). The rules, in order:

1. **The HTTP status decides for 429, 418 and 5xx**, whatever the code says: 429 and 418 are
   ``RateLimitedError`` (418 a ban) with the ``Retry-After`` header; 5xx means the outcome is
   UNKNOWN (``rest-api.md``), so an order-entry request gets ``AmbiguousError``.
2. **Otherwise a known venue code decides** (``BINANCE_CODES``): -1021 (timestamp outside the
   recvWindow) is RETRYABLE after a time re-sync; -1022, -1002, -2014 and -2015 are FATAL
   (credentials); -2013 and -2011 "Unknown order sent." are ``OrderNotFoundError``; -2010
   "Duplicate order sent." is ``DuplicateOrderError``; -1003/-1015 are rate limits; the server-side
   -1000/-1001/-1006/-1007/-1008 leave an order's outcome unknown (AMBIGUOUS on order entry).
3. **Otherwise the status decides**: 403 is Binance's WAF refusal and 409 a partially successful
   cancel-replace, both EXCHANGE_ERROR (to alert on, not credentials); everything else goes
   through ``harness.errors.error_from_http`` (4xx INVALID_REQUEST, 401 FATAL, ...).

Messages are cleaned by the caller's ``SecretRedactor`` before any error is built.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

from harness.contract import (
    AmbiguousError,
    DuplicateOrderError,
    ErrorCategory,
    ExchangeError,
    FatalError,
    InvalidRequestError,
    OrderNotFoundError,
    RateLimitedError,
    RetryableError,
    VenueError,
)
from harness.errors import DEFAULT_BAN_RETRY_AFTER_S, DEFAULT_RETRY_AFTER_S, error_from_http
from live.redaction import SecretRedactor

__all__ = [
    "BINANCE_CODES",
    "INVALID_TIMESTAMP",
    "binance_error",
    "error_body",
    "parse_retry_after",
]

INVALID_TIMESTAMP = -1021
"""Binance: the request's timestamp is outside the recvWindow (re-sync the clock offset, retry once)."""

_SERVER_SIDE = "SERVER_SIDE"  # outcome unknown: AMBIGUOUS on order entry, RETRYABLE otherwise

BINANCE_CODES: Mapping[int, str] = MappingProxyType({
    -1000: _SERVER_SIDE,  # UNKNOWN: an unknown error occurred while processing the request
    -1001: _SERVER_SIDE,  # DISCONNECTED: internal error, unable to process your request
    -1002: ErrorCategory.FATAL.value,  # UNAUTHORIZED
    -1003: ErrorCategory.RATE_LIMITED.value,  # TOO_MANY_REQUESTS (weight, or IP banned until ...)
    -1006: _SERVER_SIDE,  # UNEXPECTED_RESP: execution status unknown
    -1007: _SERVER_SIDE,  # TIMEOUT: send status unknown, execution status unknown
    -1008: _SERVER_SIDE,  # SERVER_BUSY
    -1013: ErrorCategory.INVALID_REQUEST.value,  # INVALID_MESSAGE (filter failures)
    -1015: ErrorCategory.RATE_LIMITED.value,  # TOO_MANY_ORDERS
    -1016: ErrorCategory.EXCHANGE_ERROR.value,  # SERVICE_SHUTTING_DOWN
    -1021: ErrorCategory.RETRYABLE.value,  # INVALID_TIMESTAMP: re-sync, then retry
    -1022: ErrorCategory.FATAL.value,  # INVALID_SIGNATURE
    -1102: ErrorCategory.INVALID_REQUEST.value,  # MANDATORY_PARAM_EMPTY_OR_MALFORMED
    -1121: ErrorCategory.INVALID_REQUEST.value,  # BAD_SYMBOL
    -2010: ErrorCategory.INVALID_REQUEST.value,  # NEW_ORDER_REJECTED ("Duplicate order sent." -> duplicate)
    -2011: ErrorCategory.INVALID_REQUEST.value,  # CANCEL_REJECTED ("Unknown order sent." -> not found)
    -2013: ErrorCategory.INVALID_REQUEST.value,  # NO_SUCH_ORDER -> not found
    -2014: ErrorCategory.FATAL.value,  # BAD_API_KEY_FMT
    -2015: ErrorCategory.FATAL.value,  # REJECTED_MBX_KEY: invalid API-key, IP, or permissions
})
"""Binance venue codes with a fixed meaning (``spec/venues.md`` §1.6 and ``errors.md``) -> category."""

_NOT_FOUND_MESSAGES = ("unknown order", "order does not exist")


def parse_retry_after(value: str | None) -> Decimal | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form); ``None`` if absent or unreadable."""
    if value is None:
        return None
    try:
        seconds = Decimal(value.strip())
    except InvalidOperation:
        return None  # the HTTP-date form: the defaults of harness.errors apply
    return seconds if seconds.is_finite() and seconds >= 0 else None


def error_body(body: bytes) -> tuple[int | str | None, str]:
    """``(code, msg)`` of a Binance error body; ``(None, text)`` when it is not the JSON shape."""
    text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        return None, text
    if isinstance(data, dict):
        raw = data.get("error", data)  # WS API nests it: {"status": 400, "error": {"code", "msg"}}
        if isinstance(raw, dict):
            code = raw.get("code")
            msg = raw.get("msg", "")
            if isinstance(code, bool) or not isinstance(code, int | str | None):
                code = None
            return code, str(msg)
    return None, text


def _rate_limited(status: int, code: int | str | None, text: str, retry_after_s: Decimal | None,
                  venue: str) -> RateLimitedError:
    banned = status == 418 or "banned" in text.lower()
    default = DEFAULT_BAN_RETRY_AFTER_S if banned else DEFAULT_RETRY_AFTER_S
    return RateLimitedError(text, retry_after_s=default if retry_after_s is None else retry_after_s,
                            banned=banned, venue=venue, code=code, http_status=status)


_FIXED: Mapping[str, type[VenueError]] = MappingProxyType({
    ErrorCategory.FATAL.value: FatalError,
    ErrorCategory.RETRYABLE.value: RetryableError,
    ErrorCategory.EXCHANGE_ERROR.value: ExchangeError,
})


def binance_error(status: int, *, code: int | str | None, message: str, retry_after_s: Decimal | None,
                  order_entry: bool, venue: str = "binance",
                  redactor: SecretRedactor | None = None) -> VenueError:
    """The typed error for one failed Binance answer (HTTP status + venue code + message).

    ``order_entry`` marks requests that may create or change an order (submit, cancel-replace):
    there, an unknown outcome is ``AmbiguousError``. See the module docstring for the rules.
    """
    text = redactor.text(message) if redactor is not None else message
    if status in (429, 418):
        return _rate_limited(status, code, text, retry_after_s, venue)
    if status >= 500:
        return error_from_http(status, venue=venue, code=code, message=text, retry_after_s=retry_after_s,
                               order_entry=order_entry)
    category = BINANCE_CODES.get(code) if isinstance(code, int) else None
    if category is not None:
        return _from_code(category, status, code, text, retry_after_s=retry_after_s, order_entry=order_entry,
                          venue=venue)
    if status in (403, 409):
        return ExchangeError(text, venue=venue, code=code, http_status=status)
    return error_from_http(status, venue=venue, code=code, message=text, retry_after_s=retry_after_s,
                           order_entry=order_entry)


def _from_code(category: str, status: int, code: int | str | None, text: str, *, retry_after_s: Decimal | None,
               order_entry: bool, venue: str) -> VenueError:
    if category == ErrorCategory.RATE_LIMITED.value:
        return _rate_limited(status, code, text, retry_after_s, venue)
    cls: type[VenueError]
    lowered = text.lower()
    if category == _SERVER_SIDE:
        cls = AmbiguousError if order_entry else RetryableError
    elif category in _FIXED:
        cls = _FIXED[category]
    elif code == -2013 or (code == -2011 and any(m in lowered for m in _NOT_FOUND_MESSAGES)):
        cls = OrderNotFoundError
    elif code == -2010 and "duplicate order" in lowered:
        cls = DuplicateOrderError
    else:
        cls = InvalidRequestError
    return cls(text, venue=venue, code=code, http_status=status)

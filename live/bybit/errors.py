"""The one place a Bybit v5 answer becomes a typed contract error.

Bybit answers almost everything with HTTP 200 and says what went wrong in the envelope's
``retCode`` / ``retMsg`` (``docs/v5/error.mdx``, ``spec/venues.md`` §2). The rules, in order:

1. **HTTP status first** for what never reaches the API: 403 is Bybit's IP block (too many
   requests: ``RateLimitedError``, banned), 429 a rate limit, 5xx an unknown outcome
   (``AmbiguousError`` on order entry), 401 bad credentials.
2. **Then the retCode** (``BYBIT_CODES``): 10002 (timestamp outside the recv window) is RETRYABLE
   after a time re-sync; 10003/10004/10005/10007/10010/33004 are FATAL (key, signature,
   permissions, IP); 10006/10018 rate limits (the reset time comes from
   ``X-Bapi-Limit-Reset-Timestamp``); 110001/170213 ``OrderNotFoundError``; 170141 and
   110072 ``DuplicateOrderError``; 10000/10016 leave the outcome unknown; other 10001 and 1100xx/1701xx
   order refusals are INVALID_REQUEST.
3. **Anything else** non-zero is an ``ExchangeError`` (to alert on).

Messages are cleaned by the caller's ``SecretRedactor`` before any error is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

from harness.contract import (
    AmbiguousError,
    DuplicateOrderError,
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

__all__ = ["BYBIT_CODES", "INVALID_TIMESTAMP", "bybit_error"]

INVALID_TIMESTAMP = 10002
"""Bybit: the request's timestamp is outside the recv window (re-sync the clock offset, retry once)."""

BYBIT_CODES: Mapping[int, type[VenueError] | str] = MappingProxyType({
    10000: "SERVER_SIDE",  # server timeout
    10001: InvalidRequestError,  # request parameter error
    10002: RetryableError,  # timestamp outside the recv window
    10003: FatalError,  # API key invalid
    10004: FatalError,  # error sign
    10005: FatalError,  # permission denied
    10006: "RATE_LIMITED",  # too many visits
    10007: FatalError,  # user authentication failed
    10010: FatalError,  # unmatched IP
    10016: "SERVER_SIDE",  # server error
    10018: "BANNED",  # exceeded the IP rate limit
    10019: RetryableError,  # service restarting
    33004: FatalError,  # API key expired
    110001: OrderNotFoundError,  # order does not exist
    170213: OrderNotFoundError,  # order does not exist (spot)
    170141: DuplicateOrderError,  # duplicate clientOrderId
    110072: DuplicateOrderError,  # duplicate orderLinkId (derivatives)
})
"""Bybit retCodes with a fixed meaning -> the error class (or a rule name for the special cases)."""


def _limited(text: str, code: int | None, status: int, retry_after_s: Decimal | None, *, banned: bool,
             venue: str) -> RateLimitedError:
    default = DEFAULT_BAN_RETRY_AFTER_S if banned else DEFAULT_RETRY_AFTER_S
    return RateLimitedError(text, retry_after_s=default if retry_after_s is None else retry_after_s, banned=banned,
                            venue=venue, code=code, http_status=status)


def bybit_error(status: int, *, code: int | None, message: str, retry_after_s: Decimal | None,
                order_entry: bool, venue: str = "bybit", redactor: SecretRedactor | None = None) -> VenueError:
    """The typed error for one failed Bybit answer (HTTP status, ``retCode``, ``retMsg``).

    ``retry_after_s`` is what the rate-limit reset header leaves to wait (None when absent);
    ``order_entry`` marks requests that may create or change an order (unknown outcome: AMBIGUOUS).
    """
    text = redactor.text(message) if redactor is not None else message
    if status == 403:
        return _limited(text, code, status, retry_after_s, banned=True, venue=venue)
    if status == 429:
        return _limited(text, code, status, retry_after_s, banned=False, venue=venue)
    if status != 200:
        return error_from_http(status, venue=venue, code=code, message=text, retry_after_s=retry_after_s,
                               order_entry=order_entry)
    rule = BYBIT_CODES.get(code) if code is not None else None
    if rule in {"RATE_LIMITED", "BANNED"}:
        return _limited(text, code, status, retry_after_s, banned=rule == "BANNED", venue=venue)
    if rule == "SERVER_SIDE":
        return (AmbiguousError if order_entry else RetryableError)(text, venue=venue, code=code, http_status=status)
    if isinstance(rule, type):
        return rule(text, venue=venue, code=code, http_status=status)
    if code is not None and (110_000 <= code < 111_000 or 170_000 <= code < 171_000 or 10_001 <= code < 10_100):
        return InvalidRequestError(text, venue=venue, code=code, http_status=status)
    return ExchangeError(text, venue=venue, code=code, http_status=status)

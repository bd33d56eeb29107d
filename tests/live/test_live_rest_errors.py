"""live.rest.errors: each HTTP status and Binance code to its one category (the mapping table)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
from harness.errors import categorize
from live.redaction import SecretRedactor
from live.rest.errors import BINANCE_CODES, binance_error, error_body, parse_retry_after

# (status, code, message, order_entry) -> exact error class
TABLE = [
    # HTTP status decides
    (500, None, "", True, AmbiguousError),
    (503, -1007, "Timeout waiting for response", True, AmbiguousError),
    (502, None, "", False, RetryableError),
    (429, -1003, "Too much request weight used", False, RateLimitedError),
    (429, None, "", True, RateLimitedError),
    (418, -1003, "Way too much request weight used; IP banned until 1700000000000.", False, RateLimitedError),
    # Binance code decides
    (400, -1021, "Timestamp for this request is outside of the recvWindow.", True, RetryableError),
    (400, -1022, "Signature for this request is not valid.", True, FatalError),
    (401, -2015, "Invalid API-key, IP, or permissions for action.", False, FatalError),
    (400, -2014, "API-key format invalid.", False, FatalError),
    (401, -1002, "You are not authorized to execute this request.", False, FatalError),
    (400, -1013, "Filter failure: LOT_SIZE", True, InvalidRequestError),
    (400, -1102, "Mandatory parameter 'quantity' was not sent", True, InvalidRequestError),
    (400, -1121, "Invalid symbol.", False, InvalidRequestError),
    (400, -2010, "Account has insufficient balance for requested action.", True, InvalidRequestError),
    (400, -2010, "Duplicate order sent.", True, DuplicateOrderError),
    (400, -2011, "Unknown order sent.", False, OrderNotFoundError),
    (400, -2011, "Order was not canceled due to cancel restrictions.", False, InvalidRequestError),
    (400, -2013, "Order does not exist.", False, OrderNotFoundError),
    (400, -1015, "Too many new orders.", True, RateLimitedError),
    (400, -1006, "An unexpected response was received from the message bus.", True, AmbiguousError),
    (400, -1006, "An unexpected response was received from the message bus.", False, RetryableError),
    (400, -1001, "Internal error; unable to process your request.", True, AmbiguousError),
    (400, -1000, "An unknown error occurred while processing the request.", True, AmbiguousError),
    (400, -1008, "Server is currently overloaded with other requests.", False, RetryableError),
    (400, -1016, "This service is no longer available.", False, ExchangeError),
    # status decides again (no known code)
    (403, None, "WAF limit violated", False, ExchangeError),
    (409, -2022, "cancelReplace partially succeeded", True, ExchangeError),
    (404, None, "Not Found", False, InvalidRequestError),
    (401, None, "", False, FatalError),
    (400, -9999, "some new code", True, InvalidRequestError),
    (302, None, "redirect", False, ExchangeError),
]


@pytest.mark.parametrize(("status", "code", "msg", "order_entry", "cls"), TABLE)
def test_mapping_table(status: int, code: int | None, msg: str, order_entry: bool, cls: type[VenueError]) -> None:
    error = binance_error(status, code=code, message=msg, retry_after_s=None, order_entry=order_entry)
    assert type(error) is cls
    assert (error.code, error.http_status, error.venue) == (code, status, "binance")


def test_every_table_code_is_exercised() -> None:
    assert {code for _, code, *_ in TABLE if code is not None} >= set(BINANCE_CODES)


def test_rate_limits_carry_retry_after_and_ban() -> None:
    limited = binance_error(429, code=-1003, message="x", retry_after_s=Decimal(7), order_entry=False)
    assert isinstance(limited, RateLimitedError) and limited.retry_after_s == 7 and not limited.banned
    banned = binance_error(418, code=-1003, message="IP banned until 1", retry_after_s=None, order_entry=False)
    assert isinstance(banned, RateLimitedError) and banned.banned and banned.retry_after_s == 120
    ws_ban = binance_error(400, code=-1003, message="Way too much; IP banned until 5", retry_after_s=None,
                           order_entry=False)
    assert isinstance(ws_ban, RateLimitedError) and ws_ban.banned


@pytest.mark.parametrize(("raw", "expected"), [("7", Decimal(7)), (" 0.5 ", Decimal("0.5")), (None, None),
                                               ("Wed, 21 Oct 2015 07:28:00 GMT", None), ("-3", None), ("inf", None)])
def test_parse_retry_after(raw: str | None, expected: Decimal | None) -> None:
    assert parse_retry_after(raw) == expected


def test_error_body_shapes() -> None:
    assert error_body(b'{"code": -1121, "msg": "Invalid symbol."}') == (-1121, "Invalid symbol.")
    assert error_body(b'{"id": 1, "status": 400, "error": {"code": -2010, "msg": "x"}}') == (-2010, "x")
    assert error_body(b"<html>bad gateway</html>") == (None, "<html>bad gateway</html>")
    assert error_body(b'{"code": true}') == (None, "")


@given(status=st.integers(100, 599), code=st.none() | st.sampled_from(sorted(BINANCE_CODES)) | st.integers(-3000, 0),
       order_entry=st.booleans(), msg=st.text(max_size=80))
def test_property_7_every_answer_maps_to_exactly_one_category(status: int, code: int | None, order_entry: bool,
                                                               msg: str) -> None:
    error = binance_error(status, code=code, message=msg, retry_after_s=None, order_entry=order_entry)
    category = categorize(error)
    assert category in set(ErrorCategory)
    assert binance_error(status, code=code, message=msg, retry_after_s=None, order_entry=order_entry).category \
        is category  # consistent for the same answer
    if status >= 500:
        assert category is (ErrorCategory.AMBIGUOUS if order_entry else ErrorCategory.RETRYABLE)
    if status in (429, 418):
        assert category is ErrorCategory.RATE_LIMITED
    if not order_entry:
        assert category is not ErrorCategory.AMBIGUOUS


@given(key=st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=8, max_size=64))
def test_echoed_api_key_is_masked(key: str) -> None:
    error = binance_error(401, code=-2015, message=f"Invalid API-key {key} for action", retry_after_s=None,
                          order_entry=False, redactor=SecretRedactor([key]))
    assert key not in str(error) and key not in error.message

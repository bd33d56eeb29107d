"""The adapter contract's shape: error tree, categories, exports and the protocol's methods."""

from __future__ import annotations

import inspect
from decimal import Decimal
from types import ModuleType

import pytest

import harness.contract as contract
import harness.model as model
from harness.contract import (
    AmbiguousError,
    ErrorCategory,
    ExchangeAdapter,
    ExchangeError,
    FatalError,
    InvalidRequestError,
    NotSupportedError,
    OrderNotFoundError,
    RateLimitedError,
    RetryableError,
    VenueError,
)
from harness.model import OrderStatus


@pytest.mark.parametrize("module", [contract, model])
def test_public_exports_are_complete(module: ModuleType) -> None:
    public = {
        name for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
        and (inspect.isclass(value) or inspect.isfunction(value))
    }
    assert public <= set(module.__all__)


@pytest.mark.parametrize(
    ("cls", "category", "parent"),
    [
        (RetryableError, ErrorCategory.RETRYABLE, VenueError),
        (AmbiguousError, ErrorCategory.AMBIGUOUS, RetryableError),
        (InvalidRequestError, ErrorCategory.INVALID_REQUEST, VenueError),
        (NotSupportedError, ErrorCategory.INVALID_REQUEST, InvalidRequestError),
        (OrderNotFoundError, ErrorCategory.INVALID_REQUEST, InvalidRequestError),
        (ExchangeError, ErrorCategory.EXCHANGE_ERROR, VenueError),
        (FatalError, ErrorCategory.FATAL, VenueError),
    ],
)
def test_error_tree_and_categories(cls: type[VenueError], category: ErrorCategory, parent: type) -> None:
    error = cls("boom", venue="binance", code=-1013)
    assert error.category is category
    assert isinstance(error, parent)
    assert str(error) == f"[binance] {category.value}: boom (code -1013)"


def test_rate_limited_carries_retry_after_and_ban() -> None:
    error = RateLimitedError("too many", retry_after_s=Decimal("12"), banned=True, http_status=418)
    assert error.category is ErrorCategory.RATE_LIMITED
    assert error.retry_after_s == Decimal(12)
    assert error.banned and error.http_status == 418


def test_protocol_lists_every_operation_the_design_requires() -> None:
    required = {
        "connect", "disconnect", "is_connected", "health", "submit_order", "cancel_order", "modify_order",
        "get_order", "get_open_orders", "get_fills", "get_balances", "get_positions", "get_ticker",
        "get_order_book", "get_candles", "get_server_time", "subscribe_order_updates", "subscribe_fills",
        "subscribe_trades", "subscribe_quotes", "subscribe_book", "get_rate_limit_status", "get_venue_info",
    }
    members = {name for name in dir(ExchangeAdapter) if not name.startswith("_")}
    assert required <= members
    for name in required - {"is_connected"}:
        assert inspect.iscoroutinefunction(getattr(ExchangeAdapter, name)), name


def test_terminal_states_are_exactly_the_four_final_ones() -> None:
    terminal = {s for s in OrderStatus if s.is_terminal}
    assert terminal == {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
    assert not any(s.is_open for s in terminal)

"""What a strategy is and what it may touch, identical in simulation and live.

A strategy is user code. It never imports ``sim`` or ``live``: it receives a
``StrategyContext`` (clock, seeded RNG, order entry, positions, balances, venue info) in
``on_start`` and reacts to events. Market-data callbacks are plain synchronous methods because
they are the hot path; order and fill callbacks may be ``async`` (the runner schedules the
coroutine). Placing an order returns at once with the client order id; the outcome arrives
later through ``on_order_update`` and ``on_fill``.

Strategies are loaded by import path (``MODULE:CLASS``) with string parameters from the command
line or a scenario file; each strategy converts its own parameters (``Decimal(params["spread"])``).
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Awaitable, Mapping
from decimal import Decimal
from typing import Protocol

from harness.clock import Clock
from harness.model import (
    Balance,
    BookSnapshot,
    Candle,
    Fill,
    OrderReport,
    OrderType,
    Quote,
    Side,
    TimeInForce,
    Trade,
    VenueInfo,
)

__all__ = ["Strategy", "StrategyContext", "StrategyLoadError", "load_strategy"]


class StrategyContext(Protocol):
    """The world as a strategy sees it; served by the execution layer in every world."""

    @property
    def clock(self) -> Clock:
        """The only source of time for the strategy."""

    @property
    def rng(self) -> random.Random:
        """A seeded generator private to this strategy."""

    @property
    def venues(self) -> tuple[str, ...]:
        """Names of the venues the strategy may trade on."""

    def venue_info(self, venue: str) -> VenueInfo:
        """Instruments, filters, fees and capabilities of a venue."""

    def submit(self, venue: str, symbol: str, side: Side, quantity: Decimal, *,
               order_type: OrderType = OrderType.LIMIT, price: Decimal | None = None,
               stop_price: Decimal | None = None, trailing_delta: Decimal | None = None,
               time_in_force: TimeInForce = TimeInForce.GTC, expire_at_ns: int | None = None,
               post_only: bool = False) -> str:
        """Send an order; returns its client order id at once (the outcome arrives as events)."""

    def route(self, instrument: str, side: Side, quantity: Decimal, *, order_type: OrderType = OrderType.MARKET,
              price: Decimal | None = None, time_in_force: TimeInForce = TimeInForce.GTC) -> None:
        """Let the order router place an order for ``instrument`` (``BASE/QUOTE``) on the best venue(s).

        The orders it creates arrive as order updates, like any other; the decision and its
        reasoning are recorded by the run.
        """

    def cancel(self, client_order_id: str) -> None:
        """Ask the venue to cancel an order; the confirmation arrives as an order update."""

    def modify(self, client_order_id: str, *, price: Decimal | None = None,
               quantity: Decimal | None = None) -> None:
        """Ask the venue to change a resting order (native or cancel-replace per capability)."""

    def open_orders(self, venue: str | None = None, symbol: str | None = None) -> list[OrderReport]:
        """Our orders that are still working, as last reported by the venue."""

    def position(self, venue: str, symbol: str) -> Decimal:
        """Net position (base units, signed) built from our fills on that venue."""

    def balances(self, venue: str) -> Mapping[str, Balance]:
        """Balances per asset as last reported by the venue."""

    def log(self, message: str) -> None:
        """Record a line in the run's event log (with the virtual time)."""


class Strategy:
    """Base class for strategies: override the callbacks you need; all default to doing nothing."""

    def __init__(self, **params: str) -> None:
        self.params: dict[str, str] = dict(params)
        self._ctx: StrategyContext | None = None

    @property
    def ctx(self) -> StrategyContext:
        """The context given in ``on_start`` (an error before the strategy is started)."""
        if self._ctx is None:
            raise RuntimeError("strategy used before on_start")
        return self._ctx

    def on_start(self, ctx: StrategyContext) -> None:
        """Called once before any event; subclasses calling super() get ``self.ctx`` set."""
        self._ctx = ctx

    def on_stop(self) -> None:
        """Called once after the last event."""

    # market data: synchronous, hot path
    def on_trade(self, trade: Trade) -> None:
        """A public trade arrived."""

    def on_quote(self, quote: Quote) -> None:
        """The best bid/offer changed."""

    def on_book(self, book: BookSnapshot) -> None:
        """An L2 book update arrived (top levels)."""

    def on_bar(self, candle: Candle) -> None:
        """A bar closed."""

    # our orders: may be async
    def on_order_update(self, report: OrderReport) -> Awaitable[None] | None:
        """One of our orders changed state."""
        return None

    def on_fill(self, fill: Fill) -> Awaitable[None] | None:
        """One of our orders traded."""
        return None


class StrategyLoadError(ValueError):
    """A ``MODULE:CLASS`` path does not name a Strategy subclass."""


def load_strategy(path: str, params: Mapping[str, str] | None = None) -> Strategy:
    """Import ``MODULE:CLASS`` and instantiate it with string parameters."""
    module_name, sep, class_name = path.partition(":")
    if not sep or not module_name or not class_name:
        raise StrategyLoadError(f"strategy must be MODULE:CLASS, got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise StrategyLoadError(f"cannot import strategy module {module_name!r}: {exc}") from exc
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise StrategyLoadError(f"{path!r} is not a Strategy subclass")
    try:
        return cls(**dict(params or {}))
    except TypeError as exc:
        raise StrategyLoadError(f"bad parameters for {path}: {exc}") from exc

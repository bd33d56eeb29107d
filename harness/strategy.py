"""What a strategy is and what it may touch, identical in simulation and live.

A strategy is user code. It never imports ``sim`` or ``live``: it receives a
``StrategyContext`` (clock, seeded RNG, order entry, positions, balances, venue info, the
instruments the run has market data for) in ``on_start`` and reacts to events. Market-data
callbacks are plain synchronous methods because they are the hot path; order and fill callbacks
may be ``async`` (the runner schedules the coroutine). Placing an order returns at once with the
client order id; the outcome arrives later through ``on_order_update`` and ``on_fill``.

Market data. Four kinds reach a strategy, each through its own callback:

=============  =============================  ==========================================
callback       subscribe explicitly with      what arrives
=============  =============================  ==========================================
``on_trade``   ``ctx.subscribe_trades``       each public trade (``Trade``)
``on_trades``  ``ctx.subscribe_trades``       runs of public trades as numpy columns
                                              (``TradeBatch``), instead of ``on_trade``
``on_quote``   ``ctx.subscribe_quotes``       each best bid/offer change (``Quote``)
``on_book``    ``ctx.subscribe_book``         after each book message, the client's rebuilt
               (``depth=20`` levels)          book, top ``depth`` levels (``BookSnapshot``)
``on_bar``     ``ctx.subscribe_bars``         each closed bar of the interval (``Candle``)
               (``interval_s=60``)
=============  =============================  ==========================================

Call the ``subscribe_*`` methods in ``on_start`` (or later, from any callback). A kind you
subscribe to nowhere is subscribed for you if you override its callback: every instrument of
``ctx.instruments``, at the defaults above. A kind whose callback you do not override and that
you never subscribe to is not sent at all: nothing travels, in simulation or live, for data
nobody reads. Everything arrives after the venue's market-data latency, in the order the venue
sent it; a book snapshot and a bar carry the venue's event time (``ts_event``, ``ts_open``), and
``ctx.clock.now_ns()`` in the callback is when it reached the strategy.

Bars close the way a venue's kline stream closes them: a bar of ``interval_s`` seconds,
aligned to the epoch, is delivered once its interval has ended, at the end of the interval
plus market-data latency. In simulation it is built from the venue's own trade tape (whole
minutes only); an interval without trades gives a flat bar at the previous close with zero
volume, as Binance's klines do, and nothing comes before the instrument's first trade. When
the replayed data holds recorded candles of that instrument and interval, those are delivered
instead (each at its close plus latency).

``ctx.instruments`` lists the (venue, symbol) pairs the run has market data for: in a replay,
those of the data files (under the simulated venue's own names when ``--data-venue`` maps them);
live, the configured symbols. ``instrument_for`` picks a strategy's instrument from its
parameters, defaulting to the first instrument of its venue, and raises ``StrategyConfigError``
(which ``harness replay`` prints as a one-line error) when no market data carries it.

Strategies are loaded by import path (``MODULE:CLASS``) with string parameters from the command
line or a scenario file; each strategy converts its own parameters (``Decimal(params["spread"])``).
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Awaitable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, NamedTuple, Protocol, cast

from harness.clock import Clock
from harness.contract import MarginMode
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
from harness.params import Param, StrategyParamError, parse_params
from harness.trade_batch import TradeBatch

__all__ = ["Instrument", "Strategy", "StrategyConfigError", "StrategyContext", "StrategyLoadError", "instrument_for",
           "load_strategy"]


class Instrument(NamedTuple):
    """One tradable instrument of one venue, under the venue's own symbol (``binance``, ``BTCUSDT``)."""

    venue: str
    symbol: str


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

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        """The (venue, symbol) pairs this run has market data for, in the order the data lists them."""

    def venue_info(self, venue: str) -> VenueInfo:
        """Instruments, filters, fees and capabilities of a venue."""

    def subscribe_trades(self, venue: str, symbol: str) -> None:
        """Receive ``symbol``'s public trades in ``on_trade`` (as batches in ``on_trades`` if overridden)."""

    def subscribe_quotes(self, venue: str, symbol: str) -> None:
        """Receive ``symbol``'s best bid/offer changes in ``on_quote``."""

    def subscribe_book(self, venue: str, symbol: str, *, depth: int = 20) -> None:
        """Receive ``symbol``'s rebuilt L2 book (top ``depth`` levels a side) in ``on_book`` after each message."""

    def subscribe_bars(self, venue: str, symbol: str, *, interval_s: int = 60) -> None:
        """Receive ``symbol``'s closed bars of ``interval_s`` seconds in ``on_bar``."""

    def submit(self, venue: str, symbol: str, side: Side, quantity: Decimal, *,
               order_type: OrderType = OrderType.LIMIT, price: Decimal | None = None,
               stop_price: Decimal | None = None, trailing_delta: Decimal | None = None,
               time_in_force: TimeInForce = TimeInForce.GTC, expire_at_ns: int | None = None,
               post_only: bool = False, reduce_only: bool = False) -> str:
        """Send an order; returns its client order id at once (the outcome arrives as events).

        ``reduce_only`` (derivatives venues): the order may only shrink the position.
        """

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

    def set_leverage(self, venue: str, symbol: str, leverage: int) -> None:
        """Ask a derivatives venue to use ``leverage`` for ``symbol`` (in the background; a refusal,
        or a venue without the capability, goes to the event log)."""

    def set_margin_mode(self, venue: str, symbol: str, mode: MarginMode) -> None:
        """Ask a derivatives venue for cross or isolated margin on ``symbol`` (as ``set_leverage``)."""

    def open_orders(self, venue: str | None = None, symbol: str | None = None) -> list[OrderReport]:
        """Our orders that are still working, as last reported by the venue."""

    def position(self, venue: str, symbol: str) -> Decimal:
        """Net position (base units, signed) built from our fills on that venue."""

    def balances(self, venue: str) -> Mapping[str, Balance]:
        """Balances per asset as last reported by the venue."""

    def log(self, message: str) -> None:
        """Record a line in the run's event log (with the virtual time)."""


class _NotStarted:
    """What ``Strategy.ctx`` holds before ``on_start``: every use of it is an error saying so."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"strategy used before on_start (ctx.{name})")


_NOT_STARTED = cast(StrategyContext, _NotStarted())


class Strategy:
    """Base class for strategies: override the callbacks you need; all default to doing nothing.

    ``parameters`` declares what the strategy takes (``harness.params.Param``): when it declares
    any, construction refuses unknown names and invalid values (``StrategyParamError`` naming the
    parameter), and ``param(name)`` gives each typed value, defaults filled in. ``params`` keeps
    the strings as given; a strategy that declares nothing gets them unchecked.
    """

    parameters: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, **params: str) -> None:
        self.params: dict[str, str] = dict(params)
        self._values: dict[str, Any] = (parse_params(self.parameters, self.params, owner=type(self).__name__)
                                        if self.parameters else {})
        self.ctx: StrategyContext = _NOT_STARTED
        """The context given in ``on_start``; before that, any use of it raises ``RuntimeError``.

        A plain attribute rather than a property: market-data callbacks read it on every event.
        """

    def param(self, name: str) -> Any:
        """The typed value of the declared parameter ``name`` (its default when not given)."""
        if name not in self._values:
            declared = ", ".join(p.name for p in self.parameters) or "none"
            raise KeyError(f"{type(self).__name__} declares no parameter {name!r} (it declares: {declared})")
        return self._values[name]

    def on_start(self, ctx: StrategyContext) -> None:
        """Called once before any event; subclasses calling super() get ``self.ctx`` set."""
        self.ctx = ctx

    def on_stop(self) -> None:
        """Called once after the last event."""

    # market data: synchronous, hot path
    def on_trade(self, trade: Trade) -> None:
        """A public trade arrived."""

    def on_trades(self, batch: TradeBatch) -> None:
        """Public trades as columns (``harness.trade_batch``): override it instead of ``on_trade``.

        A strategy that overrides it receives its trades only here (``on_trade`` is then not
        called): runs of trades between events that can change the world, called at the time of
        the batch's last delivery; batches of one where trades come one at a time (live).
        """

    def on_quote(self, quote: Quote) -> None:
        """The best bid/offer changed."""

    def on_book(self, book: BookSnapshot) -> None:
        """The book changed: the client's rebuilt book after one venue message (top ``depth`` levels)."""

    def on_bar(self, candle: Candle) -> None:
        """A bar closed (delivered at the end of its interval plus market-data latency)."""

    # our orders: may be async
    def on_order_update(self, report: OrderReport) -> Awaitable[None] | None:
        """One of our orders changed state."""
        return None

    def on_fill(self, fill: Fill) -> Awaitable[None] | None:
        """One of our orders traded."""
        return None


class StrategyLoadError(ValueError):
    """A ``MODULE:CLASS`` path does not name a Strategy subclass."""


class StrategyConfigError(ValueError):
    """A strategy's parameters do not fit the run (no market data for its instrument, a bad value)."""


def instrument_for(ctx: StrategyContext, venue: str | None = None, symbol: str | None = None) -> Instrument:
    """The instrument a strategy trades, from its ``venue`` and ``symbol`` parameters.

    ``venue`` defaults to the first of ``ctx.venues``, ``symbol`` to the first instrument of
    that venue in ``ctx.instruments``. Raises ``StrategyConfigError`` naming what the run has
    when the venue is unknown or no market data carries the instrument: a strategy with no data
    for its instrument would sit idle for the whole run.
    """
    if venue is None:
        if not ctx.venues:
            raise StrategyConfigError("the run has no venues")
        venue = ctx.venues[0]
    if venue not in ctx.venues:
        raise StrategyConfigError(f"venue {venue!r} is not one of the run's venues ({', '.join(ctx.venues)})")
    listed = [i.symbol for i in ctx.instruments if i.venue == venue]
    if symbol is None:
        if not listed:
            raise StrategyConfigError(f"the run has no market data for venue {venue!r}"
                                      f"{_having(ctx.instruments)}")
        return Instrument(venue, listed[0])
    if symbol not in listed:
        raise StrategyConfigError(f"the run has no market data for {venue} {symbol}{_having(ctx.instruments)}")
    return Instrument(venue, symbol)


def _having(instruments: tuple[Instrument, ...]) -> str:
    """``"; it has data for binance BTCUSDT, ..."`` (or that it has none), for error messages."""
    if not instruments:
        return "; it has no market data at all"
    return "; it has data for " + ", ".join(f"{i.venue} {i.symbol}" for i in instruments)


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
    except (TypeError, StrategyParamError) as exc:
        raise StrategyLoadError(f"bad parameters for {path}: {exc}") from exc

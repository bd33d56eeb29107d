"""A strategy's market-data subscriptions: what it asked for, what it gets by default, opening them.

``ExecutionContext`` keeps one ``MarketDataSubscriptions`` per strategy. A request names a kind
(``trades``, ``quotes``, ``book``, ``bars``), an instrument and, for books and bars, the depth
or interval; it is checked against the venue's instruments when made, so a typo fails in
``on_start`` with the venue's list in the message. At start, every kind the strategy asked for
nowhere gets the defaults for the callback it overrides (``defaults_for``); a kind it neither
asked for nor handles is never subscribed, so nothing travels for data nobody reads.

Each stream is opened on the venue's gateway with the strategy's own bound callback, so market
data reaches the strategy with no wrapper in between (the hot path of every replay).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from harness.clock import Clock
from harness.contract import InvalidRequestError, Subscription
from harness.gateway import VenueGateway
from harness.model import Trade, VenueInfo
from harness.strategy import Instrument, Strategy, StrategyConfigError
from harness.trade_batch import BatchedTrades

__all__ = ["CALLBACKS", "DEFAULT_BAR_INTERVAL_S", "DEFAULT_BOOK_DEPTH", "MarketDataRequest",
           "MarketDataSubscriptions", "check_request", "handles", "overrides"]

DEFAULT_BOOK_DEPTH = 20
"""Levels per side of a book subscription made for a strategy that did not ask for one."""

DEFAULT_BAR_INTERVAL_S = 60
"""Interval of a bar subscription made for a strategy that did not ask for one (one minute)."""

CALLBACKS = {"trades": "on_trade", "quotes": "on_quote", "book": "on_book", "bars": "on_bar"}
"""The strategy callback each kind of market data is delivered to (trades: ``on_trades`` instead
when the strategy overrides it, see ``handles``)."""

NS_PER_SECOND = 1_000_000_000


def overrides(strategy: Strategy, method: str) -> bool:
    """Whether ``strategy`` handles ``method`` itself (the base class's callbacks do nothing)."""
    return getattr(type(strategy), method) is not getattr(Strategy, method)


def handles(strategy: Strategy, kind: str) -> bool:
    """Whether ``strategy`` has a callback of its own for ``kind`` (trades: ``on_trade`` or ``on_trades``)."""
    return overrides(strategy, CALLBACKS[kind]) or (kind == "trades" and overrides(strategy, "on_trades"))


@dataclass(frozen=True, slots=True)
class MarketDataRequest:
    """One market-data stream for a strategy: its kind, instrument, and book depth or bar interval."""

    kind: str
    venue: str
    symbol: str
    depth: int = 0
    interval_s: int = 0

    def describe(self) -> str:
        """``"book of binance BTCUSDT (depth 10)"``: the request in words, for messages."""
        extra = {"book": f" (depth {self.depth})", "bars": f" ({self.interval_s} s)"}.get(self.kind, "")
        return f"{self.kind} of {self.venue} {self.symbol}{extra}"


class MarketDataSubscriptions:
    """The requests one strategy made, checked when made, and the streams opened for them."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock
        """Stamps single trades for a strategy that takes batches (``BatchedTrades``)."""
        self.requests: list[MarketDataRequest] = []
        self._opened: list[Subscription] = []

    def add(self, request: MarketDataRequest, infos: Mapping[str, VenueInfo],
            instruments: Sequence[Instrument]) -> tuple[bool, str]:
        """Record ``request``; returns (whether it is new, a warning or ``""``).

        Raises ``StrategyConfigError`` for a venue the run does not have, a symbol the venue does
        not list, a depth or interval that is not a positive whole number. A listed instrument
        the run has no market data for is allowed (its stream stays silent) with a warning.
        """
        check_request(request, infos)
        if request in self.requests:
            return False, ""
        self.requests.append(request)
        if Instrument(request.venue, request.symbol) not in instruments:
            return True, f"no market data for {request.venue} {request.symbol} in this run: " \
                         f"the {request.describe()} stays silent"
        return True, ""

    def defaults_for(self, strategy: Strategy, instruments: Sequence[Instrument]) -> list[MarketDataRequest]:
        """Requests for every kind the strategy handles but asked for nowhere: each of ``instruments``."""
        asked = {request.kind for request in self.requests}
        defaults: list[MarketDataRequest] = []
        for venue, symbol in instruments:
            for kind in CALLBACKS:
                if kind in asked or not handles(strategy, kind):
                    continue
                depth = DEFAULT_BOOK_DEPTH if kind == "book" else 0
                interval_s = DEFAULT_BAR_INTERVAL_S if kind == "bars" else 0
                defaults.append(MarketDataRequest(kind, venue, symbol, depth=depth, interval_s=interval_s))
        return defaults

    async def open(self, request: MarketDataRequest, gateway: VenueGateway, strategy: Strategy) -> None:
        """Open the stream of ``request`` on ``gateway``, delivering to the strategy's callback.

        A venue that refuses it (no bar stream, an interval it does not serve) raises
        ``StrategyConfigError`` naming the request and the venue's reason. A strategy overriding
        ``on_trades`` gets its trades through ``BatchedTrades`` (batches, or batches of one).
        """
        symbol = request.symbol
        subscription: Subscription
        try:
            if request.kind == "trades":
                subscription = await gateway.subscribe_trades(symbol, self._trade_callback(strategy))
            elif request.kind == "quotes":
                subscription = await gateway.subscribe_quotes(symbol, strategy.on_quote)
            elif request.kind == "book":
                subscription = await gateway.subscribe_book(symbol, strategy.on_book, request.depth)
            else:
                subscription = await gateway.subscribe_bars(symbol, request.interval_s * NS_PER_SECOND,
                                                            strategy.on_bar)
        except InvalidRequestError as error:
            raise StrategyConfigError(f"cannot subscribe to the {request.describe()}: {error}") from error
        self._opened.append(subscription)

    def _trade_callback(self, strategy: Strategy) -> BatchedTrades | Callable[[Trade], None]:
        """``strategy.on_trade``, or its ``on_trades`` wrapped in ``BatchedTrades`` when it overrides that."""
        if not overrides(strategy, "on_trades"):
            return strategy.on_trade
        if self._clock is None:
            raise RuntimeError("a strategy overriding on_trades needs subscriptions made with a clock")
        return BatchedTrades(strategy.on_trades, self._clock)

    async def close(self) -> None:
        """Close every stream opened (nothing more reaches the strategy)."""
        opened, self._opened = self._opened, []
        for subscription in opened:
            await subscription.close()


def check_request(request: MarketDataRequest, infos: Mapping[str, VenueInfo]) -> None:
    """Raise ``StrategyConfigError`` naming what is wrong with ``request`` (see ``MarketDataSubscriptions.add``)."""
    where = f"subscribe_{request.kind}({request.venue!r}, {request.symbol!r})"
    info = infos.get(request.venue)
    if info is None:
        raise StrategyConfigError(f"{where}: no venue {request.venue!r} in this run "
                                  f"(venues: {', '.join(infos) or 'none'})")
    if request.symbol not in info.symbols:
        raise StrategyConfigError(f"{where}: {request.venue} lists no symbol {request.symbol!r} "
                                  f"(it lists {', '.join(info.symbols)})")
    if request.kind == "book":
        _check_positive(where, "depth", request.depth)
    elif request.kind == "bars":
        _check_positive(where, "interval_s", request.interval_s)
    elif request.kind not in CALLBACKS:
        raise StrategyConfigError(f"{where}: unknown kind of market data (kinds: {', '.join(CALLBACKS)})")


def _check_positive(where: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise StrategyConfigError(f"{where}: {name} must be a positive whole number, got {value!r}")

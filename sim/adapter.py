"""``SimAdapter``: the adapter contract served by a simulated venue, in virtual time.

Every request travels like a real one: it waits the order-entry latency before the venue sees
it, is counted against the venue's rate limits, and its answer (or error) waits the response
latency before the caller gets it. Order updates and fills the venue pushes travel on a separate
FIFO channel (Binance's user-data stream is another connection than REST), and public market
data reaches subscribers through a ``ClientTap`` delayed by the market-data latency. Closed
bars come from the venue's kline stream (``sim.bars``): built from its trade tape, or the
recorded candles of a replay.

Errors cross the contract exactly as a live adapter raises them: venue rejections become
``InvalidRequestError``/``OrderNotFoundError`` with the venue's own code, refusals by rate
limits ``RateLimitedError`` with Retry-After, and a call while disconnected ``RetryableError``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from harness.contract import (
    BarCallback,
    BookCallback,
    FillCallback,
    HealthStatus,
    NotSupportedError,
    OrderUpdateCallback,
    QuoteCallback,
    RateLimitStatus,
    RetryableError,
    TradeCallback,
    VenueError,
)
from harness.data.book import BookStream, BookSync
from harness.model import (
    Balance,
    BookDelta,
    BookSnapshot,
    Candle,
    Fill,
    OrderModification,
    OrderReport,
    OrderRequest,
    PositionReport,
    Quote,
    Trade,
    VenueInfo,
    VenueMode,
)
from sim.bars import BarStreams, BarSubscription
from sim.channels import ClientTap
from sim.kernel.runtime import SimRuntime
from sim.market.feed import ReplayFeed
from sim.venue.candles import CandleBuilder
from sim.venue.latency import LatencyChannel
from sim.venue.trade_runs import TradeRunner
from sim.venue.venue import RejectedRequest, SimVenue

_T = TypeVar("_T")

MARKET_LATENCY_BATCH = 4096
"""Market-data delays are drawn this many at a time (numpy): one draw per tick is the hot path."""


@dataclass
class _Subscription:
    """A handle whose ``close`` removes one callback from one list."""

    registry: list[Any]
    callback: Any
    closed: bool = field(default=False)

    async def close(self) -> None:
        """Stop delivering to the callback (idempotent)."""
        if not self.closed:
            self.closed = True
            if self.callback in self.registry:
                self.registry.remove(self.callback)


def _renamed(handler: Callable[[Any], None], venue: str, symbols: Mapping[str, str]) -> Callable[[Any], None]:
    """Wrap a market-data handler so events arrive under ``venue`` with translated symbols."""
    def renamed(event: Any) -> None:
        handler(event._replace(venue=venue, symbol=symbols.get(event.symbol, event.symbol)))
    return renamed


class SimAdapter:
    """An ``ExchangeAdapter`` whose venue is a ``SimVenue`` inside a ``SimRuntime``."""

    def __init__(self, venue: SimVenue, runtime: SimRuntime, *, mode: VenueMode = VenueMode.SANDBOX) -> None:
        self._venue = venue
        self._runtime = runtime
        self._clock = runtime.clock
        self._mode = mode
        latency = venue.profile.latency
        streams = runtime.rng.child(f"latency.{venue.name}")
        self._entry: LatencyChannel = latency.channel("order_entry", streams.stream("order_entry"))
        self._response: LatencyChannel = latency.channel("response", streams.stream("response"))
        self._user_stream: LatencyChannel = latency.channel("response", streams.stream("user_stream"))
        self._market_channel: LatencyChannel = latency.channel("market_data", streams.stream("market_data"),
                                                               fifo=True, batch=MARKET_LATENCY_BATCH)
        self._connected = False
        self._order_subs: list[OrderUpdateCallback] = []
        self._fill_subs: list[FillCallback] = []
        self._trade_subs: dict[str, list[TradeCallback]] = {}
        self._quote_subs: dict[str, list[QuoteCallback]] = {}
        self._book_subs: dict[str, list[tuple[BookCallback, int]]] = {}
        self._client_books: dict[str, BookStream] = {}
        self._tap: ClientTap | None = None
        self.requests = 0
        self.candles = CandleBuilder(venue.name)
        self._bars = BarStreams(venue.name, self.candles, latency.channel("market_data", streams.stream("bars"),
                                                                          fifo=True), self._clock)
        venue.order_listeners.append(self._on_venue_order)
        venue.fill_listeners.append(self._on_venue_fill)

    # ------------------------------------------------------------------ wiring to market data

    def attach_feed(self, feed: ReplayFeed, *, data_venue: str | None = None,
                    symbol_map: Mapping[str, str] | None = None,
                    recorded_bars: Collection[tuple[str, int]] = ()) -> None:
        """Route a replay feed's events for this venue to the venue and, delayed, to subscribers.

        ``data_venue`` drives this venue from another venue's recording; its events are then
        renamed to this venue, with symbols translated by ``symbol_map`` (``BTCUSDT`` recorded on
        Binance becomes ``BTC-USDT`` on a simulated OKX), so everything downstream sees one venue.
        ``recorded_bars`` are the (symbol, interval_ns) pairs, under this venue's names, whose bar
        subscriptions the data's recorded candles serve instead of the trade tape.
        """
        tap = ClientTap(self._market_channel, self._runtime.vt)
        self._tap = tap
        venue = self._venue
        name = data_venue or venue.name
        trade_subs, quote_subs, book_subs = self._trade_subs, self._quote_subs, self._book_subs
        push = tap.push

        # the hot path (once per event): everything it calls is bound here, not looked up per event
        add_to_bar = self.candles.add
        venue_trade, venue_quote, venue_book = venue.on_trade, venue.on_quote, venue.on_book
        deliver_trade, deliver_quote, deliver_book = self._deliver_trade, self._deliver_quote, self._deliver_book_row

        def on_trade(trade: Trade) -> None:
            venue_trade(trade)
            add_to_bar(trade)
            if trade.symbol in trade_subs:
                push(trade, deliver_trade)

        def on_quote(quote: Quote) -> None:
            venue_quote(quote)
            if quote.symbol in quote_subs:
                push(quote, deliver_quote)

        def on_book(delta: BookDelta) -> None:
            venue_book(delta)
            if delta.symbol in book_subs:
                push(delta, deliver_book)

        self._bars.serve_recorded(recorded_bars)
        handlers: tuple[Callable[[Any], None], ...] = (on_trade, on_quote, on_book, self._bars.on_recorded)
        rename = None
        if name != venue.name or symbol_map:
            rename = (venue.name, dict(symbol_map or {}))
            handlers = tuple(_renamed(h, *rename) for h in handlers)
        # runs of trades that touch no order may skip the per-trade path (sim.venue.trade_runs)
        handlers[0].fast = TradeRunner(  # type: ignore[attr-defined]
            tap, venue.engines, self.candles, trade_subs, deliver_trade, rename=rename)
        feed.subscribe_trades(handlers[0], venue=name)
        feed.subscribe_quotes(handlers[1], venue=name)
        feed.subscribe_book(handlers[2], venue=name)
        if recorded_bars:
            feed.subscribe_candles(handlers[3], venue=name)
        feed.add_tap(tap)  # the feed delivers the tap's arrivals, merged with its own events

    def inject_market(self, event: Trade | Quote | BookDelta) -> None:
        """Hand one market event to the venue now and to subscribers after market-data latency.

        The hand-driven counterpart of ``attach_feed`` (tests, the contract kit's market driver,
        scenario scripts): the venue sees the event at the current virtual time, subscribers see
        it when the FIFO market-data channel delivers it.
        """
        venue = self._venue
        if isinstance(event, Trade):
            venue.on_trade(event)
            self.candles.add(event)
            deliver: Callable[[Any], None] = self._deliver_trade
        elif isinstance(event, Quote):
            venue.on_quote(event)
            deliver = self._deliver_quote
        else:
            venue.on_book(event)
            deliver = self._deliver_book_row
        at = self._market_channel.delivery_time(self._clock.now_ns())
        self._clock.call_at(at, deliver, event)

    def _deliver_trade(self, trade: Trade) -> None:
        for callback in self._trade_subs.get(trade.symbol, ()):
            callback(trade)

    def _deliver_quote(self, quote: Quote) -> None:
        for callback in self._quote_subs.get(quote.symbol, ()):
            callback(quote)

    def _deliver_book_row(self, delta: BookDelta) -> None:
        stream = self._client_books.get(delta.symbol)
        if stream is None:
            symbol = delta.symbol
            stream = self._client_books[symbol] = BookStream(
                on_message=lambda sync: self._book_message(symbol, sync))
        stream.push(delta)

    def _book_message(self, symbol: str, sync: BookSync) -> None:
        """One book message reached the client: each subscriber gets the rebuilt book at its depth,
        stamped with the message's event time (one snapshot per depth asked, shared)."""
        if not sync.valid:
            return
        ts_event = self._client_books[symbol].ts_event
        book = sync.book
        snapshots: dict[int, BookSnapshot] = {}
        for callback, depth in self._book_subs.get(symbol, ()):
            snapshot = snapshots.get(depth)
            if snapshot is None:
                snapshot = snapshots[depth] = BookSnapshot(ts_event, self._venue.name, symbol,
                                                           tuple(book.depth(1, depth)), tuple(book.depth(-1, depth)),
                                                           sync.update_id)
            callback(snapshot)

    # ------------------------------------------------------------------ request path

    async def _call(self, endpoint: str, fn: Callable[[], _T], *, weight: int | None = None,
                    is_order: bool = False) -> _T:
        """One request: entry latency, rate limits, the venue, response latency, typed errors."""
        if not self._connected:
            raise RetryableError(f"{endpoint}: not connected", venue=self._venue.name)
        self.requests += 1
        clock = self._clock
        arrive = self._entry.delivery_time(clock.now_ns())
        await clock.sleep_ns(arrive - clock.now_ns())
        error: VenueError | None = None
        result: _T | None = None
        try:
            self._venue.check_rate(endpoint, weight=weight, is_order=is_order)
            result = fn()
        except RejectedRequest as refused:
            error = refused.rejection.to_error(self._venue.name)
        except VenueError as venue_error:
            error = venue_error
        back = self._response.delivery_time(clock.now_ns())
        await clock.sleep_ns(back - clock.now_ns())
        if error is not None:
            raise error
        return result  # type: ignore[return-value]

    def _push(self, callbacks: list[Any], item: Any) -> None:
        """Send an order update or fill down the user stream; lost while disconnected (as over a
        dropped WebSocket: only a query or reconciliation after reconnecting recovers it)."""
        if callbacks and self._connected:
            at = self._user_stream.delivery_time(self._clock.now_ns())
            self._clock.call_at(at, self._fan_out, callbacks, item)

    @staticmethod
    def _fan_out(callbacks: list[Any], item: Any) -> None:
        for callback in list(callbacks):
            callback(item)

    def _on_venue_order(self, report: OrderReport) -> None:
        self._push(self._order_subs, report)

    def _on_venue_fill(self, fill: Fill) -> None:
        self._push(self._fill_subs, fill)

    # ------------------------------------------------------------------ the contract

    @property
    def venue(self) -> str:
        """The simulated venue's name."""
        return self._venue.name

    @property
    def mode(self) -> VenueMode:
        """SANDBOX unless constructed otherwise (a simulation never touches a real venue)."""
        return self._mode

    @property
    def sim_venue(self) -> SimVenue:
        """The venue behind this adapter (tests and fault injectors reach through here)."""
        return self._venue

    async def connect(self) -> None:
        """Open the (simulated) connections after one round trip."""
        if self._connected:
            return
        await self._clock.sleep_ns(self._entry.delivery_time(self._clock.now_ns()) - self._clock.now_ns())
        self._connected = True

    async def disconnect(self) -> None:
        """Close the connections; later calls raise ``RetryableError``."""
        self._connected = False

    def is_connected(self) -> bool:
        """True between ``connect`` and ``disconnect``."""
        return self._connected

    async def health(self) -> HealthStatus:
        """Server-time round trip: measures the simulated latency."""
        start = self._clock.now_ns()
        await self._call("GET /api/v3/ping", lambda: None)
        end = self._clock.now_ns()
        return HealthStatus(self._venue.name, self._connected, end - start, "OK", end)

    async def submit_order(self, request: OrderRequest) -> OrderReport:
        """Send a new order (weight 1, counted as an order)."""
        return await self._call("POST /api/v3/order", lambda: self._venue.submit(request), is_order=True)

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """Cancel an order by client order id."""
        return await self._call("DELETE /api/v3/order", lambda: self._venue.cancel(symbol, client_order_id))

    async def modify_order(self, symbol: str, client_order_id: str,
                           modification: OrderModification) -> OrderReport:
        """Amend natively when the venue can, else refuse (the execution layer cancel-replaces)."""
        if not self._venue.profile.capabilities.native_modify:
            raise NotSupportedError("this venue has no native order modification", venue=self._venue.name)
        return await self._call("PUT /api/v3/order",
                                lambda: self._venue.modify(symbol, client_order_id, modification), is_order=True)

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """Query one order (weight 4 on Binance)."""
        return await self._call("GET /api/v3/order", lambda: self._venue.get_order(symbol, client_order_id))

    async def get_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Query open orders (weight 6 per symbol, 80 for all on Binance)."""
        endpoint = "GET /api/v3/openOrders" if symbol else "GET /api/v3/openOrders (all)"
        return await self._call(endpoint, lambda: self._venue.open_orders(symbol))

    async def get_fills(self, symbol: str | None = None, since_ns: int = 0) -> list[Fill]:
        """Query our trades."""
        return await self._call("GET /api/v3/myTrades", lambda: self._venue.fills_since(symbol, since_ns))

    async def get_balances(self) -> dict[str, Balance]:
        """Query the account."""
        return await self._call("GET /api/v3/account", self._venue.balances)

    async def get_positions(self) -> list[PositionReport]:
        """Net positions built by the venue from our fills."""
        return await self._call("GET /api/v3/account", self._venue.position_reports)

    async def get_ticker(self, symbol: str) -> Quote:
        """Best bid/offer."""
        return await self._call("GET /api/v3/ticker/bookTicker", lambda: self._venue.ticker(symbol))

    async def get_order_book(self, symbol: str, depth: int = 100) -> BookSnapshot:
        """Top of the venue's book."""
        return await self._call("GET /api/v3/depth", lambda: self._venue.order_book(symbol, depth))

    async def get_candles(self, symbol: str, interval_ns: int, limit: int = 500) -> list[Candle]:
        """OHLCV bars from the venue's own trade tape (whole minutes, epoch-aligned, like klines)."""
        return await self._call("GET /api/v3/klines",
                                lambda: self.candles.candles(symbol, interval_ns, limit, self._clock.now_ns()))

    async def get_server_time(self) -> int:
        """The venue's clock (virtual time at the venue)."""
        return await self._call("GET /api/v3/time", self._clock.now_ns)

    async def subscribe_order_updates(self, callback: OrderUpdateCallback) -> _Subscription:
        """Receive every change of our orders (user-data stream latency)."""
        self._order_subs.append(callback)
        return _Subscription(self._order_subs, callback)

    async def subscribe_fills(self, callback: FillCallback) -> _Subscription:
        """Receive every execution of our orders."""
        self._fill_subs.append(callback)
        return _Subscription(self._fill_subs, callback)

    async def subscribe_trades(self, symbol: str, callback: TradeCallback) -> _Subscription:
        """Receive public trades (market-data latency)."""
        subs = self._trade_subs.setdefault(symbol, [])
        subs.append(callback)
        return _Subscription(subs, callback)

    async def subscribe_quotes(self, symbol: str, callback: QuoteCallback) -> _Subscription:
        """Receive best bid/offer updates."""
        subs = self._quote_subs.setdefault(symbol, [])
        subs.append(callback)
        return _Subscription(subs, callback)

    async def subscribe_book(self, symbol: str, callback: BookCallback, depth: int = 20) -> _Subscription:
        """Receive the client's rebuilt book (top ``depth`` levels) after every book message."""
        subs = self._book_subs.setdefault(symbol, [])
        entry = (callback, depth)
        subs.append(entry)
        return _Subscription(subs, entry)

    async def subscribe_bars(self, symbol: str, interval_ns: int, callback: BarCallback) -> BarSubscription:
        """Receive each closed bar of ``interval_ns`` at its close plus market-data latency (``sim.bars``)."""
        return self._bars.subscribe(symbol, interval_ns, callback)

    async def get_rate_limit_status(self) -> RateLimitStatus:
        """The venue's limit usage (as its response headers would report it)."""
        now = self._clock.now_ns()
        return RateLimitStatus(self._venue.name, self._venue.limiter.usage(now),
                               self._venue.limiter.banned_until_ns(now))

    async def get_venue_info(self) -> VenueInfo:
        """Instruments, filters, fees and capabilities from the venue's profile (one exchangeInfo request)."""
        return await self._call("GET /api/v3/exchangeInfo", lambda: self._venue.profile.to_venue_info(self._mode))



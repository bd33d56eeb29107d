"""``SimAdapter``: the adapter contract served by a simulated venue, in virtual time.

The adapter is the contract and nothing else; every stream between it and the venue is a
channel of ``sim.channels``, where latency is applied and faults plug in:

* a request (``RequestChannel``) waits the order-entry latency before the venue sees it, is
  counted against the venue's rate limits, and its answer (or error) waits the response latency
  before the caller gets it;
* order updates and fills the venue pushes travel on the user stream (``PushChannel``:
  Binance's user-data stream is another connection than REST);
* public market data reaches subscribers on the market-data channel (``MarketDataChannel``),
  which the venue side (``sim.venue.market_side``) publishes to for the streams subscribed here.

Errors cross the contract exactly as a live adapter raises them: venue rejections become
``InvalidRequestError``/``OrderNotFoundError`` with the venue's own code, refusals by rate
limits ``RateLimitedError`` with Retry-After, and a call while disconnected ``RetryableError``.
"""

from __future__ import annotations

from collections.abc import Callable
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
    VenueInfo,
    VenueMode,
)
from harness.venues import VenueDescriptor, descriptor_for, unknown_descriptor
from sim.bars import BarStreams, BarSubscription
from sim.channels import Deliver, MarketDataChannel, PushChannel, RequestChannel
from sim.kernel.runtime import SimRuntime
from sim.venue.venue import RejectedRequest, SimVenue

__all__ = ["MARKET_LATENCY_BATCH", "SimAdapter"]

_T = TypeVar("_T")

MARKET_LATENCY_BATCH = 4096
"""Market-data delays are drawn this many at a time (numpy): one draw per tick is the hot path."""


@dataclass
class _Subscription:
    """A handle whose ``close`` removes one callback from one list and tells its stream."""

    registry: list[Any]
    callback: Any
    on_close: Callable[[], None] | None = None
    closed: bool = field(default=False)

    async def close(self) -> None:
        """Stop delivering to the callback (idempotent)."""
        if not self.closed:
            self.closed = True
            if self.callback in self.registry:
                self.registry.remove(self.callback)
            if self.on_close is not None:
                self.on_close()


def _stream_handler(callbacks: list[Any]) -> Deliver:
    """What a market-data stream hands each event to: the one subscriber itself, or all in order."""
    if len(callbacks) == 1:
        return callbacks[0]  # type: ignore[no-any-return]

    def to_all(event: Any) -> None:
        for callback in list(callbacks):
            callback(event)

    return to_all


class SimAdapter:
    """An ``ExchangeAdapter`` whose venue is a ``SimVenue`` inside a ``SimRuntime``."""

    def __init__(self, venue: SimVenue, runtime: SimRuntime, *, mode: VenueMode = VenueMode.SANDBOX) -> None:
        self._venue = venue
        self._clock = runtime.clock
        self._mode = mode
        self._descriptor = descriptor_for(venue.profile.name) or unknown_descriptor(venue.profile.name)
        latency = venue.profile.latency
        streams = runtime.rng.child(f"latency.{venue.name}")
        self.requests_channel = RequestChannel(latency.channel("order_entry", streams.stream("order_entry")),
                                               latency.channel("response", streams.stream("response")),
                                               self._clock)
        """Requests to the venue and their answers (order-entry and response latency)."""
        self.user_stream = PushChannel(latency.channel("response", streams.stream("user_stream")),
                                             self._clock)
        """Order updates and fills the venue pushes."""
        self.market_channel = MarketDataChannel(
            latency.channel("market_data", streams.stream("market_data"), fifo=True, batch=MARKET_LATENCY_BATCH),
            runtime.vt, self._clock)
        """Public market data, for the streams subscribed here (the venue side publishes to it)."""
        self.kline_stream = PushChannel(latency.channel("market_data", streams.stream("bars"), fifo=True),
                                        self._clock, open=True)
        """Closed bars, on a stream (and latency draws) of their own."""
        self.bars = BarStreams(venue.name, venue.candles, self.kline_stream, self._clock)
        """The venue's kline streams (``sim.bars``): bars from its trade tape or recorded candles."""
        self._connected = False
        self._order_subs: list[OrderUpdateCallback] = []
        self._fill_subs: list[FillCallback] = []
        self._trade_subs: dict[str, list[TradeCallback]] = {}
        self._quote_subs: dict[str, list[QuoteCallback]] = {}
        self._book_subs: dict[str, list[tuple[BookCallback, int]]] = {}
        self._client_books: dict[str, BookStream] = {}
        self.requests = 0
        venue.order_listeners.append(self._on_venue_order)
        venue.fill_listeners.append(self._on_venue_fill)

    # ------------------------------------------------------------------ market-data streams

    def _open_stream(self, kind: str, symbol: str, callbacks: list[Any]) -> None:
        """Point the channel's ``kind`` stream of ``symbol`` at its subscribers (or close it)."""
        streams = self.market_channel.streams[kind]
        if callbacks:
            streams[symbol] = _stream_handler(callbacks)
        else:
            streams.pop(symbol, None)

    def _client_book_row(self, delta: BookDelta) -> None:
        """A book row reached the client: rebuild its book; after each message, notify subscribers."""
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

    async def _call(self, request: str, fn: Callable[[], _T], *, weight: int | None = None) -> _T:
        """One request (named by contract method, as the venue's limits count it): travels on the
        request channel to the venue's rate limits and back, with typed errors."""
        if not self._connected:
            raise RetryableError(f"{request}: not connected", venue=self._venue.name)
        self.requests += 1
        venue = self._venue

        def at_venue() -> _T:
            try:
                venue.check_rate(request, weight=weight)
                return fn()
            except RejectedRequest as refused:
                raise refused.rejection.to_error(venue.name) from None

        return await self.requests_channel.round_trip(request, at_venue)

    def _on_venue_order(self, report: OrderReport) -> None:
        if self._order_subs:
            self.user_stream.push(report, self._deliver_order_update)

    def _on_venue_fill(self, fill: Fill) -> None:
        if self._fill_subs:
            self.user_stream.push(fill, self._deliver_fill)

    def _deliver_order_update(self, report: OrderReport) -> None:
        for callback in list(self._order_subs):
            callback(report)

    def _deliver_fill(self, fill: Fill) -> None:
        for callback in list(self._fill_subs):
            callback(fill)

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
    def descriptor(self) -> VenueDescriptor:
        """The shipped descriptor of the venue's profile (``harness.venues``), or an empty one."""
        return self._descriptor

    @property
    def sim_venue(self) -> SimVenue:
        """The venue behind this adapter (tests and fault injectors reach through here)."""
        return self._venue

    async def connect(self) -> None:
        """Open the (simulated) connections after the way in of one request."""
        if self._connected:
            return
        await self.requests_channel.reach_venue()
        self._connected = True
        self.user_stream.open = True

    async def disconnect(self) -> None:
        """Close the connections; later calls raise ``RetryableError``, pushed updates are lost."""
        self._connected = False
        self.user_stream.open = False

    def is_connected(self) -> bool:
        """True between ``connect`` and ``disconnect``."""
        return self._connected

    async def health(self) -> HealthStatus:
        """Server-time round trip: measures the simulated latency."""
        start = self._clock.now_ns()
        await self._call("health", lambda: None)
        end = self._clock.now_ns()
        return HealthStatus(self._venue.name, self._connected, end - start, "OK", end)

    async def submit_order(self, request: OrderRequest) -> OrderReport:
        """Send a new order (counted as an order)."""
        return await self._call("submit_order", lambda: self._venue.submit(request))

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """Cancel an order by client order id."""
        return await self._call("cancel_order", lambda: self._venue.cancel(symbol, client_order_id))

    async def modify_order(self, symbol: str, client_order_id: str,
                           modification: OrderModification) -> OrderReport:
        """Amend natively when the venue can, else refuse (the execution layer cancel-replaces)."""
        if not self._venue.profile.capabilities.native_modify:
            raise NotSupportedError("this venue has no native order modification", venue=self._venue.name)
        return await self._call("modify_order", lambda: self._venue.modify(symbol, client_order_id, modification))

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """Query one order."""
        return await self._call("get_order", lambda: self._venue.get_order(symbol, client_order_id))

    async def get_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Query open orders (of every symbol: the ``get_open_orders_all`` request)."""
        request = "get_open_orders" if symbol else "get_open_orders_all"
        return await self._call(request, lambda: self._venue.open_orders(symbol))

    async def get_fills(self, symbol: str | None = None, since_ns: int = 0) -> list[Fill]:
        """Query our trades."""
        return await self._call("get_fills", lambda: self._venue.fills_since(symbol, since_ns))

    async def get_balances(self) -> dict[str, Balance]:
        """Query the account."""
        return await self._call("get_balances", self._venue.balances)

    async def get_positions(self) -> list[PositionReport]:
        """Net positions built by the venue from our fills."""
        return await self._call("get_positions", self._venue.position_reports)

    async def get_ticker(self, symbol: str) -> Quote:
        """Best bid/offer."""
        return await self._call("get_ticker", lambda: self._venue.ticker(symbol))

    async def get_order_book(self, symbol: str, depth: int = 100) -> BookSnapshot:
        """Top of the venue's book."""
        return await self._call("get_order_book", lambda: self._venue.order_book(symbol, depth))

    async def get_candles(self, symbol: str, interval_ns: int, limit: int = 500) -> list[Candle]:
        """OHLCV bars from the venue's own trade tape (whole minutes, epoch-aligned, like klines)."""
        return await self._call("get_candles",
                                lambda: self._venue.candles.candles(symbol, interval_ns, limit, self._clock.now_ns()))

    async def get_server_time(self) -> int:
        """The venue's clock (virtual time at the venue)."""
        return await self._call("get_server_time", self._clock.now_ns)

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
        self._open_stream("trades", symbol, subs)
        return _Subscription(subs, callback, lambda: self._open_stream("trades", symbol, subs))

    async def subscribe_quotes(self, symbol: str, callback: QuoteCallback) -> _Subscription:
        """Receive best bid/offer updates."""
        subs = self._quote_subs.setdefault(symbol, [])
        subs.append(callback)
        self._open_stream("quotes", symbol, subs)
        return _Subscription(subs, callback, lambda: self._open_stream("quotes", symbol, subs))

    async def subscribe_book(self, symbol: str, callback: BookCallback, depth: int = 20) -> _Subscription:
        """Receive the client's rebuilt book (top ``depth`` levels) after every book message."""
        subs = self._book_subs.setdefault(symbol, [])
        entry = (callback, depth)
        subs.append(entry)
        rows = self.market_channel.streams["book"]
        rows[symbol] = self._client_book_row

        def on_close() -> None:
            if not subs:
                rows.pop(symbol, None)

        return _Subscription(subs, entry, on_close)

    async def subscribe_bars(self, symbol: str, interval_ns: int, callback: BarCallback) -> BarSubscription:
        """Receive each closed bar of ``interval_ns`` at its close plus market-data latency (``sim.bars``)."""
        return self.bars.subscribe(symbol, interval_ns, callback)

    async def get_rate_limit_status(self) -> RateLimitStatus:
        """The venue's limit usage (as its response headers would report it)."""
        now = self._clock.now_ns()
        return RateLimitStatus(self._venue.name, self._venue.limiter.usage(now),
                               self._venue.limiter.banned_until_ns(now))

    async def get_venue_info(self) -> VenueInfo:
        """Instruments, filters, fees and capabilities from the venue's profile (one exchangeInfo request)."""
        return await self._call("get_venue_info", lambda: self._venue.profile.to_venue_info(self._mode))



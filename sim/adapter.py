"""``SimAdapter``: the adapter contract served by a simulated venue, in virtual time.

The adapter is the contract and nothing else; every stream between it and the venue is a
channel of ``sim.channels``, where latency is applied and faults plug in:

* a request (``RequestChannel``) waits the order-entry latency before the venue sees it, meets
  the venue's front desk there (``sim.venue.desk``: availability, timestamp, rate limits), and
  its answer (or error) waits the response latency before the caller gets it;
* order updates and fills the venue pushes travel on the user stream (``PushChannel``:
  Binance's user-data stream is another connection than REST);
* public market data reaches subscribers on the market-data channel (``MarketDataChannel``),
  which the venue side (``sim.venue.market_side``) publishes to for the streams subscribed here.

Connections are kept as a live client keeps them (``sim.client_session``): a dropped market-data
stream is noticed (close frame or heartbeat), reconnected with backoff and subscribed again, and
each book is resynced from a REST snapshot (``sim.client_book``), as after any sequence gap. A
dropped user stream makes ``is_connected`` false until ``connect`` opens it again: the execution
engine's supervisor does that and then reconciles, since updates pushed meanwhile are lost.

Errors cross the contract exactly as a live adapter raises them: venue rejections become
``InvalidRequestError``/``OrderNotFoundError`` with the venue's own code, refusals by rate
limits ``RateLimitedError`` with Retry-After, a call while disconnected or to an unreachable
venue ``RetryableError``, and a request that gets no answer within the request timeout
``AmbiguousError`` for order entry (it may have landed) or ``RetryableError`` otherwise. A
request refused with -1021 (timestamp outside the recvWindow) is retried once after learning
the venue's clock again, as the live REST client does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.contract import (
    BarCallback,
    BookCallback,
    FillCallback,
    HealthStatus,
    MarginMode,
    NotSupportedError,
    OrderUpdateCallback,
    QuoteCallback,
    RateLimitStatus,
    RetryableError,
    TradeCallback,
)
from harness.data.book import BookSync
from harness.model import (
    Balance,
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
from sim.channels import MarketDataChannel, PushChannel, RequestChannel
from sim.client_book import ClientBook
from sim.client_links import LinkSettings
from sim.client_session import ClientSession
from sim.kernel.runtime import SimRuntime
from sim.market_streams import MarketSubscriptions
from sim.venue.desk import INVALID_TIMESTAMP, RequestDesk
from sim.venue.venue import SimVenue

__all__ = ["MARKET_LATENCY_BATCH", "SimAdapter"]

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


class SimAdapter:
    """An ``ExchangeAdapter`` whose venue is a ``SimVenue`` inside a ``SimRuntime``."""

    def __init__(self, venue: SimVenue, runtime: SimRuntime, *, mode: VenueMode = VenueMode.SANDBOX,
                 settings: LinkSettings | None = None) -> None:
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
        self.desk = RequestDesk(venue)
        """The venue's front desk: availability, timestamps, limits, the venue's request log."""
        self.session = ClientSession(venue.name, clock=self._clock, desk=self.desk, requests=self.requests_channel,
                                     user=self.user_stream, market=self.market_channel, descriptor=self._descriptor,
                                     settings=settings)
        """The client's links, heartbeat, clock offset and own requests (``sim.client_session``)."""
        self._connected = False
        self.market = MarketSubscriptions(venue.name, clock=self._clock, channel=self.market_channel,
                                          requests=self.requests_channel, session=self.session,
                                          connected=lambda: self._connected)
        """Market-data subscriptions and the client's books (``sim.market_streams``)."""
        self._order_subs: list[OrderUpdateCallback] = []
        self._fill_subs: list[FillCallback] = []
        self._connection_watchers: list[Callable[[], None]] = []
        self.session.on_user_lost = self._connection_lost
        self.requests = 0
        venue.order_listeners.append(self._on_venue_order)
        venue.fill_listeners.append(self._on_venue_fill)

    @property
    def books(self) -> dict[str, ClientBook]:
        """The client's book per subscribed symbol (resynced from REST snapshots)."""
        return self.market.books

    def _book_valid(self, symbol: str, sync: BookSync) -> None:
        """The client's book of ``symbol`` changed and is valid: each subscriber gets it at its depth,
        stamped with the last book message's event time (one snapshot per depth asked, shared)."""
        ts_event = self.market.books[symbol].stream.ts_event
        if ts_event < 0:
            ts_event = self._clock.now_ns()
        snapshots: dict[int, BookSnapshot] = {}
        for callback, depth in self.market.book_subs.get(symbol, ()):
            snapshot = snapshots.get(depth)
            if snapshot is None:
                snapshot = snapshots[depth] = MarketSubscriptions.snapshot_of(self._venue.name, symbol, sync, depth,
                                                                              ts_event)
            callback(snapshot)

    async def _fetch_snapshot(self, symbol: str, depth: int) -> BookSnapshot:
        """The client's own REST snapshot request (for a book resync)."""
        snapshot: BookSnapshot = await self.session.internal("get_order_book", "order_book", (symbol, depth))
        return snapshot

    # ------------------------------------------------------------------ request path

    async def _call(self, request: str, op: str = "", args: tuple[Any, ...] = (), *, weight: int | None = None) -> Any:
        """One request (named by contract method, as the venue's limits count it) to ``venue.<op>(*args)``:
        travels on the request channel to the venue's desk and back, with typed errors."""
        if not self._connected:
            raise RetryableError(f"{request}: not connected", venue=self._venue.name)
        session = self.session
        if not self.desk.reachable:
            await session.refuse_connection(request)
        self.requests += 1
        start = self._clock.monotonic_ns()
        try:
            return await session.send(request, op, args, weight=weight)
        except RetryableError as error:
            if error.code != INVALID_TIMESTAMP:
                raise
            session.audit_failure(request, error, start)  # this attempt is audited here, the retry by the caller
        await session.sync_time()
        return await session.send(request, op, args, weight=weight)

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
        """Open the (simulated) connections after the way in of one request.

        Connected already, it opens again what is down (the user stream); a venue that is away,
        or a stream whose reconnection is refused, raises ``RetryableError`` after a round trip.
        """
        session = self.session
        if self._connected and session.user.known_up:
            return
        await self.requests_channel.reach_venue()
        now = self._clock.now_ns()
        if not session.user.may_open(now, self.desk.reachable):
            await self.requests_channel.come_back()
            session.events.emit(self._clock.now_ns(), "user", "reconnect_failed", "connection refused")
            raise RetryableError("connect: connection refused", venue=self._venue.name)
        first = not self._connected
        self._connected = True
        session.user.open(now)
        self.user_stream.open = True
        session.events.emit(now, "user", "up", "connected" if first else "reconnected")
        if first and not session.market.carried and session.market.may_open(now, self.desk.reachable):
            session.market.open(now)
            session.events.emit(now, "market", "up", "connected")
            self.market.restore()
        session.start_heartbeat()

    async def disconnect(self) -> None:
        """Close the connections; later calls raise ``RetryableError``, pushed updates are lost."""
        self._connected = False
        self.user_stream.open = False
        self.session.stop()
        self._connection_lost()

    @property
    def sole_client(self) -> bool:
        """True while no fault is attached to the requests or the user stream: the simulated account
        then changes only through this client, and the engine may skip periodic reconciliations
        while nothing is working and nothing happened. A run with faults reconciles on every tick."""
        return not self.requests_channel.faults and not self.user_stream.faults

    def watch_connection(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever ``is_connected`` may have turned false (a disconnect, a noticed cut)."""
        self._connection_watchers.append(listener)

    def _connection_lost(self) -> None:
        for listener in self._connection_watchers:
            listener()

    def is_connected(self) -> bool:
        """True between ``connect`` and ``disconnect`` while the user stream is up."""
        return self._connected and self.session.user.known_up

    async def health(self) -> HealthStatus:
        """Server-time round trip: measures the simulated latency."""
        start = self._clock.now_ns()
        await self._call("health")
        end = self._clock.now_ns()
        return HealthStatus(self._venue.name, self._connected, end - start, "OK", end)

    async def submit_order(self, request: OrderRequest) -> OrderReport:
        """Send a new order (counted as an order)."""
        report: OrderReport = await self._call("submit_order", "submit", (request,))
        return report

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """Cancel an order by client order id."""
        report: OrderReport = await self._call("cancel_order", "cancel", (symbol, client_order_id))
        return report

    async def modify_order(self, symbol: str, client_order_id: str,
                           modification: OrderModification) -> OrderReport:
        """Amend natively when the venue can, else refuse (the execution layer cancel-replaces)."""
        if not self._venue.profile.capabilities.native_modify:
            raise NotSupportedError("this venue has no native order modification", venue=self._venue.name)
        report: OrderReport = await self._call("modify_order", "modify", (symbol, client_order_id, modification))
        return report

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """Query one order."""
        report: OrderReport = await self._call("get_order", "get_order", (symbol, client_order_id))
        return report

    async def get_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Query open orders (of every symbol: the ``get_open_orders_all`` request)."""
        request = "get_open_orders" if symbol else "get_open_orders_all"
        reports: list[OrderReport] = await self._call(request, "open_orders", (symbol,))
        return reports

    async def get_fills(self, symbol: str | None = None, since_ns: int = 0) -> list[Fill]:
        """Query our trades."""
        fills: list[Fill] = await self._call("get_fills", "fills_since", (symbol, since_ns))
        return fills

    async def get_balances(self) -> dict[str, Balance]:
        """Query the account."""
        balances: dict[str, Balance] = await self._call("get_balances", "balances")
        return balances

    async def get_positions(self) -> list[PositionReport]:
        """The positions the venue reports: net holdings built from our fills (a derivatives venue:
        its perpetual positions with mark, PnL, leverage, margin mode and margin)."""
        positions: list[PositionReport] = await self._call("get_positions", "position_reports")
        return positions

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        """Set ``symbol``'s leverage at a derivatives venue (``NotSupportedError`` unless its profile
        claims ``leverage``)."""
        if not self._venue.profile.capabilities.leverage:
            raise NotSupportedError("this venue has no leverage setting", venue=self._venue.name)
        await self._call("set_leverage", "set_leverage", (symbol, leverage))

    async def set_margin_mode(self, symbol: str, mode: MarginMode) -> None:
        """Set ``symbol``'s margin mode at a derivatives venue (``NotSupportedError`` unless its
        profile claims ``margin_mode``)."""
        if not self._venue.profile.capabilities.margin_mode:
            raise NotSupportedError("this venue has no margin mode setting", venue=self._venue.name)
        await self._call("set_margin_mode", "set_margin_mode", (symbol, MarginMode(mode).value))

    async def get_ticker(self, symbol: str) -> Quote:
        """Best bid/offer."""
        quote: Quote = await self._call("get_ticker", "ticker", (symbol,))
        return quote

    async def get_order_book(self, symbol: str, depth: int = 100) -> BookSnapshot:
        """Top of the venue's book."""
        book: BookSnapshot = await self._call("get_order_book", "order_book", (symbol, depth))
        return book

    async def get_candles(self, symbol: str, interval_ns: int, limit: int = 500) -> list[Candle]:
        """OHLCV bars from the venue's own trade tape (whole minutes, epoch-aligned, like klines)."""
        candles: list[Candle] = await self._call("get_candles", "candle_bars", (symbol, interval_ns, limit))
        return candles

    async def get_server_time(self) -> int:
        """The venue's clock (virtual time at the venue)."""
        server: int = await self._call("get_server_time", "server_time")
        return server

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
        return self._subscribe("trades", symbol, self.market.trades.setdefault(symbol, []), callback)

    async def subscribe_quotes(self, symbol: str, callback: QuoteCallback) -> _Subscription:
        """Receive best bid/offer updates."""
        return self._subscribe("quotes", symbol, self.market.quotes.setdefault(symbol, []), callback)

    async def subscribe_book(self, symbol: str, callback: BookCallback, depth: int = 20) -> _Subscription:
        """Receive the client's rebuilt book (top ``depth`` levels) after every book message.

        The book is kept from the diff stream and resynced from a REST snapshot whenever it is
        not valid (``sim.client_book``).
        """
        self.market.book(symbol, self._fetch_snapshot, self._book_valid)
        return self._subscribe("book", symbol, self.market.book_subs.setdefault(symbol, []), (callback, depth))

    def _subscribe(self, kind: str, symbol: str, registry: list[Any], entry: Any) -> _Subscription:
        registry.append(entry)
        self.market.open(kind, symbol)
        self.session.start_staleness_probe()
        return _Subscription(registry, entry, lambda: self.market.open(kind, symbol))

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
        info: VenueInfo = await self._call("get_venue_info", "venue_info", (self._mode,))
        return info

"""``BinanceAdapter``: the adapter contract served by Binance Spot (testnet, production, or a local venue).

Over the transports of ``live``:

* REST (``live.rest``: signed, audited, time-synced, errors typed in ``live.rest.errors``) for
  orders, account, market-data queries and venue info (``exchangeInfo`` plus the account's
  commission rates);
* the WS API's user-data stream (``live.binance.user_stream``) for order updates and fills;
* market streams (``live.binance.market_streams``) for trades, quotes and the book, which is
  kept by Binance's snapshot + diff procedure with the shared ``BookSync``
  (``live.binance.book_follower``).

Where it connects is a ``BinanceEndpoints``: SANDBOX endpoints can never name a production host,
and production needs an explicit flag. Money is ``Decimal`` parsed from Binance's strings, time
comes only from the injected ``Clock``. Binance Spot has no positions: ``get_positions`` reports
the net holdings our trades on the venue add up to (as the simulated venue does), over the
symbols of the orders the adapter has seen plus ``symbols``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from harness.audit import AuditSink, MemoryAuditSink
from harness.clock import Clock
from harness.contract import (
    BarCallback,
    BookCallback,
    FillCallback,
    HealthStatus,
    InvalidRequestError,
    NotSupportedError,
    OrderUpdateCallback,
    QuoteCallback,
    RateLimitedError,
    RateLimitStatus,
    RetryableError,
    TradeCallback,
)
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
from harness.positions import PositionState, apply_fill
from harness.registry import Credentials
from harness.venues import VenueDescriptor, descriptor_for, unknown_descriptor
from live.binance import codec
from live.binance.book_follower import BookFollower
from live.binance.endpoints import BinanceEndpoints
from live.binance.market_streams import MarketStreams
from live.binance.usage import UsageTracker
from live.binance.user_stream import UserStream
from live.handles import UndoHandle
from live.rest import AiohttpSender, BinanceRestProtocol, RestClient, RestRequest, RestTimeouts
from live.signing import ParamValue
from live.ws.state import WsSettings

__all__ = ["BinanceAdapter"]

_T = TypeVar("_T")
_NS = 1_000_000_000
_MS = 1_000_000


class BinanceAdapter:
    """An ``ExchangeAdapter`` for Binance Spot (see the module docstring)."""

    def __init__(self, endpoints: BinanceEndpoints, credentials: Credentials, clock: Clock, *,
                 audit: AuditSink | None = None, ws_settings: WsSettings | None = None,
                 rest_timeouts: RestTimeouts | None = None, request_timeout_ns: int = 10 * _NS,
                 recv_window_ms: int = 5000, rng: random.Random | None = None,
                 symbols: Iterable[str] = (), venue: str = "binance") -> None:
        self._endpoints = endpoints
        self._clock = clock
        self._venue = venue
        self._descriptor = descriptor_for(venue) or unknown_descriptor(venue)
        self.usage = UsageTracker(venue)
        protocol = BinanceRestProtocol(base_url=endpoints.rest, mode=endpoints.mode, credentials=credentials,
                                       recv_window_ms=recv_window_ms, venue=venue)
        self.rest = RestClient(protocol, AiohttpSender(timeouts=rest_timeouts, venue=venue), clock,
                               audit=audit or MemoryAuditSink(), on_usage=self._observe_usage)
        self._ws_settings = ws_settings or WsSettings()
        self.streams = MarketStreams(endpoints.streams, clock=clock, settings=self._ws_settings, rng=rng,
                                     mode=endpoints.mode, timeout_ns=request_timeout_ns)
        self.user = UserStream(endpoints.ws_api, clock=clock, credentials=credentials, time=self.rest.time,
                               on_event=self._on_user_event, settings=self._ws_settings, rng=rng, mode=endpoints.mode,
                               timeout_ns=request_timeout_ns, recv_window_ms=recv_window_ms)
        self._connected = False
        self._order_subs: list[OrderUpdateCallback] = []
        self._fill_subs: list[FillCallback] = []
        self._books: dict[str, BookFollower] = {}
        self._client_ids: dict[tuple[str, str], str] = {}  # (symbol, orderId) -> clientOrderId
        self._symbols: dict[str, None] = dict.fromkeys(symbols)

    # ------------------------------------------------------------------ plumbing

    def _observe_usage(self, headers: Mapping[str, str]) -> None:
        self.usage.observe(headers, self._venue_now())

    def _venue_now(self) -> int:
        return self._clock.now_ns() + self.rest.time.offset_ms * _MS

    async def _call(self, method: str, path: str, *, params: Iterable[tuple[str, ParamValue]] = (),
                    body: Iterable[tuple[str, ParamValue]] = (), signed: bool = False, order_entry: bool = False,
                    client_order_id: str = "") -> Any:
        if not self._connected:
            raise RetryableError(f"{method} {path}: not connected", venue=self._venue)
        request = RestRequest(method, path, params=tuple(params), body=tuple(body), signed=signed,
                              order_entry=order_entry, client_order_id=client_order_id)
        try:
            return await self.rest.request(request)
        except RateLimitedError as limited:
            if limited.banned:
                self.usage.banned(self._venue_now() + int(limited.retry_after_s * _NS))
            raise

    def _remember(self, report: OrderReport) -> OrderReport:
        self._client_ids[(report.symbol, report.venue_order_id)] = report.client_order_id
        self._symbols.setdefault(report.symbol)
        return report

    def _on_user_event(self, event: Mapping[str, Any]) -> None:
        if event.get("e") != "executionReport":
            return
        report = self._remember(codec.execution_report(event, self._venue))
        fill = codec.execution_fill(event, self._venue)
        if fill is not None:
            for fill_callback in list(self._fill_subs):
                fill_callback(fill)
        for callback in list(self._order_subs):
            callback(report)

    # ------------------------------------------------------------------ identity and connection

    @property
    def venue(self) -> str:
        """``"binance"`` unless named otherwise."""
        return self._venue

    @property
    def mode(self) -> VenueMode:
        """SANDBOX (testnet or a local venue) or PRODUCTION, from the endpoints."""
        return self._endpoints.mode

    @property
    def descriptor(self) -> VenueDescriptor:
        """The shipped Binance descriptor (``harness.venues``)."""
        return self._descriptor

    async def connect(self) -> None:
        """Sync the clock offset, open the market and user-data connections, subscribe to user data."""
        if self._connected:
            return
        await self.rest.sync_time()  # RetryableError when the venue cannot be reached
        self._connected = True
        try:
            await self.streams.start()
            await self.user.start(self._ws_settings.open_timeout_ns)
        except BaseException:
            await self.disconnect()
            raise

    async def disconnect(self) -> None:
        """Close every connection; later calls raise ``RetryableError`` until ``connect``."""
        self._connected = False
        for follower in self._books.values():
            await follower.close()
        await self.user.close()
        await self.streams.close()
        await self.rest.close()

    def is_connected(self) -> bool:
        """True between ``connect`` and ``disconnect``."""
        return self._connected

    async def health(self) -> HealthStatus:
        """``GET /api/v3/ping`` round trip."""
        start = self._clock.monotonic_ns()
        await self._call("GET", "/api/v3/ping")
        latency = self._clock.monotonic_ns() - start
        return HealthStatus(self._venue, self._connected, latency, "OK", self._clock.now_ns())

    async def sync_streams(self) -> None:
        """A round trip on the market and user-data connections: what the venue sent before is delivered."""
        await self.streams.round_trip()
        await self.user.round_trip()

    # ------------------------------------------------------------------ orders

    async def submit_order(self, request: OrderRequest) -> OrderReport:
        """``POST /api/v3/order`` (RESULT answer); an unknown outcome is ``AmbiguousError``."""
        data = await self._call("POST", "/api/v3/order", body=codec.order_params(request), signed=True,
                                order_entry=True, client_order_id=request.client_order_id)
        return self._remember(codec.order_report(data, self._venue))

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """``DELETE /api/v3/order`` by ``origClientOrderId``."""
        data = await self._call("DELETE", "/api/v3/order", params=[("symbol", symbol),
                                                                   ("origClientOrderId", client_order_id)],
                                signed=True, client_order_id=client_order_id)
        data = {**data, "clientOrderId": data.get("origClientOrderId", client_order_id)}
        return self._remember(codec.order_report(data, self._venue))

    async def modify_order(self, symbol: str, client_order_id: str,
                           modification: OrderModification) -> OrderReport:
        """Binance Spot keeps queue priority only on a quantity decrease: no native modify (cancel-replace)."""
        raise NotSupportedError("Binance spot has no native order modification; cancel and replace",
                                venue=self._venue)

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """``GET /api/v3/order``; ``OrderNotFoundError`` (-2013) when the venue has none."""
        data = await self._call("GET", "/api/v3/order", params=[("symbol", symbol),
                                                                ("origClientOrderId", client_order_id)], signed=True)
        return self._remember(codec.order_report(data, self._venue))

    async def get_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """``GET /api/v3/openOrders`` (of one symbol, or all: weight 80)."""
        params = [("symbol", symbol)] if symbol else []
        data = await self._call("GET", "/api/v3/openOrders", params=params, signed=True)
        return [self._remember(codec.order_report(row, self._venue)) for row in data]

    async def _client_id(self, symbol: str, order_id: str) -> str:
        known = self._client_ids.get((symbol, order_id))
        if known is None:
            data = await self._call("GET", "/api/v3/order", params=[("symbol", symbol), ("orderId", int(order_id))],
                                    signed=True)
            known = self._remember(codec.order_report(data, self._venue)).client_order_id
        return known

    async def _trades(self, symbol: str) -> list[Fill]:
        rows = await self._call("GET", "/api/v3/myTrades", params=[("symbol", symbol), ("limit", 1000)], signed=True)
        fills = []
        for row in rows:
            coid = await self._client_id(symbol, str(row.get("orderId")))
            fills.append(codec.my_trade_fill(row, coid, self._venue))
        return fills

    async def get_fills(self, symbol: str | None = None, since_ns: int = 0) -> list[Fill]:
        """``GET /api/v3/myTrades`` (per symbol: of ``symbol``, or of every symbol the adapter trades)."""
        symbols = [symbol] if symbol else list(self._symbols)
        fills = [f for s in symbols for f in await self._trades(s) if f.ts_ns >= since_ns]
        return sorted(fills, key=lambda f: f.ts_ns) if symbol is None else fills

    # ------------------------------------------------------------------ account

    async def get_balances(self) -> dict[str, Balance]:
        """``GET /api/v3/account`` balances."""
        data = await self._call("GET", "/api/v3/account", signed=True)
        balances = [Balance(str(b["asset"]), codec.dec(b, "free"), codec.dec(b, "locked")) for b in data["balances"]]
        return {b.asset: b for b in sorted(balances, key=lambda b: b.asset)}

    async def get_positions(self) -> list[PositionReport]:
        """Net holdings of our trades per symbol (spot has no positions), non-zero only.

        Each report is stamped with the venue time it is true at: when the query started, or the
        time of the newest trade it includes if that is later (a trade made while the query ran
        is in it, and must not count as news after it).
        """
        reports = []
        for symbol in sorted(self._symbols):
            as_of = self._venue_now()
            state = PositionState()
            for fill in await self._trades(symbol):
                state, _ = apply_fill(state, fill.quantity * fill.side.sign, fill.price)
                as_of = max(as_of, fill.ts_ns)
            if state.quantity != 0:
                reports.append(PositionReport(self._venue, symbol, state.quantity, state.average_price, as_of))
        return reports

    # ------------------------------------------------------------------ market data

    async def get_ticker(self, symbol: str) -> Quote:
        """``GET /api/v3/ticker/bookTicker``."""
        data = await self._call("GET", "/api/v3/ticker/bookTicker", params=[("symbol", symbol)])
        return codec.quote_from_ticker(data, self._clock.now_ns(), self._venue)

    async def get_order_book(self, symbol: str, depth: int = 100) -> BookSnapshot:
        """``GET /api/v3/depth?limit=depth``."""
        data = await self._call("GET", "/api/v3/depth", params=[("symbol", symbol), ("limit", depth)])
        return codec.book_snapshot(data, symbol, self._clock.now_ns(), self._venue)

    async def get_candles(self, symbol: str, interval_ns: int, limit: int = 500) -> list[Candle]:
        """``GET /api/v3/klines``; an interval Binance has no name for is refused here."""
        name = codec.INTERVALS.get(interval_ns // _NS) if interval_ns % _NS == 0 else None
        if name is None:
            raise InvalidRequestError(f"Binance has no {interval_ns} ns kline interval", venue=self._venue, code=-1120)
        rows = await self._call("GET", "/api/v3/klines", params=[("symbol", symbol), ("interval", name),
                                                                 ("limit", limit)])
        return codec.candles(rows, symbol, interval_ns, self._venue)

    async def get_server_time(self) -> int:
        """``GET /api/v3/time`` in ns."""
        data = await self._call("GET", "/api/v3/time")
        return int(data["serverTime"]) * _MS

    async def subscribe_order_updates(self, callback: OrderUpdateCallback) -> UndoHandle:
        """Every ``executionReport`` of the user-data stream, as ``OrderReport``."""
        self._order_subs.append(callback)
        return UndoHandle(lambda: self._order_subs.remove(callback) if callback in self._order_subs else None)

    async def subscribe_fills(self, callback: FillCallback) -> UndoHandle:
        """Every TRADE ``executionReport``, as ``Fill``."""
        self._fill_subs.append(callback)
        return UndoHandle(lambda: self._fill_subs.remove(callback) if callback in self._fill_subs else None)

    async def subscribe_trades(self, symbol: str, callback: TradeCallback) -> UndoHandle:
        """``<symbol>@trade``."""
        venue, clock = self._venue, self._clock

        def on_event(event: Mapping[str, Any]) -> None:
            callback(codec.trade_from_stream(event, clock.now_ns(), venue))

        stream = f"{symbol.lower()}@trade"
        await self.streams.subscribe(stream, on_event)
        return UndoHandle(lambda: self.streams.unsubscribe(stream, on_event))

    async def subscribe_quotes(self, symbol: str, callback: QuoteCallback) -> UndoHandle:
        """``<symbol>@bookTicker``."""
        venue, clock = self._venue, self._clock

        def on_event(event: Mapping[str, Any]) -> None:
            callback(codec.quote_from_ticker(event, clock.now_ns(), venue))

        stream = f"{symbol.lower()}@bookTicker"
        await self.streams.subscribe(stream, on_event)
        return UndoHandle(lambda: self.streams.unsubscribe(stream, on_event))

    async def subscribe_book(self, symbol: str, callback: BookCallback, depth: int = 20) -> UndoHandle:
        """``<symbol>@depth@100ms`` diffs over a ``GET /api/v3/depth`` snapshot, synced by Binance's rules."""
        entry = (callback, depth)
        follower = self._books.get(symbol)
        if follower is None:
            follower = self._books[symbol] = BookFollower(self._venue, symbol, lambda: self._snapshot(symbol),
                                                          self._clock)
            await self.streams.subscribe(f"{symbol.lower()}@depth@100ms", follower.on_diff)
            follower.subscribers.append(entry)
            await follower.resync()
        else:
            follower.subscribers.append(entry)
        return UndoHandle(lambda: follower.subscribers.remove(entry) if entry in follower.subscribers else None)

    async def subscribe_bars(self, symbol: str, interval_ns: int, callback: BarCallback) -> UndoHandle:
        """``<symbol>@kline_<interval>``: each bar once the venue closes it (``x`` true), once."""
        name = codec.INTERVALS.get(interval_ns // _NS) if interval_ns % _NS == 0 else None
        if name is None:
            raise InvalidRequestError(f"Binance has no {interval_ns} ns kline interval", venue=self._venue, code=-1120)
        venue = self._venue
        last_closed = [-1]  # open time of the bar delivered last (a resent close is not repeated)

        def on_event(event: Mapping[str, Any]) -> None:
            bar, closed = codec.candle_from_kline(event, interval_ns, venue)
            if closed and bar.ts_open > last_closed[0]:
                last_closed[0] = bar.ts_open
                callback(bar)

        stream = f"{symbol.lower()}@kline_{name}"
        await self.streams.subscribe(stream, on_event)
        return UndoHandle(lambda: self.streams.unsubscribe(stream, on_event))

    async def _snapshot(self, symbol: str) -> Mapping[str, Any]:
        data: Mapping[str, Any] = await self._call("GET", "/api/v3/depth", params=[("symbol", symbol),
                                                                                   ("limit", 1000)])
        return data

    # ------------------------------------------------------------------ limits and info

    async def get_rate_limit_status(self) -> RateLimitStatus:
        """Usage per limit as the venue's last answers reported it (no request)."""
        return self.usage.status(self._venue_now())

    async def get_venue_info(self) -> VenueInfo:
        """``exchangeInfo`` (symbols, filters, order types, limits) and the account's commission rates."""
        exchange = await self._call("GET", "/api/v3/exchangeInfo")
        self.usage.set_limits(exchange.get("rateLimits", []))
        account = await self._call("GET", "/api/v3/account", signed=True)
        rates = account.get("commissionRates") or {"maker": str(Decimal(account.get("makerCommission", 0)) / 10_000),
                                                   "taker": str(Decimal(account.get("takerCommission", 0)) / 10_000)}
        return codec.venue_info(exchange, rates, self.mode, self._venue)

"""``BybitAdapter``: the adapter contract served by Bybit v5, category ``spot`` or ``linear`` (testnet,
production, local).

Over the transports of ``live``:

* REST (``live.rest.RestClient`` with ``live.bybit.rest_protocol.BybitRestProtocol``: header-signed,
  audited, time-synced, retCodes typed by ``live.bybit.errors``) for orders, account, market-data
  queries and venue info (``instruments-info`` plus the account's ``fee-rate``). The rate-limit
  headers are honoured (``live.bybit.usage``): a call to an endpoint whose allowance is spent
  waits for its reset.
* the private WS (``/v5/private``: ``auth``, then topics ``order``, ``execution``, ``wallet``,
  ``position``; ``live.bybit.private_stream``) for order updates and fills;
* the public WS (``/v5/public/spot``) for ``publicTrade``, ``orderbook.1`` (quotes: spot's
  ``tickers`` carry no bid/ask), ``orderbook.50|200`` (the book, ``live.bybit.book``) and ``kline``
  (``live.bybit.market_data``).

Bybit's order create/cancel/amend answer only ``{orderId, orderLinkId}``, so each is followed by
the order's query (``/v5/order/realtime``, open then recently closed, then ``/v5/order/history``):
the report returned is the venue's. Spot has no positions: ``get_positions`` reports the net
holdings our executions add up to, as the simulated venue does. Category ``linear`` (USDT
perpetuals, ``live.bybit.linear``) is a ``FuturesAdapter``: positions as the venue reports them
(``/v5/position/list``, and the ``position`` pushes through ``subscribe_positions``), leverage,
margin mode, reduce-only orders, the margin account's balances. Money is ``Decimal`` parsed from
Bybit's strings, time comes only from the injected ``Clock``, secrets never reach a log line.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Mapping
from typing import Any

from harness.audit import AuditSink, MemoryAuditSink
from harness.clock import Clock
from harness.contract import (
    BarCallback,
    BookCallback,
    ExchangeError,
    FillCallback,
    HealthStatus,
    InvalidRequestError,
    MarginMode,
    NotSupportedError,
    OrderNotFoundError,
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
from live.bybit import codec, linear
from live.bybit.endpoints import BybitEndpoints
from live.bybit.market_data import BybitMarketData, interval_name
from live.bybit.paging import pages
from live.bybit.private_stream import BybitPrivateStream, PositionCallback
from live.bybit.rest_protocol import BybitRestProtocol
from live.bybit.socket import BybitSocket
from live.bybit.usage import BybitUsage
from live.handles import UndoHandle
from live.rest import AiohttpSender, RestClient, RestRequest, RestTimeouts
from live.signing import ParamValue
from live.ws.state import WsSettings

__all__ = ["BybitAdapter"]

logger = logging.getLogger(__name__)

_NS = 1_000_000_000
_MS = 1_000_000


class BybitAdapter:
    """An ``ExchangeAdapter`` for Bybit v5 spot, a ``FuturesAdapter`` for linear (see the module docstring)."""

    def __init__(self, endpoints: BybitEndpoints, credentials: Credentials, clock: Clock, *,
                 audit: AuditSink | None = None, ws_settings: WsSettings | None = None,
                 rest_timeouts: RestTimeouts | None = None, request_timeout_ns: int = 10 * _NS,
                 recv_window_ms: int = 5000, rng: random.Random | None = None, symbols: Iterable[str] = (),
                 venue: str = "bybit", category: str = "spot") -> None:
        if category not in ("spot", "linear"):
            raise ValueError(f"BybitAdapter serves category 'spot' or 'linear', not {category!r}")
        self._endpoints = endpoints
        self._credentials = credentials
        self._clock = clock
        self._venue = venue
        self._category = category
        self._descriptor = descriptor_for(venue) or unknown_descriptor(venue)
        self.usage = BybitUsage(venue)
        self._symbols: dict[str, None] = dict.fromkeys(symbols)
        self._settle_coin = "USDT"
        protocol = BybitRestProtocol(base_url=endpoints.rest, mode=endpoints.mode, credentials=credentials,
                                     recv_window_ms=recv_window_ms, venue=venue,
                                     on_limits=lambda endpoint, headers, _: self.usage.observe(endpoint, headers))
        self.rest = RestClient(protocol, AiohttpSender(timeouts=rest_timeouts, venue=venue), clock,
                               audit=audit or MemoryAuditSink())
        self._ws_settings = ws_settings or WsSettings()
        self.public = BybitSocket("public", endpoints.public(category), clock=clock, settings=self._ws_settings,
                                  rng=rng, mode=endpoints.mode, timeout_ns=request_timeout_ns, venue=venue)
        self.user = BybitPrivateStream(endpoints.private_ws, clock=clock, credentials=credentials,
                                       time=self.rest.time, settings=self._ws_settings, rng=rng, mode=endpoints.mode,
                                       timeout_ns=request_timeout_ns, venue=venue, category=category,
                                       on_symbol=self._symbols.setdefault)
        self.private = self.user.socket
        self._connected = False
        self.market = BybitMarketData(self.public, clock, venue)

    # ------------------------------------------------------------------ plumbing

    def _venue_now(self) -> int:
        return self._clock.now_ns() + self.rest.time.offset_ms * _MS

    async def _call(self, method: str, path: str, *, params: Iterable[tuple[str, ParamValue]] = (),
                    body: Iterable[tuple[str, ParamValue]] = (), signed: bool = False, order_entry: bool = False,
                    client_order_id: str = "") -> Any:
        if not self._connected:
            raise RetryableError(f"{method} {path}: not connected", venue=self._venue)
        request = RestRequest(method, path, params=tuple(params), body=tuple(body), signed=signed,
                              order_entry=order_entry, client_order_id=client_order_id)
        wait = self.usage.wait_ns(request.endpoint, self._venue_now())
        if wait > 0:
            await self._clock.sleep_ns(wait)
        self.usage.sent(self._venue_now())
        try:
            result = await self.rest.request(request)
        except RateLimitedError as limited:
            if limited.banned:
                self.usage.banned(self._venue_now() + int(limited.retry_after_s * _NS))
            raise
        if not isinstance(result, dict):
            raise ExchangeError(f"{request.endpoint}: 'result' is not an object", venue=self._venue)
        return result

    # ------------------------------------------------------------------ identity and connection

    @property
    def venue(self) -> str:
        """``"bybit"`` unless named otherwise."""
        return self._venue

    @property
    def mode(self) -> VenueMode:
        """SANDBOX (testnet or a local venue) or PRODUCTION, from the endpoints."""
        return self._endpoints.mode

    @property
    def descriptor(self) -> VenueDescriptor:
        """The shipped Bybit descriptor (``harness.venues``)."""
        return self._descriptor

    async def connect(self) -> None:
        """Sync the clock offset, open the public and private connections (auth, private topics)."""
        if self._connected:
            return
        await self.rest.sync_time()
        self._connected = True
        try:
            await self.public.start(self._ws_settings.open_timeout_ns)
            await self.user.start(self._ws_settings.open_timeout_ns)
        except BaseException:
            await self.disconnect()
            raise

    async def disconnect(self) -> None:
        """Close every connection; later calls raise ``RetryableError`` until ``connect``."""
        self._connected = False
        await self.market.close()
        await self.user.close()
        await self.public.close()
        await self.rest.close()

    def is_connected(self) -> bool:
        """True between ``connect`` and ``disconnect``."""
        return self._connected

    async def health(self) -> HealthStatus:
        """``GET /v5/market/time`` round trip."""
        start = self._clock.monotonic_ns()
        await self._call("GET", "/v5/market/time")
        return HealthStatus(self._venue, self._connected, self._clock.monotonic_ns() - start, "OK",
                            self._clock.now_ns())

    async def sync_streams(self) -> None:
        """A ping round trip on the public and private connections (a delivery barrier)."""
        await self.public.round_trip()
        await self.private.round_trip()

    # ------------------------------------------------------------------ orders

    async def _find(self, symbol: str, client_order_id: str) -> OrderReport:
        base = [("category", self._category), ("symbol", symbol), ("orderLinkId", client_order_id)]
        for path, extra in (("/v5/order/realtime", []), ("/v5/order/realtime", [("openOnly", 1)]),
                            ("/v5/order/history", [])):
            result = await self._call("GET", path, params=[*base, *extra], signed=True)
            rows = codec.field(result, "list")
            if isinstance(rows, list) and rows:
                report = codec.order_report(rows[0], self._venue)
                self._symbols.setdefault(report.symbol)
                return report
        raise OrderNotFoundError(f"{symbol} order {client_order_id!r} does not exist", venue=self._venue,
                                 code=170213)

    async def submit_order(self, request: OrderRequest) -> OrderReport:
        """``POST /v5/order/create``, then the order's state; an unknown outcome is ``AmbiguousError``.

        The venue has accepted the order once create answers: if the follow-up query fails (or
        does not see it yet), the answer is a PENDING report with the venue's order id, and the
        order's state comes with its pushes or the next query, never by sending it again.
        """
        created = await self._call("POST", "/v5/order/create", body=codec.order_params(request, self._category),
                                   signed=True, order_entry=True, client_order_id=request.client_order_id)
        try:
            return await self._find(request.symbol, request.client_order_id)
        except (RetryableError, OrderNotFoundError) as error:
            logger.warning("bybit: %s accepted, its state not read yet: %s", request.client_order_id, error)
            return codec.pending_report(request, str(created.get("orderId", "")), self._venue_now(), self._venue)

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """``POST /v5/order/cancel`` by ``orderLinkId``; 170213 (no such open order) is ``OrderNotFoundError``."""
        await self._call("POST", "/v5/order/cancel", body=[("category", self._category), ("symbol", symbol),
                                                           ("orderLinkId", client_order_id)],
                         signed=True, client_order_id=client_order_id)
        return await self._find(symbol, client_order_id)

    async def modify_order(self, symbol: str, client_order_id: str,
                           modification: OrderModification) -> OrderReport:
        """``POST /v5/order/amend`` (price, quantity, trigger price) by ``orderLinkId``."""
        body: list[tuple[str, ParamValue]] = [("category", self._category), ("symbol", symbol),
                                              ("orderLinkId", client_order_id)]
        if modification.new_quantity is not None:
            body.append(("qty", modification.new_quantity))
        if modification.new_price is not None:
            body.append(("price", modification.new_price))
        if modification.new_stop_price is not None:
            body.append(("triggerPrice", modification.new_stop_price))
        await self._call("POST", "/v5/order/amend", body=body, signed=True, order_entry=True,
                         client_order_id=client_order_id)
        return await self._find(symbol, client_order_id)

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """The order by ``orderLinkId``; ``OrderNotFoundError`` when the venue has none."""
        return await self._find(symbol, client_order_id)

    async def get_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """``GET /v5/order/realtime`` (open only, every page)."""
        params: list[tuple[str, ParamValue]] = [("category", self._category), ("limit", 50)]
        if symbol:
            params.insert(1, ("symbol", symbol))
        reports: list[OrderReport] = []
        for row in await self._pages("/v5/order/realtime", params):
            report = codec.order_report(row, self._venue)
            self._symbols.setdefault(report.symbol)
            reports.append(report)
        return reports

    async def _pages(self, path: str, params: list[tuple[str, ParamValue]]) -> list[Mapping[str, Any]]:
        return await pages(self._call, path, params, self._venue)

    async def _executions(self, symbol: str) -> list[Fill]:
        rows = await self._pages("/v5/execution/list", [("category", self._category), ("symbol", symbol),
                                                        ("limit", 100)])
        fills = [f for f in (codec.execution_fill(r, self._venue) for r in rows) if f is not None]
        return sorted(fills, key=lambda f: (f.ts_ns, f.execution_id))

    async def get_fills(self, symbol: str | None = None, since_ns: int = 0) -> list[Fill]:
        """``GET /v5/execution/list`` (of ``symbol``, or of every symbol the adapter trades), oldest first."""
        symbols = [symbol] if symbol else list(self._symbols)
        fills = [f for s in symbols for f in await self._executions(s) if f.ts_ns >= since_ns]
        return sorted(fills, key=lambda f: (f.ts_ns, f.execution_id))

    # ------------------------------------------------------------------ account

    async def get_balances(self) -> dict[str, Balance]:
        """``GET /v5/account/wallet-balance?accountType=UNIFIED`` (free = wallet balance - locked; linear:
        less the order and position margin too)."""
        result = await self._call("GET", "/v5/account/wallet-balance", params=[("accountType", "UNIFIED")],
                                  signed=True)
        return linear.linear_balances(result) if self._category == "linear" else codec.balances(result)

    async def get_positions(self) -> list[PositionReport]:
        """Linear: ``/v5/position/list`` as the venue reports it. Spot: net holdings of our executions per
        symbol (spot has no positions), non-zero only."""
        if self._category == "linear":
            return await linear.read_positions(self._call, self._settle_coin, self._venue_now(), self._venue)
        reports = []
        for symbol in sorted(self._symbols):
            as_of = self._venue_now()
            state = PositionState()
            for fill in await self._executions(symbol):
                state, _ = apply_fill(state, fill.quantity * fill.side.sign, fill.price)
                as_of = max(as_of, fill.ts_ns)
            if state.quantity != 0:
                reports.append(PositionReport(self._venue, symbol, state.quantity, state.average_price, as_of))
        return reports

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        """``POST /v5/position/set-leverage`` (linear; the leverage already set is a no-op)."""
        self._linear_only("leverage")
        await linear.set_leverage(self._call, symbol, leverage, self._venue)

    async def set_margin_mode(self, symbol: str, mode: MarginMode) -> None:
        """``POST /v5/position/switch-isolated`` (linear; the mode already set is a no-op)."""
        self._linear_only("margin mode")
        await linear.set_margin_mode(self._call, symbol, mode, self._venue)

    def _linear_only(self, what: str) -> None:
        if self._category != "linear":
            raise NotSupportedError(f"Bybit {self._category} has no {what} setting", venue=self._venue)

    async def subscribe_positions(self, callback: PositionCallback) -> UndoHandle:
        """Every ``position`` push (linear), as ``PositionReport``s (a flat row: quantity 0)."""
        return self.user.subscribe_positions(callback)

    # ------------------------------------------------------------------ market data

    async def get_ticker(self, symbol: str) -> Quote:
        """``GET /v5/market/tickers`` (bid1 / ask1)."""
        result = await self._call("GET", "/v5/market/tickers", params=[("category", self._category),
                                                                       ("symbol", symbol)])
        rows = codec.field(result, "list")
        if not isinstance(rows, list) or not rows:
            raise InvalidRequestError(f"no ticker for {symbol}", venue=self._venue, code=10001)
        return codec.quote_from_ticker(rows[0], self._clock.now_ns(), self._venue)

    async def get_order_book(self, symbol: str, depth: int = 100) -> BookSnapshot:
        """``GET /v5/market/orderbook`` (spot: 1..200 levels)."""
        result = await self._call("GET", "/v5/market/orderbook", params=[
            ("category", self._category), ("symbol", symbol), ("limit", max(1, min(depth, 200)))])
        return codec.book_snapshot(result, symbol, self._clock.now_ns(), self._venue)

    async def get_candles(self, symbol: str, interval_ns: int, limit: int = 500) -> list[Candle]:
        """``GET /v5/market/kline`` (oldest first here; Bybit sends newest first)."""
        name = interval_name(interval_ns, self._venue)
        result = await self._call("GET", "/v5/market/kline", params=[
            ("category", self._category), ("symbol", symbol), ("interval", name), ("limit", max(1, min(limit, 1000)))])
        return codec.candles(result, symbol, interval_ns, self._venue)

    async def get_server_time(self) -> int:
        """``GET /v5/market/time`` in ns."""
        result = await self._call("GET", "/v5/market/time")
        return self.rest.protocol.parse_server_time(result) * _MS

    async def subscribe_order_updates(self, callback: OrderUpdateCallback) -> UndoHandle:
        """Every ``order`` push, as ``OrderReport`` (``live.bybit.private_stream``)."""
        return self.user.subscribe_orders(callback)

    async def subscribe_fills(self, callback: FillCallback) -> UndoHandle:
        """Every ``execution`` push of type Trade, as ``Fill``."""
        return self.user.subscribe_fills(callback)

    async def subscribe_trades(self, symbol: str, callback: TradeCallback) -> UndoHandle:
        """``publicTrade.<symbol>`` (``live.bybit.market_data``)."""
        return await self.market.subscribe_trades(symbol, callback)

    async def subscribe_quotes(self, symbol: str, callback: QuoteCallback) -> UndoHandle:
        """``orderbook.1.<symbol>`` (spot ``tickers`` carry no bid or ask)."""
        return await self.market.subscribe_quotes(symbol, callback)

    async def subscribe_book(self, symbol: str, callback: BookCallback, depth: int = 20) -> UndoHandle:
        """``orderbook.50|200.<symbol>``: snapshot + deltas with ``u`` continuity, resynced on a gap."""
        return await self.market.subscribe_book(symbol, callback, depth)

    async def subscribe_bars(self, symbol: str, interval_ns: int, callback: BarCallback) -> UndoHandle:
        """``kline.<interval>.<symbol>``: each bar once the venue confirms it closed, once."""
        return await self.market.subscribe_bars(symbol, interval_ns, callback)

    # ------------------------------------------------------------------ limits and info

    async def get_rate_limit_status(self) -> RateLimitStatus:
        """Usage per endpoint as the venue's last answers reported it, and our per-IP count (no request)."""
        return self.usage.status(self._venue_now())

    async def get_venue_info(self) -> VenueInfo:
        """``instruments-info`` (symbols and filters) and the account's ``fee-rate``."""
        instruments = await self._call("GET", "/v5/market/instruments-info", params=[("category", self._category)])
        rows = codec.field(instruments, "list")
        first = rows[0].get("symbol") if isinstance(rows, list) and rows and isinstance(rows[0], dict) else None
        params: list[tuple[str, ParamValue]] = [("category", self._category)]
        if isinstance(first, str):
            params.append(("symbol", first))
        fees = await self._call("GET", "/v5/account/fee-rate", params=params, signed=True)
        fee_rows = codec.field(fees, "list")
        if not isinstance(fee_rows, list) or not fee_rows:
            raise ExchangeError("fee-rate answered no rates", venue=self._venue)
        if self._category == "linear":
            return linear.linear_venue_info(instruments, fee_rows[0], self.mode, self._venue)
        return codec.venue_info(instruments, fee_rows[0], self.mode, self._venue)

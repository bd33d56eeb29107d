"""``CoinbaseAdapter``: Coinbase order entry over FIX 4.2 paired with its WebSocket market data.

* **Orders** over one FIX session in the Coinbase dialect (``live.fix.dialects.coinbase``: HMAC
  logon, ``D``, ``F``, ``G``, ``H``; ``live.fix.order_entry``). ``modify_order`` is native (a
  ``G``: the order keeps its place in our books under its client order id, the venue's newest
  ClOrdID for it is kept here); ``get_order`` is an OrderStatusRequest (``39=8`` "Unknown order."
  is ``OrderNotFoundError``). ExecutionReports are the order updates and fills pushed; open
  orders and fills are those reports (Coinbase's FIX 4.2 has no mass status or trade query).
* **Market data** over Coinbase's Advanced Trade WebSocket (``live.coinbase.market_data``):
  quotes from ``ticker``, trades from ``market_trades``, the book from ``level2``.
* **Not here**: balances, candles, bars and the venue's product list come from Coinbase's REST
  API, which this adapter does not speak yet: those methods raise ``NotSupportedError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from harness.clock import Clock
from harness.contract import (
    BarCallback,
    BookCallback,
    FillCallback,
    HealthStatus,
    NotSupportedError,
    OrderNotFoundError,
    OrderUpdateCallback,
    QuoteCallback,
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
    OrderStatus,
    PositionReport,
    Quote,
    VenueInfo,
    VenueMode,
)
from harness.positions import PositionState, apply_fill
from harness.registry import Credentials
from harness.venues import VenueDescriptor, descriptor_for, unknown_descriptor
from live.binance.fix_adapter import fix_answer_error
from live.coinbase.market_data import CoinbaseMarketData
from live.fix.dialects.coinbase import COINBASE_FIX
from live.fix.dialects.reports import ExecKind, ExecutionReport, ReplaceRequest
from live.fix.log import FixLogSink
from live.fix.order_entry import FixEndpoint, FixOrderEntry

__all__ = ["CoinbaseAdapter"]

_OPEN = (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING)


class _Handle:
    """A subscription handle whose ``close`` removes one callback."""

    def __init__(self, undo: Callable[[], None]) -> None:
        self._undo: Callable[[], None] | None = undo

    async def close(self) -> None:
        """Stop delivering."""
        undo, self._undo = self._undo, None
        if undo is not None:
            undo()


def _remove(items: list[Any], item: Any) -> Callable[[], None]:
    return lambda: items.remove(item) if item in items else None


class CoinbaseAdapter:
    """Coinbase: FIX order entry and WebSocket market data (see the module docstring)."""

    def __init__(self, fix: FixEndpoint, credentials: Credentials, ws_url: str, clock: Clock, *,
                 venue: str = "coinbase", fix_log: FixLogSink | None = None) -> None:
        self._venue, self._clock, self._mode = venue, clock, fix.mode
        self._descriptor = descriptor_for(venue) or unknown_descriptor(venue)
        self.fix = FixOrderEntry(COINBASE_FIX, credentials, fix, clock, venue=venue, log=fix_log,
                                 on_report=self._on_report)
        self.market = CoinbaseMarketData(ws_url, clock, venue=venue, mode=fix.mode, timeout_ns=fix.answer_timeout_ns)
        self._connected = False
        self._orders: dict[str, OrderReport] = {}
        self._fills: list[Fill] = []
        self._fix_ids: dict[str, str] = {}  # our client order id -> the venue's newest ClOrdID for the order
        self._ours: dict[str, str] = {}  # a ClOrdID the venue knows -> our client order id
        self._order_subs: list[OrderUpdateCallback] = []
        self._fill_subs: list[FillCallback] = []
        self._requests = 0

    # ------------------------------------------------------------------ identity and connection

    @property
    def venue(self) -> str:
        """``"coinbase"`` unless named otherwise."""
        return self._venue

    @property
    def mode(self) -> VenueMode:
        """From the FIX endpoint."""
        return self._mode

    @property
    def descriptor(self) -> VenueDescriptor:
        """The shipped Coinbase descriptor."""
        return self._descriptor

    async def connect(self) -> None:
        """Open the market-data WebSocket and log on to FIX order entry."""
        if self._connected:
            return
        try:
            await self.market.start()
            await self.fix.start()
        except BaseException:
            await self.disconnect()
            raise
        self._connected = True

    async def disconnect(self) -> None:
        """Log out and close the WebSocket; calls then raise ``RetryableError``."""
        self._connected = False
        await self.fix.stop()
        await self.market.close()

    def is_connected(self) -> bool:
        """True between ``connect`` and ``disconnect``."""
        return self._connected

    async def health(self) -> HealthStatus:
        """A FIX TestRequest round trip."""
        start = self._clock.monotonic_ns()
        answered = await self.fix.round_trip()
        latency = self._clock.monotonic_ns() - start if answered else None
        return HealthStatus(self._venue, self._connected and answered, latency, "OK" if answered else "NO ANSWER",
                            self._clock.now_ns())

    async def sync_streams(self, symbol: str) -> None:
        """A delivery barrier on the market data and the FIX session."""
        await self.market.round_trip(symbol)
        await self.fix.round_trip()

    # ------------------------------------------------------------------ orders

    def _ours_of(self, fix_id: str) -> str:
        return self._ours.get(fix_id, fix_id)

    def _on_report(self, report: ExecutionReport) -> None:
        if report.kind in (ExecKind.REJECTED, ExecKind.STATUS):  # answers to requests, not order changes
            return
        fix_id = report.orig_cl_ord_id if report.kind in (ExecKind.CANCELED, ExecKind.REPLACED) and \
            report.orig_cl_ord_id else report.cl_ord_id
        coid = self._ours_of(fix_id)
        if report.kind is ExecKind.REPLACED:
            self._ours[report.cl_ord_id] = coid
            self._fix_ids[coid] = report.cl_ord_id
        order = replace(report.order_report(self._venue), client_order_id=coid)
        self._orders[coid] = order
        if report.kind is ExecKind.TRADE and report.trade_id is not None:
            fill = report.fill(self._venue, f"{report.symbol}-{report.trade_id}")
            if fill is not None:
                fill = replace(fill, client_order_id=coid)
                self._fills.append(fill)
                for fill_callback in list(self._fill_subs):
                    fill_callback(fill)
        for callback in list(self._order_subs):
            callback(order)

    def _check(self) -> None:
        if not self._connected:
            raise RetryableError("not connected", venue=self._venue)

    def _next_id(self, prefix: str, coid: str) -> str:
        self._requests += 1
        return f"{prefix}{self._requests}-{coid}"[:36]

    async def submit_order(self, request: OrderRequest) -> OrderReport:
        """A NewOrderSingle; the order as its reports so far describe it."""
        self._check()
        try:
            msg_type, body = COINBASE_FIX.new_order(request, self._clock.now_ns())
        except ValueError as unsupported:
            raise NotSupportedError(str(unsupported), venue=self._venue) from None
        answer = await self.fix.request(msg_type, body, request.client_order_id)
        if not isinstance(answer, ExecutionReport) or answer.kind is ExecKind.REJECTED:
            raise fix_answer_error(answer, self._venue)
        self._fix_ids[request.client_order_id] = request.client_order_id
        return self._orders.get(request.client_order_id) or answer.order_report(self._venue)

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """An OrderCancelRequest for the order's newest ClOrdID."""
        self._check()
        cancel_id = self._next_id("x", client_order_id)
        known = self._orders.get(client_order_id)
        msg_type, body = COINBASE_FIX.cancel(cancel_id, self._fix_ids.get(client_order_id, client_order_id), symbol,
                                             known.side if known is not None else None, self._clock.now_ns())
        answer = await self.fix.request(msg_type, body, cancel_id)
        if not isinstance(answer, ExecutionReport) or answer.kind is not ExecKind.CANCELED:
            raise fix_answer_error(answer, self._venue)
        return self._orders[client_order_id]

    async def modify_order(self, symbol: str, client_order_id: str,
                           modification: OrderModification) -> OrderReport:
        """An OrderCancelReplaceRequest (``G``) with the new price and/or quantity."""
        self._check()
        known = self._orders.get(client_order_id)
        if known is None or known.status not in _OPEN:
            raise OrderNotFoundError(f"no open order {client_order_id!r} known to this session", venue=self._venue)
        new_id = self._next_id("r", client_order_id)
        change = ReplaceRequest(new_id, self._fix_ids.get(client_order_id, client_order_id), known.venue_order_id,
                                symbol, known.side, known.order_type,
                                modification.new_quantity or known.quantity, modification.new_price or known.price,
                                known.time_in_force)
        msg_type, body = COINBASE_FIX.replace(change, self._clock.now_ns())
        answer = await self.fix.request(msg_type, body, new_id)
        if not isinstance(answer, ExecutionReport) or answer.kind is not ExecKind.REPLACED:
            raise fix_answer_error(answer, self._venue)
        return self._orders[client_order_id]

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """An OrderStatusRequest; ``OrderNotFoundError`` when the venue has no such order."""
        self._check()
        fix_id = self._fix_ids.get(client_order_id, client_order_id)
        msg_type, body = COINBASE_FIX.status_request(fix_id, symbol)
        answer = await self.fix.request(msg_type, body, fix_id)
        if not isinstance(answer, ExecutionReport):
            raise fix_answer_error(answer, self._venue)
        if answer.kind is ExecKind.STATUS and answer.status is OrderStatus.REJECTED and not answer.order_id:
            raise OrderNotFoundError(answer.text or "Unknown order.", venue=self._venue)
        return replace(answer.order_report(self._venue), client_order_id=client_order_id)

    async def get_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """The orders this session's reports leave open."""
        self._check()
        return [o for o in self._orders.values() if o.status in _OPEN and symbol in (None, o.symbol)]

    async def get_fills(self, symbol: str | None = None, since_ns: int = 0) -> list[Fill]:
        """The fills this session's reports carried."""
        self._check()
        return [f for f in self._fills if symbol in (None, f.symbol) and f.ts_ns >= since_ns]

    async def get_balances(self) -> dict[str, Balance]:
        """Balances are Coinbase REST's: not supported by this adapter."""
        raise NotSupportedError("Coinbase balances come from its REST API, which this adapter does not speak",
                                venue=self._venue)

    async def get_positions(self) -> list[PositionReport]:
        """Net holdings of this session's fills per symbol (spot has no positions), non-zero only."""
        states: dict[str, PositionState] = {}
        as_of = self._clock.now_ns()
        for fill in self._fills:
            states[fill.symbol], _ = apply_fill(states.get(fill.symbol, PositionState()),
                                                fill.quantity * fill.side.sign, fill.price)
        return [PositionReport(self._venue, s, st.quantity, st.average_price, as_of)
                for s, st in sorted(states.items()) if st.quantity != 0]

    # ------------------------------------------------------------------ market data

    async def _ensure(self, channel: str, symbol: str) -> None:
        self._check()
        await self.market.subscribe(channel, symbol)

    async def get_ticker(self, symbol: str) -> Quote:
        """The latest ``ticker`` of ``symbol`` (subscribing on first use)."""
        if symbol not in self.market.quotes:
            await self._ensure("ticker", symbol)
        return self.market.quotes[symbol]

    async def get_order_book(self, symbol: str, depth: int = 100) -> BookSnapshot:
        """The level-2 book kept from ``level2`` (subscribing on first use)."""
        book = self.market.book(symbol, depth)
        if book is None:
            await self._ensure("level2", symbol)
            book = self.market.book(symbol, depth)
        if book is None:
            raise RetryableError(f"no level-2 snapshot of {symbol} yet", venue=self._venue)
        return book

    async def get_candles(self, symbol: str, interval_ns: int, limit: int = 500) -> list[Candle]:
        """Candles are Coinbase REST's: not supported by this adapter."""
        raise NotSupportedError("Coinbase candles come from its REST API", venue=self._venue)

    async def get_server_time(self) -> int:
        """The timestamp of the venue's newest market-data message."""
        self._check()
        return self.market.last_timestamp_ns

    async def subscribe_order_updates(self, callback: OrderUpdateCallback) -> _Handle:
        """Every ExecutionReport of an order change, as ``OrderReport``."""
        self._order_subs.append(callback)
        return _Handle(_remove(self._order_subs, callback))

    async def subscribe_fills(self, callback: FillCallback) -> _Handle:
        """Every trade ExecutionReport, as ``Fill``."""
        self._fill_subs.append(callback)
        return _Handle(_remove(self._fill_subs, callback))

    async def subscribe_trades(self, symbol: str, callback: TradeCallback) -> _Handle:
        """``market_trades``."""
        subs = self.market.trade_subs.setdefault(symbol, [])
        subs.append(callback)
        await self._ensure("market_trades", symbol)
        return _Handle(_remove(subs, callback))

    async def subscribe_quotes(self, symbol: str, callback: QuoteCallback) -> _Handle:
        """``ticker``."""
        subs = self.market.quote_subs.setdefault(symbol, [])
        subs.append(callback)
        await self._ensure("ticker", symbol)
        return _Handle(_remove(subs, callback))

    async def subscribe_book(self, symbol: str, callback: BookCallback, depth: int = 20) -> _Handle:
        """``level2``: the book to ``depth`` levels after every change."""
        def deliver(book: BookSnapshot) -> None:
            callback(book._replace(bids=book.bids[:depth], asks=book.asks[:depth]))

        subs = self.market.book_subs.setdefault(symbol, [])
        subs.append(deliver)
        await self._ensure("level2", symbol)
        return _Handle(_remove(subs, deliver))

    async def subscribe_bars(self, symbol: str, interval_ns: int, callback: BarCallback) -> _Handle:
        """Coinbase's ``candles`` channel is not spoken here: ``NotSupportedError``."""
        raise NotSupportedError("Coinbase bars are not supported by this adapter", venue=self._venue)

    async def get_rate_limit_status(self) -> RateLimitStatus:
        """Coinbase's FIX reports no usage: an empty status."""
        return RateLimitStatus(self._venue)

    async def get_venue_info(self) -> VenueInfo:
        """Products and their filters are Coinbase REST's: not supported by this adapter."""
        raise NotSupportedError("Coinbase products come from its REST API", venue=self._venue)

"""``CoinbaseAdapter``: Coinbase order entry over FIX 4.2 paired with its WebSocket market data.

* **Orders** over one FIX session in the Coinbase dialect (``live.fix.dialects.coinbase``: HMAC
  logon, ``D``, ``F``, ``G``, ``H``; ``live.fix.order_entry``). ``modify_order`` is native (a
  ``G``: the order keeps its place in our books under its client order id, the venue's newest
  ClOrdID for it is kept here); ``get_order`` is an OrderStatusRequest (``39=8`` "Unknown order."
  is ``OrderNotFoundError``). ExecutionReports are the order updates and fills pushed; open
  orders and fills are those reports (Coinbase's FIX 4.2 has no mass status or trade query).
* **Market data** over Coinbase's Advanced Trade WebSocket (``live.coinbase.market_data``):
  quotes from ``ticker``, trades from ``market_trades``, the book from ``level2``.
* **Account and venue** over Advanced Trade REST (``live.coinbase.rest``, ``live.coinbase.account``,
  JWT-signed) when a ``CoinbaseRestEndpoint`` is given: balances, products as ``VenueInfo``, candles,
  server time, and open orders, fills and ``get_order`` from the venue (orders placed by earlier
  sessions too). Bars are REST candles read after each close (``live.coinbase.bars``). Without
  REST those methods raise ``NotSupportedError`` and open orders and fills are this session's.
"""

from __future__ import annotations

import random
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
from live.coinbase.account import CoinbaseAccount
from live.coinbase.bars import BarPoller
from live.coinbase.fix_errors import coinbase_fix_error
from live.coinbase.market_data import CoinbaseMarketData
from live.coinbase.rest import PRIVATE_LIMIT, CoinbaseRest, CoinbaseRestEndpoint
from live.fix.dialects.coinbase import COINBASE_FIX
from live.fix.dialects.reports import ExecKind, ExecutionReport, ReplaceRequest
from live.fix.log import FixLogSink
from live.fix.order_entry import FixEndpoint, FixOrderEntry
from live.handles import UndoHandle

__all__ = ["CoinbaseAdapter"]

_OPEN = (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING)


def _remove(items: list[Any], item: Any) -> Callable[[], None]:
    return lambda: items.remove(item) if item in items else None


class CoinbaseAdapter:
    """Coinbase: FIX order entry and WebSocket market data (see the module docstring)."""

    def __init__(self, fix: FixEndpoint, credentials: Credentials, ws_url: str, clock: Clock, *,
                 venue: str = "coinbase", fix_log: FixLogSink | None = None,
                 rest: CoinbaseRestEndpoint | None = None, rest_credentials: Credentials | None = None,
                 rng: random.Random | None = None) -> None:
        if (rest is None) != (rest_credentials is None):
            raise ValueError("Coinbase REST needs both its endpoint and its CDP key (name + EC private key)")
        if rest is not None and rest.mode is not fix.mode:
            raise ValueError(f"the REST endpoint is {rest.mode.value} but the FIX endpoint is {fix.mode.value}")
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
        self._order_ids: dict[str, str] = {}  # the venue's order id -> our client order id
        self.rest: CoinbaseAccount | None = None
        if rest is not None and rest_credentials is not None:
            self.rest = CoinbaseAccount(CoinbaseRest(rest, rest_credentials, clock, venue=venue, rng=rng), venue,
                                        self._ours_of)
        self._bars: list[BarPoller] = []

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
        for poller in self._bars:
            await poller.close()
        self._bars.clear()
        await self.fix.stop()
        await self.market.close()
        if self.rest is not None:
            await self.rest.rest.close()

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
        if order.venue_order_id:
            self._order_ids[order.venue_order_id] = coid
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
            raise coinbase_fix_error(answer, self._venue)
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
            raise coinbase_fix_error(answer, self._venue)
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
            raise coinbase_fix_error(answer, self._venue)
        return self._orders[client_order_id]

    def _account(self, what: str) -> CoinbaseAccount:
        self._check()
        if self.rest is None:
            raise NotSupportedError(f"Coinbase {what} come from its REST API, which this adapter was given no "
                                    f"endpoint for", venue=self._venue)
        return self.rest

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """``GET /orders/historical/{order_id}`` with REST (the id from this session's reports, else from the
        venue's order list: an order placed earlier); without REST an OrderStatusRequest.
        ``OrderNotFoundError`` when the venue has no such order."""
        self._check()
        if self.rest is not None:
            known = self._orders.get(client_order_id)
            report = await self.rest.order_of(symbol, client_order_id, known.venue_order_id if known else "")
            self._order_ids[report.venue_order_id] = client_order_id
            return report
        fix_id = self._fix_ids.get(client_order_id, client_order_id)
        msg_type, body = COINBASE_FIX.status_request(fix_id, symbol)
        answer = await self.fix.request(msg_type, body, fix_id)
        if not isinstance(answer, ExecutionReport):
            raise coinbase_fix_error(answer, self._venue)
        if answer.kind is ExecKind.STATUS and answer.status is OrderStatus.REJECTED and not answer.order_id:
            raise OrderNotFoundError(answer.text or "Unknown order.", venue=self._venue)
        return replace(answer.order_report(self._venue), client_order_id=client_order_id)

    async def get_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """``GET /orders/historical/batch?order_status=OPEN`` with REST; else this session's open orders."""
        self._check()
        if self.rest is not None:
            return await self.rest.orders(symbol, open_only=True)
        return [o for o in self._orders.values() if o.status in _OPEN and symbol in (None, o.symbol)]

    async def get_fills(self, symbol: str | None = None, since_ns: int = 0) -> list[Fill]:
        """``GET /orders/historical/fills`` with REST; else the fills this session's reports carried."""
        self._check()
        if self.rest is not None:
            return await self.rest.fills(symbol, since_ns, self._order_ids)
        return [f for f in self._fills if symbol in (None, f.symbol) and f.ts_ns >= since_ns]

    async def get_balances(self) -> dict[str, Balance]:
        """``GET /accounts``: available and held funds per currency."""
        return await self._account("balances").balances()

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
        """``GET /products/{id}/candles`` (whole-minute granularities Coinbase names; at most 350)."""
        account = self._account("candles")
        CoinbaseAccount.granularity(interval_ns, self._venue)
        return await account.candles(symbol, interval_ns, limit, self._clock.now_ns())

    async def get_server_time(self) -> int:
        """``GET /time`` with REST; else the timestamp of the venue's newest market-data message."""
        self._check()
        if self.rest is not None:
            return await self.rest.server_time_ns()
        return self.market.last_timestamp_ns

    async def subscribe_order_updates(self, callback: OrderUpdateCallback) -> UndoHandle:
        """Every ExecutionReport of an order change, as ``OrderReport``."""
        self._order_subs.append(callback)
        return UndoHandle(_remove(self._order_subs, callback))

    async def subscribe_fills(self, callback: FillCallback) -> UndoHandle:
        """Every trade ExecutionReport, as ``Fill``."""
        self._fill_subs.append(callback)
        return UndoHandle(_remove(self._fill_subs, callback))

    async def subscribe_trades(self, symbol: str, callback: TradeCallback) -> UndoHandle:
        """``market_trades``."""
        subs = self.market.trade_subs.setdefault(symbol, [])
        subs.append(callback)
        await self._ensure("market_trades", symbol)
        return UndoHandle(_remove(subs, callback))

    async def subscribe_quotes(self, symbol: str, callback: QuoteCallback) -> UndoHandle:
        """``ticker``."""
        subs = self.market.quote_subs.setdefault(symbol, [])
        subs.append(callback)
        await self._ensure("ticker", symbol)
        return UndoHandle(_remove(subs, callback))

    async def subscribe_book(self, symbol: str, callback: BookCallback, depth: int = 20) -> UndoHandle:
        """``level2``: the book to ``depth`` levels after every change."""
        def deliver(book: BookSnapshot) -> None:
            callback(book._replace(bids=book.bids[:depth], asks=book.asks[:depth]))

        subs = self.market.book_subs.setdefault(symbol, [])
        subs.append(deliver)
        await self._ensure("level2", symbol)
        return UndoHandle(_remove(subs, deliver))

    async def subscribe_bars(self, symbol: str, interval_ns: int, callback: BarCallback) -> UndoHandle:
        """Each closed bar, from REST candles read just after it closes (``live.coinbase.bars``)."""
        account = self._account("bars")
        CoinbaseAccount.granularity(interval_ns, self._venue)
        poller = BarPoller(account.candles, self._clock, symbol, interval_ns, callback)
        self._bars.append(poller)
        poller.start()

        async def stop() -> None:
            if poller in self._bars:
                self._bars.remove(poller)
            await poller.close()

        return UndoHandle(stop)

    async def get_rate_limit_status(self) -> RateLimitStatus:
        """This key's REST requests over the last second against Coinbase's 30/s private limit
        (Coinbase sends no usage headers); empty without REST."""
        if self.rest is None:
            return RateLimitStatus(self._venue)
        return RateLimitStatus(self._venue, {"PRIVATE_REST": (self.rest.rest.used_last_second(), PRIVATE_LIMIT, 1)})

    async def get_venue_info(self) -> VenueInfo:
        """``GET /products`` (tick, lot, sizes, min notional) and the fee tier of ``/transaction_summary``."""
        return await self._account("products").venue_info()

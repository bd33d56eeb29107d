"""The venue operations behind the local venue's endpoints, shared by REST and the WS API.

``VenueActions`` turns Binance parameters into calls on a ``SimVenue`` and its answers into
Binance's JSON (``live.serve.order_json``, ``live.serve.wire``). Every endpoint is listed in
``ENDPOINTS`` with whether it is SIGNED and which contract request it is (what the venue's rate
limits count, by the names of ``harness.contract_methods.REQUEST_NAMES``) and at what weight, so
REST (``live.serve.rest``) and the WS API (``live.serve.ws_api``) check the same things the same way.

Venue refusals keep the venue's own code and message (the profile's Binance catalog); anything
the venue raises as a contract error (an invalid kline interval, say) becomes the nearest Binance
code. Time is the venue's (``venue.now``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from harness.contract import VenueError
from harness.model import BookLevel, Fill, OrderRequest, OrderType, Side, TimeInForce
from live.serve.auth import BinanceApiError, RequestParams, mandatory
from live.serve.exchange_info import exchange_info
from live.serve.order_json import (
    RESPONSE_TYPES,
    TradeIds,
    cancel_json,
    my_trade_json,
    new_order_json,
    order_json,
)
from live.serve.wire import BINANCE_INTERVALS, balance_json, depth_levels, fmt, fmt_fixed, kline_row, ms
from sim.venue.filters import RejectReason
from sim.venue.venue import RejectedRequest, SimVenue, VenueOrder

__all__ = ["ENDPOINTS", "DepthSource", "Endpoint", "VenueActions", "depth_weight", "venue_error"]

DepthSource = Callable[[str, int], tuple[int, list[BookLevel], list[BookLevel]] | None]
"""The served book of a symbol: ``(lastUpdateId, bids, asks)`` to ``limit`` levels, or None (use the venue's)."""

_TYPES: dict[str, tuple[OrderType, bool]] = {
    "LIMIT": (OrderType.LIMIT, False), "LIMIT_MAKER": (OrderType.LIMIT, True), "MARKET": (OrderType.MARKET, False),
    "STOP_LOSS": (OrderType.STOP_MARKET, False), "STOP_LOSS_LIMIT": (OrderType.STOP_LIMIT, False),
    "TAKE_PROFIT": (OrderType.TAKE_PROFIT, False), "TAKE_PROFIT_LIMIT": (OrderType.TAKE_PROFIT, False),
}
_NEEDS_PRICE = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
_NEEDS_TIF = frozenset({"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
_NEEDS_STOP = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})


def depth_weight(limit: int) -> int:
    """``GET /api/v3/depth``'s weight by ``limit``: 5 up to 100, 25 to 500, 50 to 1000, 250 beyond."""
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


@dataclass(frozen=True)
class Endpoint:
    """One endpoint: its action, whether it is SIGNED, and the contract request (and weight) it counts as."""

    action: str
    signed: bool
    request: Callable[[RequestParams], tuple[str, int | None]]


def _fixed(name: str) -> Callable[[RequestParams], tuple[str, int | None]]:
    return lambda params: (name, None)


def _depth_cost(params: RequestParams) -> tuple[str, int | None]:
    return "get_order_book", depth_weight(params.integer("limit", 100) or 100)


def _open_orders_cost(params: RequestParams) -> tuple[str, int | None]:
    return ("get_open_orders", None) if params.get("symbol") else ("get_open_orders_all", None)


def _ticker_cost(params: RequestParams) -> tuple[str, int | None]:
    return "get_ticker", 2 if params.get("symbol") else 4


def _trades_cost(params: RequestParams) -> tuple[str, int | None]:
    return "get_fills", 5 if params.get("orderId") else None


ENDPOINTS: dict[str, Endpoint] = {
    "GET /api/v3/ping": Endpoint("ping", False, _fixed("health")),
    "GET /api/v3/time": Endpoint("time", False, _fixed("get_server_time")),
    "GET /api/v3/exchangeInfo": Endpoint("exchange_info", False, _fixed("get_venue_info")),
    "GET /api/v3/depth": Endpoint("depth", False, _depth_cost),
    "GET /api/v3/ticker/bookTicker": Endpoint("book_ticker", False, _ticker_cost),
    "GET /api/v3/klines": Endpoint("klines", False, _fixed("get_candles")),
    "POST /api/v3/order": Endpoint("new_order", True, _fixed("submit_order")),
    "POST /api/v3/order/test": Endpoint("test_order", True, _fixed("submit_order")),
    "DELETE /api/v3/order": Endpoint("cancel_order", True, _fixed("cancel_order")),
    "GET /api/v3/order": Endpoint("query_order", True, _fixed("get_order")),
    "GET /api/v3/openOrders": Endpoint("open_orders", True, _open_orders_cost),
    "GET /api/v3/account": Endpoint("account", True, _fixed("get_balances")),
    "GET /api/v3/myTrades": Endpoint("my_trades", True, _trades_cost),
}
"""Every REST endpoint the local venue serves, by ``"METHOD /path"`` (``/api/v1/...`` aliases map here)."""


def _rejected(refused: RejectedRequest) -> BinanceApiError:
    rejection = refused.rejection
    code = rejection.code if isinstance(rejection.code, int) else -1013
    return BinanceApiError(rejection.http_status, code, rejection.message)


def venue_error(error: VenueError) -> BinanceApiError:
    """The Binance answer to a contract error raised inside the venue (codes kept when they are Binance's)."""
    if isinstance(error.code, int):
        return BinanceApiError(error.http_status or 400, error.code, error.message)
    if "interval" in error.message:
        return BinanceApiError(400, -1120, "Invalid interval.")
    return BinanceApiError(error.http_status or 400, -1100, error.message)


class VenueActions:
    """Binance endpoints served by one ``SimVenue`` (see the module docstring)."""

    def __init__(self, venue: SimVenue, depth_source: DepthSource | None = None) -> None:
        self.venue = venue
        self.depth_source = depth_source
        self.trade_ids = TradeIds()
        self._generated = 0

    def run(self, action: str, params: RequestParams) -> Any:
        """Run the endpoint's action; venue refusals become ``BinanceApiError``."""
        try:
            return getattr(self, action)(params)
        except RejectedRequest as refused:
            raise _rejected(refused) from None
        except VenueError as error:
            raise venue_error(error) from None

    # ------------------------------------------------------------------ helpers

    def _symbol(self, params: RequestParams) -> str:
        symbol = params.require("symbol").upper()
        if symbol not in self.venue.profile.symbols:
            raise BinanceApiError(400, -1121, "Invalid symbol.")
        return symbol

    def _order(self, params: RequestParams, symbol: str,
               missing: RejectReason = RejectReason.NO_SUCH_ORDER) -> VenueOrder:
        client_id = params.get("origClientOrderId")
        order_id = params.integer("orderId")
        if client_id is None and order_id is None:
            raise BinanceApiError(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were "
                                               "empty/null!")
        if client_id is None:
            client_id = next((c for c, o in self.venue.orders.items() if o.venue_order_id == str(order_id)), "")
        order = self.venue.orders.get(client_id)
        if order is None or order.request.symbol != symbol or (
                order_id is not None and order.venue_order_id != str(order_id)):
            raise RejectedRequest(self.venue.profile.errors.reject(missing))
        return order

    def fills_of(self, client_order_id: str) -> list[Fill]:
        """Our executions of one order, oldest first."""
        return [f for f in self.venue.fills if f.client_order_id == client_order_id]

    # ------------------------------------------------------------------ market data

    def ping(self, params: RequestParams) -> dict[str, Any]:
        """``{}``."""
        return {}

    def time(self, params: RequestParams) -> dict[str, Any]:
        """``{"serverTime": ms}``."""
        return {"serverTime": ms(self.venue.now())}

    def exchange_info(self, params: RequestParams) -> dict[str, Any]:
        """Rate limits and symbols (``symbol=`` or ``symbols=["A","B"]`` narrow it)."""
        wanted: list[str] | None = None
        if params.get("symbol"):
            wanted = [params.require("symbol").upper()]
        elif params.get("symbols"):
            try:
                wanted = [str(s).upper() for s in json.loads(params.require("symbols"))]
            except ValueError:
                raise mandatory("symbols") from None
        if wanted is not None and any(s not in self.venue.profile.symbols for s in wanted):
            raise BinanceApiError(400, -1121, "Invalid symbol.")
        return exchange_info(self.venue.profile, self.venue.now(), wanted)

    def depth(self, params: RequestParams) -> dict[str, Any]:
        """``{lastUpdateId, bids, asks}`` of the venue's book (``limit`` levels, default 100, max 5000)."""
        symbol = self._symbol(params)
        limit = params.integer("limit", 100) or 100
        if not 1 <= limit <= 5000:
            raise BinanceApiError(400, -1100, "Illegal characters found in parameter 'limit'; legal range is '1-5000'.")
        served = self.depth_source(symbol, limit) if self.depth_source is not None else None
        if served is not None:
            update_id, bids, asks = served
            return {"lastUpdateId": update_id, "bids": depth_levels(bids), "asks": depth_levels(asks)}
        book = self.venue.order_book(symbol, limit)
        return {"lastUpdateId": max(book.update_id, 0), "bids": depth_levels(book.bids),
                "asks": depth_levels(book.asks)}

    def book_ticker(self, params: RequestParams) -> Any:
        """Best bid and offer of one symbol, or a list of all (``symbols=`` narrows it)."""
        def one(symbol: str) -> dict[str, Any]:
            quote = self.venue.ticker(symbol)
            return {"symbol": symbol, "bidPrice": fmt_fixed(quote.bid_price), "bidQty": fmt_fixed(quote.bid_size),
                    "askPrice": fmt_fixed(quote.ask_price), "askQty": fmt_fixed(quote.ask_size)}
        if params.get("symbol"):
            return one(self._symbol(params))
        symbols = list(self.venue.profile.symbols)
        if params.get("symbols"):
            try:
                symbols = [str(s).upper() for s in json.loads(params.require("symbols"))]
            except ValueError:
                raise mandatory("symbols") from None
            if any(s not in self.venue.profile.symbols for s in symbols):
                raise BinanceApiError(400, -1121, "Invalid symbol.")
        return [one(s) for s in symbols]

    def klines(self, params: RequestParams) -> list[list[Any]]:
        """Bars of the venue's own trade tape (whole minutes and up; ``1s`` is refused with -1120)."""
        symbol = self._symbol(params)
        interval = params.require("interval")
        if interval not in BINANCE_INTERVALS:
            raise BinanceApiError(400, -1120, "Invalid interval.")
        limit = params.integer("limit", 500) or 500
        if not 1 <= limit <= 1000:
            raise BinanceApiError(400, -1100, "Illegal characters found in parameter 'limit'; legal range is '1-1000'.")
        end = params.integer("endTime")
        now = self.venue.now() if end is None else min(self.venue.now(), end * 1_000_000)
        candles = self.venue.candles.candles(symbol, BINANCE_INTERVALS[interval] * 1_000_000_000, limit, now)
        start = params.integer("startTime")
        if start is not None:
            candles = [c for c in candles if c.ts_open >= start * 1_000_000]
        return [kline_row(c) for c in candles]

    # ------------------------------------------------------------------ orders

    def order_request(self, params: RequestParams) -> tuple[OrderRequest, str]:
        """The ``OrderRequest`` and response type of ``POST /api/v3/order`` parameters (-1102, -1116 ...)."""
        symbol = self._symbol(params)
        side_text = params.require("side").upper()
        if side_text not in ("BUY", "SELL"):
            raise mandatory("side")
        type_text = params.require("type").upper()
        if type_text not in _TYPES:
            raise BinanceApiError(400, -1116, "Invalid orderType.")
        kind, post_only = _TYPES[type_text]
        if params.get("quoteOrderQty") or params.get("trailingDelta") or params.get("icebergQty"):
            name = next(n for n in ("quoteOrderQty", "trailingDelta", "icebergQty") if params.get(n))
            raise BinanceApiError(400, -1106, f"Parameter '{name}' sent when not required.")
        quantity = params.decimal("quantity")
        if quantity is None:
            raise mandatory("quantity")
        price = params.decimal("price")
        if type_text in _NEEDS_PRICE and price is None:
            raise mandatory("price")
        stop = params.decimal("stopPrice")
        if type_text in _NEEDS_STOP and stop is None:
            raise mandatory("stopPrice")
        tif = TimeInForce.GTC
        if type_text in _NEEDS_TIF:
            tif_text = params.require("timeInForce").upper()
            if tif_text not in TimeInForce.__members__:
                raise BinanceApiError(400, -1115, "Invalid timeInForce.")
            tif = TimeInForce(tif_text)
        client_id = params.get("newClientOrderId")
        if client_id is None:
            self._generated += 1
            client_id = f"local-{self._generated:08d}"
        response = (params.get("newOrderRespType") or ("FULL" if type_text in ("LIMIT", "MARKET") else "ACK")).upper()
        if response not in RESPONSE_TYPES:
            raise mandatory("newOrderRespType")
        request = OrderRequest(client_id, self.venue.name, symbol, Side(side_text), kind, quantity,
                               price=price if type_text in _NEEDS_PRICE else None, stop_price=stop,
                               time_in_force=tif, post_only=post_only)
        return request, response

    def new_order(self, params: RequestParams) -> dict[str, Any]:
        """``POST /api/v3/order``: place (and maybe fill at once) an order."""
        request, response = self.order_request(params)
        self.venue.submit(request)
        order = self.venue.orders[request.client_order_id]
        return new_order_json(order, response, self.fills_of(request.client_order_id), self.trade_ids)

    def test_order(self, params: RequestParams) -> dict[str, Any]:
        """``POST /api/v3/order/test``: parameters checked, nothing placed."""
        self.order_request(params)
        return {}

    def cancel_order(self, params: RequestParams) -> dict[str, Any]:
        """``DELETE /api/v3/order`` by ``origClientOrderId`` or ``orderId``."""
        symbol = self._symbol(params)
        order = self._order(params, symbol, RejectReason.UNKNOWN_ORDER)
        self.venue.cancel(symbol, order.request.client_order_id)
        return cancel_json(order, self.venue.now())

    def query_order(self, params: RequestParams) -> dict[str, Any]:
        """``GET /api/v3/order``."""
        return order_json(self._order(params, self._symbol(params)))

    def open_orders(self, params: RequestParams) -> list[dict[str, Any]]:
        """``GET /api/v3/openOrders`` (one symbol or all)."""
        symbol = self._symbol(params) if params.get("symbol") else None
        return [order_json(self.venue.orders[r.client_order_id]) for r in self.venue.open_orders(symbol)]

    # ------------------------------------------------------------------ account

    def account(self, params: RequestParams) -> dict[str, Any]:
        """``GET /api/v3/account``: commissions and balances (``omitZeroBalances=true`` drops empty ones)."""
        fees = self.venue.profile.fees
        balances = list(self.venue.balances().values())
        if (params.get("omitZeroBalances") or "").lower() == "true":
            balances = [b for b in balances if b.total != 0]
        bps = int(fees.maker * 10_000), int(fees.taker * 10_000)
        return {"makerCommission": bps[0], "takerCommission": bps[1], "buyerCommission": 0, "sellerCommission": 0,
                "commissionRates": {"maker": fmt(fees.maker), "taker": fmt(fees.taker), "buyer": fmt(Decimal(0)),
                                    "seller": fmt(Decimal(0))},
                "canTrade": True, "canWithdraw": False, "canDeposit": False, "brokered": False,
                "requireSelfTradePrevention": False, "preventSor": False, "updateTime": ms(self.venue.now()),
                "accountType": "SPOT", "balances": [balance_json(b) for b in balances], "permissions": ["SPOT"],
                "uid": 1}

    def my_trades(self, params: RequestParams) -> list[dict[str, Any]]:
        """``GET /api/v3/myTrades`` of one symbol: ``orderId``, ``startTime``/``endTime``, ``fromId``, ``limit``."""
        symbol = self._symbol(params)
        limit = params.integer("limit", 500) or 500
        if not 1 <= limit <= 1000:
            raise BinanceApiError(400, -1100, "Illegal characters found in parameter 'limit'; legal range is '1-1000'.")
        order_id, from_id = params.integer("orderId"), params.integer("fromId")
        start, end = params.integer("startTime"), params.integer("endTime")
        rows = []
        for fill in self.venue.fills_since(symbol, 0):
            trade = my_trade_json(fill, self.trade_ids)
            if order_id is not None and trade["orderId"] != order_id:
                continue
            if from_id is not None and trade["id"] < from_id:
                continue
            if (start is not None and trade["time"] < start) or (end is not None and trade["time"] > end):
                continue
            rows.append(trade)
        return rows[:limit] if from_id is not None or start is not None else rows[-limit:]


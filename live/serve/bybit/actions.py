"""The venue operations behind the local venue's Bybit v5 REST endpoints.

``BYBIT_ENDPOINTS`` lists every path with its action, whether it is signed, and the contract
request it counts as for the venue's rate limits (``harness.contract_methods.REQUEST_NAMES``).
``BybitActions`` turns Bybit parameters into calls on the ``SimVenue`` and its answers into the
``result`` objects of ``docs/v5`` (``live.serve.bybit.shapes``). Venue refusals keep the
profile's Bybit codes and messages (``sim/venue/profiles/bybit.toml``: 170141 duplicate
orderLinkId, 170213 order does not exist, 170131 insufficient balance, ...). One category is
served, the venue's: ``spot`` for a spot venue, ``linear`` for a perpetual one (``FuturesVenue``,
whose positions, leverage, margin mode and margin account ``live.serve.bybit.linear`` adds); the
other category is refused with 10001.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.contract import VenueError
from harness.model import BookLevel, OrderModification, OrderRequest, OrderType, Side, TimeInForce
from live.serve.bybit.auth import BybitApiError, BybitParams, param_error
from live.serve.bybit.shapes import (
    INTERVAL_SECONDS,
    execution_json,
    fmt,
    fmt_fixed,
    instrument_json,
    kline_row,
    levels_json,
    ms,
    order_json,
    wallet_json,
)
from sim.venue.filters import RejectReason, SymbolRules
from sim.venue.venue import RejectedRequest, SimVenue, VenueOrder

__all__ = ["BYBIT_ENDPOINTS", "BookSource", "BybitActions", "BybitEndpoint"]

BookSource = Callable[[str, int], tuple[int, list[BookLevel], list[BookLevel]]]
"""The served book of a symbol: ``(u, bids, asks)`` to ``limit`` levels."""


@dataclass(frozen=True)
class BybitEndpoint:
    """One endpoint: its action, whether it is signed, and the contract request it counts as."""

    action: str
    signed: bool
    request: str


BYBIT_ENDPOINTS: dict[str, BybitEndpoint] = {
    "GET /v5/market/time": BybitEndpoint("time", False, "get_server_time"),
    "GET /v5/market/instruments-info": BybitEndpoint("instruments", False, "get_venue_info"),
    "GET /v5/market/orderbook": BybitEndpoint("orderbook", False, "get_order_book"),
    "GET /v5/market/tickers": BybitEndpoint("tickers", False, "get_ticker"),
    "GET /v5/market/kline": BybitEndpoint("kline", False, "get_candles"),
    "POST /v5/order/create": BybitEndpoint("create", True, "submit_order"),
    "POST /v5/order/cancel": BybitEndpoint("cancel", True, "cancel_order"),
    "POST /v5/order/amend": BybitEndpoint("amend", True, "modify_order"),
    "GET /v5/order/realtime": BybitEndpoint("realtime", True, "get_open_orders"),
    "GET /v5/order/history": BybitEndpoint("history", True, "get_order"),
    "GET /v5/execution/list": BybitEndpoint("executions", True, "get_fills"),
    "GET /v5/account/wallet-balance": BybitEndpoint("wallet", True, "get_balances"),
    "GET /v5/account/fee-rate": BybitEndpoint("fee_rate", True, "get_venue_info"),
    "GET /v5/position/list": BybitEndpoint("positions", True, "get_positions"),
    "POST /v5/position/set-leverage": BybitEndpoint("set_leverage", True, "set_leverage"),
    "POST /v5/position/switch-isolated": BybitEndpoint("switch_isolated", True, "set_margin_mode"),
}
"""Every REST endpoint the Bybit front serves, by ``"METHOD /path"``."""

_TIF = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK, "PostOnly": TimeInForce.GTC}


def _rejected(refused: RejectedRequest) -> BybitApiError:
    rejection = refused.rejection
    code = rejection.code if isinstance(rejection.code, int) else 10001
    return BybitApiError(code, rejection.message)


class BybitActions:
    """Bybit v5 endpoints served by one ``SimVenue`` (see the module docstring)."""

    def __init__(self, venue: SimVenue, book_source: BookSource) -> None:
        self.venue = venue
        self.book_source = book_source
        self._generated = 0
        self.category = "spot"
        """The one category served (``linear`` in ``live.serve.bybit.linear.LinearActions``)."""

    def run(self, action: str, params: BybitParams) -> Any:
        """Run the endpoint's action; venue refusals become ``BybitApiError``."""
        handler = getattr(self, action, None)
        if handler is None:
            self._category(params)
            raise BybitApiError(10001, f"params error: category {self.category} has no positions")
        try:
            return handler(params)
        except RejectedRequest as refused:
            raise _rejected(refused) from None
        except VenueError as error:
            raise BybitApiError(error.code if isinstance(error.code, int) else 10001, error.message) from None

    # ------------------------------------------------------------------ helpers

    def _category(self, params: BybitParams, *, required: bool = True) -> str:
        category = params.get("category")
        if category is None and not required:
            return self.category
        if category != self.category:
            raise param_error("category" if category is None else f"category {category} is not served here")
        return category

    def _symbol(self, params: BybitParams, *, required: bool = True) -> str | None:
        symbol = params.get("symbol")
        if symbol is None:
            if required:
                raise param_error("symbol")
            return None
        if symbol not in self.venue.profile.symbols:
            raise BybitApiError(10001, "params error: symbol invalid")
        return symbol

    def _order(self, params: BybitParams, symbol: str | None) -> VenueOrder | None:
        order_id, link_id = params.get("orderId"), params.get("orderLinkId")
        if order_id is not None:
            order = next((o for o in self.venue.orders.values() if o.venue_order_id == order_id), None)
        elif link_id is not None:
            order = self.venue.orders.get(link_id)
        else:
            raise param_error("orderId or orderLinkId")
        if order is not None and symbol is not None and order.request.symbol != symbol:
            return None
        return order

    def _order_result(self, order: VenueOrder) -> dict[str, str]:
        return {"orderId": order.venue_order_id, "orderLinkId": order.request.client_order_id}

    # ------------------------------------------------------------------ market data

    def time(self, params: BybitParams) -> dict[str, Any]:
        """``{"timeSecond", "timeNano"}``."""
        now = self.venue.now()
        return {"timeSecond": str(now // 1_000_000_000), "timeNano": str(now)}

    def instruments(self, params: BybitParams) -> dict[str, Any]:
        """The category's instruments (``symbol=`` narrows it)."""
        self._category(params)
        symbol = self._symbol(params, required=False)
        rules = [r for s, r in self.venue.profile.symbols.items() if symbol in (None, s)]
        return {"category": self.category, "list": [self.instrument(r) for r in rules], "nextPageCursor": ""}

    def instrument(self, rules: SymbolRules) -> dict[str, Any]:
        """One instrument of ``instruments-info`` in the served category's shape."""
        return instrument_json(rules)

    def orderbook(self, params: BybitParams) -> dict[str, Any]:
        """``{s, b, a, ts, u, seq, cts}`` of the served book (spot: 1..200 levels, default 1)."""
        self._category(params)
        symbol = self._symbol(params)
        assert symbol is not None
        limit = params.integer("limit", 1) or 1
        if not 1 <= limit <= 200:
            raise param_error("limit")
        update, bids, asks = self.book_source(symbol, limit)
        now = ms(self.venue.now())
        return {"s": symbol, "b": levels_json(bids), "a": levels_json(asks), "ts": now, "u": update, "seq": update,
                "cts": now}

    def tickers(self, params: BybitParams) -> dict[str, Any]:
        """bid1/ask1 and the last price per spot symbol."""
        self._category(params)
        symbol = self._symbol(params, required=False)
        rows = []
        for name in self.venue.profile.symbols:
            if symbol not in (None, name):
                continue
            quote = self.venue.ticker(name)
            bars = self.venue.candles.candles(name, 60_000_000_000, 1, self.venue.now())
            last = fmt_fixed(bars[-1].close) if bars else ""
            rows.append({"symbol": name, "bid1Price": fmt_fixed(quote.bid_price), "bid1Size": fmt_fixed(quote.bid_size),
                         "ask1Price": fmt_fixed(quote.ask_price), "ask1Size": fmt_fixed(quote.ask_size),
                         "lastPrice": last, "prevPrice24h": "", "price24hPcnt": "", "highPrice24h": "",
                         "lowPrice24h": "", "turnover24h": "", "volume24h": "", "usdIndexPrice": ""})
        return {"category": self.category, "list": rows}

    def kline(self, params: BybitParams) -> dict[str, Any]:
        """Bars of the venue's own trade tape, newest first (10001 for an interval it has no bars of)."""
        self._category(params, required=False)
        symbol = self._symbol(params)
        assert symbol is not None
        interval = params.require("interval")
        if interval not in INTERVAL_SECONDS:
            raise param_error("interval")
        limit = params.integer("limit", 200) or 200
        if not 1 <= limit <= 1000:
            raise param_error("limit")
        end = params.integer("end")
        now = self.venue.now() if end is None else min(self.venue.now(), end * 1_000_000)
        bars = self.venue.candles.candles(symbol, INTERVAL_SECONDS[interval] * 1_000_000_000, limit, now)
        start = params.integer("start")
        if start is not None:
            bars = [c for c in bars if c.ts_open >= start * 1_000_000]
        return {"category": self.category, "symbol": symbol, "list": [kline_row(c) for c in reversed(bars)]}

    # ------------------------------------------------------------------ orders

    def order_request(self, params: BybitParams) -> OrderRequest:
        """The ``OrderRequest`` of ``/v5/order/create`` parameters (10001 for what is missing or wrong)."""
        self._category(params)
        symbol = self._symbol(params)
        assert symbol is not None
        side = {"Buy": Side.BUY, "Sell": Side.SELL}.get(params.require("side"))
        kind_text = params.require("orderType")
        if side is None or kind_text not in ("Limit", "Market"):
            raise param_error("side" if side is None else "orderType")
        quantity = params.decimal("qty")
        if quantity is None:
            raise param_error("qty")
        if self.category == "spot" and kind_text == "Market" and side is Side.BUY \
                and params.get("marketUnit") not in ("baseCoin",):
            raise param_error("marketUnit: this venue takes market buys in baseCoin only")
        price = params.decimal("price")
        trigger = params.decimal("triggerPrice")
        tif_text = params.get("timeInForce") or "GTC"
        if tif_text not in _TIF:
            raise param_error("timeInForce")
        if kind_text == "Limit" and price is None:
            raise param_error("price")
        kind = (OrderType.STOP_LIMIT if kind_text == "Limit" else OrderType.STOP_MARKET) if trigger is not None else \
            (OrderType.LIMIT if kind_text == "Limit" else OrderType.MARKET)
        link_id = params.get("orderLinkId")
        if link_id is None:
            self._generated += 1
            link_id = f"local-{self._generated:08d}"
        elif len(link_id) > 36:
            raise param_error("orderLinkId is longer than 36 characters")
        return OrderRequest(link_id, self.venue.name, symbol, side, kind, quantity,
                            price=price if kind_text == "Limit" else None, stop_price=trigger,
                            time_in_force=_TIF[tif_text] if kind_text == "Limit" else TimeInForce.IOC,
                            post_only=tif_text == "PostOnly", reduce_only=self._reduce_only(params))

    def _reduce_only(self, params: BybitParams) -> bool:
        """``reduceOnly`` (true/false); spot has none (10001 when sent true)."""
        value = params.get("reduceOnly")
        if value not in (None, "true", "false"):
            raise param_error("reduceOnly")
        if value == "true" and self.category == "spot":
            raise param_error("reduceOnly is for derivatives")
        return value == "true"

    def create(self, params: BybitParams) -> dict[str, Any]:
        """``POST /v5/order/create``: place (and maybe fill at once) an order; ``{orderId, orderLinkId}``."""
        request = self.order_request(params)
        self.venue.submit(request)
        return self._order_result(self.venue.orders[request.client_order_id])

    def cancel(self, params: BybitParams) -> dict[str, Any]:
        """``POST /v5/order/cancel`` by ``orderId`` (wins) or ``orderLinkId``; 170213 when not open."""
        self._category(params)
        symbol = self._symbol(params)
        order = self._order(params, symbol)
        if order is None or not order.status.is_open:
            raise _rejected(RejectedRequest(self.venue.profile.errors.reject(RejectReason.UNKNOWN_ORDER)))
        self.venue.cancel(order.request.symbol, order.request.client_order_id)
        return self._order_result(order)

    def amend(self, params: BybitParams) -> dict[str, Any]:
        """``POST /v5/order/amend``: new ``qty`` / ``price`` / ``triggerPrice`` of an open order."""
        self._category(params)
        symbol = self._symbol(params)
        order = self._order(params, symbol)
        if order is None or not order.status.is_open:
            raise _rejected(RejectedRequest(self.venue.profile.errors.reject(RejectReason.UNKNOWN_ORDER)))
        change = OrderModification(new_price=params.decimal("price"), new_quantity=params.decimal("qty"),
                                   new_stop_price=params.decimal("triggerPrice"))
        self.venue.modify(order.request.symbol, order.request.client_order_id, change)
        return self._order_result(order)

    def _listed(self, params: BybitParams, *, open_only: bool | None) -> dict[str, Any]:
        self._category(params)
        symbol = self._symbol(params, required=False)
        limit = params.integer("limit", 20) or 20
        if not 1 <= limit <= 50:
            raise param_error("limit")
        if params.get("orderId") is not None or params.get("orderLinkId") is not None:
            found = self._order(params, symbol)
            orders = [found] if found is not None else []
        else:
            orders = [o for o in self.venue.orders.values() if symbol in (None, o.request.symbol)]
        if open_only is not None:
            orders = [o for o in orders if o.status.is_open == open_only]
        orders.sort(key=lambda o: (o.created_ns, int(o.venue_order_id)), reverse=True)
        start = params.integer("cursor", 0) or 0
        page = orders[start:start + limit]
        cursor = str(start + limit) if start + limit < len(orders) else ""
        return {"category": self.category, "list": [order_json(o, self.category) for o in page],
                "nextPageCursor": cursor}

    def realtime(self, params: BybitParams) -> dict[str, Any]:
        """``GET /v5/order/realtime``: open orders (``openOnly=0``) or the recently closed ones (``1``)."""
        open_only = params.integer("openOnly", 0)
        return self._listed(params, open_only=open_only == 0)

    def history(self, params: BybitParams) -> dict[str, Any]:
        """``GET /v5/order/history``: every order, newest first."""
        return self._listed(params, open_only=None)

    def executions(self, params: BybitParams) -> dict[str, Any]:
        """``GET /v5/execution/list``: our executions, newest first (``orderId``/``orderLinkId`` narrow it)."""
        self._category(params)
        symbol = self._symbol(params, required=False)
        limit = params.integer("limit", 50) or 50
        if not 1 <= limit <= 100:
            raise param_error("limit")
        order_id, link_id = params.get("orderId"), params.get("orderLinkId")
        fills = [f for f in self.venue.fills_since(symbol, 0)
                 if order_id in (None, f.venue_order_id) and link_id in (None, f.client_order_id)]
        fills.reverse()
        start = params.integer("cursor", 0) or 0
        page = fills[start:start + limit]
        cursor = str(start + limit) if start + limit < len(fills) else ""
        rows = [execution_json(f, self.venue.orders.get(f.client_order_id), self.category) for f in page]
        return {"category": self.category, "list": rows, "nextPageCursor": cursor}

    # ------------------------------------------------------------------ account

    def wallet(self, params: BybitParams) -> dict[str, Any]:
        """``GET /v5/account/wallet-balance?accountType=UNIFIED`` (``coin=A,B`` narrows it)."""
        if params.get("accountType") != "UNIFIED":
            raise BybitApiError(10001, "accountType only support UNIFIED.")
        wanted = params.get("coin")
        coins = set(wanted.split(",")) if wanted else None
        balances = [b for a, b in sorted(self.venue.balances().items()) if coins is None or a in coins]
        return {"list": [wallet_json(balances)]}

    def fee_rate(self, params: BybitParams) -> dict[str, Any]:
        """``GET /v5/account/fee-rate``: the profile's maker and taker rates per symbol."""
        self._category(params)
        symbol = self._symbol(params, required=False)
        fees = self.venue.profile.fees
        return {"list": [{"symbol": s, "takerFeeRate": fmt(fees.taker), "makerFeeRate": fmt(fees.maker)}
                         for s in self.venue.profile.symbols if symbol in (None, s)]}

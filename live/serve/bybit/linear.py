"""The local venue's Bybit v5 endpoints of category ``linear``, served by a ``FuturesVenue``.

``LinearActions`` is ``BybitActions`` (orders, executions, market data: the same parameters with
``category=linear`` and ``reduceOnly``) plus what a perpetual account has (``docs/v5/position``):

* ``GET /v5/position/list`` (``symbol`` or ``settleCoin`` required): a symbol's row even when flat,
  or every open position of the settle coin;
* ``POST /v5/position/set-leverage`` (``buyLeverage`` = ``sellLeverage`` in one-way mode): 110043
  "Set leverage not modified" when it is the leverage already set, the venue's codes otherwise;
* ``POST /v5/position/switch-isolated`` (``tradeMode`` 0 cross / 1 isolated, with the leverage):
  110026 when the mode is already that one or a position or order holds it (served per symbol as
  for a classic account, whatever the ``accountType`` asked of the wallet);
* ``GET /v5/account/wallet-balance`` for ``UNIFIED`` or ``CONTRACT``: the margin account
  (``linear_shapes.linear_wallet_json``);
* ``GET /v5/market/tickers`` adds ``markPrice``, ``fundingRate`` and ``nextFundingTime`` (the
  ``tickers`` WS topic keeps spot's shape).

A leverage or margin-mode change is told to ``position_listeners``; with the venue's fills they
are what the private WS pushes the ``position`` topic on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from live.serve.bybit.actions import BookSource, BybitActions
from live.serve.bybit.auth import BybitApiError, BybitParams, param_error
from live.serve.bybit.linear_shapes import linear_instrument_json, linear_wallet_json, position_json
from live.serve.bybit.shapes import fmt, ms
from sim.venue.filters import SymbolRules
from sim.venue.futures_venue import FuturesVenue

__all__ = ["LinearActions", "PositionListener"]

PositionListener = Callable[[str], None]
"""Told the symbol whose position (or leverage, or margin mode) just changed."""

_TRADE_MODES = {"0": "CROSS", "1": "ISOLATED"}


class LinearActions(BybitActions):
    """Bybit v5 category ``linear`` served by one ``FuturesVenue`` (see the module docstring)."""

    def __init__(self, venue: FuturesVenue, book_source: BookSource) -> None:
        super().__init__(venue, book_source)
        self.futures = venue
        self.category = "linear"
        self.position_listeners: list[PositionListener] = []
        """Told each leverage or margin-mode change (fills reach the private WS from the venue)."""

    def _changed(self, symbol: str) -> None:
        for listener in list(self.position_listeners):
            listener(symbol)

    def instrument(self, rules: SymbolRules) -> dict[str, Any]:
        """A linear perpetual's ``instruments-info`` entry."""
        return linear_instrument_json(self.futures, rules)

    def tickers(self, params: BybitParams) -> dict[str, Any]:
        """``GET /v5/market/tickers?category=linear``: spot's fields plus the mark price (the venue's
        mid), the profile's funding rate and the next funding time."""
        answer = super().tickers(params)
        terms, now = self.futures.terms, self.futures.now()
        for row in answer["list"]:
            mark = self.futures.mark_price(row["symbol"])
            row.update(markPrice=fmt(mark) if mark is not None else "", indexPrice="", openInterest="",
                       fundingRate=fmt(terms.funding_rate), nextFundingTime=str(ms(terms.next_funding_ns(now))))
        return answer

    def position_rows(self, symbol: str | None) -> list[dict[str, Any]]:
        """``symbol``'s row (flat or not), or every open position's when None."""
        reports = {p.symbol: p for p in self.futures.position_reports()}
        if symbol is not None:
            return [position_json(self.futures, symbol, reports.get(symbol))]
        return [position_json(self.futures, s, r) for s, r in sorted(reports.items())]

    def positions(self, params: BybitParams) -> dict[str, Any]:
        """``GET /v5/position/list``."""
        self._category(params)
        symbol = self._symbol(params, required=False)
        settle = params.get("settleCoin")
        if symbol is None and settle is None:
            raise param_error("symbol or settleCoin")
        if symbol is None and settle != self.futures.settle_asset:
            return {"category": self.category, "list": [], "nextPageCursor": ""}
        return {"category": self.category, "list": self.position_rows(symbol), "nextPageCursor": ""}

    def _leverage(self, params: BybitParams) -> int:
        buy, sell = params.decimal("buyLeverage"), params.decimal("sellLeverage")
        if buy is None or sell is None:
            raise param_error("buyLeverage" if buy is None else "sellLeverage")
        if buy != sell:
            raise BybitApiError(10001, "params error: buy leverage must be equal to sell leverage in one-way mode")
        if buy != buy.to_integral_value():
            raise param_error("this venue takes whole leverage")
        return int(buy)

    def set_leverage(self, params: BybitParams) -> dict[str, Any]:
        """``POST /v5/position/set-leverage``: ``{}``; 110043 when unchanged."""
        self._category(params)
        symbol = self._symbol(params)
        assert symbol is not None
        leverage = self._leverage(params)
        if leverage == self.futures.settings[symbol].leverage:
            raise BybitApiError(110043, "Set leverage not modified")
        self.futures.set_leverage(symbol, leverage)
        self._changed(symbol)
        return {}

    def switch_isolated(self, params: BybitParams) -> dict[str, Any]:
        """``POST /v5/position/switch-isolated``: the margin mode (and leverage) of a symbol; ``{}``."""
        self._category(params)
        symbol = self._symbol(params)
        assert symbol is not None
        mode = _TRADE_MODES.get(params.get("tradeMode") or "")
        if mode is None:
            raise param_error("tradeMode")
        leverage = self._leverage(params)
        if mode == self.futures.settings[symbol].margin_mode:
            raise BybitApiError(110026, "Cross/isolated margin mode is not modified")
        self.futures.set_margin_mode(symbol, mode)
        if leverage != self.futures.settings[symbol].leverage:
            self.futures.set_leverage(symbol, leverage)
        self._changed(symbol)
        return {}

    def wallet(self, params: BybitParams) -> dict[str, Any]:
        """``GET /v5/account/wallet-balance`` (``UNIFIED`` or ``CONTRACT``): the margin account."""
        account = params.get("accountType")
        if account not in ("UNIFIED", "CONTRACT"):
            raise BybitApiError(10001, "accountType only support UNIFIED or CONTRACT.")
        wanted = params.get("coin")
        if wanted and self.futures.settle_asset not in wanted.split(","):
            return {"list": [{**linear_wallet_json(self.futures, account), "coin": []}]}
        return {"list": [linear_wallet_json(self.futures, account)]}

    def wallet_push(self) -> dict[str, Any]:
        """The ``wallet`` topic's entry after an order change (the unified margin account)."""
        return linear_wallet_json(self.futures, "UNIFIED")

"""``CoinbaseAccount``: what the adapter asks Advanced Trade REST, as contract types.

One method per question, each one or two ``GET``s under ``/api/v3/brokerage`` (``live.coinbase.rest``)
read by ``live.coinbase.codec``:

* ``balances``: ``/accounts``; ``venue_info``: ``/products`` and the fee tier of ``/transaction_summary``;
* ``candles``: ``/products/{id}/candles`` with a whole-minute granularity Coinbase names (others
  are refused here with ``InvalidRequestError``, as the venue would refuse them);
* ``server_time_ns``: ``/time``;
* ``orders``: ``/orders/historical/batch`` (``order_status=OPEN`` for the open ones), ``order``:
  ``/orders/historical/{order_id}``; ``fills``: ``/orders/historical/fills``.

``client_id`` maps a client order id the venue reports to the one the caller uses (after a FIX
cancel/replace the venue knows the order by its newest ClOrdID).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from harness.contract import ExchangeError, InvalidRequestError, OrderNotFoundError
from harness.model import (
    Balance,
    Candle,
    Fill,
    OrderReport,
    OrderType,
    TimeInForce,
    VenueCapabilities,
    VenueFees,
    VenueInfo,
)
from live.coinbase import codec
from live.coinbase.rest import CoinbaseRest

__all__ = ["COINBASE_CAPABILITIES", "CoinbaseAccount"]

_NS = 1_000_000_000
_MAX_CANDLES = 350  # Advanced Trade answers at most 350 candles per request

COINBASE_CAPABILITIES = VenueCapabilities(
    order_types=frozenset({OrderType.LIMIT, OrderType.MARKET}),
    time_in_force=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}),
    native_modify=True, post_only=True, websocket=True, fix=True)
"""What ``CoinbaseAdapter`` places over FIX 4.2: limit and market orders, GTC/IOC/FOK, post-only, ``G`` edits."""


class CoinbaseAccount:
    """Advanced Trade REST queries of one key (see the module docstring)."""

    def __init__(self, rest: CoinbaseRest, venue: str, client_id: Callable[[str], str] = str) -> None:
        self.rest = rest
        self._venue = venue
        self._client_id = client_id

    async def balances(self) -> dict[str, Balance]:
        """Every account's available and held funds."""
        return codec.balances(await self.rest.get("/accounts", [("limit", "250")]))

    async def venue_info(self) -> VenueInfo:
        """Products (tick, lot, sizes, min notional) and the key's maker/taker fee rates."""
        symbols = codec.products(await self.rest.get("/products", [("product_type", "SPOT")]))
        summary = await self.rest.get("/transaction_summary")
        tier = summary.get("fee_tier")
        if not isinstance(tier, dict):
            raise ExchangeError("transaction_summary: field 'fee_tier' is missing", venue=self._venue)
        maker = codec.need_decimal(tier, "maker_fee_rate", "transaction_summary.fee_tier")
        taker = codec.need_decimal(tier, "taker_fee_rate", "transaction_summary.fee_tier")
        return VenueInfo(self._venue, symbols, VenueFees(maker, taker), COINBASE_CAPABILITIES, self.rest.endpoint.mode,
                         {"pricing_tier": str(tier.get("pricing_tier", ""))})

    @staticmethod
    def granularity(interval_ns: int, venue: str) -> str:
        """Coinbase's name for ``interval_ns``; ``InvalidRequestError`` if it has none."""
        name = codec.GRANULARITIES.get(interval_ns // _NS) if interval_ns % _NS == 0 else None
        if name is None:
            raise InvalidRequestError(f"Coinbase has no {interval_ns} ns candle granularity", venue=venue,
                                      code="INVALID_ARGUMENT")
        return name

    async def candles(self, symbol: str, interval_ns: int, limit: int, now_ns: int) -> list[Candle]:
        """Up to ``limit`` (at most 350) bars ending now, oldest first."""
        name = self.granularity(interval_ns, self._venue)
        count = max(1, min(limit, _MAX_CANDLES))
        end = now_ns // _NS
        start = (now_ns - now_ns % interval_ns) // _NS - (count - 1) * (interval_ns // _NS)
        data = await self.rest.get(f"/products/{symbol}/candles", [("start", str(start)), ("end", str(end)),
                                                                   ("granularity", name), ("limit", str(count))])
        return codec.candles(data, symbol, interval_ns, self._venue)[-count:]

    async def server_time_ns(self) -> int:
        """``/time``'s ``epochMillis`` in ns."""
        data = await self.rest.get("/time")
        millis = str(data.get("epochMillis", ""))
        if not millis.isdigit():
            raise ExchangeError(f"time: field 'epochMillis' is not a number: {millis!r}", venue=self._venue)
        return int(millis) * 1_000_000

    async def orders(self, symbol: str | None, *, open_only: bool) -> list[OrderReport]:
        """Orders of the key (of ``symbol``), open ones only when asked; every page."""
        params = [("order_status", "OPEN")] if open_only else []
        if symbol:
            params.append(("product_ids", symbol))
        reports, cursor = [], ""
        while True:
            data = await self.rest.get("/orders/historical/batch", [*params, ("limit", "1000")] +
                                       ([("cursor", cursor)] if cursor else []))
            rows = codec.object_rows(data, "orders", "orders/historical/batch")
            reports += [codec.order_report(row, self._venue, self._client_id) for row in rows]
            cursor = str(data.get("cursor") or "")
            if not data.get("has_next") or not cursor:
                return reports

    async def order(self, order_id: str) -> OrderReport:
        """One order by the venue's id (``OrderNotFoundError`` on 404)."""
        data = await self.rest.get(f"/orders/historical/{order_id}")
        row = data.get("order")
        if not isinstance(row, dict):
            raise ExchangeError("orders/historical/{order_id}: field 'order' is missing", venue=self._venue)
        return codec.order_report(row, self._venue, self._client_id)

    async def order_of(self, symbol: str, client_order_id: str, order_id: str = "") -> OrderReport:
        """An order by our client order id: by ``order_id`` when known (this session's reports), else found in
        the venue's order list (an order placed earlier); ``OrderNotFoundError`` when the venue has none."""
        if not order_id:
            listed = [o for o in await self.orders(symbol, open_only=False) if o.client_order_id == client_order_id]
            if not listed:
                raise OrderNotFoundError(f"the venue has no order {client_order_id!r} of {symbol}", venue=self._venue)
            order_id = listed[0].venue_order_id
        return replace(await self.order(order_id), client_order_id=client_order_id)

    async def fills(self, symbol: str | None, since_ns: int, client_of: dict[str, str]) -> list[Fill]:
        """The key's fills (of ``symbol``) at or after ``since_ns``, oldest first; ``client_of`` maps order
        ids to client order ids and is completed from the order list when a fill's order is unknown."""
        params = [("product_ids", symbol)] if symbol else []
        rows, cursor = [], ""
        while True:
            data = await self.rest.get("/orders/historical/fills", [*params, ("limit", "1000")] +
                                       ([("cursor", cursor)] if cursor else []))
            rows += codec.object_rows(data, "fills", "orders/historical/fills")
            cursor = str(data.get("cursor") or "")
            if not cursor:
                break
        if any(str(r.get("order_id")) not in client_of for r in rows):
            for report in await self.orders(symbol, open_only=False):
                client_of.setdefault(report.venue_order_id, report.client_order_id)
        fills = [codec.fill(r, client_of.get(str(r.get("order_id")), ""), self._venue) for r in rows]
        return sorted((f for f in fills if f.ts_ns >= since_ns), key=lambda f: (f.ts_ns, f.execution_id))


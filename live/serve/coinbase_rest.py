"""Coinbase Advanced Trade REST served by the local venue (``--profile coinbase``): ``/api/v3/brokerage/*``.

The reads a Coinbase client makes, answered from the ``SimVenue`` in Advanced Trade's shapes
(``live.serve.coinbase_json``): ``accounts``, ``products``, ``products/{id}``, ``products/{id}/candles``
(``start``, ``end``, ``granularity`` required), ``orders/historical/batch`` (``order_status``,
``product_ids``, ``limit``, ``cursor``), ``orders/historical/{order_id}``, ``orders/historical/fills``
(``order_ids``, ``product_ids``), ``transaction_summary`` (the fee tier) and ``time``.

Every request but ``time`` must carry ``Authorization: Bearer <ES256 JWT>`` for a known key,
checked over the raw request (``live.coinbase.jwt_auth.verify_rest_jwt``: signature, time window,
and the ``uri`` claim naming this method, host and path). Refusals are Coinbase's:
``{"error", "error_details", "message"}`` with 401 (authentication), 400 (``INVALID_ARGUMENT``),
404 (``NOT_FOUND``), 429 (``RATE_LIMIT_EXCEEDED``, the profile's 30/s private limit) or, for a
request fault, the fault's status. Orders are placed over FIX; REST here only reads.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from multidict import MultiMapping

from harness.clock import Clock
from harness.contract import RateLimitedError, RetryableError, VenueError
from harness.money import from_fixed
from live.coinbase.jwt_auth import JwtRefused, jwt_uri, public_pem_of, verify_rest_jwt
from live.serve.actions import VenueActions
from live.serve.coinbase_json import (
    account_json,
    candle_json,
    fill_json,
    order_status_name,
    product_json,
    rfc3339_us,
    venue_order_json,
)
from live.serve.faults import ServeFaults
from sim.venue.venue import VenueOrder

__all__ = ["GRANULARITY_S", "CoinbaseRestError", "CoinbaseRestFront", "cdp_credentials"]

_NS = 1_000_000_000
_MAX_CANDLES = 350
GRANULARITY_S = {"ONE_MINUTE": 60, "FIVE_MINUTE": 300, "FIFTEEN_MINUTE": 900, "THIRTY_MINUTE": 1800,
                 "ONE_HOUR": 3600, "TWO_HOUR": 7200, "FOUR_HOUR": 14400, "SIX_HOUR": 21600, "ONE_DAY": 86400}
"""Candle granularities Advanced Trade names, in seconds."""

_REQUESTS = {"accounts": "get_balances", "products": "get_venue_info", "transaction_summary": "get_venue_info",
             "time": "get_server_time", "candles": "get_candles", "batch": "get_open_orders", "fills": "get_fills",
             "order": "get_order"}


class CoinbaseRestError(Exception):
    """A refusal in Coinbase's words: HTTP status, ``error`` code, message."""

    def __init__(self, status: int, error: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {error}: {message}")
        self.status, self.error, self.message = status, error, message
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        """The JSON answer."""
        return web.json_response({"error": self.error, "error_details": self.message, "message": self.message},
                                 status=self.status, headers=self.headers)


def _bad(message: str) -> CoinbaseRestError:
    return CoinbaseRestError(400, "INVALID_ARGUMENT", message)


def _fault_error(error: BaseException) -> CoinbaseRestError:
    if isinstance(error, RateLimitedError):
        return CoinbaseRestError(429, "RATE_LIMIT_EXCEEDED", error.message,
                                 {"Retry-After": str(int(error.retry_after_s.to_integral_value()))})
    if isinstance(error, VenueError):
        status = error.http_status or (503 if isinstance(error, RetryableError) else 500)
        return CoinbaseRestError(status, str(error.code or "INTERNAL"), error.message)
    return CoinbaseRestError(500, "INTERNAL", f"internal error ({type(error).__name__})")


class CoinbaseRestFront:
    """The ``/api/v3/brokerage`` routes of one venue (see the module docstring)."""

    def __init__(self, actions: VenueActions, keys: Mapping[str, str], faults: ServeFaults, clock: Clock) -> None:
        self.actions = actions
        self.venue = actions.venue
        self.keys = dict(keys)
        """CDP key name -> EC public key PEM."""
        self.faults = faults
        self.clock = clock

    def add_routes(self, app: web.Application) -> None:
        """Route ``GET /api/v3/brokerage/{tail}`` here (before any ``/api/v3/{tail}`` catch-all)."""
        app.router.add_get("/api/v3/brokerage/{tail:.*}", self._handle)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"].strip("/")
        try:
            handler, args, name = self._route(tail)
            if tail != "time":
                self._authenticate(request)
            self._limit(name)
            self._fault(name, before=True)
            result = handler(request.query, *args)
            self._fault(name, before=False)
        except CoinbaseRestError as refused:
            return refused.response()
        return web.json_response(result)

    def _route(self, tail: str) -> tuple[Any, tuple[str, ...], str]:
        parts = tail.split("/")
        fixed = {"accounts": self.accounts, "products": self.products, "time": self.time,
                 "transaction_summary": self.transaction_summary, "orders/historical/batch": self.orders,
                 "orders/historical/fills": self.fills}
        if tail in fixed:
            return fixed[tail], (), _REQUESTS[parts[-1]]
        if len(parts) == 2 and parts[0] == "products":
            return self.product, (parts[1],), "get_venue_info"
        if len(parts) == 3 and parts[0] == "products" and parts[2] == "candles":
            return self.candles, (parts[1],), "get_candles"
        if len(parts) == 3 and parts[:2] == ["orders", "historical"]:
            return self.order, (parts[2],), "get_order"
        raise CoinbaseRestError(404, "NOT_FOUND", f"no such endpoint: /api/v3/brokerage/{tail}")

    def _authenticate(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token:
            raise CoinbaseRestError(401, "UNAUTHENTICATED", "Unauthorized: no bearer token")
        uri = jwt_uri(request.method, request.host, request.rel_url.raw_path)
        try:
            verify_rest_jwt(token, self.keys, uri, self.clock.now_ns() // _NS)
        except JwtRefused as refused:
            raise CoinbaseRestError(401, "UNAUTHENTICATED", f"Unauthorized: {refused}") from None

    def _limit(self, name: str) -> None:
        decision = self.venue.limiter.check(self.clock.now_ns(), name)
        if not decision.allowed:
            raise CoinbaseRestError(decision.http_status, str(decision.code or "RATE_LIMIT_EXCEEDED"),
                                    decision.message or "Too many requests.", dict(decision.headers))

    def _fault(self, name: str, *, before: bool) -> None:
        now = self.clock.now_ns()
        for fault in self.faults.requests:
            error = fault.before_venue(name, now) if before else fault.after_venue(name, now)
            if error is not None:
                raise _fault_error(error)

    # ------------------------------------------------------------------ helpers

    def _product_id(self, product_id: str) -> str:
        if product_id not in self.venue.profile.symbols:
            raise CoinbaseRestError(404, "NOT_FOUND", f"product {product_id} not found")
        return product_id

    @staticmethod
    def _int(query: MultiMapping[str], name: str, default: int | None = None) -> int | None:
        text = query.get(name)
        if text is None or text == "":
            return default
        if not text.isdigit():
            raise _bad(f"{name} must be a non-negative integer, got {text!r}")
        return int(text)

    def _page(self, rows: list[dict[str, Any]], query: MultiMapping[str], key: str) -> dict[str, Any]:
        limit = self._int(query, "limit", 1000) or 1000
        start = self._int(query, "cursor", 0) or 0
        page = rows[start:start + limit]
        more = start + limit < len(rows)
        return {key: page, "has_next": more, "cursor": str(start + limit) if more else ""}

    def _last_price(self, symbol: str) -> Any:
        try:
            quote = self.venue.ticker(symbol)
        except VenueError:  # no market yet: the product has no price
            return None
        return from_fixed(quote.bid_price) if quote.bid_price > 0 else None

    # ------------------------------------------------------------------ endpoints

    def time(self, query: MultiMapping[str]) -> dict[str, str]:
        """``{"iso", "epochSeconds", "epochMillis"}``."""
        now = self.venue.now()
        return {"iso": rfc3339_us(now), "epochSeconds": str(now // _NS), "epochMillis": str(now // 1_000_000)}

    def accounts(self, query: MultiMapping[str]) -> dict[str, Any]:
        """Every currency's account."""
        rows = [account_json(b) for b in sorted(self.venue.balances().values(), key=lambda b: b.asset)]
        page = self._page(rows, query, "accounts")
        return {**page, "size": len(page["accounts"])}

    def products(self, query: MultiMapping[str]) -> dict[str, Any]:
        """Every product (``product_ids`` narrows the list)."""
        wanted = query.getall("product_ids", [])
        rows = [product_json(rules, self._last_price(symbol)) for symbol, rules in self.venue.profile.symbols.items()
                if not wanted or symbol in wanted]
        return {"products": rows, "num_products": len(rows)}

    def product(self, query: MultiMapping[str], product_id: str) -> dict[str, Any]:
        """One product."""
        symbol = self._product_id(product_id)
        return product_json(self.venue.profile.symbols[symbol], self._last_price(symbol))

    def transaction_summary(self, query: MultiMapping[str]) -> dict[str, Any]:
        """The key's fee tier (the profile's fees)."""
        fees = self.venue.profile.fees
        return {"total_volume": 0, "total_fees": 0, "fee_tier": {
            "pricing_tier": "Intro 1", "usd_from": "0", "usd_to": "1000", "taker_fee_rate": str(fees.taker),
            "maker_fee_rate": str(fees.maker)}}

    def candles(self, query: MultiMapping[str], product_id: str) -> dict[str, Any]:
        """Bars of the venue's tape between ``start`` and ``end`` (UNIX seconds), newest first."""
        symbol = self._product_id(product_id)
        name = query.get("granularity", "")
        if name not in GRANULARITY_S:
            raise _bad(f"granularity must be one of {sorted(GRANULARITY_S)}, got {name!r}")
        start, end = self._int(query, "start"), self._int(query, "end")
        if start is None or end is None:
            raise _bad("start and end are required (UNIX seconds)")
        seconds = GRANULARITY_S[name]
        if end < start or (end - start) // seconds + 1 > _MAX_CANDLES:
            raise _bad(f"the range from start to end must cover at most {_MAX_CANDLES} candles")
        limit = min(self._int(query, "limit", _MAX_CANDLES) or _MAX_CANDLES, _MAX_CANDLES)
        now = min(self.venue.now(), end * _NS)
        bars = [c for c in self.venue.candles.candles(symbol, seconds * _NS, _MAX_CANDLES, now)
                if c.ts_open >= start * _NS - start * _NS % (seconds * _NS)]
        return {"candles": [candle_json(c) for c in reversed(bars)][:limit]}

    def _order_json(self, order: VenueOrder) -> dict[str, Any]:
        return venue_order_json(order, self.actions.fills_of(order.request.client_order_id))

    def orders(self, query: MultiMapping[str]) -> dict[str, Any]:
        """The key's orders, newest first (``order_status`` and ``product_ids`` filter, repeatable)."""
        statuses = set(query.getall("order_status", []))
        products = set(query.getall("product_ids", []))
        rows = [self._order_json(o) for o in reversed(list(self.venue.orders.values()))
                if (not statuses or order_status_name(o.status) in statuses)
                and (not products or o.request.symbol in products)]
        return {**self._page(rows, query, "orders"), "sequence": "0"}

    def order(self, query: MultiMapping[str], order_id: str) -> dict[str, Any]:
        """One order by its id (404 ``NOT_FOUND``)."""
        order = next((o for o in self.venue.orders.values() if o.venue_order_id == order_id), None)
        if order is None:
            raise CoinbaseRestError(404, "NOT_FOUND", f"order with this orderID was not found: {order_id}")
        return {"order": self._order_json(order)}

    def fills(self, query: MultiMapping[str]) -> dict[str, Any]:
        """The key's fills, newest first (``order_ids`` and ``product_ids`` filter, repeatable)."""
        order_ids = set(query.getall("order_ids", []))
        products = set(query.getall("product_ids", []))
        rows = [fill_json(f, self.actions.trade_ids) for f in reversed(self.venue.fills)
                if (not order_ids or f.venue_order_id in order_ids) and (not products or f.symbol in products)]
        page = self._page(rows, query, "fills")
        return {"fills": page["fills"], "cursor": page["cursor"]}


def cdp_credentials(key_dir: Path | None = None) -> tuple[dict[str, str], list[str]]:
    """A CDP key made for one local venue run: the venue keeps the public key; the EC private key's PEM
    is written (mode 0600) to a file whose path is announced, never printed (``harness venue serve``)."""
    name = f"organizations/local/apiKeys/{secrets.token_hex(8)}"
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    folder = key_dir or Path(tempfile.mkdtemp(prefix="harness-cdp-"))
    path = folder / f"{name.rsplit('/', 1)[1]}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return {name: public_pem_of(pem.decode("ascii"))}, [
        f"Advanced Trade REST key {name}, EC private key in {path} (generated for this local venue only)"]

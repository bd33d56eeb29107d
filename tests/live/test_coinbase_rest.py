"""Coinbase Advanced Trade REST: the ES256 JWT, the local venue's ``/api/v3/brokerage`` answers and refusals,
the adapter's account and venue queries over it, and what a malformed answer gives."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fix_venue_helpers import CB_KEY, CB_PASSPHRASE, CB_SECRET, fix_venue

from harness.clock import ScaledClock
from harness.contract import (
    ExchangeError,
    FatalError,
    InvalidRequestError,
    OrderNotFoundError,
    RateLimitedError,
)
from harness.model import Aggressor, OrderRequest, OrderStatus, OrderType, Side, VenueMode
from harness.registry import Credentials, ProductionNotAllowedError
from live.coinbase import CoinbaseAdapter, CoinbaseRest, CoinbaseRestEndpoint
from live.coinbase.jwt_auth import JwtRefused, jwt_uri, load_ec_private_key, public_pem_of, rest_jwt, verify_rest_jwt
from live.fix.order_entry import FixEndpoint
from live.serve import LocalVenue
from live.serve.faults import FailRequests, ServeFaults

_NS = 1_000_000_000
BID, ASK = Decimal(60000), Decimal("60000.10")


def _pem(scalar: int) -> str:
    return ec.derive_private_key(scalar, ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode("ascii")


KEY, PEM, OTHER_PEM = "organizations/test/apiKeys/k1", _pem(0xC0FFEE_0001), _pem(0xC0FFEE_0002)


def _adapter(venue: LocalVenue, pem: str = PEM, sender: str = "CB1") -> CoinbaseAdapter:
    assert venue.fix is not None
    endpoint = FixEndpoint("127.0.0.1", venue.fix.port, sender, logon_timeout_ns=60 * _NS, answer_timeout_ns=60 * _NS)
    return CoinbaseAdapter(endpoint, Credentials(CB_KEY, CB_SECRET, CB_PASSPHRASE), f"{venue.ws_url}/", venue.clock,
                           rest=CoinbaseRestEndpoint.local(venue.rest_url), rest_credentials=Credentials(KEY, pem))


@asynccontextmanager
async def _venue(**config: Any) -> AsyncIterator[LocalVenue]:
    async with fix_venue(profile="coinbase", coinbase_keys={KEY: public_pem_of(PEM)}, **config) as venue:
        venue.quote("BTC-USD", BID, ASK)
        yield venue


# ---------------------------------------------------------------------------------------------- the JWT


def test_jwt_verifies_for_its_request_only_and_only_while_fresh() -> None:
    key = load_ec_private_key(PEM)
    uri = jwt_uri("GET", "api.coinbase.com", "/api/v3/brokerage/accounts?limit=5")
    assert uri == "GET api.coinbase.com/api/v3/brokerage/accounts"
    token = rest_jwt(KEY, key, uri, 1_700_000_000, "00ff")
    keys = {KEY: public_pem_of(PEM)}
    assert verify_rest_jwt(token, keys, uri, 1_700_000_060) == KEY
    refusals = {
        "another request": (token, jwt_uri("GET", "api.coinbase.com", "/api/v3/brokerage/products"), 1_700_000_001),
        "expired": (token, uri, 1_700_000_120),
        "unknown key": (rest_jwt("someone-else", key, uri, 1_700_000_000, "01"), uri, 1_700_000_001),
        "wrong signer": (rest_jwt(KEY, load_ec_private_key(OTHER_PEM), uri, 1_700_000_000, "02"), uri, 1_700_000_001),
        "tampered": (token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"), uri, 1_700_000_001),
    }
    for why, (bad, for_uri, now) in refusals.items():
        with pytest.raises(JwtRefused):
            verify_rest_jwt(bad, keys, for_uri, now)
            pytest.fail(why)


def test_sandbox_endpoints_never_name_production() -> None:
    assert CoinbaseRestEndpoint.sandbox().mode is VenueMode.SANDBOX
    with pytest.raises(Exception, match=r"(?i)sandbox|allow"):
        CoinbaseRestEndpoint("https://api.coinbase.com", VenueMode.SANDBOX)
    with pytest.raises(ProductionNotAllowedError):
        CoinbaseRestEndpoint.production()
    assert CoinbaseRestEndpoint.production(allow_production=True).url == "https://api.coinbase.com"


# ---------------------------------------------------------------------------------------------- the served REST


def test_served_answers_have_advanced_trades_shapes_and_refuse_without_a_valid_jwt() -> None:
    async def main() -> None:
        async with _venue() as venue:
            rest = CoinbaseRest(CoinbaseRestEndpoint.local(venue.rest_url), Credentials(KEY, PEM), venue.clock)
            try:
                accounts = (await rest.get("/accounts"))["accounts"]
                usd = next(a for a in accounts if a["currency"] == "USD")
                assert set(usd) >= {"uuid", "currency", "available_balance", "hold", "type", "ready"}
                assert Decimal(usd["available_balance"]["value"]) == Decimal(1_000_000)
                product = await rest.get("/products/BTC-USD")
                assert (product["price_increment"], product["base_increment"], product["quote_min_size"]) == (
                    "0.01", "0.00000001", "5")
                assert (await rest.get("/products"))["num_products"] == 1
                stamp = await rest.get("/time")
                assert set(stamp) == {"iso", "epochSeconds", "epochMillis"}
                with pytest.raises(InvalidRequestError, match="granularity"):
                    await rest.get("/products/BTC-USD/candles", [("start", "0"), ("end", "60"),
                                                                 ("granularity", "NINETY_SECONDS")])
                with pytest.raises(OrderNotFoundError):
                    await rest.get("/orders/historical/no-such-order")
                with pytest.raises(InvalidRequestError):
                    await rest.get("/products/DOGE-XYZ")
            finally:
                await rest.close()
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{venue.rest_url}/api/v3/brokerage/accounts") as answer:
                    assert answer.status == 401
                    assert (await answer.json())["error"] == "UNAUTHENTICATED"
                token = rest_jwt(KEY, load_ec_private_key(PEM),
                                 jwt_uri("GET", f"127.0.0.1:{venue.port}", "/api/v3/brokerage/products"),
                                 venue.clock.now_ns() // _NS, "aa")
                async with session.get(f"{venue.rest_url}/api/v3/brokerage/accounts",
                                       headers={"Authorization": f"Bearer {token}"}) as answer:
                    assert answer.status == 401  # signed for /products, sent to /accounts
                    assert "another request" in (await answer.json())["message"]

    asyncio.run(main())


def test_a_key_the_venue_does_not_know_is_fatal_and_the_secret_is_never_in_the_error() -> None:
    async def main() -> None:
        async with _venue() as venue:
            rest = CoinbaseRest(CoinbaseRestEndpoint.local(venue.rest_url), Credentials(KEY, OTHER_PEM), venue.clock)
            try:
                with pytest.raises(FatalError) as refused:
                    await rest.get("/accounts")
            finally:
                await rest.close()
            text = str(refused.value)
            assert "Unauthorized" in text and "PRIVATE KEY" not in text and KEY not in text

    asyncio.run(main())


def test_a_rate_limited_answer_is_rate_limited_with_its_wait() -> None:
    fault = FailRequests("get_balances", lambda: RateLimitedError("Too many requests.", retry_after_s=Decimal(3)))

    async def main() -> None:
        async with _venue(faults=ServeFaults(requests=[fault])) as venue:
            rest = CoinbaseRest(CoinbaseRestEndpoint.local(venue.rest_url), Credentials(KEY, PEM), venue.clock)
            try:
                with pytest.raises(RateLimitedError) as limited:
                    await rest.get("/accounts")
                assert limited.value.retry_after_s == 3 and limited.value.http_status == 429
                assert (await rest.get("/accounts"))["accounts"]  # the fault struck once
            finally:
                await rest.close()

    asyncio.run(main())


# ---------------------------------------------------------------------------------------------- malformed answers


@asynccontextmanager
async def _answering(bodies: dict[str, str]) -> AsyncIterator[str]:
    async def handle(request: web.Request) -> web.Response:
        return web.Response(text=bodies[request.match_info["tail"]], content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/v3/brokerage/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def test_a_malformed_answer_is_an_exchange_error_naming_what_is_wrong() -> None:
    bodies = {"time": "<html>gateway</html>", "accounts": json.dumps({"accounts": [{"currency": "BTC"}]}),
              "products": json.dumps({"products": [{"product_id": "BTC-USD", "base_currency_id": "BTC",
                                                    "quote_currency_id": "USD", "price_increment": "a tenth",
                                                    "base_increment": "0.1", "base_min_size": "0",
                                                    "base_max_size": "9"}]}),
              "transaction_summary": json.dumps({"fee_tier": {"maker_fee_rate": "0", "taker_fee_rate": "0"}})}

    async def main() -> None:
        async with _answering(bodies) as url:
            fix = FixEndpoint("127.0.0.1", 1, "CB1")
            adapter = CoinbaseAdapter(fix, Credentials(CB_KEY, CB_SECRET, CB_PASSPHRASE), "ws://127.0.0.1:1/",
                                      ScaledClock(1), rest=CoinbaseRestEndpoint.local(url),
                                      rest_credentials=Credentials(KEY, PEM))
            adapter._connected = True  # REST only: no FIX session or WebSocket behind this fake
            assert adapter.rest is not None
            try:
                with pytest.raises(ExchangeError, match="GET /api/v3/brokerage/time: the answer is not JSON"):
                    await adapter.get_server_time()
                with pytest.raises(ExchangeError, match=r"accounts\[0\]: field 'available_balance' is missing"):
                    await adapter.get_balances()
                with pytest.raises(ExchangeError, match=r"products\[0\]: field 'price_increment' is not a decimal"):
                    await adapter.get_venue_info()
            finally:
                await adapter.rest.rest.close()

    asyncio.run(main())


# ---------------------------------------------------------------------------------------------- the adapter


def test_orders_and_fills_of_an_earlier_session_come_from_the_venue() -> None:
    async def main() -> None:
        async with _venue() as venue:
            first = _adapter(venue, sender="CB1")
            await first.connect()
            try:
                resting = OrderRequest("cb-rest-1", "coinbase", "BTC-USD", Side.BUY, OrderType.LIMIT,
                                       Decimal("0.01"), price=BID - 10)
                await first.submit_order(resting)
                await first.submit_order(OrderRequest("cb-mkt-1", "coinbase", "BTC-USD", Side.SELL, OrderType.MARKET,
                                                      Decimal("0.01")))
                await first.sync_streams("BTC-USD")
                pushed = await first.get_fills("BTC-USD")
            finally:
                await first.disconnect()
            second = _adapter(venue, sender="CB2")
            await second.connect()
            try:
                order = await second.get_order("BTC-USD", "cb-rest-1")
                assert (order.status, order.price, order.quantity) == (OrderStatus.OPEN, BID - 10, Decimal("0.01"))
                assert [o.client_order_id for o in await second.get_open_orders("BTC-USD")] == ["cb-rest-1"]
                fills = await second.get_fills("BTC-USD")
                assert fills == pushed and [f.client_order_id for f in fills] == ["cb-mkt-1"]
                assert fills[0].price == BID and fills[0].fee > 0
                with pytest.raises(OrderNotFoundError):
                    await second.get_order("BTC-USD", "cb-never-sent")
                balances = await second.get_balances()
                assert balances["BTC"].total == Decimal("9.99") and balances["USD"].locked > 0
                venue.trade("BTC-USD", BID, Decimal("0.5"), Aggressor.BUYER)
                info = await second.get_venue_info()
                assert info.symbols["BTC-USD"].min_notional == 5 and info.fees.taker == Decimal("0.012")
                status = await second.get_rate_limit_status()
                assert status.usage["PRIVATE_REST"][1:] == (30, 1)
            finally:
                await second.disconnect()

    asyncio.run(main())

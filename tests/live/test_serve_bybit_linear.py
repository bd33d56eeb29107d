"""The local venue's Bybit v5 front serving a perpetual profile (category ``linear``), from the wire.

Raw HTTP and WebSocket clients on 127.0.0.1 against ``bybit-linear``: only category ``linear`` is
served (``spot`` is 10001, and a spot venue has no positions), ``/v5/position/list`` needs a
symbol or the settle coin and lists a flat symbol as Bybit does, ``set-leverage`` and
``switch-isolated`` answer Bybit's codes (110043, 110026, 10001), the wallet is the margin account
of ``UNIFIED`` or ``CONTRACT``, the public WS is ``/v5/public/linear``, and a fill is pushed on the
private WS as the execution first, then the position.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from local_venue_helpers import API_KEY, SECRET

from harness.clock import ScaledClock
from live.serve.bybit import BybitLocalVenue, BybitVenueConfig
from live.signing import bybit_v5_headers, bybit_ws_auth_signature
from sim.venue.futures_venue import FuturesVenue

S = "BTCUSDT"


@asynccontextmanager
async def served(profile: str = "bybit-linear") -> AsyncIterator[tuple[BybitLocalVenue, aiohttp.ClientSession]]:
    venue = BybitLocalVenue(BybitVenueConfig(profile=profile, api_keys={API_KEY: SECRET}, clock=ScaledClock(1),
                                             first_push_delay_ns=0))
    await venue.start()
    venue.quote(S, Decimal("60000"), Decimal("60000.1"))
    try:
        async with aiohttp.ClientSession() as session:
            yield venue, session
    finally:
        await venue.stop()


def _headers(venue: BybitLocalVenue, payload: str) -> dict[str, str]:
    return bybit_v5_headers(SECRET, timestamp_ms=venue.clock.now_ns() // 1_000_000, api_key=API_KEY,
                            payload=payload)


async def post(venue: BybitLocalVenue, session: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> Any:
    text = json.dumps(body)
    async with session.post(f"{venue.rest_url}{path}", data=text,
                            headers={**_headers(venue, text), "Content-Type": "application/json"}) as r:
        assert r.status == 200
        return await r.json()


async def get(venue: BybitLocalVenue, session: aiohttp.ClientSession, path: str, query: str) -> Any:
    async with session.get(f"{venue.rest_url}{path}?{query}", headers=_headers(venue, query)) as r:
        assert r.status == 200
        return await r.json()


def test_only_linear_is_served_and_positions_list_as_bybit_lists_them() -> None:
    async def body() -> None:
        async with served() as (venue, session):
            spot = await get(venue, session, "/v5/order/realtime", "category=spot")
            assert spot["retCode"] == 10001
            assert (await get(venue, session, "/v5/position/list", "category=linear"))["retCode"] == 10001
            flat = await get(venue, session, "/v5/position/list", f"category=linear&symbol={S}")
            [row] = flat["result"]["list"]
            assert (row["side"], row["size"], row["positionIdx"], row["tradeMode"], row["leverage"]) == (
                "", "0", 0, 0, str(venue.profile.futures.default_leverage if venue.profile.futures else 0))
            none = await get(venue, session, "/v5/position/list", "category=linear&settleCoin=USDT")
            assert none["result"]["list"] == []
            tickers = await get(venue, session, "/v5/market/tickers", f"category=linear&symbol={S}")
            [ticker] = tickers["result"]["list"]
            assert (ticker["bid1Price"], ticker["markPrice"], ticker["fundingRate"]) == ("60000", "60000.05", "0.0001")
            assert int(ticker["nextFundingTime"]) % (8 * 3600 * 1000) == 0
            [info] = (await get(venue, session, "/v5/market/instruments-info", "category=linear"))["result"]["list"]
            assert (info["lotSizeFilter"]["qtyStep"], info["lotSizeFilter"]["minNotionalValue"],
                    info["fundingInterval"]) == ("0.001", "5", 480)
        async with served("bybit") as (venue, session):
            refused = await get(venue, session, "/v5/position/list", f"category=spot&symbol={S}")
            assert refused["retCode"] == 10001 and "no positions" in refused["retMsg"]

    asyncio.run(body())


def test_leverage_and_margin_mode_answer_bybits_codes() -> None:
    async def body() -> None:
        async with served() as (venue, session):
            base = {"category": "linear", "symbol": S}
            assert (await post(venue, session, "/v5/position/set-leverage",
                               {**base, "buyLeverage": "3", "sellLeverage": "4"}))["retCode"] == 10001
            assert (await post(venue, session, "/v5/position/set-leverage",
                               {**base, "buyLeverage": "3", "sellLeverage": "3"}))["retCode"] == 0
            again = await post(venue, session, "/v5/position/set-leverage",
                               {**base, "buyLeverage": "3", "sellLeverage": "3"})
            assert (again["retCode"], again["retMsg"]) == (110043, "Set leverage not modified")
            same = await post(venue, session, "/v5/position/switch-isolated",
                              {**base, "tradeMode": 0, "buyLeverage": "3", "sellLeverage": "3"})
            assert same["retCode"] == 110026
            bad = await post(venue, session, "/v5/position/switch-isolated",
                             {**base, "tradeMode": 2, "buyLeverage": "3", "sellLeverage": "3"})
            assert bad["retCode"] == 10001
            switched = await post(venue, session, "/v5/position/switch-isolated",
                                  {**base, "tradeMode": 1, "buyLeverage": "3", "sellLeverage": "3"})
            assert switched["retCode"] == 0
            [row] = (await get(venue, session, "/v5/position/list", f"category=linear&symbol={S}"))["result"]["list"]
            assert (row["tradeMode"], row["leverage"]) == (1, "3")

    asyncio.run(body())


def test_the_wallet_is_the_margin_account() -> None:
    async def body() -> None:
        async with served() as (venue, session):
            await post(venue, session, "/v5/order/create", {"category": "linear", "symbol": S, "side": "Buy",
                                                            "orderType": "Limit", "qty": "0.01", "price": "59000"})
            for account in ("UNIFIED", "CONTRACT"):
                answer = await get(venue, session, "/v5/account/wallet-balance", f"accountType={account}")
                [wallet] = answer["result"]["list"]
                [coin] = wallet["coin"]
                usdt = venue.venue.balances()["USDT"]
                assert (wallet["accountType"], coin["coin"], Decimal(coin["walletBalance"])) == (
                    account, "USDT", usdt.total)
                assert Decimal(coin["totalOrderIM"]) == usdt.locked == Decimal("59000") * Decimal("0.01") / 10
                assert coin["totalPositionIM"] == "0" and coin["locked"] == "0"
            spot = await get(venue, session, "/v5/account/wallet-balance", "accountType=SPOT")
            assert spot["retCode"] == 10001

    asyncio.run(body())


def test_public_linear_ws_and_a_fill_pushed_as_execution_then_position() -> None:
    async def body() -> None:
        async with served() as (venue, session):
            assert venue.public_ws_url.endswith("/v5/public/linear")
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await session.ws_connect(f"{venue.ws_url}/v5/public/spot")
            async with session.ws_connect(venue.public_ws_url) as public:
                await public.send_json({"op": "subscribe", "args": [f"orderbook.1.{S}"]})
                assert (await public.receive_json(timeout=10))["success"] is True
                snapshot = await public.receive_json(timeout=10)
                assert (snapshot["type"], snapshot["data"]["b"][0][0]) == ("snapshot", "60000")
            async with session.ws_connect(venue.private_ws_url) as private:
                expires = venue.clock.now_ns() // 1_000_000 + 10_000
                await private.send_json({"op": "auth", "args": [API_KEY, expires,
                                                                bybit_ws_auth_signature(SECRET, expires)]})
                assert (await private.receive_json(timeout=10))["success"] is True
                await private.send_json({"op": "subscribe", "args": ["execution", "position"]})
                assert (await private.receive_json(timeout=10))["success"] is True
                placed = await post(venue, session, "/v5/order/create",
                                    {"category": "linear", "symbol": S, "side": "Sell", "orderType": "Market",
                                     "qty": "0.02", "orderLinkId": "wire-short"})
                assert placed["retCode"] == 0
                execution = await private.receive_json(timeout=10)
                position = await private.receive_json(timeout=10)
            assert (execution["topic"], execution["data"][0]["category"]) == ("execution", "linear")
            assert position["topic"] == "position"
            [row] = position["data"]
            assert (row["symbol"], row["side"], row["size"], row["avgPrice"]) == (S, "Sell", "0.02", "60000")
            assert isinstance(venue.venue, FuturesVenue)
            assert Decimal(row["positionIM"]) == venue.venue.position_margin[S]

    asyncio.run(body())

"""The local venue's Bybit v5 front seen from the wire: envelopes, headers, acks, auth and the first-message hold.

Raw HTTP and WebSocket clients on 127.0.0.1 check what a Bybit client relies on: the
``{"retCode", "retMsg", "result", "retExtInfo", "time"}`` envelope with HTTP 200 for refusals too,
the rate-limit headers on order entry, the subscribe acknowledgement's fields, a public
subscription's first message held back by the configured delay (measured on the venue's clock),
and the private stream refusing topics before a valid ``auth``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import aiohttp
from local_venue_helpers import API_KEY, ASK, BID, SECRET

from harness.clock import ScaledClock
from live.serve.bybit import BybitLocalVenue, BybitVenueConfig
from live.signing import bybit_v5_headers, bybit_ws_auth_signature


@asynccontextmanager
async def served(delay_ns: int = 150_000_000) -> AsyncIterator[BybitLocalVenue]:
    venue = BybitLocalVenue(BybitVenueConfig(api_keys={API_KEY: SECRET}, clock=ScaledClock(1),
                                             first_push_delay_ns=delay_ns))
    await venue.start()
    venue.quote("BTCUSDT", BID, ASK)
    try:
        yield venue
    finally:
        await venue.stop()


async def _post(session: aiohttp.ClientSession, venue: BybitLocalVenue, path: str,
                body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
    text = json.dumps(body)
    headers = bybit_v5_headers(SECRET, timestamp_ms=venue.clock.now_ns() // 1_000_000, api_key=API_KEY, payload=text)
    async with session.post(f"{venue.rest_url}{path}", data=text, headers={**headers,
                                                                           "Content-Type": "application/json"}) as r:
        return r.status, dict(r.headers), await r.json()


def test_envelopes_codes_and_limit_headers() -> None:
    async def body() -> None:
        async with served() as venue, aiohttp.ClientSession() as session:
            async with session.get(f"{venue.rest_url}/v5/market/time") as r:
                answer = await r.json()
            assert set(answer) == {"retCode", "retMsg", "result", "retExtInfo", "time"} and answer["retCode"] == 0
            assert set(answer["result"]) == {"timeSecond", "timeNano"}
            order = {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
                     "price": "59000", "orderLinkId": "wire-1"}
            status, headers, placed = await _post(session, venue, "/v5/order/create", order)
            assert status == 200 and placed["retCode"] == 0 and set(placed["result"]) == {"orderId", "orderLinkId"}
            assert headers["X-Bapi-Limit"] == "20" and headers["X-Bapi-Limit-Status"] == "19"
            assert int(headers["X-Bapi-Limit-Reset-Timestamp"]) > placed["time"] - 1000
            status, _, again = await _post(session, venue, "/v5/order/create", order)
            assert (status, again["retCode"], again["result"]) == (200, 170141, {})
            status, _, missing = await _post(session, venue, "/v5/order/cancel",
                                             {"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "never"})
            assert (status, missing["retCode"]) == (200, 170213)
            async with session.get(f"{venue.rest_url}/v5/order/realtime?category=spot") as r:  # unsigned
                assert (await r.json())["retCode"] == 10003

    asyncio.run(body())


def test_a_public_subscription_is_acknowledged_then_its_first_message_is_held() -> None:
    delay = 300_000_000

    async def body() -> None:
        async with served(delay) as venue, aiohttp.ClientSession() as session, \
                session.ws_connect(f"{venue.ws_url}/v5/public/spot") as ws:
            await ws.send_str(json.dumps({"op": "subscribe", "req_id": "r1", "args": ["orderbook.50.BTCUSDT"]}))
            ack = json.loads((await ws.receive()).data)
            acked_at = venue.clock.now_ns()
            assert {k: ack[k] for k in ("success", "ret_msg", "req_id", "op")} == {
                "success": True, "ret_msg": "", "req_id": "r1", "op": "subscribe"} and ack["conn_id"]
            snapshot = json.loads((await ws.receive()).data)
            assert venue.clock.now_ns() - acked_at >= delay - 20_000_000  # held (ms stamps: a little slack)
            assert snapshot["type"] == "snapshot" and snapshot["data"]["u"] == 1
            assert snapshot["data"]["b"] == [["60000", "2"]] and snapshot["data"]["a"] == [["60000.1", "2"]]
            venue.quote("BTCUSDT", BID, ASK + Decimal("0.1"))
            delta = json.loads((await ws.receive()).data)
            assert delta["type"] == "delta" and delta["data"]["u"] == 2
            assert delta["data"]["a"] == [["60000.1", "0"], ["60000.2", "2"]]
            await ws.send_str(json.dumps({"op": "subscribe", "req_id": "r2", "args": ["orderbook.7.BTCUSDT"]}))
            refused = json.loads((await ws.receive()).data)
            assert refused["success"] is False and refused["req_id"] == "r2"

    asyncio.run(body())


def test_private_topics_need_a_valid_auth_first() -> None:
    async def body() -> None:
        async with served() as venue, aiohttp.ClientSession() as session, \
                session.ws_connect(f"{venue.ws_url}/v5/private") as ws:
            async def ask(message: dict[str, Any]) -> dict[str, Any]:
                await ws.send_str(json.dumps(message))
                answer: dict[str, Any] = json.loads((await ws.receive()).data)
                return answer

            early = await ask({"op": "subscribe", "req_id": "s0", "args": ["order"]})
            assert early["success"] is False
            expires = venue.clock.now_ns() // 1_000_000 + 10_000
            wrong = await ask({"op": "auth", "req_id": "a0", "args": [API_KEY, expires, "00" * 32]})
            assert wrong["success"] is False and wrong["op"] == "auth"
            stale = await ask({"op": "auth", "req_id": "a1",
                               "args": [API_KEY, expires - 20_000, bybit_ws_auth_signature(SECRET, expires - 20_000)]})
            assert stale["success"] is False
            good = await ask({"op": "auth", "req_id": "a2",
                              "args": [API_KEY, expires, bybit_ws_auth_signature(SECRET, expires)]})
            assert good["success"] is True and good["req_id"] == "a2"
            ok = await ask({"op": "subscribe", "req_id": "s1", "args": ["order", "execution"]})
            assert ok["success"] is True

    asyncio.run(body())

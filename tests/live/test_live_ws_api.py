"""live.ws.api over 127.0.0.1: id correlation, signed requests, typed errors, timeouts, drops, pushes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from decimal import Decimal
from typing import Any

import pytest
from live_testing import FAST_BACKOFF, ScaledClock, until
from live_ws_server import Peer, WsServer

from harness.clock import NS_PER_SECOND as S
from harness.clock import WallClock
from harness.contract import AmbiguousError, DuplicateOrderError, RateLimitedError, RetryableError, VenueError
from harness.registry import Credentials
from live.signing import ParamValue
from live.ws import WsApiClient, WsSettings

KEY, SECRET = "ws-key-abcdefgh12345678", "ws-secret-87654321hgfedcba"
SETTINGS = WsSettings(ping_interval_ns=None, max_age_ns=None, backoff=FAST_BACKOFF)


class Venue:
    """WS API answers: time, signature-checked order.place, echo (answered in reverse order), silence."""

    def __init__(self, server: WsServer) -> None:
        self.server = server
        self.held: list[tuple[Peer, dict[str, Any]]] = []
        self.verified: list[dict[str, str]] = []
        server.api = self.answer

    async def reply(self, peer: Peer, body: dict[str, Any]) -> None:
        await peer.ws.send(json.dumps(body))

    async def answer(self, peer: Peer, request: dict[str, Any]) -> None:
        rid, method, params = request["id"], request["method"], request.get("params", {})
        if method == "time":
            await self.reply(peer, {"id": rid, "status": 200, "result": {"serverTime": time.time_ns() // 1_000_000}})
        elif method == "order.place":
            unsigned = {k: v for k, v in params.items() if k != "signature"}
            payload = "&".join(f"{k}={unsigned[k]}" for k in sorted(unsigned))
            good = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest() == params["signature"]
            if not good or params.get("apiKey") != KEY:
                await self.reply(peer, {"id": rid, "status": 400, "error": {"code": -1022, "msg": "bad signature"}})
            elif params["symbol"] == "DUP":
                await self.reply(peer, {"id": rid, "status": 400,
                                        "error": {"code": -2010, "msg": "Duplicate order sent."}})
            elif params["symbol"] == "HOT":
                await self.reply(peer, {"id": rid, "status": 429, "error": {"code": -1003, "msg": "Too many"}})
            else:
                self.verified.append(params)
                await self.reply(peer, {"id": rid, "status": 200, "result": {"orderId": len(self.verified)}})
        elif method == "echo":
            self.held.append((peer, request))
            if len(self.held) == 3:
                for held_peer, held in reversed(self.held):
                    await self.reply(held_peer, {"id": held["id"], "status": 200, "result": held["params"]})
                self.held.clear()
        elif method == "userDataStream.subscribe":
            await self.reply(peer, {"id": rid, "status": 200, "result": {"subscriptionId": 0}})
            await self.reply(peer, {"subscriptionId": 0, "event": {"e": "executionReport", "c": "cid-9"}})
        elif method == "drop":
            self.server.drop()
        # "silent": never answered


async def session(clock: WallClock | None = None, timeout_ns: int = 5 * S,
                  pushes: list[Any] | None = None) -> tuple[WsServer, Venue, WsApiClient]:
    server = WsServer()
    await server.start()
    venue = Venue(server)
    client = WsApiClient("api", server.url("/ws-api/v3"), clock=clock or WallClock(),
                         credentials=Credentials(KEY, SECRET), settings=SETTINGS, timeout_ns=timeout_ns,
                         on_push=None if pushes is None else pushes.append)
    await client.start()
    # 5 wall-clock seconds whatever the clock's scale: an upper bound, not a speed check
    assert await client.connection.wait_open(5 * S * getattr(clock, "scale", 1))
    return server, venue, client


def test_answers_out_of_order_are_matched_by_id() -> None:
    async def main() -> None:
        server, _, client = await session()
        results = await asyncio.gather(*(client.request("echo", {"n": n}) for n in range(3)))
        assert results == [{"n": 0}, {"n": 1}, {"n": 2}]
        await client.close()
        await server.stop()

    asyncio.run(main())


def test_signed_request_is_accepted_and_errors_are_typed() -> None:
    async def main() -> None:
        server, venue, client = await session()
        await client.sync_time()
        params: dict[str, ParamValue] = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                                         "quantity": Decimal("0.01000000"), "price": Decimal("52000.00")}
        assert await client.request("order.place", params, signed=True, order_entry=True) == {"orderId": 1}
        assert venue.verified[0]["apiKey"] == KEY and venue.verified[0]["price"] == "52000.00"
        with pytest.raises(DuplicateOrderError):
            await client.request("order.place", {**params, "symbol": "DUP"}, signed=True, order_entry=True)
        with pytest.raises(RateLimitedError) as info:
            await client.request("order.place", {**params, "symbol": "HOT"}, signed=True, order_entry=True)
        assert KEY not in str(info.value) and SECRET not in str(info.value)
        await client.close()
        await server.stop()

    asyncio.run(main())


@pytest.mark.parametrize(("order_entry", "cls"), [(True, AmbiguousError), (False, RetryableError)])
def test_no_answer_in_time_is_ambiguous_only_for_order_entry(order_entry: bool, cls: type[VenueError]) -> None:
    async def main() -> None:
        server, _, client = await session(clock=ScaledClock(), timeout_ns=10 * S)  # 10 virtual s = 10 ms
        with pytest.raises(VenueError) as info:
            await client.request("silent", order_entry=order_entry)
        assert type(info.value) is cls
        await client.close()
        await server.stop()

    asyncio.run(main())


def test_a_drop_fails_the_requests_in_flight_and_a_request_made_while_down_waits() -> None:
    async def main() -> None:
        server, _, client = await session()
        with pytest.raises(AmbiguousError, match="dropped"):
            await client.request("drop", order_entry=True)
        await until(lambda: not client.connection.health().connected, "the drop noticed")
        pending = asyncio.create_task(client.request("time"))
        result = await pending  # buffered, sent after the reconnect, answered there
        assert isinstance(result, dict) and "serverTime" in result
        assert client.connection.health().reconnects == 1
        await client.close()
        await server.stop()

    asyncio.run(main())


def test_messages_without_a_request_id_go_to_on_push() -> None:
    async def main() -> None:
        pushes: list[Any] = []
        server, _, client = await session(pushes=pushes)
        assert await client.request("userDataStream.subscribe") == {"subscriptionId": 0}
        await until(lambda: pushes, "the pushed event")
        assert pushes == [{"subscriptionId": 0, "event": {"e": "executionReport", "c": "cid-9"}}]
        await client.close()
        await server.stop()

    asyncio.run(main())


def test_signed_request_needs_credentials() -> None:
    async def main() -> None:
        client = WsApiClient("api", "ws://127.0.0.1:1/ws-api/v3", clock=WallClock(), settings=SETTINGS)
        with pytest.raises(ValueError, match="credentials"):
            await client.request("order.place", {}, signed=True)

    asyncio.run(main())

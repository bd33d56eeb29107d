"""The local venue's market streams and WS API, seen from a raw WebSocket client, faults included."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from local_venue_helpers import API_KEY, ASK, BID, SECRET, local_venue, raw
from websockets.asyncio.client import ClientConnection, connect

from harness.model import Aggressor
from live.serve.faults import CutConnections, DropMatching, DuplicateMatching, ServeFaults


async def _next(ws: ClientConnection, timeout: float = 10) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def _call(ws: ClientConnection, message: dict[str, Any]) -> Any:
    await ws.send(json.dumps(message))
    return await _next(ws)


def test_any_ws_path_then_subscribe_gets_raw_events() -> None:
    async def body() -> None:
        async with local_venue() as venue, connect(f"{venue.ws_url}/ws/anything-1") as ws:
            assert await _call(ws, {"method": "SUBSCRIBE", "params": ["btcusdt@trade", "btcusdt@bookTicker"],
                                    "id": 1}) == {"result": None, "id": 1}
            assert await _call(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 2}) == {
                "result": ["btcusdt@trade", "btcusdt@bookTicker"], "id": 2}
            venue.trade("BTCUSDT", BID, Decimal("0.5"), Aggressor.SELLER, trade_id="77")
            venue.quote("BTCUSDT", BID - 1, ASK)
            trade, ticker = await _next(ws), await _next(ws)
            assert trade["e"] == "trade" and trade["t"] == 77 and trade["p"] == "60000.00000000"
            assert trade["q"] == "0.50000000" and trade["m"] is True and isinstance(trade["T"], int)
            assert ticker == {"u": 2, "s": "BTCUSDT", "b": "59999.00000000", "B": "2.00000000",
                              "a": "60000.10000000", "A": "2.00000000"}
            assert (await _call(ws, {"method": "UNSUBSCRIBE", "params": ["btcusdt@trade"], "id": 3}))["id"] == 3
            bad = await _call(ws, {"method": "SUBSCRIBE", "params": ["btcusdt@nonsense"], "id": 4})
            assert bad["id"] == 4 and bad["error"]["code"] == 2

    asyncio.run(body())


def test_combined_streams_wrap_events_and_depth_diffs_chain_with_the_snapshot() -> None:
    async def body() -> None:
        async with local_venue() as venue, aiohttp.ClientSession() as session, connect(
                f"{venue.ws_url}/stream?streams=btcusdt@depth@100ms/btcusdt@depth5") as ws:
            snapshot = (await raw(session, "GET", f"{venue.rest_url}/api/v3/depth?symbol=BTCUSDT"))[2]
            venue.book("BTCUSDT", [(BID, Decimal(1)), (BID - 1, Decimal(2))], [(ASK, Decimal(3))])
            diff, partial = await _next(ws), await _next(ws)
            assert diff["stream"] == "btcusdt@depth@100ms" and partial["stream"] == "btcusdt@depth5"
            event = diff["data"]
            assert event["e"] == "depthUpdate" and event["U"] == snapshot["lastUpdateId"] + 1
            assert sorted(event["b"]) == [["59999.00000000", "2.00000000"], ["60000.00000000", "1.00000000"]]
            assert event["a"] == [["60000.10000000", "3.00000000"]]
            assert partial["data"]["lastUpdateId"] == event["u"]
            assert partial["data"]["bids"] == [["60000.00000000", "1.00000000"], ["59999.00000000", "2.00000000"]]
            after = (await raw(session, "GET", f"{venue.rest_url}/api/v3/depth?symbol=BTCUSDT"))[2]
            assert after["lastUpdateId"] == event["u"] and after["bids"] == partial["data"]["bids"]

    asyncio.run(body())


def test_stream_faults_drop_duplicate_and_cut() -> None:
    faults = ServeFaults(market=[DropMatching(event="depthUpdate", skip=1), DuplicateMatching(event="trade")],
                         disconnects=[CutConnections("market", after=5)])

    async def body() -> None:
        async with local_venue(faults=faults) as venue, connect(
                f"{venue.ws_url}/ws/btcusdt@depth/btcusdt@trade") as ws:
            for i in range(3):
                venue.book("BTCUSDT", [(BID - i, Decimal(1))], [(ASK + i, Decimal(1))])
            diffs = [await _next(ws), await _next(ws)]
            assert diffs[0]["u"] + 1 < diffs[1]["U"]  # the second diff was dropped: a sequence gap
            venue.trade("BTCUSDT", BID, Decimal(1), trade_id="5")
            assert [(await _next(ws))["t"], (await _next(ws))["t"]] == [5, 5]  # duplicated
            venue.trade("BTCUSDT", BID, Decimal(1), trade_id="6")
            venue.trade("BTCUSDT", BID, Decimal(1), trade_id="7")
            received = []
            try:
                while True:
                    received.append((await _next(ws, timeout=5))["t"])
            except Exception as closed:  # the venue cut the connection after five messages
                assert "ConnectionClosed" in type(closed).__name__
            assert received == [6]

    asyncio.run(body())


def _signed_ws(params: dict[str, Any]) -> dict[str, Any]:
    full = {**params, "apiKey": API_KEY}
    payload = "&".join(f"{k}={full[k]}" for k in sorted(full))
    return {**full, "signature": hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()}


def test_ws_api_user_stream_pushes_execution_reports_and_balances() -> None:
    async def body() -> None:
        async with local_venue() as venue, connect(f"{venue.ws_url}/ws-api/v3") as ws:
            now = venue.clock.now_ns() // 10**6
            bad = await _call(ws, {"id": "a", "method": "userDataStream.subscribe.signature",
                                   "params": {**_signed_ws({"timestamp": now}), "signature": "00"}})
            assert bad["status"] == 400 and bad["error"]["code"] == -1022
            ok = await _call(ws, {"id": "b", "method": "userDataStream.subscribe.signature",
                                  "params": _signed_ws({"timestamp": now})})
            assert ok == {"id": "b", "status": 200, "result": {"subscriptionId": 0}}
            placed = await _call(ws, {"id": 3, "method": "order.place", "params": _signed_ws({
                "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001",
                "price": "60000", "newClientOrderId": "ws-1", "timestamp": now})})
            events = [placed]
            while len(events) < 3:
                events.append(await _next(ws))
            by_kind = {e.get("event", {}).get("e", "answer"): e for e in events}
            assert by_kind["answer"]["result"]["status"] == "NEW"
            new = by_kind["executionReport"]["event"]
            assert (new["x"], new["X"], new["c"], new["q"]) == ("NEW", "NEW", "ws-1", "0.00100000")
            balances = {b["a"]: b for b in by_kind["outboundAccountPosition"]["event"]["B"]}
            assert balances["USDT"]["l"] == "60.00000000"
            venue.trade("BTCUSDT", BID, Decimal(3), Aggressor.SELLER)  # 2 queued ahead, then ours
            trade = (await _next(ws))["event"]
            assert (trade["x"], trade["X"], trade["l"], trade["L"], trade["m"], trade["t"]) == (
                "TRADE", "FILLED", "0.00100000", "60000.00000000", True, 1)
            assert (await _next(ws))["event"]["e"] == "outboundAccountPosition"

    asyncio.run(body())


def test_recorded_parquet_is_replayed_at_the_clock_pace(tmp_path: Path) -> None:
    from synthetic import write_tape

    files = write_tape(tmp_path, "binance", "BTCUSDT", n=200, seed=3)

    async def body() -> None:
        async with local_venue(speed=50, data=files, quote=False, lead_ns=2_000_000_000) as venue, connect(
                f"{venue.ws_url}/ws/btcusdt@trade") as ws:
            first = await _next(ws, timeout=30)
            assert abs(first["T"] * 10**6 - venue.clock.now_ns()) < 60 * 10**9  # shifted to the venue's now
            ids = [first["t"]]
            while ids[-1] < 199:
                ids.append((await _next(ws, timeout=30))["t"])
            await venue.wait_replayed()
            assert ids == list(range(ids[0], 200))  # every trade from the first one seen, in order
            assert venue.replay is not None and venue.replay.delivered == 400  # 200 trades + 200 quotes
            assert venue.replay.shift % 1_000_000 == 0

    asyncio.run(body())

"""The local venue's REST side, seen as raw HTTP: Binance's paths, signatures, shapes, errors and limits."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from local_venue_helpers import API_KEY, ASK, BID, SECRET, local_venue, raw, signed_query

from harness.contract import AmbiguousError, RetryableError
from live.serve.faults import FailRequests, ServeFaults
from live.serve.wire import fmt


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def _order(coid: str, *, price: str = "59990.00", qty: str = "0.00100", kind: str = "LIMIT",
           resp: str | None = None) -> list[tuple[str, str]]:
    params = [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", kind), ("quantity", qty)]
    if kind == "LIMIT":
        params += [("timeInForce", "GTC"), ("price", price)]
    params.append(("newClientOrderId", coid))
    if resp:
        params.append(("newOrderRespType", resp))
    return params


def test_decimal_strings_keep_every_place_beyond_eight() -> None:
    assert fmt(Decimal("0.1")) == "0.10000000"
    assert fmt(Decimal("60000")) == "60000.00000000"
    assert fmt(Decimal("0.000000015")) == "0.000000015"  # never rounded away


def test_public_endpoints_speak_binance_json() -> None:
    async def body() -> None:
        async with local_venue() as venue, aiohttp.ClientSession() as session:
            base = venue.rest_url
            assert (await raw(session, "GET", f"{base}/api/v3/ping"))[2] == {}
            status, headers, time_answer = await raw(session, "GET", f"{base}/api/v3/time")
            assert status == 200 and abs(time_answer["serverTime"] - venue.clock.now_ns() // 10**6) < 5_000
            assert headers["X-MBX-USED-WEIGHT-1M"] == "2"  # ping 1 + time 1
            info = (await raw(session, "GET", f"{base}/api/v3/exchangeInfo?symbol=BTCUSDT"))[2]
            assert {r["rateLimitType"] for r in info["rateLimits"]} == {"REQUEST_WEIGHT", "RAW_REQUESTS", "ORDERS"}
            (symbol,) = info["symbols"]
            filters = {f["filterType"]: f for f in symbol["filters"]}
            assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
            assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
            assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
            assert "LIMIT_MAKER" in symbol["orderTypes"] and "STOP_LOSS_LIMIT" in symbol["orderTypes"]
            depth = (await raw(session, "GET", f"{base}/api/v3/depth?symbol=BTCUSDT&limit=5"))[2]
            assert depth["bids"] == [[fmt(BID), "2.00000000"]] and depth["asks"] == [[fmt(ASK), "2.00000000"]]
            ticker = (await raw(session, "GET", f"{base}/api/v3/ticker/bookTicker?symbol=BTCUSDT"))[2]
            assert ticker == {"symbol": "BTCUSDT", "bidPrice": fmt(BID), "bidQty": "2.00000000",
                              "askPrice": fmt(ASK), "askQty": "2.00000000"}
            status, _, error = await raw(session, "GET", f"{base}/api/v1/depth?symbol=NOPE")
            assert (status, error) == (400, {"code": -1121, "msg": "Invalid symbol."})

    run(body())


def test_signatures_are_checked_over_the_raw_query_and_body() -> None:
    async def body() -> None:
        async with local_venue() as venue, aiohttp.ClientSession() as session:
            base, now = venue.rest_url, venue.clock.now_ns() // 10**6
            ok = await raw(session, "POST", f"{base}/api/v3/order?{signed_query(_order('q-1'), now)}")
            assert ok[0] == 200 and ok[2]["clientOrderId"] == "q-1"
            # mixed: part in the query, the rest (with the signature) in the body; payload = query + body
            query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
            form = f"quantity=0.00100&price=59990.00&newClientOrderId=q-2&timestamp={now}"
            sig = hmac.new(SECRET.encode(), (query + form).encode(), hashlib.sha256).hexdigest().upper()
            mixed = await raw(session, "POST", f"{base}/api/v3/order?{query}", data=f"{form}&signature={sig}")
            assert mixed[0] == 200 and mixed[2]["clientOrderId"] == "q-2"  # upper-case hex accepted
            good = signed_query(_order("q-3"), now)
            bad = good[:-1] + ("1" if good.endswith("0") else "0")  # one hex digit off
            assert (await raw(session, "POST", f"{base}/api/v3/order?{bad}"))[:3:2] == (
                400, {"code": -1022, "msg": "Signature for this request is not valid."})
            assert (await raw(session, "GET", f"{base}/api/v3/account?{signed_query([], now)}", key=None))[2][
                "code"] == -2014
            assert (await raw(session, "GET", f"{base}/api/v3/account?{signed_query([], now)}", key="other"))[2][
                "code"] == -2015
            stale = await raw(session, "GET", f"{base}/api/v3/account?{signed_query([], now - 6000)}")
            assert stale[2] == {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
            windowed = signed_query([("recvWindow", "10000")], now - 6000)
            assert (await raw(session, "GET", f"{base}/api/v3/account?{windowed}"))[0] == 200
            ahead = await raw(session, "GET", f"{base}/api/v3/account?{signed_query([], now + 5000)}")
            assert ahead[2]["code"] == -1021
            assert [o.request.client_order_id for o in venue.venue.orders.values()] == ["q-1", "q-2"]

    run(body())


def test_order_answers_ack_result_full_and_venue_errors() -> None:
    async def body() -> None:
        async with local_venue() as venue, aiohttp.ClientSession() as session:
            base = venue.rest_url

            async def post(params: list[tuple[str, str]]) -> tuple[int, dict[str, str], Any]:
                return await raw(session, "POST", f"{base}/api/v3/order?"
                                 f"{signed_query(params, venue.clock.now_ns() // 10**6)}")

            ack = await post(_order("o-ack", resp="ACK"))
            assert set(ack[2]) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
            assert ack[1]["X-MBX-ORDER-COUNT-10S"] == "1"
            result = await post(_order("o-res", resp="RESULT"))
            assert result[2]["status"] == "NEW" and result[2]["cummulativeQuoteQty"] == "0.00000000"
            assert "fills" not in result[2]
            full = (await post(_order("o-mkt", kind="MARKET")))[2]  # MARKET defaults to FULL
            assert full["status"] == "FILLED" and full["executedQty"] == "0.00100000"
            assert full["fills"] == [{"price": fmt(ASK), "qty": "0.00100000", "commission": "0.00000100",
                                      "commissionAsset": "BTC", "tradeId": 1}]
            assert Decimal(full["cummulativeQuoteQty"]) == ASK * Decimal("0.001")
            assert (await post(_order("o-res")))[2] == {"code": -2010, "msg": "Duplicate order sent."}
            assert (await post(_order("o-tick", price="59990.001")))[2] == {
                "code": -1013, "msg": "Filter failure: PRICE_FILTER"}
            assert (await post([("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "LIMIT")]))[2]["code"] == -1102
            now = venue.clock.now_ns() // 10**6
            gone = await raw(session, "GET", f"{base}/api/v3/order?"
                             f"{signed_query([('symbol', 'BTCUSDT'), ('origClientOrderId', 'nope')], now)}")
            assert gone[2] == {"code": -2013, "msg": "Order does not exist."}
            cancel = await raw(session, "DELETE", f"{base}/api/v3/order?"
                               f"{signed_query([('symbol', 'BTCUSDT'), ('origClientOrderId', 'o-res')], now)}")
            assert cancel[2]["status"] == "CANCELED" and cancel[2]["origClientOrderId"] == "o-res"
            trades = (await raw(session, "GET", f"{base}/api/v3/myTrades?"
                                f"{signed_query([('symbol', 'BTCUSDT')], now)}"))[2]
            assert [(t["id"], t["isBuyer"], t["isMaker"]) for t in trades] == [(1, True, False)]

    run(body())


def test_too_much_weight_is_429_with_retry_after_then_a_418_ban() -> None:
    async def body() -> None:
        async with local_venue() as venue, aiohttp.ClientSession() as session:
            url = f"{venue.rest_url}/api/v3/depth?symbol=BTCUSDT&limit=5000"  # weight 250 each
            answers = [await raw(session, "GET", url) for _ in range(6)]
            assert [a[0] for a in answers] == [200, 200, 200, 200, 429, 418]
            _, headers, error = answers[4]
            assert error["code"] == -1003 and int(headers["Retry-After"]) >= 1
            assert headers["X-MBX-USED-WEIGHT-1M"] == "1000"
            assert answers[5][2]["code"] == -1003 and "banned until" in answers[5][2]["msg"]
            assert int(answers[5][1]["Retry-After"]) > 60  # the first ban lasts two minutes

    run(body())


def test_request_faults_answer_5xx_before_or_after_the_venue_acted() -> None:
    from harness.audit import MemoryAuditSink
    from harness.model import OrderRequest, OrderType, Side, VenueMode
    from harness.registry import Credentials
    from live.rest import AiohttpSender, BinanceRestProtocol, RestClient, RestRequest

    faults = ServeFaults(requests=[
        FailRequests("submit_order", lambda: RetryableError("maintenance", http_status=503)),
        FailRequests("submit_order", lambda: RetryableError("timeout after match", http_status=504), after=True),
    ])

    async def body() -> None:
        async with local_venue(faults=faults) as venue:
            protocol = BinanceRestProtocol(base_url=venue.rest_url, mode=VenueMode.SANDBOX,
                                           credentials=Credentials(API_KEY, SECRET))
            client = RestClient(protocol, AiohttpSender(), venue.clock, audit=MemoryAuditSink())
            try:
                for coid in ("f-1", "f-2"):
                    request = OrderRequest(coid, "binance", "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal("0.001"),
                                           price=Decimal(59990))
                    from live.binance.codec import order_params
                    with pytest.raises(AmbiguousError):
                        await client.request(RestRequest("POST", "/api/v3/order", body=order_params(request),
                                                         signed=True, order_entry=True))
            finally:
                await client.close()
            # the first never reached the venue; the second was placed, its answer replaced by a 504
            assert list(venue.venue.orders) == ["f-2"]

    run(body())


def test_venue_serve_refuses_bad_arguments_with_a_message(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    assert main(["venue", "serve", "--speed", "0"]) == 2
    assert "--speed" in capsys.readouterr().err
    assert main(["venue", "serve", "--data", str(tmp_path / "missing")]) == 2
    assert "no such file" in capsys.readouterr().err
    scenario = tmp_path / "s.toml"
    scenario.write_text("[scenario]\n")
    assert main(["venue", "serve", "--scenario", str(scenario)]) == 2
    assert "s.toml:1: scenario.name: required key is missing" in capsys.readouterr().err  # the scenario validator

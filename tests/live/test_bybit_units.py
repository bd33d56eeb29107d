"""Bybit v5 pieces without a network: signing, retCode mapping, endpoint guards, and malformed messages.

Bybit publishes signing examples without their secret (``spec/venues.md`` §2: no usable vector),
so the v5 signature is checked against the spec's HMAC-SHA256 vector (the primitive, B1) and
against pybit's own signer (the oracle the spec names) over pybit's exact payloads; the local
venue's verifier must accept what pybit signs byte for byte and refuse the same JSON re-serialized.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from harness.clock import ScaledClock
from harness.contract import (
    AmbiguousError,
    DuplicateOrderError,
    ExchangeError,
    FatalError,
    InvalidRequestError,
    OrderNotFoundError,
    RateLimitedError,
    RetryableError,
)
from harness.model import VenueMode
from harness.registry import ConfigError, Credentials, ProductionNotAllowedError
from live.bybit import BybitBook, BybitEndpoints, BybitRestProtocol, BybitSocket, bybit_error, codec
from live.rest.protocol import RawResponse, RestRequest
from live.serve.bybit.auth import BybitApiError, BybitKeys, verify_bybit_request
from live.signing import bybit_v5_headers, bybit_ws_auth_signature, hmac_sha256_hex

SPEC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
KEY, SECRET = "unit-key", "unit-secret-0123456789"


def test_the_hmac_primitive_reproduces_the_spec_vector() -> None:
    payload = ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000"
               "&timestamp=1499827319559")
    assert hmac_sha256_hex(SPEC_SECRET, payload) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_v5_signatures_match_pybits_signer() -> None:
    http_manager = pytest.importorskip("pybit._http_manager")
    body = json.dumps({"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "qty": "0.001"})  # pybit's spacing
    for payload in (body, "category=spot&symbol=BTCUSDT", ""):
        ours = bybit_v5_headers(SECRET, timestamp_ms=1658385579423, api_key=KEY, recv_window_ms=5000, payload=payload)
        theirs = http_manager.generate_signature(False, SECRET, f"1658385579423{KEY}5000{payload}")
        assert ours["X-BAPI-SIGN"] == theirs
    expires = 1662350400000
    assert bybit_ws_auth_signature(SECRET, expires) == hmac_sha256_hex(SECRET, f"GET/realtime{expires}")


def test_the_venue_verifies_over_the_raw_bytes() -> None:
    keys = BybitKeys({KEY: SECRET})
    spaced = json.dumps({"category": "spot", "qty": "0.001"})
    headers = bybit_v5_headers(SECRET, timestamp_ms=1_000_000, api_key=KEY, payload=spaced)
    assert verify_bybit_request(headers, spaced, keys, 1_000_100) == KEY
    compact = json.dumps(json.loads(spaced), separators=(",", ":"))
    with pytest.raises(BybitApiError) as bad_sign:
        verify_bybit_request(headers, compact, keys, 1_000_100)
    assert bad_sign.value.code == 10004
    with pytest.raises(BybitApiError) as late:
        verify_bybit_request(headers, spaced, keys, 1_000_000 + 5001)
    assert late.value.code == 10002
    with pytest.raises(BybitApiError) as unknown:
        verify_bybit_request({**headers, "X-BAPI-API-KEY": "nobody"}, spaced, keys, 1_000_100)
    assert unknown.value.code == 10003


def test_prepared_requests_sign_what_they_send_and_hide_the_secret() -> None:
    protocol = BybitRestProtocol(base_url="http://127.0.0.1:9", mode=VenueMode.SANDBOX,
                                 credentials=Credentials(KEY, SECRET))
    post = protocol.prepare(RestRequest("POST", "/v5/order/create", body=(("qty", Decimal("0.001")), ("n", 3)),
                                        signed=True), timestamp_ms=42)
    assert post.body == b'{"qty":"0.001","n":3}'
    assert post.headers["X-BAPI-SIGN"] == hmac_sha256_hex(SECRET, f"42{KEY}5000" + post.body.decode())
    query = (("symbol", "BTCUSDT"), ("category", "spot"))
    get = protocol.prepare(RestRequest("GET", "/v5/order/realtime", params=query, signed=True), timestamp_ms=42)
    assert get.url.endswith("?symbol=BTCUSDT&category=spot")  # never re-sorted
    assert get.headers["X-BAPI-SIGN"] == hmac_sha256_hex(SECRET, f"42{KEY}5000symbol=BTCUSDT&category=spot")
    assert SECRET not in repr(post.audit) and post.audit["header.X-BAPI-SIGN"] == "***"
    assert KEY not in repr(post.audit) and post.audit["header.X-BAPI-API-KEY"] == "***"


@pytest.mark.parametrize(("status", "code", "order_entry", "expected"), [
    (200, 10001, False, InvalidRequestError), (200, 10002, False, RetryableError), (200, 10003, False, FatalError),
    (200, 10004, False, FatalError), (200, 10006, True, RateLimitedError), (200, 110001, False, OrderNotFoundError),
    (200, 170213, False, OrderNotFoundError), (200, 170141, True, DuplicateOrderError),
    (200, 170131, True, InvalidRequestError), (200, 10016, True, AmbiguousError), (200, 10016, False, RetryableError),
    (403, None, False, RateLimitedError), (502, None, True, AmbiguousError), (200, 99999, False, ExchangeError),
])
def test_ret_codes_map_to_the_contracts_categories(status: int, code: int | None, order_entry: bool,
                                                    expected: type[Exception]) -> None:
    error = bybit_error(status, code=code, message="m", retry_after_s=None, order_entry=order_entry)
    assert type(error) is expected
    if status == 403:
        assert isinstance(error, RateLimitedError) and error.banned


def test_a_rate_limited_answer_waits_for_the_reset_the_headers_name() -> None:
    protocol = BybitRestProtocol(base_url="http://127.0.0.1:9", mode=VenueMode.SANDBOX)
    prepared = protocol.prepare(RestRequest("GET", "/v5/market/time"))
    body = json.dumps({"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "time": 10_000}).encode()
    with pytest.raises(RateLimitedError) as limited:
        protocol.parse(prepared, RawResponse(200, {"x-bapi-limit-reset-timestamp": "12500"}, body))
    assert limited.value.retry_after_s == Decimal("2.5")


def test_endpoints_keep_sandbox_and_production_apart() -> None:
    assert BybitEndpoints.sandbox().rest == "https://api-testnet.bybit.com"
    with pytest.raises(ProductionNotAllowedError):
        BybitEndpoints.production()
    assert BybitEndpoints.production(allow_production=True).mode is VenueMode.PRODUCTION
    with pytest.raises(ConfigError):
        BybitEndpoints("https://api.bybit.com", "wss://stream.bybit.com/v5/public/{category}",
                       "wss://stream.bybit.com/v5/private", VenueMode.SANDBOX)
    assert BybitEndpoints.local("http://127.0.0.1:8080").public("spot") == "ws://127.0.0.1:8080/v5/public/spot"


@pytest.mark.parametrize("body", [b"<html>bad gateway</html>", b"[1, 2]", b'{"retMsg": "OK"}',
                                  b'{"retCode": 0, "retMsg": "OK"}'])
def test_a_malformed_envelope_is_a_clear_exchange_error(body: bytes) -> None:
    protocol = BybitRestProtocol(base_url="http://127.0.0.1:9", mode=VenueMode.SANDBOX)
    with pytest.raises(ExchangeError):
        protocol.parse(protocol.prepare(RestRequest("GET", "/v5/market/time")), RawResponse(200, {}, body))


@pytest.mark.parametrize("row", [{}, {"orderType": "Limit"}, {"orderType": "Stop"},
                                 {"orderType": "Limit", "symbol": "X", "orderLinkId": "a", "orderId": "1",
                                  "orderStatus": "Weird", "side": "Buy", "qty": "1", "updatedTime": "1"}])
def test_malformed_orders_name_what_is_wrong(row: dict[str, Any]) -> None:
    with pytest.raises(ExchangeError):
        codec.order_report(row)


def test_a_malformed_push_is_counted_and_never_raised() -> None:
    socket = BybitSocket("public", "ws://127.0.0.1:9/v5/public/spot", clock=ScaledClock(1))
    seen: list[object] = []

    def handler(message: object) -> None:
        seen.append(codec.trades_from_ws(message, 0))  # type: ignore[arg-type]

    socket._handlers["publicTrade.BTCUSDT"] = [handler]
    for text in ("not json", "[1]", json.dumps({"topic": "publicTrade.BTCUSDT", "data": [{"p": 1}]})):
        socket._on_message(text)
    assert socket.malformed == 3 and seen == []


def _book_message(kind: str, u: int, bids: list[list[str]], asks: list[list[str]]) -> dict[str, Any]:
    return {"topic": "orderbook.50.BTCUSDT", "type": kind, "ts": 1, "data": {"s": "BTCUSDT", "b": bids, "a": asks,
                                                                           "u": u, "seq": u}}


def test_the_book_follows_u_and_asks_for_a_resync_on_a_gap() -> None:
    resyncs: list[int] = []
    book = BybitBook("bybit", "BTCUSDT", ScaledClock(1), lambda: resyncs.append(1))
    snapshots: list[Any] = []
    book.subscribers.append((snapshots.append, 5))
    book.on_message(_book_message("snapshot", 7, [["100", "1"], ["99", "2"]], [["101", "1"]]))
    book.on_message(_book_message("delta", 8, [["100", "0"]], [["102", "3"]]))
    book.on_message(_book_message("delta", 8, [["98", "5"]], []))  # repeated: dropped
    top = snapshots[-1]
    assert [(b.price, b.size) for b in top.bids] == [(99 * 10**9, 2 * 10**9)] and len(top.asks) == 2
    book.on_message(_book_message("delta", 10, [["97", "1"]], []))  # u=9 lost
    assert resyncs == [1] and not book.sync.valid and book.gaps == 1
    book.on_message(_book_message("delta", 11, [], []))  # still invalid: no second resync asked
    assert resyncs == [1]
    book.on_message(_book_message("snapshot", 1, [["95", "1"]], [["96", "1"]]))  # u=1: a restart, reset
    assert book.sync.valid and [(b.price, b.size) for b in snapshots[-1].bids] == [(95 * 10**9, 10**9)]
    with pytest.raises(ExchangeError):
        book.on_message(_book_message("delta", 2, [["x", "1"]], []))

"""live.rest.protocol: signed request construction (B1/B3 through prepare), parsing, time sync, mode guard."""

from __future__ import annotations

import base64
from decimal import Decimal
from urllib.parse import unquote

import pytest

from harness.contract import ExchangeError, InvalidRequestError, RateLimitedError
from harness.model import VenueMode
from harness.registry import AuthMethod, ConfigError, Credentials, SandboxViolationError
from live.guard import check_transport_url
from live.rest.protocol import BinanceRestProtocol, PreparedRequest, RawResponse, RestRequest, TimeSync, usage_headers
from live.signing import ParamValue, load_ed25519_key

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
PEM = ("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIIJEYWtGBrhACmb9Dvy+qa8WEf0lQOl1s4CLIAB9m89u\n"
       "-----END PRIVATE KEY-----\n")
B1 = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"  # spec/test_vectors.py
B3 = "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
TS = 1499827319559
ORDER: list[tuple[str, ParamValue]] = [
    ("symbol", "LTCBTC"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC"), ("quantity", 1),
    ("price", Decimal("0.1"))]


def protocol(**kw: object) -> BinanceRestProtocol:
    args: dict[str, object] = {"base_url": "https://testnet.binance.vision", "mode": VenueMode.SANDBOX,
                               "credentials": Credentials(KEY, SECRET)}
    args.update(kw)
    return BinanceRestProtocol(**args)  # type: ignore[arg-type]


def test_signed_get_reproduces_vector_b1_on_the_wire() -> None:
    prepared = protocol().prepare(RestRequest("GET", "/api/v3/order", params=ORDER, signed=True), timestamp_ms=TS)
    assert prepared.url == ("https://testnet.binance.vision/api/v3/order?symbol=LTCBTC&side=BUY&type=LIMIT"
                            f"&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp={TS}&signature={B1}")
    assert prepared.body is None and prepared.headers["X-MBX-APIKEY"] == KEY


def test_signed_post_with_query_and_body_reproduces_vector_b3() -> None:
    request = RestRequest("POST", "/api/v3/order", params=ORDER[:4], body=ORDER[4:], signed=True, order_entry=True)
    prepared = protocol().prepare(request, timestamp_ms=TS)
    assert prepared.url.endswith("?symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC")
    assert prepared.body == f"quantity=1&price=0.1&recvWindow=5000&timestamp={TS}&signature={B3}".encode()
    assert prepared.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert prepared.order_entry


def test_ed25519_signature_is_percent_encoded_and_verifies() -> None:
    prepared = protocol(credentials=Credentials(KEY, PEM), auth=AuthMethod.ED25519).prepare(
        RestRequest("GET", "/api/v3/account", signed=True), timestamp_ms=TS)
    query = prepared.url.partition("?")[2]
    unsigned, _, signature = query.rpartition("&signature=")
    load_ed25519_key(PEM).public_key().verify(base64.b64decode(unquote(signature)), unsigned.encode())
    assert "+" not in signature and "/" not in signature and "=" not in signature


def test_unsigned_request_carries_no_timestamp_or_signature() -> None:
    prepared = protocol().prepare(RestRequest("GET", "/api/v3/depth", params=[("symbol", "BTCUSDT")]))
    assert prepared.url == "https://testnet.binance.vision/api/v3/depth?symbol=BTCUSDT"


def test_audit_view_masks_key_and_signature() -> None:
    prepared = protocol().prepare(RestRequest("POST", "/api/v3/order", body=ORDER, signed=True,
                                              client_order_id="c1"), timestamp_ms=TS)
    assert prepared.audit["header.X-MBX-APIKEY"] == "***"
    assert prepared.audit["param.signature"] == "***"
    assert prepared.audit["body.symbol"] == "LTCBTC" and prepared.audit["body.timestamp"] == str(TS)
    assert KEY not in str(prepared.audit) and B1 not in str(prepared.audit)


def test_request_validation() -> None:
    with pytest.raises(ValueError, match="method"):
        RestRequest("PATCH", "/x")
    with pytest.raises(ValueError, match="path"):
        RestRequest("GET", "x")
    with pytest.raises(ValueError, match="query string"):
        RestRequest("GET", "/x", body=[("a", "1")])
    with pytest.raises(ValueError, match="no credentials"):
        protocol(credentials=None).prepare(RestRequest("GET", "/x", signed=True), timestamp_ms=1)
    with pytest.raises(ValueError, match="timestamp_ms"):
        protocol().prepare(RestRequest("GET", "/x", signed=True))
    with pytest.raises(ValueError, match="recv_window_ms"):
        protocol(recv_window_ms=60_001)
    with pytest.raises(TypeError, match="float"):
        protocol().prepare(RestRequest("GET", "/x", params=[("price", 0.1)]))  # type: ignore[list-item]


def _prepared(order_entry: bool = False) -> PreparedRequest:
    return protocol().prepare(RestRequest("POST", "/api/v3/order", signed=True, order_entry=order_entry),
                              timestamp_ms=TS)


def test_parse_success_error_and_garbage() -> None:
    p = protocol()
    assert p.parse(_prepared(), RawResponse(200, {}, b'{"orderId": 5}')) == {"orderId": 5}
    assert p.parse(_prepared(), RawResponse(200, {}, b"")) is None
    with pytest.raises(ExchangeError, match="undecodable"):
        p.parse(_prepared(), RawResponse(200, {}, b"<html>"))
    with pytest.raises(InvalidRequestError, match="Invalid symbol"):
        p.parse(_prepared(), RawResponse(400, {}, b'{"code": -1121, "msg": "Invalid symbol."}'))
    with pytest.raises(RateLimitedError) as info:
        p.parse(_prepared(), RawResponse(429, {"retry-after": "9"}, b'{"code": -1003, "msg": "slow down"}'))
    assert info.value.retry_after_s == 9


def test_time_sync_uses_the_round_trip_midpoint() -> None:
    sync = TimeSync()
    synced_before = sync.synced  # a name of its own: mypy would keep False as sync.synced's type below
    assert not synced_before and sync.timestamp_ms(5_000_000_000) == 5_000
    assert sync.update(server_ms=10_500, sent_ns=9_000_000_000, received_ns=11_000_000_000) == 500
    assert sync.synced and sync.timestamp_ms(12_000_000_000) == 12_500
    with pytest.raises(ValueError):
        sync.update(1, 5, 4)


def test_server_time_parsing() -> None:
    assert protocol().parse_server_time({"serverTime": 1499827319559}) == 1499827319559
    bad_payloads: tuple[object, ...] = ({}, {"serverTime": "1"}, [], {"serverTime": True})
    for bad in bad_payloads:
        with pytest.raises(ExchangeError):
            protocol().parse_server_time(bad)


def test_usage_headers_are_selected_case_insensitively() -> None:
    headers = {"X-MBX-USED-WEIGHT-1M": "7", "x-mbx-order-count-10s": "3", "X-Bapi-Limit-Status": "99",
               "RateLimit-Remaining": "5", "Content-Type": "application/json", "Retry-After": "2"}
    assert usage_headers(headers) == {"x-mbx-used-weight-1m": "7", "x-mbx-order-count-10s": "3",
                                      "x-bapi-limit-status": "99", "ratelimit-remaining": "5"}


# ---------------------------------------------------------------------------- mode guard (Property 4)


@pytest.mark.parametrize("url", ["https://api.binance.com", "https://api1.binance.com/api", "https://example.com",
                                 "https://api-testnet.bybit.com"])
def test_sandbox_protocol_refuses_non_sandbox_hosts(url: str) -> None:
    with pytest.raises(SandboxViolationError):
        protocol(base_url=url)


@pytest.mark.parametrize("url", ["https://testnet.binance.vision", "http://127.0.0.1:8080", "http://localhost:1"])
def test_sandbox_protocol_accepts_testnet_and_loopback(url: str) -> None:
    assert protocol(base_url=url).base_url == url


def test_guard_judges_each_transport_kind_by_its_own_scheme() -> None:
    check_transport_url("binance", VenueMode.SANDBOX, "wss://stream.testnet.binance.vision/ws", "ws")
    check_transport_url("binance", VenueMode.SANDBOX, "tcp+tls://fix-oe.testnet.binance.vision:9000", "fix")
    with pytest.raises(SandboxViolationError):
        check_transport_url("binance", VenueMode.SANDBOX, "wss://stream.binance.com:9443/ws", "ws")
    with pytest.raises(ConfigError, match="scheme"):
        check_transport_url("binance", VenueMode.SANDBOX, "https://testnet.binance.vision", "ws")
    with pytest.raises(ConfigError, match="sandbox host"):
        check_transport_url("binance", VenueMode.PRODUCTION, "https://testnet.binance.vision", "rest")
    with pytest.raises(TypeError):
        check_transport_url("binance", "SANDBOX", "http://127.0.0.1", "rest")  # type: ignore[arg-type]

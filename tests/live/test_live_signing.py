"""live.signing: every documented vector of spec/test_vectors.py, plus the Bybit scheme (Property 5).

The vectors are copied here as data (source: /work/shared/spec/test_vectors.py, which quotes
spec/venues.md §1.3 and §1.10); ``test_vectors_match_the_spec_file`` re-reads that file, when it
is present, so the copy cannot drift from it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import importlib.util
import io
import json
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from live.signing import (
    ParamValue,
    binance_fix_logon_payload,
    binance_rest_payload,
    binance_ws_payload,
    bybit_v5_headers,
    bybit_ws_auth_signature,
    ed25519_sign_b64,
    ed25519_signer,
    encode_params,
    format_value,
    hmac_sha256_hex,
    hmac_signer,
    load_ed25519_key,
    sign_binance_ws_params,
)

FULLWIDTH = "\uff11\uff12\uff13\uff14\uff15\uff16"  # the B2/B5 symbol, fullwidth digits 1-6
SPEC_VECTORS = Path("/work/shared/spec/test_vectors.py")

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
PEM = ("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIIJEYWtGBrhACmb9Dvy+qa8WEf0lQOl1s4CLIAB9m89u\n"
       "-----END PRIVATE KEY-----\n")

EXPECTED = {
    "B1 rest ascii": "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
    "B2 rest non-ascii": "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3",
    "B3 rest query+body": "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77",
    "B4 ws-api ascii": "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24",
    "B5 ws-api non-ascii": "b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd",
    "F1 fix logon ed25519": "4MHXelVVcpkdwuLbl6n73HQUXUf1dse2PCgT1DYqW9w8AVZ1RACFGM+5UdlGPrQHrgtS3CvsRURC1oj73j8gCA==",
}

ORDER: list[tuple[str, ParamValue]] = [
    ("symbol", "LTCBTC"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC"), ("quantity", 1),
    ("price", Decimal("0.1")), ("recvWindow", 5000), ("timestamp", 1499827319559)]


def test_vectors_match_the_spec_file() -> None:
    if not SPEC_VECTORS.exists():
        pytest.skip("spec/test_vectors.py not on this machine")
    spec = importlib.util.spec_from_file_location("spec_test_vectors", SPEC_VECTORS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with contextlib.redirect_stdout(io.StringIO()):
        spec.loader.exec_module(module)
    assert {name: expected for name, (_, expected) in module.V.items()} == EXPECTED
    assert (module.K, module.SEC.decode()) == (KEY, SECRET)


def test_b1_rest_ascii() -> None:
    query = encode_params(ORDER)
    assert query == ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
                     "&recvWindow=5000&timestamp=1499827319559")
    assert hmac_signer(SECRET)(binance_rest_payload(query, "")) == EXPECTED["B1 rest ascii"]


def test_b2_rest_non_ascii_is_percent_encoded_before_signing() -> None:
    query = encode_params([("symbol", FULLWIDTH), *ORDER[1:]])
    assert query.startswith("symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY")
    assert hmac_signer(SECRET)(binance_rest_payload(query, "")) == EXPECTED["B2 rest non-ascii"]


def test_b3_query_and_body_are_concatenated_without_separator() -> None:
    query, body = encode_params(ORDER[:4]), encode_params(ORDER[4:])
    assert binance_rest_payload(query, body).decode() == (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTCquantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559")
    assert hmac_sha256_hex(SECRET, binance_rest_payload(query, body)) == EXPECTED["B3 rest query+body"]


def test_b4_ws_api_params_are_sorted_and_signed_with_api_key() -> None:
    params: dict[str, ParamValue] = {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": Decimal("0.01000000"), "price": Decimal("52000.00"), "recvWindow": 100,
              "timestamp": 1645423376532}
    signed = sign_binance_ws_params(params, api_key=KEY, signer=hmac_signer(SECRET))
    assert signed["signature"] == EXPECTED["B4 ws-api ascii"]
    assert signed["apiKey"] == KEY and signed["quantity"] == "0.01000000" and signed["price"] == "52000.00"


def test_b5_ws_api_non_ascii_is_signed_as_utf8_not_percent_encoded() -> None:
    params: dict[str, ParamValue] = {"symbol": FULLWIDTH, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": Decimal("1.00000000"), "price": Decimal("0.10000000"), "recvWindow": 5000,
              "timestamp": 1645423376532}
    payload = binance_ws_payload({**params, "apiKey": KEY})
    assert (f"symbol={FULLWIDTH}&").encode() in payload and b"%" not in payload
    signed = sign_binance_ws_params(params, api_key=KEY, signer=hmac_signer(SECRET))
    assert signed["signature"] == EXPECTED["B5 ws-api non-ascii"]


def test_f1_fix_logon_ed25519() -> None:
    key = load_ed25519_key(PEM)
    payload = binance_fix_logon_payload("A", "EXAMPLE", "SPOT", 1, "20240627-11:17:25.223")
    assert payload == b"A\x01EXAMPLE\x01SPOT\x011\x0120240627-11:17:25.223"
    assert ed25519_sign_b64(key, payload) == EXPECTED["F1 fix logon ed25519"]
    assert ed25519_signer(key)(payload) == EXPECTED["F1 fix logon ed25519"]


def test_ed25519_rest_signature_verifies_and_is_percent_encoded_on_the_wire() -> None:
    key = load_ed25519_key(PEM)
    query = encode_params(ORDER)
    signature = ed25519_signer(key)(binance_rest_payload(query, ""))
    key.public_key().verify(base64.b64decode(signature), query.encode())
    wire = encode_params([("signature", signature)])
    assert unquote(wire.split("=", 1)[1]) == signature and "+" not in wire and "/" not in wire


def test_load_ed25519_key_refuses_other_key_types() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    with pytest.raises(ValueError, match="Ed25519"):
        load_ed25519_key(pem)


def test_format_value_refuses_floats_and_writes_plain_decimals() -> None:
    with pytest.raises(TypeError, match="float"):
        format_value(0.1)  # type: ignore[arg-type]
    assert format_value(Decimal("1E+2")) == "100"
    assert format_value(Decimal("1E-10")) == "0.0000000001"
    assert format_value(True) == "true"
    with pytest.raises(ValueError, match="finite"):
        format_value(Decimal("NaN"))


def test_sign_ws_params_refuses_already_signed() -> None:
    with pytest.raises(ValueError, match="already signed"):
        sign_binance_ws_params({"signature": "x"}, api_key=KEY, signer=hmac_signer(SECRET))


# ---------------------------------------------------------------------------- Bybit (no published vector)


def bybit_verifier(secret: str, headers: dict[str, str], payload: str) -> bool:
    """A check written from the spec's prose alone (venues.md §2), independent of live.signing."""
    prehash = headers["X-BAPI-TIMESTAMP"] + headers["X-BAPI-API-KEY"] + headers["X-BAPI-RECV-WINDOW"] + payload
    expected = hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-BAPI-SIGN"])


text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40)


@given(secret=text, api_key=text, ts=st.integers(0, 2**45), window=st.integers(1, 60_000),
       body=st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=12), max_size=4))
def test_property_5_bybit_signature_is_accepted_by_a_spec_verifier(secret: str, api_key: str, ts: int,
                                                                  window: int, body: dict[str, str]) -> None:
    raw = json.dumps({"category": "spot", **body})  # signed byte for byte as sent, spaces included
    headers = bybit_v5_headers(secret, timestamp_ms=ts, api_key=api_key, recv_window_ms=window, payload=raw)
    assert bybit_verifier(secret, headers, raw)
    assert headers["X-BAPI-SIGN"] == headers["X-BAPI-SIGN"].lower()
    # re-serializing the body differently must not verify: the venue checks the raw bytes
    compact = json.dumps({"category": "spot", **body}, separators=(",", ":"))
    assert compact == raw or not bybit_verifier(secret, headers, compact)


def test_bybit_ws_auth_signature() -> None:
    assert bybit_ws_auth_signature("s3cret", 1662350400000) == hmac.new(
        b"s3cret", b"GET/realtime1662350400000", hashlib.sha256).hexdigest()


@given(secret=text, params=st.lists(st.tuples(st.text(min_size=1, max_size=10), st.text(max_size=10)),
                                    max_size=6))
def test_property_5_binance_rest_payload_roundtrips_and_verifies(secret: str, params: list[tuple[str, str]]) -> None:
    query = encode_params(params)
    assert query.isascii()
    decoded = [tuple(unquote(part) for part in pair.split("=", 1)) for pair in query.split("&")] if query else []
    assert decoded == params
    signature = hmac_signer(secret)(binance_rest_payload(query, ""))
    assert hmac.compare_digest(signature, hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest())

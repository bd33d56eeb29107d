"""Request signing for the live venues: pure functions from parameters and secrets to signatures.

Every scheme here is reproduced by a documented test vector in ``spec/test_vectors.py`` where the
venue publishes one (Binance B1-B5 and F1); Bybit publishes examples without their secret, so its
scheme is checked against a verifier written from the spec instead.

* Binance REST (``rest-api.md`` §SIGNED): the payload is the query string concatenated with the
  form body, **no separator**; non-ASCII characters are percent-encoded before signing (the same
  bytes are sent). HMAC-SHA256 gives lower-case hex; Ed25519 gives base64, which is then
  percent-encoded like any other value when it is put on the wire.
* Binance WS API (``web-socket-api.md`` §SIGNED): ``key=value`` pairs sorted by key (``apiKey``
  included), joined with ``&``, **not** percent-encoded (UTF-8 as is).
* Binance FIX logon: ``MsgType SOH SenderCompID SOH TargetCompID SOH MsgSeqNum SOH SendingTime``,
  Ed25519, base64 (vector F1).
* Bybit v5 (``docs/v5/guide.mdx`` §Authentication): ``hex(HMAC_SHA256(secret, timestamp + apiKey +
  recvWindow + payload))`` where the payload is the raw query string (GET) or the raw JSON body
  exactly as sent; private WS auth signs ``"GET/realtime" + expires``.

No function here keeps state, reads a clock or logs: callers pass the timestamp in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

__all__ = [
    "SOH",
    "ParamValue",
    "Signer",
    "binance_fix_logon_payload",
    "binance_rest_payload",
    "binance_ws_payload",
    "bybit_v5_headers",
    "bybit_v5_signature",
    "bybit_ws_auth_signature",
    "ed25519_sign_b64",
    "ed25519_signer",
    "encode_params",
    "format_value",
    "hmac_sha256_hex",
    "hmac_signer",
    "load_ed25519_key",
    "sign_binance_ws_params",
]

SOH = "\x01"
"""The FIX field separator."""

Signer = Callable[[bytes], str]
"""A signing function: payload bytes in, signature text out (hex for HMAC, base64 for Ed25519)."""

ParamValue = str | int | Decimal | bool
"""What a request parameter may be: never a float (prices and sizes are ``Decimal``)."""


def format_value(value: ParamValue) -> str:
    """The wire text of one parameter value: ``Decimal`` in plain notation, bools lower-case.

    Floats are refused with ``TypeError``: a float price would be signed and sent with binary
    rounding noise (``0.1`` -> ``0.1000000000000000055``), and money is never a float here.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"parameter value must be finite, got {value}")
        return format(value, "f")
    raise TypeError(f"parameter values must be str, int, Decimal or bool, not {type(value).__name__}")


def encode_params(params: Iterable[tuple[str, ParamValue]]) -> str:
    """``k=v&k=v`` in the given order, percent-encoding everything but RFC 3986 unreserved characters.

    This is the exact text that is both signed and sent, so the two can never disagree (B2: the
    fullwidth-digit symbol ``U+FF11..U+FF16`` becomes ``%EF%BC%91...``).
    """
    return "&".join(f"{quote(name, safe='')}={quote(format_value(value), safe='')}" for name, value in params)


def hmac_sha256_hex(secret: str | bytes, payload: str | bytes) -> str:
    """Lower-case hex HMAC-SHA256 of ``payload`` (UTF-8 when text) under ``secret``."""
    key = secret.encode() if isinstance(secret, str) else secret
    data = payload.encode() if isinstance(payload, str) else payload
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def hmac_signer(secret: str | bytes) -> Signer:
    """A ``Signer`` giving hex HMAC-SHA256 signatures (Binance HMAC keys, Bybit)."""
    key = secret.encode() if isinstance(secret, str) else secret

    def sign(payload: bytes) -> str:
        """Hex HMAC-SHA256 of ``payload``."""
        return hmac.new(key, payload, hashlib.sha256).hexdigest()

    return sign


def load_ed25519_key(pem: str | bytes) -> Ed25519PrivateKey:
    """Load an unencrypted PKCS#8 PEM Ed25519 private key; ``ValueError`` if it is another key type."""
    data = pem.encode() if isinstance(pem, str) else pem
    key = load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the PEM key is not an Ed25519 private key")
    return key


def ed25519_sign_b64(key: Ed25519PrivateKey, payload: str | bytes) -> str:
    """Standard base64 of the Ed25519 signature of ``payload`` (case-sensitive, unlike HMAC hex)."""
    data = payload.encode() if isinstance(payload, str) else payload
    return base64.b64encode(key.sign(data)).decode("ascii")


def ed25519_signer(key: Ed25519PrivateKey) -> Signer:
    """A ``Signer`` giving base64 Ed25519 signatures (Binance Ed25519 API keys, FIX logon)."""

    def sign(payload: bytes) -> str:
        """Base64 Ed25519 signature of ``payload``."""
        return ed25519_sign_b64(key, payload)

    return sign


def binance_rest_payload(query: str, body: str) -> bytes:
    """The Binance REST signing payload: the encoded query string then the encoded body, no separator."""
    return (query + body).encode("ascii")


def binance_ws_payload(params: Mapping[str, ParamValue]) -> bytes:
    """The Binance WS-API signing payload: ``k=v`` sorted by key, ``&``-joined, UTF-8, not percent-encoded."""
    return "&".join(f"{name}={format_value(params[name])}" for name in sorted(params)).encode("utf-8")


def sign_binance_ws_params(params: Mapping[str, ParamValue], *, api_key: str, signer: Signer) -> dict[str, str]:
    """``params`` with ``apiKey`` added and ``signature`` computed over all of them (B4, B5).

    ``params`` must already hold ``timestamp`` (and ``recvWindow`` if wanted); the result is the
    ``params`` object of a signed WS-API request.
    """
    if "signature" in params:
        raise ValueError("params are already signed")
    full: dict[str, ParamValue] = {**params, "apiKey": api_key}
    out = {name: format_value(value) for name, value in full.items()}
    out["signature"] = signer(binance_ws_payload(full))
    return out


def binance_fix_logon_payload(msg_type: str, sender_comp_id: str, target_comp_id: str, msg_seq_num: int,
                              sending_time: str) -> bytes:
    """The Binance FIX logon signing payload: the five header values joined by SOH (vector F1)."""
    return SOH.join((msg_type, sender_comp_id, target_comp_id, str(msg_seq_num), sending_time)).encode("ascii")


def bybit_v5_signature(secret: str, *, timestamp_ms: int, api_key: str, recv_window_ms: int, payload: str) -> str:
    """Bybit v5 ``X-BAPI-SIGN``: hex HMAC-SHA256 of timestamp + apiKey + recvWindow + raw payload.

    ``payload`` is the query string as sent (GET, unsorted) or the JSON body byte for byte (POST).
    """
    return hmac_sha256_hex(secret, f"{timestamp_ms}{api_key}{recv_window_ms}{payload}")


def bybit_v5_headers(secret: str, *, timestamp_ms: int, api_key: str, recv_window_ms: int = 5000,
                     payload: str) -> dict[str, str]:
    """The four Bybit v5 authentication headers of one request (API key, timestamp, recv window, sign)."""
    return {
        "X-BAPI-API-KEY": api_key,
        "X-BAPI-TIMESTAMP": str(timestamp_ms),
        "X-BAPI-RECV-WINDOW": str(recv_window_ms),
        "X-BAPI-SIGN": bybit_v5_signature(secret, timestamp_ms=timestamp_ms, api_key=api_key,
                                          recv_window_ms=recv_window_ms, payload=payload),
    }


def bybit_ws_auth_signature(secret: str, expires_ms: int) -> str:
    """Bybit private WS ``auth`` signature: hex HMAC-SHA256 of ``"GET/realtime" + expires``."""
    return hmac_sha256_hex(secret, f"GET/realtime{expires_ms}")

"""Coinbase Advanced Trade REST authentication: a short-lived ES256 JWT per request (CDP API keys).

From the Advanced Trade docs (docs.cdp.coinbase.com, "API key authentication"; the official
``coinbase-advanced-py`` ``jwt_generator``): every private request carries
``Authorization: Bearer <jwt>``, where the JWT is signed with the key's EC P-256 private key
(PEM) and has

* header ``{"alg": "ES256", "kid": <key name>, "nonce": <random hex>, "typ": "JWT"}``;
* claims ``{"sub": <key name>, "iss": "cdp", "nbf": now, "exp": now + 120, "uri": "<METHOD> <host><path>"}``
  (the path without the query string).

``rest_jwt`` builds one, ``verify_rest_jwt`` checks one (the local venue uses it: signature
with the key's public key, ``iss``, the time window, and that ``uri`` names the very request).
JWS wants the ECDSA signature as raw ``r || s`` (32 bytes each), not DER. Times are passed in
(seconds of the injected clock); the nonce is given by the caller.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

__all__ = ["JWT_LIFETIME_S", "JwtRefused", "jwt_uri", "load_ec_private_key", "public_pem_of", "rest_jwt",
           "verify_rest_jwt"]

JWT_LIFETIME_S = 120
"""A REST JWT is valid for two minutes after ``nbf`` (the documented expiry)."""

_COORD = 32  # bytes of one P-256 coordinate


class JwtRefused(Exception):  # noqa: N818  (the venue's refusal, said in its words)
    """A bearer token the venue does not accept; the message says why (never the token)."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_uri(method: str, host: str, path: str) -> str:
    """The ``uri`` claim: ``"GET api.coinbase.com/api/v3/brokerage/accounts"`` (no query string)."""
    return f"{method.upper()} {host}{path.split('?', 1)[0]}"


def load_ec_private_key(pem: str) -> ec.EllipticCurvePrivateKey:
    """The P-256 private key of a CDP API key secret (PEM; ``\\n`` escapes as in the downloaded JSON allowed)."""
    try:
        key = serialization.load_pem_private_key(pem.replace("\\n", "\n").encode("ascii"), password=None)
    except (ValueError, TypeError):
        raise ValueError("the Coinbase API secret is not an EC private key in PEM form") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("the Coinbase API secret must be a P-256 (ES256) EC private key")
    return key


def public_pem_of(private_pem: str) -> str:
    """The public key PEM of a private key PEM (what a venue keeps to verify tokens)."""
    public = load_ec_private_key(private_pem).public_key()
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def rest_jwt(key_name: str, key: ec.EllipticCurvePrivateKey, uri: str, now_s: int, nonce: str) -> str:
    """One signed REST JWT for ``uri`` (see ``jwt_uri``), valid from ``now_s`` for ``JWT_LIFETIME_S``."""
    header = {"alg": "ES256", "kid": key_name, "nonce": nonce, "typ": "JWT"}
    claims = {"sub": key_name, "iss": "cdp", "nbf": now_s, "exp": now_s + JWT_LIFETIME_S, "uri": uri}
    signing_input = ".".join(_b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
    r, s = decode_dss_signature(key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{_b64url(r.to_bytes(_COORD, 'big') + s.to_bytes(_COORD, 'big'))}"


def _part(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_unb64url(text))
    except (ValueError, binascii.Error):
        raise JwtRefused(f"the JWT {what} is not base64url JSON") from None
    if not isinstance(value, dict):
        raise JwtRefused(f"the JWT {what} is not a JSON object")
    return value


def verify_rest_jwt(token: str, public_keys: Mapping[str, str], uri: str, now_s: int) -> str:
    """Check a bearer token for the request ``uri``; returns the key name, or raises ``JwtRefused``."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtRefused("the bearer token is not a JWT")
    header, claims = _part(parts[0], "header"), _part(parts[1], "claims")
    if header.get("alg") != "ES256":
        raise JwtRefused("the JWT must be signed with ES256")
    kid = header.get("kid")
    name = kid if isinstance(kid, str) else ""
    pem = public_keys.get(name)
    if pem is None or claims.get("sub") != name:
        raise JwtRefused("unknown API key")
    try:
        raw = _unb64url(parts[2])
    except (ValueError, binascii.Error):
        raise JwtRefused("the JWT signature is not base64url") from None
    public = serialization.load_pem_public_key(pem.encode("ascii"))
    assert isinstance(public, ec.EllipticCurvePublicKey)
    if len(raw) != 2 * _COORD:
        raise JwtRefused("the JWT signature is not an ES256 signature")
    der = encode_dss_signature(int.from_bytes(raw[:_COORD], "big"), int.from_bytes(raw[_COORD:], "big"))
    try:
        public.verify(der, f"{parts[0]}.{parts[1]}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise JwtRefused("the JWT signature is not valid") from None
    nbf, exp = claims.get("nbf"), claims.get("exp")
    if claims.get("iss") != "cdp" or not isinstance(nbf, int) or not isinstance(exp, int):
        raise JwtRefused("the JWT claims are incomplete")
    if not nbf - 5 <= now_s < exp or exp - nbf > JWT_LIFETIME_S:
        raise JwtRefused("the JWT is expired or not yet valid")
    if claims.get("uri") != uri:
        raise JwtRefused("the JWT was signed for another request")
    return name

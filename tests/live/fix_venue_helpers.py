"""Shared helpers of the FIX tests: keys, a local venue serving FIX, a ``BinanceFixAdapter`` on it,
and a FIX parser of our own (simplefix-independent) for checking what the acceptor sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from local_venue_helpers import API_KEY, ASK, BID, SECRET

from harness.clock import ScaledClock
from harness.registry import Credentials
from live.binance import BinanceEndpoints
from live.binance.fix_adapter import BinanceFixAdapter
from live.fix.dialects import FixKey, ed25519_public_pem
from live.fix.order_entry import FixEndpoint
from live.serve import LocalVenue, LocalVenueConfig
from live.ws.state import WsSettings

_NS = 1_000_000_000
FIX_KEY = "fix-api-key-0123456789abcdef"
FIX_PEM = Ed25519PrivateKey.from_private_bytes(bytes(range(32))).private_bytes(
    Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode("ascii")
OTHER_PEM = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33))).private_bytes(
    Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode("ascii")
CB_KEY, CB_SECRET, CB_PASSPHRASE = "cb-access-key-01", "cb-secret-0123456789", "cb-pass-phrase"
SLOW_WS = WsSettings(open_timeout_ns=600 * _NS, ping_timeout_ns=600 * _NS, ping_interval_ns=60 * _NS)


def fix_keys() -> dict[str, FixKey]:
    """The keys the local venue verifies logons with (public key only for Ed25519)."""
    return {FIX_KEY: FixKey(ed25519_public_pem(FIX_PEM)), CB_KEY: FixKey(CB_SECRET, CB_PASSPHRASE)}


@asynccontextmanager
async def fix_venue(*, speed: int = 1, profile: Any = "binance", quote: bool = True,
                    **config: Any) -> AsyncIterator[LocalVenue]:
    """A started local venue with FIX order entry and drop copy on free ports."""
    venue = LocalVenue(LocalVenueConfig(profile=profile, api_keys={API_KEY: SECRET}, clock=ScaledClock(speed),
                                        fix_port=0, fix_keys=fix_keys(), **config))
    await venue.start()
    if quote and venue.profile.name == "binance":
        venue.quote("BTCUSDT", BID, ASK)
    try:
        yield venue
    finally:
        await venue.stop()


def fix_adapter(venue: LocalVenue, sender: str = "CLIENT1", **options: Any) -> BinanceFixAdapter:
    """A ``BinanceFixAdapter`` on ``venue`` (REST key + FIX Ed25519 key), generous timeouts."""
    assert venue.fix is not None
    endpoint = FixEndpoint("127.0.0.1", venue.fix.port, sender, heartbeat_s=30, logon_timeout_ns=60 * _NS,
                           answer_timeout_ns=60 * _NS)
    return BinanceFixAdapter(BinanceEndpoints.local(venue.rest_url), Credentials(API_KEY, SECRET),
                             Credentials(FIX_KEY, FIX_PEM), endpoint, venue.clock, ws_settings=SLOW_WS,
                             request_timeout_ns=600 * _NS, recv_window_ms=60_000, **options)


def split_fields(raw: bytes) -> list[tuple[int, bytes]]:
    """Our own FIX parser: ``tag=value`` pairs split on SOH, RawData (96) taken by its length (95)."""
    fields: list[tuple[int, bytes]] = []
    i, raw_len = 0, None
    while i < len(raw):
        eq = raw.index(b"=", i)
        tag = int(raw[i:eq])
        end = eq + 1 + raw_len if tag == 96 and raw_len is not None else raw.index(b"\x01", eq)
        value = raw[eq + 1:end]
        if tag == 95:
            raw_len = int(value)
        fields.append((tag, value))
        i = end + 1
    return fields


def check_frame(raw: bytes) -> dict[int, str]:
    """Assert one message is standard by the rules of ``spec/fix_framing_vectors.py``; returns its fields.

    ``8`` first, ``9`` second, ``35`` third; ``9`` = the bytes after ``9=...SOH`` up to and including
    the SOH before ``10=``; ``10`` last, three digits, = the byte sum of everything before it mod 256.
    """
    fields = split_fields(raw)
    assert [t for t, _ in fields[:3]] == [8, 9, 35] and fields[-1][0] == 10, fields[:3]
    head = raw.index(b"\x01", raw.index(b"\x019=") + 1) + 1
    trailer = raw.rindex(b"\x0110=") + 1
    assert int(fields[1][1]) == trailer - head, "BodyLength"
    assert len(fields[-1][1]) == 3 and int(fields[-1][1]) == sum(raw[:trailer]) % 256, "CheckSum"
    assert raw.endswith(b"\x01")
    return {t: v.decode() for t, v in fields}

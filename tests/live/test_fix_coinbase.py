"""The Coinbase dialect served by the local venue (``--profile coinbase``): FIX 4.2, HMAC logon over the
documented prehash, standard D / F / G / H, FIX 4.2 execution types; checked with our own parser."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from fix_venue_helpers import CB_KEY, CB_PASSPHRASE, CB_SECRET, fix_venue
from raw_fix_client import RawFixClient

from live.fix.dialects import coinbase_logon_signature

_NS = 1_000_000_000


def test_the_prehash_is_the_documented_concatenation() -> None:
    """``{SendingTime}A{MsgSeqNum}{apiKey}{TargetCompID}{passphrase}``, HMAC-SHA256, base64 (no vector is
    published with its secret, so this pins the layout: one changed part changes the signature)."""
    args = {"sending_time": "20240627-11:17:25.223", "msg_seq_num": 1, "api_key": "k", "target_comp_id": "COIN",
            "passphrase": "p"}
    base = coinbase_logon_signature("s", **args)  # type: ignore[arg-type]
    assert len(base) == 44 and base.endswith("=")
    for name, other in (("msg_seq_num", 2), ("api_key", "K"), ("target_comp_id", "COIN2"), ("passphrase", "q")):
        assert coinbase_logon_signature("s", **{**args, name: other}) != base  # type: ignore[arg-type]


def _client(venue_port: int) -> asyncio.Future[RawFixClient]:
    return asyncio.ensure_future(RawFixClient.connect(venue_port, begin="FIX.4.2", sender="CB1", target="COIN"))


def test_coinbase_logon_orders_replace_status_and_cancel() -> None:
    async def main() -> None:
        async with fix_venue(profile="coinbase") as venue:
            assert venue.fix is not None
            venue.quote("BTC-USD", Decimal(60000), Decimal("60000.10"))
            now = venue.clock.now_ns
            client = await _client(venue.fix.port)
            client.logon_coinbase(CB_KEY, CB_SECRET, CB_PASSPHRASE, now())
            logon = await client.read_until(lambda f: f[35] == "A")
            assert logon[8] == "FIX.4.2" and logon[49] == "COIN" and 25037 not in logon
            order = [(11, "cb-1"), (21, "1"), (38, "0.01"), (40, "2"), (44, "59990"), (54, "1"), (55, "BTC-USD"),
                     (59, "1")]
            client.send("D", order, now())
            new = await client.read_until(lambda f: f[35] == "8" and f[11] == "cb-1")
            assert (new[150], new[39], new[20]) == ("0", "0", "0")
            client.send("G", [(11, "cb-1b"), (38, "0.02"), (40, "2"), (41, "cb-1"), (44, "59980"), (54, "1"),
                              (55, "BTC-USD"), (59, "1")], now())
            replaced = await client.read_until(lambda f: f[35] == "8" and f[11] == "cb-1b")
            assert (replaced[150], replaced[41], Decimal(replaced[44])) == ("5", "cb-1", Decimal(59980))
            assert venue.venue.orders["cb-1"].request.quantity == Decimal("0.02")
            client.send("H", [(11, "cb-1b"), (55, "BTC-USD")], now())
            status = await client.read_until(lambda f: f[35] == "8" and f[150] == "I")
            assert (status[20], status[39], status[11]) == ("3", "0", "cb-1b")
            client.send("F", [(11, "cb-x"), (41, "cb-1b"), (54, "1"), (55, "BTC-USD")], now())
            cancelled = await client.read_until(lambda f: f[35] == "8" and f[11] == "cb-x")
            assert (cancelled[150], cancelled[39]) == ("4", "4")
            client.send("D", [(11, "cb-2"), (21, "1"), (38, "0.01"), (40, "1"), (54, "1"), (55, "BTC-USD")], now())
            await client.read_until(lambda f: f[35] == "8" and f[11] == "cb-2" and f[150] == "0")
            fill = await client.read_until(lambda f: f[35] == "8" and f[11] == "cb-2")
            assert (fill[150], fill[39], fill[1057]) == ("2", "2", "Y") and Decimal(fill[12]) > 0
            client.send("H", [(11, "nope"), (55, "BTC-USD")], now())
            unknown = await client.read_until(lambda f: f[35] == "8" and f[150] == "I")
            assert unknown[39] == "8" and "Unknown" in unknown[58]
            await client.close()

    asyncio.run(main())


def test_coinbase_logon_refused_for_a_wrong_passphrase_signature_or_a_stale_time() -> None:
    async def main() -> None:
        async with fix_venue(profile="coinbase") as venue:
            assert venue.fix is not None
            now = venue.clock.now_ns()
            for secret, passphrase, at, reason in ((CB_SECRET, "wrong", now, "passphrase"),
                                                   ("other-secret", CB_PASSPHRASE, now, "signature"),
                                                   (CB_SECRET, CB_PASSPHRASE, now - 60 * _NS, "5 seconds")):
                client = await _client(venue.fix.port)
                client.logon_coinbase(CB_KEY, secret, passphrase, at)
                logout = await client.read_until(lambda f: f[35] == "5")
                assert reason in logout[58] and logout[8] == "FIX.4.2"
                assert await client.closed()
            client = await _client(venue.fix.port)  # FIX 4.4 on a FIX 4.2 venue
            client.begin = "FIX.4.4"
            client.logon_coinbase(CB_KEY, CB_SECRET, CB_PASSPHRASE, now)
            assert "BeginString" in (await client.read_until(lambda f: f[35] == "5"))[58]

    asyncio.run(main())

"""The contract kit's ``live-coinbase`` entry: ``CoinbaseAdapter`` against the local venue on 127.0.0.1.

A ``LocalVenue`` with the Coinbase profile (driven by hand, no recording) serves FIX 4.2 order
entry (HMAC logon), Coinbase's market-data WebSocket and Advanced Trade REST (ES256 JWTs of a
CDP key made here from a fixed scalar); the adapter uses all three, in one event loop of the
test's own and one ``ScaledClock`` shared with the venue, as ``live_venue_under_test`` does for
Binance. ``settle`` lets venue time pass, then round-trips the WebSocket and the FIX session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from venue_under_test import PacedAdapter, VenueUnderTest, polite_gap_ns

from harness.clock import ScaledClock
from harness.model import Aggressor
from harness.registry import Credentials
from live.coinbase import CoinbaseAdapter, CoinbaseRestEndpoint
from live.coinbase.jwt_auth import public_pem_of
from live.fix.dialects import FixKey
from live.fix.order_entry import FixEndpoint
from live.serve import LocalVenue, LocalVenueConfig
from sim.venue.matching.types import DepthMode

__all__ = ["CDP_KEY", "CDP_PEM", "LiveCoinbaseUnderTest", "live_coinbase_venue"]

SPEED = 20
_NS = 1_000_000_000
FIX_KEY, FIX_SECRET, FIX_PASSPHRASE = "kit-cb-fix-key", "kit-cb-fix-secret-0123456789", "kit-cb-passphrase"
CDP_KEY = "organizations/kit/apiKeys/kit-rest-key"
CDP_PEM = ec.derive_private_key(0x5EED_C01B_A5E0_0001, ec.SECP256R1()).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
    serialization.NoEncryption()).decode("ascii")


@dataclass
class LiveCoinbaseUnderTest(VenueUnderTest):
    """A ``VenueUnderTest`` whose ``settle`` also waits for the WebSocket and FIX session to deliver."""

    coinbase: CoinbaseAdapter | None = None

    async def settle(self, seconds: int = 1) -> None:
        """Let venue time pass, then round-trip the market-data WebSocket and the FIX session."""
        await self.clock.sleep_ns(seconds * _NS)
        assert self.coinbase is not None
        await self.coinbase.sync_streams(self.symbol)


def live_coinbase_venue() -> Iterator[VenueUnderTest]:
    """The kit's ``live-coinbase`` entry (see the module docstring)."""
    loop = asyncio.new_event_loop()
    clock = ScaledClock(SPEED)
    local = LocalVenue(LocalVenueConfig(profile="coinbase", clock=clock, depth=DepthMode.QUOTES, seed=11, fix_port=0,
                                        fix_keys={FIX_KEY: FixKey(FIX_SECRET, FIX_PASSPHRASE)},
                                        coinbase_keys={CDP_KEY: public_pem_of(CDP_PEM)}))
    url = loop.run_until_complete(local.start())
    assert local.fix is not None
    endpoint = FixEndpoint("127.0.0.1", local.fix.port, "KITCB", logon_timeout_ns=600 * _NS,
                           answer_timeout_ns=600 * _NS)
    adapter = CoinbaseAdapter(endpoint, Credentials(FIX_KEY, FIX_SECRET, FIX_PASSPHRASE), f"{local.ws_url}/", clock,
                              rest=CoinbaseRestEndpoint.local(url), rest_credentials=Credentials(CDP_KEY, CDP_PEM))
    symbol = "BTC-USD"
    try:
        loop.run_until_complete(adapter.connect())
        info = loop.run_until_complete(adapter.get_venue_info()).symbols[symbol]
        paced = PacedAdapter(adapter, clock, polite_gap_ns(local.profile.rate_limits.rules))

        def set_quote(bid: Decimal, ask: Decimal) -> None:
            local.quote(symbol, bid, ask, Decimal(2), Decimal(2))

        def print_trade(price: Decimal, size: Decimal, aggressor: Aggressor) -> None:
            local.trade(symbol, price, size, aggressor)

        def set_book(bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]) -> None:
            local.book(symbol, bids, asks)

        yield LiveCoinbaseUnderTest("coinbase", paced, adapter, clock, symbol, info, loop.run_until_complete,
                                    set_quote, print_trade, set_book, coinbase=adapter)
    finally:
        loop.run_until_complete(adapter.disconnect())
        loop.run_until_complete(local.stop())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

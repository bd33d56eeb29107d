"""The contract kit's live entries: a live adapter against the local venue on 127.0.0.1.

``live_binance_venue`` starts a ``LocalVenue`` (the Binance profile, driven by hand: no
recording) on a free loopback port and connects a ``BinanceAdapter`` to it over real HTTP and
WebSockets (``live-binance-fix``: a ``BinanceFixAdapter``, orders over the venue's FIX acceptor),
in one event loop of the test's own. Both share one ``ScaledClock`` running
``SPEED`` times faster than the wall, so the kit's minutes of venue time (candles) take seconds.
The market driver calls the venue's control handle directly (the venue's own matching and
streams then run as for recorded data). ``settle`` lets venue time pass and then makes a round
trip on the adapter's stream connections (``BinanceAdapter.sync_streams``): whatever the venue
pushed before has been delivered, however loaded the machine is. Timeouts are generous upper
bounds (in venue time, so a slow machine is not mistaken for a dead venue).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from venue_under_test import PacedAdapter, VenueUnderTest, polite_gap_ns

from harness.clock import ScaledClock
from harness.model import Aggressor
from harness.registry import Credentials
from live.binance import BinanceAdapter, BinanceEndpoints, BinanceFixAdapter
from live.bybit import BybitAdapter, BybitEndpoints
from live.fix.dialects import FixKey, ed25519_public_pem
from live.fix.order_entry import FixEndpoint
from live.serve import LocalVenue, LocalVenueConfig
from live.serve.bybit import BybitLocalVenue, BybitVenueConfig
from live.ws.state import WsSettings
from sim.venue.matching.types import DepthMode

SPEED = 20
API_KEY = "kit-api-key-0123456789abcdef"
SECRET = "kit-secret-0123456789abcdef0123456789"
_NS = 1_000_000_000
FIX_KEY = "kit-fix-key-0123456789abcdef"
FIX_PEM = ("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIIJEYWtGBrhACmb9Dvy+qa8WEf0lQOl1s4CLIAB9m89u\n"
           "-----END PRIVATE KEY-----\n")  # the key of Binance's documented FIX vector F1
KIT_WS = WsSettings(ping_interval_ns=60 * _NS, ping_timeout_ns=600 * _NS, open_timeout_ns=600 * _NS)


@dataclass
class LiveVenueUnderTest(VenueUnderTest):
    """A ``VenueUnderTest`` whose ``settle`` also waits for the stream connections to deliver."""

    binance: BinanceAdapter | BybitAdapter | None = None

    async def settle(self, seconds: int = 1) -> None:
        """Let venue time pass, then round-trip every stream connection (a delivery barrier)."""
        await self.clock.sleep_ns(seconds * _NS)
        assert self.binance is not None
        await self.binance.sync_streams()


def live_binance_venue(fix: bool = False) -> Iterator[VenueUnderTest]:
    """The kit's ``live-binance`` entry, or with ``fix`` its ``live-binance-fix`` entry: orders over the
    local venue's FIX acceptor (``BinanceFixAdapter``), the rest over REST and WS (see the module docstring)."""
    loop = asyncio.new_event_loop()
    clock = ScaledClock(SPEED)
    local = LocalVenue(LocalVenueConfig(profile="binance", api_keys={API_KEY: SECRET}, clock=clock,
                                        depth=DepthMode.QUOTES, seed=11, fix_port=0 if fix else None,
                                        fix_keys={FIX_KEY: FixKey(ed25519_public_pem(FIX_PEM))}))
    url = loop.run_until_complete(local.start())
    adapter: BinanceAdapter
    if fix:
        assert local.fix is not None
        endpoint = FixEndpoint("127.0.0.1", local.fix.port, "KIT", logon_timeout_ns=600 * _NS,
                               answer_timeout_ns=600 * _NS)
        adapter = BinanceFixAdapter(BinanceEndpoints.local(url), Credentials(API_KEY, SECRET),
                                    Credentials(FIX_KEY, FIX_PEM), endpoint, clock, ws_settings=KIT_WS,
                                    request_timeout_ns=600 * _NS, recv_window_ms=60_000)
    else:
        adapter = BinanceAdapter(BinanceEndpoints.local(url), Credentials(API_KEY, SECRET), clock,
                                 ws_settings=KIT_WS, request_timeout_ns=600 * _NS, recv_window_ms=60_000)
    try:
        loop.run_until_complete(adapter.connect())
        symbol = "BTCUSDT"
        info = loop.run_until_complete(adapter.get_venue_info()).symbols[symbol]
        paced = PacedAdapter(adapter, clock, polite_gap_ns(local.profile.rate_limits.rules))

        def set_quote(bid: Decimal, ask: Decimal) -> None:
            local.quote(symbol, bid, ask, Decimal(2), Decimal(2))

        def print_trade(price: Decimal, size: Decimal, aggressor: Aggressor) -> None:
            local.trade(symbol, price, size, aggressor)

        def set_book(bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]) -> None:
            local.book(symbol, bids, asks)

        yield LiveVenueUnderTest("binance", paced, adapter, clock, symbol, info, loop.run_until_complete, set_quote,
                                 print_trade, set_book, binance=adapter)
    finally:
        loop.run_until_complete(adapter.disconnect())
        loop.run_until_complete(local.stop())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def live_bybit_venue(linear: bool = False) -> Iterator[VenueUnderTest]:
    """The kit's ``live-bybit`` entry: ``BybitAdapter`` against the local venue's Bybit v5 front; with
    ``linear`` its ``live-bybit-linear`` entry: category ``linear`` against the ``bybit-linear`` profile
    (a perpetual venue: margin, signed positions)."""
    loop = asyncio.new_event_loop()
    clock = ScaledClock(SPEED)
    local = BybitLocalVenue(BybitVenueConfig(profile="bybit-linear" if linear else "bybit",
                                             api_keys={API_KEY: SECRET}, clock=clock, depth=DepthMode.QUOTES, seed=11))
    url = loop.run_until_complete(local.start())
    adapter = BybitAdapter(BybitEndpoints.local(url), Credentials(API_KEY, SECRET), clock, ws_settings=KIT_WS,
                           request_timeout_ns=600 * _NS, recv_window_ms=60_000,
                           category="linear" if linear else "spot")
    try:
        loop.run_until_complete(adapter.connect())
        symbol = "BTCUSDT"
        info = loop.run_until_complete(adapter.get_venue_info()).symbols[symbol]
        paced = PacedAdapter(adapter, clock, polite_gap_ns(local.profile.rate_limits.rules))

        def set_quote(bid: Decimal, ask: Decimal) -> None:
            local.quote(symbol, bid, ask, Decimal(2), Decimal(2))

        def print_trade(price: Decimal, size: Decimal, aggressor: Aggressor) -> None:
            local.trade(symbol, price, size, aggressor)

        def set_book(bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]) -> None:
            local.book(symbol, bids, asks)

        futures = local.profile.futures
        yield LiveVenueUnderTest("bybit", paced, adapter, clock, symbol, info, loop.run_until_complete, set_quote,
                                 print_trade, set_book, binance=adapter,
                                 leverage=futures.default_leverage if futures is not None else None)
    finally:
        loop.run_until_complete(adapter.disconnect())
        loop.run_until_complete(local.stop())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

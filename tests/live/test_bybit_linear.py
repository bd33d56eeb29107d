"""``BybitAdapter(category="linear")`` against the local venue serving the ``bybit-linear`` profile.

The served venue is a ``FuturesVenue``: what the adapter reads over the wire (positions, leverage,
margin mode, the margin account) is compared with the venue's own records, not with numbers
written here. Leverage and margin-mode changes, reduce-only orders and the venue's refusals
(110017, 110026, 110043) go over real HTTP; the ``position`` pushes arrive on the private WS.
The engine's reconciler reads the positions over the wire and finds a change made at the venue.
Funding: the served venue settles at its profile's funding times (every 8 h at 0.01 %), so a
clock started just before a funding time shows the payment in the wallet.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from live_testing import until
from local_venue_helpers import API_KEY, SECRET

from harness.clock import ScaledClock
from harness.contract import FuturesAdapter, InvalidRequestError, MarginMode, NotSupportedError
from harness.engine import EngineConfig, ExecutionEngine
from harness.model import OrderRequest, OrderStatus, OrderType, PositionReport, Side
from harness.orders import ManagedOrder
from harness.positions import PositionState
from harness.reconcile import DiscrepancyKind
from harness.registry import Credentials
from harness.rng import SeededRng
from live.bybit import BybitAdapter, BybitEndpoints
from live.serve.bybit import BybitLocalVenue, BybitVenueConfig
from live.ws.state import WsSettings
from sim.venue.futures_venue import FuturesVenue

D = Decimal
S = "BTCUSDT"
_NS = 1_000_000_000
SETTINGS = WsSettings(ping_interval_ns=60 * _NS, ping_timeout_ns=600 * _NS, open_timeout_ns=600 * _NS)
T = TypeVar("T")


@asynccontextmanager
async def linear_venue(clock: ScaledClock, category: str = "linear") -> AsyncIterator[
        tuple[BybitLocalVenue, FuturesVenue, BybitAdapter]]:
    """The ``bybit-linear`` profile served on 127.0.0.1, quoted 60000 / 60000.1, and a connected adapter."""
    local = BybitLocalVenue(BybitVenueConfig(profile="bybit-linear", api_keys={API_KEY: SECRET}, clock=clock))
    await local.start()
    assert isinstance(local.venue, FuturesVenue)
    local.quote(S, D("60000"), D("60000.1"))
    adapter = BybitAdapter(BybitEndpoints.local(local.rest_url), Credentials(API_KEY, SECRET), clock,
                           ws_settings=SETTINGS, request_timeout_ns=600 * _NS, recv_window_ms=60_000,
                           category=category)
    try:
        await adapter.connect()
        yield local, local.venue, adapter
    finally:
        await adapter.disconnect()
        await local.stop()


def run(body: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run one async test body on a fresh loop."""
    return asyncio.run(body())


def filled(order: ManagedOrder) -> Callable[[], bool]:
    """Whether ``order`` has filled, asked later."""
    return lambda: order.status is OrderStatus.FILLED


def _same(ours: PositionReport, venues: PositionReport) -> None:
    assert (ours.symbol, ours.quantity, ours.average_entry_price, ours.mark_price, ours.unrealized_pnl,
            ours.realized_pnl, ours.leverage, ours.margin_mode, ours.margin) == (
        venues.symbol, venues.quantity, venues.average_entry_price, venues.mark_price, venues.unrealized_pnl,
        venues.realized_pnl, venues.leverage, venues.margin_mode, venues.margin)


def test_positions_leverage_margin_mode_and_reduce_only_over_the_wire() -> None:
    async def body() -> None:
        async with linear_venue(ScaledClock(20)) as (_, venue, adapter):
            assert isinstance(adapter, FuturesAdapter)
            info = await adapter.get_venue_info()
            caps = info.capabilities
            assert (caps.futures, caps.leverage, caps.margin_mode) == (True, True, True)
            rules = venue.profile.symbols[S]
            assert (info.symbols[S].lot_size, info.symbols[S].min_notional) == (rules.lot_size, rules.min_notional)
            pushed: list[PositionReport] = []
            await adapter.subscribe_positions(pushed.append)

            await adapter.set_leverage(S, 5)
            await adapter.set_leverage(S, 5)  # the venue answers 110043 (not modified): the contract's no-op
            await adapter.set_margin_mode(S, MarginMode.ISOLATED)
            await adapter.set_margin_mode(S, MarginMode.ISOLATED)  # already: nothing sent
            assert (venue.settings[S].leverage, venue.settings[S].margin_mode) == (5, "ISOLATED")
            with pytest.raises(InvalidRequestError) as too_high:
                await adapter.set_leverage(S, venue.terms.max_leverage + 1)
            assert too_high.value.code == 110013

            with pytest.raises(InvalidRequestError) as nothing_to_reduce:
                await adapter.submit_order(OrderRequest("ro-0", "bybit", S, Side.SELL, OrderType.MARKET, D("0.1"),
                                                        reduce_only=True))
            assert nothing_to_reduce.value.code == 110017
            opened = await adapter.submit_order(OrderRequest("long-1", "bybit", S, Side.BUY, OrderType.MARKET,
                                                             D("0.1")))
            assert opened.status is OrderStatus.FILLED
            [position] = await adapter.get_positions()
            [truth] = venue.position_reports()
            _same(position, truth)
            assert (position.quantity, position.leverage, position.margin_mode) == (D("0.1"), 5, "ISOLATED")
            balances = await adapter.get_balances()
            usdt = venue.balances()["USDT"]
            assert (balances["USDT"].free, balances["USDT"].locked) == (usdt.free, usdt.locked)
            assert balances["USDT"].locked == truth.margin

            with pytest.raises(InvalidRequestError) as locked:
                await adapter.set_margin_mode(S, MarginMode.CROSS)  # a position holds the mode
            assert locked.value.code == 110026
            with pytest.raises(InvalidRequestError) as too_much:
                await adapter.submit_order(OrderRequest("ro-1", "bybit", S, Side.SELL, OrderType.MARKET, D("0.2"),
                                                        reduce_only=True))
            assert too_much.value.code == 110017
            closed = await adapter.submit_order(OrderRequest("ro-2", "bybit", S, Side.SELL, OrderType.MARKET,
                                                             D("0.1"), reduce_only=True))
            assert closed.status is OrderStatus.FILLED and venue.orders["ro-2"].request.reduce_only
            assert await adapter.get_positions() == [] and venue.position_reports() == []
            await adapter.sync_streams()
            await until(lambda: [p.quantity for p in pushed][-1:] == [D(0)], "the flat position's push")
            # each change was pushed: leverage, margin mode, the fill that opened, the fill that closed
            assert [p.quantity for p in pushed] == [D(0), D(0), D("0.1"), D(0)]
            assert pushed[2].average_entry_price == truth.average_entry_price and pushed[2].leverage == 5

    run(body)


def test_a_short_is_a_negative_position_and_spot_has_no_leverage() -> None:
    async def body() -> None:
        async with linear_venue(ScaledClock(20)) as (_, venue, adapter):
            await adapter.submit_order(OrderRequest("short-1", "bybit", S, Side.SELL, OrderType.MARKET, D("0.3")))
            [position] = await adapter.get_positions()
            _same(position, venue.position_reports()[0])
            assert position.quantity == D("-0.3") and position.average_entry_price == D("60000")
        spot = BybitAdapter(BybitEndpoints.local("http://127.0.0.1:9"), Credentials(API_KEY, SECRET),
                            ScaledClock(1))
        with pytest.raises(NotSupportedError):
            await spot.set_leverage(S, 5)
        with pytest.raises(ValueError, match="inverse"):
            BybitAdapter(BybitEndpoints.local("http://127.0.0.1:9"), Credentials(API_KEY, SECRET), ScaledClock(1),
                         category="inverse")

    run(body)


def test_the_reconciler_finds_a_position_the_venue_changed_over_the_wire() -> None:
    async def body() -> None:
        clock = ScaledClock(20)
        async with linear_venue(clock) as (_, venue, adapter):
            engine = ExecutionEngine({"bybit": adapter}, clock, SeededRng(5),
                                     config=EngineConfig(reconcile_interval_ns=0))
            await engine.start()
            try:
                for coid, side, qty in (("short", Side.SELL, "0.4"), ("cover", Side.BUY, "0.1")):
                    order = engine.create_order(OrderRequest(coid, "bybit", S, side, OrderType.MARKET, D(qty)))
                    await engine.submit(order)
                    await until(filled(order), f"{coid} filled")
                agreed = await engine.reconcile("bybit")
                # the venue halves the short on its own (a liquidation or ADL would): no fill of ours
                venue.positions[S] = PositionState(D("-0.15"), D("60000"), D("30"))
                found = await engine.reconcile("bybit")
                again = await engine.reconcile("bybit")
            finally:
                await engine.stop(cancel_open=False, timeout_ns=5 * _NS)
            assert agreed == [] and again == []
            [discrepancy] = [d for d in found if d.kind is DiscrepancyKind.POSITION_QUANTITY]
            assert discrepancy.key == S
            position = engine.positions.position("bybit", S)
            assert position is not None and (position.quantity, position.average_price) == (D("-0.15"), D("60000"))

    run(body)


def test_funding_settles_at_the_funding_time_and_shows_in_the_wallet() -> None:
    async def body() -> None:
        funding_time = 1_722_000_000 * _NS - 1_722_000_000 * _NS % (8 * 3600 * _NS) + 8 * 3600 * _NS
        clock = ScaledClock(20, origin_ns=funding_time - 30 * _NS)  # 30 s of venue time before 00/08/16 UTC
        async with linear_venue(clock) as (local, venue, adapter):
            await adapter.submit_order(OrderRequest("long-1", "bybit", S, Side.BUY, OrderType.MARKET, D("0.1")))
            before = (await adapter.get_balances())["USDT"]
            assert venue.funding_payments == []
            await clock.sleep_ns(max(0, funding_time - clock.now_ns()) + _NS)
            after = (await adapter.get_balances())["USDT"]
            [payment] = venue.funding_payments
            assert (payment.ts_ns, payment.symbol, payment.rate) == (funding_time, S, venue.terms.funding_rate)
            assert payment.amount == -(D("0.1") * payment.mark_price * venue.terms.funding_rate)
            assert payment.amount < 0  # a long pays a positive rate
            assert (after.free + after.locked) - (before.free + before.locked) == payment.amount
            assert local.category == "linear"

    run(body)

"""The contract kit through the execution layer: each adapter behind ``ExecutionEngine``, end to end.

The adapter kit (``test_contract_kit.py``) calls adapters directly; this one puts each adapter
behind the engine, with the client-side rate limits of its venue's descriptor (or its reported
limits mirrored), and walks one session: start (connect, venue info, reconcile), submit a
resting bid, fill it from public trades, take liquidity with a market order and place two more
bids right after it, reconcile, and stop with those bids left to cancel. No pacing here: keeping
under the venue's limits is the engine's job, so on a venue that allows one order per second
(BISON, Finoa) the back-to-back orders prove the limiter as well.
"""

from __future__ import annotations

from decimal import Decimal

from venue_under_test import MID, VenueUnderTest

from harness.contract_methods import REQUEST_NAMES
from harness.engine import EngineConfig, ExecutionEngine
from harness.model import Aggressor, Liquidity, OrderRequest, OrderStatus, OrderType, Side
from harness.orders import ManagedOrder
from harness.rng import SeededRng

BID = MID


def _ask(v: VenueUnderTest) -> Decimal:
    return BID + v.tick * 10


def test_engine_session_start_submit_fill_reconcile_stop(venue: VenueUnderTest) -> None:
    name, symbol, quantity = venue.name, venue.symbol, venue.quantity()
    venue.set_quote(BID, _ask(venue))
    engine = ExecutionEngine({name: venue.raw}, venue.clock, SeededRng(3),
                             config=EngineConfig(reconcile_interval_ns=0))

    def order(side: Side, kind: OrderType, price: Decimal | None = None) -> ManagedOrder:
        return engine.create_order(OrderRequest("", name, symbol, side, kind, quantity, price=price))

    async def body() -> tuple[dict[str, object], ManagedOrder, ManagedOrder]:
        await engine.start()
        seen: dict[str, object] = {"tradable": engine.tradable(name), "start": list(engine.discrepancies)}
        maker = await engine.submit(order(Side.BUY, OrderType.LIMIT, BID))
        seen["maker_ack"] = maker.status
        venue.print_trade(BID, Decimal(2), Aggressor.SELLER)  # the 2 displayed ahead of us
        venue.print_trade(BID, quantity, Aggressor.SELLER)
        await venue.settle(2)
        taker = await engine.submit(order(Side.SELL, OrderType.MARKET))
        # three orders back to back (two of them arrive within one second of a venue's clock, whatever
        # its window boundaries): where the venue allows one order per second, only the limiter avoids a 429
        for ticks in (5, 6):
            await engine.submit(order(Side.BUY, OrderType.LIMIT, BID - venue.tick * ticks))
        await venue.settle(2)
        seen["reconcile"] = await engine.reconcile(name)
        seen["stop"] = await engine.stop()
        seen["venue_open"] = await venue.raw.get_open_orders(symbol)
        return seen, maker, taker

    seen, maker, taker = venue.run(body())
    assert seen["tradable"] is None and seen["start"] == []
    assert seen["maker_ack"] is OrderStatus.OPEN
    assert maker.status is OrderStatus.FILLED and taker.status is OrderStatus.FILLED
    assert {f.liquidity for f in maker.fills} == {Liquidity.MAKER} and all(f.price == BID for f in maker.fills)
    assert {f.liquidity for f in taker.fills} == {Liquidity.TAKER}
    assert sum(f.quantity for f in maker.fills) == sum(f.quantity for f in taker.fills) == quantity
    position = engine.positions.position(name, symbol)
    assert position is not None and position.quantity == 0  # bought then sold the same quantity
    assert seen["reconcile"] == []  # the venue agrees with the engine
    assert seen["stop"] == {"completed": 0, "abandoned": 0, "cancelled": 2}
    assert seen["venue_open"] == [] and all(o.is_terminal for o in engine.orders)
    assert [o.status for o in engine.orders].count(OrderStatus.CANCELLED) == 2
    descriptor = venue.raw.descriptor
    records = engine.audit_records()
    assert records and {r.venue for r in records} == {name}
    for record in records:
        assert record.method in REQUEST_NAMES and record.endpoint == descriptor.endpoint(record.method)
    refused = [r for r in records if r.error_category == "RATE_LIMITED"]
    assert refused == []  # the client-side limits kept every request within the venue's
    assert {"submit_order", "cancel_order", "get_open_orders_all", "get_venue_info"} <= {r.method for r in records}

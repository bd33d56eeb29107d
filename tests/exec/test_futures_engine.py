"""Positions of a perpetual venue reconciled as the venue reports them.

The engine's ``PositionBook`` is built from our fills; the simulated Bybit linear venue reports
its own signed positions (``get_positions``). When they agree nothing happens; when the venue's
position changes without a fill of ours (a liquidation or an auto-deleveraging does that on a
real venue), reconciliation reports the discrepancy, adopts the venue's size and entry, alerts,
and the run tables carry the discrepancy. Leverage and margin mode go through the engine's gateway
like every venue request: rate-limited and audited.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from constant_latency import constant_profile

from harness.context import ExecutionContext
from harness.contract import InvalidRequestError, MarginMode, NotSupportedError
from harness.engine import EngineConfig, ExecutionEngine
from harness.model import OrderRequest, OrderType, Quote, Side
from harness.positions import PositionState
from harness.reconcile import Discrepancy, DiscrepancyKind
from harness.rng import SeededRng
from harness.strategy import Strategy, StrategyContext
from reports.run_tables import engine_tables
from scenarios.world import SimWorld
from sim.venue.futures_venue import FuturesVenue

D = Decimal
V, S = "bybit", "BTCUSDT"


def test_the_engine_agrees_with_the_venue_then_adopts_a_position_the_venue_changed() -> None:
    with SimWorld({V: constant_profile("bybit-linear")}, seed=5) as world:
        world.quote(V, S, bid="60000", ask="60000.1")
        engine = ExecutionEngine(world.adapters, world.clock, SeededRng(5),
                                 config=EngineConfig(reconcile_interval_ns=0))

        async def main() -> tuple[list[Discrepancy], list[Discrepancy], list[Discrepancy]]:
            await engine.start()
            for coid, side, qty in (("short", Side.SELL, "0.4"), ("cover", Side.BUY, "0.1")):
                order = engine.create_order(OrderRequest(coid, V, S, side, OrderType.MARKET, D(qty)))
                await engine.submit(order)
                await world.clock.sleep(1)
            agreed = await engine.reconcile(V)
            # the venue halves the short on its own (as a liquidation or ADL would): no fill of ours
            world.venues[V].positions[S] = PositionState(D("-0.15"), D("60000"), D("30"))
            await world.clock.sleep(1)
            found = await engine.reconcile(V)
            again = await engine.reconcile(V)
            await engine.stop()
            return agreed, found, again

        agreed, found, again = world.run(main())
        assert agreed == [] and again == []
        position = engine.positions.position(V, S)
        assert position is not None and (position.quantity, position.average_price) == (D("-0.15"), D("60000"))
        [discrepancy] = [d for d in found if d.kind is DiscrepancyKind.POSITION_QUANTITY]
        assert (discrepancy.venue, discrepancy.key) == (V, S)
        assert D(discrepancy.ours) == D("-0.3") and D(discrepancy.venue_value) == D("-0.15")
        assert any(a.kind == "position_discrepancy" for a in engine.alerts.alerts)
        rows, _ = engine_tables(engine)["discrepancies"]
        assert [(r["kind"], r["key"]) for r in rows] == [("POSITION_QUANTITY", S)]
        history, _ = engine_tables(engine)["position_history"]
        assert history[-1]["change"] == "RECONCILE" and history[-1]["new_quantity"] == D("-0.15")


def test_the_venue_reports_what_a_perpetual_position_is() -> None:
    with SimWorld({V: constant_profile("bybit-linear")}, seed=5) as world:
        world.quote(V, S, bid="60000", ask="60000.1")
        adapter = world.adapters[V]
        world.run(adapter.set_leverage(S, 25))
        world.run(adapter.submit_order(OrderRequest("l", V, S, Side.BUY, OrderType.MARKET, D("0.25"))))
        world.quote(V, S, bid="60100", ask="60100.2")
        world.run(world.clock.sleep(1))
        [report] = world.run(adapter.get_positions())
        assert (report.venue, report.symbol, report.quantity, report.average_entry_price) == (
            V, S, D("0.25"), D("60000.1"))
        assert report.mark_price == D("60100.1") and report.unrealized_pnl == D("25")  # 0.25 * 100
        assert (report.leverage, report.margin_mode, report.margin) == (25, "CROSS", D("600.001"))
        assert report.realized_pnl == 0


def test_leverage_and_margin_mode_go_through_the_gateway_audited_and_refused_on_spot() -> None:
    with SimWorld({V: constant_profile("bybit-linear"), "binance": constant_profile("binance")}, seed=5) as world:
        engine = ExecutionEngine(world.adapters, world.clock, SeededRng(5),
                                 config=EngineConfig(reconcile_interval_ns=0))

        async def main() -> None:
            await engine.start()
            await engine.gateways[V].set_leverage(S, 3)
            await engine.gateways[V].set_margin_mode(S, MarginMode.ISOLATED)
            with pytest.raises(InvalidRequestError) as refused:
                await engine.gateways[V].set_leverage(S, 1000)
            assert refused.value.code == 110013
            with pytest.raises(NotSupportedError):
                await engine.gateways["binance"].set_leverage(S, 3)
            await engine.stop()

        world.run(main())
        settings = world.venues[V].settings[S]  # type: ignore[attr-defined]
        assert (settings.leverage, settings.margin_mode) == (3, "ISOLATED")
        results = [(r.method, r.endpoint, r.success, r.request.get("leverage", r.request.get("mode")))
                   for r in engine.audit_records() if r.phase == "result" and r.method.startswith("set_")]
        assert results == [
            ("set_leverage", "POST /v5/position/set-leverage", True, "3"),
            ("set_margin_mode", "POST /v5/position/switch-isolated", True, "ISOLATED"),
            ("set_leverage", "POST /v5/position/set-leverage", False, "1000"),
            ("set_leverage", "set_leverage", False, "3"),
        ]


class _Leveraged(Strategy):
    """Sets 4x isolated in on_start, buys 0.2, then closes with a reduce-only sell (a test strategy)."""

    def on_start(self, ctx: StrategyContext) -> None:
        super().on_start(ctx)
        ctx.set_margin_mode(V, S, MarginMode.ISOLATED)
        ctx.set_leverage(V, S, 4)
        ctx.set_leverage("binance", S, 4)  # a spot venue: refused, to the event log
        ctx.set_leverage(V, S, 0)  # out of range: refused

    def on_quote(self, quote: Quote) -> None:
        if not self.ctx.open_orders() and self.ctx.position(V, S) == 0 and not getattr(self, "done", False):
            self.ctx.submit(V, S, Side.BUY, D("0.2"), order_type=OrderType.MARKET)
        elif self.ctx.position(V, S) > 0 and not self.ctx.open_orders():
            self.done = True
            self.ctx.submit(V, S, Side.SELL, D("0.5"), order_type=OrderType.MARKET, reduce_only=True)  # too big
            self.ctx.submit(V, S, Side.SELL, D("0.2"), order_type=OrderType.MARKET, reduce_only=True)


def test_a_strategy_sets_leverage_and_margin_mode_and_closes_reduce_only() -> None:
    events: list[tuple[str, str]] = []

    class Log:
        def order(self, report: object) -> None: ...
        def fill(self, fill: object) -> None: ...
        def position(self, ts_ns: int, venue: str, symbol: str, quantity: Decimal) -> None: ...
        def event(self, ts_ns: int, kind: str, message: str) -> None:
            events.append((kind, message))

    with SimWorld({V: constant_profile("bybit-linear"), "binance": constant_profile("binance")}, seed=5) as world:
        world.quote(V, S, bid="60000", ask="60000.1")
        context = ExecutionContext(world.adapters, world.clock, SeededRng(5).stream("strategy"), log=Log())
        strategy = _Leveraged()

        async def main() -> None:
            await context.start(strategy)
            for bid in ("60000.5", "60001", "60001.5", "60002"):
                await world.clock.sleep(1)
                world.quote(V, S, bid=bid, ask=str(D(bid) + D("0.1")))
            await world.clock.sleep(1)
            await context.stop()

        world.run(main())
        venue = world.venues[V]
        assert isinstance(venue, FuturesVenue)
        assert (venue.settings[S].leverage, venue.settings[S].margin_mode) == (4, "ISOLATED")
        assert venue.position_reports() == [] and [f.side for f in venue.fills] == [Side.BUY, Side.SELL]
        kinds = [kind for kind, _ in events]
        assert kinds.count("set_leverage") == 1 and kinds.count("set_margin_mode") == 1
        refused = [message for kind, message in events if kind == "set_leverage-refused"]
        assert sorted(refused) == [
            "binance BTCUSDT 4: [binance] INVALID_REQUEST: this venue has no leverage setting",
            "bybit BTCUSDT 0: [bybit] INVALID_REQUEST: Due to risk limit, cannot set leverage (code 110013)"]
        assert any("110017" in message for kind, message in events if kind == "reject")

"""A full replay run on the shipped sample: the market maker trades, funds are conserved, runs repeat."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from harness.strategy import StrategyLoadError
from scenarios.demo import import_sample
from scenarios.replay import NS, POLL_NS, VenueSetup, poll_step, run_replay

MM = "strategies.market_maker:PassiveMarketMaker"


@pytest.fixture(scope="module")
def canonical(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("canon")
    import_sample(out)
    return sorted(out.glob("*.parquet"))


def test_market_maker_run_is_byte_identical_per_seed(canonical: list[Path], tmp_path: Path) -> None:
    first = run_replay(canonical, [VenueSetup("binance", "binance")], MM, seed=3, out_dir=tmp_path / "a")
    second = run_replay(canonical, [VenueSetup("binance", "binance")], MM, seed=3, out_dir=tmp_path / "b")
    assert first.run_dir.name == second.run_dir.name
    names = sorted(p.name for p in first.run_dir.iterdir())
    assert names == ["alerts.parquet", "audit.parquet", "balances.parquet", "discrepancies.parquet",
                     "events.parquet", "fills.parquet", "journal.sqlite", "manifest.json", "orders.parquet",
                     "position_history.parquet", "positions.parquet", "positions_final.parquet"]
    for name in names:
        assert (first.run_dir / name).read_bytes() == (second.run_dir / name).read_bytes(), name


def test_fills_settle_balances_exactly(canonical: list[Path], tmp_path: Path) -> None:
    result = run_replay(canonical, [VenueSetup("binance", "binance")], MM, seed=1, out_dir=tmp_path)
    fills = pq.read_table(result.run_dir / "fills.parquet").to_pylist()
    assert len(fills) > 10
    assert all(f["liquidity"] == "MAKER" for f in fills)  # post-only quotes only ever make
    btc, usdt = Decimal(10), Decimal(1_000_000)  # default_balances of the binance profile
    for f in fills:
        sign = 1 if f["side"] == "BUY" else -1
        btc += sign * f["quantity"] - (f["fee"] if f["fee_asset"] == "BTC" else 0)
        usdt -= sign * f["price"] * f["quantity"] + (f["fee"] if f["fee_asset"] == "USDT" else 0)
    final = result.final_balances["binance"]
    assert final["BTC"][1] == 0 and final["USDT"][1] == 0  # nothing locked once every order ended
    assert final["BTC"][0] == btc
    assert final["USDT"][0] == usdt
    # Binance fees: 0.1 % of the received asset, exact
    buy = next(f for f in fills if f["side"] == "BUY")
    assert buy["fee"] == (buy["quantity"] * Decimal("0.001")).quantize(Decimal("1e-9"))


def test_market_data_latency_can_be_resampled_from_the_recording(canonical: list[Path], tmp_path: Path) -> None:
    from scenarios.replay import _profile_for
    from sim.venue.latency import Empirical, LogNormal

    setup = VenueSetup("binance", "binance", market_latency="data")
    profile = _profile_for(setup, canonical)
    model = profile.latency.market_data
    assert isinstance(model, Empirical)
    shipped = _profile_for(VenueSetup("binance", "binance"), canonical).latency.market_data
    assert isinstance(shipped, LogNormal)  # the profile's own model, whose floor the recording keeps
    floor = shipped.floor_ns
    assert model.samples_ns[0] == floor  # de-skewed: the fastest recorded delay sits at the floor
    assert len(set(model.samples_ns)) > 100  # real spread of recorded delays, not one constant
    result = run_replay(canonical, [setup], MM, seed=2, out_dir=tmp_path)
    assert result.manifest["config"]["venues"][0]["market_latency"] == "data"
    with pytest.raises(ValueError, match="market_latency"):
        _profile_for(VenueSetup("binance", "binance", market_latency="fast"), canonical)


def test_one_recording_drives_another_venue_under_its_own_symbols(canonical: list[Path], tmp_path: Path) -> None:
    from scenarios.replay import symbol_map_between
    from sim.venue.profile import load_profile

    assert symbol_map_between("binance", load_profile("okx")) == {"BTCUSDT": "BTC-USDT"}
    assert symbol_map_between(None, load_profile("okx")) == {}
    setup = VenueSetup("okx", "okx", data_venue="binance")
    result = run_replay(canonical, [setup], MM, params={"venue": "okx", "symbol": "BTC-USDT"}, seed=4,
                        out_dir=tmp_path)
    fills = pq.read_table(result.run_dir / "fills.parquet").to_pylist()
    assert len(fills) > 10
    assert {(f["venue"], f["symbol"]) for f in fills} == {("okx", "BTC-USDT")}
    # okx's tick is 0.1: every quote the market maker placed sits on it, although the data ticks by 0.01
    assert all(f["price"] % Decimal("0.1") == 0 for f in fills)


def test_run_directory_holds_the_execution_layer_records(canonical: list[Path], tmp_path: Path) -> None:
    result = run_replay(canonical, [VenueSetup("binance", "binance")], MM, seed=1, out_dir=tmp_path)
    audit = pq.read_table(result.run_dir / "audit.parquet").to_pylist()
    submits = [r for r in audit if r["endpoint"] == "POST /api/v3/order"]
    assert submits and {r["phase"] for r in submits} == {"intent", "result"}
    assert all(r["error_category"] != "RATE_LIMITED" for r in audit)  # the client limiter kept us under
    final = pq.read_table(result.run_dir / "positions_final.parquet").to_pylist()
    per_venue = [r for r in final if r["venue"] == "binance"]
    aggregate = [r for r in final if r["aggregate"]]
    assert len(per_venue) == 1 and len(aggregate) == 1
    assert aggregate[0]["quantity"] == per_venue[0]["quantity"]
    fills = pq.read_table(result.run_dir / "fills.parquet").to_pylist()
    signed = sum(f["quantity"] if f["side"] == "BUY" else -f["quantity"] for f in fills)
    assert per_venue[0]["quantity"] == signed  # position = sum of fills
    if signed:  # marked at the closing mid: unrealized = (mid - average entry) * quantity
        mid = (per_venue[0]["unrealized_pnl"] / signed) + per_venue[0]["average_price"]
        assert Decimal("61000") < mid < Decimal("62500")
    history = pq.read_table(result.run_dir / "position_history.parquet").to_pylist()
    assert len(history) == len(fills)
    assert pq.read_table(result.run_dir / "discrepancies.parquet").num_rows == 0


def test_multi_venue_replay_routes_and_records_decisions(canonical: list[Path], tmp_path: Path) -> None:
    import json

    from harness.router import RouterConfig, RoutingCriteria

    venues = [VenueSetup("binance", "binance"), VenueSetup("okx", "okx", data_venue="binance")]
    router = RouterConfig(criteria=RoutingCriteria.BEST_PRICE, priority=("okx", "binance"))
    params = {"venue": "router", "instrument": "BTC/USDT", "quantity": "0.02", "slices": "4", "interval_s": "60"}
    result = run_replay(canonical, venues, "strategies.twap:TwapTaker", params=params, seed=2, out_dir=tmp_path,
                        router=router)
    decisions = pq.read_table(result.run_dir / "decisions.parquet").to_pylist()
    assert len({d["decision_id"] for d in decisions}) == 4
    for d in decisions:
        reasoning = json.loads(d["reasoning"])
        assert {v["venue"] for v in reasoning["venues"]} == {"binance", "okx"}  # both books were considered
        assert all(v["best_ask"] and v["ask_depth"] for v in reasoning["venues"])
        assert d["symbol"] == {"binance": "BTCUSDT", "okx": "BTC-USDT"}[d["venue"]]
        assert d["filled_quantity"] == d["allocated_quantity"] and d["fill_price"] is not None
        assert d["time_to_fill_ns"] > 0
    fills = pq.read_table(result.run_dir / "fills.parquet").to_pylist()
    assert sum(f["quantity"] for f in fills) == Decimal("0.02")
    final = pq.read_table(result.run_dir / "positions_final.parquet").to_pylist()
    legs = [r for r in final if not r["aggregate"]]
    total = [r for r in final if r["aggregate"]]
    assert [r["instrument"] for r in total] == ["BTC/USDT"]
    assert total[0]["quantity"] == sum(r["quantity"] for r in legs) == Decimal("0.02")


def test_market_maker_quotes_around_trades_on_trades_only_data(canonical: list[Path], tmp_path: Path) -> None:
    from sim.venue.matching.types import DepthMode

    trades_only = [p for p in canonical if p.name.endswith(".trades.parquet")]
    setup = VenueSetup("binance", "binance", depth=DepthMode.TRADES)
    result = run_replay(trades_only, [setup], MM, params={"quote_on": "trade"}, seed=6, out_dir=tmp_path)
    fills = pq.read_table(result.run_dir / "fills.parquet").to_pylist()
    assert len(fills) > 10 and all(f["liquidity"] == "MAKER" for f in fills)
    with pytest.raises(StrategyLoadError, match="parameter 'quote_on': 'book' is not one of quote, trade"):
        run_replay(trades_only, [setup], MM, params={"quote_on": "book"}, seed=6, out_dir=tmp_path / "bad")
    assert not (tmp_path / "bad").exists()  # refused before the run started: no run directory
    # the main task polls in 10 s steps but never past the data's end: the run closes within
    # a few seconds of it (a poll step of a second, the final second for data in flight, the stop)
    last_ns = result.manifest["time_range_ns"][1]
    closing = max(row["ts_ns"] for row in pq.read_table(result.run_dir / "balances.parquet").to_pylist())
    assert last_ns < closing < last_ns + 3 * NS


def test_poll_step_never_sleeps_past_the_end_of_the_data() -> None:
    end = 100 * NS
    assert poll_step(0, end) == POLL_NS
    assert poll_step(end - 3 * NS, end) == 3 * NS
    assert poll_step(end, end) == NS
    assert poll_step(end + 5 * NS, end) == NS

"""The API a user writes a replay against: ``run_replay`` with a strategy instance or class, its
result, engine/latency/journal choices from Python and from ``harness replay``, the depth said
once, and order amounts that are not ``Decimal`` refused by name."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from synthetic import write_tape

from harness.cli import main
from harness.engine import EngineConfig
from harness.model import OrderModification, OrderRequest, OrderType, Side, Trade
from harness.strategy import Strategy, StrategyContext, StrategyLoadError
from scenarios.replay import RunFailedError, VenueSetup, run_replay
from scenarios.replay_options import ZERO_LATENCY, engine_config_from_text, latency_from_text
from sim.venue.latency import Constant
from sim.venue.profile import load_profile

SYMBOL = "BTCUSDT"


class BuyOnce(Strategy):
    """Counts trades and buys once at market on the 100th one (a user's plain strategy)."""

    def __init__(self, **params: str) -> None:
        super().__init__(**params)
        self.trades = 0

    def on_start(self, ctx: StrategyContext) -> None:
        super().on_start(ctx)
        self.ctx.subscribe_trades("binance", SYMBOL)

    def on_trade(self, trade: Trade) -> None:
        self.trades += 1
        if self.trades == 100:
            self.ctx.submit("binance", SYMBOL, Side.BUY, Decimal(self.params.get("qty", "0.01")),
                            order_type=OrderType.MARKET)


class FixedPointPrice(BuyOnce):
    """Passes a fixed-point int as the price, the mistake that used to be refused by PRICE_FILTER."""

    def on_trade(self, trade: Trade) -> None:
        self.ctx.submit("binance", SYMBOL, Side.BUY, Decimal("0.01"), price=trade.price)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def tape(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_tape(tmp_path_factory.mktemp("tape"), "binance", SYMBOL, n=600)


def _setup() -> list[VenueSetup]:
    return [VenueSetup("binance", "binance")]


def test_an_instance_runs_as_it_is_and_comes_back_with_positions_and_summary(tape: list[Path], tmp_path: Path) -> None:
    strategy = BuyOnce(qty="0.02")
    result = run_replay(tape, _setup(), strategy, seed=1, out_dir=tmp_path, progress=False)
    assert result.strategy is strategy and strategy.trades == 600
    [position] = [p for p in result.positions if p.symbol == SYMBOL]
    assert position.quantity == Decimal("0.02")
    assert result.summary[0].startswith(f"run {result.run_dir.name}: strategy {__name__}:BuyOnce")
    assert any(line.startswith("fills: 1 ") for line in result.summary)
    assert result.manifest["config"]["strategy"] == f"{__name__}:BuyOnce"
    assert result.run_dir.name.startswith("buyonce-seed1-") and result.final_balances["binance"]["BTC"][0] > 0


def test_a_class_is_built_with_params_and_gives_the_run_a_text_name_gives(tape: list[Path], tmp_path: Path) -> None:
    by_class = run_replay(tape, _setup(), BuyOnce, params={"qty": "0.03"}, seed=1, out_dir=tmp_path / "a",
                          progress=False)
    assert isinstance(by_class.strategy, BuyOnce) and by_class.strategy.params == {"qty": "0.03"}
    assert by_class.positions[0].quantity == Decimal("0.03")
    with pytest.raises(StrategyLoadError, match="params"):
        run_replay(tape, _setup(), BuyOnce(), params={"qty": "1"}, out_dir=tmp_path / "b", progress=False)
    with pytest.raises(StrategyLoadError, match="Strategy instance, a Strategy subclass"):
        run_replay(tape, _setup(), 42, out_dir=tmp_path / "c", progress=False)  # type: ignore[arg-type]


def test_engine_config_latency_and_no_journal_change_the_run_and_its_id(tape: list[Path], tmp_path: Path) -> None:
    plain = run_replay(tape, _setup(), BuyOnce, seed=1, out_dir=tmp_path, progress=False)
    assert (plain.run_dir / "journal.sqlite").exists() and "engine" not in plain.manifest["config"]
    tuned = run_replay(tape, _setup(), BuyOnce, seed=1, out_dir=tmp_path, progress=False, journal=False,
                       engine_config=EngineConfig(reconcile_interval_ns=0, health_interval_ns=0),
                       latency={"binance": ZERO_LATENCY})
    config = tuned.manifest["config"]
    assert config["engine"] == {"reconcile_interval_ns": "0", "health_interval_ns": "0"}
    assert config["latency"]["binance"]["order_entry"] == "constant:0" and config["journal"] is False
    assert tuned.run_dir != plain.run_dir and not (tuned.run_dir / "journal.sqlite").exists()
    # zero latency: the market order fills at the virtual time it was sent (the plain run's later)
    fills = {name: pq.read_table(r.run_dir / "fills.parquet").column("ts_ns").to_pylist()
             for name, r in (("plain", plain), ("tuned", tuned))}
    orders = pq.read_table(tuned.run_dir / "orders.parquet").column("ts_ns").to_pylist()
    assert fills["tuned"] == [min(orders)] and fills["plain"][0] > min(orders)
    with pytest.raises(ValueError, match="not venues of this run"):
        run_replay(tape, _setup(), BuyOnce, out_dir=tmp_path, progress=False, latency={"okx": ZERO_LATENCY})


def test_trades_only_data_means_trades_matching_said_once(tape: list[Path], tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    trades = [p for p in tape if p.name.endswith(".trades.parquet")]
    two = [VenueSetup("binance", "binance"), VenueSetup("copy", "binance", data_venue="binance")]
    with caplog.at_level(logging.INFO, logger="scenarios.replay"):
        result = run_replay(trades, two, BuyOnce, seed=1, out_dir=tmp_path, progress=False)
    said = [r for r in caplog.records if r.name == "scenarios.replay"]
    assert len(said) == 1 and said[0].levelno == logging.WARNING
    assert "trades matching on binance, copy" in said[0].getMessage()
    assert [v["depth"] for v in result.manifest["config"]["venues"]] == ["TRADES", "TRADES"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="scenarios.replay"):
        run_replay(tape, _setup(), BuyOnce, seed=1, out_dir=tmp_path, progress=False)
    said = [r for r in caplog.records if r.name == "scenarios.replay"]
    assert len(said) == 1 and said[0].levelno == logging.INFO and "quotes matching" in said[0].getMessage()


def test_a_fixed_point_price_is_a_type_error_naming_it(tape: list[Path], tmp_path: Path) -> None:
    with pytest.raises(RunFailedError) as failed:
        run_replay(tape, _setup(), FixedPointPrice, seed=1, out_dir=tmp_path, progress=False)
    assert isinstance(failed.value.error, TypeError)
    assert "ctx.submit: price must be a Decimal, got int" in str(failed.value.error)
    assert "from_fixed" in str(failed.value.error)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: OrderRequest("", "binance", SYMBOL, Side.BUY, OrderType.LIMIT, 10**7, price=Decimal(1)),  # type: ignore[arg-type]  # the wrong type is the point
     "OrderRequest: quantity must be a Decimal, got int"),
    (lambda: OrderRequest("", "binance", SYMBOL, Side.BUY, OrderType.LIMIT, Decimal(1), price=60000.5),  # type: ignore[arg-type]  # the wrong type is the point
     "OrderRequest: price must be a Decimal, got float"),
    (lambda: OrderRequest("", "binance", SYMBOL, Side.SELL, OrderType.STOP_MARKET, Decimal(1), stop_price=5),  # type: ignore[arg-type]  # the wrong type is the point
     "OrderRequest: stop_price must be a Decimal"),
    (lambda: OrderModification(new_quantity=3), "OrderModification: new_quantity must be a Decimal"),  # type: ignore[arg-type]  # the wrong type is the point
])
def test_requests_refuse_amounts_that_are_not_decimal(build: Callable[[], object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        build()
    OrderRequest("", "binance", SYMBOL, Side.BUY, OrderType.LIMIT, Decimal(1), price=Decimal("60000.5"))


def test_cli_options_reach_the_run(tape: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = tmp_path / "kept.sqlite"
    code = main(["replay", "--data", *map(str, tape), "--strategy", f"{__name__}:BuyOnce", "--seed", "2",
                 "--out", str(tmp_path / "runs"), "--zero-latency", "--latency", "binance:market_data=1000",
                 "--engine", "reconcile_interval_ns=0", "--engine", "pause_on_quality_alert=true",
                 "--journal", str(journal), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("run buyonce-seed2-")
    [run_dir] = (tmp_path / "runs").iterdir()
    config = json.loads((run_dir / "manifest.json").read_text())["config"]
    assert config["engine"] == {"reconcile_interval_ns": "0", "pause_on_quality_alert": "True"}
    assert config["latency"]["binance"]["market_data"] == "constant:1000"
    assert config["latency"]["binance"]["response"] == "constant:0"
    assert journal.exists() and (run_dir / "journal.sqlite").exists()
    for bad, said in ((["--engine", "nope=1"], "--engine 'nope=1'"), (["--latency", "okx:all=1"], "--latency"),
                      (["--engine", "max_lookups=x"], "whole number"),
                      (["--no-journal", "--journal", str(journal)], "exclude each other")):
        assert main(["replay", "--data", *map(str, tape), "--strategy", f"{__name__}:BuyOnce",
                     "--out", str(tmp_path / "runs"), "--no-progress", *bad]) == 2
        assert said in capsys.readouterr().err


def test_option_parsers() -> None:
    profiles = {"binance": load_profile("binance")}
    overrides = latency_from_text(["binance:order_entry=5"], ["binance"], zero=False, profiles=profiles)
    assert overrides["binance"].order_entry == Constant(5)
    assert overrides["binance"].market_data == profiles["binance"].latency.market_data
    assert engine_config_from_text([]) is None
    assert engine_config_from_text(["error_rate_alert=0.25"]) == EngineConfig(error_rate_alert=Decimal("0.25"))

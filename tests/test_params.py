"""Declared strategy parameters: unknown names and invalid values are refused before a run starts."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from synthetic import write_tape

from harness.cli import main
from harness.params import Param, StrategyParamError, parse_params
from harness.strategy import Strategy, StrategyLoadError, load_strategy

MM = "strategies.market_maker:PassiveMarketMaker"


class Declared(Strategy):
    """A strategy with one parameter of each kind."""

    parameters = (
        Param("size", Decimal, "0.001", "order size", positive=True),
        Param("levels", int, "3", "levels per side", minimum=1),
        Param("side", str, "both", "sides", choices=("buy", "sell", "both")),
        Param("hedge", bool, "no", "hedge fills"),
        Param("symbol", str, None, "instrument"),
    )


def test_defaults_and_typed_values() -> None:
    strategy = Declared(size="0.5", hedge="yes")
    assert strategy.param("size") == Decimal("0.5") and isinstance(strategy.param("size"), Decimal)
    assert strategy.param("levels") == 3 and strategy.param("side") == "both"
    assert strategy.param("hedge") is True and strategy.param("symbol") is None
    assert strategy.params == {"size": "0.5", "hedge": "yes"}  # the strings as given stay
    with pytest.raises(KeyError, match="declares no parameter 'sizee'"):
        strategy.param("sizee")


@pytest.mark.parametrize(("given", "message"), [
    ({"sizee": "1"}, "Declared takes no parameter 'sizee' (it takes: hedge, levels, side, size, symbol)"),
    ({"size": "abc"}, "parameter 'size': 'abc' is not a number"),
    ({"size": "-1"}, "parameter 'size': must be positive, got -1"),
    ({"size": "NaN"}, "parameter 'size': 'NaN' is not a finite number"),
    ({"levels": "1.5"}, "parameter 'levels': '1.5' is not a whole number"),
    ({"levels": "0"}, "parameter 'levels': must be at least 1, got 0"),
    ({"side": "up"}, "parameter 'side': 'up' is not one of buy, sell, both"),
    ({"hedge": "maybe"}, "parameter 'hedge': 'maybe' is not true/false"),
])
def test_invalid_parameters_are_refused_naming_them(given: dict[str, str], message: str) -> None:
    with pytest.raises(StrategyParamError) as info:
        Declared(**given)
    assert str(info.value) == message


def test_a_declaration_is_checked_when_written() -> None:
    with pytest.raises(TypeError, match="never float"):
        Param("size", float, "1")
    with pytest.raises(StrategyParamError, match="must be positive"):
        Param("size", Decimal, "0", positive=True)
    assert parse_params((), {}, owner="x") == {}


def test_load_strategy_reports_bad_parameters_of_the_shipped_strategies() -> None:
    with pytest.raises(StrategyLoadError, match="parameter 'size': must be positive"):
        load_strategy(MM, {"size": "-1"})
    with pytest.raises(StrategyLoadError, match="takes no parameter 'spread'"):
        load_strategy("strategies.twap:TwapTaker", {"spread": "2"})


def test_the_replay_command_refuses_bad_parameters_and_replays_data_given_twice_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_tape(tmp_path / "data", "binance", "BTCUSDT", n=200)
    base = ["replay", "--venue", "binance", "--strategy", MM, "--out", str(tmp_path / "runs"), "--no-progress"]
    assert main([*base, "--data", str(tmp_path / "data"), "--param", "size=abc"]) == 2
    assert "parameter 'size': 'abc' is not a number" in capsys.readouterr().err
    assert main([*base, "--data", str(tmp_path / "data"), "--param", "sise=1"]) == 2
    assert "takes no parameter 'sise'" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # nothing was run
    assert main([*base, "--data", str(tmp_path / "data"), str(data[0])]) == 0  # a file named twice
    [run] = list((tmp_path / "runs").iterdir())
    manifest = json.loads((run / "manifest.json").read_text())
    assert sorted(manifest["config"]["data"]) == sorted(p.name for p in data)  # each file replayed once

"""The ``harness`` command as a user meets it: version, what ships, and errors on stderr with exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.version import code_version
from sim.venue.profile import available_profiles


def test_version_names_the_package_and_the_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    version = code_version()
    assert out.startswith("harness ") and str(version["package"]) in out


def test_strategies_lists_every_shipped_strategy_as_a_replay_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["strategies"]) == 0
    lines = capsys.readouterr().out.splitlines()
    targets = [line.split()[0] for line in lines]
    assert "strategies.market_maker:PassiveMarketMaker" in targets and "strategies.twap:TwapTaker" in targets
    assert all(len(line.split(None, 1)) == 2 and "``" not in line for line in lines)  # each with plain words


def test_profiles_lists_every_shipped_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == sorted(available_profiles()) and len(names) == 10  # eight seed venues, two perpetuals


@pytest.mark.parametrize(("args", "message"), [
    (["--data", "{missing}", "--venue", "binance", "--strategy", "strategies.twap:TwapTaker"],
     "no such file or directory"),
    (["--data", "{empty}", "--venue", "binance", "--strategy", "nosuchmodule:Strategy"],
     "cannot import strategy module 'nosuchmodule'"),
    (["--data", "{empty}", "--venue", "binance", "--venue", "binance", "--strategy", "strategies.twap:TwapTaker"],
     "'binance' given twice"),
])
def test_replay_errors_go_to_stderr_with_exit_2_and_nothing_on_stdout(args: list[str], message: str,
                                                                       tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    filled = [a.format(missing=tmp_path / "missing.parquet", empty=tmp_path / "empty") for a in args]
    done = subprocess.run([sys.executable, "-m", "harness.cli", "replay", *filled, "--out", str(tmp_path / "runs")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert done.stderr.startswith("harness replay: ") and message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())

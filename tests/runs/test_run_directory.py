"""Run directories: complete or clearly marked, never two runs mixed, ids that cover every input.

Issue 10 (nothing lost): a kill or a failure never leaves a directory that looks complete, a rerun
never mixes with the run before it, and different inputs never share a run id.
"""

from __future__ import annotations

import json
import textwrap
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from synthetic import write_tape

from reports.run_dir import RunDirectory, read_status
from scenarios.replay import RunFailedError, VenueSetup, run_replay

TWAP = "strategies.twap:TwapTaker"
PARAMS = {"venue": "binance", "symbol": "BTCUSDT", "quantity": "0.02", "slices": "4", "interval_s": "20"}


@pytest.fixture
def tape(tmp_path: Path) -> list[Path]:
    return write_tape(tmp_path / "data", "binance", "BTCUSDT", n=1500)


def test_a_complete_run_says_so_and_lists_its_tables(tape: list[Path], tmp_path: Path) -> None:
    run = run_replay(tape, [VenueSetup("binance", "binance")], TWAP, params=PARAMS, seed=1, out_dir=tmp_path / "runs")
    manifest = json.loads((run.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete" == read_status(run.run_dir)
    assert set(manifest["row_counts"]) <= {p.stem for p in run.run_dir.glob("*.parquet")}
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [run.run_dir.name]  # no work dir left


def _flaky_strategy(tmp_path: Path) -> str:
    """A TWAP that raises on its second slice while a flag file exists (same source either way)."""
    module = tmp_path / "flaky_strategy.py"
    module.write_text(textwrap.dedent(f'''
        from pathlib import Path
        from strategies.twap import TwapTaker

        class Flaky(TwapTaker):
            """Raises on the second slice while {tmp_path / "fail"} exists."""

            def _slice(self) -> None:
                if len(self.sent) == 1 and Path({str(tmp_path / "fail")!r}).exists():
                    raise RuntimeError("strategy bug on purpose")
                super()._slice()
    '''))
    return "flaky_strategy:Flaky"


def test_a_failed_rerun_keeps_the_earlier_run_and_is_marked_failed(tape: list[Path], tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    strategy = _flaky_strategy(tmp_path)
    out = tmp_path / "runs"
    good = run_replay(tape, [VenueSetup("binance", "binance")], strategy, params=PARAMS, seed=2, out_dir=out)
    before = {p.name: p.read_bytes() for p in good.run_dir.iterdir()}
    (tmp_path / "fail").touch()
    with pytest.raises(RunFailedError, match="strategy bug on purpose") as failed:
        run_replay(tape, [VenueSetup("binance", "binance")], strategy, params=PARAMS, seed=2, out_dir=out)
    assert failed.value.run_dir == out / f"{good.run_dir.name}.failed"
    manifest = json.loads((failed.value.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "strategy bug on purpose" in manifest["error"]
    assert (failed.value.run_dir / "orders.parquet").is_file()  # what it did before failing, for the post-mortem
    assert {p.name: p.read_bytes() for p in good.run_dir.iterdir()} == before  # the earlier run is untouched
    (tmp_path / "fail").unlink()
    again = run_replay(tape, [VenueSetup("binance", "binance")], strategy, params=PARAMS, seed=2, out_dir=out)
    assert {p.name: p.read_bytes() for p in again.run_dir.iterdir()} == before
    assert not failed.value.run_dir.exists()  # the run now succeeded: the old failure is gone


def test_an_interrupted_replacement_is_repaired(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    first = RunDirectory(out, "r")
    work = first.begin({"config": 1})
    (work / "t.parquet").write_bytes(b"old")
    first.publish({"config": 1})
    second = RunDirectory(out, "r")
    second.begin({"config": 1})
    (out / "r").rename(out / "r.replaced")  # killed between the two renames of publish
    RunDirectory(out, "r").begin({"config": 1})
    assert (out / "r" / "t.parquet").read_bytes() == b"old" and read_status(out / "r") == "complete"


def test_the_run_id_covers_data_profile_and_code(tape: list[Path], tmp_path: Path) -> None:
    base = run_replay(tape, [VenueSetup("binance", "binance")], TWAP, params=PARAMS, seed=3, out_dir=tmp_path / "a")
    manifest = json.loads((base.run_dir / "manifest.json").read_text())
    code = manifest["code"]
    assert set(code) == {"package", "git_commit", "dirty", "source_sha256"} and len(code["source_sha256"]) == 64
    assert set(manifest["data_files"]) == {p.name for p in tape} and set(manifest["profiles"]) == {"binance"}
    assert manifest["strategy_source"]
    # one trade's price changes: another id
    trades = tape[0]
    table = pq.read_table(trades)
    prices = table.column("price").to_pylist()
    prices[700] += 10**7
    changed = tmp_path / "changed"
    changed.mkdir()
    pq.write_table(table.set_column(table.schema.get_field_index("price"), "price", pa.array(prices, pa.int64())),
                   changed / trades.name)
    (changed / tape[1].name).write_bytes(tape[1].read_bytes())
    other = run_replay(sorted(changed.iterdir()), [VenueSetup("binance", "binance")], TWAP, params=PARAMS, seed=3,
                       out_dir=tmp_path / "a")
    assert other.run_dir.name != base.run_dir.name
    # the maker fee in a profile file changes: another id (both files sit at the same path in turn)
    source = (resources.files("sim.venue") / "profiles" / "binance.toml").read_text()
    profile = tmp_path / "profiles" / "binance.toml"
    profile.parent.mkdir()
    profile.write_text(source)
    same = run_replay(tape, [VenueSetup("binance", str(profile))], TWAP, params=PARAMS, seed=3, out_dir=tmp_path / "a")
    profile.write_text(source.replace('maker = "0.001"', 'maker = "0.0009"', 1))
    assert profile.read_text() != source
    cheaper = run_replay(tape, [VenueSetup("binance", str(profile))], TWAP, params=PARAMS, seed=3,
                         out_dir=tmp_path / "a")
    assert cheaper.run_dir.name != same.run_dir.name
    assert cheaper.manifest["profiles"]["binance"] != same.manifest["profiles"]["binance"]


def test_starting_balances_default_to_the_profile_assets(tmp_path: Path) -> None:
    data = write_tape(tmp_path / "data", "bsdex", "BTC/EUR", n=800)
    run = run_replay(data, [VenueSetup("bsdex", "bsdex")], TWAP,
                     params={**PARAMS, "venue": "bsdex", "symbol": "BTC/EUR"}, seed=1, out_dir=tmp_path / "runs")
    rows = pq.read_table(run.run_dir / "balances.parquet").to_pylist()
    first = {r["asset"]: r["free"] for r in rows if r["ts_ns"] == rows[0]["ts_ns"]}
    assert first["EUR"] == Decimal(1_000_000) and first["BTC"] == Decimal(10)
    fills = pq.read_table(run.run_dir / "fills.parquet").to_pylist()
    assert fills, "a EUR venue must trade with its default account"

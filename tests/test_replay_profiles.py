"""``harness replay`` end to end on every shipped venue profile, as a user runs it from the command line.

Each case writes a synthetic tape in the profile's own symbol, runs the TWAP taker through
``harness.cli.main`` with that venue and an account in its own assets, and reads the run
directory back: every slice reached the venue and filled, the tables and journal are there.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from synthetic import write_tape

from harness.cli import main
from harness.venues import descriptor_for
from sim.venue.profile import available_profiles, load_profile

QUANTITY = Decimal("0.2")  # 10 slices of 0.02 BTC (about 1,200 in quote): above every venue's minimums
SLICES = 10
TABLES = ("orders", "fills", "balances", "positions", "position_history", "positions_final", "alerts", "audit",
          "discrepancies", "events")


def _btc_symbol(profile: str) -> tuple[str, str, str]:
    """The profile's BTC symbol and its base and quote assets."""
    for symbol, rules in load_profile(profile).symbols.items():
        if rules.base_asset in ("BTC", "XBT"):
            return symbol, rules.base_asset, rules.quote_asset
    raise AssertionError(f"{profile} lists no BTC symbol")


def _rows(run_dir: Path, table: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = pq.read_table(run_dir / f"{table}.parquet").to_pylist()
    return rows


def test_every_shipped_profile_is_covered() -> None:
    assert len(available_profiles()) == 10  # the eight seed venues and two linear perpetual venues


@pytest.mark.parametrize("profile", available_profiles())
def test_replay_runs_end_to_end_on_the_profile(profile: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    symbol, base, quote = _btc_symbol(profile)
    data = write_tape(tmp_path / "data", profile, symbol)
    params = {"venue": profile, "symbol": symbol, "quantity": QUANTITY, "slices": SLICES, "interval_s": 10}
    argv = ["replay", "--data", str(tmp_path / "data"), "--venue", profile, "--strategy", "strategies.twap:TwapTaker",
            "--balance", f"{profile}:{quote}=100000", "--balance", f"{profile}:{base}=1", "--depth", "quotes",
            "--seed", "5", "--out", str(tmp_path / "runs"), "--no-progress"]
    for key, value in params.items():
        argv += ["--param", f"{key}={value}"]
    code = main(argv)
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"orders: {SLICES} ({SLICES} filled)" in out
    found = re.search(r"run directory: (\S+)", out)
    assert found is not None
    run_dir = Path(found.group(1))
    for table in TABLES:
        assert (run_dir / f"{table}.parquet").is_file(), table
    assert (run_dir / "journal.sqlite").is_file()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert [v["profile"] for v in manifest["config"]["venues"]] == [profile]
    assert sorted(manifest["data_files"]) == sorted(p.name for p in data)

    orders = _rows(run_dir, "orders")
    ids = {row["client_order_id"] for row in orders}
    assert len(ids) == SLICES
    assert {row["client_order_id"] for row in orders if row["status"] == "FILLED"} == ids
    fills = _rows(run_dir, "fills")
    assert {(row["venue"], row["symbol"], row["side"]) for row in fills} == {(profile, symbol, "BUY")}
    assert sum(Decimal(str(row["quantity"])) for row in fills) == QUANTITY
    final = {row["venue"]: row for row in _rows(run_dir, "positions_final")}
    assert Decimal(str(final[profile]["quantity"])) == QUANTITY
    futures = load_profile(profile).futures
    asset = base if futures is None else futures.settle_asset
    balances = sorted((row for row in _rows(run_dir, "balances") if row["asset"] == asset),
                      key=lambda row: int(str(row["ts_ns"])))
    last = balances[-1]
    wallet = Decimal(str(last["free"])) + Decimal(str(last["locked"]))
    if futures is None:
        assert wallet > Decimal(1)  # bought (less fees in base)
    else:  # a perpetual: the position is margin, the wallet pays the fees (no funding time in the tape)
        assert {row["fee_asset"] for row in fills} == {asset}
        assert wallet == Decimal(100_000) - sum(Decimal(str(row["fee"])) for row in fills)
        assert Decimal(str(last["locked"])) > 0

    descriptor = descriptor_for(profile)
    assert descriptor is not None
    submits = [row for row in _rows(run_dir, "audit") if row["method"] == "submit_order" and row["phase"] == "result"]
    assert len(submits) == SLICES and all(row["success"] for row in submits)
    assert {row["endpoint"] for row in submits} == {descriptor.endpoint("submit_order")}

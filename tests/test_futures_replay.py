"""``harness replay`` of the shipped BTCUSDT recording as a Bybit linear perpetual, from the command line.

The sample (Binance spot, 2024-08-08 23:54 to 2024-08-09 00:05 UTC) crosses the 00:00 UTC funding
time, so the market maker's position pays or receives funding once at the profile's 0.01 %. The
run directory carries the ``funding`` ledger, the settle asset's balance after it, the venue's
positions beside the engine's, and is byte-identical when run again with the same seed. Recorded
rates (``--funding``) replace the profile's, and bad ``--funding`` arguments are refused before
anything runs.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from harness.cli import main
from scenarios.demo import import_sample

D = Decimal
MIDNIGHT_NS = 1_723_161_600_000_000_000  # 2024-08-09 00:00 UTC
ARGS = ["--venue", "bybit=bybit-linear", "--data-venue", "bybit=binance",
        "--strategy", "strategies.market_maker:PassiveMarketMaker", "--seed", "4", "--no-progress"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped recording imported once into canonical Parquet."""
    directory = tmp_path_factory.mktemp("sample")
    import_sample(directory)
    return directory


def _replay(sample: Path, out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[Path, str]:
    code = main(["replay", "--data", str(sample), *ARGS, "--out", str(out), *extra])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    found = re.search(r"run directory: (\S+)", printed.out)
    assert found is not None
    return Path(found.group(1)), printed.out


def _rows(run_dir: Path, table: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = pq.read_table(run_dir / f"{table}.parquet").to_pylist()
    return rows


def _dec(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else D(str(value))


def test_the_sample_replays_as_a_perpetual_and_pays_funding_at_midnight(
        sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir, out = _replay(sample, tmp_path / "a", capsys)
    [payment] = _rows(run_dir, "funding")
    quantity, mark, rate, amount = (_dec(payment[k]) for k in ("quantity", "mark_price", "rate", "amount"))
    assert (payment["ts_ns"], payment["venue"], payment["symbol"], payment["asset"]) == (
        MIDNIGHT_NS, "bybit", "BTCUSDT", "USDT")
    assert quantity != 0 and rate == D("0.0001")
    assert amount == (-(quantity * mark * rate)).quantize(D("1e-9"))  # a long pays, a short receives
    assert (amount < 0) == (quantity > 0)
    assert f"bybit funding: 1 payment(s), net {'+' if amount > 0 else ''}{format(amount.normalize(), 'f')} USDT" in out

    # the balance history has the settlement: the wallet moves by exactly the amount at midnight
    usdt = [r for r in _rows(run_dir, "balances") if r["asset"] == "USDT"]
    at = next(i for i, r in enumerate(usdt) if r["ts_ns"] == MIDNIGHT_NS)
    wallet = [_dec(r["free"]) + _dec(r["locked"]) for r in usdt]
    assert wallet[at] - wallet[at - 1] == amount
    # the wallet's whole change is realized PnL, fees and funding, to the 1e-9
    fills = _rows(run_dir, "fills")
    assert {f["fee_asset"] for f in fills} == {"USDT"}
    [venue_position] = _rows(run_dir, "venue_positions")  # seed 4 ends with a position open
    realized = _dec(venue_position["realized_pnl"])  # the venue's, paid into the wallet over the run
    fees = sum((_dec(f["fee"]) for f in fills), D(0))
    assert wallet[-1] - wallet[0] == realized - fees + amount
    assert _dec(venue_position["margin"]) == _dec(usdt[-1]["locked"])  # no order left: the position's margin

    # the venue's positions, as it reports them, agree with the engine's; reconciliation found nothing
    assert venue_position["agrees"] is True and venue_position["leverage"] == 10
    assert _dec(venue_position["quantity"]) == _dec(venue_position["engine_quantity"]) != 0
    [final] = [r for r in _rows(run_dir, "positions_final") if r["venue"] == "bybit"]
    assert _dec(final["quantity"]) == _dec(venue_position["quantity"])
    assert _rows(run_dir, "discrepancies") == []

    again, _ = _replay(sample, tmp_path / "b", capsys)
    assert again.name == run_dir.name
    for path in sorted(run_dir.iterdir()):
        assert path.read_bytes() == (again / path.name).read_bytes(), path.name


def test_recorded_rates_replace_the_profiles(sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rates = tmp_path / "bybit-funding.csv"
    rates.write_text(f"symbol,funding_time,funding_rate\nBTCUSDT,{MIDNIGHT_NS // 10**6},-0.000321\n")
    run_dir, _ = _replay(sample, tmp_path / "runs", capsys, "--funding", f"bybit={rates}")
    [payment] = _rows(run_dir, "funding")
    quantity, mark, amount = (_dec(payment[k]) for k in ("quantity", "mark_price", "amount"))
    assert _dec(payment["rate"]) == D("-0.000321")
    assert amount == (-(quantity * mark * D("-0.000321"))).quantize(D("1e-9"))


@pytest.mark.parametrize(("extra", "message"), [
    (["--funding", "okx=rates.csv"], "'okx' is not a --venue"),
    (["--funding", "bybit=absent.csv"], "cannot read funding rates"),
])
def test_bad_funding_arguments_are_refused_before_the_run(sample: Path, tmp_path: Path, extra: list[str],
                                                          message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["replay", "--data", str(sample), *ARGS, "--out", str(tmp_path / "runs"), *extra])
    printed = capsys.readouterr()
    assert code == 2 and message in printed.err and printed.out == ""
    assert not (tmp_path / "runs").exists()


def test_funding_for_a_spot_venue_is_refused(sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text("symbol,funding_time,funding_rate\n")
    code = main(["replay", "--data", str(sample), "--venue", "binance", "--strategy",
                 "strategies.market_maker:PassiveMarketMaker", "--funding", f"binance={rates}",
                 "--out", str(tmp_path / "runs"), "--no-progress"])
    assert code == 2 and "not a derivatives venue" in capsys.readouterr().err

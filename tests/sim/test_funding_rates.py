"""Recorded funding rates: the CSV file, its errors, and a schedule that follows the records."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from constant_latency import constant_profile

from harness.model import OrderRequest, OrderType, Quote, Side
from harness.money import to_fixed
from scenarios.world import SimWorld, VenueSetup, build_venue
from sim.kernel.runtime import SimRuntime
from sim.venue.funding import FundingRateError, FundingRates, FundingSchedule, load_funding_rates
from sim.venue.futures_venue import FuturesVenue
from sim.venue.matching.types import DepthMode

D = Decimal
MS = 1_000_000
START_MS = 1_723_075_200_000  # 2024-08-08 00:00 UTC, SimWorld's start


def _csv(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "rates.csv"
    path.write_text("symbol,funding_time,funding_rate\n" + body)
    return path


def test_a_rates_file_reads_exact_rates_in_time_order(tmp_path: Path) -> None:
    path = _csv(tmp_path, f"BTCUSDT,{START_MS + 7_200_000},-0.00005\nBTCUSDT,{START_MS + 3_600_000},0.00012345\n")
    rates = load_funding_rates(path)
    assert rates.symbols() == {"BTCUSDT"}
    assert rates.next_time("BTCUSDT", START_MS * MS) == (START_MS + 3_600_000) * MS
    assert rates.rate_at("BTCUSDT", (START_MS + 3_600_000) * MS) == D("0.00012345")
    assert rates.rate_at("BTCUSDT", (START_MS + 7_200_000) * MS) == D("-0.00005")
    assert rates.rate_at("BTCUSDT", START_MS * MS) is None
    assert rates.next_time("BTCUSDT", (START_MS + 7_200_000) * MS) is None


@pytest.mark.parametrize(("body", "message"), [
    ("BTCUSDT,1723075200000\n", ":2: expected 3 fields, got 2"),
    ("BTCUSDT,2024-08-08,0.0001\n", ":2: funding_time: must be epoch milliseconds"),
    ("BTCUSDT,1723075200000,0.0001\nBTCUSDT,1723104000000,1e-4x\n", ":3: funding_rate: must be a decimal"),
    ("BTCUSDT,1723075200000,0.5\n", ":2: funding_rate: must be a decimal fraction in [-0.05, 0.05]"),
    (",1723075200000,0.0001\n", ":2: symbol: must not be empty"),
])
def test_a_bad_row_is_refused_naming_file_line_and_field(tmp_path: Path, body: str, message: str) -> None:
    path = _csv(tmp_path, body)
    with pytest.raises(FundingRateError) as refused:
        load_funding_rates(path)
    assert str(refused.value).startswith(str(path)) and message in str(refused.value)


def test_a_bad_header_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text("time,rate\n1,0.0001\n")
    with pytest.raises(FundingRateError, match=r"rates.csv:1: header must be symbol,funding_time,funding_rate"):
        load_funding_rates(path)
    with pytest.raises(FundingRateError, match="cannot read funding rates"):
        load_funding_rates(tmp_path / "absent.csv")


def test_recorded_rates_replace_the_profiles_schedule(tmp_path: Path) -> None:
    """Funding happens at the recorded times with the recorded rates, not at 08:00 at 0.01 %."""
    path = _csv(tmp_path, f"BTCUSDT,{START_MS + 3_600_000},0.0003\nBTCUSDT,{START_MS + 10 * 3_600_000},-0.0002\n")
    with SimRuntime(seed=2, start_ns=START_MS * MS) as runtime:
        setup = VenueSetup("bybit", "bybit-linear", balances={"USDT": D(100_000)}, funding_rates=str(path))
        built = build_venue(runtime, setup, constant_profile("bybit-linear"), depth=DepthMode.QUOTES)
        venue = built.venue
        assert isinstance(venue, FuturesVenue)
        now = runtime.now_ns()
        built.market.on_quote(Quote(now, now, "bybit", "BTCUSDT", to_fixed(D("50000")), to_fixed(D(1)),
                                    to_fixed(D("50000.2")), to_fixed(D(1)), -1))

        async def main() -> None:
            await built.adapter.connect()
            await built.adapter.submit_order(OrderRequest("s", "bybit", "BTCUSDT", Side.SELL, OrderType.MARKET,
                                                          D("0.5")))
            await runtime.clock.sleep(12 * 3600)

        runtime.run(main())
    assert [(p.ts_ns // MS - START_MS, p.rate, p.amount) for p in venue.funding_payments] == [
        (3_600_000, D("0.0003"), D("7.500015")),  # a short receives: 0.5 * 50000.1 * 0.0003
        (36_000_000, D("-0.0002"), D("-5.00001")),  # and pays a negative rate
    ]


def test_the_schedule_falls_back_to_the_profile_for_symbols_without_records() -> None:
    with SimWorld({"bybit": constant_profile("bybit-linear")}, seed=1) as world:
        venue = world.venues["bybit"]
        assert isinstance(venue, FuturesVenue)
        schedule = FundingSchedule(venue, world.clock, FundingRates.of([("ETHUSDT", 5 * MS, D("0.001"))]))
        start = START_MS * MS
        assert schedule.next_after(world.now_ns()) == start + 8 * 3600 * 10**9  # BTCUSDT on the profile's 8 h
        assert schedule.rates_at(start + 8 * 3600 * 10**9) == {"BTCUSDT": D("0.0001")}
        assert schedule.rates_at(start + 8 * 3600 * 10**9 + 1) == {}

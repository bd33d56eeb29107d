"""A user's table (pandas, Arrow, CSV) of trades or quotes into canonical Parquet: exact floats at the
instrument's decimals, a column mapping, bad values named by source:line:field, one import unit."""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness.cli import main
from harness.data.canonical import open_canonical
from harness.data.errors import DataFormatError
from harness.data.importers.table import TableSpec
from harness.data.table_import import import_table
from harness.data.units import check_complete
from harness.money import to_fixed

MS = 1_000_000


def _trades_frame() -> pd.DataFrame:
    return pd.DataFrame({"time": [1_723_075_200_000 + i for i in range(4)],
                         "px": [60000.1, 60000.25, 59999.99, 0.07],
                         "qty": [0.001, 0.5, 1.23456, 3.0],
                         "side": ["buy", "sell", "B", "s"]})


def test_a_dataframe_of_float_trades_converts_exactly(tmp_path: Path) -> None:
    result = import_table(_trades_frame(), tmp_path, name="my-trades", venue="binance", symbol="BTCUSDT",
                          columns={"ts_event": "time", "price": "px"}, price_decimals=2, size_decimals=5)
    rows = pq.read_table(result.outputs["trades"]).to_pylist()
    assert [r["price"] for r in rows] == [to_fixed(x) for x in ("60000.1", "60000.25", "59999.99", "0.07")]
    assert [r["size"] for r in rows] == [to_fixed(x) for x in ("0.001", "0.5", "1.23456", "3")]
    assert [r["aggressor"] for r in rows] == [1, -1, 1, -1]
    assert [r["ts_event"] for r in rows] == [(1_723_075_200_000 + i) * MS for i in range(4)]
    assert rows[0]["ts_recv"] == rows[0]["ts_event"] and rows[0]["trade_id"] == "1"
    assert rows[0]["venue"] == "binance" and rows[0]["symbol"] == "BTCUSDT"
    open_canonical(result.outputs["trades"])
    check_complete(list(result.outputs.values()), [tmp_path])  # a complete unit, as replay wants it
    again = import_table(_trades_frame(), tmp_path / "again", name="my-trades", venue="binance",
                         symbol="BTCUSDT", columns={"ts_event": "time", "price": "px"}, price_decimals=2,
                         size_decimals=5)
    assert pq.read_table(again.outputs["trades"]).equals(pq.read_table(result.outputs["trades"]))


def test_a_float_off_the_grid_is_an_error_naming_row_and_field(tmp_path: Path) -> None:
    frame = _trades_frame()
    frame.loc[2, "px"] = 59999.995  # three decimals on a two-decimal instrument: not rounded
    with pytest.raises(DataFormatError) as bad:
        import_table(frame, tmp_path, name="t", venue="binance", symbol="BTCUSDT", columns={"price": "px"},
                     price_decimals=2, size_decimals=5)
    assert (bad.value.path, bad.value.line, bad.value.field_name) == ("<table t>", 3, "price")
    assert "not on the instrument's grid" in bad.value.reason
    assert not list(tmp_path.iterdir())  # nothing written
    skipped = import_table(frame, tmp_path, name="t", venue="binance", symbol="BTCUSDT", columns={"price": "px"},
                           price_decimals=2, size_decimals=5, skip_bad=True)
    assert skipped.rows["trades"] == 3 and skipped.bad_rows.count == 1
    with pytest.raises(DataFormatError, match="float column: give the instrument's decimals"):
        import_table(frame, tmp_path, name="u", venue="binance", symbol="BTCUSDT", columns={"price": "px"})


def test_an_arrow_table_of_decimal_quotes_is_read_as_quotes(tmp_path: Path) -> None:
    table = pa.table({"timestamp": pa.array([1_723_075_200, 1_723_075_201], pa.int64()),
                      "bid": pa.array([Decimal("1.2345"), Decimal("1.2346")], pa.decimal128(10, 4)),
                      "bid_qty": pa.array([Decimal(10), Decimal(20)], pa.decimal128(10, 0)),
                      "ask": pa.array([Decimal("1.2347"), Decimal("1.2348")], pa.decimal128(10, 4)),
                      "ask_qty": [5, 6], "symbol": ["EURUSD", "EURUSD"]})
    result = import_table(table, tmp_path, name="q", venue="fx", time_unit="s")
    [row, _] = pq.read_table(result.outputs["quotes"]).to_pylist()
    assert row == {"ts_event": 1_723_075_200 * 10**9, "ts_recv": 1_723_075_200 * 10**9, "venue": "fx",
                   "symbol": "EURUSD", "bid_price": to_fixed("1.2345"), "bid_size": to_fixed("10"),
                   "ask_price": to_fixed("1.2347"), "ask_size": to_fixed("5"), "update_id": -1}


def test_missing_columns_and_bad_specs_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r"trades need column\(s\) \['size'\]"):
        import_table(pd.DataFrame({"ts": [1_723_075_200_000], "price": ["1"]}), tmp_path, name="x", venue="v",
                     symbol="S")
    with pytest.raises(DataFormatError, match="no symbol column"):
        import_table(pd.DataFrame({"ts": [1_723_075_200_000], "price": ["1"], "size": ["1"]}), tmp_path,
                     name="x", venue="v")
    with pytest.raises(ValueError, match="names no canonical column"):
        TableSpec(columns={"prize": "px"})


def test_cli_imports_a_csv_table_exactly_and_names_a_bad_line(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "fills_export.csv"
    csv.write_text("when,price,amount,taker\n"
                   "2024-08-08T00:00:00.5Z,60000.10,0.00100,buy\n"
                   "2024-08-08T00:00:01Z,60000.20,0.002,sell\n")
    code = main(["data", "import", str(csv), "-o", str(tmp_path / "out"), "--format", "table", "--venue", "binance",
                 "--symbol", "BTCUSDT", "--column", "ts_event=when", "--column", "aggressor=taker",
                 "--price-decimals", "2"])
    assert code == 0, capsys.readouterr().err
    rows = pq.read_table(tmp_path / "out" / "fills_export.trades.parquet").to_pylist()
    assert [r["price"] for r in rows] == [to_fixed("60000.1"), to_fixed("60000.2")]
    assert rows[0]["ts_event"] == 1_723_075_200_500_000_000 and rows[1]["aggressor"] == -1
    assert "[table]" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("ts,price,size\n1723075200000,60000.1,1\n1723075200001,60000.123,1\n")
    code = main(["data", "import", str(bad), "-o", str(tmp_path / "out2"), "--format", "table",
                 "--venue", "binance", "--symbol", "BTCUSDT", "--price-decimals", "2"])
    err = capsys.readouterr().err
    assert code == 2 and f"{bad}:3: field 'price'" in err and "more than 2 decimal places" in err
    assert main(["data", "import", str(bad), "-o", str(tmp_path / "o3"), "--price-decimals", "2"]) == 2
    assert "applies to --format table only" in capsys.readouterr().err


def test_pandas_datetimes_and_a_gzipped_csv_of_quotes(tmp_path: Path) -> None:
    times = pd.to_datetime(["2024-08-08 00:00:00.000001", "2024-08-08 00:00:01.000000"], utc=True)
    frame = pd.DataFrame({"time": times,
                          "best_bid": [60000.1, 60000.2], "bid_qty": [1.5, 2.0],
                          "best_ask": [60000.2, 60000.3], "ask_qty": [0.25, 0.5]})
    result = import_table(frame, tmp_path, name="q", venue="binance", symbol="BTCUSDT", price_decimals=2,
                          size_decimals=3)
    rows = pq.read_table(result.outputs["quotes"]).to_pylist()
    assert [r["ts_event"] for r in rows] == [1_723_075_200_000_001_000, 1_723_075_201_000_000_000]
    assert rows[1]["ask_size"] == to_fixed("0.5") and rows[0]["bid_price"] == to_fixed("60000.1")
    csv = tmp_path / "quotes.csv.gz"
    csv.write_bytes(gzip.compress(b"ts,bid,bid_qty,ask,ask_qty\n1723075200000,1.5,2,1.6,3\n"))
    from_file = import_table(csv, tmp_path / "f", venue="v", symbol="S")
    assert from_file.importer == "table" and from_file.rows == {"quotes": 1}

"""The public archives as users download them: Binance's data.binance.vision trades, aggTrades,
bookTicker and klines (spot without a header, futures with one; ms or us), Bybit's order-book dumps
(zipped JSON lines, ``u`` consecutive, a gap reported) and trade dumps (gzipped CSV).

The samples in ``tests/data/archives/`` are written from the documented layouts; each test packs
them as the archive ships them (zip, gzip) under the archive's own file names."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from harness.cli import main
from harness.data.errors import DataFormatError
from harness.data.importers.base import detect
from harness.data.importing import import_file
from harness.data.verify import verify_paths
from harness.money import to_fixed

SAMPLES = Path(__file__).parent / "archives"
MS = 1_000_000


def _zipped(sample: Path, tmp_path: Path, name: str | None = None) -> Path:
    """``sample`` as data.binance.vision / Bybit ship it: a zip holding the one file."""
    target = tmp_path / f"{name or sample.name.rsplit('.', 1)[0]}.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(sample, sample.name)
    return target


def _gzipped(sample: Path, tmp_path: Path) -> Path:
    target = tmp_path / f"{sample.name}.gz"
    target.write_bytes(gzip.compress(sample.read_bytes(), mtime=0))
    return target


def _rows(result: Any, kind: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(result.outputs[kind]).to_pylist()
    return rows


@pytest.mark.parametrize(("sample", "importer"), [
    ("binance/spot/BTCUSDT-trades-2024-08-08.csv", "binance-archive-trades"),
    ("binance/spot/BTCUSDT-aggTrades-2024-08-08.csv", "binance-archive-aggtrades"),
    ("binance/futures-um/BTCUSDT-trades-2024-08-08.csv", "binance-archive-trades"),
    ("binance/futures-um/BTCUSDT-aggTrades-2024-08-08.csv", "binance-archive-aggtrades"),
    ("binance/futures-um/BTCUSDT-bookTicker-2024-08-08.csv", "binance-archive-bookticker"),
    ("binance/futures-um/BTCUSDT-1m-2024-08-08.csv", "binance-klines-csv"),
    ("bybit/2024-08-08_BTCUSDT_ob200.data", "bybit-archive-orderbook"),
])
def test_downloads_are_recognised_inside_their_zip(sample: str, importer: str, tmp_path: Path) -> None:
    assert detect(_zipped(SAMPLES / sample, tmp_path)).name == importer


@pytest.mark.parametrize("sample", ["bybit/BTCUSDT2024-08-08.csv", "bybit/BTCUSDT_2024-08-08.csv"])
def test_bybit_trade_dumps_are_recognised_gzipped(sample: str, tmp_path: Path) -> None:
    assert detect(_gzipped(SAMPLES / sample, tmp_path)).name == "bybit-archive-trades"


def test_spot_trades_in_ms_and_in_us(tmp_path: Path) -> None:
    old = import_file(_zipped(SAMPLES / "binance/spot/BTCUSDT-trades-2024-08-08.csv", tmp_path), tmp_path / "o")
    rows = _rows(old, "trades")
    assert [r["ts_event"] for r in rows] == [1723075200012 * MS, 1723075200015 * MS, 1723075200015 * MS]
    assert rows[0] == {"ts_event": 1723075200012 * MS, "ts_recv": 1723075200012 * MS, "venue": "binance",
                       "symbol": "BTCUSDT", "price": to_fixed("60010.01"), "size": to_fixed("0.001"),
                       "aggressor": -1, "trade_id": "3747813501"}  # buyer was maker: the seller took
    assert rows[1]["aggressor"] == 1
    new = import_file(_zipped(SAMPLES / "binance/spot/BTCUSDT-trades-2025-01-01.csv", tmp_path), tmp_path / "n")
    assert [r["ts_event"] for r in _rows(new, "trades")] == [1735689600010866000, 1735689600011002000]


def test_aggtrades_spot_and_futures(tmp_path: Path) -> None:
    spot = import_file(_zipped(SAMPLES / "binance/spot/BTCUSDT-aggTrades-2024-08-08.csv", tmp_path), tmp_path / "s")
    rows = _rows(spot, "trades")
    assert [(r["trade_id"], r["size"], r["venue"]) for r in rows] == [
        ("3125000001", to_fixed("0.001"), "binance"), ("3125000002", to_fixed("0.06"), "binance")]
    futures = import_file(_zipped(SAMPLES / "binance/futures-um/BTCUSDT-aggTrades-2024-08-08.csv", tmp_path),
                          tmp_path / "f")
    rows = _rows(futures, "trades")
    assert [(r["trade_id"], r["aggressor"], r["venue"]) for r in rows] == [
        ("2270000001", -1, "binance-usdm"), ("2270000002", 1, "binance-usdm")]


def test_futures_trades_and_coinm(tmp_path: Path) -> None:
    um = import_file(_zipped(SAMPLES / "binance/futures-um/BTCUSDT-trades-2024-08-08.csv", tmp_path), tmp_path / "u")
    assert [(r["venue"], r["price"]) for r in _rows(um, "trades")] == [
        ("binance-usdm", to_fixed("60000.10")), ("binance-usdm", to_fixed("60000.20"))]
    cm = import_file(_zipped(SAMPLES / "binance/futures-cm/BTCUSD_PERP-trades-2024-08-08.csv", tmp_path),
                     tmp_path / "c")
    [row] = _rows(cm, "trades")
    assert (row["venue"], row["symbol"], row["size"]) == ("binance-coinm", "BTCUSD_PERP", to_fixed("10"))


def test_futures_book_ticker_is_quotes(tmp_path: Path) -> None:
    result = import_file(_zipped(SAMPLES / "binance/futures-um/BTCUSDT-bookTicker-2024-08-08.csv", tmp_path),
                         tmp_path / "q")
    first = _rows(result, "quotes")[0]
    assert first == {"ts_event": 1723075200001 * MS, "ts_recv": 1723075200003 * MS, "venue": "binance-usdm",
                     "symbol": "BTCUSDT", "bid_price": to_fixed("60000.10"), "bid_size": to_fixed("3.21"),
                     "ask_price": to_fixed("60000.20"), "ask_size": to_fixed("0.45"), "update_id": 5000000000001}


def test_futures_klines_with_their_header(tmp_path: Path) -> None:
    result = import_file(_zipped(SAMPLES / "binance/futures-um/BTCUSDT-1m-2024-08-08.csv", tmp_path),
                         tmp_path / "k")
    bars = _rows(result, "candles")
    assert len(bars) == 2 and bars[0]["ts_event"] == 1723075200000 * MS and bars[0]["interval_ns"] == 60 * 10**9
    assert bars[0]["close"] == to_fixed("60020.50") and bars[0]["venue"] == "binance-usdm"


def test_spot_klines_in_microseconds_without_a_header(tmp_path: Path) -> None:
    result = import_file(_zipped(SAMPLES / "binance/spot/BTCUSDT-1s-2025-01-01.csv", tmp_path), tmp_path / "k")
    bars = _rows(result, "candles")
    assert [(b["ts_event"], b["ts_recv"], b["interval_ns"]) for b in bars] == [
        (1735689600 * 10**9, 1735689601 * 10**9, 10**9), (1735689601 * 10**9, 1735689602 * 10**9, 10**9)]
    assert bars[0]["venue"] == "binance" and bars[1]["low"] == to_fixed("93575.5")


def test_a_bad_archive_row_is_named_by_file_line_and_field(tmp_path: Path) -> None:
    text = (SAMPLES / "binance/futures-um/BTCUSDT-trades-2024-08-08.csv").read_text()
    bad = tmp_path / "BTCUSDT-trades-2024-08-09.csv"
    bad.write_text(text.replace("0.120,7200.02400,1723075200160,false", "0.120,7200.02400,1723075200160,maybe"))
    with pytest.raises(DataFormatError) as error:
        import_file(_zipped(bad, tmp_path), tmp_path / "out")
    assert (error.value.line, error.value.field_name) == (3, "is_buyer_maker")
    assert error.value.path.endswith("BTCUSDT-trades-2024-08-09.zip")
    spot = tmp_path / "BTCUSDT-aggTrades-2024-08-09.csv"
    spot.write_text((SAMPLES / "binance/spot/BTCUSDT-aggTrades-2024-08-08.csv").read_text().replace(
        "60010.02000000", "60010.0x"))
    with pytest.raises(DataFormatError, match=r"aggTrades-2024-08-09.csv:2: field 'price'"):
        import_file(spot, tmp_path / "out")


def test_a_truncated_zip_download_is_refused_by_name(tmp_path: Path) -> None:
    whole = _zipped(SAMPLES / "binance/spot/BTCUSDT-trades-2024-08-08.csv", tmp_path)
    cut = tmp_path / "BTCUSDT-trades-2024-08-10.zip"
    cut.write_bytes(whole.read_bytes()[:-30])
    with pytest.raises(DataFormatError, match="not a complete zip archive"):
        import_file(cut, tmp_path / "out", fmt="binance-archive-trades")


def test_bybit_order_book_dump_is_a_book_that_verifies(tmp_path: Path) -> None:
    sample = SAMPLES / "bybit/2024-08-08_BTCUSDT_ob200.data"
    result = import_file(_zipped(sample, tmp_path, sample.name), tmp_path / "b")
    rows = _rows(result, "book")
    snapshot = [r for r in rows if r["flags"] & 1]
    assert len(snapshot) == 4 and {r["update_id"] for r in snapshot} == {81000001}
    assert snapshot[0]["ts_event"] == 1723075200001 * MS and snapshot[0]["ts_recv"] == 1723075200003 * MS
    removed = rows[4]
    assert (removed["side"], removed["price"], removed["size"], removed["first_update_id"]) == (
        1, to_fixed("60000.10"), 0, 81000002)
    assert any(r["side"] == 0 and r["update_id"] == 81000003 for r in rows)  # an empty delta keeps the chain
    report = verify_paths([result.outputs["book"]])
    assert not report.gaps


def test_a_bybit_sequence_gap_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = (SAMPLES / "bybit/2024-08-08_BTCUSDT_ob200.data").read_text().splitlines()
    gapped = tmp_path / "2024-08-09_BTCUSDT_ob200.data"
    gapped.write_text("\n".join([lines[0], lines[1], lines[3]]) + "\n")  # u 81000003 lost
    archive = _zipped(gapped, tmp_path, gapped.name)
    with pytest.raises(DataFormatError) as error:
        import_file(archive, tmp_path / "strict")
    assert (error.value.line, error.value.field_name) == (3, "data.u")
    assert "u=81000004 does not follow u=81000002" in error.value.reason
    assert main(["data", "import", str(archive), "-o", str(tmp_path / "lenient"), "--skip-bad"]) == 0
    assert "sequence gap" in capsys.readouterr().err
    report = verify_paths([tmp_path / "lenient" / "2024-08-09_BTCUSDT_ob200.book.parquet"])
    # the book sync sees the broken chain as well: ids missing, and no snapshot came after it
    assert [g.kind.value for g in report.gaps] == ["missing update ids", "no new snapshot after a gap"]
    assert report.gaps[0].first_id == 81000004


def test_bybit_trade_dumps_derivatives_and_spot(tmp_path: Path) -> None:
    derivatives = import_file(_gzipped(SAMPLES / "bybit/BTCUSDT2024-08-08.csv", tmp_path), tmp_path / "d")
    rows = _rows(derivatives, "trades")
    assert [r["ts_event"] for r in rows] == [1723075200051200000, 1723075200103400000]  # decimal seconds, exact
    assert (rows[0]["venue"], rows[0]["aggressor"], rows[1]["aggressor"]) == ("bybit", 1, -1)
    assert rows[0]["trade_id"] == "3f6a2c1e-7b1d-5e8a-9c4f-0a1b2c3d4e5f" and rows[1]["size"] == to_fixed("0.12")
    spot = import_file(_gzipped(SAMPLES / "bybit/BTCUSDT_2024-08-08.csv", tmp_path), tmp_path / "s")
    rows = _rows(spot, "trades")
    assert [(r["symbol"], r["ts_event"], r["aggressor"], r["trade_id"]) for r in rows] == [
        ("BTCUSDT", 1723075200074 * MS, -1, "1"), ("BTCUSDT", 1723075200150 * MS, 1, "2")]


def test_a_bad_bybit_trade_row_is_named(tmp_path: Path) -> None:
    text = (SAMPLES / "bybit/BTCUSDT2024-08-08.csv").read_text().replace(",Sell,", ",Short,")
    bad = tmp_path / "BTCUSDT2024-08-09.csv"
    bad.write_text(text)
    with pytest.raises(DataFormatError, match=r"BTCUSDT2024-08-09.csv.gz:3: field 'side'"):
        import_file(_gzipped(bad, tmp_path), tmp_path / "out")

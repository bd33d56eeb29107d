"""Binance importers against the real sample recordings, plus bad-row and atomicity behaviour.

Expected values are taken from the raw files independently (plain ``json``/``csv`` parsing in
the test), not from the importer's own output.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness.data import importing
from harness.data.errors import DataFormatError
from harness.data.importers.base import ImportContext, Record, detect, read_head, registry
from harness.data.importers.binance_msgs import USDM, Converter, FieldError, seconds_text_to_ns
from harness.data.importing import import_file
from harness.data.schema import F_LAST, F_SNAPSHOT, SCHEMAS
from harness.data.sink import ParquetSink
from harness.money import to_fixed

REAL = Path("/work/shared/data/real")
HFT = REAL / "hftbacktest"
CF = REAL / "cryptofeed"
NAUT = REAL / "nautilus"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"real sample data not present at {REAL}")

BINANCE_IMPORTERS = {"binance-hftbacktest", "binance-cryptofeed", "binance-depth-json",
                     "binance-depth-csv", "binance-klines-csv", "binance-archive-trades",
                     "binance-archive-aggtrades", "binance-archive-bookticker"}


def read_all(path: Path, fmt: str | None = None) -> tuple[list[Record], ImportContext, str]:
    importer = detect(path, fmt)
    ctx = ImportContext()
    records = list(importer.read(path, ctx))
    return records, ctx, importer.name


def rows_of(records: list[Record], kind: str) -> list[tuple[Any, ...]]:
    return [row for k, row in records if k == kind]


def raw_hft_messages(path: Path) -> list[tuple[int, dict[str, Any]]]:
    with gzip.open(path, "rt") as handle:
        return [(int(line.split(" ", 1)[0]), json.loads(line.split(" ", 1)[1])) for line in handle]


def test_binance_importers_registered() -> None:
    assert set(registry()) >= BINANCE_IMPORTERS


def test_seconds_text_is_parsed_exactly() -> None:
    assert seconds_text_to_ns("1633998512.0633569") == 1_633_998_512_063_356_900
    assert seconds_text_to_ns("1626992741.06217") == 1_626_992_741_062_170_000
    assert seconds_text_to_ns("12") == 12_000_000_000
    assert seconds_text_to_ns("1.0000000019") == 1_000_000_001  # below ns: truncated
    for bad in ("1e9", "-1.5", "abc", "1.2.3"):
        with pytest.raises(FieldError):
            seconds_text_to_ns(bad)


def test_exchange_time_is_the_transaction_time_where_a_message_has_one() -> None:
    """Futures messages carry E (published) and T (matched): ts_event is T; spot depth has only E."""
    futures = {"e": "depthUpdate", "E": 1_000_020, "T": 1_000_005, "s": "BTCUSDT", "U": 5, "u": 7, "pu": 4,
               "b": [["60000.0", "1.5"]], "a": []}
    ticker = {"e": "bookTicker", "u": 8, "s": "BTCUSDT", "b": "60000.0", "B": "1", "a": "60000.1", "A": "2",
              "T": 1_000_006, "E": 1_000_030}
    rest = {"lastUpdateId": 9, "E": 1_000_050, "T": 1_000_040, "bids": [["60000.0", "1"]], "asks": []}
    spot = {"e": "depthUpdate", "E": 1_000_020, "s": "BTCUSDT", "U": 5, "u": 7, "b": [], "a": [["1.0", "2"]]}
    conv = Converter(venue=USDM, default_symbol="BTCUSDT")
    assert [r[0] for _, r in conv.convert(futures, 7)] == [1_000_005 * 1_000_000]
    assert [r[0] for _, r in conv.convert(ticker, 7)] == [1_000_006 * 1_000_000]
    assert [r[0] for _, r in conv.convert(rest, 7)] == [1_000_040 * 1_000_000]
    assert [r[0] for _, r in conv.convert(spot, 7)] == [1_000_020 * 1_000_000]
    with pytest.raises(FieldError, match="T"):
        conv.convert({**futures, "T": "late"}, 7)


@needs_real
def test_hftbacktest_spot_counts_and_values() -> None:
    path = HFT / "binance_spot_btcusdt_20240808.jsonl.gz"
    records, ctx, name = read_all(path)
    assert name == "binance-hftbacktest"
    raw = raw_hft_messages(path)
    diffs = [d["data"] for _, d in raw if "stream" in d and "@depth" in d["stream"]]
    snapshot = next(d for _, d in raw if "lastUpdateId" in d)
    kinds = Counter(kind for kind, _ in records)
    assert kinds["quotes"] == 28_040
    assert kinds["trades"] == 9_757
    snapshot_levels = len(snapshot["bids"]) + len(snapshot["asks"])
    expected_book = sum(len(d["b"]) + len(d["a"]) for d in diffs) + snapshot_levels
    assert kinds["book"] == expected_book
    for kind, row in records:
        assert len(row) == len(SCHEMAS[kind].names)
        assert row[2] == "binance" and row[3] == "BTCUSDT"

    book = rows_of(records, "book")
    snap_rows = [r for r in book if r[10] & F_SNAPSHOT]
    assert len(snap_rows) == len(snapshot["bids"]) + len(snapshot["asks"])
    assert {r[8] for r in snap_rows} == {50_093_239_218}
    assert sum(1 for r in snap_rows if r[10] & F_LAST) == 1 and snap_rows[-1][10] & F_LAST
    assert sum(1 for r in book if r[10] & F_LAST) == len(diffs) + 1  # one per message
    first = book[0]
    assert (first[7], first[8], first[9]) == (50_093_239_189, 50_093_239_202, -1)
    assert first[4] == 1 and first[5] == to_fixed("61737.63") and first[6] == 0
    assert first[0] == 1_723_161_255_208 * 1_000_000 and first[1] == 1_723_161_253_937_085_768

    trade = rows_of(records, "trades")[0]
    assert trade[4] == to_fixed("61837.63") and trade[5] == to_fixed("0.02")
    assert trade[6] == -1  # m=true: buyer is maker, seller aggressed
    assert trade[7] == "3735683259" and trade[0] == 1_723_161_255_342 * 1_000_000

    offset = int(ctx.metadata["harness.clock_offset_ns"])
    assert -1_300_000_000 < offset < -1_200_000_000  # README: local - E is about -1.27 s
    quote = rows_of(records, "quotes")[0]
    assert quote[8] == 50_093_239_212 and quote[1] == 1_723_161_254_087_891_268
    assert quote[0] == quote[1] - offset  # spot bookTicker has no E: estimated
    assert quote[4:8] == (to_fixed("61837.63"), to_fixed("3.78826"), to_fixed("61837.64"),
                          to_fixed("1.54698"))


@needs_real
@pytest.mark.parametrize(("name", "venue", "symbol", "snapshot_id"), [
    ("binance_usdm_btcusdt_20240808.jsonl.gz", "binance-usdm", "BTCUSDT", 5_123_107_852_948),
    ("binance_cm_btcusd_perp_20240808.jsonl.gz", "binance-coinm", "BTCUSD_PERP", 1_007_198_635_033),
])
def test_hftbacktest_futures(name: str, venue: str, symbol: str, snapshot_id: int) -> None:
    path = HFT / name
    records, _, _ = read_all(path)
    raw = raw_hft_messages(path)
    first_diff = next(d["data"] for _, d in raw if "stream" in d and "@depth" in d["stream"])
    first_quote = next(d["data"] for _, d in raw if "stream" in d and "bookTicker" in d["stream"])
    kinds = Counter(kind for kind, _ in records)
    assert kinds["quotes"] == sum(1 for _, d in raw if "bookTicker" in d.get("stream", ""))
    assert kinds["trades"] == sum(1 for _, d in raw if "@trade" in d.get("stream", ""))
    assert {(r[2], r[3]) for _, r in records} == {(venue, symbol)}
    book = rows_of(records, "book")
    assert (book[0][7], book[0][8], book[0][9]) == (first_diff["U"], first_diff["u"], first_diff["pu"])
    assert {r[8] for r in book if r[10] & F_SNAPSHOT} == {snapshot_id}
    quote = rows_of(records, "quotes")[0]
    assert quote[0] == first_quote["T"] * 1_000_000  # futures bookTicker: transaction time T, not E
    assert quote[8] == first_quote["u"]


@needs_real
@pytest.mark.parametrize("name", ["binance_usdm_btcusdt_20240808.jsonl.gz", "binance_cm_btcusd_perp_20240808.jsonl.gz"])
def test_hftbacktest_futures_book_rows_are_stamped_with_the_transaction_time(name: str) -> None:
    """Futures depth diffs and the REST snapshot carry E and T; ts_event is T (the match time)."""
    path = HFT / name
    records, _, _ = read_all(path)
    raw = [d.get("data", d) for _, d in raw_hft_messages(path)]
    diff_t = {d["u"]: d["T"] * 1_000_000 for d in raw if d.get("e") == "depthUpdate"}
    snapshot = next(d for d in raw if "lastUpdateId" in d)
    assert any(d["E"] != d["T"] for d in raw if d.get("e") == "depthUpdate")  # the test can tell them apart
    book = rows_of(records, "book")
    for row in book:
        expected = snapshot["T"] * 1_000_000 if row[10] & F_SNAPSHOT else diff_t[row[8]]
        assert row[0] == expected
    quote_t = [d["T"] * 1_000_000 for d in raw if d.get("e") == "bookTicker"]
    assert [r[0] for r in rows_of(records, "quotes")] == quote_t


@needs_real
def test_cryptofeed_spot_ws_and_http() -> None:
    records, _, name = read_all(CF / "BINANCE.ws.1.0.txt")
    assert name == "binance-cryptofeed"
    kinds = Counter(kind for kind, _ in records)
    assert kinds["quotes"] == 84 and kinds["trades"] == 2
    assert kinds["candles"] == 0  # both klines in the capture are still forming (x=false)
    assert {r[3] for _, r in records} == {"NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"}
    assert {r[2] for _, r in records} == {"binance"}
    first = rows_of(records, "book")[0]
    assert first[1] == 1_633_998_512_063_356_900  # "1633998512.0633569" parsed without floats
    assert (first[3], first[7], first[8]) == ("NKNUSDT", 499_869_750, 499_869_752)
    assert first[5] == to_fixed("0.3513")

    records, _, _ = read_all(CF / "BINANCE.http.0.0.txt")
    snaps = rows_of(records, "book")
    assert all(r[10] & F_SNAPSHOT for r in snaps)
    ids = {r[3]: r[8] for r in snaps}
    assert ids["NKNUSDT"] == 499_869_752 and ids["RUNEEUR"] == 15_602_511
    assert sum(1 for r in snaps if r[10] & F_LAST) == 4


@needs_real
def test_cryptofeed_futures() -> None:
    records, _, _ = read_all(CF / "BINANCE_FUTURES.ws.1.0.txt")
    kinds = Counter(kind for kind, _ in records)
    assert (kinds["quotes"], kinds["trades"], kinds["candles"]) == (613, 91, 4)
    assert {r[2] for _, r in records} == {"binance-usdm"}
    candle = rows_of(records, "candles")[0]
    assert candle[4] == 60_000_000_000 and candle[3] == "SUSHIUSDT"
    book = rows_of(records, "book")
    assert all(r[9] >= 0 for r in book)  # futures diffs carry pu


@needs_real
def test_nautilus_depth_csv() -> None:
    snap, _, name = read_all(NAUT / "binance-btcusdt-depth-snap.csv")
    assert name == "binance-depth-csv"
    assert len(snap) == 100
    assert all(r[10] & F_SNAPSHOT and r[8] == 2_098_021_528_332 and r[4] == 1 for _, r in snap)
    assert [bool(r[10] & F_LAST) for _, r in snap] == [False] * 99 + [True]
    assert snap[0][1][5] == to_fixed("20377.00") and snap[0][1][6] == to_fixed("1.770")
    update, _, _ = read_all(NAUT / "binance-btcusdt-depth-update.csv")
    sides = Counter(r[4] for _, r in update)
    assert sides == {-1: 77, 1: 23}
    ids = {(r[7], r[8], r[9]) for _, r in update}
    assert ids == {(2_098_041_693_435, 2_098_041_696_700, 2_098_041_693_400)}
    assert {r[2] for _, r in update} == {"binance-usdm"}


@needs_real
def test_basana_depth_json() -> None:
    records, _, name = read_all(REAL / "basana" / "binance_depth_update.json")
    assert name == "binance-depth-json"
    doc = json.loads((REAL / "basana" / "binance_depth_update.json").read_text())
    assert len(records) == len(doc["b"]) + len(doc["a"]) == 248
    row = records[0][1]
    assert row[0] == row[1] == 1_757_466_956_014 * 1_000_000
    assert (row[7], row[8], row[9]) == (76_043_874_804, 76_043_875_762, -1)
    assert row[5] == to_fixed(doc["b"][0][0])


@needs_real
def test_kline_csv() -> None:
    records, _, name = read_all(NAUT / "ADABTC-1m-2021-11-27.csv")
    assert name == "binance-klines-csv"
    assert len(records) == 10
    kind, first = records[0]
    assert kind == "candles"
    assert first == (1_637_971_200_000 * 10**6, 1_637_971_260_000 * 10**6, "binance", "ADABTC", 60 * 10**9,
                     to_fixed("0.00002853"), to_fixed("0.00002854"), to_fixed("0.00002851"),
                     to_fixed("0.00002854"), to_fixed("36304.2"))
    assert len(read_all(NAUT / "ADABTC-1m-2021-11-28.csv")[0]) == 11


@needs_real
@pytest.mark.parametrize("path", [HFT / "hyperliquid_btc_20250126.jsonl.gz", CF / "BYBIT.ws.25.0.txt",
                                  CF / "OKX.ws.1.0.txt", NAUT / "btc-perp-20211231-20220201_1m.csv"])
def test_binance_importers_do_not_claim_other_formats(path: Path) -> None:
    head = read_head(path)
    for name in BINANCE_IMPORTERS:
        assert not registry()[name].sniff(path, head), name


def _corrupted_copy(tmp_path: Path, n_lines: int, *, corrupt: bool) -> Path:
    with gzip.open(HFT / "binance_spot_btcusdt_20240808.jsonl.gz", "rt") as handle:
        lines = [next(handle) for _ in range(n_lines)]
    if corrupt:
        lines[2] = lines[2][:60] + "\n"  # line 3: truncated JSON
        assert '"p":"61837.63000000"' in lines[3]
        lines[3] = lines[3].replace('"p":"61837.63000000"', '"p":"61837.6x"')  # line 4: bad price
        lines.append(lines[-1].split(" ", 1)[0] + ' {"stream":"btcusdt@trade","data":{"e":"trade"}}\n')
    path = tmp_path / "binance_spot_btcusdt_test.jsonl.gz"
    with gzip.open(path, "wt") as out:
        out.writelines(lines)
    return path


@needs_real
def test_bad_rows_raise_with_file_line_and_field(tmp_path: Path) -> None:
    path = _corrupted_copy(tmp_path, 200, corrupt=True)
    with pytest.raises(DataFormatError) as info:
        import_file(path, tmp_path / "out")
    assert info.value.line == 3 and info.value.field_name == "json"
    assert f"{path}:3" in str(info.value)

    ctx = ImportContext()
    ctx.bad_rows.skip_bad = True
    records = list(detect(path).read(path, ctx))
    assert ctx.bad_rows.count == 3
    assert any(":4:" in e and "'p'" in e for e in ctx.bad_rows.examples)
    assert any(":201:" in e for e in ctx.bad_rows.examples)  # the trade without fields
    (tmp_path / "ok").mkdir()
    good, _, _ = read_all(_corrupted_copy(tmp_path / "ok", 200, corrupt=False))
    assert len(rows_of(records, "trades")) == len(rows_of(good, "trades")) - 1  # line 4 was a trade
    assert len(rows_of(records, "quotes")) == len(rows_of(good, "quotes")) - 1  # line 3 was a quote


@needs_real
def test_failed_import_leaves_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small row groups so that the failing import has already written row groups to disk.
    monkeypatch.setattr(importing, "ParquetSink", functools.partial(ParquetSink, row_group_size=500))
    out = tmp_path / "out"
    ok = _corrupted_copy(tmp_path, 3000, corrupt=False)
    result = import_file(ok, out)
    assert result.rows["book"] > 1000 and len(list(out.glob("*.parquet"))) == 3
    for produced in out.iterdir():
        produced.unlink()

    bad = tmp_path / "bad.jsonl.gz"
    with gzip.open(ok, "rt") as src, gzip.open(bad, "wt") as dst:
        dst.writelines(src)
        dst.write("1723161254087896568 {not json\n")
    with pytest.raises(DataFormatError):
        import_file(bad, out)
    assert list(out.iterdir()) == []

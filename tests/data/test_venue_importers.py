"""Importers for the non-Binance venue recordings: row counts, exact values, bad rows, refusals.

The real-data tests read /work/shared/data/real (skipped when it is not mounted); the bad-row
and refusal tests build small temporary files from the same formats.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness.data.errors import DataFormatError, UnsupportedFormatError
from harness.data.importers.base import detect
from harness.data.importers.nautilus import float_to_fixed
from harness.data.importers.textfmt import FieldError, decimal_to_ns, iso8601_to_ns
from harness.data.importing import import_file
from harness.data.schema import F_LAST, F_SNAPSHOT
from harness.money import to_fixed

REAL = Path("/work/shared/data/real")
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="real data set /work/shared/data/real not mounted")


def rows(path: Path) -> list[dict[str, Any]]:
    """All rows of an imported Parquet file as dicts."""
    table: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return table


# -- exact parsing helpers -------------------------------------------------------------------

def test_float_seconds_text_to_ns_is_exact() -> None:
    assert decimal_to_ns("1618677817.0618958", "t") == 1_618_677_817_061_895_800
    assert decimal_to_ns("1618677817", "t") == 1_618_677_817_000_000_000
    assert decimal_to_ns("1.1234567890", "t") == 1_123_456_789  # trailing zero below 1 ns is fine
    with pytest.raises(FieldError):
        decimal_to_ns("1.1234567891", "t")  # finer than 1 ns is refused, not rounded
    with pytest.raises(FieldError):
        decimal_to_ns("1e9", "t")


def test_iso8601_to_ns() -> None:
    assert iso8601_to_ns("2021-04-17T16:43:37.075687Z", "time") == 1_618_677_817_075_687_000
    with pytest.raises(FieldError):
        iso8601_to_ns("2021-02-30T00:00:00Z", "time")


def test_float_to_fixed_snaps_to_shortest_decimal() -> None:
    assert float_to_fixed(0.00031099999999999997, "q") == to_fixed("0.000311")
    assert float_to_fixed(39432.48, "p") == to_fixed("39432.48")
    with pytest.raises(FieldError):
        float_to_fixed(1 / 3, "p")


# -- real files ------------------------------------------------------------------------------

EXPECTED = {
    "cryptofeed/COINBASE.ws.28.0.txt": ("coinbase-cryptofeed", {"book": 18081, "trades": 107}),
    "cryptofeed/BYBIT.ws.25.0.txt": ("bybit-cryptofeed", {"book": 20342, "trades": 101}),
    "cryptofeed/BYBIT.ws.26.0.txt": ("bybit-cryptofeed", {"book": 2652, "trades": 150}),
    "cryptofeed/OKX.ws.1.0.txt": ("okx-cryptofeed", {"book": 8264, "trades": 74, "quotes": 28}),
    "nautilus/kraken-http_trades.json": ("kraken-rest-trades", {"trades": 1000}),
    "nautilus/kraken-http_ohlc.json": ("kraken-rest-ohlc", {"candles": 720}),
    "hftbacktest/hyperliquid_btc_20250126.jsonl.gz": ("hyperliquid-raw", {"book": 1840, "trades": 64}),
    "nautilus/tardis-binance-futures_book_snapshot_25_BTCUSDT.csv": ("tardis-csv", {"book": 500}),
    "nautilus/tardis-binance-futures_book_snapshot_5_BTCUSDT.csv": ("tardis-csv", {"book": 100}),
    "nautilus/tardis-bitmex_trades_XBTUSD.csv": ("tardis-csv", {"trades": 10}),
    "nautilus/tardis-deribit_incremental_book_L2_BTC-PERPETUAL.csv": ("tardis-csv", {"book": 15}),
    "nautilus/tardis-huobi-dm-swap_quotes_BTC-USD.csv": ("tardis-csv", {"quotes": 10}),
    "nautilus/binance-btcusdt-trades.parquet": ("nautilus-parquet", {"trades": 2001}),
    "nautilus/binance-btcusdt-quotes.parquet": ("nautilus-parquet", {"quotes": 451}),
}


@needs_real
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_file_detected_and_counted(name: str, tmp_path: Path) -> None:
    importer, counts = EXPECTED[name]
    assert detect(REAL / name).name == importer
    result = import_file(REAL / name, tmp_path)
    assert result.importer == importer
    assert result.rows == counts
    assert result.bad_rows.count == 0


@needs_real
def test_coinbase_values(tmp_path: Path) -> None:
    result = import_file(REAL / "cryptofeed/COINBASE.ws.28.0.txt", tmp_path)
    book = rows(result.outputs["book"])
    first = book[0]  # snapshot of BAND-GBP, first bid ["14.7693","27.51"]; snapshots have no venue time
    assert (first["symbol"], first["side"], first["price"], first["size"]) == (
        "BAND-GBP", 1, to_fixed("14.7693"), to_fixed("27.51"))
    assert first["ts_event"] == first["ts_recv"] == 1_618_677_817_077_736_000
    assert first["flags"] == F_SNAPSHOT
    assert sum(1 for r in book if r["flags"] & F_LAST) == 10 + 9719  # one per message
    trades = rows(result.outputs["trades"])
    # last_match BAND-GBP: maker side "sell" -> the taker bought
    assert trades[0] == {"ts_event": 1_618_677_810_244_075_000, "ts_recv": 1_618_677_817_079_762_000,
                         "venue": "coinbase", "symbol": "BAND-GBP", "price": to_fixed("14.7775"),
                         "size": to_fixed("0.04"), "aggressor": 1, "trade_id": "881613"}


@needs_real
def test_bybit_values(tmp_path: Path) -> None:
    result = import_file(REAL / "cryptofeed/BYBIT.ws.26.0.txt", tmp_path)
    book = rows(result.outputs["book"])
    assert book[0]["symbol"] == "EOSUSD"
    assert (book[0]["price"], book[0]["size"], book[0]["update_id"]) == (
        to_fixed("7.943"), to_fixed(154219), 1225777224)
    assert book[0]["ts_event"] == 1_618_677_786_558_146_000  # timestamp_e6
    trades = rows(result.outputs["trades"])
    assert trades[0]["price"] == to_fixed("60621.5")  # a JSON number, read exactly
    assert (trades[0]["ts_event"], trades[0]["aggressor"]) == (1_618_677_786_614_000_000, -1)
    linear = rows(import_file(REAL / "cryptofeed/BYBIT.ws.25.0.txt", tmp_path).outputs["trades"])
    assert (linear[0]["symbol"], linear[0]["price"], linear[0]["size"]) == (
        "BCHUSDT", to_fixed("1053.90"), to_fixed("0.14"))


@needs_real
def test_okx_values(tmp_path: Path) -> None:
    result = import_file(REAL / "cryptofeed/OKX.ws.1.0.txt", tmp_path)
    quote = rows(result.outputs["quotes"])[0]
    assert (quote["bid_price"], quote["bid_size"], quote["ask_price"], quote["ask_size"]) == (
        to_fixed("30210.4"), to_fixed("4"), to_fixed("30220.1"), to_fixed("3"))
    assert quote["ts_event"] == 1_652_459_223_003_000_000
    trade = rows(result.outputs["trades"])[0]
    assert (trade["symbol"], trade["price"], trade["trade_id"], trade["aggressor"]) == (
        "BTC-USD-220527", to_fixed("30218.8"), "7849", 1)
    book = rows(result.outputs["book"])
    assert sum(1 for r in book if r["flags"] & F_LAST) == 3 + 287


@needs_real
def test_kraken_ws_placeholder_level_is_reported(tmp_path: Path) -> None:
    source = REAL / "cryptofeed/KRAKEN.ws.50.0.txt"
    with pytest.raises(DataFormatError) as info:
        import_file(source, tmp_path)
    assert (info.value.line, info.value.field_name) == (16, "as[315].price")  # an ask at 9999999997
    assert not list(tmp_path.iterdir())
    result = import_file(source, tmp_path, skip_bad=True)
    assert result.bad_rows.count == 1
    assert result.rows == {"book": 11744}
    first = rows(result.outputs["book"])[0]
    assert (first["symbol"], first["side"], first["price"], first["size"]) == (
        "ADA/XBT", -1, to_fixed("0.000022900"), to_fixed("13355.87450757"))
    assert first["ts_event"] == 1_618_678_123_481_570_000  # the level's own time
    assert first["ts_recv"] == 1_618_678_133_626_511_000


@needs_real
def test_kraken_rest_values(tmp_path: Path) -> None:
    trades = rows(import_file(REAL / "nautilus/kraken-http_trades.json", tmp_path).outputs["trades"])
    assert trades[0] == {"ts_event": 1_762_795_433_971_744_500, "ts_recv": 1_762_795_433_971_744_500,
                         "venue": "kraken", "symbol": "XBTUSDT", "price": to_fixed("105433.60000"),
                         "size": to_fixed("0.00027625"), "aggressor": 1, "trade_id": "10218208"}
    result = import_file(REAL / "nautilus/kraken-http_ohlc.json", tmp_path)
    bars = rows(result.outputs["candles"])
    assert bars[0]["ts_event"] == 1_762_777_020 * 10**9
    assert bars[0]["interval_ns"] == 60 * 10**9
    assert bars[-1]["ts_event"] == 1_762_820_160 * 10**9  # the forming bar at ...220 was dropped
    meta = pq.read_schema(result.outputs["candles"]).metadata
    assert meta[b"harness.kraken.dropped_forming_bars"] == b"1"


@needs_real
def test_hyperliquid_values(tmp_path: Path) -> None:
    result = import_file(REAL / "hftbacktest/hyperliquid_btc_20250126.jsonl.gz", tmp_path)
    book = rows(result.outputs["book"])
    assert all(r["flags"] & F_SNAPSHOT for r in book)
    assert sum(1 for r in book if r["flags"] & F_LAST) == 46
    assert (book[0]["price"], book[0]["size"], book[0]["ts_event"], book[0]["ts_recv"]) == (
        to_fixed("105055.0"), to_fixed("3.03622"), 1_737_918_843_542_000_000, 1_737_918_843_893_903_000)
    trade = rows(result.outputs["trades"])[0]
    assert (trade["price"], trade["size"], trade["aggressor"], trade["trade_id"]) == (
        to_fixed("105056.0"), to_fixed("0.00219"), 1, "121451470284048")


@needs_real
def test_tardis_values(tmp_path: Path) -> None:
    book = rows(import_file(REAL / "nautilus/tardis-binance-futures_book_snapshot_5_BTCUSDT.csv",
                            tmp_path).outputs["book"])
    assert book[0]["venue"] == "binance-futures"
    assert (book[0]["side"], book[0]["price"], book[0]["size"]) == (1, to_fixed("11657.07"), to_fixed("10.896"))
    assert (book[0]["ts_event"], book[0]["ts_recv"]) == (1_598_918_403_696_000_000, 1_598_918_403_810_979_000)
    assert [r["flags"] for r in book[:10]] == [F_SNAPSHOT] * 9 + [F_SNAPSHOT | F_LAST]
    deribit = rows(import_file(REAL / "nautilus/tardis-deribit_incremental_book_L2_BTC-PERPETUAL.csv",
                               tmp_path).outputs["book"])
    assert [r["flags"] for r in deribit] == [F_SNAPSHOT] * 14 + [F_SNAPSHOT | F_LAST]
    assert (deribit[0]["side"], deribit[0]["price"], deribit[0]["size"]) == (-1, to_fixed("6421.5"), to_fixed(18640))
    bitmex = rows(import_file(REAL / "nautilus/tardis-bitmex_trades_XBTUSD.csv", tmp_path).outputs["trades"])
    assert (bitmex[0]["venue"], bitmex[0]["aggressor"], bitmex[0]["size"]) == ("bitmex", -1, to_fixed(2152))
    huobi = rows(import_file(REAL / "nautilus/tardis-huobi-dm-swap_quotes_BTC-USD.csv", tmp_path).outputs["quotes"])
    assert (huobi[0]["bid_price"], huobi[0]["ask_size"]) == (to_fixed("8629.2"), to_fixed(5494))


@needs_real
def test_nautilus_parquet_values(tmp_path: Path) -> None:
    result = import_file(REAL / "nautilus/binance-btcusdt-trades.parquet", tmp_path)
    trades = rows(result.outputs["trades"])
    assert trades[0] == {"ts_event": 1_610_064_000_278_000_000, "ts_recv": 1_610_064_000_278_000_000,
                         "venue": "binance", "symbol": "BTCUSDT", "price": to_fixed("39432.48"),
                         "size": to_fixed("0.000263"), "aggressor": -1, "trade_id": "553287559"}
    assert trades[2]["size"] == to_fixed("0.000311")  # stored as 0.00031099999999999997
    quotes = rows(import_file(REAL / "nautilus/binance-btcusdt-quotes.parquet", tmp_path).outputs["quotes"])
    assert (quotes[0]["bid_price"], quotes[0]["ask_size"]) == (to_fixed("39432.99"), to_fixed("0.066851"))


# -- bad rows (temporary files) --------------------------------------------------------------

CAPTURE_HEAD = {
    "coinbase": "wss://ws-feed.pro.coinbase.com <-> 1618677816.8434298\n",
    "bybit": "wss://stream.bybit.com/realtime <-> 1618677785.489609\n",
    "okx": "wss://ws.okx.com:8443/ws/v5/public <-> 1652459224.5300605\n",
    "kraken": "wss://ws.kraken.com <-> 1618678132.3858151\n",
}
GOOD_AND_BAD = {
    "coinbase": ('1.5: {"type":"l2update","product_id":"X-USD","changes":[["buy","1.5","2"]],'
                 '"time":"2021-04-17T16:43:37.075687Z"}',
                 '1.6: {"type":"l2update","product_id":"X-USD","changes":[["buy","abc","2"]],'
                 '"time":"2021-04-17T16:43:37.075687Z"}', "changes[0].price"),
    "bybit": ('1.5: {"topic":"trade.BTCUSD","data":[{"trade_time_ms":1,"symbol":"BTCUSD","side":"Buy",'
              '"size":1,"price":60621.5,"trade_id":"a"}]}',
              '1.6: {"topic":"trade.BTCUSD","data":[{"trade_time_ms":1,"symbol":"BTCUSD","side":"Up",'
              '"size":1,"price":60621.5,"trade_id":"b"}]}', "data[0].side"),
    "okx": ('1.5: {"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",'
            '"tradeId":"1","px":"1.5","sz":"1","side":"buy","ts":"1652459199958"}]}',
            '1.6: {"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",'
            '"tradeId":"2","px":"1.5","sz":"0.0000000001","side":"buy","ts":"1652459199958"}]}', "data[0].sz"),
    "kraken": ('1.5: [1,{"b":[["354.15","5.0","1618678133.365913"]],"c":"1"},"book-1000","XMR/USD"]',
               '1.6: [1,{"b":[["354.15","5.0","16186781x33.365913"]],"c":"1"},"book-1000","XMR/USD"]',
               "b[0].time"),
}


@pytest.mark.parametrize("venue", sorted(GOOD_AND_BAD))
def test_capture_bad_line(venue: str, tmp_path: Path) -> None:
    good, bad, field = GOOD_AND_BAD[venue]
    src = tmp_path / f"{venue.upper()}.ws.1.0.txt"
    # the last line is another trade (a new id): the same trade twice would be a duplicate
    again = good.replace('"trade_id":"a"', '"trade_id":"c"').replace('"tradeId":"1"', '"tradeId":"3"')
    src.write_text(CAPTURE_HEAD[venue] + good + "\n" + bad + "\n" + again + "\n")
    out = tmp_path / "out"
    with pytest.raises(DataFormatError) as info:
        import_file(src, out)
    assert (info.value.path, info.value.line, info.value.field_name) == (str(src), 3, field)
    assert f"{src}:3" in str(info.value)
    result = import_file(src, out, skip_bad=True)
    assert result.bad_rows.count == 1
    assert sum(result.rows.values()) == 2


def test_capture_unparseable_json_is_a_bad_line(tmp_path: Path) -> None:
    src = tmp_path / "c.txt"
    src.write_text(CAPTURE_HEAD["okx"] + '1.5: {"arg": \n')
    with pytest.raises(DataFormatError) as info:
        import_file(src, tmp_path / "out")
    assert (info.value.line, info.value.field_name) == (2, "json")


def test_hyperliquid_bad_line(tmp_path: Path) -> None:
    good = ('1737918847319919000 {"channel":"trades","data":[{"coin":"BTC","px":"105056.0","side":"B",'
            '"sz":"0.02222","tid":1,"time":1737918847000}]}')
    src = tmp_path / "hl.jsonl.gz"
    with gzip.open(src, "wt") as handle:
        handle.write(good + "\n" + good.replace('"sz":"0.02222"', '"sz":"1e-12"') + "\n")
    with pytest.raises(DataFormatError) as info:
        import_file(src, tmp_path / "out")
    assert (info.value.line, info.value.field_name) == (2, "data[0].sz")
    assert import_file(src, tmp_path / "out", skip_bad=True).bad_rows.count == 1


def test_tardis_bad_line_and_last_flags(tmp_path: Path) -> None:
    src = tmp_path / "deribit_incremental_book_L2.csv"
    src.write_text("exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"
                   "deribit,X,1,2,true,ask,10,1\n"
                   "deribit,X,1,2,true,bid,9,1\n"
                   "deribit,X,3,4,false,bid,9,oops\n"
                   "deribit,X,5,6,false,ask,10,0\n"
                   "deribit,X,5,6,false,ask,11,2\n")
    with pytest.raises(DataFormatError) as info:
        import_file(src, tmp_path / "out")
    assert (info.value.line, info.value.field_name) == (4, "amount")
    result = import_file(src, tmp_path / "out", skip_bad=True)
    assert result.bad_rows.count == 1
    book = rows(result.outputs["book"])
    assert [r["flags"] for r in book] == [F_SNAPSHOT, F_SNAPSHOT | F_LAST, 0, F_LAST]
    assert [r["ts_event"] for r in book] == [1000, 1000, 5000, 5000]


def test_tardis_unsupported_type_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "deribit_derivative_ticker.csv"
    src.write_text("exchange,symbol,timestamp,local_timestamp,funding_rate,predicted_funding_rate,"
                   "open_interest,last_price,index_price,mark_price\n"
                   "deribit,BTC-PERPETUAL,1,2,0.0001,0.0001,100,10,10,10\n")
    with pytest.raises(UnsupportedFormatError, match="no canonical kind"):
        import_file(src, tmp_path / "out")


def test_kraken_rest_bad_row_names_its_line(tmp_path: Path) -> None:
    src = tmp_path / "trades.json"
    src.write_text('{\n  "error": [],\n  "result": {\n    "XBTUSDT": [\n'
                   '      ["105433.6", "0.1", 1762795433.9717445, "b", "l", "", 1],\n'
                   '      ["105433.6", "0.1", 1762795434.5, "x", "l", "", 2],\n'
                   '      ["105433.6", "0.1", 1762795435, "s", "l", "", 3]\n'
                   '    ],\n    "last": "1"\n  }\n}\n')
    with pytest.raises(DataFormatError) as info:
        import_file(src, tmp_path / "out")
    assert (info.value.line, info.value.field_name) == (6, "side")
    result = import_file(src, tmp_path / "out", skip_bad=True)
    assert (result.bad_rows.count, result.rows) == (1, {"trades": 2})


def test_kraken_rest_error_response_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "err.json"
    src.write_text('{"error": ["EGeneral:Too many requests"], "result": {"XBTUSDT": [["1", "1", 1, "b"]]}}')
    with pytest.raises(DataFormatError, match="Kraken error response"):
        import_file(src, tmp_path / "out", fmt="kraken-rest-trades")


def test_nautilus_parquet_bad_row(tmp_path: Path) -> None:
    src = tmp_path / "binance-btcusdt-trades.parquet"
    table = pa.table({
        "timestamp": pa.array([1, 2, 3], pa.timestamp("ms", tz="UTC")),
        "trade_id": [1, 2, 3],
        "price": [1.5, 1 / 3, 2.25],
        "quantity": [0.1, 0.2, 0.3],
        "buyer_maker": ["True", "False", "False"],
    })
    pq.write_table(table, src)
    with pytest.raises(DataFormatError) as info:
        import_file(src, tmp_path / "out")
    assert (info.value.line, info.value.field_name) == (2, "price")
    result = import_file(src, tmp_path / "out", skip_bad=True)
    assert result.bad_rows.count == 1
    got = rows(result.outputs["trades"])
    assert [(r["ts_event"], r["price"], r["size"]) for r in got] == [
        (1_000_000, to_fixed("1.5"), to_fixed("0.1")), (3_000_000, to_fixed("2.25"), to_fixed("0.3"))]


@needs_real
def test_bybit_delete_without_price_uses_level_id(tmp_path: Path) -> None:
    lines = (REAL / "cryptofeed/BYBIT.ws.26.0.txt").read_text().splitlines()
    snapshot = next(line for line in lines if '"type":"snapshot"' in line and "EOSUSD" in line)
    delete = ('1618677790.5: {"topic":"orderBookL2_25.EOSUSD","type":"delta","data":{"delete":'
              '[{"symbol":"EOSUSD","id":79430,"side":"Buy"}],"update":[],"insert":[]},'
              '"cross_seq":1225777300,"timestamp_e6":1618677790000000}')
    src = tmp_path / "BYBIT.ws.26.0.txt"
    src.write_text(lines[0] + "\n" + snapshot + "\n" + delete + "\n")
    book = rows(import_file(src, tmp_path / "out").outputs["book"])
    assert (book[-1]["price"], book[-1]["size"], book[-1]["update_id"]) == (to_fixed("7.943"), 0, 1225777300)


def test_sniffers_do_not_claim_each_other(tmp_path: Path) -> None:
    if REAL.is_dir():
        shutil.copy(REAL / "cryptofeed/OKX.ws.1.0.txt", tmp_path / "x.txt")
        assert detect(tmp_path / "x.txt").name == "okx-cryptofeed"
    src = tmp_path / "y.csv"
    src.write_text("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nbitmex,X,1,2,a,buy,1,1\n")
    assert detect(src).name == "tardis-csv"

"""Market data read back for reports: as-of mids and the downsampled price line, on hand-made files."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from hand_run import write_quotes

from reports.market_data import mids_at, normalise_symbol, price_series


def test_mids_as_of_each_time_from_rows_out_of_order(tmp_path: Path) -> None:
    quotes = tmp_path / "q.quotes.parquet"
    write_quotes(quotes, [(300, 10, 12), (100, 1, 3), (200, 5, 6), (200, 7, 8)])  # two at 200: the later row wins
    assert mids_at([quotes], "binance", "BTC-USDT", [50, 100, 199, 200, 250, 10_000]) == [
        None, Decimal(2), Decimal(2), Decimal("7.5"), Decimal("7.5"), Decimal(11)]
    assert mids_at([quotes], "okx", "BTCUSDT", [250]) == [None]  # another venue's rows are not used
    assert normalise_symbol("btc/usdt") == "BTCUSDT"


def test_price_line_keeps_first_last_low_and_high_per_bucket(tmp_path: Path) -> None:
    quotes = tmp_path / "q.quotes.parquet"
    # mids 2, 9, 4 in the first bucket [0, 500), 20 and 30 in the second
    write_quotes(quotes, [(0, 1, 3), (100, 8, 10), (499, 3, 5), (500, 19, 21), (999, 29, 31)])
    series = price_series([], [quotes], "binance", "BTCUSDT", start_ns=0, end_ns=1000, max_points=2)
    assert series is not None and series.source == "quote mid" and series.bucket_ns == 500
    assert series.ts_ns.tolist() == [0, 500]
    assert series.first.tolist() == [2.0, 20.0] and series.last.tolist() == [4.0, 30.0]
    assert series.low.tolist() == [2.0, 20.0] and series.high.tolist() == [9.0, 30.0]
    assert series.rows_read == 5
    many = price_series([], [quotes], "binance", "BTCUSDT", start_ns=0, end_ns=1000, max_points=1)
    assert many is not None and len(many) == 1 and many.high.tolist() == [30.0]
    assert price_series([], [quotes], "binance", "ETHUSDT", start_ns=0, end_ns=1000) is None

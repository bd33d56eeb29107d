"""CandleBuilder: minute bars from a trade tape, aggregation, and what it refuses."""

from __future__ import annotations

import pytest

from harness.contract import InvalidRequestError
from harness.model import Trade
from sim.venue.candles import BASE_INTERVAL_NS, CandleBuilder

M = BASE_INTERVAL_NS
T0 = 1_723_075_200_000_000_000  # a minute boundary


def trade(ts: int, price: int, size: int = 1, symbol: str = "BTCUSDT") -> Trade:
    return Trade(ts, ts, "binance", symbol, price, size, 0, str(ts))


def test_bars_per_symbol_skip_an_out_of_order_tape_and_aggregate() -> None:
    builder = CandleBuilder("binance", max_bars=3)
    for ts, price in [(T0, 10), (T0 + 5, 12), (T0 + 9, 8), (T0 + M, 11), (T0 + 3, 99), (T0 + 2 * M + 1, 13)]:
        builder.add(trade(ts, price))
    builder.add(trade(T0 + 7, 50, symbol="ETHUSDT"))
    bars = builder.candles("BTCUSDT", M, 10, T0 + 3 * M)
    assert [(c.ts_open, c.open, c.high, c.low, c.close, c.volume) for c in bars] == [
        (T0, 10, 12, 8, 8, 3), (T0 + M, 11, 11, 11, 11, 1), (T0 + 2 * M, 13, 13, 13, 13, 1)]  # 99 came late
    assert [c.close for c in builder.candles("ETHUSDT", M, 10, T0 + M)] == [50]
    two = builder.candles("BTCUSDT", 2 * M, 10, T0 + 3 * M)
    assert [(c.ts_open, c.high, c.low, c.volume) for c in two] == [(T0, 12, 8, 4), (T0 + 2 * M, 13, 13, 1)]
    assert builder.candles("BTCUSDT", M, 1, T0 + 3 * M)[0].ts_open == T0 + 2 * M  # limit keeps the newest
    assert [c.ts_open for c in builder.candles("BTCUSDT", M, 10, T0 + M)] == [T0, T0 + M]  # nothing from the future
    builder.add(trade(T0 + 3 * M, 14))
    assert [c.ts_open for c in builder.candles("BTCUSDT", M, 10, T0 + 4 * M)] == [T0 + M, T0 + 2 * M, T0 + 3 * M]


@pytest.mark.parametrize(("interval", "limit"), [(M // 2, 5), (0, 5), (M, 0)])
def test_bad_requests_are_refused(interval: int, limit: int) -> None:
    with pytest.raises(InvalidRequestError):
        CandleBuilder("binance").candles("BTCUSDT", interval, limit, T0)


def test_bar_closes_one_interval_flat_when_no_trade_and_none_before_the_first() -> None:
    import numpy as np

    builder = CandleBuilder("binance")
    assert builder.bar("BTCUSDT", T0, M) is None  # nothing traded yet
    for ts, price, size in [(T0 + 1, 10, 2), (T0 + M - 1, 12, 1), (T0 + M, 9, 5), (T0 + 2 * M + 7, 11, 1)]:
        builder.add(trade(ts, price, size))
    # a run from the trade fast path, folded when the bar is read
    run_ts = np.array([T0 + 4 * M + i for i in range(100)], dtype=np.int64)
    builder.add_many("BTCUSDT", run_ts, np.arange(100, dtype=np.int64) % 7 + 20, np.ones(100, dtype=np.int64))
    closed = builder.bar("BTCUSDT", T0, M)
    assert closed is not None
    assert (closed.ts_open, closed.interval_ns, closed.venue, closed.symbol) == (T0, M, "binance", "BTCUSDT")
    assert (closed.open, closed.high, closed.low, closed.close, closed.volume) == (10, 12, 10, 12, 3)
    assert builder.bar("BTCUSDT", T0 + 3 * M, M) == closed._replace(  # no trade in minute 3: flat at 11
        ts_open=T0 + 3 * M, open=11, high=11, low=11, close=11, volume=0)
    two = builder.bar("BTCUSDT", T0, 2 * M)
    assert two is not None and (two.open, two.high, two.low, two.close, two.volume) == (10, 12, 9, 9, 8)
    run = builder.bar("BTCUSDT", T0 + 4 * M, M)
    assert run is not None and (run.open, run.high, run.low, run.close, run.volume) == (20, 26, 20, 20 + 99 % 7, 100)
    assert builder.bar("ETHUSDT", T0, M) is None
    with pytest.raises(InvalidRequestError):
        builder.bar("BTCUSDT", T0 + 1, M)  # not on the interval's grid
    with pytest.raises(InvalidRequestError):
        builder.bar("BTCUSDT", T0, M // 2)

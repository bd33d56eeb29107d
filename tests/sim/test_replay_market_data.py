"""Replays tell strategies what data they have and deliver bars from the data: instruments, recorded candles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from constant_latency import MARKET_NS, constant_profile_file
from synthetic import START_NS, write_tape

from harness.data.schema import CANDLES, SCHEMA_VERSION, TRADES
from harness.model import Candle
from harness.strategy import Strategy, StrategyConfigError, StrategyContext
from scenarios.inventory import take_inventory
from scenarios.replay import RunFailedError, VenueSetup, run_replay
from scenarios.replay_cli import replay_command

NS = 1_000_000_000
MINUTE = 60 * NS
MM = "strategies.market_maker:PassiveMarketMaker"
META = {"harness.schema_version": SCHEMA_VERSION}


class BarLogger(Strategy):
    """Asks for bars of ``interval_s`` on its venue's first instrument and logs each with its arrival time."""

    def on_start(self, ctx: StrategyContext) -> None:
        """Subscribe."""
        super().on_start(ctx)
        venue, symbol = ctx.instruments[0]
        ctx.subscribe_bars(venue, symbol, interval_s=int(self.params["interval_s"]))

    def on_bar(self, candle: Candle) -> None:
        """Log the bar as ``arrival ts_open interval open high low close volume``."""
        self.ctx.log(" ".join(str(v) for v in (self.ctx.clock.now_ns(), candle.ts_open, candle.interval_ns,
                                                candle.open, candle.high, candle.low, candle.close, candle.volume)))


def write_candles(path: Path, venue: str, symbol: str, rows: list[tuple[int, int, int, int, int, int, int]]) -> Path:
    """A canonical candles file of (ts_open, interval_ns, open, high, low, close, volume) rows."""
    ts = np.array([r[0] for r in rows], dtype=np.int64)
    interval = np.array([r[1] for r in rows], dtype=np.int64)
    codes = np.zeros(len(rows), dtype=np.int32)
    columns = [ts, ts + interval, pa.DictionaryArray.from_arrays(codes, [venue]),
               pa.DictionaryArray.from_arrays(codes, [symbol]), interval,
               *(np.array([r[k] for r in rows], dtype=np.int64) for k in range(2, 7))]
    pq.write_table(pa.Table.from_arrays(columns, schema=CANDLES.with_metadata({**META, "harness.kind": "candles"})),
                   path)
    return path


def bar_lines(run_dir: Path) -> list[list[int]]:
    events = pq.read_table(run_dir / "events.parquet").to_pylist()
    return [[int(v) for v in e["message"].split()] for e in events if e["kind"] == "strategy"]


def test_inventory_lists_instruments_in_data_order_and_the_recorded_candle_intervals(tmp_path: Path) -> None:
    n = 6
    codes = pa.array([0, 1, 0, 1, 2, 1], pa.int32())
    ts = np.arange(n, dtype=np.int64)
    trades = pa.Table.from_arrays(
        [ts, ts, pa.DictionaryArray.from_arrays(np.zeros(n, np.int32), ["okx"]),
         pa.DictionaryArray.from_arrays(codes, ["ETH-USDT", "BTC-USDT", "SOL-USDT"]), ts, ts,
         np.zeros(n, np.int8), pa.array([str(i) for i in range(n)])], schema=TRADES)
    pq.write_table(trades, tmp_path / "okx.trades.parquet")
    rows = [(0, MINUTE, 1, 1, 1, 1, 1), (0, 5 * MINUTE, 1, 1, 1, 1, 1), (MINUTE, MINUTE, 1, 1, 1, 1, 1)]
    candles = write_candles(tmp_path / "c.parquet", "binance", "BTCUSDT", rows)
    inventory = take_inventory([tmp_path / "okx.trades.parquet", candles])
    assert inventory.instruments == (("okx", "ETH-USDT"), ("okx", "BTC-USDT"), ("okx", "SOL-USDT"),
                                     ("binance", "BTCUSDT"))
    assert inventory.candle_intervals == {("binance", "BTCUSDT"): (MINUTE, 5 * MINUTE)}
    assert inventory.for_venue("okx2", "okx", {"BTC-USDT": "BTCUSDT"}) == [
        ("okx2", "ETH-USDT"), ("okx2", "BTCUSDT"), ("okx2", "SOL-USDT")]
    assert inventory.bars_for_venue("binance", {"BTCUSDT": "BTC-USDT"}) == [("BTC-USDT", MINUTE),
                                                                           ("BTC-USDT", 5 * MINUTE)]


def test_recorded_candles_serve_their_interval_and_the_tape_serves_the_others(tmp_path: Path) -> None:
    tape = write_tape(tmp_path / "data", "binance", "BTCUSDT")
    recorded = [(START_NS + k * MINUTE, MINUTE, 100 + k, 110 + k, 90 + k, 105 + k, 7 + k) for k in range(4)]
    candles = write_candles(tmp_path / "data" / "binance_BTCUSDT.candles.parquet", "binance", "BTCUSDT", recorded)
    profile = str(constant_profile_file("binance", tmp_path))
    files = [*tape, candles]
    setup = [VenueSetup("binance", profile)]
    strategy = f"{__name__}:BarLogger"
    one = run_replay(files, setup, strategy, params={"interval_s": "60"}, out_dir=tmp_path / "a", progress=False)
    assert bar_lines(one.run_dir) == [[opened + interval + MARKET_NS, opened, interval, *ohlcv]
                                      for opened, interval, *ohlcv in recorded]
    # two minutes is not recorded: built from the trade tape, each bar at its close plus latency
    two = run_replay(files, setup, strategy, params={"interval_s": "120"}, out_dir=tmp_path / "b", progress=False)
    trades = pq.read_table(tape[0]).to_pydict()
    expected = []
    for k in range(2):
        opened = START_NS + k * 2 * MINUTE
        rows = [(p, s) for t, p, s in zip(trades["ts_event"], trades["price"], trades["size"], strict=True)
                if opened <= t < opened + 2 * MINUTE]
        prices = [p for p, _ in rows]
        expected.append([opened + 2 * MINUTE + MARKET_NS, opened, 2 * MINUTE, prices[0], max(prices), min(prices),
                         prices[-1], sum(s for _, s in rows)])
    assert bar_lines(two.run_dir) == expected


def test_a_venue_driven_by_another_venues_data_defaults_to_its_own_name_of_the_instrument(tmp_path: Path) -> None:
    data = write_tape(tmp_path / "data", "binance", "BTCUSDT")
    okx = [VenueSetup("okx", "okx", data_venue="binance")]
    result = run_replay(data, okx, MM, params={"requote_ticks": "1"}, out_dir=tmp_path / "runs", progress=False)
    assert result.manifest["instruments"] == [["okx", "BTC-USDT"]]
    orders = pq.read_table(result.run_dir / "orders.parquet").to_pylist()
    fills = pq.read_table(result.run_dir / "fills.parquet").to_pylist()
    assert orders and {o["symbol"] for o in orders} == {"BTC-USDT"} and fills
    with pytest.raises(RunFailedError, match="the run has no market data for okx BTCUSDT; it has data for "
                                             "okx BTC-USDT") as failed:
        run_replay(data, okx, MM, params={"symbol": "BTCUSDT"}, out_dir=tmp_path / "bad", progress=False)
    assert isinstance(failed.value.error, StrategyConfigError)


def test_the_replay_command_reports_a_strategy_without_data_in_one_line(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    data = write_tape(tmp_path / "data", "binance", "BTCUSDT")
    code = replay_command([tmp_path / "data"], ["okx"], "strategies.twap:TwapTaker", params=["symbol=BTCUSDT"],
                          data_venues=["okx=binance"], out_dir=tmp_path / "runs", progress=False)
    assert code == 2
    assert capsys.readouterr().err == ("harness replay: strategies.twap:TwapTaker: the run has no market data for "
                                       "okx BTCUSDT; it has data for okx BTC-USDT\n")
    assert data


def test_the_market_maker_quotes_plain_limit_orders_where_the_venue_has_no_post_only(tmp_path: Path) -> None:
    data = write_tape(tmp_path / "data", "bsdex", "BTC/EUR")
    result = run_replay(data, [VenueSetup("bsdex", "bsdex")], MM, params={"min_requote_ms": "1000"},
                        out_dir=tmp_path / "runs", progress=False)
    events = pq.read_table(result.run_dir / "events.parquet").to_pylist()
    assert ("strategy", "bsdex has no post-only orders: quoting plain limit orders") in {
        (e["kind"], e["message"]) for e in events}
    assert not [e for e in events if "post" in e["message"] and e["kind"] != "strategy"]  # nothing refused for it
    fills = pq.read_table(result.run_dir / "fills.parquet").to_pylist()
    assert len(fills) > 10
    alerts = pq.read_table(result.run_dir / "alerts.parquet").num_rows
    assert alerts == 0

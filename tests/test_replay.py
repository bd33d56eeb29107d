"""Tests of the replay feed: merge order, tie-breaks, routing, horizon, lazy reading, book messages."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.data.schema import F_LAST, F_SNAPSHOT, SCHEMAS
from harness.data.sink import ParquetSink
from harness.model import BookDelta, Candle, Quote, Trade
from sim.kernel.sources import MarketSource
from sim.market.feed import ReplayFeed, ReplayFileError

# ----------------------------------------------------------------------------- helpers


def write(path: Path, kind: str, rows: Sequence[tuple[Any, ...]], row_group_size: int = 1000) -> Path:
    """Write canonical rows (tuples in schema column order) with dictionary venue/symbol."""
    schema = SCHEMAS[kind]
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [() for _ in schema.names]
    arrays = [pa.array(list(col), type=field.type) for col, field in zip(columns, schema, strict=True)]
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), path, row_group_size=row_group_size)
    return path


def trade(ts_recv: int, tid: str, *, ts_event: int | None = None, venue: str = "binance",
          symbol: str = "BTCUSDT", price: int = 100) -> tuple[Any, ...]:
    """A trades row."""
    return (ts_recv if ts_event is None else ts_event, ts_recv, venue, symbol, price, 1, 1, tid)


def quote(ts: int, uid: int, *, venue: str = "binance", symbol: str = "BTCUSDT") -> tuple[Any, ...]:
    """A quotes row."""
    return (ts, ts, venue, symbol, 99, 1, 101, 2, uid)


def book(ts: int, uid: int, flags: int, *, price: int = 100, symbol: str = "BTCUSDT") -> tuple[Any, ...]:
    """A book row (bid side)."""
    return (ts, ts, "binance", symbol, 1, price, 5, uid, uid, -1, flags)


def candle(open_ns: int, close_ns: int, close: int) -> tuple[Any, ...]:
    """A candles row."""
    return (open_ns, close_ns, "binance", "BTCUSDT", close_ns - open_ns, 1, 3, 0, close, 7)


class FakeTime:
    """A VirtualTime for tests."""

    def __init__(self, horizon_ns: int, now_ns: int = 0) -> None:
        self.now_ns = now_ns
        self.horizon_ns = horizon_ns


def collect(feed: ReplayFeed) -> list[Any]:
    """Subscribe to every kind and deliver everything; return the events in delivery order."""
    seen: list[Any] = []
    for kind in ("trades", "quotes", "book", "candles"):
        feed.subscribe(kind, seen.append)
    feed.run_all()
    return seen


def recorder(vt: FakeTime, log: list[tuple[int, Any]], what: Callable[[Any], Any]) -> Callable[[Any], None]:
    """A subscriber logging (vt.now_ns at the call, what(event))."""

    def record(event: Any) -> None:
        log.append((vt.now_ns, what(event)))

    return record


def ids(events: Sequence[Any]) -> list[str]:
    """Trade ids of trades."""
    return [e.trade_id for e in events]


# ----------------------------------------------------------------------------- merge order


def test_merge_across_files_interleaved_timestamps(tmp_path: Path) -> None:
    a = write(tmp_path / "a.parquet", "trades", [trade(10, "a0"), trade(30, "a1"), trade(50, "a2")])
    b = write(tmp_path / "b.parquet", "trades", [trade(20, "b0"), trade(30, "b1"), trade(40, "b2")])
    c = write(tmp_path / "c.parquet", "trades", [trade(5, "c0"), trade(60, "c1")])
    assert ids(collect(ReplayFeed([a, b, c]))) == ["c0", "a0", "b0", "a1", "b1", "b2", "a2", "c1"]


def test_sequential_files_of_one_stream(tmp_path: Path) -> None:
    day1 = write(tmp_path / "t_20240808.parquet", "trades", [trade(i, f"d1-{i}") for i in range(0, 10, 2)])
    day2 = write(tmp_path / "t_20240809.parquet", "trades", [trade(i, f"d2-{i}") for i in range(10, 20, 3)])
    # given in either order, the stream comes out in time order
    expected = [f"d1-{i}" for i in range(0, 10, 2)] + [f"d2-{i}" for i in range(10, 20, 3)]
    assert ids(collect(ReplayFeed([day1, day2]))) == expected
    assert ids(collect(ReplayFeed([day2, day1]))) == expected


def test_ties_broken_by_file_index_then_row(tmp_path: Path) -> None:
    a = write(tmp_path / "a.parquet", "trades", [trade(7, "a0"), trade(7, "a1")])
    b = write(tmp_path / "b.parquet", "trades", [trade(7, "b0"), trade(7, "b1")])
    assert ids(collect(ReplayFeed([a, b]))) == ["a0", "a1", "b0", "b1"]
    assert ids(collect(ReplayFeed([b, a]))) == ["b0", "b1", "a0", "a1"]
    # deterministic: the same inputs give the same sequence every time
    runs = {tuple(ids(collect(ReplayFeed([a, b], batch_size=1)))) for _ in range(3)}
    assert runs == {("a0", "a1", "b0", "b1")}


def test_order_by_ts_event_or_ts_recv(tmp_path: Path) -> None:
    # venue A stamps events earlier but its messages arrive later than venue B's
    a = write(tmp_path / "a.parquet", "trades",
              [trade(100, "a0", ts_event=10), trade(200, "a1", ts_event=20)])
    b = write(tmp_path / "b.parquet", "trades",
              [trade(150, "b0", ts_event=15), trade(160, "b1", ts_event=30)])
    assert ids(collect(ReplayFeed([a, b]))) == ["a0", "b0", "b1", "a1"]
    assert ids(collect(ReplayFeed([a, b], order_by="ts_event"))) == ["a0", "b0", "a1", "b1"]
    with pytest.raises(ValueError, match="order_by"):
        ReplayFeed([a], order_by="ts_open")


def test_kinds_and_event_types(tmp_path: Path) -> None:
    t = write(tmp_path / "t.parquet", "trades", [trade(30, "t0")])
    q = write(tmp_path / "q.parquet", "quotes", [quote(20, 1)])
    bk = write(tmp_path / "b.parquet", "book", [book(10, 5, F_SNAPSHOT | F_LAST)])
    c = write(tmp_path / "c.parquet", "candles", [candle(0, 60, 2)])
    feed = ReplayFeed([t, q, bk, c])
    assert feed.kinds == ["trades", "quotes", "book", "candles"]
    events = collect(feed)
    assert events == [
        BookDelta(10, 10, "binance", "BTCUSDT", 1, 100, 5, 5, 5, -1, F_SNAPSHOT | F_LAST),
        Quote(20, 20, "binance", "BTCUSDT", 99, 1, 101, 2, 1),
        Trade(30, 30, "binance", "BTCUSDT", 100, 1, 1, "t0"),
        Candle(0, 60, "binance", "BTCUSDT", 1, 3, 0, 2, 7),  # ordered by its close (ts_recv)
    ]
    assert [type(e) for e in events] == [BookDelta, Quote, Trade, Candle]


def test_file_written_by_parquet_sink(tmp_path: Path) -> None:
    path = tmp_path / "sink.parquet"
    with ParquetSink("quotes", path, row_group_size=2) as sink:
        for i in range(5):
            sink.append(quote(i, i))
    assert [q.update_id for q in collect(ReplayFeed([path]))] == [0, 1, 2, 3, 4]


# ----------------------------------------------------------------------------- routing


def test_routing_per_kind_venue_and_symbol(tmp_path: Path) -> None:
    t = write(tmp_path / "t.parquet", "trades", [
        trade(1, "b-btc"), trade(2, "b-eth", symbol="ETHUSDT"), trade(3, "o-btc", venue="okx"),
        trade(4, "o-eth", venue="okx", symbol="ETHUSDT")])
    q = write(tmp_path / "q.parquet", "quotes", [quote(2, 1), quote(5, 2, venue="okx")])
    log: list[tuple[str, Any]] = []
    feed = ReplayFeed([t, q], on_trade=lambda e: log.append(("all", e.trade_id)))
    feed.subscribe_trades(lambda e: log.append(("btc", e.trade_id)), symbol="BTCUSDT")
    feed.subscribe_trades(lambda e: log.append(("okx-eth", e.trade_id)), venue="okx", symbol="ETHUSDT")
    feed.subscribe_quotes(lambda e: log.append(("okx-q", e.update_id)), venue="okx")
    feed.run_all()
    assert log == [
        ("all", "b-btc"), ("btc", "b-btc"),
        ("all", "b-eth"),
        ("all", "o-btc"), ("btc", "o-btc"),
        ("all", "o-eth"), ("okx-eth", "o-eth"),
        ("okx-q", 2),
    ]


def test_read_filter_by_venue_and_symbol(tmp_path: Path) -> None:
    t = write(tmp_path / "t.parquet", "trades", [
        trade(1, "b-btc"), trade(2, "b-eth", symbol="ETHUSDT"), trade(3, "o-btc", venue="okx")])
    assert ids(collect(ReplayFeed([t], venues=["okx"]))) == ["o-btc"]
    assert ids(collect(ReplayFeed([t], symbols={"BTCUSDT"}))) == ["b-btc", "o-btc"]
    assert ids(collect(ReplayFeed([t], venues=["binance"], symbols=["BTCUSDT"]))) == ["b-btc"]
    assert collect(ReplayFeed([t], venues=["kraken"])) == []


def test_subscribe_after_construction_and_from_a_callback(tmp_path: Path) -> None:
    t = write(tmp_path / "t.parquet", "trades", [trade(i, f"t{i}", symbol=("A" if i % 2 else "B"))
                                                 for i in range(6)])
    late: list[str] = []
    feed = ReplayFeed([t], batch_size=4)

    def first(e: Trade) -> None:
        if e.trade_id == "t1":
            feed.subscribe_trades(lambda x: late.append(x.trade_id), symbol="B")

    feed.subscribe_trades(first)
    assert feed.peek_ts() == 0  # batches already loaded; routes get re-resolved on subscribe
    feed.run_all()
    assert late == ["t2", "t4"]


def test_subscribe_while_an_event_is_pending(tmp_path: Path) -> None:
    t = write(tmp_path / "t.parquet", "trades", [trade(10, "t0"), trade(20, "t1")])
    seen: list[str] = []
    feed = ReplayFeed([t])
    feed.deliver(FakeTime(horizon_ns=15))  # t0 delivered to nobody, t1 now pending
    feed.subscribe_trades(lambda e: seen.append(e.trade_id))
    feed.run_all()
    assert seen == ["t1"]


# ----------------------------------------------------------------------------- horizon


def test_deliver_stops_at_horizon_and_sets_now(tmp_path: Path) -> None:
    t = write(tmp_path / "t.parquet", "trades", [trade(ts, f"t{ts}") for ts in (10, 20, 20, 30, 40)])
    vt = FakeTime(horizon_ns=20)
    log: list[tuple[int, str]] = []
    feed = ReplayFeed([t], on_trade=lambda e: log.append((vt.now_ns, e.trade_id)))
    source: MarketSource = feed
    assert source.peek_ts() == 10
    source.deliver(vt)
    assert log == [(10, "t10"), (20, "t20"), (20, "t20")]  # ts == horizon is delivered
    assert source.peek_ts() == 30
    source.deliver(vt)  # nothing new below the horizon
    assert len(log) == 3
    vt.horizon_ns = 100
    source.deliver(vt)
    assert log[3:] == [(30, "t30"), (40, "t40")]
    assert source.peek_ts() is None
    source.deliver(vt)
    assert vt.now_ns == 40


def test_callback_lowering_horizon_stops_right_after_it(tmp_path: Path) -> None:
    a = write(tmp_path / "a.parquet", "trades", [trade(10, "a10"), trade(30, "a30")])
    b = write(tmp_path / "b.parquet", "trades", [trade(20, "b20"), trade(25, "b25")])
    vt = FakeTime(horizon_ns=1000)
    seen: list[str] = []

    def on_trade(e: Trade) -> None:
        seen.append(e.trade_id)
        if e.trade_id == "b20":
            vt.horizon_ns = 22  # e.g. an order scheduled 2 ns from now

    feed = ReplayFeed([a, b], on_trade=on_trade)
    feed.deliver(vt)
    assert seen == ["a10", "b20"]
    assert vt.now_ns == 20
    assert feed.peek_ts() == 25
    vt.horizon_ns = 1000
    feed.deliver(vt)
    assert seen == ["a10", "b20", "b25", "a30"]


def test_reentrant_deliver_is_refused(tmp_path: Path) -> None:
    t = write(tmp_path / "t.parquet", "trades", [trade(1, "x"), trade(2, "y")])
    feed = ReplayFeed([t])
    feed.subscribe_trades(lambda e: feed.run_all())
    with pytest.raises(RuntimeError, match="inside one of its own callbacks"):
        feed.run_all()


def test_callback_error_leaves_feed_consistent(tmp_path: Path) -> None:
    t = write(tmp_path / "t.parquet", "trades", [trade(1, "x"), trade(2, "y"), trade(3, "z")])
    seen: list[str] = []

    def on_trade(e: Trade) -> None:
        seen.append(e.trade_id)
        if e.trade_id == "x":
            raise KeyError("boom")

    feed = ReplayFeed([t], on_trade=on_trade)
    with pytest.raises(KeyError):
        feed.run_all()
    assert feed.peek_ts() == 2
    feed.run_all()
    assert seen == ["x", "y", "z"]


# ----------------------------------------------------------------------------- lazy reading, book, edge cases


def test_row_group_and_batch_boundaries(tmp_path: Path) -> None:
    a = write(tmp_path / "a.parquet", "trades", [trade(2 * i, f"a{i}") for i in range(25)], row_group_size=4)
    b = write(tmp_path / "b.parquet", "trades", [trade(3 * i, f"b{i}") for i in range(17)], row_group_size=5)
    assert pq.ParquetFile(a).num_row_groups == 7
    expected = [tid for _, _, tid in sorted(
        [(2 * i, 0, f"a{i}") for i in range(25)] + [(3 * i, 1, f"b{i}") for i in range(17)])]
    for batch_size in (1, 3, 4, 64):
        assert ids(collect(ReplayFeed([a, b], batch_size=batch_size))) == expected


def test_book_messages_keep_their_f_last_boundaries(tmp_path: Path) -> None:
    rows = [
        book(10, 1, F_SNAPSHOT, price=100), book(10, 1, F_SNAPSHOT, price=99),
        book(10, 1, F_SNAPSHOT | F_LAST, price=98),
        # a message whose rows carry different receive times (and spans row groups)
        book(20, 2, 0, price=100), book(21, 2, 0, price=97), book(23, 2, F_LAST, price=96),
        book(30, 3, F_LAST, price=95),
    ]
    bk = write(tmp_path / "b.parquet", "book", rows, row_group_size=2)
    t = write(tmp_path / "t.parquet", "trades", [trade(10, "t10"), trade(22, "t22"), trade(25, "t25")])
    for batch_size in (1, 2, 5, 100):
        vt = FakeTime(horizon_ns=1000)
        log: list[tuple[int, Any]] = []
        feed = ReplayFeed([t, bk], batch_size=batch_size)
        feed.subscribe("book", recorder(vt, log, lambda e: (e.update_id, e.price, e.flags)))
        feed.subscribe("trades", recorder(vt, log, lambda e: e.trade_id))
        feed.deliver(vt)
        assert log == [
            (10, "t10"),  # the trades file was given first: it wins the tie at 10
            (10, (1, 100, F_SNAPSHOT)), (10, (1, 99, F_SNAPSHOT)), (10, (1, 98, F_SNAPSHOT | F_LAST)),
            (20, (2, 100, 0)), (20, (2, 97, 0)), (20, (2, 96, F_LAST)),  # whole message at its start
            (22, "t22"), (25, "t25"),
            (30, (3, 95, F_LAST)),
        ], batch_size


def test_message_is_not_cut_by_the_horizon(tmp_path: Path) -> None:
    bk = write(tmp_path / "b.parquet", "book", [book(20, 2, 0), book(21, 2, 0), book(23, 2, F_LAST)])
    seen: list[int] = []
    feed = ReplayFeed([bk], on_book=lambda e: seen.append(e.ts_recv))
    feed.deliver(FakeTime(horizon_ns=21))
    assert seen == [20, 21, 23]


def test_rows_going_back_in_time_never_move_the_clock_back(tmp_path: Path) -> None:
    rows = [trade(10, "a"), trade(30, "b"), trade(20, "c"), trade(40, "d")]
    t = write(tmp_path / "t.parquet", "trades", rows, row_group_size=2)
    vt = FakeTime(horizon_ns=1000)
    log: list[tuple[int, str]] = []
    ReplayFeed([t], batch_size=2, on_trade=lambda e: log.append((vt.now_ns, e.trade_id))).deliver(vt)
    assert log == [(10, "a"), (30, "b"), (30, "c"), (40, "d")]


def test_empty_files(tmp_path: Path) -> None:
    empty = write(tmp_path / "e.parquet", "trades", [])
    sink_empty = tmp_path / "e2.parquet"
    ParquetSink("book", sink_empty).close()
    t = write(tmp_path / "t.parquet", "trades", [trade(1, "x")])
    assert ids(collect(ReplayFeed([empty, t, sink_empty]))) == ["x"]
    feed = ReplayFeed([empty])
    assert feed.peek_ts() is None
    vt = FakeTime(horizon_ns=100, now_ns=5)
    feed.deliver(vt)
    assert vt.now_ns == 5
    assert collect(ReplayFeed([])) == []


def test_bad_inputs(tmp_path: Path) -> None:
    odd = tmp_path / "odd.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), odd)
    with pytest.raises(ReplayFileError, match="no canonical schema"):
        ReplayFeed([odd])
    with pytest.raises(ReplayFileError, match="cannot open"):
        ReplayFeed([tmp_path / "missing.parquet"])
    with pytest.raises(TypeError):
        ReplayFeed(str(odd))
    t = write(tmp_path / "t.parquet", "trades", [trade(1, "x")])
    with pytest.raises(ValueError, match="kind"):
        ReplayFeed([t]).subscribe("ticks", print)


def test_plain_string_venue_and_symbol_columns(tmp_path: Path) -> None:
    schema = pa.schema([f.with_type(pa.string()) if f.name in ("venue", "symbol") else f
                        for f in SCHEMAS["trades"]])
    rows = [trade(1, "x"), trade(2, "y", symbol="ETHUSDT")]
    arrays = [pa.array(list(col), type=f.type)
              for col, f in zip(zip(*rows, strict=True), schema, strict=True)]
    path = tmp_path / "plain.parquet"
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), path)
    events = collect(ReplayFeed([path], symbols=["ETHUSDT"]))
    assert events == [Trade(2, 2, "binance", "ETHUSDT", 100, 1, 1, "y")]


# ----------------------------------------------------------------------------- property

_file_rows = st.lists(
    st.tuples(st.integers(0, 20), st.integers(0, 20), st.sampled_from(["BTC", "ETH"])), max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.lists(_file_rows, min_size=1, max_size=4), batch_size=st.integers(1, 9),
       row_group_size=st.integers(1, 9), order_by=st.sampled_from(["ts_recv", "ts_event"]))
def test_delivery_is_sorted_by_ts_file_row(files: list[list[tuple[int, int, str]]], batch_size: int,
                                           row_group_size: int, order_by: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        expected = []
        for f, raw in enumerate(files):
            # each file sorted by the order column, the other timestamp free
            key_col = 1 if order_by == "ts_recv" else 0
            raw_sorted = sorted(raw, key=lambda r: r[key_col])
            rows = [trade(r[1], f"{f}-{i}", ts_event=r[0], symbol=r[2]) for i, r in enumerate(raw_sorted)]
            paths.append(write(Path(tmp) / f"{f}.parquet", "trades", rows, row_group_size=row_group_size))
            expected += [(r[key_col], f, i) for i, r in enumerate(raw_sorted)]
        seen = collect(ReplayFeed(paths, order_by=order_by, batch_size=batch_size))
        assert ids(seen) == [f"{f}-{i}" for _, f, i in sorted(expected)]


@settings(max_examples=30, deadline=None)
@given(files=st.lists(_file_rows, min_size=1, max_size=3), horizons=st.lists(st.integers(0, 25), max_size=6))
def test_stepwise_delivery_equals_run_all(files: list[list[tuple[int, int, str]]],
                                          horizons: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for f, raw in enumerate(files):
            raw_sorted = sorted(raw, key=lambda r: r[1])
            rows = [trade(r[1], f"{f}-{i}", symbol=r[2]) for i, r in enumerate(raw_sorted)]
            paths.append(write(Path(tmp) / f"{f}.parquet", "trades", rows, row_group_size=3))
        reference = ids(collect(ReplayFeed(paths)))
        seen: list[Trade] = []
        vt = FakeTime(horizon_ns=0)
        feed = ReplayFeed(paths, batch_size=2, on_trade=seen.append)
        for horizon in sorted(horizons):
            vt.horizon_ns = horizon
            feed.deliver(vt)
            assert all(e.ts_recv <= horizon for e in seen)
            nxt = feed.peek_ts()
            assert nxt is None or nxt > horizon
        feed.run_all()
        assert ids(seen) == reference


def test_batch_size_validation_and_default(tmp_path: Path) -> None:
    t = write(tmp_path / "t.parquet", "trades", [trade(1, "x")])
    with pytest.raises(ValueError, match="batch_size"):
        ReplayFeed([t], batch_size=0)
    assert ids(collect(ReplayFeed([t] * 100))) == ["x"] * 100  # many files: smaller default batches

"""Market data to the venue and, delayed, to the client, as one merged stream of the replay feed.

The feed hosts the adapters' market-data channels: every arrival of a client copy is delivered inside
the feed's own batch, by time, the feed's events (the venue) first at equal times, then the
taps in the order they were added, and all of it before a calendar item at the same time. A
ready callback (``call_soon``) lets the current stream finish its nanosecond, then runs before
anything else. These tests pin that order against a model computed independently, and the
batched market-data latency draws against one-by-one draws.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.data.schema import SCHEMAS
from harness.model import Trade
from sim.channels import MarketDataChannel
from sim.kernel.runtime import SimRuntime
from sim.market.feed import ReplayFeed
from sim.venue.latency import Constant, Empirical, LatencyChannel, LatencyModel, LogNormal

Log = list[tuple[int, str]]


def trades_file(path: Path, times: Sequence[int]) -> Path:
    """A canonical trades file with one trade per time (trade id = row index)."""
    n = len(times)
    schema = SCHEMAS["trades"]
    columns: list[list[Any]] = [list(times), list(times), ["binance"] * n, ["BTCUSDT"] * n, [100] * n, [1] * n,
                                [1] * n, [str(i) for i in range(n)]]
    arrays = [pa.array(col, type=field.type) for col, field in zip(columns, schema, strict=True)]
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), path)
    return path


def tap_logger(rt: SimRuntime, log: Log, name: str) -> Any:
    """A client callback logging (now, '<tap name>:<trade id>')."""
    def arrived(trade: Trade) -> None:
        log.append((rt.now_ns(), f"{name}:{trade.trade_id}"))
    return arrived


# ----------------------------------------------------------------------------- the merged order


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gaps=st.lists(st.integers(0, 4), min_size=1, max_size=25),
       taps=st.lists(st.tuples(st.lists(st.integers(0, 6), min_size=1, max_size=4), st.integers(0, 9)),
                     min_size=1, max_size=3),
       masks=st.lists(st.integers(0, 7), min_size=25, max_size=25),
       timers=st.lists(st.integers(0, 60), max_size=4),
       batch=st.sampled_from([0, 1, 3, 64]))
def test_feed_taps_and_timers_merge_by_time_then_stream(tmp_path: Path, gaps: list[int],
                                                        taps: list[tuple[list[int], int]], masks: list[int],
                                                        timers: list[int], batch: int) -> None:
    times = [10 + sum(gaps[: i + 1]) for i in range(len(gaps))]
    path = trades_file(tmp_path / f"t{len(list(tmp_path.iterdir()))}.parquet", times)
    log: Log = []
    expected: list[tuple[int, int, int, str]] = []  # (time, stream rank, sequence, what)
    twins = [LatencyChannel(Empirical(tuple(samples)), random.Random(seed)) for samples, seed in taps]
    for i, t in enumerate(times):
        expected.append((t, 0, i, f"feed:{i}"))
        for k, twin in enumerate(twins):
            if masks[i] >> k & 1:
                expected.append((twin.delivery_time(t), 1 + k, i, f"tap{k}:{i}"))
    for j, t in enumerate(timers):
        expected.append((t, 9, j, f"timer{j}"))

    with SimRuntime(start_ns=0) as rt, ReplayFeed([path], order_by="ts_event") as feed:
        rt.add_source(feed)
        channels = [LatencyChannel(Empirical(tuple(s)), random.Random(seed), batch=batch) for s, seed in taps]
        client_taps = [MarketDataChannel(channel, rt.vt) for channel in channels]
        callbacks = [tap_logger(rt, log, f"tap{k}") for k in range(len(taps))]

        def on_trade(trade: Trade) -> None:
            log.append((rt.now_ns(), f"feed:{trade.trade_id}"))
            for k, tap in enumerate(client_taps):
                if masks[int(trade.trade_id)] >> k & 1:
                    tap.push(trade, callbacks[k])

        feed.subscribe_trades(on_trade)
        for tap in client_taps:
            feed.add_tap(tap)
        for j, t in enumerate(timers):
            rt.clock.call_at(t, lambda j=j: log.append((rt.now_ns(), f"timer{j}")))
        rt.run_until(10_000)
        assert feed.peek_ts() is None
    assert log == [(t, what) for t, _, _, what in sorted(expected)]


def test_a_feed_that_ran_dry_still_delivers_what_is_in_flight(tmp_path: Path) -> None:
    path = trades_file(tmp_path / "t.parquet", [10, 20])
    log: Log = []
    with SimRuntime(start_ns=0) as rt, ReplayFeed([path], order_by="ts_event") as feed:
        rt.add_source(feed)
        tap = MarketDataChannel(LatencyChannel(Constant(15), random.Random(1)), rt.vt)
        feed.add_tap(tap)
        arrived = tap_logger(rt, log, "tap")
        feed.subscribe_trades(lambda trade: tap.push(trade, arrived))
        rt.run_until(21)
        assert log == []  # the copies arrive at 25 and 35
        assert feed.peek_ts() == 25  # the feed is exhausted; its peek is the next arrival
        rt.run_until(100)
        assert log == [(25, "tap:0"), (35, "tap:1")]
        assert feed.peek_ts() is None


def test_a_tap_is_hosted_once(tmp_path: Path) -> None:
    path = trades_file(tmp_path / "t.parquet", [10])
    with SimRuntime() as rt, ReplayFeed([path]) as feed, ReplayFeed([path]) as other:
        tap = MarketDataChannel(LatencyChannel(Constant(1), random.Random(1)), rt.vt)
        feed.add_tap(tap)
        with pytest.raises(ValueError, match="already hosted"):
            other.add_tap(tap)
        with pytest.raises(ValueError, match="FIFO"):
            MarketDataChannel(LatencyChannel(Constant(1), random.Random(1), fifo=False), rt.vt)


# ----------------------------------------------------------------------------- ready callbacks at ties


def run_scenario(tmp_path: Path, times: list[int], latencies: list[int], react_on: str) -> Log:
    """Feed ``times``; each trade goes to one tap per latency (constant); ``react_on`` calls call_soon."""
    path = trades_file(tmp_path / "t.parquet", times)
    log: Log = []
    with SimRuntime(start_ns=0) as rt, ReplayFeed([path], order_by="ts_event") as feed:
        rt.add_source(feed)
        taps = [MarketDataChannel(LatencyChannel(Constant(lat), random.Random(0)), rt.vt) for lat in latencies]

        def react(what: str) -> None:
            log.append((rt.now_ns(), f"ready after {what}"))

        def client(name: str) -> Any:
            def arrived(trade: Trade) -> None:
                what = f"{name}:{trade.trade_id}"
                log.append((rt.now_ns(), what))
                if what == react_on:
                    rt.loop.call_soon(react, what)
            return arrived

        clients = [client(f"tap{k}") for k in range(len(taps))]

        def on_trade(trade: Trade) -> None:
            what = f"feed:{trade.trade_id}"
            log.append((rt.now_ns(), what))
            if what == react_on:
                rt.loop.call_soon(react, what)
            for tap, arrived in zip(taps, clients, strict=True):
                tap.push(trade, arrived)

        feed.subscribe_trades(on_trade)
        for tap in taps:
            feed.add_tap(tap)
        rt.run_until(1_000)
    return log


def test_ready_work_from_the_venue_side_runs_before_the_clients_copy_at_the_same_ns(tmp_path: Path) -> None:
    # latency 0: trade 0's copy arrives at 10, with trade 1 (also at 10) still to come on the feed
    log = run_scenario(tmp_path, [10, 10, 20], [0], react_on="feed:0")
    assert log == [(10, "feed:0"), (10, "feed:1"), (10, "ready after feed:0"), (10, "tap0:0"), (10, "tap0:1"),
                   (20, "feed:2"), (20, "tap0:2")]


def test_ready_work_from_a_client_runs_before_the_next_tap_at_the_same_ns(tmp_path: Path) -> None:
    log = run_scenario(tmp_path, [10, 10, 20], [5, 5], react_on="tap0:0")
    assert log == [(10, "feed:0"), (10, "feed:1"), (15, "tap0:0"), (15, "tap0:1"), (15, "ready after tap0:0"),
                   (15, "tap1:0"), (15, "tap1:1"), (20, "feed:2"), (25, "tap0:2"), (25, "tap1:2")]


def test_ready_work_waits_no_later_than_the_current_ns(tmp_path: Path) -> None:
    log = run_scenario(tmp_path, [10, 12, 20], [1], react_on="tap0:0")
    assert log == [(10, "feed:0"), (11, "tap0:0"), (11, "ready after tap0:0"), (12, "feed:1"), (13, "tap0:1"),
                   (20, "feed:2"), (21, "tap0:2")]


def test_a_timer_at_a_tie_comes_after_every_stream_at_that_ns(tmp_path: Path) -> None:
    path = trades_file(tmp_path / "t.parquet", [10, 15])
    log: Log = []
    with SimRuntime(start_ns=0) as rt, ReplayFeed([path], order_by="ts_event") as feed:
        rt.add_source(feed)
        taps = [MarketDataChannel(LatencyChannel(Constant(lat), random.Random(0)), rt.vt) for lat in (5, 5)]
        clients = [tap_logger(rt, log, f"tap{k}") for k in range(2)]

        def on_trade(trade: Trade) -> None:
            log.append((rt.now_ns(), f"feed:{trade.trade_id}"))
            for tap, arrived in zip(taps, clients, strict=True):
                tap.push(trade, arrived)

        feed.subscribe_trades(on_trade)
        for tap in taps:
            feed.add_tap(tap)
        # calendar items at 15: the horizon is 15 while four streams have data at 15 (each stop
        # at the tie returns to the runtime, which calls the feed again: every call makes progress)
        rt.clock.call_at(15, lambda: log.append((rt.now_ns(), "timer")))
        rt.clock.call_at(12, lambda: rt.env.timeout(3).callbacks.append(lambda _: log.append((rt.now_ns(), "simpy"))))
        rt.run_until(100)
    assert log == [(10, "feed:0"), (15, "feed:1"), (15, "tap0:0"), (15, "tap1:0"), (15, "timer"), (15, "simpy"),
                   (20, "tap0:1"), (20, "tap1:1")]


# ----------------------------------------------------------------------------- batched latency draws


models = st.one_of(
    st.builds(LogNormal, st.integers(1, 5_000_000), st.floats(0, 2.5), st.integers(0, 1_000_000),
              st.one_of(st.none(), st.integers(1_000_000, 10_000_000))),
    st.builds(Empirical, st.lists(st.integers(-5, 10**9), min_size=1, max_size=40).map(tuple),
              st.integers(0, 1000)),
    st.builds(Constant, st.integers(0, 10**9)),
)


@settings(max_examples=80, deadline=None)
@given(model=models, seed=st.integers(0, 2**32), batch=st.integers(1, 700),
       sends=st.lists(st.integers(0, 3_000_000), min_size=1, max_size=1500))
def test_batched_market_latency_gives_the_one_by_one_delivery_times(model: LatencyModel, seed: int, batch: int,
                                                                   sends: list[int]) -> None:
    one_by_one = LatencyChannel(model, random.Random(seed))
    batched = LatencyChannel(model, random.Random(seed), batch=batch)
    now = 0
    for gap in sends:
        now += gap
        assert batched.delivery_time(now) == one_by_one.delivery_time(now)


def test_batch_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="batch"):
        LatencyChannel(Constant(1), random.Random(1), batch=-1)


def test_a_model_without_sample_many_is_drawn_one_by_one_in_batches() -> None:
    class Uniform:
        def sample(self, rng: random.Random) -> int:
            return rng.randrange(100)

    batched = LatencyChannel(Uniform(), random.Random(3), fifo=False, batch=10)
    reference = random.Random(3)
    assert [batched.delivery_time(0) for _ in range(25)] == [reference.randrange(100) for _ in range(25)]

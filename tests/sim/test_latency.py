"""Latency models: seeded reproducibility, floors, empirical resampling, FIFO per channel."""

from __future__ import annotations

import random
import statistics
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.venue.latency import (
    Constant,
    Empirical,
    LatencyChannel,
    LatencyModel,
    LatencyProfile,
    LogNormal,
    deskew,
)
from sim.venue.profile import load_profile

SENDS = (0, 100_000, 200_000, 300_000, 10_000_000, 10_000_001)


class Scripted(random.Random):
    """A generator whose ``randrange`` returns scripted indices (to pick exact empirical samples)."""

    def __init__(self, picks: list[int]) -> None:
        super().__init__(0)
        self.picks = list(picks)

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        """The next scripted index, whatever range is asked for."""
        return self.picks.pop(0)


def test_models_satisfy_the_protocol() -> None:
    for model in (Constant(5), LogNormal(1000, 0.1), Empirical((1, 2))):
        assert isinstance(model, LatencyModel)


def test_constant_draws_nothing() -> None:
    rng = random.Random(1)
    state = rng.getstate()
    assert [Constant(750).sample(rng) for _ in range(3)] == [750, 750, 750]
    assert rng.getstate() == state
    with pytest.raises(ValueError):
        Constant(-1)


def test_lognormal_is_reproducible_from_the_seed_and_respects_the_floor() -> None:
    model = LogNormal(2_000_000, 0.5, floor_ns=1_500_000)
    assert [model.sample(random.Random(7)) for _ in range(2)] == [1_673_962, 1_673_962]
    rng = random.Random(7)
    assert [model.sample(rng) for _ in range(6)] == [1_673_962, 2_299_574, 2_099_438, 1_500_000,
                                                     1_500_000, 1_500_000]
    draws = [model.sample(random.Random(seed)) for seed in range(2000)]
    assert min(draws) == 1_500_000
    assert all(isinstance(d, int) for d in draws)
    capped = LogNormal(2_000_000, 2.0, floor_ns=10, cap_ns=3_000_000)
    rng = random.Random(3)
    assert max(capped.sample(rng) for _ in range(500)) == 3_000_000


def test_lognormal_median_and_mu_parameterisations_agree() -> None:
    by_median = LogNormal(1_000_000, 0.3)
    by_mu = LogNormal.from_mu_sigma(by_median.mu, 0.3)
    assert by_mu == by_median
    rng = random.Random(11)
    draws = [by_median.sample(rng) for _ in range(4001)]
    assert 950_000 < statistics.median(draws) < 1_050_000
    with pytest.raises(ValueError):
        LogNormal(0, 0.3)
    with pytest.raises(ValueError):
        LogNormal(10, -1.0)


def test_deskew_methods() -> None:
    skewed = [-1_270_000_000, -1_277_000_000, -1_210_000_000, -1_265_000_000]
    assert deskew(skewed, method="min", floor_ns=100_000) == (100_000, 7_100_000, 12_100_000, 67_100_000)
    # Lower median (-1_270_000_000) pinned at 2 ms; values that would fall below the floor are raised.
    assert deskew(skewed, method="median", floor_ns=100_000, target_ns=2_000_000) == (
        100_000, 2_000_000, 7_000_000, 62_000_000)
    assert deskew([5, -3], method="none", floor_ns=0) == (0, 5)
    with pytest.raises(ValueError):
        deskew([1], method="mean")
    with pytest.raises(ValueError):
        deskew([])


def test_empirical_resamples_the_recorded_values() -> None:
    model = Empirical((300, 100, 200))
    assert model.samples_ns == (100, 200, 300)
    rng = Scripted([2, 0, 1, 0])
    assert [model.sample(rng) for _ in range(4)] == [300, 100, 200, 100]
    seeded = [model.sample(random.Random(5)) for _ in range(3)]
    assert seeded == [seeded[0]] * 3 and seeded[0] in (100, 200, 300)
    seeded_rng = random.Random(5)
    assert {model.sample(seeded_rng) for _ in range(200)} == {100, 200, 300}
    assert Empirical((-50, 20), floor_ns=10).sample(Scripted([0])) == 10


def test_empirical_from_offsets_removes_the_recorder_clock_skew() -> None:
    offsets = [-1_270_000_000 + d for d in (3_000_000, 0, 1_000_000, 7_000_000)]
    model = Empirical.from_offsets(offsets, deskew_method="min", floor_ns=250_000)
    assert model.samples_ns == (250_000, 1_250_000, 3_250_000, 7_250_000)
    assert model.sample(Scripted([3])) == 7_250_000


def test_empirical_from_a_canonical_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "quotes.parquet"
    ts_event = [1_000_000_000, 2_000_000_000, 3_000_000_000, 4_000_000_000]
    ts_recv = [e - 1_270_000_000 + d for e, d in zip(ts_event, (2_000_000, 1_000_000, 4_000_000, 1_500_000),
                                                      strict=True)]
    pq.write_table(pa.table({"ts_event": pa.array(ts_event, pa.int64()),
                             "ts_recv": pa.array(ts_recv, pa.int64()),
                             "bid_price": pa.array([1, 2, 3, 4], pa.int64())}), path)
    model = Empirical.from_parquet(path, floor_ns=1_000_000)
    assert model.samples_ns == (1_000_000, 1_500_000, 2_000_000, 4_000_000)
    first_two = Empirical.from_parquet(path, floor_ns=0, max_samples=2)
    assert first_two.samples_ns == (0, 1_000_000)


def test_fifo_channel_never_lets_a_message_overtake() -> None:
    model = LogNormal(2_000_000, 0.5, floor_ns=1_500_000)
    fifo = LatencyChannel(model, random.Random(7))
    assert [fifo.delivery_time(t) for t in SENDS] == [1_673_962, 2_399_574, 2_399_574, 2_399_574,
                                                      11_500_000, 11_500_001]
    free = LatencyChannel(model, random.Random(7), fifo=False)
    assert [free.delivery_time(t) for t in SENDS] == [1_673_962, 2_399_574, 2_299_438, 1_800_000,
                                                      11_500_000, 11_500_001]


def test_fifo_with_scripted_delays() -> None:
    channel = LatencyChannel(Empirical((1, 2, 7, 10)), Scripted([3, 1, 2, 0, 0]))
    # delays 10, 2, 7, 1, 1 for sends at 0, 1, 2, 3, 20
    assert [channel.delivery_time(t) for t in (0, 1, 2, 3, 20)] == [10, 10, 10, 10, 21]


def test_latency_profile_channels_are_independent() -> None:
    profile = LatencyProfile(Constant(100), Constant(200), Empirical((5, 6)), fifo=True)
    order_entry = profile.channel("order_entry", random.Random(1))
    response = profile.channel("response", random.Random(2), fifo=False)
    assert order_entry.fifo and not response.fifo
    assert order_entry.delivery_time(1000) == 1100
    assert response.delivery_time(1000) == 1200
    with pytest.raises(KeyError):
        profile.channel("orders", random.Random(1))


def test_profiles_configure_latency() -> None:
    binance = load_profile("binance").latency
    assert binance.fifo is True
    assert binance.order_entry == LogNormal(2_000_000, 0.4, 500_000)
    channel = binance.channel("market_data", random.Random(42))
    times = [channel.delivery_time(t) for t in range(0, 1_000_000, 10_000)]
    assert times == sorted(times)
    assert all(at - t >= 300_000 for at, t in zip(times, range(0, 1_000_000, 10_000), strict=True))

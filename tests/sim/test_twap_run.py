"""The TWAP taker example over the shipped sample: slices on a timer, sum exactly, always take."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from scenarios.demo import import_sample
from scenarios.replay import VenueSetup, run_replay

TWAP = "strategies.twap:TwapTaker"


@pytest.fixture(scope="module")
def canonical(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("canon")
    import_sample(out)
    return sorted(out.glob("*.parquet"))


@pytest.mark.parametrize("order_type", ["MARKET", "IOC"])
def test_twap_slices_fill_the_total_as_taker_on_schedule(canonical: list[Path], tmp_path: Path,
                                                         order_type: str) -> None:
    params = {"quantity": "0.0123", "slices": "7", "interval_s": "20", "side": "BUY", "order_type": order_type}
    result = run_replay(canonical, [VenueSetup("binance", "binance")], TWAP, params=params, seed=1, out_dir=tmp_path)
    orders = pq.read_table(result.run_dir / "orders.parquet").to_pylist()
    fills = pq.read_table(result.run_dir / "fills.parquet").to_pylist()
    final = {o["client_order_id"]: o for o in orders}
    assert len(final) == 7
    quantities = [o["quantity"] for o in final.values()]
    assert sum(quantities) == Decimal("0.0123")
    assert len(set(quantities[:-1])) == 1  # equal slices, the last one takes the rounding
    assert all(f["liquidity"] == "TAKER" and f["side"] == "BUY" for f in fills)
    for coid, order in final.items():  # the last row of each order carries its final fill
        assert order["filled_quantity"] == sum(f["quantity"] for f in fills if f["client_order_id"] == coid)
    if order_type == "MARKET":
        assert all(o["status"] == "FILLED" for o in final.values())
        assert sum(f["quantity"] for f in fills) == Decimal("0.0123")
    else:  # an IOC limit a few ticks through the touch may find the book moved: it expires, never rests
        assert {o["status"] for o in final.values()} <= {"FILLED", "EXPIRED"}
        assert sum(f["quantity"] for f in fills) <= Decimal("0.0123")
    first_seen: dict[str, int] = {}
    for o in orders:
        first_seen.setdefault(o["client_order_id"], o["ts_ns"])
    times = sorted(first_seen.values())
    assert len(times) == 7
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # slices leave 20 s apart; latency moves each by milliseconds at most
    assert all(abs(gap - 20_000_000_000) < 100_000_000 for gap in gaps)

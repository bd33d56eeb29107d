"""Every run table reads with correct types in pandas, polars and duckdb: exact decimals, UTC times.

People read run directories without our code. Money must come out as decimals (never floats),
each kind of quantity on one scale across tables, and ``time`` as a UTC timestamp beside ``ts_ns``.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from synthetic import write_tape

from reports.columns import AMOUNT, DERIVED, TIME
from scenarios.replay import VenueSetup, run_replay

AMOUNT_COLUMNS = {"quantity", "filled_quantity", "price", "fee", "free", "locked", "previous_quantity",
                  "new_quantity", "allocated_quantity"}
DERIVED_COLUMNS = {"average_price", "previous_average", "new_average", "realized_delta", "realized_pnl",
                   "unrealized_pnl", "expected_price", "expected_fee", "fill_price", "slippage_bps"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("tables")
    data = write_tape(tmp / "data", "binance", "BTCUSDT", n=1500)
    run = run_replay(data, [VenueSetup("binance", "binance")], "strategies.market_maker:PassiveMarketMaker",
                     seed=2, out_dir=tmp / "runs", progress=False)
    return run.run_dir


def tables(run_dir: Path) -> list[Path]:
    found = sorted(p for p in run_dir.glob("*.parquet") if not p.name.startswith("metrics_"))
    assert {p.stem for p in found} >= {"orders", "fills", "balances", "positions", "positions_final", "audit"}
    return found


def test_one_arrow_type_per_kind_of_quantity(run_dir: Path) -> None:
    for path in tables(run_dir):
        schema = pq.read_schema(path)
        for field in schema:
            assert not pa.types.is_floating(field.type), (path.name, field.name)
            if field.name in AMOUNT_COLUMNS:
                assert field.type == AMOUNT, (path.name, field.name, field.type)
            if field.name in DERIVED_COLUMNS:
                assert field.type == DERIVED, (path.name, field.name, field.type)
        if "ts_ns" in schema.names:
            assert schema.field("time").type == TIME, path.name


def test_pandas_reads_decimals_and_utc_times(run_dir: Path) -> None:
    fills = pd.read_parquet(run_dir / "fills.parquet")
    assert len(fills) > 0 and all(isinstance(v, Decimal) for v in fills["price"])
    assert str(fills["time"].dt.tz) == "UTC"
    assert (fills["time"].astype("int64") == fills["ts_ns"]).all()
    final = pd.read_parquet(run_dir / "positions_final.parquet")
    aggregate = final[final["aggregate"]]
    assert list(aggregate["venue"]) == ["ALL"] and aggregate["symbol"].isna().all()


def test_polars_reads_decimals_and_utc_times(run_dir: Path) -> None:
    for path in tables(run_dir):
        frame = pl.read_parquet(path)
        for name, dtype in frame.schema.items():
            assert dtype not in (pl.Float32, pl.Float64), (path.name, name)
            if name in AMOUNT_COLUMNS:
                assert dtype == pl.Decimal(38, 9), (path.name, name, dtype)
            if name == "time":
                assert dtype == pl.Datetime("ns", "UTC"), (path.name, dtype)
    fills = pl.read_parquet(run_dir / "fills.parquet")
    assert fills["quantity"].sum() > 0


def test_duckdb_reads_decimals_and_utc_times(run_dir: Path) -> None:
    connection = duckdb.connect()
    for path in tables(run_dir):
        described = {row[0]: row[1] for row in connection.execute(f"DESCRIBE SELECT * FROM '{path}'").fetchall()}
        for name, kind in described.items():
            assert kind not in ("FLOAT", "DOUBLE"), (path.name, name)
            if name in AMOUNT_COLUMNS:
                assert kind == "DECIMAL(38,9)", (path.name, name, kind)
            if name == "time":
                assert kind in ("TIMESTAMPTZ_NS", "TIMESTAMP WITH TIME ZONE"), (path.name, kind)
    total = connection.execute(f"SELECT sum(quantity) FROM '{run_dir / 'fills.parquet'}'").fetchone()
    assert total is not None and isinstance(total[0], Decimal) and total[0] > 0

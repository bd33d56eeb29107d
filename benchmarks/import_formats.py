"""How fast the user-facing imports run: a float DataFrame through ``import_table`` and a
data.binance.vision trades zip through ``harness data import``, rows per second each.

Run: ``PYTHONPATH=. python3 benchmarks/import_formats.py [--rows N]`` (CI runs it small). The data
is generated here from a seed: a random walk on a 0.01 grid, sizes on a 0.00001 grid.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.importing import import_file
from harness.data.table_import import import_table

START_MS = 1_723_075_200_000


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cents = 6_000_000 + np.cumsum(rng.integers(-3, 4, rows))
    lots = rng.integers(1, 100_000, rows)
    return pd.DataFrame({"time": START_MS + np.arange(rows) // 4, "price": cents / 100, "qty": lots / 100_000,
                         "is_buyer_maker": rng.random(rows) < 0.5, "id": np.arange(rows) + 1})


def _archive(frame: pd.DataFrame, folder: Path) -> Path:
    csv = folder / "BTCUSDT-trades-2024-08-08.csv"
    text = pd.DataFrame({"id": frame["id"], "price": frame["price"].map("{:.2f}".format),
                         "qty": frame["qty"].map("{:.5f}".format), "quote": "0",
                         "time": frame["time"], "m": frame["is_buyer_maker"].map({True: "True", False: "False"}),
                         "best": "True"})
    text.to_csv(csv, header=False, index=False)
    target = folder / "BTCUSDT-trades-2024-08-08.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(csv, csv.name)
    return target


def main() -> None:
    """Print rows/s of each import."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    frame = _frame(args.rows, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        began = time.perf_counter()
        result = import_table(frame, folder / "table", name="trades", venue="binance", symbol="BTCUSDT",
                              columns={"ts_event": "time", "size": "qty", "aggressor": "is_buyer_maker",
                                       "trade_id": "id"}, price_decimals=2, size_decimals=5)
        took = time.perf_counter() - began
        print(f"import_table, float DataFrame: {result.rows['trades']:,} rows in {took:.2f} s "
              f"= {result.rows['trades'] / took:,.0f} rows/s")
        archive = _archive(frame, folder)
        began = time.perf_counter()
        result = import_file(archive, folder / "archive")
        took = time.perf_counter() - began
        print(f"binance-archive-trades, zip: {result.rows['trades']:,} rows in {took:.2f} s "
              f"= {result.rows['trades'] / took:,.0f} rows/s")


if __name__ == "__main__":
    main()

"""What every metric module shares: exact decimals, percentiles, instruments, atomic table writes."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from reports.columns import derived, table_with_times

__all__ = ["PERCENTILES", "Table", "base_quote", "dec", "first_by", "nearest_rank", "ratio", "write_table_atomically"]

Table = tuple[list[dict[str, Any]], pa.Schema]
"""Rows and their schema, as ``reports.run_tables`` hands tables to the recorder."""

PERCENTILES = (50, 90, 99)
"""The latency percentiles every summary reports (nearest rank, see ``nearest_rank``)."""


def dec(value: object) -> Decimal:
    """``value`` as an exact ``Decimal`` (Parquet decimals already are; None is 0)."""
    if value is None:
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """``numerator / denominator`` on the derived scale, None when the denominator is 0."""
    return None if denominator == 0 else derived(numerator / denominator)


def nearest_rank(sorted_values: Sequence[int], percentile: int) -> int | None:
    """The nearest-rank percentile of ascending ints: the smallest value with at least ``percentile`` %
    of the values at or below it (an observed value, never interpolated); None for no values."""
    if not sorted_values:
        return None
    rank = max(1, -(-percentile * len(sorted_values) // 100))
    return sorted_values[rank - 1]


def base_quote(instrument: str, symbol: str = "") -> tuple[str, str]:
    """Base and quote asset of ``instrument`` (``BTC/USDT`` -> BTC, USDT); ('', '') when it does not say."""
    for sep in ("/", "-", "_"):
        if sep in instrument:
            base, _, quote = instrument.partition(sep)
            return base, quote
    return "", ""


def write_table_atomically(run_dir: Path, name: str, table: Table | pa.Table) -> Path:
    """Write ``name.parquet`` into ``run_dir`` through a temporary file and a rename.

    Deterministic: the same rows give the same bytes (no timestamps in the file), so writing
    the metrics again over an unchanged run leaves every file as it was (idempotent).
    """
    if not isinstance(table, pa.Table):
        rows, schema = table
        table = table_with_times(rows, schema)
    path = run_dir / f"{name}.parquet"
    tmp = run_dir / f".{name}.parquet.tmp"
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return path


def first_by(rows: Sequence[Mapping[str, Any]], key: str) -> dict[Any, Mapping[str, Any]]:
    """The first row of each ``key`` value, in row order."""
    out: dict[Any, Mapping[str, Any]] = {}
    for row in rows:
        out.setdefault(row[key], row)
    return out

"""The floors' way of reading a trades file: whole columns to Python lists, the cheapest way.

Shared by the benchmarks that compare the replay with plain loops (``replay_feed``,
``replay_venue``): both floors start from the same lists, in ``Trade`` field order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from harness.model import Trade


def trade_columns(path: Path) -> list[list[Any]]:
    """Every ``Trade`` field of the file as one Python list, dictionary columns decoded once per chunk."""
    table = pq.read_table(path)
    columns: list[list[Any]] = []
    for name in Trade._fields:
        column = table.column(name)
        if pa.types.is_dictionary(column.type):  # decode once per chunk, sharing the str objects
            values: list[Any] = []
            for chunk in column.chunks:
                values += np.asarray(chunk.dictionary.to_pylist(), dtype=object)[chunk.indices.to_numpy()].tolist()
            columns.append(values)
        else:
            columns.append(column.to_numpy().tolist())
    return columns

"""What market data a replay's files hold: the (venue, symbol) pairs, and the recorded candle intervals.

A replay tells its strategy which instruments it has data for (``ExecutionContext.instruments``)
and tells each simulated venue which bar streams its recorded candles serve; both come from
here. Only the ``venue`` and ``symbol`` columns (and a candle file's ``interval_ns``) are read,
one record batch at a time, so taking stock of a large recording costs a small fraction of
replaying it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.market.cursor import infer_kind

__all__ = ["DataInventory", "take_inventory"]


@dataclass(frozen=True)
class DataInventory:
    """The instruments of a set of canonical files, as recorded (before any venue renaming).

    ``instruments`` are (venue, symbol) pairs in the order they first appear (files in the
    order given, rows in file order); ``candle_intervals`` the recorded candle intervals (ns)
    of each pair that has candles, ascending.
    """

    instruments: tuple[tuple[str, str], ...]
    candle_intervals: Mapping[tuple[str, str], tuple[int, ...]]

    def for_venue(self, venue: str, data_venue: str, symbol_map: Mapping[str, str]) -> list[tuple[str, str]]:
        """The instruments a simulated ``venue`` driven by ``data_venue``'s data has, under its own names."""
        return [(venue, symbol_map.get(symbol, symbol)) for source, symbol in self.instruments if source == data_venue]

    def bars_for_venue(self, data_venue: str, symbol_map: Mapping[str, str]) -> list[tuple[str, int]]:
        """(symbol, interval_ns) of ``data_venue``'s recorded candles, under the simulated venue's names."""
        return [(symbol_map.get(symbol, symbol), interval)
                for (source, symbol), intervals in self.candle_intervals.items() if source == data_venue
                for interval in intervals]


def take_inventory(files: Sequence[Path]) -> DataInventory:
    """Read the instruments (and candle intervals) of canonical Parquet ``files``."""
    instruments: dict[tuple[str, str], None] = {}
    intervals: dict[tuple[str, str], set[int]] = {}
    for path in files:
        parquet = pq.ParquetFile(path)
        candles = infer_kind(path, parquet.schema_arrow) == "candles"
        columns = ["venue", "symbol", "interval_ns"] if candles else ["venue", "symbol"]
        for batch in parquet.iter_batches(columns=columns, use_threads=False):
            for venue, symbol, interval in _distinct(batch, candles):
                instruments.setdefault((venue, symbol))
                if interval is not None:
                    intervals.setdefault((venue, symbol), set()).add(interval)
    return DataInventory(tuple(instruments), {pair: tuple(sorted(found)) for pair, found in intervals.items()})


def _distinct(batch: Any, candles: bool) -> list[tuple[str, str, int | None]]:
    """The distinct (venue, symbol, interval or None) of one record batch, in first-seen order."""
    if batch.num_rows == 0:
        return []
    venues, venue_codes = _codes(batch.column(0))
    symbols, symbol_codes = _codes(batch.column(1))
    keys = venue_codes.astype(np.int64) * len(symbols) + symbol_codes
    interval_column = batch.column(2).to_numpy() if candles else None
    if interval_column is not None:
        _, inverse = np.unique(interval_column, return_inverse=True)
        keys = keys * (int(inverse.max()) + 1) + inverse.reshape(-1)
    _, first = np.unique(keys, return_index=True)
    rows = sorted(first.tolist())
    return [(venues[int(venue_codes[i])], symbols[int(symbol_codes[i])],
             None if interval_column is None else int(interval_column[i])) for i in rows]


def _codes(array: Any) -> tuple[list[str], Any]:
    """(dictionary values, per-row codes) of a string column, dictionary-encoded or not."""
    if not pa.types.is_dictionary(array.type):
        array = array.dictionary_encode()
    return array.dictionary.to_pylist(), array.indices.to_numpy()

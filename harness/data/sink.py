"""Streaming, all-or-nothing Parquet writer for canonical market data.

Rows are buffered per column and flushed as zstd-compressed row groups, so a recording larger
than memory can be imported. The file is written under a temporary name (``<name>.partial``)
and renamed into place only when ``close`` succeeds: a failed write leaves nothing half-written
behind. ``finish`` completes the temporary file without moving it, for callers that move
several files as one unit (``harness.data.units``). Every file records the fixed-point scale of
its prices and sizes in its metadata (``harness.price_scale``, ``harness.size_scale``).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from harness.data.errors import DataFormatError
from harness.data.schema import SCALE_KEYS, SCHEMA_VERSION, SCHEMAS
from harness.money import DECIMALS, INT64_MAX

__all__ = ["DEFAULT_ROW_GROUP", "ParquetSink", "check_int64", "fsync_file"]

DEFAULT_ROW_GROUP = 128_000


class ParquetSink:
    """Append canonical rows of one kind and write them as one Parquet file, atomically."""

    def __init__(self, kind: str, path: Path, *, metadata: dict[str, str] | None = None,
                 row_group_size: int = DEFAULT_ROW_GROUP) -> None:
        self.kind = kind
        self.schema: pa.Schema = SCHEMAS[kind]
        self.path = Path(path)
        self.tmp_path = self.path.with_name(self.path.name + ".partial")
        self.row_group_size = row_group_size
        meta = {"harness.kind": kind, "harness.schema_version": SCHEMA_VERSION,
                **dict.fromkeys(SCALE_KEYS, str(DECIMALS)), **(metadata or {})}
        self._schema_with_meta = self.schema.with_metadata({k: str(v) for k, v in meta.items()})
        self._columns: list[list[Any]] = [[] for _ in self.schema.names]
        self._writer: pq.ParquetWriter | None = None
        self.rows = 0
        self._finished = False
        self._closed = False

    def append(self, row: tuple[Any, ...]) -> None:
        """Add one row (a tuple in schema column order)."""
        for column, value in zip(self._columns, row, strict=True):
            column.append(value)
        self.rows += 1
        if len(self._columns[0]) >= self.row_group_size:
            self._flush()

    def set_metadata(self, key: str, value: str) -> None:
        """Add a key to the file's metadata (before the first row group is written)."""
        if self._writer is not None:
            raise RuntimeError("metadata must be set before the first row group is flushed")
        meta = dict(self._schema_with_meta.metadata or {})
        meta[key.encode()] = value.encode()
        self._schema_with_meta = self._schema_with_meta.with_metadata(meta)

    def _flush(self) -> None:
        if not self._columns[0]:
            return
        try:
            arrays = [pa.array(col, type=f.type) for col, f in zip(self._columns, self.schema, strict=True)]
        except (pa.ArrowInvalid, OverflowError) as exc:
            reason = f"value out of range for {self.kind}: {exc}"
            raise DataFormatError(self.path, None, None, reason) from exc
        table = pa.Table.from_arrays(arrays, schema=self._schema_with_meta)
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.tmp_path, self._schema_with_meta, compression="zstd")
        self._writer.write_table(table, row_group_size=self.row_group_size)
        self._columns = [[] for _ in self.schema.names]

    def finish(self) -> Path:
        """Flush the last row group and complete the temporary file on disk (synced); return its path."""
        if not self._finished:
            self._flush()
            if self._writer is None:  # no rows: still write a valid, empty file
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._writer = pq.ParquetWriter(self.tmp_path, self._schema_with_meta, compression="zstd")
            self._writer.close()
            fsync_file(self.tmp_path)
            self._finished = True
        return self.tmp_path

    def close(self) -> None:
        """Finish the file and move it into place."""
        if self._closed:
            return
        os.replace(self.finish(), self.path)
        self._closed = True

    def abort(self) -> None:
        """Discard everything written so far."""
        if self._writer is not None:
            self._writer.close()
        self.tmp_path.unlink(missing_ok=True)
        self._closed = True

    def __enter__(self) -> ParquetSink:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def fsync_file(path: Path) -> None:
    """Push a file's bytes to disk, so a rename that follows never exposes an unwritten file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_int64(value: int, path: Path | str, line: int, field_name: str) -> int:
    """Return ``value`` if it fits an int64 column, else raise a ``DataFormatError`` naming it."""
    if -INT64_MAX - 1 <= value <= INT64_MAX:
        return value
    raise DataFormatError(path, line, field_name, f"value {value} does not fit int64 fixed-point")

"""Opening canonical market-data Parquet safely: is it there, is it Parquet, which kind, is it ours.

Everything that reads canonical files (verify, the replay feed's cursors, replay's data loading)
goes through ``canonical_kind`` / ``open_canonical``, so a wrong file is refused the same way
everywhere, with a message naming the file and what is wrong: not found, a directory, empty,
not Parquet, an unknown kind, missing columns, a column of the wrong type (a float price, say),
or a fixed-point scale other than ``harness.money``'s.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from harness.data.errors import CanonicalFileError, DataInputError
from harness.data.schema import SCALE_KEYS, SCHEMAS
from harness.money import DECIMALS

__all__ = ["canonical_kind", "check_input_path", "check_scale", "kind_from_name", "open_canonical"]

_TEXT_COLUMNS = ("venue", "symbol", "trade_id")


def check_input_path(path: str | os.PathLike[str], *, what: str = "file") -> Path:
    """``path`` as a ``Path`` if it names a readable, non-empty file; else ``DataInputError``."""
    given = Path(path)
    if not given.exists():
        raise DataInputError(f"{given}: no such file")
    if given.is_dir():
        raise DataInputError(f"{given}: is a directory, not a {what} (name the files in it)")
    if not given.is_file():
        raise DataInputError(f"{given}: not a regular file ({what})")
    if given.stat().st_size == 0:
        raise DataInputError(f"{given}: is empty (0 bytes)")
    return given


def kind_from_name(path: str | os.PathLike[str]) -> str | None:
    """The kind in a ``<stem>.<kind>.parquet`` name, or None."""
    parts = Path(path).name.split(".")
    if len(parts) >= 3 and parts[-1] == "parquet" and parts[-2] in SCHEMAS:
        return parts[-2]
    return None


def check_scale(path: str | os.PathLike[str], metadata: dict[bytes, bytes] | None) -> None:
    """Refuse a file whose metadata states a fixed-point scale other than ``harness.money.DECIMALS``."""
    meta = metadata or {}
    for key in SCALE_KEYS:
        value = meta.get(key.encode())
        if value is not None and value.decode() != str(DECIMALS):
            raise CanonicalFileError(
                f"{os.fspath(path)}: metadata {key}={value.decode()!r}, but canonical market data uses "
                f"{DECIMALS} decimals; re-import the source with this harness")


def _type_problem(name: str, actual: pa.DataType) -> str | None:
    if name in _TEXT_COLUMNS:
        if pa.types.is_dictionary(actual):
            actual = actual.value_type
        if pa.types.is_string(actual) or pa.types.is_large_string(actual):
            return None
        return f"column {name!r} is {actual}, expected text"
    if pa.types.is_integer(actual):
        return None
    if name in ("ts_event", "ts_recv", "interval_ns"):
        return f"column {name!r} is {actual}, expected int64 nanoseconds"
    return f"column {name!r} is {actual}, expected int64 (fixed-point, {DECIMALS} decimals)"


def canonical_kind(path: str | os.PathLike[str], schema: Any) -> str:
    """The canonical kind of a Parquet file with Arrow ``schema``, after checking it is one.

    The kind comes from the ``harness.kind`` metadata that ``ParquetSink`` writes, else from
    column names equal to one kind's, else from a ``<stem>.<kind>.parquet`` name. Then every
    column of that kind must be present with a usable type, and a stated scale must be ours.
    """
    where = os.fspath(path)
    meta = schema.metadata or {}
    names = list(schema.names)
    kind_bytes = meta.get(b"harness.kind")
    if kind_bytes is not None:
        kind = str(kind_bytes.decode())
        if kind not in SCHEMAS:
            raise CanonicalFileError(f"{where}: unknown kind {kind!r} in file metadata "
                                     f"(known: {', '.join(SCHEMAS)})")
    else:
        matches = [k for k, s in SCHEMAS.items() if list(s.names) == names]
        named = kind_from_name(path)
        if len(matches) == 1:
            kind = matches[0]
        elif named is not None:
            kind = named
        else:
            raise CanonicalFileError(
                f"{where}: columns {names} match no canonical schema; expected one of: "
                + "; ".join(f"{k} ({', '.join(s.names)})" for k, s in SCHEMAS.items()))
    missing = [name for name in SCHEMAS[kind].names if name not in names]
    if missing:
        raise CanonicalFileError(f"{where}: {kind} file lacks columns {missing}")
    for name in SCHEMAS[kind].names:
        problem = _type_problem(name, schema.field(name).type)
        if problem is not None:
            raise CanonicalFileError(f"{where}: {kind} file: {problem}")
    check_scale(path, meta)
    return kind


def open_canonical(path: str | os.PathLike[str]) -> tuple[pq.ParquetFile, str]:
    """Open a canonical Parquet file and return it with its kind; every failure names the file."""
    given = check_input_path(path, what="canonical Parquet file")
    try:
        file = pq.ParquetFile(given)
    except (OSError, pa.ArrowException) as exc:
        raise CanonicalFileError(f"{given}: not a readable Parquet file: {exc}") from exc
    return file, canonical_kind(given, file.schema_arrow)

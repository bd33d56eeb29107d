"""``import_table``: a pandas DataFrame, Arrow table or CSV/Parquet file of trades or quotes ->
one canonical import unit.

The same writer as ``harness data import`` (``harness.data.importing.write_unit``): rows checked
(positive prices and sizes, trades in time order without repeats), streamed into
``<name>.<kind>.parquet`` under a temporary name and moved into place with the unit's completion
record only once complete, so replay and verify take the output as they take any import. How
the table's columns are read (mapping, decimals of float columns, time unit) is a
``harness.data.importers.table.TableSpec``; a bad value raises ``DataFormatError`` naming the
source, line (row for an in-memory table, from 1) and canonical field, or is counted with
``skip_bad``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pyarrow as pa

from harness.data.errors import BadRowLog, DataInputError
from harness.data.importers.base import ImportContext
from harness.data.importers.table import TableSpec, table_records
from harness.data.importing import ImportResult, import_file, write_unit

__all__ = ["import_table", "table_sha256"]


def table_sha256(table: pa.Table) -> str:
    """Hex sha256 of a table's Arrow IPC stream: its identity as an import source (same rows, same id)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def import_table(table: Any, out_dir: Path, *, spec: TableSpec | None = None, name: str | None = None,
                 skip_bad: bool = False, **settings: Any) -> ImportResult:
    """Import ``table`` (a ``pandas.DataFrame``, a ``pyarrow.Table``, or the path of a CSV or
    Parquet file) into ``out_dir`` as one unit named ``name`` (default: the file's stem).

    ``spec`` says how to read it; or give its settings as keywords (``kind``, ``columns``,
    ``venue``, ``symbol``, ``price_decimals``, ``size_decimals``, ``time_unit``)::

        import_table(df, Path("data"), name="btc-trades", venue="binance", symbol="BTCUSDT",
                     columns={"ts_event": "time", "size": "qty"}, price_decimals=2, size_decimals=5)
    """
    if spec is not None and settings:
        raise TypeError(f"give spec or its settings {sorted(settings)}, not both")
    spec = spec or TableSpec(**settings)
    if isinstance(table, str | Path):
        return import_file(Path(table), out_dir, fmt="table", skip_bad=skip_bad, venue=spec.venue,
                           symbol=spec.symbol, options={"table": spec})
    arrow = _as_arrow(table)
    if not name:
        raise DataInputError("import_table: an in-memory table needs a name= (its unit's <name>.<kind>.parquet)")
    if "/" in name or name.startswith("."):
        raise DataInputError(f"import_table: name {name!r} must be a plain file stem")
    source = f"<table {name}>"
    ctx = ImportContext(bad_rows=BadRowLog(skip_bad=skip_bad), venue=spec.venue, symbol=spec.symbol,
                        options={"table": spec})
    records = table_records(arrow.to_batches(max_chunksize=65_536), spec, ctx, source)
    options = {"skip_bad": skip_bad, "venue": spec.venue, "symbol": spec.symbol,
               "importer_options": {"table": spec.describe()}}
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DataInputError(f"{out}: output is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    return write_unit(Path(source), records, ctx, out, stem=name, source_name=source,
                      source_sha=table_sha256(arrow), importer_name="table", options=options)


def _as_arrow(table: Any) -> pa.Table:
    if isinstance(table, pa.Table):
        return table
    if isinstance(table, pa.RecordBatch):
        return pa.Table.from_batches([table])
    import pandas as pd  # a dependency; imported here so a plain data import does not load it

    if isinstance(table, pd.DataFrame):
        return pa.Table.from_pandas(table, preserve_index=False)
    raise TypeError(f"import_table takes a pandas DataFrame, a pyarrow Table or a file path, got "
                    f"{type(table).__name__}")

"""Implementations behind ``harness data ...`` (printing, exit codes, friendly errors).

Results go to stdout, errors and skipped-row reports to stderr. Exit codes: 0 done, 1 verify
found problems (gaps, bad rows), 2 an input could not be used (the message names it).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.data.errors import DataError, DataInputError
from harness.data.importers.base import registry
from harness.data.importers.table import TableSpec
from harness.data.importing import import_files

__all__ = ["run_formats", "run_import", "run_verify"]


def run_import(sources: list[Path], out: Path, *, fmt: str | None, skip_bad: bool, venue: str | None = None,
               symbol: str | None = None, table: Mapping[str, Any] | None = None) -> int:
    """Import files (one unit each), print one line per output file; exit code 2 on bad input.

    ``table`` holds the ``--format table`` options (kind, ``CANONICAL=SOURCE`` columns, decimals,
    time unit); given with another format they are refused, since nothing would read them.
    """
    try:
        options = _table_options(fmt, venue, symbol, table or {})
        results = import_files(sources, out, fmt=fmt, skip_bad=skip_bad, venue=venue, symbol=symbol,
                               options=options)
    except (DataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # permissions, a full disk: the message names the file
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for result in results:
        for kind, path in result.outputs.items():
            print(f"{result.source.name} [{result.importer}] -> {path} ({result.rows[kind]} {kind} rows)")
        if result.replaced_source is not None:
            print(f"{result.source.name}: replaced an earlier import of other data ({result.replaced_source}) "
                  f"under the same name", file=sys.stderr)
        if result.bad_rows.count:
            print(f"{result.source.name}: skipped {result.bad_rows.summary()}", file=sys.stderr)
            for example in result.bad_rows.examples:
                print(f"  {example}", file=sys.stderr)
    return 0


def _table_options(fmt: str | None, venue: str | None, symbol: str | None,
                   table: Mapping[str, Any]) -> dict[str, TableSpec] | None:
    given = {k: v for k, v in table.items() if v not in (None, [], ())}
    if fmt != "table":
        if given:
            raise DataInputError(f"--{sorted(given)[0].replace('_', '-')} applies to --format table only")
        return None
    columns: dict[str, str] = {}
    for item in table.get("columns") or []:
        canonical, sep, source = str(item).partition("=")
        if not sep or not canonical or not source:
            raise DataInputError(f"--column {item!r}: expected CANONICAL=SOURCE")
        columns[canonical] = source
    return {"table": TableSpec(kind=table.get("kind"), columns=columns, venue=venue, symbol=symbol,
                               price_decimals=table.get("price_decimals"), size_decimals=table.get("size_decimals"),
                               time_unit=table.get("time_unit"))}


def run_verify(paths: list[Path], *, fmt: str | None) -> int:
    """Rebuild the book across files in order, check trades, print gaps, counts and the match rate.

    Exit code 0 when the data is clean, 1 when gaps or bad rows were found (so scripts can gate
    on it), 2 when an input could not be used (missing, unreadable, an incomplete import).
    """
    from harness.data.verify import verify_paths

    try:
        report = verify_paths(paths, fmt=fmt)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    return 1 if report.gaps or report.row_problems else 0


def run_formats() -> int:
    """Print the known importers and what they read."""
    for name, importer in registry().items():
        print(f"{name:28s} {importer.description}")
    return 0

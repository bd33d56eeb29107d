"""``harness data import``: raw recordings in, canonical Parquet files out, one unit per source.

Each source file gives one Parquet file per kind of data it contains, named
``<source stem>.<kind>.parquet``, plus its completion record ``<stem>.import.json``: together
they are the source's *unit* (``harness.data.units``). Sources are streamed row by row into
row groups under temporary names; only when every kind is complete are the files moved into
place, as one unit. A failing import leaves the output directory exactly as it was (an earlier
import of the same source included); a killed one leaves at worst a unit without its record,
which replay and verify refuse by name until the import is rerun.

Every row also passes ``harness.data.checks`` (positive prices and sizes, trades in time
order without repeats): strict by default, counted per reason with ``--skip-bad``.
"""

from __future__ import annotations

import gzip
import json
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from harness.data.canonical import check_input_path
from harness.data.checks import RowChecks
from harness.data.errors import BadRowLog, DataFormatError, DataInputError
from harness.data.importers.base import ImportContext, Record, detect
from harness.data.sink import ParquetSink
from harness.data.units import MANIFEST_FORMAT, UNIT_ID_KEY, UNIT_KEY, commit_unit, manifest_path, unit_id
from harness.files import file_sha256

__all__ = ["ImportResult", "check_sources", "import_file", "import_files", "output_stem", "write_unit"]

_STRIP_SUFFIXES = (".gz", ".zip", ".jsonl", ".json", ".csv", ".txt", ".data", ".parquet")


@dataclass
class ImportResult:
    """What one source produced: files per kind with row counts, its record, the bad rows skipped."""

    source: Path
    importer: str
    outputs: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    bad_rows: BadRowLog = field(default_factory=BadRowLog)
    manifest: Path | None = None
    replaced_source: str | None = None
    """Name of the source of an earlier, different import of this unit that this one replaced."""


def output_stem(source: Path) -> str:
    """The source's name without compression and format suffixes."""
    name = source.name
    changed = True
    while changed:
        changed = False
        for suffix in _STRIP_SUFFIXES:
            if name.endswith(suffix):
                name = name[: -len(suffix)]
                changed = True
    return name


def _out_dir(out_dir: Path) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DataInputError(f"{out}: output is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _read(source: Path, records: Iterable[Record], ctx: ImportContext) -> Iterator[Record]:
    """The importer's records, with read failures (bad compression, not text) named by file and line."""
    iterator = iter(records)
    while True:
        try:
            record = next(iterator)
        except StopIteration:
            return
        except (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile) as exc:
            raise DataFormatError(source, ctx.line, None, f"compressed data is damaged: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise DataFormatError(source, ctx.line, None, f"not UTF-8 text: {exc}") from exc
        except pa.ArrowException as exc:
            raise DataFormatError(source, ctx.line, None, f"cannot read the Parquet data: {exc}") from exc
        yield record


def _previous_source(out_dir: Path, stem: str) -> tuple[str, str] | None:
    """(name, sha256) of the source the unit ``stem`` in ``out_dir`` was imported from, if recorded."""
    path = manifest_path(out_dir, stem)
    try:
        source = json.loads(path.read_text(encoding="utf-8"))["source"]
        return str(source["name"]), str(source["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def import_file(source: Path, out_dir: Path, *, fmt: str | None = None, skip_bad: bool = False,
                venue: str | None = None, symbol: str | None = None,
                options: Mapping[str, Any] | None = None) -> ImportResult:
    """Import one raw file into ``out_dir`` as one unit; on any error ``out_dir`` is left as it was.

    ``options`` are the importer's own settings (the ``table`` importer's column mapping and
    decimals): handed to it in ``ImportContext.options`` and recorded in the unit's record.
    """
    source = check_input_path(source, what="raw recording")
    importer = detect(source, fmt)
    out_dir = _out_dir(out_dir)
    ctx = ImportContext(bad_rows=BadRowLog(skip_bad=skip_bad), venue=venue, symbol=symbol,
                        options=dict(options or {}))
    unit_options: dict[str, Any] = {"skip_bad": skip_bad, "venue": venue, "symbol": symbol}
    if options:
        unit_options["importer_options"] = {k: str(v) for k, v in sorted(options.items())}
    return write_unit(source, importer.read(source, ctx), ctx, out_dir, stem=output_stem(source),
                      source_name=source.name, source_sha=file_sha256(source), importer_name=importer.name,
                      options=unit_options)


def write_unit(source: Path, records: Iterable[Record], ctx: ImportContext, out_dir: Path, *, stem: str,
               source_name: str, source_sha: str, importer_name: str, options: Mapping[str, Any]) -> ImportResult:
    """Check ``records`` row by row and write them as the unit ``stem`` of ``out_dir``, atomically.

    The one writer behind every import (a raw file's importer, ``import_table``'s in-memory
    table): each row passes ``harness.data.checks`` (a bad one goes to ``ctx.bad``: an error naming
    ``source``:line:field, or counted with ``--skip-bad``), rows stream into one Parquet file per
    kind under a temporary name, and the unit (files and completion record) is moved into place
    only once every kind is complete; on any error ``out_dir`` is left as it was.
    """
    result = ImportResult(source=source, importer=importer_name, bad_rows=ctx.bad_rows)
    uid = unit_id(source_sha, importer_name, options)
    base_meta = {"harness.source": source_name, "harness.source_sha256": source_sha,
                 "harness.importer": importer_name, UNIT_KEY: stem, UNIT_ID_KEY: uid}
    checks = RowChecks()
    sinks: dict[str, ParquetSink] = {}
    try:
        for kind, row in _read(source, records, ctx):
            problem = checks.problem(kind, row)
            if problem is not None:
                ctx.bad(source, ctx.line, problem.field, problem.reason, category=problem.category)
                continue
            sink = sinks.get(kind)
            if sink is None:
                sink = ParquetSink(kind, out_dir / f"{stem}.{kind}.parquet", metadata=base_meta)
                for key, value in ctx.metadata.items():
                    sink.set_metadata(key, value)
                sinks[kind] = sink
            sink.append(row)
        staged: dict[str, Path] = {}
        for kind, sink in sinks.items():
            for key, value in ctx.metadata.items():
                if sink._writer is None:
                    sink.set_metadata(key, value)
            staged[kind] = sink.finish()
            result.rows[kind] = sink.rows
    except BaseException:
        for sink in sinks.values():
            sink.abort()
        raise
    previous = _previous_source(out_dir, stem)
    if previous is not None and previous[1] != source_sha:
        result.replaced_source = previous[0]
    record = {"format": MANIFEST_FORMAT, "unit": stem, "unit_id": uid,
              "source": {"name": source_name, "sha256": source_sha}, "importer": importer_name,
              "options": dict(options),
              "bad_rows": {"count": ctx.bad_rows.count, "reasons": dict(ctx.bad_rows.reasons)}}
    result.outputs = commit_unit(out_dir, stem, staged, record)
    result.manifest = manifest_path(out_dir, stem)
    return result


def check_sources(sources: list[Path]) -> list[Path]:
    """Refuse, before any work, sources that are missing, directories or empty, or share a stem."""
    checked = [check_input_path(src, what="raw recording") for src in sources]
    by_stem: dict[str, Path] = {}
    for src in checked:
        stem = output_stem(src)
        if stem in by_stem:
            raise DataInputError(
                f"{by_stem[stem]} and {src} would both import as {stem!r} ({stem}.<kind>.parquet) and "
                "overwrite each other: import them into different directories, or rename one")
        by_stem[stem] = src
    return checked


def import_files(sources: list[Path], out_dir: Path, *, fmt: str | None = None, skip_bad: bool = False,
                 venue: str | None = None, symbol: str | None = None,
                 options: Mapping[str, Any] | None = None) -> list[ImportResult]:
    """Import several files, one unit each; stops at the first failing one (earlier units stay)."""
    checked = check_sources([Path(s) for s in sources])
    return [import_file(src, out_dir, fmt=fmt, skip_bad=skip_bad, venue=venue, symbol=symbol, options=options)
            for src in checked]

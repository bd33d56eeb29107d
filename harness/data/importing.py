"""``harness data import``: raw recordings in, canonical Parquet files out.

Each source file gives one Parquet file per kind of data it contains, named
``<source stem>.<kind>.parquet``. Sources are streamed row by row into row groups; if a source
fails, every file it had started is removed, so the output directory only ever holds complete
imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.data.canonical import check_input_path
from harness.data.errors import BadRowLog, DataInputError
from harness.data.importers.base import ImportContext, detect
from harness.data.sink import ParquetSink
from harness.files import file_sha256

_STRIP_SUFFIXES = (".gz", ".jsonl", ".json", ".csv", ".txt", ".parquet")


@dataclass
class ImportResult:
    """What one source produced: files per kind with row counts, and the bad rows skipped."""

    source: Path
    importer: str
    outputs: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    bad_rows: BadRowLog = field(default_factory=BadRowLog)


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


def import_file(source: Path, out_dir: Path, *, fmt: str | None = None, skip_bad: bool = False,
                venue: str | None = None, symbol: str | None = None) -> ImportResult:
    """Import one raw file into ``out_dir``; on any error nothing of it is left behind."""
    source = check_input_path(source, what="raw recording")
    importer = detect(source, fmt)
    out_dir = _out_dir(out_dir)
    ctx = ImportContext(bad_rows=BadRowLog(skip_bad=skip_bad), venue=venue, symbol=symbol)
    result = ImportResult(source=source, importer=importer.name, bad_rows=ctx.bad_rows)
    stem = output_stem(source)
    base_meta = {"harness.source": source.name, "harness.source_sha256": file_sha256(source),
                 "harness.importer": importer.name}
    sinks: dict[str, ParquetSink] = {}
    try:
        for kind, row in importer.read(source, ctx):
            sink = sinks.get(kind)
            if sink is None:
                sink = ParquetSink(kind, out_dir / f"{stem}.{kind}.parquet", metadata=base_meta)
                for key, value in ctx.metadata.items():
                    sink.set_metadata(key, value)
                sinks[kind] = sink
            sink.append(row)
        for kind, sink in sinks.items():
            for key, value in ctx.metadata.items():
                if sink._writer is None:
                    sink.set_metadata(key, value)
            sink.close()
            result.outputs[kind] = sink.path
            result.rows[kind] = sink.rows
    except BaseException:
        for sink in sinks.values():
            sink.abort()
            sink.path.unlink(missing_ok=True)
        raise
    return result


def import_files(sources: list[Path], out_dir: Path, *, fmt: str | None = None,
                 skip_bad: bool = False) -> list[ImportResult]:
    """Import several files; stops at the first failing one (earlier complete imports stay).

    Every source is checked first (missing, a directory, empty), so a typo in the last name
    does not leave the first ones imported and the command failed."""
    checked = [check_input_path(src, what="raw recording") for src in sources]
    return [import_file(src, out_dir, fmt=fmt, skip_bad=skip_bad) for src in checked]

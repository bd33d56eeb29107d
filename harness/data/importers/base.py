"""What every importer provides, and the registry that autodetects formats.

An importer reads one raw recording and yields canonical rows ``(kind, row_tuple)`` where the
tuple follows ``harness.data.schema.SCHEMAS[kind]`` column order. It reports bad rows through the
``ImportContext`` (which raises or counts them) and never writes files itself. While it reads,
it keeps ``ctx.line`` at the line (or row) the rows it yields come from, so checks made after
it (``harness.data.checks``) can name file:line too.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from harness.data.errors import BadRowLog, DataFormatError, UnsupportedFormatError

Row = tuple[Any, ...]
Record = tuple[str, Row]


@dataclass
class ImportContext:
    """Options and bookkeeping shared by importers: bad-row policy and overrides."""

    bad_rows: BadRowLog = field(default_factory=BadRowLog)
    venue: str | None = None
    symbol: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    line: int | None = None
    """Line (or row) of the source the importer is at: set by the importers as they read."""

    def bad(self, path: Path | str, line: int | None, field_name: str | None, reason: str, *,
            category: str = "malformed") -> None:
        """Report a bad row: raises ``DataFormatError`` unless ``--skip-bad`` was given."""
        self.bad_rows.handle(DataFormatError(path, line, field_name, reason, category=category))


class Importer(Protocol):
    """One raw format: detect it from the file's first bytes, then stream canonical rows."""

    name: str
    description: str

    def sniff(self, path: Path, head: str) -> bool:
        """True if this importer recognises the file (``head`` is its first few KB, decoded)."""

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Yield ``(kind, row)`` for every row of the file, in file order."""


_REGISTRY: dict[str, Importer] = {}


def register(importer: Importer) -> Importer:
    """Add an importer to the registry (order of registration is the autodetect priority)."""
    _REGISTRY[importer.name] = importer
    return importer


def registry() -> dict[str, Importer]:
    """All importers by name, loading the built-in ones on first use."""
    from harness.data import importers as _pkg  # noqa: F401  (imports register the built-ins)

    return dict(_REGISTRY)


def open_text(path: Path) -> IO[str]:
    """Open a possibly gzip-compressed text file for streaming reads."""
    raw = path.open("rb")
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8", newline="")
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


def read_head(path: Path, size: int = 8192) -> str:
    """The first ``size`` characters of a (possibly gzipped) text file, or "" for binary files."""
    if path.suffix == ".parquet":
        return ""
    try:
        with open_text(path) as handle:
            return handle.read(size)
    except (UnicodeDecodeError, OSError):
        return ""


def detect(path: Path, forced: str | None = None) -> Importer:
    """Pick the importer for a file: ``forced`` by name, else the first whose ``sniff`` accepts it."""
    importers = registry()
    if forced is not None:
        if forced not in importers:
            raise UnsupportedFormatError(f"unknown format {forced!r}; known: {', '.join(sorted(importers))}")
        return importers[forced]
    head = read_head(path)
    for importer in importers.values():
        if importer.sniff(path, head):
            return importer
    reason, other_format_may_work = _why_unrecognised(path, head)
    if not other_format_may_work:
        raise UnsupportedFormatError(f"{path}: {reason}")
    raise UnsupportedFormatError(f"{path}: {reason}; pass --format with one of: {', '.join(sorted(importers))}")


def _why_unrecognised(path: Path, head: str) -> tuple[str, bool]:
    """What a file no importer recognises looks like, and whether ``--format`` could still help."""
    if path.name.endswith((".import.json", ".partial")):
        return ("the completion record or an unfinished file of `harness data import`, not a recording", False)
    if path.suffix == ".parquet":
        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowException) as exc:
            return f"not a readable Parquet file ({exc})", False
        kind = (schema.metadata or {}).get(b"harness.kind")
        if kind is not None:
            return (f"already canonical harness market data ({kind.decode()}): give it to `harness replay "
                    "--data` or `harness data verify` directly, no import needed", False)
        return f"Parquet with columns {list(schema.names)} is not a layout any importer reads", True
    if head.strip():
        return "format not recognised", True
    with path.open("rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    if gzipped:
        return "no text after decompression (an empty or unreadable gzip file)", False
    return "not UTF-8 text, or only whitespace at its start: format not recognised", True


SniffFn = Callable[[Path, str], bool]

"""What every importer provides, and the registry that autodetects formats.

An importer reads one raw recording and yields canonical rows ``(kind, row_tuple)`` where the
tuple follows ``harness.data.schema.SCHEMAS[kind]`` column order. It reports bad rows through the
``ImportContext`` (which raises or counts them) and never writes files itself. While it reads,
it keeps ``ctx.line`` at the line (or row) the rows it yields come from, so checks made after
it (``harness.data.checks``) can name file:line too.

``open_text`` reads plain, gzip or zip text (a zip archive holding one file, as Binance's and
Bybit's public archives ship); a gzip stream that ends early (a truncated download, a
recorder killed mid-write) is reported with the file name and the last complete line, and with
``--skip-bad`` the complete lines read so far are kept and the truncation is counted.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from harness.data.errors import BadRowLog, DataFormatError, UnsupportedFormatError

__all__ = [
    "TRUNCATED",
    "ImportContext",
    "Importer",
    "Record",
    "Row",
    "SniffFn",
    "detect",
    "gzip_chunks",
    "open_binary_for",
    "open_text",
    "open_text_for",
    "read_head",
    "register",
    "registry",
    "zip_member",
]

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
    options: dict[str, Any] = field(default_factory=dict)
    """An importer's own settings (``harness data import --column/--decimals`` for ``table``)."""

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


TRUNCATED = "truncated input"
"""``--skip-bad`` category of a compressed file that ends before its end-of-stream marker."""

_CHUNK = 1 << 16


def gzip_chunks(compressed: IO[bytes]) -> Iterator[bytes]:
    """The decompressed bytes of a (possibly multi-member) gzip stream, chunk by chunk.

    Unlike ``gzip.GzipFile``, which drops the last decompressed block when the input ends
    early, every byte that can be decoded is yielded before ``EOFError`` reports the early
    end; damaged data raises ``zlib.error`` (a bad CRC included).
    """
    decompressor = zlib.decompressobj(wbits=31)
    started = False
    while True:
        data = compressed.read(_CHUNK)
        if not data:
            if started and not decompressor.eof:
                raise EOFError("compressed data ended before the end-of-stream marker was reached")
            return
        while data:
            if decompressor.eof:  # a new member follows (or zero padding, which gzip allows)
                if not data.strip(b"\x00"):
                    break
                decompressor = zlib.decompressobj(wbits=31)
            started = True
            out = decompressor.decompress(data, _CHUNK * 16)
            if out:
                yield out
            data = decompressor.unconsumed_tail or decompressor.unused_data


class _CompleteLines(io.RawIOBase):
    """The decompressed bytes of a gzip stream, cut back to the last complete line if it ends early.

    Bytes after the last newline are held back until the next newline (or the stream's proper
    end) arrives, so a truncated stream never hands out half a line. At a truncation,
    ``on_truncated(complete_lines, error)`` runs (it may raise); then the stream ends.
    """

    def __init__(self, compressed: IO[bytes], on_truncated: Callable[[int, Exception], None]) -> None:
        super().__init__()
        self._compressed = compressed
        self._chunks = gzip_chunks(compressed)
        self._on_truncated = on_truncated
        self._held: list[bytes] = []  # bytes after the last newline seen
        self._ready = memoryview(b"")
        self._lines = 0
        self._ended = False

    def readable(self) -> bool:
        """Always: this is a read-only stream."""
        return True

    def _fill(self) -> None:
        while not self._ready and not self._ended:
            try:
                chunk = next(self._chunks, b"")
            except (EOFError, zlib.error) as exc:
                self._ended = True
                self._held.clear()
                self._on_truncated(self._lines, exc)
                return
            if not chunk:  # the proper end: a last line without a newline is still a line
                self._ended = True
                self._ready = memoryview(b"".join(self._held))
                self._held.clear()
                return
            cut = chunk.rfind(b"\n") + 1
            if cut == 0:
                self._held.append(chunk)
                continue
            data = b"".join([*self._held, chunk[:cut]])
            self._held = [chunk[cut:]] if cut < len(chunk) else []
            self._lines += data.count(b"\n")
            self._ready = memoryview(data)

    def readinto(self, buffer: Any) -> int:
        """Copy the next decompressed bytes (only complete lines until the proper end) into ``buffer``."""
        self._fill()
        size = min(len(buffer), len(self._ready))
        buffer[:size] = self._ready[:size]
        self._ready = self._ready[size:]
        return size

    def close(self) -> None:
        """Close the underlying file."""
        if not self.closed:
            self._compressed.close()
        super().close()


def open_text(path: Path, *, lenient: bool = False) -> IO[str]:
    """Open a possibly gzip-compressed text file for streaming reads.

    A gzip stream that ends early raises ``DataFormatError`` naming the file and the last
    complete line; with ``lenient`` (for passes that only peek at the head) the text simply
    ends there. Importers call ``open_text_for`` instead, which applies ``--skip-bad``.
    """
    if lenient:
        return _open(path, lambda _lines, _exc: None)
    return _open(path, lambda lines, exc: _report_truncation(path, lines, exc, None))


def open_text_for(path: Path, ctx: ImportContext) -> IO[str]:
    """``open_text`` for an importer's main pass: a truncation goes to ``ctx.bad`` (error or counted)."""
    return _open(path, lambda lines, exc: _report_truncation(path, lines, exc, ctx))


_ZIP_MAGIC = b"PK\x03\x04"


def zip_member(path: Path) -> IO[bytes]:
    """The decompressed bytes of the one file inside the zip archive ``path``.

    An archive that is not complete (a truncated download: no central directory) or that holds
    no file or several raises ``DataFormatError`` naming it; a member whose data is damaged raises
    ``zipfile.BadZipFile`` while it is read (``harness.data.importing`` names the file and line).
    """
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise DataFormatError(path, None, None, f"not a complete zip archive (truncated download?): {exc}",
                              category=TRUNCATED) from None
    members = [info for info in archive.infolist() if not info.is_dir()]
    if len(members) != 1:
        archive.close()
        names = [m.filename for m in members]
        raise DataFormatError(path, None, None, f"a zip archive to import holds one file; this one holds {names}")
    return archive.open(members[0])


def open_binary_for(path: Path, ctx: ImportContext) -> IO[bytes]:
    """The file's bytes (decompressed when gzip or zip), with truncations handled like ``open_text_for``."""
    raw = path.open("rb")
    magic = raw.read(4)
    raw.seek(0)
    if magic == _ZIP_MAGIC:
        raw.close()
        return zip_member(path)
    if magic[:2] != b"\x1f\x8b":
        return raw
    return io.BufferedReader(_CompleteLines(raw, lambda lines, exc: _report_truncation(path, lines, exc, ctx)),
                             buffer_size=_CHUNK)


def _report_truncation(path: Path, lines: int, exc: Exception, ctx: ImportContext | None) -> None:
    reason = (f"compressed data ends early (truncated file?) after line {lines}: {exc}; "
              + ("the complete lines before it were kept" if ctx is not None and ctx.bad_rows.skip_bad
                 else "--skip-bad keeps the complete lines before it"))
    if ctx is None:
        raise DataFormatError(path, lines + 1, None, reason, category=TRUNCATED)
    ctx.bad(path, lines + 1, None, reason, category=TRUNCATED)


def _open(path: Path, on_truncated: Callable[[int, Exception], None]) -> IO[str]:
    raw = path.open("rb")
    magic = raw.read(4)
    raw.seek(0)
    if magic == _ZIP_MAGIC:
        raw.close()
        return io.TextIOWrapper(zip_member(path), encoding="utf-8", newline="")
    if magic[:2] == b"\x1f\x8b":
        lines = io.BufferedReader(_CompleteLines(raw, on_truncated), buffer_size=_CHUNK)
        return io.TextIOWrapper(lines, encoding="utf-8", newline="")
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


def read_head(path: Path, size: int = 8192) -> str:
    """The first ``size`` characters of a (possibly gzipped) text file, or "" for binary files."""
    if path.suffix == ".parquet":
        return ""
    try:
        with open_text(path, lenient=True) as handle:
            return handle.read(size)
    except (UnicodeDecodeError, OSError, DataFormatError, zipfile.BadZipFile, EOFError):
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

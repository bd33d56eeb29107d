"""``harness data verify``: rebuild order books across files and check them against quotes.

Inputs are raw recordings (read through the importer registry, nothing written), canonical
Parquet files from ``harness data import`` (files of the same source are merged by
``ts_recv``), or directories of them (a directory stands for its ``*.parquet``, by name). All
inputs, in the order given, form ONE stream per (venue, symbol), so a day file and its
continuation chain into one book. Imported files must form complete units
(``harness.data.units``, sha256 included): an interrupted import is refused, by name.

Every row also goes through ``harness.data.checks`` (positive prices and sizes; trades in time
order per stream, without repeated ``(ts_event, trade_id)``), across inputs in order, so trades
repeated at the seam of two day files are found too. Problems are counted per stream and
reason, and the rows at fault are left out of the book.

The book is kept by ``harness.data.book.BookSync`` (Binance spot / futures rules, generic otherwise);
every gap is reported. The check: a bookTicker quote carries the update id of the last change
to the top of book, so whenever the (valid) book's update id equals a quote's id, the book's
best bid/ask price and size must equal the quote's. Binance pushes bookTicker in real time but
diff-depth only at the end of each 100 ms (spot) window, so the quote for id ``X`` usually
arrives *before* the diff that brings the book to ``X``. Quotes are therefore compared at the
moment the book reaches their id: on arrival if the book is already there, else when the diff
that ends at that id is applied (quotes whose id the book never lands on are not comparable).
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pyarrow.parquet as pq

from harness.data.book import BookStream, BookSync, Gap
from harness.data.canonical import check_input_path, open_canonical
from harness.data.checks import (
    DUPLICATE,
    NON_POSITIVE_PRICE,
    NON_POSITIVE_SIZE,
    OUT_OF_ORDER,
    Problem,
    RowChecks,
)
from harness.data.errors import DataInputError
from harness.data.importers.base import ImportContext, Record, Row, detect
from harness.data.schema import SCHEMAS
from harness.data.units import check_complete, expand_records

__all__ = ["MAX_MISMATCH_EXAMPLES", "MAX_PENDING_QUOTES", "MAX_PROBLEM_EXAMPLES", "StreamStats", "VerifyReport",
           "expand_inputs", "format_rate", "verify_paths"]

MAX_PENDING_QUOTES = 10_000
MAX_MISMATCH_EXAMPLES = 5
MAX_PROBLEM_EXAMPLES = 10
_MERGE_PRIORITY = {"book": 0, "quotes": 1, "trades": 2}


@dataclass
class StreamStats:
    """The book and the comparison counters of one (venue, symbol) stream."""

    venue: str
    symbol: str
    quotes: int = 0
    quotes_without_id: int = 0
    compared: int = 0
    matched: int = 0
    late: int = 0  # quote id already behind the book when it arrived
    mismatches: list[str] = field(default_factory=list)
    pending_quotes: deque[tuple[int, Row]] = field(default_factory=lambda: deque(maxlen=MAX_PENDING_QUOTES))
    stream: BookStream = field(default_factory=BookStream)

    @property
    def sync(self) -> BookSync:
        """The book-sync state machine of this stream."""
        return self.stream.sync

    @property
    def where(self) -> str:
        """The input currently being read (for mismatch examples)."""
        return self.stream.where

    def line(self) -> str:
        """One summary line for the report."""
        s = self.sync
        return (f"{self.venue} {self.symbol}: mode {s.mode or 'n/a'}, snapshots {s.snapshots} "
                f"(resyncs {s.resyncs}), diffs applied {s.applied}, dropped old {s.dropped_old}, "
                f"gaps {len(s.gaps)}; quotes {self.quotes} (no update id {self.quotes_without_id}, "
                f"late {self.late}), compared {self.compared}, matched {self.matched}, "
                f"rate {format_rate(self.matched, self.compared)}")


def format_rate(matched: int, compared: int) -> str:
    """``matched / compared`` with 4 decimals, rounded down (1.0000 only when all matched)."""
    if compared == 0:
        return "0.0000"
    return str((Decimal(matched) / Decimal(compared)).quantize(Decimal("0.0001"), rounding=ROUND_DOWN))


@dataclass
class VerifyReport:
    """Everything ``verify_paths`` found: per-stream stats, gaps, inputs and ignored kinds."""

    files: list[str] = field(default_factory=list)
    streams: dict[tuple[str, str], StreamStats] = field(default_factory=dict)
    ignored: Counter[str] = field(default_factory=Counter)
    trades: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Trades read per (venue, symbol), refused ones included."""
    problems: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    """Rows refused by the checks, per (kind, venue, symbol, reason)."""
    problem_examples: list[str] = field(default_factory=list)

    @property
    def row_problems(self) -> int:
        """How many rows the checks refused (any kind, any reason)."""
        return sum(self.problems.values())

    @property
    def gaps(self) -> list[Gap]:
        """All gaps of all streams, stream by stream."""
        return [gap for stats in self.streams.values() for gap in stats.sync.gaps]

    @property
    def compared(self) -> int:
        """Quotes compared against a book at the same update id."""
        return sum(s.compared for s in self.streams.values())

    @property
    def matched(self) -> int:
        """Compared quotes whose best bid/ask price and size equal the book's."""
        return sum(s.matched for s in self.streams.values())

    @property
    def rate(self) -> Decimal:
        """Match rate as an exact Decimal (0 when nothing was compared)."""
        return Decimal(self.matched) / Decimal(self.compared) if self.compared else Decimal(0)

    def lines(self) -> list[str]:
        """The printable report; the last line is ``book match rate: R (N of M)``."""
        out = [f"files: {', '.join(self.files)}"]
        gaps = self.gaps
        out.extend(f"gap: {gap.describe()}" for gap in gaps)
        if not gaps:
            out.append("gaps: none")
        for stats in self.streams.values():
            out.append(stats.line())
            out.extend(f"  mismatch: {m}" for m in stats.mismatches)
        for (venue, symbol), count in self.trades.items():
            counts = ", ".join(f"{reason} {self.problems[('trades', venue, symbol, reason)]}"
                               for reason in _TRADE_REASONS)
            out.append(f"{venue} {symbol}: trades {count}, {counts}")
        if self.problems:
            out.append("bad rows: " + ", ".join(f"{kind} {venue} {symbol} {reason} {n}"
                                                for (kind, venue, symbol, reason), n in sorted(self.problems.items())))
            out.extend(f"  bad row: {example}" for example in self.problem_examples)
        else:
            out.append("bad rows: none")
        if self.ignored:
            out.append("ignored rows: " + ", ".join(f"{k} {n}" for k, n in sorted(self.ignored.items())))
        out.append(f"book match rate: {format_rate(self.matched, self.compared)} "
                   f"({self.matched} of {self.compared})")
        return out


_TRADE_REASONS = (OUT_OF_ORDER, DUPLICATE, NON_POSITIVE_PRICE, NON_POSITIVE_SIZE)


class _Verifier:
    """Feeds canonical records into per-stream books and compares quotes; checks every row."""

    def __init__(self) -> None:
        self.report = VerifyReport()
        self.checks = RowChecks()

    def _stats(self, venue: str, symbol: str) -> StreamStats:
        key = (venue, symbol)
        stats = self.report.streams.get(key)
        if stats is None:
            stats = self.report.streams[key] = StreamStats(venue, symbol)
            stats.stream.on_message = lambda _sync: self._after_message(stats)
        return stats

    def _refused(self, label: str, ctx: ImportContext | None, kind: str, row: Row, problem: Problem) -> None:
        report = self.report
        report.problems[(kind, row[2], row[3], problem.category)] += 1
        if len(report.problem_examples) < MAX_PROBLEM_EXAMPLES:
            where = label if ctx is None or ctx.line is None else f"{label}:{ctx.line}"
            report.problem_examples.append(f"{where}: {kind} field {problem.field!r}: {problem.reason}")

    def feed(self, label: str, records: Iterable[Record], ctx: ImportContext | None = None) -> None:
        """Process one input's records in order, then close its open book messages.

        ``ctx`` is the importer's context for raw inputs (its ``line`` names bad rows).
        """
        self.report.files.append(label)
        streams = self.report.streams
        checks = self.checks
        for kind, row in records:
            if kind == "trades":
                self.report.trades[(row[2], row[3])] += 1
            problem = checks.problem(kind, row)
            if problem is not None:
                self._refused(label, ctx, kind, row, problem)
                continue
            if kind == "book":
                stats = streams.get((row[2], row[3])) or self._stats(row[2], row[3])
                stats.stream.where = label
                stats.stream.push(row)
            elif kind == "quotes":
                stats = streams.get((row[2], row[3])) or self._stats(row[2], row[3])
                stats.stream.flush()
                self._quote(stats, row)
            elif kind != "trades":  # trades are checked above; candles are not verified
                self.report.ignored[kind] += 1
        for stats in streams.values():
            stats.stream.flush()

    def _after_message(self, stats: StreamStats) -> None:
        sync = stats.sync
        if sync.valid and stats.pending_quotes:
            book_id = sync.update_id
            queue = stats.pending_quotes
            while queue and queue[0][0] < book_id:
                queue.popleft()  # the book never stood at this quote's id
            if queue and queue[0][0] == book_id:
                self._compare(stats, queue.popleft()[1])

    def _quote(self, stats: StreamStats, row: Row) -> None:
        stats.quotes += 1
        update_id = row[8]
        if update_id < 0:
            stats.quotes_without_id += 1
            return
        sync = stats.sync
        if sync.valid and update_id == sync.update_id:
            self._compare(stats, row)
        elif update_id > sync.update_id or not sync.valid:
            stats.pending_quotes.append((update_id, row))
        else:
            stats.late += 1

    @staticmethod
    def _compare(stats: StreamStats, row: Row) -> None:
        book = stats.sync.book
        bid, ask = book.best_bid(), book.best_ask()
        stats.compared += 1
        if (bid is not None and ask is not None and bid.price == row[4] and bid.size == row[5]
                and ask.price == row[6] and ask.size == row[7]):
            stats.matched += 1
        elif len(stats.mismatches) < MAX_MISMATCH_EXAMPLES:
            stats.mismatches.append(
                f"{stats.where}: update id {row[8]}: book bid {bid} ask {ask}, quote bid "
                f"({row[4]}, {row[5]}) ask ({row[6]}, {row[7]})")

    def finish(self) -> VerifyReport:
        """Close every stream (reporting books left without a usable snapshot)."""
        last = self.report.files[-1] if self.report.files else ""
        for stats in self.report.streams.values():
            stats.sync.finish(last)
        return self.report


def _parquet_records(file: pq.ParquetFile, kind: str) -> Iterator[Record]:
    names = SCHEMAS[kind].names
    for batch in file.iter_batches(batch_size=65_536, columns=names):
        for row in zip(*(batch.column(i).to_pylist() for i in range(len(names))), strict=True):
            yield kind, row


def expand_inputs(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """(files, directories): each directory given stands for its ``*.parquet`` files, by name, and a
    completion record (``*.import.json``) for its unit's files."""
    files: list[Path] = []
    directories: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(path.glob("*.parquet"))
            if not found:
                raise DataInputError(f"{path}: directory holds no .parquet files (name raw recordings one by one)")
            files.extend(found)
            directories.append(path)
        else:
            files.append(path)
    files = [check_input_path(path, what="file to verify") for path in expand_records(files)]
    return files, directories


def _sources(files: list[Path], fmt: str | None) -> Iterator[tuple[str, Iterable[Record], ImportContext | None]]:
    """(label, records, importer context) per input; Parquet files of one source merge by ts_recv."""
    groups: dict[str, list[tuple[str, pq.ParquetFile, Path]]] = {}
    order: list[tuple[str, Path | str]] = []
    for path in files:
        if path.suffix != ".parquet":
            order.append(("raw", path))
            continue
        file, kind = open_canonical(path)
        source = (file.schema_arrow.metadata or {}).get(b"harness.source", b"").decode()
        source = source or path.name.split(".")[0]
        if source not in groups:
            groups[source] = []
            order.append(("parquet", source))
        groups[source].append((kind, file, path))
    for what, item in order:
        if what == "raw":
            path = Path(item)
            importer = detect(path, fmt)
            ctx = ImportContext()
            yield path.name, importer.read(path, ctx), ctx
            continue
        members = sorted(groups[str(item)], key=lambda member: _MERGE_PRIORITY.get(member[0], 3))
        label = " + ".join(p.name for _, _, p in members)
        streams = [_parquet_records(f, k) for k, f, _ in members if k in _MERGE_PRIORITY]
        yield label, heapq.merge(*streams, key=lambda record: int(record[1][1])), None


def verify_paths(paths: list[Path], fmt: str | None = None) -> VerifyReport:
    """Rebuild books across ``paths`` (in order, one stream per symbol), compare quotes, check rows."""
    files, directories = expand_inputs(paths)
    parquet = [p for p in files if p.suffix == ".parquet"]
    for path in parquet:
        open_canonical(path)  # a wrong file is named before any unit bookkeeping reads it
    check_complete(parquet, directories, thorough=True)
    verifier = _Verifier()
    for label, records, ctx in _sources(files, fmt):
        verifier.feed(label, records, ctx)
    return verifier.finish()

"""Errors and bad-row accounting for market-data import, verify and replay loading.

A bad row must never crash a run silently nor be dropped unnoticed: by default it raises
``DataFormatError`` naming file, line and field; with ``--skip-bad`` it is counted in a
``BadRowLog`` (per reason) and the first few are reported.

The errors form one tree, so a command can catch them all with ``DataError``::

    DataError (ValueError)          something about market-data input is wrong; the message names it
    ├── DataFormatError             a row or field of a file cannot be used: file:line: field, reason
    ├── UnsupportedFormatError      no importer recognises a file (or the forced one refuses it)
    ├── DataInputError              an input path is unusable: missing, a directory, empty, or two
    │                               sources that would write the same output files
    ├── CanonicalFileError          a Parquet file is not canonical market data: unknown kind,
    │                               missing or mistyped columns, another fixed-point scale
    └── IncompleteImportError       imported files whose unit is not complete (an interrupted or
                                    mixed import), named unit by unit
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BadRowLog", "CanonicalFileError", "DataError", "DataFormatError", "DataInputError",
           "IncompleteImportError", "UnsupportedFormatError"]


class DataError(ValueError):
    """Root of every market-data input error; its message names the file and what is wrong."""


class DataFormatError(DataError):
    """A row of a market-data file could not be used; names file, line and field.

    ``category`` is the reason's short name used in ``--skip-bad`` counts ("malformed" for
    rows that cannot be parsed; e.g. "duplicate trade" for rows that parse but are refused).
    """

    def __init__(self, path: str | Path, line: int | None, field_name: str | None, reason: str, *,
                 category: str = "malformed") -> None:
        self.path = str(path)
        self.line = line
        self.field_name = field_name
        self.reason = reason
        self.category = category
        where = self.path + (f":{line}" if line is not None else "")
        what = f" field {field_name!r}" if field_name else ""
        super().__init__(f"{where}:{what} {reason}")


class UnsupportedFormatError(DataError):
    """No importer recognises a file (or the one asked for with ``--format`` refuses it)."""


class DataInputError(DataError):
    """An input path cannot be used as given (missing, a directory, empty, clashing names)."""


class CanonicalFileError(DataError):
    """A Parquet file given as canonical market data does not follow ``harness.data.schema``."""


class IncompleteImportError(DataError):
    """Files of an import unit without their completion record, or not the files it lists.

    ``problems`` holds one line per unit (or file) at fault; the message joins them.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("incomplete import: " + "; ".join(self.problems)
                         + " (re-run `harness data import` for these sources)")


@dataclass
class BadRowLog:
    """Counts rows skipped with ``--skip-bad`` per reason and keeps the first errors for the report."""

    skip_bad: bool = False
    count: int = 0
    examples: list[str] = field(default_factory=list)
    max_examples: int = 10
    reasons: Counter[str] = field(default_factory=Counter)

    def handle(self, error: DataFormatError) -> None:
        """Record a bad row when skipping is allowed, otherwise raise it."""
        if not self.skip_bad:
            raise error
        self.count += 1
        self.reasons[error.category] += 1
        if len(self.examples) < self.max_examples:
            self.examples.append(str(error))

    def summary(self) -> str:
        """``"3 bad rows: 2 malformed, 1 duplicate trade"`` (reasons in name order)."""
        parts = ", ".join(f"{n} {reason}" for reason, n in sorted(self.reasons.items()))
        return f"{self.count} bad row{'s' if self.count != 1 else ''}" + (f": {parts}" if parts else "")

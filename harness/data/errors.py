"""Errors and bad-row accounting for market-data import.

A bad row must never crash a run silently nor be dropped unnoticed: by default it raises
``DataFormatError`` naming file, line and field; with ``--skip-bad`` it is counted in a
``BadRowLog`` and the first few are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class DataFormatError(ValueError):
    """A row of a market-data file could not be understood; names file, line and field."""

    def __init__(self, path: str | Path, line: int | None, field_name: str | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.field_name = field_name
        self.reason = reason
        where = self.path + (f":{line}" if line is not None else "")
        what = f" field {field_name!r}" if field_name else ""
        super().__init__(f"{where}:{what} {reason}".replace(": ", ": ", 1))


class UnsupportedFormatError(ValueError):
    """No importer recognises a file (or the one asked for with ``--format`` refuses it)."""


@dataclass
class BadRowLog:
    """Counts rows skipped with ``--skip-bad`` and keeps the first errors for the report."""

    skip_bad: bool = False
    count: int = 0
    examples: list[str] = field(default_factory=list)
    max_examples: int = 10

    def handle(self, error: DataFormatError) -> None:
        """Record a bad row when skipping is allowed, otherwise raise it."""
        if not self.skip_bad:
            raise error
        self.count += 1
        if len(self.examples) < self.max_examples:
            self.examples.append(str(error))

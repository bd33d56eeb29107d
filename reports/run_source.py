"""One run directory, opened read-only: its manifest, its status and its tables, read lazily.

Everything the metrics, the static report and the dashboard know of a run comes through a
``RunSource``: the run directory alone (``manifest.json`` and the Parquet tables beside it), plus
the market data it replayed when that can still be found (``market_data_files``). A table that
is absent (a plain replay has no ``faults`` or ``scorecard``; a failed run may lack most) reads
as ``None``; nothing here raises for a missing table.

Reading is by columns (``table(name, columns)``), so a caller that needs two columns of a table
never loads the others; row counts come from the Parquet footer (``num_rows``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from reports.run_dir import read_status

__all__ = ["RunSource", "RunSourceError", "data_kind", "manifest_digest"]


class RunSourceError(ValueError):
    """A path is not a run directory (no readable manifest); the message names the path."""


def manifest_digest(run_dir: Path) -> str:
    """Hex sha256 of the run's manifest and of each table's size and mtime: a cache key that changes
    whenever the run (or its metrics, written later) changes."""
    digest = hashlib.sha256()
    manifest = run_dir / "manifest.json"
    digest.update(manifest.read_bytes() if manifest.exists() else b"")
    for path in sorted(run_dir.glob("*.parquet")):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


class RunSource:
    """A run directory (see the module docstring). ``status`` is complete, failed, running or incomplete."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir)
        if not self.path.is_dir():
            raise RunSourceError(f"{self.path}: not a directory")
        self.status = read_status(self.path)
        try:
            manifest = json.loads((self.path / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            if self.status == "incomplete" and not any(self.path.glob("*.parquet")):
                raise RunSourceError(f"{self.path}: no readable manifest.json ({error})") from None
            manifest = {}
        self.manifest: dict[str, Any] = manifest if isinstance(manifest, dict) else {}

    # ------------------------------------------------------------------ manifest

    @property
    def run_id(self) -> str:
        """The directory's name without a ``.partial``/``.failed`` suffix."""
        name = self.path.name
        for suffix in (".partial", ".failed"):
            if name.endswith(suffix):
                return name[: -len(suffix)]
        return name

    @property
    def config(self) -> Mapping[str, Any]:
        """The manifest's ``config`` (strategy, params, seed, venues, data), empty when absent."""
        config = self.manifest.get("config")
        return config if isinstance(config, dict) else {}

    @property
    def error(self) -> str:
        """The error a failed run recorded, or empty."""
        return str(self.manifest.get("error") or "")

    @property
    def scenario(self) -> str:
        """The scenario's name when a scenario runner wrote the run, else ``replay``."""
        scenario = self.manifest.get("scenario") or self.config.get("scenario")
        if isinstance(scenario, dict):
            return str(scenario.get("name", "scenario"))
        return str(scenario) if scenario else "replay"

    @property
    def start_ns(self) -> int:
        """The first recorded data time (``time_range_ns``), or 0."""
        span = self.manifest.get("time_range_ns") or [0, 0]
        return int(span[0])

    # ------------------------------------------------------------------ tables

    def has(self, name: str) -> bool:
        """Whether table ``name`` was written."""
        return (self.path / f"{name}.parquet").is_file()

    def table(self, name: str, columns: Sequence[str] | None = None) -> pa.Table | None:
        """Table ``name`` (only ``columns`` when given; those it lacks are left out), None when absent."""
        path = self.path / f"{name}.parquet"
        if not path.is_file():
            return None
        if columns is None:
            return pq.read_table(path)
        present = set(pq.read_schema(path).names)
        return pq.read_table(path, columns=[c for c in columns if c in present])

    def rows(self, name: str, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Table ``name`` as a list of dicts (exact ``Decimal`` values); empty when absent."""
        table = self.table(name, columns)
        return [] if table is None else table.to_pylist()

    def num_rows(self, name: str) -> int:
        """Row count of table ``name`` from its Parquet footer (0 when absent)."""
        path = self.path / f"{name}.parquet"
        return pq.ParquetFile(path).metadata.num_rows if path.is_file() else 0

    # ------------------------------------------------------------------ market data

    @cached_property
    def market_data_files(self) -> dict[str, Path]:
        """The run's market-data files that can still be found, by file name.

        Looked up first where the manifest's ``data_locations`` says (relative to the run
        directory), then by name beside the run directory, in its ``demo-data`` and ``data``
        folders, and one level up (a sweep's runs sit in a sweep folder). Missing files are
        simply absent: a chart without them says the data was not found.
        """
        names = [str(n) for n in self.config.get("data", [])]
        locations = self.manifest.get("data_locations") or {}
        found: dict[str, Path] = {}
        parents = [self.path.parent, self.path.parent.parent]
        for name in names:
            candidates = []
            if isinstance(locations, dict) and name in locations:
                candidates.append(self.path / str(locations[name]))
            for parent in parents:
                candidates += [parent / name, parent / "demo-data" / name, parent / "data" / name]
            hit = next((c for c in candidates if c.is_file()), None)
            if hit is not None:
                found[name] = hit.resolve()
        return found

    def market_files_of_kind(self, kind: str) -> list[Path]:
        """The found market-data files holding ``kind`` (trades, quotes, book, candles)."""
        return [path for path in self.market_data_files.values() if data_kind(path) == kind]

    @property
    def missing_market_data(self) -> list[str]:
        """Names of the run's data files that were not found."""
        return [str(n) for n in self.config.get("data", []) if str(n) not in self.market_data_files]


def data_kind(path: Path) -> str:
    """The kind of a canonical data file (its ``harness.kind`` metadata, else its name's ``.<kind>.parquet``)."""
    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return ""
    kind = str(meta.get(b"harness.kind", b"").decode())
    if kind:
        return kind
    parts = path.name.split(".")
    return parts[-2] if len(parts) >= 3 else ""

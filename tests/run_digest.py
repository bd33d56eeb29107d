"""A content digest of a run directory that does not depend on library versions.

Parquet bytes carry the writer's version, and the manifest carries package versions, so a
byte comparison across machines would fail for reasons that are not ours. The digest hashes
what a reader sees instead: every table's rows (as CSV text) and every row of the journal.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pyarrow.parquet as pq


def _table_digest(path: Path) -> str:
    table = pq.read_table(path)
    text = table.to_pandas().to_csv(index=False)
    return f"{hashlib.sha256(text.encode()).hexdigest()[:16]} rows={table.num_rows}"


def _journal_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with sqlite3.connect(path) as connection:
        for line in connection.iterdump():
            digest.update(line.encode())
    return digest.hexdigest()[:16]


def run_digest(run_dir: Path) -> dict[str, str]:
    """``{file name: digest}`` for every table and the journal of ``run_dir``."""
    digests: dict[str, str] = {}
    for path in sorted(run_dir.iterdir()):
        if path.suffix == ".parquet":
            digests[path.name] = _table_digest(path)
        elif path.name == "journal.sqlite":
            digests[path.name] = _journal_digest(path)
    return digests

"""Import units: one source's canonical files appear together and complete, or are refused by name.

Importing one source (``foo.jsonl.gz``) into a directory gives a *unit*: its data files
``foo.<kind>.parquet`` and a completion record ``foo.import.json`` (the manifest: source name
and sha256, importer, options, and per kind the file, its row count and sha256, plus the bad
rows skipped). Every data file also carries the unit's name and id in its Parquet metadata.

How a unit is written (``commit_unit``), after all its files are complete under temporary
``.partial`` names, so a failing import never touches what is already there:

1. remove the old manifest, if any: from here on the unit counts as incomplete;
2. remove the old unit's files of kinds the new import does not produce;
3. move each new file into place (``os.replace``);
4. write the new manifest (temporary name, fsync, rename): the unit is complete again.

A process killed anywhere in 1-4 leaves data files without a manifest, which readers refuse;
a rerun of the import completes it. A kill before step 1 leaves the earlier unit as it was
(plus ``.partial`` leftovers, which nothing reads and the next import overwrites).

Readers (``harness replay``, ``harness data verify``) call ``check_complete`` on the files they
are given, and on every manifest of a directory they are given: a data file whose metadata
names a unit must have that unit's manifest next to it, listing it with the same unit id and
row count, and every file a manifest lists must be there. Canonical files that belong to no
unit (written by hand, or recorded by other tools) are accepted as they are; files from an
import that predates units (they have ``harness.importer`` metadata but no unit) are refused,
since nothing says they are complete.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from harness.data.errors import CanonicalFileError, IncompleteImportError
from harness.data.schema import KINDS, SCHEMA_VERSION
from harness.data.sink import fsync_file
from harness.files import file_sha256

__all__ = ["MANIFEST_SUFFIX", "PARTIAL_SUFFIX", "UNIT_ID_KEY", "UNIT_KEY", "check_complete", "commit_unit",
           "expand_records", "manifest_path", "read_manifest", "unit_id"]

MANIFEST_SUFFIX = ".import.json"
PARTIAL_SUFFIX = ".partial"
MANIFEST_FORMAT = 1
UNIT_KEY = "harness.unit"
UNIT_ID_KEY = "harness.unit_id"


def manifest_path(out_dir: Path, stem: str) -> Path:
    """Where the manifest of unit ``stem`` lives in ``out_dir``."""
    return out_dir / f"{stem}{MANIFEST_SUFFIX}"


def unit_id(source_sha256: str, importer: str, options: Mapping[str, Any]) -> str:
    """A deterministic id for one import: same source bytes, importer and options, same id."""
    text = json.dumps({"source_sha256": source_sha256, "importer": importer, "options": dict(options),
                       "schema_version": SCHEMA_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit_unit(out_dir: Path, stem: str, staged: Mapping[str, Path], manifest: dict[str, Any]) -> dict[str, Path]:
    """Move the complete temporary files ``staged`` (kind -> path) into place as unit ``stem``.

    ``manifest`` is the unit's record without ``files``; this adds each file's name, rows and
    sha256 and writes it last. Returns the final path per kind.
    """
    files: dict[str, dict[str, Any]] = {}
    for kind, tmp in staged.items():
        final = out_dir / f"{stem}.{kind}.parquet"
        files[kind] = {"file": final.name, "rows": pq.ParquetFile(tmp).metadata.num_rows,
                       "sha256": file_sha256(tmp)}
    record = {**manifest, "files": files}
    text = json.dumps(record, indent=1, sort_keys=True) + "\n"
    target = manifest_path(out_dir, stem)
    target.unlink(missing_ok=True)  # 1. from here on the unit is incomplete
    _fsync_dir(out_dir)
    for kind in KINDS:  # 2. files of the old unit that the new one does not have
        if kind not in staged:
            (out_dir / f"{stem}.{kind}.parquet").unlink(missing_ok=True)
    outputs: dict[str, Path] = {}
    for kind, tmp in staged.items():  # 3.
        outputs[kind] = out_dir / files[kind]["file"]
        os.replace(tmp, outputs[kind])
    partial = target.with_name(target.name + ".partial")  # 4. complete again
    partial.write_text(text, encoding="utf-8")
    fsync_file(partial)
    os.replace(partial, target)
    _fsync_dir(out_dir)
    return outputs


def read_manifest(path: Path) -> dict[str, Any]:
    """A unit's manifest as a dict; ``IncompleteImportError`` naming it when unreadable."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IncompleteImportError([f"{path}: unreadable completion record: {exc}"]) from exc
    if not isinstance(record, dict) or not isinstance(record.get("files"), dict) or "unit_id" not in record:
        raise IncompleteImportError([f"{path}: not a completion record of `harness data import`"])
    return record


def expand_records(files: Sequence[Path]) -> list[Path]:
    """``files`` with each completion record replaced by its unit's data files (by name), once each.

    So ``harness data verify out/*`` or ``--data out/foo.import.json`` work as a user expects.
    An unfinished ``.partial`` file is refused with a message saying what it is.
    """
    expanded: list[Path] = []
    for given in files:
        path = Path(given)
        if path.name.endswith(PARTIAL_SUFFIX):
            raise IncompleteImportError([f"{path} is an unfinished file of an interrupted import, not data "
                                         "(leave it out; the next import of its source replaces it)"])
        if path.name.endswith(MANIFEST_SUFFIX) and path.is_file():
            record = read_manifest(path)
            expanded.extend(sorted(path.parent / entry["file"] for entry in record["files"].values()))
        else:
            expanded.append(path)
    seen: set[Path] = set()
    unique = []
    for path in expanded:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append(path)
    return unique


def _file_meta(path: Path) -> tuple[dict[bytes, bytes], int]:
    try:
        meta = pq.ParquetFile(path).metadata
    except (OSError, pa.ArrowException) as exc:
        raise CanonicalFileError(f"{path}: not a readable Parquet file: {exc}") from exc
    return dict(meta.schema.to_arrow_schema().metadata or {}), meta.num_rows


def _unit_problems(directory: Path, stem: str, given: Sequence[Path], *, thorough: bool) -> list[str]:
    """What is wrong with unit ``stem`` of ``directory`` (empty when it is complete)."""
    where = directory / f"{stem}.*"
    record_path = manifest_path(directory, stem)
    if not record_path.is_file():
        present = ", ".join(sorted(p.name for p in given))
        return [f"unit {stem!r} ({where}): {present} without its completion record {record_path.name} "
                "(the import was interrupted or failed)"]
    try:
        record = read_manifest(record_path)
    except IncompleteImportError as exc:
        return exc.problems
    problems: list[str] = []
    listed = {entry["file"] for entry in record["files"].values()}
    for path in given:
        if path.name not in listed:
            problems.append(f"unit {stem!r}: {path} is not one of the files its record {record_path.name} lists")
    for entry in record["files"].values():
        path = directory / entry["file"]
        if not path.is_file():
            problems.append(f"unit {stem!r}: {path.name}, listed in {record_path.name}, is missing")
            continue
        meta, rows = _file_meta(path)
        if meta.get(UNIT_ID_KEY.encode(), b"").decode() != record["unit_id"]:
            problems.append(f"unit {stem!r}: {path.name} comes from another import than {record_path.name}")
        elif rows != entry["rows"]:
            problems.append(f"unit {stem!r}: {path.name} has {rows} rows, its record says {entry['rows']}")
        elif thorough and file_sha256(path) != entry["sha256"]:
            problems.append(f"unit {stem!r}: {path.name} differs from the file its record describes (sha256)")
    return problems


def check_complete(files: Sequence[Path], directories: Sequence[Path] = (), *, thorough: bool = False) -> None:
    """Refuse (``IncompleteImportError``, naming each unit) any incomplete unit among ``files``.

    Also checks every unit that has a manifest in one of ``directories``. With ``thorough``,
    each listed file's sha256 must match its record too (reads every byte; verify uses it).
    """
    units: dict[tuple[Path, str], tuple[Path, list[Path]]] = {}  # (resolved dir, stem) -> (dir, files)
    problems: list[str] = []
    for given in files:
        path = Path(given)
        meta, _rows = _file_meta(path)
        stem = meta.get(UNIT_KEY.encode())
        if stem is not None:
            key = (path.parent.resolve(), stem.decode())
            units.setdefault(key, (path.parent, []))[1].append(path)
        elif b"harness.importer" in meta:
            problems.append(f"{path}: imported by an earlier version of harness without a completion record")
    for directory in directories:
        for record in sorted(Path(directory).glob(f"*{MANIFEST_SUFFIX}")):
            key = (record.parent.resolve(), record.name[: -len(MANIFEST_SUFFIX)])
            units.setdefault(key, (record.parent, []))
    for (_resolved, name), (directory, members) in units.items():
        problems.extend(_unit_problems(directory, name, members, thorough=thorough))
    if problems:
        raise IncompleteImportError(problems)

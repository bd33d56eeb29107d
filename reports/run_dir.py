"""A run directory that is complete, or clearly marked failed or incomplete: never half of two runs.

A run is written in a work directory beside its final place and moved there in one rename once
everything is on disk, the manifest last::

    runs/<run_id>.partial/   while the run is going (manifest status "running"); a kill leaves it
    runs/<run_id>/           a complete run (manifest status "complete")
    runs/<run_id>.failed/    a run that raised (manifest status "failed", with the error)

``manifest.json`` carries ``status``; readers (the summary, reports, the dashboard) trust a run
directory only when it says ``complete``. A rerun of the same id starts a fresh work directory
(a leftover one of a killed attempt is discarded), and replaces the earlier complete run only
once it is complete itself: a rerun that fails or is killed leaves the earlier run untouched.
The replacement is two renames (old aside, new in) and a delete; a kill between the renames is
repaired by the next ``begin`` (the earlier run is put back).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

__all__ = ["COMPLETE", "FAILED", "RUNNING", "RunDirectory", "read_status", "write_json_atomically"]

RUNNING: Final = "running"
COMPLETE: Final = "complete"
FAILED: Final = "failed"


def write_json_atomically(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as sorted, indented JSON to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(dict(data), indent=2, sort_keys=True, default=str) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_status(run_dir: Path) -> str:
    """``complete``, ``failed``, ``running`` or ``incomplete`` (no readable manifest) for a run directory."""
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "incomplete"
    status = manifest.get("status") if isinstance(manifest, dict) else None
    return status if status in (RUNNING, COMPLETE, FAILED) else "incomplete"


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (best effort where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class RunDirectory:
    """The work, final and failed locations of one run id under ``out_dir``."""

    def __init__(self, out_dir: Path, run_id: str) -> None:
        self.out_dir = Path(out_dir)
        self.run_id = run_id
        self.final = self.out_dir / run_id
        self.work = self.out_dir / f"{run_id}.partial"
        self.failed = self.out_dir / f"{run_id}.failed"
        self._aside = self.out_dir / f"{run_id}.replaced"

    def begin(self, manifest: Mapping[str, Any]) -> Path:
        """Start a fresh work directory (status ``running``) and return it."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._repair()
        if self.work.exists():
            shutil.rmtree(self.work)  # a killed attempt at this very run: nothing in it is kept
        self.work.mkdir()
        write_json_atomically(self.work / "manifest.json", {**manifest, "status": RUNNING})
        return self.work

    def publish(self, manifest: Mapping[str, Any]) -> Path:
        """Write the manifest (status ``complete``) last and move the work directory into place."""
        write_json_atomically(self.work / "manifest.json", {**manifest, "status": COMPLETE})
        _fsync_dir(self.work)
        if self.final.exists():
            os.replace(self.final, self._aside)
        os.replace(self.work, self.final)
        _fsync_dir(self.out_dir)
        if self._aside.exists():
            shutil.rmtree(self._aside)
        if self.failed.exists():
            shutil.rmtree(self.failed)  # this run now succeeded: an older failure of it is moot
        return self.final

    def fail(self, manifest: Mapping[str, Any], error: str) -> Path:
        """Mark the work directory ``failed`` with ``error`` and move it to ``<run_id>.failed``."""
        write_json_atomically(self.work / "manifest.json", {**manifest, "status": FAILED, "error": error})
        if self.failed.exists():
            shutil.rmtree(self.failed)
        os.replace(self.work, self.failed)
        _fsync_dir(self.out_dir)
        return self.failed

    def _repair(self) -> None:
        """Undo a replacement a kill interrupted: the earlier complete run goes back in place."""
        if self._aside.exists():
            if self.final.exists():
                shutil.rmtree(self._aside)
            else:
                os.replace(self._aside, self.final)

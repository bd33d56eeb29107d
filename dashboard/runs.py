"""Which runs and sweeps a runs folder holds: read from the folder alone, no Streamlit here.

A runs folder holds run directories (``<run_id>``, ``<run_id>.failed``, ``<run_id>.partial``:
``reports.run_dir``) and sweep folders (a ``sweep.json`` beside the run directories of the
sweep: ``scenarios.sweep``). A run is named by its path relative to the runs folder
(``<run_id>`` or ``<sweep_id>/<run_id>``), which is what the pages put in their URLs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reports.run_dir import read_status

__all__ = ["RunEntry", "SweepEntry", "find_runs", "find_sweeps", "resolve_run"]

SWEEP_MANIFEST = "sweep.json"


@dataclass(frozen=True)
class RunEntry:
    """One run directory as the run list shows it (before any table is read)."""

    key: str
    path: Path
    status: str
    sweep: str
    strategy: str
    scenario: str
    seed: str
    params: str


@dataclass
class SweepEntry:
    """One sweep folder: its manifest and its runs' keys."""

    key: str
    path: Path
    manifest: dict[str, Any]
    runs: list[str] = field(default_factory=list)


def _is_run(path: Path) -> bool:
    return path.is_dir() and (path / "manifest.json").is_file()


def _entry(root: Path, path: Path, sweep: str) -> RunEntry:
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    config = manifest.get("config", {}) if isinstance(manifest, dict) else {}
    status = read_status(path)
    if status == "running" and path.name.endswith(".partial"):
        status = "incomplete"  # a work directory: running now, or left by a kill; either way not done
    scenario = manifest.get("scenario") or config.get("scenario") or "replay"
    if isinstance(scenario, dict):
        scenario = scenario.get("name", "scenario")
    params = ", ".join(f"{k}={v}" for k, v in sorted((config.get("params") or {}).items()))
    return RunEntry(path.relative_to(root).as_posix(), path, status, sweep, str(config.get("strategy", "")),
                    str(scenario), str(config.get("seed", "")), params)


def find_sweeps(root: Path) -> list[SweepEntry]:
    """The sweep folders directly under ``root``, by name."""
    sweeps: list[SweepEntry] = []
    if not root.is_dir():
        return sweeps
    for path in sorted(p for p in root.iterdir() if (p / SWEEP_MANIFEST).is_file()):
        try:
            manifest = json.loads((path / SWEEP_MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = {"error": "unreadable sweep.json"}
        runs = [p.relative_to(root).as_posix() for p in sorted(path.iterdir()) if _is_run(p)]
        sweeps.append(SweepEntry(path.name, path, manifest, runs))
    return sweeps


def find_runs(root: Path) -> list[RunEntry]:
    """Every run directory under ``root`` (directly, or one level down in a sweep folder), by key."""
    if not root.is_dir():
        return []
    entries = [_entry(root, p, "") for p in sorted(root.iterdir()) if _is_run(p)]
    for sweep in find_sweeps(root):
        entries += [_entry(root, root / key, sweep.key) for key in sweep.runs]
    return sorted(entries, key=lambda e: e.key)


def resolve_run(root: Path, key: str) -> Path | None:
    """The run directory named ``key`` under ``root``, or None (also for a key leaving the folder)."""
    if not key:
        return None
    path = (root / key).resolve()
    if root.resolve() not in path.parents or not _is_run(path):
        return None
    return path

"""Which code produced a result: package version, git commit, dirty flag and a hash of the sources.

A run's id and manifest record this so that two runs with the same id were made by the same
code: the git commit says which revision, the dirty flag whether the checkout had uncommitted
changes, and ``source_sha256`` (every ``.py`` and ``.toml`` file of the project's packages,
by relative path) pins the exact sources even when the checkout is dirty or not a git
checkout at all (an installed wheel).
"""

from __future__ import annotations

import hashlib
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

__all__ = ["PACKAGES", "CodeVersion", "code_version", "package_version", "source_sha256"]

PACKAGES = ("harness", "sim", "live", "scenarios", "reports", "dashboard", "strategies")
"""The project's top-level packages, whose sources ``source_sha256`` covers."""

_ROOT = Path(__file__).resolve().parent.parent

CodeVersion = dict[str, str | bool]


def package_version() -> str:
    """The installed distribution's version (``0.1.0``), or ``unknown`` when not installed."""
    try:
        return metadata.version("exec-harness")
    except metadata.PackageNotFoundError:
        return "unknown"


def source_sha256(root: Path = _ROOT) -> str:
    """Hex sha256 over the project's ``.py`` and ``.toml`` sources under ``root``, by relative path."""
    digest = hashlib.sha256()
    for package in PACKAGES:
        base = root / package
        if not base.is_dir():
            continue
        for path in sorted(p for p in base.rglob("*") if p.suffix in (".py", ".toml") and p.is_file()):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def _git(root: Path, *args: str) -> str | None:
    """Output of a git command in ``root``, or None when git or the checkout is not there."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@cache
def code_version(root: Path = _ROOT) -> CodeVersion:
    """Package version, git commit (empty outside a checkout), dirty flag and source hash.

    Computed once per process: the sources of a running process do not change under it.
    """
    commit = _git(root, "rev-parse", "HEAD") or ""
    status = _git(root, "status", "--porcelain", "--untracked-files=no") if commit else None
    return {"package": package_version(), "git_commit": commit, "dirty": bool(status),
            "source_sha256": source_sha256(root)}

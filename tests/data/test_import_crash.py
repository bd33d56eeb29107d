"""Crash test: real ``harness data import`` processes killed with SIGKILL at seeded random moments.

Two sources (two units) are imported into one directory by one command. Each attempt starts a
real process over whatever the previous attempts left (an empty directory, complete units,
incomplete ones, ``.partial`` leftovers) and kills it at a seeded random moment: half of the
moments are spread from the first file the import writes to its exit (measured in this test on
uninterrupted runs), half are a seeded 0-0.5 ms after a seeded one of the units' files changes
(a ``.partial`` being written, a final file moved into place, a record removed or written),
which is how the 1-2 ms of the moves get hit at all. After every kill the directory must hold,
per unit, either exactly the bytes of an uninterrupted import, or files that replay's data
loading and verify refuse naming the unit; every third attempt is followed by a rerun that
must give the uninterrupted import's bytes.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from slices import ROOT, sample_lines, tree_bytes, write_slice

from harness.data.errors import IncompleteImportError
from harness.data.importing import import_files
from harness.data.units import MANIFEST_SUFFIX
from harness.data.verify import verify_paths
from scenarios.replay_cli import data_files

KILLS = 22
SEED = 20240809
STEMS = ("a", "b")


def _command(sources: list[Path], out: Path) -> list[str]:
    return [sys.executable, "-m", "harness.cli", "data", "import", *map(str, sources), "-o", str(out)]


def _spawn(sources: list[Path], out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(_command(sources, out), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _measure(sources: list[Path], out: Path) -> tuple[float, float]:
    """(seconds until the first file appears in ``out``, seconds until the process exits)."""
    start = time.monotonic()
    process = _spawn(sources, out)
    first: float | None = None
    while process.poll() is None:
        if first is None and out.is_dir() and any(out.iterdir()):
            first = time.monotonic() - start
        time.sleep(0.002)
    end = time.monotonic() - start
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    return (first if first is not None else end / 2), end


def _kill_after(process: subprocess.Popen[bytes], delay: float) -> None:
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)


def _state(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


def _kill_when_changed(process: subprocess.Popen[bytes], path: Path, before: tuple[int, int, int] | None,
                       extra: float) -> None:
    """SIGKILL ``extra`` seconds after ``path`` changes from ``before`` (appears, goes, is replaced or
    written), or at once if the process ends first."""
    while process.poll() is None and _state(path) == before:
        time.sleep(0.0001)
    time.sleep(extra)
    process.send_signal(signal.SIGKILL)


def _unit_files(files: dict[str, bytes], stem: str) -> dict[str, bytes]:
    return {name: data for name, data in files.items()
            if name.startswith(f"{stem}.") and not name.endswith(".partial")}


def _check_after_kill(out: Path, reference: dict[str, bytes]) -> set[str]:
    """Assert the directory's state; return the stems of the units left incomplete."""
    present = tree_bytes(out) if out.is_dir() else {}
    known = set(reference) | {name + ".partial" for name in reference}
    assert set(present) <= known, f"unexpected files: {set(present) - known}"
    incomplete: set[str] = set()
    for stem in STEMS:
        files = _unit_files(present, stem)
        if files == _unit_files(reference, stem):
            continue  # complete, byte for byte what an uninterrupted import writes
        assert f"{stem}{MANIFEST_SUFFIX}" not in files, f"unit {stem} has a record but differs: {sorted(files)}"
        if files:
            incomplete.add(stem)
    if incomplete:
        with pytest.raises(IncompleteImportError) as refused:
            data_files([out])
        for stem in incomplete:
            assert f"unit {stem!r}" in str(refused.value)
        with pytest.raises(IncompleteImportError):
            verify_paths([out])
    elif any(name.endswith(".parquet") for name in present):
        data_files([out])  # only complete units: accepted
    return incomplete


def test_killed_imports_leave_complete_or_refused_units_and_a_rerun_restores_them(tmp_path: Path) -> None:
    lines = sample_lines(1600)
    sources = [write_slice(tmp_path / "src" / f"{stem}.jsonl.gz", part)
               for stem, part in zip(STEMS, (lines[:800], lines[800:]), strict=True)]
    import_files(sources, tmp_path / "reference")
    reference = tree_bytes(tmp_path / "reference")
    assert len(reference) == 8  # 3 kinds + a record, per unit

    runs = [_measure(sources, tmp_path / f"measure{i}") for i in range(2)]
    assert tree_bytes(tmp_path / "measure0") == reference  # the CLI writes what the library writes
    first_write = min(run[0] for run in runs)
    end = max(run[1] for run in runs)
    triggers = sorted(reference) + sorted(f"{stem}.{kind}.parquet.partial" for stem in STEMS
                                          for kind in ("book", "quotes", "trades"))

    rng = random.Random(SEED)
    out = tmp_path / "out"
    interrupted = incomplete_seen = 0
    for attempt in range(KILLS):
        if attempt % 2:
            trigger = out / rng.choice(triggers)
            before = _state(trigger)
            process = _spawn(sources, out)
            _kill_when_changed(process, trigger, before, rng.uniform(0, 0.0005))
        else:
            process = _spawn(sources, out)
            _kill_after(process, rng.uniform(first_write * 0.9, end))
        process.wait()
        interrupted += process.returncode == -signal.SIGKILL
        incomplete_seen += bool(_check_after_kill(out, reference))
        if attempt % 3 == 2:
            import_files(sources, out)  # the rerun
            assert tree_bytes(out) == reference, f"attempt {attempt}: the rerun differs"
            if attempt % 6 == 5:
                shutil.rmtree(out)  # the next attempts start from an empty directory again
    import_files(sources, out)
    assert tree_bytes(out) == reference
    print(f"{KILLS} kills, import measured at {first_write:.2f}-{end:.2f} s: {interrupted} interrupted it, "
          f"{incomplete_seen} left a unit incomplete")
    assert interrupted >= KILLS // 4  # the kill moments fall while the import runs (load permitting)
    assert incomplete_seen >= 1  # and some of them in the moves, where a unit is incomplete

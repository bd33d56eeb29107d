"""Small raw inputs cut from the shipped sample recording (tests only; no ../shared needed).

``sample_lines`` reads the first lines of the shipped hftbacktest Binance spot recording
(``scenarios/sample_data``); ``write_slice`` writes lines back as a gzip (or plain) file, so a
test can corrupt one line and import the result. ``run_cli`` runs ``python3 -m harness.cli`` in
a separate process from this worktree, the way a user would.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

from scenarios.demo import sample_paths

ROOT = Path(__file__).resolve().parents[2]


def sample_lines(count: int, *, day: int = 0) -> list[str]:
    """The first ``count`` lines (with their newlines) of one shipped sample file."""
    lines: list[str] = []
    with gzip.open(sample_paths()[day], "rt", encoding="utf-8", newline="") as handle:
        for line in handle:
            lines.append(line)
            if len(lines) >= count:
                break
    return lines


def write_slice(path: Path, lines: list[str]) -> Path:
    """Write ``lines`` to ``path`` (gzip when the name ends in ``.gz``); return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(lines).encode()
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(data, mtime=0))
    else:
        path.write_bytes(data)
    return path


def trade_line_numbers(lines: list[str]) -> list[int]:
    """1-based numbers of the lines holding a ``trade`` event."""
    return [i for i, line in enumerate(lines, 1) if '"e":"trade"' in line]


def edit_trade(line: str, **fields: object) -> str:
    """The line with some fields of its trade event replaced (e.g. ``q="-0.1"``, ``T=...``)."""
    stamp, text = line.split(" ", 1)
    message = json.loads(text)
    message["data"].update(fields)
    return f"{stamp} {json.dumps(message, separators=(',', ':'))}\n"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python3 -m harness.cli ARGS`` in a new process, importing this worktree's packages."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def tree_bytes(directory: Path) -> dict[str, bytes]:
    """``{name: content}`` of every file directly in ``directory``."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}

"""The raw FIX message log (Property 15): every message in or out, with its timestamp.

Each entry is ``(ts_ns, direction, text)`` where ``text`` is the raw message with SOH shown as
``|``. Credentials carried in FIX fields (Username 553 = the API key at Binance, Password 554,
NewPassword 925, RawData 96 = the logon signature, Coinbase's access key 9407) are masked in the
log; everything else is kept byte for byte. Garbled frames are logged too (direction ``IN!``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from live.fix.framing import to_text

__all__ = ["SECRET_TAGS", "FileFixLog", "FixLogEntry", "FixLogSink", "MemoryFixLog", "format_entry", "mask_secrets"]

SECRET_TAGS = frozenset({96, 553, 554, 925, 9407})
"""Tags whose values never reach the log."""

_FIELD = re.compile(rb"(?:(?<=\x01)|^)(\d+)=([^\x01]*)")


def mask_secrets(raw: bytes, tags: frozenset[int] = SECRET_TAGS) -> bytes:
    """``raw`` with the values of ``tags`` replaced by ``***``."""
    def repl(match: re.Match[bytes]) -> bytes:
        """One field, its value masked when its tag is secret."""
        return match.group(1) + b"=***" if int(match.group(1)) in tags else match.group(0)

    return _FIELD.sub(repl, raw)


@dataclass(frozen=True, slots=True)
class FixLogEntry:
    """One logged message: when (ns since the epoch), ``IN``/``OUT``/``IN!`` (garbled), and the text."""

    ts_ns: int
    direction: str
    text: str


class FixLogSink(Protocol):
    """Receives every raw FIX message of a session."""

    def log(self, ts_ns: int, direction: str, raw: bytes) -> None:
        """Record one message; must not raise."""


def format_entry(entry: FixLogEntry) -> str:
    """One log line: ISO UTC time with ns, direction, message (``|`` for SOH)."""
    seconds, ns = divmod(entry.ts_ns, 1_000_000_000)
    stamp = dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ns:09d}Z {entry.direction} {entry.text}"


class MemoryFixLog:
    """Keeps entries in a list (tests, short sessions)."""

    def __init__(self) -> None:
        self.entries: list[FixLogEntry] = []

    def log(self, ts_ns: int, direction: str, raw: bytes) -> None:
        """Append one masked entry."""
        self.entries.append(FixLogEntry(ts_ns, direction, to_text(mask_secrets(raw))))


class FileFixLog:
    """Appends one line per message to a text file (flushed per line: a crash keeps the log)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file = self.path.open("a", encoding="utf-8")

    def log(self, ts_ns: int, direction: str, raw: bytes) -> None:
        """Append one masked line."""
        self._file.write(format_entry(FixLogEntry(ts_ns, direction, to_text(mask_secrets(raw)))) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()

"""Persisted FIX sequence numbers and sent application messages, so a restart resumes the session.

A FIX session that does not reset on logon must continue where it stopped: the next sequence
number to send, the next one expected, and every application message sent (to answer a
ResendRequest). ``SqliteSequenceStore`` keeps them in one SQLite file (WAL, a commit per change,
so a crash loses nothing that was sent); ``MemorySequenceStore`` is the same contract in memory.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Protocol

__all__ = ["MemorySequenceStore", "SequenceStore", "SqliteSequenceStore"]


class SequenceStore(Protocol):
    """Where one session keeps its sequence numbers and sent application messages."""

    def load(self) -> tuple[int, int]:
        """``(next_sender_seq, next_target_seq)``; ``(1, 1)`` for a new session."""

    def save(self, next_sender_seq: int, next_target_seq: int) -> None:
        """Persist both numbers."""

    def store_message(self, seq: int, raw: bytes) -> None:
        """Keep a sent application message for resending."""

    def messages(self, begin: int, end: int) -> dict[int, bytes]:
        """The stored messages with ``begin <= seq <= end``."""

    def reset(self) -> None:
        """Back to ``(1, 1)`` with no stored messages (a sequence reset at logon)."""


class MemorySequenceStore:
    """A ``SequenceStore`` in memory (tests, sessions that reset on every logon)."""

    def __init__(self) -> None:
        self._seqs = (1, 1)
        self._messages: dict[int, bytes] = {}

    def load(self) -> tuple[int, int]:
        """The numbers last saved."""
        return self._seqs

    def save(self, next_sender_seq: int, next_target_seq: int) -> None:
        """Remember both numbers."""
        self._seqs = (next_sender_seq, next_target_seq)

    def store_message(self, seq: int, raw: bytes) -> None:
        """Remember a sent message."""
        self._messages[seq] = raw

    def messages(self, begin: int, end: int) -> dict[int, bytes]:
        """Stored messages in ``[begin, end]``."""
        return {seq: raw for seq, raw in self._messages.items() if begin <= seq <= end}

    def reset(self) -> None:
        """Forget everything."""
        self._seqs = (1, 1)
        self._messages.clear()


class SqliteSequenceStore:
    """A ``SequenceStore`` in a SQLite file, one row per session id (several sessions may share a file)."""

    def __init__(self, path: str | Path, session_id: str) -> None:
        self._session = session_id
        self._db = sqlite3.connect(str(path))
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS fix_seqnums (session TEXT PRIMARY KEY, "
                         "next_sender INTEGER NOT NULL, next_target INTEGER NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS fix_messages (session TEXT NOT NULL, seq INTEGER NOT NULL, "
                         "raw BLOB NOT NULL, PRIMARY KEY (session, seq))")
        self._db.execute("INSERT OR IGNORE INTO fix_seqnums VALUES (?, 1, 1)", (session_id,))
        self._db.commit()

    def load(self) -> tuple[int, int]:
        """The numbers last saved for this session."""
        row = self._db.execute("SELECT next_sender, next_target FROM fix_seqnums WHERE session = ?",
                               (self._session,)).fetchone()
        return int(row[0]), int(row[1])

    def save(self, next_sender_seq: int, next_target_seq: int) -> None:
        """Persist both numbers (committed at once)."""
        self._db.execute("UPDATE fix_seqnums SET next_sender = ?, next_target = ? WHERE session = ?",
                         (next_sender_seq, next_target_seq, self._session))
        self._db.commit()

    def store_message(self, seq: int, raw: bytes) -> None:
        """Persist a sent message (committed at once)."""
        self._db.execute("INSERT OR REPLACE INTO fix_messages VALUES (?, ?, ?)", (self._session, seq, raw))
        self._db.commit()

    def messages(self, begin: int, end: int) -> dict[int, bytes]:
        """Stored messages of this session in ``[begin, end]``."""
        rows = self._db.execute("SELECT seq, raw FROM fix_messages WHERE session = ? AND seq BETWEEN ? AND ?",
                                (self._session, begin, end)).fetchall()
        return {int(seq): bytes(raw) for seq, raw in rows}

    def reset(self) -> None:
        """Back to (1, 1), stored messages deleted."""
        self._db.execute("DELETE FROM fix_messages WHERE session = ?", (self._session,))
        self._db.execute("UPDATE fix_seqnums SET next_sender = 1, next_target = 1 WHERE session = ?",
                         (self._session,))
        self._db.commit()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

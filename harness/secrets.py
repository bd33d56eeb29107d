"""Secret values known to this process, so that every text leaving it can be masked by value.

Masking by field name (``apiKey=...``) misses a venue that echoes a key inside free text
(``"Invalid API-key vmPUZE6m..."``), a key in a URL, or one that a stack trace prints. So every
credential that enters the process is registered here (``harness.registry.Credentials`` does it
on creation), and ``harness.errors.scrub`` replaces every registered value wherever it
appears, in exceptions, logs, alerts, audit records and the journal.

Values shorter than ``MIN_SECRET_LENGTH`` or with fewer than ``MIN_DISTINCT_CHARACTERS`` different
characters (``00000000``) are not registered: masking them would mangle ordinary text (every
price with eight zeros), and no venue issues keys like that. The registry only grows (a key that was once in the
process may still sit in a message or a record); ``version`` changes with every registration so
caches of masked text can tell they are stale.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

__all__ = ["MASK", "MIN_DISTINCT_CHARACTERS", "MIN_SECRET_LENGTH", "SecretFilter", "mask_secrets",
           "register_secret", "register_secrets", "restore", "safe_logger", "snapshot", "version"]

MASK = "***"
"""What a secret is replaced with."""

MIN_SECRET_LENGTH = 8
"""Shortest value registered as a secret."""

MIN_DISTINCT_CHARACTERS = 5
"""Fewest different characters a value registered as a secret must have."""



class _Registry:
    """The process's registered secrets, longest first (a secret containing another is masked whole)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.secrets: tuple[str, ...] = ()
        self.version = 0

    def add(self, values: Iterable[str | None]) -> None:
        fresh = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH
                 and len(set(v)) >= MIN_DISTINCT_CHARACTERS}
        with self.lock:
            if fresh - set(self.secrets):
                self.secrets = tuple(sorted(set(self.secrets) | fresh, key=lambda s: (-len(s), s)))
                self.version += 1


_REGISTRY = _Registry()


def register_secret(value: str | None) -> None:
    """Mask ``value`` in every text ``mask_secrets`` sees from now on (ignored if too short)."""
    _REGISTRY.add((value,))


def register_secrets(values: Iterable[str | None]) -> None:
    """Register several secret values at once."""
    _REGISTRY.add(values)


def snapshot() -> tuple[str, ...]:
    """The registered secrets now (tests restore it afterwards: the registry is process-wide)."""
    return _REGISTRY.secrets


def restore(saved: tuple[str, ...]) -> None:
    """Put back the registry a ``snapshot`` took (tests only: a process never forgets a secret)."""
    with _REGISTRY.lock:
        if _REGISTRY.secrets != saved:
            _REGISTRY.secrets = saved
            _REGISTRY.version += 1


def version() -> int:
    """A number that changes whenever a secret is registered."""
    return _REGISTRY.version


def mask_secrets(text: str) -> str:
    """``text`` with every registered secret value replaced by ``MASK``."""
    for secret in _REGISTRY.secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class SecretFilter(logging.Filter):
    """A logging filter that masks registered secrets in each record's formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message by its masked text (always lets the record through)."""
        if _REGISTRY.secrets:
            record.msg = mask_secrets(record.getMessage())
            record.args = None
        return True


_FILTER = SecretFilter()


def safe_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` with ``SecretFilter`` attached: what every module of ours logs through."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger

"""Audit records: one per venue request, with request, response, latency and outcome.

Every call the execution layer makes to a venue (submit, cancel, modify, queries) produces an
``AuditRecord``; the journal stores them and run directories export them. Order submissions
are audited twice: an intent before the request leaves and the outcome when it returns, so a
crash in between leaves evidence. Payloads pass through ``redact`` first: secrets (API keys,
signatures, passphrases, tokens) never reach a record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from harness.secrets import MASK, mask_secrets

__all__ = ["SECRET_FIELD_MARKERS", "AuditRecord", "AuditSink", "MemoryAuditSink", "redact"]

SECRET_FIELD_MARKERS = ("key", "secret", "signature", "passphrase", "password", "token", "sign")
"""A payload field whose lower-cased name contains one of these is replaced by ``"***"``."""


_SECRET_NAMES: dict[str, bool] = {}  # field name -> secret-looking (names repeat on every request)


def _is_secret(name: str) -> bool:
    known = _SECRET_NAMES.get(name)
    if known is None:
        lowered = name.lower()
        known = any(marker in lowered for marker in SECRET_FIELD_MARKERS)
        if len(_SECRET_NAMES) < 4096:  # field names come from code; never let odd payloads grow it
            _SECRET_NAMES[name] = known
    return known


def redact(payload: Mapping[str, object]) -> dict[str, str]:
    """A copy of ``payload`` as strings with every secret masked.

    A secret-looking field is replaced by ``"***"``; a nested mapping (headers, a request body)
    is redacted the same way and written as sorted JSON; every other value has the registered
    secret values (``harness.secrets``) masked wherever they appear in its text.
    """
    return {name: MASK if _is_secret(name) else _redacted_value(value) for name, value in payload.items()}


def _redacted_value(value: object) -> str:
    if isinstance(value, Mapping):
        return json.dumps(redact(value), sort_keys=True)
    return mask_secrets(str(value))


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One venue request and its outcome (``phase`` is ``"intent"`` before sending, ``"result"`` after).

    ``method`` is the request's contract name (``submit_order``, or a variant such as
    ``get_open_orders_all``), the same on every venue; ``endpoint`` is the venue's own label for
    it from the venue's descriptor (``"POST /api/v3/order"``), or the method when it has none.
    """

    ts_ns: int
    venue: str
    endpoint: str
    phase: str
    request: Mapping[str, str]
    response: Mapping[str, str] = field(default_factory=dict)
    latency_ns: int | None = None
    success: bool | None = None
    error_category: str = ""
    error: str = ""
    client_order_id: str = ""
    method: str = ""


class AuditSink(Protocol):
    """Where audit records go (the journal, a run recorder, a test list)."""

    def audit(self, record: AuditRecord) -> None:
        """Store one record; must not raise on well-formed input."""


class MemoryAuditSink:
    """Keeps audit records in a list (tests and short runs)."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def audit(self, record: AuditRecord) -> None:
        """Append ``record``."""
        self.records.append(record)

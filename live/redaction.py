"""Keep a transport's own secrets out of every text it emits: audit records, logs, exceptions.

``harness.errors.scrub`` masks ``secret-looking-name=value`` pairs and ``harness.audit.redact``
masks secret-looking fields, but a venue may echo a credential in free text (``"Invalid API-key
vmPUZE6m..."``). A ``SecretRedactor`` knows the actual values (the API key, the secret or PEM
key, a passphrase) and replaces every occurrence of them as well, before anything is logged,
audited or raised.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from harness.audit import redact
from harness.errors import scrub

__all__ = ["MASK", "SecretRedactor"]

MASK = "***"
"""What a secret is replaced with."""


class SecretRedactor:
    """Masks known secret values (and secret-looking fields) in text and payloads."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str | None]) -> None:
        # longest first, so a secret that contains another is masked whole
        unique = {s for s in secrets if s}
        self._secrets = tuple(sorted(unique, key=len, reverse=True))

    def _mask(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def text(self, text: str) -> str:
        """``text`` with every known secret masked, then ``scrub``-bed (bounded, ``k=v`` secrets masked)."""
        return scrub(self._mask(text))

    def raw(self, text: str) -> str:
        """``text`` with every known secret masked but not truncated (FIX raw-message logs)."""
        return self._mask(text)

    def mapping(self, payload: Mapping[str, object]) -> dict[str, str]:
        """``harness.audit.redact(payload)`` with known secrets also masked inside the values."""
        return {name: self.text(value) for name, value in redact(payload).items()}

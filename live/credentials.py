"""Where live commands get venue credentials: the environment or a sealed file, never the command line.

* ``BINANCE_API_KEY`` / ``BINANCE_API_SECRET`` (``<VENUE>_API_KEY`` / ``<VENUE>_API_SECRET`` in
  general), or
* a file sealed with the registry's ``CredentialVault`` (AES-256-GCM, bound to the venue name),
  opened with the master key in ``HARNESS_VAULT_KEY`` (base64 of 32 bytes). ``seal_to_file``
  writes one.

Errors name the variable or file and never carry a credential's value.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from pathlib import Path

from harness.registry import CredentialError, Credentials, CredentialVault

__all__ = ["VAULT_KEY_VARIABLE", "credentials_for", "seal_to_file"]

VAULT_KEY_VARIABLE = "HARNESS_VAULT_KEY"


def _vault(environ: Mapping[str, str]) -> CredentialVault:
    text = environ.get(VAULT_KEY_VARIABLE)
    if not text:
        raise CredentialError(f"a sealed credentials file needs the master key in {VAULT_KEY_VARIABLE}")
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CredentialError(f"{VAULT_KEY_VARIABLE} is not base64") from None
    return CredentialVault(key)


def credentials_for(venue: str, *, sealed: Path | None = None,
                    environ: Mapping[str, str] | None = None) -> Credentials:
    """The credentials of ``venue`` from ``sealed`` (when given) or the environment."""
    env = os.environ if environ is None else environ
    if sealed is not None:
        try:
            blob = sealed.read_bytes()
        except OSError as exc:
            raise CredentialError(f"cannot read sealed credentials {sealed}: {exc.strerror}") from None
        return _vault(env).open(blob, context=venue)
    prefix = venue.upper().replace("-", "_")
    key, secret = env.get(f"{prefix}_API_KEY"), env.get(f"{prefix}_API_SECRET")
    if not key or not secret:
        raise CredentialError(f"set {prefix}_API_KEY and {prefix}_API_SECRET, or give a sealed credentials file")
    return Credentials(key, secret)


def seal_to_file(credentials: Credentials, venue: str, path: Path, *, environ: Mapping[str, str] | None = None) -> None:
    """Seal ``credentials`` for ``venue`` into ``path`` with the master key of ``HARNESS_VAULT_KEY``."""
    vault = _vault(os.environ if environ is None else environ)
    path.write_bytes(vault.seal(credentials, context=venue))

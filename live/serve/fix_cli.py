"""``harness venue serve --fix PORT``: the FIX credentials a local venue accepts, made for this run.

A Binance profile verifies Ed25519 logons: a key pair is generated, the venue keeps the public
key, and the private key's PEM is written (mode 0600) to a file whose path is printed, for the
client's ``Credentials(api_key, pem)``. A Coinbase profile verifies HMAC logons: an access key,
secret and passphrase are generated and printed once. Either is only good for this server (like
the REST key ``serve`` prints); nothing is read from or written to a real account.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from live.fix.dialects.base import FixKey
from live.fix.dialects.binance import ed25519_public_pem
from live.fix.dialects.registry import dialect_for

__all__ = ["fix_credentials"]


def fix_credentials(profile: str, key_dir: Path | None = None) -> tuple[dict[str, FixKey], list[str]]:
    """The venue's FIX keys for ``profile``'s dialect and the lines announcing them; ``ValueError``
    (naming the known dialects) for a profile with no FIX dialect."""
    dialect = dialect_for(profile)
    api_key = f"local-fix-{secrets.token_hex(8)}"
    if dialect.name == "binance":
        pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        folder = key_dir or Path(tempfile.mkdtemp(prefix="harness-fix-"))
        path = folder / f"{api_key}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        keys = {api_key: FixKey(ed25519_public_pem(pem.decode("ascii")))}
        return keys, [f"FIX API key {api_key}, Ed25519 private key in {path} (generated for this local venue only)"]
    secret, passphrase = secrets.token_hex(24), secrets.token_hex(8)
    return {api_key: FixKey(secret, passphrase)}, [
        f"FIX access key {api_key} secret {secret} passphrase {passphrase} (generated for this local venue only)"]

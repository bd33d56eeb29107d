"""The real world: transports (REST, WebSocket, FIX), signing, the Binance and Bybit adapters, paper trading,
recording, and ``serve`` (the simulator served over real protocols on 127.0.0.1). Only
``live.serve`` imports ``sim``.

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "DEFAULT_BACKOFF": "live.backoff",
    "VAULT_KEY_VARIABLE": "live.credentials",
    "credentials_for": "live.credentials",
    "seal_to_file": "live.credentials",
    "TransportKind": "live.guard",
    "check_transport_url": "live.guard",
    "UndoHandle": "live.handles",
    "LiveLog": "live.paper",
    "LiveRun": "live.paper",
    "run_live": "live.paper",
    "session_prefix": "live.paper",
    "paper_command": "live.paper_cli",
    "Recorder": "live.record",
    "import_recording": "live.record",
    "record_command": "live.record",
    "record_streams": "live.record",
    "MASK": "live.redaction",
    "SecretRedactor": "live.redaction",
    "ParamValue": "live.signing",
    "SOH": "live.signing",
    "Signer": "live.signing",
    "binance_fix_logon_payload": "live.signing",
    "binance_rest_payload": "live.signing",
    "binance_ws_payload": "live.signing",
    "bybit_v5_headers": "live.signing",
    "bybit_v5_signature": "live.signing",
    "bybit_ws_auth_signature": "live.signing",
    "ed25519_sign_b64": "live.signing",
    "ed25519_signer": "live.signing",
    "encode_params": "live.signing",
    "format_value": "live.signing",
    "hmac_sha256_hex": "live.signing",
    "hmac_signer": "live.signing",
    "load_ed25519_key": "live.signing",
    "sign_binance_ws_params": "live.signing",
    "binance": "live.binance",
    "bybit": "live.bybit",
    "coinbase": "live.coinbase",
    "fix": "live.fix",
    "rest": "live.rest",
    "serve": "live.serve",
    "ws": "live.ws",
}

__all__ = [
    "DEFAULT_BACKOFF",
    "MASK",
    "SOH",
    "VAULT_KEY_VARIABLE",
    "LiveLog",
    "LiveRun",
    "ParamValue",
    "Recorder",
    "SecretRedactor",
    "Signer",
    "TransportKind",
    "UndoHandle",
    "binance",
    "binance_fix_logon_payload",
    "binance_rest_payload",
    "binance_ws_payload",
    "bybit",
    "bybit_v5_headers",
    "bybit_v5_signature",
    "bybit_ws_auth_signature",
    "check_transport_url",
    "coinbase",
    "credentials_for",
    "ed25519_sign_b64",
    "ed25519_signer",
    "encode_params",
    "fix",
    "format_value",
    "hmac_sha256_hex",
    "hmac_signer",
    "import_recording",
    "load_ed25519_key",
    "paper_command",
    "record_command",
    "record_streams",
    "rest",
    "run_live",
    "seal_to_file",
    "serve",
    "session_prefix",
    "sign_binance_ws_params",
    "ws",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from live import binance, bybit, coinbase, fix, rest, serve, ws
    from live.backoff import DEFAULT_BACKOFF
    from live.credentials import VAULT_KEY_VARIABLE, credentials_for, seal_to_file
    from live.guard import TransportKind, check_transport_url
    from live.handles import UndoHandle
    from live.paper import LiveLog, LiveRun, run_live, session_prefix
    from live.paper_cli import paper_command
    from live.record import Recorder, import_recording, record_command, record_streams
    from live.redaction import MASK, SecretRedactor
    from live.signing import (
        SOH,
        ParamValue,
        Signer,
        binance_fix_logon_payload,
        binance_rest_payload,
        binance_ws_payload,
        bybit_v5_headers,
        bybit_v5_signature,
        bybit_ws_auth_signature,
        ed25519_sign_b64,
        ed25519_signer,
        encode_params,
        format_value,
        hmac_sha256_hex,
        hmac_signer,
        load_ed25519_key,
        sign_binance_ws_params,
    )

"""Venue dialects of FIX order entry: the logon each venue signs and the tags of its orders and reports.

* ``reports``: the dialect-neutral messages (``ExecutionReport``, ``CancelReject``, ``BusinessReject``,
  ``CancelRequest``, ``ReplaceRequest``);
* ``base``: ``FixDialect``, standard FIX 4.4 order entry written and read in one place;
* ``binance``: Binance Spot FIX 4.4 (Ed25519 logon, ``XCN``, its custom ExecutionReport tags);
* ``coinbase``: Coinbase FIX 4.2 (HMAC logon over the documented prehash, ``G``);
* ``registry``: a dialect by venue name.

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "FixDialect": "live.fix.dialects.base",
    "FixFieldError": "live.fix.dialects.base",
    "FixKey": "live.fix.dialects.base",
    "LogonRefused": "live.fix.dialects.base",
    "liquidity_flag": "live.fix.dialects.base",
    "BINANCE_FIX": "live.fix.dialects.binance",
    "BinanceFixDialect": "live.fix.dialects.binance",
    "ed25519_public_pem": "live.fix.dialects.binance",
    "COINBASE_FIX": "live.fix.dialects.coinbase",
    "CoinbaseFixDialect": "live.fix.dialects.coinbase",
    "coinbase_logon_signature": "live.fix.dialects.coinbase",
    "ord_rej_reason": "live.fix.dialects.coinbase",
    "dialect_for": "live.fix.dialects.registry",
    "BusinessReject": "live.fix.dialects.reports",
    "CancelReject": "live.fix.dialects.reports",
    "CancelRequest": "live.fix.dialects.reports",
    "ExecKind": "live.fix.dialects.reports",
    "ExecutionReport": "live.fix.dialects.reports",
    "ReplaceRequest": "live.fix.dialects.reports",
}

__all__ = [
    "BINANCE_FIX",
    "COINBASE_FIX",
    "BinanceFixDialect",
    "BusinessReject",
    "CancelReject",
    "CancelRequest",
    "CoinbaseFixDialect",
    "ExecKind",
    "ExecutionReport",
    "FixDialect",
    "FixFieldError",
    "FixKey",
    "LogonRefused",
    "ReplaceRequest",
    "coinbase_logon_signature",
    "dialect_for",
    "ed25519_public_pem",
    "liquidity_flag",
    "ord_rej_reason",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from live.fix.dialects.base import FixDialect, FixFieldError, FixKey, LogonRefused, liquidity_flag
    from live.fix.dialects.binance import BINANCE_FIX, BinanceFixDialect, ed25519_public_pem
    from live.fix.dialects.coinbase import COINBASE_FIX, CoinbaseFixDialect, coinbase_logon_signature, ord_rej_reason
    from live.fix.dialects.registry import dialect_for
    from live.fix.dialects.reports import (
        BusinessReject,
        CancelReject,
        CancelRequest,
        ExecKind,
        ExecutionReport,
        ReplaceRequest,
    )

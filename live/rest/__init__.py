"""The REST transport: a Binance protocol core without I/O, a client that orchestrates, an aiohttp driver.

* ``protocol``: ``RestRequest`` -> signed ``PreparedRequest``; ``RawResponse`` -> JSON or typed error;
  ``TimeSync`` (server-time offset).
* ``errors``: the one mapping of Binance HTTP statuses and venue codes to the contract's errors.
* ``client``: ``RestClient`` (audit, usage headers, -1021 re-sync) over any ``Sender``.
* ``aiohttp_driver``: ``AiohttpSender``, the real ``Sender``, with its timeouts.

Names are imported from their modules on first use (``harness.lazy_exports``).

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "AiohttpSender": "live.rest.aiohttp_driver",
    "RestTimeouts": "live.rest.aiohttp_driver",
    "RestClient": "live.rest.client",
    "RestProtocol": "live.rest.client",
    "Sender": "live.rest.client",
    "UsageCallback": "live.rest.client",
    "BINANCE_CODES": "live.rest.errors",
    "INVALID_TIMESTAMP": "live.rest.errors",
    "binance_error": "live.rest.errors",
    "error_body": "live.rest.errors",
    "parse_retry_after": "live.rest.errors",
    "BinanceRestProtocol": "live.rest.protocol",
    "PreparedRequest": "live.rest.protocol",
    "RawResponse": "live.rest.protocol",
    "RestRequest": "live.rest.protocol",
    "TimeSync": "live.rest.protocol",
    "USAGE_HEADER_PREFIXES": "live.rest.protocol",
    "usage_headers": "live.rest.protocol",
}

__all__ = [
    "BINANCE_CODES",
    "INVALID_TIMESTAMP",
    "USAGE_HEADER_PREFIXES",
    "AiohttpSender",
    "BinanceRestProtocol",
    "PreparedRequest",
    "RawResponse",
    "RestClient",
    "RestProtocol",
    "RestRequest",
    "RestTimeouts",
    "Sender",
    "TimeSync",
    "UsageCallback",
    "binance_error",
    "error_body",
    "parse_retry_after",
    "usage_headers",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from live.rest.aiohttp_driver import AiohttpSender, RestTimeouts
    from live.rest.client import RestClient, RestProtocol, Sender, UsageCallback
    from live.rest.errors import BINANCE_CODES, INVALID_TIMESTAMP, binance_error, error_body, parse_retry_after
    from live.rest.protocol import (
        USAGE_HEADER_PREFIXES,
        BinanceRestProtocol,
        PreparedRequest,
        RawResponse,
        RestRequest,
        TimeSync,
        usage_headers,
    )

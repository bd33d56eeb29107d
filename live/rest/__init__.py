"""The REST transport: a Binance protocol core without I/O, a client that orchestrates, an aiohttp driver.

* ``protocol``: ``RestRequest`` -> signed ``PreparedRequest``; ``RawResponse`` -> JSON or typed error;
  ``TimeSync`` (server-time offset).
* ``errors``: the one mapping of Binance HTTP statuses and venue codes to the contract's errors.
* ``client``: ``RestClient`` (audit, usage headers, -1021 re-sync) over any ``Sender``.
* ``aiohttp_driver``: ``AiohttpSender``, the real ``Sender``, with its timeouts.
"""

from live.rest.aiohttp_driver import AiohttpSender, RestTimeouts
from live.rest.client import RestClient, Sender, UsageCallback
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

__all__ = [
    "BINANCE_CODES",
    "INVALID_TIMESTAMP",
    "USAGE_HEADER_PREFIXES",
    "AiohttpSender",
    "BinanceRestProtocol",
    "PreparedRequest",
    "RawResponse",
    "RestClient",
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

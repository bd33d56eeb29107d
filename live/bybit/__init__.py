"""The Bybit v5 adapter: the adapter contract over Bybit's header-signed REST and its public and private WS.

``BybitAdapter`` (``live.bybit.adapter``) connects where ``BybitEndpoints`` says: the testnet,
production (only with an explicit flag), or a local venue on 127.0.0.1. ``rest_protocol`` signs
requests and reads envelopes, ``errors`` maps retCodes to the contract's errors, ``codec`` maps
Bybit's JSON to the contract's types, ``socket`` is one WS connection (topics, ``op`` requests),
``book`` keeps the synced book from snapshots and deltas, ``market_data`` the public
subscriptions, ``usage`` the rate-limit headers, ``linear`` category ``linear``'s positions, leverage,
margin mode, margin account and instruments, ``paging`` the cursor of list endpoints.

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "BybitPrivateStream": "live.bybit.private_stream",
    "MAX_PAGES": "live.bybit.paging",
    "SignedCall": "live.bybit.paging",
    "pages": "live.bybit.paging",
    "PositionCallback": "live.bybit.private_stream",
    "LEVERAGE_NOT_MODIFIED": "live.bybit.linear",
    "LinearCall": "live.bybit.linear",
    "linear_balances": "live.bybit.linear",
    "linear_venue_info": "live.bybit.linear",
    "position_report": "live.bybit.linear",
    "position_reports": "live.bybit.linear",
    "read_positions": "live.bybit.linear",
    "set_leverage": "live.bybit.linear",
    "set_margin_mode": "live.bybit.linear",
    "PRIVATE_TOPICS": "live.bybit.private_stream",
    "BybitAdapter": "live.bybit.adapter",
    "BybitBook": "live.bybit.book",
    "INTERVALS": "live.bybit.codec",
    "STATUS": "live.bybit.codec",
    "balances": "live.bybit.codec",
    "book_levels": "live.bybit.codec",
    "book_snapshot": "live.bybit.codec",
    "candle_from_ws": "live.bybit.codec",
    "candles": "live.bybit.codec",
    "dec": "live.bybit.codec",
    "execution_fill": "live.bybit.codec",
    "field": "live.bybit.codec",
    "fixed": "live.bybit.codec",
    "millis": "live.bybit.codec",
    "order_params": "live.bybit.codec",
    "order_report": "live.bybit.codec",
    "pending_report": "live.bybit.codec",
    "quote_from_book": "live.bybit.codec",
    "quote_from_ticker": "live.bybit.codec",
    "trades_from_ws": "live.bybit.codec",
    "venue_info": "live.bybit.codec",
    "CATEGORIES": "live.bybit.endpoints",
    "BybitEndpoints": "live.bybit.endpoints",
    "BybitMarketData": "live.bybit.market_data",
    "interval_name": "live.bybit.market_data",
    "BYBIT_CODES": "live.bybit.errors",
    "INVALID_TIMESTAMP": "live.bybit.errors",
    "bybit_error": "live.bybit.errors",
    "BybitRestProtocol": "live.bybit.rest_protocol",
    "LimitsObserver": "live.bybit.rest_protocol",
    "json_body": "live.bybit.rest_protocol",
    "BybitSocket": "live.bybit.socket",
    "TopicHandler": "live.bybit.socket",
    "IP_LIMIT": "live.bybit.usage",
    "IP_WINDOW_S": "live.bybit.usage",
    "BybitUsage": "live.bybit.usage",
}

__all__ = [
    "BYBIT_CODES",
    "CATEGORIES",
    "INTERVALS",
    "INVALID_TIMESTAMP",
    "IP_LIMIT",
    "IP_WINDOW_S",
    "LEVERAGE_NOT_MODIFIED",
    "MAX_PAGES",
    "PRIVATE_TOPICS",
    "STATUS",
    "BybitAdapter",
    "BybitBook",
    "BybitEndpoints",
    "BybitMarketData",
    "BybitPrivateStream",
    "BybitRestProtocol",
    "BybitSocket",
    "BybitUsage",
    "LimitsObserver",
    "LinearCall",
    "PositionCallback",
    "SignedCall",
    "TopicHandler",
    "balances",
    "book_levels",
    "book_snapshot",
    "bybit_error",
    "candle_from_ws",
    "candles",
    "dec",
    "execution_fill",
    "field",
    "fixed",
    "interval_name",
    "json_body",
    "linear_balances",
    "linear_venue_info",
    "millis",
    "order_params",
    "order_report",
    "pages",
    "pending_report",
    "position_report",
    "position_reports",
    "quote_from_book",
    "quote_from_ticker",
    "read_positions",
    "set_leverage",
    "set_margin_mode",
    "trades_from_ws",
    "venue_info",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from live.bybit.adapter import BybitAdapter
    from live.bybit.book import BybitBook
    from live.bybit.codec import (
        INTERVALS,
        STATUS,
        balances,
        book_levels,
        book_snapshot,
        candle_from_ws,
        candles,
        dec,
        execution_fill,
        field,
        fixed,
        millis,
        order_params,
        order_report,
        pending_report,
        quote_from_book,
        quote_from_ticker,
        trades_from_ws,
        venue_info,
    )
    from live.bybit.endpoints import CATEGORIES, BybitEndpoints
    from live.bybit.errors import BYBIT_CODES, INVALID_TIMESTAMP, bybit_error
    from live.bybit.linear import (
        LEVERAGE_NOT_MODIFIED,
        LinearCall,
        linear_balances,
        linear_venue_info,
        position_report,
        position_reports,
        read_positions,
        set_leverage,
        set_margin_mode,
    )
    from live.bybit.market_data import BybitMarketData, interval_name
    from live.bybit.paging import MAX_PAGES, SignedCall, pages
    from live.bybit.private_stream import PRIVATE_TOPICS, BybitPrivateStream, PositionCallback
    from live.bybit.rest_protocol import BybitRestProtocol, LimitsObserver, json_body
    from live.bybit.socket import BybitSocket, TopicHandler
    from live.bybit.usage import IP_LIMIT, IP_WINDOW_S, BybitUsage

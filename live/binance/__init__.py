"""The Binance Spot adapter: the adapter contract over Binance's REST, WS API and market streams.

``BinanceAdapter`` (``live.binance.adapter``) connects where ``BinanceEndpoints`` says: the Spot
testnet, production (only with an explicit flag), or a local venue on 127.0.0.1. ``codec`` maps
Binance's JSON to the contract's types; ``market_streams`` and ``book_follower`` keep market
data and the synced book; ``user_stream`` is the WS-API user-data subscription; ``usage`` the
rate-limit usage the venue reports. ``BinanceFixAdapter`` (``fix_adapter``) is the same adapter
with orders over Binance's FIX 4.4 (``live.fix.dialects.binance``).

Names are imported from their modules on first use (``harness.lazy_exports``).

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "BinanceAdapter": "live.binance.adapter",
    "BookFollower": "live.binance.book_follower",
    "INTERVALS": "live.binance.codec",
    "binance_type": "live.binance.codec",
    "book_snapshot": "live.binance.codec",
    "candle_from_kline": "live.binance.codec",
    "candles": "live.binance.codec",
    "dec": "live.binance.codec",
    "execution_fill": "live.binance.codec",
    "execution_report": "live.binance.codec",
    "fill_id": "live.binance.codec",
    "fixed": "live.binance.codec",
    "levels": "live.binance.codec",
    "my_trade_fill": "live.binance.codec",
    "order_params": "live.binance.codec",
    "order_report": "live.binance.codec",
    "quote_from_ticker": "live.binance.codec",
    "trade_from_stream": "live.binance.codec",
    "venue_info": "live.binance.codec",
    "BinanceEndpoints": "live.binance.endpoints",
    "EventHandler": "live.binance.market_streams",
    "MarketStreams": "live.binance.market_streams",
    "UsageTracker": "live.binance.usage",
    "UserStream": "live.binance.user_stream",
    "BinanceFixAdapter": "live.binance.fix_adapter",
    "fix_answer_error": "live.binance.fix_adapter",
}

__all__ = [
    "INTERVALS",
    "BinanceAdapter",
    "BinanceEndpoints",
    "BinanceFixAdapter",
    "BookFollower",
    "EventHandler",
    "MarketStreams",
    "UsageTracker",
    "UserStream",
    "binance_type",
    "book_snapshot",
    "candle_from_kline",
    "candles",
    "dec",
    "execution_fill",
    "execution_report",
    "fill_id",
    "fix_answer_error",
    "fixed",
    "levels",
    "my_trade_fill",
    "order_params",
    "order_report",
    "quote_from_ticker",
    "trade_from_stream",
    "venue_info",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from live.binance.adapter import BinanceAdapter
    from live.binance.book_follower import BookFollower
    from live.binance.codec import (
        INTERVALS,
        binance_type,
        book_snapshot,
        candle_from_kline,
        candles,
        dec,
        execution_fill,
        execution_report,
        fill_id,
        fixed,
        levels,
        my_trade_fill,
        order_params,
        order_report,
        quote_from_ticker,
        trade_from_stream,
        venue_info,
    )
    from live.binance.endpoints import BinanceEndpoints
    from live.binance.fix_adapter import BinanceFixAdapter, fix_answer_error
    from live.binance.market_streams import EventHandler, MarketStreams
    from live.binance.usage import UsageTracker
    from live.binance.user_stream import UserStream

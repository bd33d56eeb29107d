"""Coinbase: FIX 4.2 order entry (``live.fix.dialects.coinbase``) paired with its WebSocket market data.

* ``market_data``: ``CoinbaseMarketData``, the Advanced Trade WebSocket (ticker, market_trades, level2);
* ``adapter``: ``CoinbaseAdapter``, orders over FIX and market data over the WebSocket.

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "CoinbaseAdapter": "live.coinbase.adapter",
    "CoinbaseMarketData": "live.coinbase.market_data",
    "parse_rfc3339": "live.coinbase.market_data",
}

__all__ = ["CoinbaseAdapter", "CoinbaseMarketData", "parse_rfc3339"]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from live.coinbase.adapter import CoinbaseAdapter
    from live.coinbase.market_data import CoinbaseMarketData, parse_rfc3339

"""The Binance Spot adapter: the adapter contract over Binance's REST, WS API and market streams.

``BinanceAdapter`` (``live.binance.adapter``) connects where ``BinanceEndpoints`` says: the Spot
testnet, production (only with an explicit flag), or a local venue on 127.0.0.1. ``codec`` maps
Binance's JSON to the contract's types; ``market_streams`` and ``book_follower`` keep market
data and the synced book; ``user_stream`` is the WS-API user-data subscription; ``usage`` the
rate-limit usage the venue reports.
"""

from live.binance.adapter import BinanceAdapter
from live.binance.endpoints import BinanceEndpoints

__all__ = ["BinanceAdapter", "BinanceEndpoints"]

"""Coinbase: FIX 4.2 order entry (``live.fix.dialects.coinbase``) paired with its WebSocket market data.

* ``market_data``: ``CoinbaseMarketData``, the Advanced Trade WebSocket (ticker, market_trades, level2);
* ``rest``: ``CoinbaseRest`` and ``CoinbaseRestEndpoint``, Advanced Trade REST (JWT per request, errors typed);
* ``jwt_auth``: the ES256 JWT of a request, made and verified; ``codec``: REST answers as contract types;
* ``fix_errors``: Coinbase FIX refusals as contract errors;
* ``account``: ``CoinbaseAccount``, the adapter's REST questions; ``bars``: ``BarPoller``, closed bars from candles;
* ``adapter``: ``CoinbaseAdapter``, orders over FIX, market data over the WebSocket, account over REST.

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "GRANULARITIES": "live.coinbase.codec",
    "STATUSES": "live.coinbase.codec",
    "balances": "live.coinbase.codec",
    "candles": "live.coinbase.codec",
    "fill": "live.coinbase.codec",
    "need_decimal": "live.coinbase.codec",
    "object_rows": "live.coinbase.codec",
    "order_report": "live.coinbase.codec",
    "products": "live.coinbase.codec",
    "symbol_info": "live.coinbase.codec",
    "COINBASE_CAPABILITIES": "live.coinbase.account",
    "CoinbaseAccount": "live.coinbase.account",
    "CoinbaseAdapter": "live.coinbase.adapter",
    "BarPoller": "live.coinbase.bars",
    "coinbase_fix_error": "live.coinbase.fix_errors",
    "JWT_LIFETIME_S": "live.coinbase.jwt_auth",
    "JwtRefused": "live.coinbase.jwt_auth",
    "jwt_uri": "live.coinbase.jwt_auth",
    "load_ec_private_key": "live.coinbase.jwt_auth",
    "public_pem_of": "live.coinbase.jwt_auth",
    "rest_jwt": "live.coinbase.jwt_auth",
    "verify_rest_jwt": "live.coinbase.jwt_auth",
    "BROKERAGE": "live.coinbase.rest",
    "PRIVATE_LIMIT": "live.coinbase.rest",
    "CoinbaseRest": "live.coinbase.rest",
    "CoinbaseRestEndpoint": "live.coinbase.rest",
    "coinbase_error": "live.coinbase.rest",
    "CoinbaseMarketData": "live.coinbase.market_data",
    "parse_rfc3339": "live.coinbase.market_data",
}

__all__ = [
    "BROKERAGE",
    "COINBASE_CAPABILITIES",
    "GRANULARITIES",
    "JWT_LIFETIME_S",
    "PRIVATE_LIMIT",
    "STATUSES",
    "BarPoller",
    "CoinbaseAccount",
    "CoinbaseAdapter",
    "CoinbaseMarketData",
    "CoinbaseRest",
    "CoinbaseRestEndpoint",
    "JwtRefused",
    "balances",
    "candles",
    "coinbase_error",
    "coinbase_fix_error",
    "fill",
    "jwt_uri",
    "load_ec_private_key",
    "need_decimal",
    "object_rows",
    "order_report",
    "parse_rfc3339",
    "products",
    "public_pem_of",
    "rest_jwt",
    "symbol_info",
    "verify_rest_jwt",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from live.coinbase.account import COINBASE_CAPABILITIES, CoinbaseAccount
    from live.coinbase.adapter import CoinbaseAdapter
    from live.coinbase.bars import BarPoller
    from live.coinbase.codec import (
        GRANULARITIES,
        STATUSES,
        balances,
        candles,
        fill,
        need_decimal,
        object_rows,
        order_report,
        products,
        symbol_info,
    )
    from live.coinbase.fix_errors import coinbase_fix_error
    from live.coinbase.jwt_auth import (
        JWT_LIFETIME_S,
        JwtRefused,
        jwt_uri,
        load_ec_private_key,
        public_pem_of,
        rest_jwt,
        verify_rest_jwt,
    )
    from live.coinbase.market_data import CoinbaseMarketData, parse_rfc3339
    from live.coinbase.rest import BROKERAGE, PRIVATE_LIMIT, CoinbaseRest, CoinbaseRestEndpoint, coinbase_error

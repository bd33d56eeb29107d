"""The local venue's Bybit v5 front: the simulator served over Bybit's REST and WebSockets on 127.0.0.1.

``BybitLocalVenue`` (``server``) is the ``LocalVenue`` with Bybit's endpoints: ``rest`` (``/v5/*``
through faults, limits and ``auth``, header signatures over the raw bytes), ``actions`` (the venue
operations), ``shapes`` (Bybit's JSON), ``public`` (orderbook / publicTrade / tickers / kline
topics, with a first-message delay) and ``private`` (auth, order / execution / wallet / position
pushes); ``linear`` and ``linear_shapes`` serve category ``linear`` from a perpetual venue
(positions, leverage, margin mode, margin account).

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "BYBIT_ENDPOINTS": "live.serve.bybit.actions",
    "BookSource": "live.serve.bybit.actions",
    "BybitActions": "live.serve.bybit.actions",
    "BybitEndpoint": "live.serve.bybit.actions",
    "BybitApiError": "live.serve.bybit.auth",
    "BybitKeys": "live.serve.bybit.auth",
    "BybitParams": "live.serve.bybit.auth",
    "param_error": "live.serve.bybit.auth",
    "parse_bybit_params": "live.serve.bybit.auth",
    "verify_bybit_request": "live.serve.bybit.auth",
    "LinearActions": "live.serve.bybit.linear",
    "PositionListener": "live.serve.bybit.linear",
    "linear_instrument_json": "live.serve.bybit.linear_shapes",
    "linear_wallet_json": "live.serve.bybit.linear_shapes",
    "position_json": "live.serve.bybit.linear_shapes",
    "PRIVATE_TOPICS": "live.serve.bybit.private",
    "PrivateHub": "live.serve.bybit.private",
    "PrivatePeer": "live.serve.bybit.private",
    "BybitMarket": "live.serve.bybit.public",
    "PublicPeer": "live.serve.bybit.public",
    "parse_topic": "live.serve.bybit.public",
    "BybitRest": "live.serve.bybit.rest",
    "bybit_fault_answer": "live.serve.bybit.rest",
    "BybitLocalVenue": "live.serve.bybit.server",
    "BybitVenueConfig": "live.serve.bybit.server",
    "INTERVAL_SECONDS": "live.serve.bybit.shapes",
    "envelope": "live.serve.bybit.shapes",
    "execution_json": "live.serve.bybit.shapes",
    "fmt": "live.serve.bybit.shapes",
    "fmt_fixed": "live.serve.bybit.shapes",
    "instrument_json": "live.serve.bybit.shapes",
    "kline_bar": "live.serve.bybit.shapes",
    "kline_row": "live.serve.bybit.shapes",
    "levels_json": "live.serve.bybit.shapes",
    "ms": "live.serve.bybit.shapes",
    "order_json": "live.serve.bybit.shapes",
    "order_status": "live.serve.bybit.shapes",
    "wallet_json": "live.serve.bybit.shapes",
}

__all__ = [
    "BYBIT_ENDPOINTS",
    "INTERVAL_SECONDS",
    "PRIVATE_TOPICS",
    "BookSource",
    "BybitActions",
    "BybitApiError",
    "BybitEndpoint",
    "BybitKeys",
    "BybitLocalVenue",
    "BybitMarket",
    "BybitParams",
    "BybitRest",
    "BybitVenueConfig",
    "LinearActions",
    "PositionListener",
    "PrivateHub",
    "PrivatePeer",
    "PublicPeer",
    "bybit_fault_answer",
    "envelope",
    "execution_json",
    "fmt",
    "fmt_fixed",
    "instrument_json",
    "kline_bar",
    "kline_row",
    "levels_json",
    "linear_instrument_json",
    "linear_wallet_json",
    "ms",
    "order_json",
    "order_status",
    "param_error",
    "parse_bybit_params",
    "parse_topic",
    "position_json",
    "verify_bybit_request",
    "wallet_json",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from live.serve.bybit.actions import BYBIT_ENDPOINTS, BookSource, BybitActions, BybitEndpoint
    from live.serve.bybit.auth import (
        BybitApiError,
        BybitKeys,
        BybitParams,
        param_error,
        parse_bybit_params,
        verify_bybit_request,
    )
    from live.serve.bybit.linear import LinearActions, PositionListener
    from live.serve.bybit.linear_shapes import linear_instrument_json, linear_wallet_json, position_json
    from live.serve.bybit.private import PRIVATE_TOPICS, PrivateHub, PrivatePeer
    from live.serve.bybit.public import BybitMarket, PublicPeer, parse_topic
    from live.serve.bybit.rest import BybitRest, bybit_fault_answer
    from live.serve.bybit.server import BybitLocalVenue, BybitVenueConfig
    from live.serve.bybit.shapes import (
        INTERVAL_SECONDS,
        envelope,
        execution_json,
        fmt,
        fmt_fixed,
        instrument_json,
        kline_bar,
        kline_row,
        levels_json,
        ms,
        order_json,
        order_status,
        wallet_json,
    )

"""The local venue: the simulator served over Binance Spot's real protocols on 127.0.0.1.

``LocalVenue`` (``live.serve.server``) puts one ``SimVenue`` behind aiohttp REST and WebSocket
endpoints that speak Binance Spot: the same paths and parameters, signatures verified over the
raw request, the same JSON shapes, error codes and messages, rate-limit headers and 429/418,
market streams and the WS API's user-data stream. Market data is replayed from canonical
Parquet at the pace of the venue's clock (``--speed X``), and faults (``live.serve.faults``)
apply to its streams and requests. ``harness venue serve`` runs one (``live.serve.cli``).

Modules, in the order a request meets them: ``rest`` / ``ws_api`` / ``streams`` (transports),
``pipeline`` (faults, limits, authentication via ``auth``), ``actions`` (the venue operations),
``order_json`` / ``exchange_info`` / ``wire`` (Binance's shapes); ``market`` and ``userdata``
publish what the venue does; ``peer`` is one connection's outbox; ``replay`` paces the data;
``scheduled`` puts a scenario file's faults (``sim.faults``' kinds) on the venue's seams.
FIX: ``fix_acceptor`` (order-entry and drop-copy sessions, logons verified), ``fix_desk`` (their
orders on the venue, its events as reports), ``fix_cli`` (``--fix`` credentials); ``coinbase_ws``
serves Coinbase's market-data WebSocket under the Coinbase profile; ``funding`` funds a perpetual
venue (``venue_class_for`` builds a ``FuturesVenue`` for a profile with ``[futures]``) on the
served clock.

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "bybit": "live.serve.bybit",
    "GRANULARITY_S": "live.serve.coinbase_rest",
    "CoinbaseRestError": "live.serve.coinbase_rest",
    "CoinbaseRestFront": "live.serve.coinbase_rest",
    "cdp_credentials": "live.serve.coinbase_rest",
    "account_json": "live.serve.coinbase_json",
    "candle_json": "live.serve.coinbase_json",
    "fill_json": "live.serve.coinbase_json",
    "order_status_name": "live.serve.coinbase_json",
    "product_json": "live.serve.coinbase_json",
    "rfc3339_us": "live.serve.coinbase_json",
    "venue_order_json": "live.serve.coinbase_json",
    "DepthSource": "live.serve.actions",
    "ENDPOINTS": "live.serve.actions",
    "Endpoint": "live.serve.actions",
    "VenueActions": "live.serve.actions",
    "depth_weight": "live.serve.actions",
    "venue_error": "live.serve.actions",
    "ApiKeys": "live.serve.auth",
    "BinanceApiError": "live.serve.auth",
    "RequestParams": "live.serve.auth",
    "check_timestamp": "live.serve.auth",
    "mandatory": "live.serve.auth",
    "parse_params": "live.serve.auth",
    "verify_rest_signature": "live.serve.auth",
    "verify_ws_signature": "live.serve.auth",
    "BYBIT_PROFILES": "live.serve.cli",
    "parse_speed": "live.serve.cli",
    "serve_command": "live.serve.cli",
    "order_type_names": "live.serve.exchange_info",
    "rate_limit_json": "live.serve.exchange_info",
    "CutConnections": "live.serve.faults",
    "DisconnectFault": "live.serve.faults",
    "DropMatching": "live.serve.faults",
    "DuplicateMatching": "live.serve.faults",
    "FailRequests": "live.serve.faults",
    "RequestDelay": "live.serve.faults",
    "ScheduledFault": "live.serve.faults",
    "ServeWorld": "live.serve.faults",
    "RequestFault": "live.serve.faults",
    "ServeFaults": "live.serve.faults",
    "StreamFault": "live.serve.faults",
    "MarketFront": "live.serve.market",
    "ServedMarket": "live.serve.market",
    "RESPONSE_TYPES": "live.serve.order_json",
    "TradeIds": "live.serve.order_json",
    "cancel_json": "live.serve.order_json",
    "execution_report": "live.serve.order_json",
    "my_trade_json": "live.serve.order_json",
    "new_order_json": "live.serve.order_json",
    "Peer": "live.serve.peer",
    "Answer": "live.serve.pipeline",
    "DropConnection": "live.serve.pipeline",
    "RequestPipeline": "live.serve.pipeline",
    "fault_answer": "live.serve.pipeline",
    "BATCH_NS": "live.serve.replay",
    "ReplayDriver": "live.serve.replay",
    "add_rest_routes": "live.serve.rest",
    "REFUSED": "live.serve.scheduled",
    "ServedFault": "live.serve.scheduled",
    "served_fault": "live.serve.scheduled",
    "LocalVenue": "live.serve.server",
    "LocalVenueConfig": "live.serve.server",
    "default_balances": "live.serve.server",
    "StreamHub": "live.serve.streams",
    "StreamName": "live.serve.streams",
    "StreamPeer": "live.serve.streams",
    "parse_stream": "live.serve.streams",
    "UserDataHub": "live.serve.userdata",
    "BINANCE_INTERVALS": "live.serve.wire",
    "STATUS_NAMES": "live.serve.wire",
    "balance_json": "live.serve.wire",
    "binance_order_type": "live.serve.wire",
    "book_ticker_event": "live.serve.wire",
    "depth_levels": "live.serve.wire",
    "depth_update_event": "live.serve.wire",
    "fmt": "live.serve.wire",
    "fmt_fixed": "live.serve.wire",
    "is_maker": "live.serve.wire",
    "kline_event": "live.serve.wire",
    "kline_row": "live.serve.wire",
    "ms": "live.serve.wire",
    "side_name": "live.serve.wire",
    "time_in_force_name": "live.serve.wire",
    "trade_event": "live.serve.wire",
    "WS_ENDPOINTS": "live.serve.ws_api",
    "WsApiSession": "live.serve.ws_api",
    "FixPeer": "live.serve.fix_acceptor",
    "FixVenue": "live.serve.fix_acceptor",
    "FixDesk": "live.serve.fix_desk",
    "FixOutlet": "live.serve.fix_desk",
    "fix_credentials": "live.serve.fix_cli",
    "ServedTimer": "live.serve.funding",
    "start_funding": "live.serve.funding",
    "CHANNELS": "live.serve.coinbase_ws",
    "CoinbaseFeed": "live.serve.coinbase_ws",
    "rfc3339": "live.serve.coinbase_ws",
}

__all__ = [
    "BATCH_NS",
    "BINANCE_INTERVALS",
    "BYBIT_PROFILES",
    "CHANNELS",
    "ENDPOINTS",
    "GRANULARITY_S",
    "REFUSED",
    "RESPONSE_TYPES",
    "STATUS_NAMES",
    "WS_ENDPOINTS",
    "Answer",
    "ApiKeys",
    "BinanceApiError",
    "CoinbaseFeed",
    "CoinbaseRestError",
    "CoinbaseRestFront",
    "CutConnections",
    "DepthSource",
    "DisconnectFault",
    "DropConnection",
    "DropMatching",
    "DuplicateMatching",
    "Endpoint",
    "FailRequests",
    "FixDesk",
    "FixOutlet",
    "FixPeer",
    "FixVenue",
    "LocalVenue",
    "LocalVenueConfig",
    "MarketFront",
    "Peer",
    "ReplayDriver",
    "RequestDelay",
    "RequestFault",
    "RequestParams",
    "RequestPipeline",
    "ScheduledFault",
    "ServeFaults",
    "ServeWorld",
    "ServedFault",
    "ServedMarket",
    "ServedTimer",
    "StreamFault",
    "StreamHub",
    "StreamName",
    "StreamPeer",
    "TradeIds",
    "UserDataHub",
    "VenueActions",
    "WsApiSession",
    "account_json",
    "add_rest_routes",
    "balance_json",
    "binance_order_type",
    "book_ticker_event",
    "bybit",
    "cancel_json",
    "candle_json",
    "cdp_credentials",
    "check_timestamp",
    "default_balances",
    "depth_levels",
    "depth_update_event",
    "depth_weight",
    "execution_report",
    "fault_answer",
    "fill_json",
    "fix_credentials",
    "fmt",
    "fmt_fixed",
    "is_maker",
    "kline_event",
    "kline_row",
    "mandatory",
    "ms",
    "my_trade_json",
    "new_order_json",
    "order_status_name",
    "order_type_names",
    "parse_params",
    "parse_speed",
    "parse_stream",
    "product_json",
    "rate_limit_json",
    "rfc3339",
    "rfc3339_us",
    "serve_command",
    "served_fault",
    "side_name",
    "start_funding",
    "time_in_force_name",
    "trade_event",
    "venue_error",
    "venue_order_json",
    "verify_rest_signature",
    "verify_ws_signature",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from live.serve import bybit
    from live.serve.actions import ENDPOINTS, DepthSource, Endpoint, VenueActions, depth_weight, venue_error
    from live.serve.auth import (
        ApiKeys,
        BinanceApiError,
        RequestParams,
        check_timestamp,
        mandatory,
        parse_params,
        verify_rest_signature,
        verify_ws_signature,
    )
    from live.serve.cli import BYBIT_PROFILES, parse_speed, serve_command
    from live.serve.coinbase_json import (
        account_json,
        candle_json,
        fill_json,
        order_status_name,
        product_json,
        rfc3339_us,
        venue_order_json,
    )
    from live.serve.coinbase_rest import (
        GRANULARITY_S,
        CoinbaseRestError,
        CoinbaseRestFront,
        cdp_credentials,
    )
    from live.serve.coinbase_ws import CHANNELS, CoinbaseFeed, rfc3339
    from live.serve.exchange_info import order_type_names, rate_limit_json
    from live.serve.faults import (
        CutConnections,
        DisconnectFault,
        DropMatching,
        DuplicateMatching,
        FailRequests,
        RequestDelay,
        RequestFault,
        ScheduledFault,
        ServeFaults,
        ServeWorld,
        StreamFault,
    )
    from live.serve.fix_acceptor import FixPeer, FixVenue
    from live.serve.fix_cli import fix_credentials
    from live.serve.fix_desk import FixDesk, FixOutlet
    from live.serve.funding import ServedTimer, start_funding
    from live.serve.market import MarketFront, ServedMarket
    from live.serve.order_json import (
        RESPONSE_TYPES,
        TradeIds,
        cancel_json,
        execution_report,
        my_trade_json,
        new_order_json,
    )
    from live.serve.peer import Peer
    from live.serve.pipeline import Answer, DropConnection, RequestPipeline, fault_answer
    from live.serve.replay import BATCH_NS, ReplayDriver
    from live.serve.rest import add_rest_routes
    from live.serve.scheduled import REFUSED, ServedFault, served_fault
    from live.serve.server import LocalVenue, LocalVenueConfig, default_balances
    from live.serve.streams import StreamHub, StreamName, StreamPeer, parse_stream
    from live.serve.userdata import UserDataHub
    from live.serve.wire import (
        BINANCE_INTERVALS,
        STATUS_NAMES,
        balance_json,
        binance_order_type,
        book_ticker_event,
        depth_levels,
        depth_update_event,
        fmt,
        fmt_fixed,
        is_maker,
        kline_event,
        kline_row,
        ms,
        side_name,
        time_in_force_name,
        trade_event,
    )
    from live.serve.ws_api import WS_ENDPOINTS, WsApiSession

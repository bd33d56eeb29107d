"""``BybitLocalVenue``: the local venue speaking Bybit v5 instead of Binance, on 127.0.0.1.

The same ``LocalVenue`` (one ``SimVenue``, its clock, the replay of canonical Parquet, the
market driver of tests, the fault hook ``ServeFaults``), with Bybit's front in place of
Binance's:

* REST ``/v5/*`` (``live.serve.bybit.rest``): signed with ``X-BAPI-*`` headers over the raw bytes;
* public WS ``/v5/public/spot`` (``live.serve.bybit.public``): orderbook, publicTrade, tickers,
  kline topics, with the first-message delay of ``first_push_delay_ns``;
* private WS ``/v5/private`` (``live.serve.bybit.private``): auth, order, execution, wallet.

Its profile is ``bybit`` unless another is given. A perpetual profile (``bybit-linear``: a
``FuturesVenue``) is served as category ``linear`` instead (``live.serve.bybit.linear``: positions,
leverage, margin mode, the margin account, the ``position`` topic, public WS ``/v5/public/linear``).

Market-stream faults apply to the public WS (they see ``(topic, message)``:
``DropMatching(stream="orderbook.50")`` drops book messages), user-stream faults to the private WS
(they see the message), ``DisconnectFault``s to both (kinds ``"market"`` and ``"ws-api"``), request
faults to REST by contract request name, as for the Binance front. The Binance front's objects
(``hub``, ``users``, ``pipeline``) exist but serve nothing.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from aiohttp import WSMsgType, web

from live.serve.bybit.actions import BybitActions
from live.serve.bybit.auth import BybitKeys
from live.serve.bybit.linear import LinearActions
from live.serve.bybit.private import PrivateHub, PrivatePeer
from live.serve.bybit.public import BybitMarket, PublicPeer
from live.serve.bybit.rest import BybitRest
from live.serve.server import LocalVenue, LocalVenueConfig
from sim.venue.futures_venue import FuturesVenue

__all__ = ["BybitLocalVenue", "BybitVenueConfig"]


@dataclass
class BybitVenueConfig(LocalVenueConfig):
    """``LocalVenueConfig`` for the Bybit front; ``first_push_delay_ns`` (venue time) holds back a new
    public subscription's first message (pybit registers its callback after subscribing)."""

    first_push_delay_ns: int = 150_000_000


class BybitLocalVenue(LocalVenue):
    """A ``SimVenue`` behind Bybit v5's REST, public and private WS (see the module docstring)."""

    def __init__(self, config: LocalVenueConfig) -> None:
        if config.profile == "binance":
            config.profile = "bybit"
        super().__init__(config)
        delay = config.first_push_delay_ns if isinstance(config, BybitVenueConfig) else 150_000_000
        if delay < 0:
            raise ValueError(f"first_push_delay_ns must be >= 0, got {delay}")
        self.bybit_market = BybitMarket(self.venue, self.clock, delay)
        self.market = self.bybit_market
        keys = BybitKeys(config.api_keys)
        linear = LinearActions(self.venue, self.bybit_market.depth) if isinstance(self.venue, FuturesVenue) else None
        self.bybit_actions: BybitActions = linear or BybitActions(self.venue, self.bybit_market.depth)
        self.category = self.bybit_actions.category
        """``spot``, or ``linear`` for a perpetual profile (``bybit-linear``)."""
        self.bybit_rest = BybitRest(self.bybit_actions, keys, self.faults, self.clock)
        self.private = PrivateHub(self.venue, keys, self.clock, linear)
        self._conn_ids = itertools.count(1)

    def _routes(self, app: web.Application) -> None:
        self.bybit_rest.add_routes(app)
        app.router.add_get("/v5/public/{category}", self._public_ws)
        app.router.add_get("/v5/private", self._private_ws)

    @property
    def public_ws_url(self) -> str:
        """``ws://127.0.0.1:<port>/v5/public/spot`` (``/linear`` for a perpetual profile)."""
        return f"{self.ws_url}/v5/public/{self.category}"

    @property
    def private_ws_url(self) -> str:
        """``ws://127.0.0.1:<port>/v5/private``."""
        return f"{self.ws_url}/v5/private"

    def _conn_id(self) -> str:
        return f"local-conn-{next(self._conn_ids)}"

    async def _public_ws(self, request: web.Request) -> web.WebSocketResponse:
        if request.match_info["category"] != self.category:
            raise web.HTTPNotFound(text=f"only /v5/public/{self.category} is served")
        ws = web.WebSocketResponse(heartbeat=self.config.heartbeat_s, autoping=True)
        await ws.prepare(request)
        peer = self._peer(ws, request, "market")
        public = PublicPeer(peer, self._conn_id())
        self.bybit_market.peers.append(public)
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self.bybit_market.control(public, message.data)
        finally:
            self.bybit_market.remove(public)
            await self._forget(peer)
        return ws

    async def _private_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=self.config.heartbeat_s, autoping=True)
        await ws.prepare(request)
        peer = self._peer(ws, request, "ws-api")
        private = PrivatePeer(peer, self._conn_id())
        self.private.peers.append(private)
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self.private.control(private, message.data)
        finally:
            self.private.remove(private)
            await self._forget(peer)
        return ws

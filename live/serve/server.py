"""``LocalVenue``: a simulated venue served over Binance Spot's real protocols on 127.0.0.1.

One aiohttp application serves, on one port:

* REST ``/api/v3/*`` (and ``/api/v1/*``): ``live.serve.rest``;
* market streams ``/ws``, ``/ws/<anything>``, ``/stream?streams=a/b``: ``live.serve.streams``;
* the WS API ``/ws-api/v3`` with the user-data stream: ``live.serve.ws_api``;
* with the Coinbase profile, Coinbase's market-data WebSocket at ``/`` (``live.serve.coinbase_ws``)
  and Advanced Trade REST at ``/api/v3/brokerage`` (``live.serve.coinbase_rest``);
* with ``fix_port``, FIX order entry and drop copy (``live.serve.fix_acceptor``).

Behind them is one ``SimVenue`` (a ``FuturesVenue`` for a perpetual profile, as ``venue_class_for``
picks; it is then funded at the profile's funding times, ``live.serve.funding``: matching, accounts,
filters, rate limits, the profile's error catalog) whose clock is the server's: the wall clock, or
``ScaledClock(speed)`` for X times faster (nothing in ``sim`` reads a clock of its own: the venue is
given ``now``). Market data comes from canonical Parquet (``live.serve.replay``) or, in tests, from
the control handle ``market`` (``ServedMarket.on_trade`` / ``on_quote`` / ``on_book``, or
``quote``/``trade``/``book`` here). Faults (``live.serve.faults.ServeFaults``) apply to every stream
and request; a scenario's (``ServeFaults.scheduled``) start with the replay, their times counted
from its start.

``live.serve`` is the one part of ``live`` that imports ``sim``: it *is* the simulator, served.
Adapters never import it (``tests/test_layering.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from aiohttp import WSMsgType, web

from harness.clock import Clock, ScaledClock
from harness.model import BOOK_ASK, BOOK_BID, F_LAST, F_SNAPSHOT, Aggressor, BookDelta, Quote, Trade
from harness.money import to_fixed
from harness.rng import SeededRng
from live.fix.dialects.base import FixKey
from live.fix.dialects.registry import dialect_for
from live.serve.actions import VenueActions
from live.serve.auth import ApiKeys
from live.serve.coinbase_rest import CoinbaseRestFront
from live.serve.coinbase_ws import CoinbaseFeed
from live.serve.faults import ServeFaults
from live.serve.fix_acceptor import FixVenue
from live.serve.fix_desk import FixDesk
from live.serve.funding import ServedTimer, start_funding
from live.serve.market import MarketFront, ServedMarket
from live.serve.peer import Peer
from live.serve.pipeline import DropConnection, RequestPipeline
from live.serve.replay import ReplayDriver
from live.serve.rest import add_rest_routes
from live.serve.streams import StreamHub, StreamPeer
from live.serve.userdata import UserDataHub
from live.serve.ws_api import WsApiSession
from sim.venue.futures_venue import FuturesVenue, venue_class_for
from sim.venue.limits import VenueRateLimiter
from sim.venue.matching.types import DepthMode
from sim.venue.profile import VenueProfile, load_profile

__all__ = ["LocalVenue", "LocalVenueConfig", "default_balances"]

logger = logging.getLogger(__name__)


def default_balances(profile: VenueProfile) -> dict[str, Decimal]:
    """10 of every base asset and 1,000,000 of every quote asset (the simulation's defaults)."""
    balances: dict[str, Decimal] = {}
    for rules in profile.symbols.values():
        balances.setdefault(rules.base_asset, Decimal(10))
        balances[rules.quote_asset] = Decimal(1_000_000)
    return balances


@dataclass
class LocalVenueConfig:
    """What a local venue serves and how.

    ``api_keys`` maps API key -> HMAC secret. ``speed`` makes the clock (a ``ScaledClock``,
    unless ``clock`` is given) run that many times faster than the wall. ``depth`` defaults to
    the deepest the data supports (QUOTES without data). ``data_venue`` names the venue in the
    recording (default: every venue in it drives this one). ``lead_ns``: the data's first event
    comes this long after the start (venue time).
    """

    profile: str | VenueProfile = "binance"
    data: Sequence[Path] = ()
    api_keys: Mapping[str, str] = field(default_factory=dict)
    speed: Decimal | int = 1
    clock: Clock | None = None
    host: str = "127.0.0.1"
    port: int = 0
    balances: Mapping[str, Decimal] | None = None
    depth: DepthMode | None = None
    queue_model: str = "conservative"
    seed: int = 0
    faults: ServeFaults = field(default_factory=ServeFaults)
    data_venue: str | None = None
    lead_ns: int = 1_000_000_000
    heartbeat_s: float = 20.0
    hold_replay: bool = False
    """Start the replay only when ``start_replay`` is called (a test places its orders first)."""
    fix_port: int | None = None
    """Also serve FIX order entry on this port (0: any free one) in the profile's dialect
    (``live.serve.fix_acceptor``), with drop copy on ``fix_drop_copy_port``."""
    fix_drop_copy_port: int = 0
    fix_keys: Mapping[str, FixKey] = field(default_factory=dict)
    """FIX API key -> what the venue verifies its logon with (Ed25519 public key PEM, or HMAC secret + passphrase)."""
    coinbase_keys: Mapping[str, str] = field(default_factory=dict)
    """Coinbase CDP key name -> EC public key PEM: who may call Advanced Trade REST (``--profile coinbase``)."""


def _depth_for(kinds: Sequence[str]) -> DepthMode:
    if "book" in kinds:
        return DepthMode.BOOK
    if "quotes" in kinds:
        return DepthMode.QUOTES
    return DepthMode.TRADES if kinds else DepthMode.QUOTES


class LocalVenue:
    """A ``SimVenue`` behind Binance Spot's REST, market streams and WS API (see the module docstring)."""

    def __init__(self, config: LocalVenueConfig) -> None:
        if config.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the local venue listens on loopback only, not {config.host!r}")
        self.config = config
        self.clock: Clock = config.clock or ScaledClock(config.speed)
        self.profile = config.profile if isinstance(config.profile, VenueProfile) else load_profile(config.profile)
        self.faults = config.faults
        rng = SeededRng(config.seed).child(f"venue.{self.profile.name}")
        kinds: list[str] = []
        self.replay: ReplayDriver | None = None
        self.hub = StreamHub()
        if config.data:
            from sim.market.feed import ReplayFeed  # only to learn the kinds before the venue exists

            with ReplayFeed(list(config.data), order_by="ts_event") as probe:
                kinds = probe.kinds
        depth = config.depth or _depth_for(kinds)
        balances = dict(config.balances) if config.balances is not None else default_balances(self.profile)
        self.venue = venue_class_for(self.profile)(self.profile, balances=balances, rng=rng, now=self.clock.now_ns,
                                                   depth=depth, queue_model=config.queue_model)
        served = ServedMarket(self.venue, self.hub, self.clock.now_ns)
        self.market: MarketFront = served
        """The control handle: market events go to the venue, then its streams (tests drive it directly)."""
        self.actions = VenueActions(self.venue, depth_source=served.depth)
        self.users = UserDataHub(self.actions, self.clock)
        self.pipeline = RequestPipeline(self.actions, ApiKeys(config.api_keys), self.faults, self.clock)
        self.peers: list[Peer] = []
        self._runner: web.AppRunner | None = None
        self._replay_task: asyncio.Task[None] | None = None
        self._bars_task: asyncio.Task[None] | None = None
        self._funding: ServedTimer | None = None
        self.port = 0
        self.faults_origin_ns: int | None = None
        """When the scenario's faults started (venue time): the replay's start, or the venue's without data."""
        self._kinds = kinds
        self.coinbase: CoinbaseFeed | None = None
        """Coinbase's market-data WebSocket at ``/`` when the profile is Coinbase's."""
        self.coinbase_rest: CoinbaseRestFront | None = None
        """Coinbase's Advanced Trade REST at ``/api/v3/brokerage`` when the profile is Coinbase's."""
        if self.profile.name == "coinbase":
            self.coinbase = CoinbaseFeed(self.venue, self.clock, self.faults)
            self.coinbase_rest = CoinbaseRestFront(self.actions, config.coinbase_keys, self.faults, self.clock)
            self.market.listeners.append(self.coinbase.on_market)
        self.fix: FixVenue | None = None
        if config.fix_port is not None:
            self.fix = FixVenue(FixDesk(self.actions, dialect_for(self.profile.name), self.clock.now_ns), self.clock,
                                config.fix_keys)

    # ------------------------------------------------------------------ addresses

    @property
    def rest_url(self) -> str:
        """``http://127.0.0.1:<port>`` (REST paths start with ``/api/v3``)."""
        return f"http://{self.config.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:<port>`` (``/ws``, ``/stream``, ``/ws-api/v3`` below it)."""
        return f"ws://{self.config.host}:{self.port}"

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> str:
        """Listen (port 0: any free port) and start the replay; returns the REST base URL."""
        app = web.Application()
        self._routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        if self.fix is not None and self.config.fix_port is not None:
            await self.fix.start(self.config.host, self.config.fix_port, self.config.fix_drop_copy_port)
            for fault in self.faults.fix:
                fault.install(self.fix)
        if self.config.data and not self.config.hold_replay:
            self.start_replay()
        elif not self.config.data:
            self._start_faults()
        self._bars_task = asyncio.get_running_loop().create_task(self._close_bars(), name="local-venue-klines")
        if isinstance(self.venue, FuturesVenue):
            self._funding = start_funding(self.venue, self.clock)
        logger.info("local venue %s on %s", self.profile.name, self.rest_url)
        return self.rest_url

    def _routes(self, app: web.Application) -> None:
        """The protocol's endpoints (Binance Spot here; ``live.serve.bybit`` routes Bybit v5 instead)."""
        if self.coinbase_rest is not None:
            self.coinbase_rest.add_routes(app)  # before Binance's /api/v3/{tail} catch-all
        add_rest_routes(app, self.pipeline)
        app.router.add_get("/ws", self._market_ws)
        app.router.add_get("/ws/{tail:.*}", self._market_ws)
        app.router.add_get("/stream", self._market_ws)
        app.router.add_get("/ws-api/v3", self._api_ws)
        if self.coinbase is not None:
            app.router.add_get("/", self._coinbase_ws)

    def start_replay(self) -> None:
        """Start replaying the data: its first event comes ``lead_ns`` from now (venue time).

        The scenario's faults (``ServeFaults.scheduled``) start now too: their times count from here."""
        if self._replay_task is not None or not self.config.data:
            return
        self._start_faults()
        self.replay = ReplayDriver(self.config.data, self.market, self.clock, start_ns=self.clock.now_ns(),
                                   lead_ns=self.config.lead_ns, data_venue=self.config.data_venue)
        self._replay_task = asyncio.get_running_loop().create_task(self.replay.run(), name="local-venue-replay")

    def _start_faults(self) -> None:
        self.faults_origin_ns = self.clock.now_ns()
        for fault in self.faults.scheduled:
            fault.start(self, self.faults_origin_ns)

    @property
    def limiter(self) -> VenueRateLimiter:
        """The venue's rate limiter (what a ``rate_limit`` fault uses up)."""
        return self.venue.limiter

    async def _close_bars(self) -> None:
        """At every whole minute of venue time, send the kline bars that just closed."""
        minute = 60 * 1_000_000_000
        while True:
            now = self.clock.now_ns()
            await self.clock.sleep_ns(minute - now % minute)
            now = self.clock.now_ns()
            self.market.close_bars(now - now % minute)

    async def stop(self) -> None:
        """Stop the replay, the kline closer and funding, close every connection, stop listening."""
        for task in (self._replay_task, self._bars_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._funding is not None:
            await self._funding.close()
        for peer in list(self.peers):
            await peer.close()
        if self.fix is not None:
            await self.fix.stop()
        if self.coinbase is not None:
            await self.coinbase.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_replayed(self) -> None:
        """Until the recorded data has all been delivered (at once when there is none)."""
        if self._replay_task is not None:
            await asyncio.shield(self._replay_task)

    async def drain(self) -> None:
        """Until every connection's outbox is written (what was published has left the venue)."""
        while any(p.pending() and not p.closed for p in self.peers):
            await asyncio.sleep(0.001)

    def disconnect(self, kind: str = "market") -> int:
        """Cut every connection of ``kind`` (``"market"``, ``"ws-api"``) now; returns how many."""
        cut = [p for p in self.peers if p.kind == kind and not p.closed]
        for peer in cut:
            peer.cut()
        return len(cut)

    # ------------------------------------------------------------------ the market driver of tests

    def quote(self, symbol: str, bid: Decimal, ask: Decimal, bid_size: Decimal = Decimal(2),
              ask_size: Decimal = Decimal(2)) -> Quote:
        """Set the best bid/offer now (venue, then ``bookTicker``)."""
        now = self.clock.now_ns()
        quote = Quote(now, now, self.venue.name, symbol, to_fixed(bid), to_fixed(bid_size), to_fixed(ask),
                      to_fixed(ask_size), -1)
        self.market.on_quote(quote)
        return quote

    def trade(self, symbol: str, price: Decimal, size: Decimal, aggressor: Aggressor = Aggressor.UNKNOWN,
              trade_id: str = "") -> Trade:
        """Print a public trade now (matching, candles, then ``trade``)."""
        now = self.clock.now_ns()
        trade = Trade(now, now, self.venue.name, symbol, to_fixed(price), to_fixed(size), int(aggressor), trade_id)
        self.market.on_trade(trade)
        return trade

    def book(self, symbol: str, bids: Sequence[tuple[Decimal, Decimal]],
             asks: Sequence[tuple[Decimal, Decimal]]) -> None:
        """Replace the L2 book with these levels now (one snapshot message without update ids)."""
        now = self.clock.now_ns()
        levels = [(BOOK_BID, p, q) for p, q in bids] + [(BOOK_ASK, p, q) for p, q in asks]
        for i, (side, price, size) in enumerate(levels):
            flags = F_SNAPSHOT | (F_LAST if i == len(levels) - 1 else 0)
            self.market.on_book(BookDelta(now, now, self.venue.name, symbol, side, to_fixed(price), to_fixed(size),
                                          -1, -1, -1, flags))

    # ------------------------------------------------------------------ WebSocket endpoints

    def _peer(self, ws: web.WebSocketResponse, request: web.Request, kind: str) -> Peer:
        faults = self.faults.market if kind == "market" else self.faults.user
        peer = Peer(ws, request, kind, self.clock, faults=faults, disconnects=self.faults.disconnects)
        self.peers.append(peer)
        peer.start()
        return peer

    async def _market_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=self.config.heartbeat_s, autoping=True)
        await ws.prepare(request)
        combined = request.path.startswith("/stream")
        names = request.query.get("streams", "").split("/") if combined else request.match_info.get(
            "tail", "").split("/")
        peer = self._peer(ws, request, "market")
        stream_peer = StreamPeer(peer, combined)
        self.hub.add(stream_peer, [n for n in names if n])
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self.hub.control(stream_peer, message.data)
        finally:
            self.hub.remove(stream_peer)
            await self._forget(peer)
        return ws

    async def _api_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=self.config.heartbeat_s, autoping=True)
        await ws.prepare(request)
        peer = self._peer(ws, request, "ws-api")
        session = WsApiSession(peer, self.pipeline, self.users)
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    try:
                        session.handle(message.data)
                    except DropConnection:
                        peer.cut()
                        break
        finally:
            session.close()
            await self._forget(peer)
        return ws

    async def _coinbase_ws(self, request: web.Request) -> web.WebSocketResponse:
        assert self.coinbase is not None
        return await self.coinbase.handle(request, self.peers)

    async def _forget(self, peer: Peer) -> None:
        if peer in self.peers:
            self.peers.remove(peer)
        await peer.close()

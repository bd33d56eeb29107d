"""Bybit's private WS for the adapter: ``auth`` on every (re)connect, then the private topics.

``BybitPrivateStream`` owns one ``BybitSocket`` to ``/v5/private``. Each time the connection
opens it authenticates with a fresh ``expires`` (venue time from the REST clock offset, 10 s
ahead) and ``hex(HMAC_SHA256(secret, "GET/realtime" + expires))``, then subscribes ``order``,
``execution``, ``wallet`` and ``position`` (``PRIVATE_TOPICS``). ``order`` pushes become
``OrderReport``s and ``execution`` pushes of type Trade become ``Fill``s for the subscribers,
``position`` pushes (linear) ``PositionReport``s (``live.bybit.linear``; a flat row has quantity
0); rows of another category are skipped. Wallet pushes are not used: balances are read by
query (reconciliation). ``on_symbol`` hears each symbol an order names.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from harness.clock import Clock
from harness.contract import FillCallback, OrderUpdateCallback
from harness.model import PositionReport, VenueMode
from harness.registry import Credentials
from live.bybit import codec
from live.bybit.linear import position_report
from live.bybit.socket import BybitSocket
from live.handles import UndoHandle
from live.rest.protocol import TimeSync
from live.signing import bybit_ws_auth_signature
from live.ws.state import WsSettings

__all__ = ["PRIVATE_TOPICS", "BybitPrivateStream", "PositionCallback"]

PositionCallback = Callable[[PositionReport], None]
"""Told each pushed position (a flat one with quantity 0)."""

PRIVATE_TOPICS = ("order", "execution", "wallet", "position")
"""The private topics subscribed after ``auth``, in this order."""


class BybitPrivateStream:
    """Order updates and fills from the private WS (see the module docstring)."""

    def __init__(self, url: str, *, clock: Clock, credentials: Credentials, time: TimeSync,
                 settings: WsSettings | None = None, rng: random.Random | None = None,
                 mode: VenueMode = VenueMode.SANDBOX, timeout_ns: int = 10_000_000_000, venue: str = "bybit",
                 category: str = "spot", on_symbol: Callable[[str], None] | None = None) -> None:
        self.socket = BybitSocket("private", url, clock=clock, settings=settings, rng=rng, mode=mode,
                                  timeout_ns=timeout_ns, on_open=self._authenticate, venue=venue)
        self._clock = clock
        self._credentials = credentials
        self._time = time
        self._venue = venue
        self._category = category
        self._on_symbol = on_symbol
        self.order_subscribers: list[OrderUpdateCallback] = []
        self.fill_subscribers: list[FillCallback] = []
        self.position_subscribers: list[PositionCallback] = []
        self._registered = False

    async def start(self, open_timeout_ns: int) -> None:
        """Connect, authenticate and subscribe every private topic."""
        if not self._registered:
            handlers = {"order": self._on_order, "execution": self._on_execution, "position": self._on_position}
            for topic in PRIVATE_TOPICS:
                await self.socket.subscribe(topic, handlers.get(topic, self._ignore))
            self._registered = True
        await self.socket.start(open_timeout_ns)

    async def close(self) -> None:
        """Close the connection."""
        await self.socket.close()

    def subscribe_orders(self, callback: OrderUpdateCallback) -> UndoHandle:
        """Every ``order`` push, as ``OrderReport``."""
        self.order_subscribers.append(callback)
        subscribers = self.order_subscribers
        return UndoHandle(lambda: subscribers.remove(callback) if callback in subscribers else None)

    def subscribe_fills(self, callback: FillCallback) -> UndoHandle:
        """Every ``execution`` push of type Trade, as ``Fill``."""
        self.fill_subscribers.append(callback)
        subscribers = self.fill_subscribers
        return UndoHandle(lambda: subscribers.remove(callback) if callback in subscribers else None)

    def subscribe_positions(self, callback: PositionCallback) -> UndoHandle:
        """Every ``position`` push, as ``PositionReport``."""
        self.position_subscribers.append(callback)
        subscribers = self.position_subscribers
        return UndoHandle(lambda: subscribers.remove(callback) if callback in subscribers else None)

    async def _authenticate(self) -> None:
        expires = self._time.timestamp_ms(self._clock.now_ns()) + 10_000
        signature = bybit_ws_auth_signature(self._credentials.secret, expires)
        await self.socket.request("auth", [self._credentials.api_key, expires, signature])

    def _rows(self, message: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        rows = codec.field(message, "data")
        return [r for r in rows if isinstance(r, Mapping) and r.get("category", self._category) == self._category] \
            if isinstance(rows, list) else []

    def _on_order(self, message: Mapping[str, Any]) -> None:
        for row in self._rows(message):
            report = codec.order_report(row, self._venue)
            if self._on_symbol is not None:
                self._on_symbol(report.symbol)
            for callback in list(self.order_subscribers):
                callback(report)

    def _on_execution(self, message: Mapping[str, Any]) -> None:
        for row in self._rows(message):
            fill = codec.execution_fill(row, self._venue)
            if fill is not None:
                for callback in list(self.fill_subscribers):
                    callback(fill)

    def _on_position(self, message: Mapping[str, Any]) -> None:
        for row in self._rows(message):
            report = position_report(row, self._clock.now_ns(), self._venue)
            if report is None:
                report = PositionReport(self._venue, str(codec.field(row, "symbol")), Decimal(0), Decimal(0),
                                        codec.millis(row, "updatedTime"))
            for callback in list(self.position_subscribers):
                callback(report)

    def _ignore(self, message: Mapping[str, Any]) -> None:
        """Wallet pushes: read by query instead."""

"""Binance user data over the WS API: ``userDataStream.subscribe.signature``, not listen keys.

The listen-key endpoints are retired (``spec/venues.md`` §1.9): user data now comes on a WS-API
connection after a signed ``userDataStream.subscribe.signature`` (``apiKey``, ``timestamp``,
``signature``), as ``{"subscriptionId": n, "event": {...}}``. ``UserStream`` holds that
connection (``live.ws.api.WsApiClient``), subscribes when it opens and again after every
reconnect with a fresh timestamp and signature (a replayed message would be stale), and hands
each event to ``on_event``. Its ``round_trip`` (a ``ping``) is a delivery barrier for the events
sent before it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from typing import Any

from harness.clock import Clock
from harness.model import VenueMode
from harness.registry import Credentials
from live.rest.protocol import TimeSync
from live.ws.api import WsApiClient
from live.ws.connection import WsEvent
from live.ws.state import WsSettings

__all__ = ["UserStream"]

logger = logging.getLogger(__name__)

EventCallback = Callable[[Mapping[str, Any]], None]


class UserStream:
    """The user-data subscription on one WS-API connection (see the module docstring)."""

    def __init__(self, url: str, *, clock: Clock, credentials: Credentials, time: TimeSync,
                 on_event: EventCallback, settings: WsSettings | None = None, rng: random.Random | None = None,
                 mode: VenueMode = VenueMode.SANDBOX, timeout_ns: int = 10_000_000_000,
                 recv_window_ms: int = 5000) -> None:
        self.api = WsApiClient("user", url, clock=clock, credentials=credentials, settings=settings, rng=rng,
                               timeout_ns=timeout_ns, recv_window_ms=recv_window_ms, mode=mode, on_push=self._on_push)
        self.api.time = time  # the REST client's offset: one venue clock for every signed request
        self.api.connection.add_listener(self._on_connection)
        self._on_event = on_event
        self.subscription_id: int | None = None
        self.subscriptions = 0
        self._resubscribe: asyncio.Task[None] | None = None

    async def start(self, open_timeout_ns: int) -> None:
        """Connect and subscribe; returns once the venue confirmed the subscription."""
        await self.api.start()
        await self.api.connection.wait_open(open_timeout_ns)
        await self.subscribe()

    async def subscribe(self) -> None:
        """Send a freshly signed ``userDataStream.subscribe.signature``."""
        result = await self.api.request("userDataStream.subscribe.signature", signed=True)
        if isinstance(result, dict) and isinstance(result.get("subscriptionId"), int):
            self.subscription_id = result["subscriptionId"]
        self.subscriptions += 1

    async def round_trip(self) -> None:
        """A ``ping``: every event the venue sent before its answer has been handled."""
        await self.api.request("ping")

    async def close(self) -> None:
        """Close the connection."""
        if self._resubscribe is not None:
            self._resubscribe.cancel()
            await asyncio.gather(self._resubscribe, return_exceptions=True)
        await self.api.close()

    def _on_connection(self, event: WsEvent) -> None:
        if event.kind == "reconnected":
            self._resubscribe = asyncio.get_running_loop().create_task(self._subscribe_again())

    async def _subscribe_again(self) -> None:
        try:
            await self.subscribe()
        except Exception as error:  # the connection drops again, or the venue refuses: logged, next reconnect retries
            logger.warning("user stream: resubscribe failed: %s", error)

    def _on_push(self, message: Mapping[str, object]) -> None:
        event = message.get("event")
        if isinstance(event, dict):
            self._on_event(event)

"""Binance market streams over one combined-stream connection, with live SUBSCRIBE.

``MarketStreams`` keeps one ``WsConnection`` to ``<streams>/stream`` and subscribes with
``{"method": "SUBSCRIBE", "params": [name], "id": n}``; the connection replays every
subscription after a reconnect (``live.ws.state``). ``subscribe`` returns once the venue has
acknowledged (``{"result": null, "id": n}``), so a book snapshot fetched afterwards cannot miss
the diffs that follow it. Events arrive as ``{"stream": name, "data": event}`` and are handed,
synchronously, to the stream's handlers. ``round_trip`` asks ``LIST_SUBSCRIPTIONS`` and waits
for the answer: everything the venue sent before it has been delivered by then.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
from collections.abc import Callable, Mapping
from typing import Any

from harness.clock import Clock
from harness.contract import RetryableError
from harness.model import VenueMode
from live.ws.connection import WsConnection, WsListener, wait_with_timeout
from live.ws.state import WsSettings

__all__ = ["EventHandler", "MarketStreams"]

logger = logging.getLogger(__name__)

EventHandler = Callable[[Mapping[str, Any]], None]
"""Receives one stream event (the ``data`` of the combined wrapper)."""


class MarketStreams:
    """Subscriptions to Binance market streams on one self-healing connection."""

    def __init__(self, base_url: str, *, clock: Clock, settings: WsSettings | None = None,
                 rng: random.Random | None = None, mode: VenueMode = VenueMode.SANDBOX,
                 timeout_ns: int = 10_000_000_000, listeners: tuple[WsListener, ...] = ()) -> None:
        self.connection = WsConnection("market", f"{base_url.rstrip('/')}/stream", clock=clock,
                                       on_message=self._on_message, settings=settings, rng=rng, mode=mode,
                                       listeners=listeners)
        self._clock = clock
        self._timeout_ns = timeout_ns
        self._handlers: dict[str, list[EventHandler]] = {}
        self._answers: dict[int, asyncio.Future[object]] = {}
        self._ids = itertools.count(1)
        self.events = 0

    async def start(self) -> None:
        """Start connecting (in the background)."""
        await self.connection.start()

    async def close(self) -> None:
        """Close the connection (subscriptions are kept and replayed if started again)."""
        await self.connection.close()

    async def subscribe(self, stream: str, handler: EventHandler) -> None:
        """Deliver ``stream``'s events to ``handler``; subscribes at the venue on the first handler."""
        handlers = self._handlers.setdefault(stream, [])
        handlers.append(handler)
        if len(handlers) > 1:
            return
        request_id = next(self._ids)
        message = json.dumps({"method": "SUBSCRIBE", "params": [stream], "id": request_id})
        answer = self._expect(request_id)
        await self.connection.subscribe(stream, message)
        await self._await(request_id, answer, f"SUBSCRIBE {stream}")

    async def unsubscribe(self, stream: str, handler: EventHandler) -> None:
        """Stop delivering to ``handler``; unsubscribes at the venue after the last one."""
        handlers = self._handlers.get(stream, [])
        if handler in handlers:
            handlers.remove(handler)
        if handlers or stream not in self._handlers:
            return
        del self._handlers[stream]
        message = json.dumps({"method": "UNSUBSCRIBE", "params": [stream], "id": next(self._ids)})
        await self.connection.unsubscribe(stream, message)

    async def round_trip(self) -> None:
        """Ask the venue for the subscription list and wait for the answer (a delivery barrier)."""
        request_id = next(self._ids)
        answer = self._expect(request_id)
        await self.connection.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": request_id}))
        await self._await(request_id, answer, "LIST_SUBSCRIPTIONS")

    def _expect(self, request_id: int) -> asyncio.Future[object]:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._answers[request_id] = future
        return future

    async def _await(self, request_id: int, future: asyncio.Future[object], what: str) -> None:
        try:
            done = await wait_with_timeout(future, self._timeout_ns, self._clock)
        finally:
            self._answers.pop(request_id, None)
        if done is None:
            raise RetryableError(f"{what}: no answer from the market stream", venue="binance")
        done.result()

    def _on_message(self, message: str | bytes) -> None:
        data = json.loads(message)
        if not isinstance(data, dict):
            return
        stream = data.get("stream")
        if isinstance(stream, str):
            event = data.get("data")
            handlers = self._handlers.get(stream)
            if handlers and isinstance(event, dict):
                self.events += 1
                for handler in list(handlers):
                    handler(event)
            return
        request_id = data.get("id")
        future = self._answers.get(request_id) if isinstance(request_id, int) else None
        if future is None or future.done():
            return  # the answer to a replayed subscription, or to a request that gave up
        if "error" in data:
            future.set_exception(RetryableError(f"market stream refused the request: {data['error']}",
                                                venue="binance"))
        else:
            future.set_result(data.get("result"))

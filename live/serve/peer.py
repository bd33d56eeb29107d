"""One WebSocket client of the local venue: what it is sent, in order, through the faults.

Anything the venue publishes is handed to ``Peer.send`` synchronously (matching and market
data are synchronous, and may even run while the event loop is idle, from a test's market
driver): the text goes into the peer's outbox, and the peer's writer task sends it. Faults
(``live.serve.faults``) decide on the way in: a message may be dropped, duplicated or delayed
(the outbox is ordered by arrival time, ties in send order), and a ``DisconnectFault`` may cut
the connection. ``sent`` counts the messages written to the socket.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from harness.clock import Clock
from live.serve.faults import DisconnectFault, StreamFault

__all__ = ["Peer"]

logger = logging.getLogger(__name__)


class Peer:
    """A connected WebSocket (market streams or the WS API) and its outbox."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, kind: str, clock: Clock, *,
                 faults: Sequence[StreamFault] = (), disconnects: Sequence[DisconnectFault] = ()) -> None:
        self.ws = ws
        self.kind = kind
        self.clock = clock
        self.faults = faults
        self.disconnects = disconnects
        self.sent = 0
        self.closed = False
        self._request = request
        self._heap: list[tuple[int, int, str]] = []
        self._seq = itertools.count()
        self._ready = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the writer task (inside the running loop)."""
        self._writer = asyncio.get_running_loop().create_task(self._write(), name=f"peer-{self.kind}")

    def send(self, payload: Any, item: object = None) -> None:
        """Queue ``payload`` (JSON-able) for this peer; ``item`` is what the stream faults are shown."""
        if self.closed:
            return
        now = self.clock.now_ns()
        arrivals: Sequence[int] = (now,)
        if self.faults:
            shown = payload if item is None else item
            times = [now]
            for fault in self.faults:
                times = [t for arrival in times for t in fault.on_message(now, arrival, shown)]
            arrivals = sorted(times)
        if not arrivals:
            return
        text = json.dumps(payload, separators=(",", ":"))
        for at in arrivals:
            heapq.heappush(self._heap, (at, next(self._seq), text))
        self._ready.set()

    def pending(self) -> int:
        """Messages queued and not yet written."""
        return len(self._heap)

    async def _write(self) -> None:
        try:
            while not self.closed:
                if not self._heap:
                    self._ready.clear()
                    await self._ready.wait()
                    continue
                at, _, text = self._heap[0]
                wait = at - self.clock.now_ns()
                if wait > 0:
                    self._ready.clear()
                    sleeper = asyncio.ensure_future(self.clock.sleep_ns(wait))
                    woken = asyncio.ensure_future(self._ready.wait())
                    await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
                    sleeper.cancel()
                    woken.cancel()
                    continue
                heapq.heappop(self._heap)
                if any(d.cut(self.kind, self.clock.now_ns()) for d in self.disconnects):
                    self.cut()
                    return
                await self.ws.send_str(text)
                self.sent += 1
        except (ConnectionError, RuntimeError) as exc:  # the peer went away while we wrote
            logger.debug("peer %s: write failed: %s", self.kind, exc)
            self.closed = True

    def cut(self) -> None:
        """Drop the connection abruptly (no close frame), as a network failure would."""
        self.closed = True
        transport = self._request.transport
        if transport is not None:
            transport.abort()

    async def close(self) -> None:
        """Stop the writer and close the socket with a normal close frame."""
        self.closed = True
        self._ready.set()
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        if not self.ws.closed:
            await self.ws.close()

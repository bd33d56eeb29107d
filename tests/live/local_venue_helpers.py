"""Shared helpers of the local-venue tests: a started ``LocalVenue``, signed raw requests, a WS reader."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import aiohttp

from harness.clock import ScaledClock
from live.serve import LocalVenue, LocalVenueConfig
from live.serve.faults import ServeFaults

API_KEY = "test-api-key-0123456789abcdefghij"
SECRET = "test-secret-0123456789abcdefghijklmnopq"
BID, ASK = Decimal(60000), Decimal("60000.10")


@asynccontextmanager
async def local_venue(*, speed: int = 1, faults: ServeFaults | None = None, quote: bool = True,
                      **config: Any) -> AsyncIterator[LocalVenue]:
    """A started local venue (Binance profile, one API key) with a BTCUSDT quote set."""
    venue = LocalVenue(LocalVenueConfig(api_keys={API_KEY: SECRET}, clock=ScaledClock(speed),
                                        faults=faults or ServeFaults(), **config))
    await venue.start()
    if quote:
        venue.quote("BTCUSDT", BID, ASK)
    try:
        yield venue
    finally:
        await venue.stop()


def signed_query(params: list[tuple[str, str]], now_ms: int, secret: str = SECRET) -> str:
    """``k=v&...&timestamp=..&signature=..`` signed as Binance's REST rule says (query only)."""
    text = "&".join(f"{k}={v}" for k, v in [*params, ("timestamp", str(now_ms))])
    return f"{text}&signature={hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()}"


async def raw(session: aiohttp.ClientSession, method: str, url: str, *, data: str | None = None,
              key: str | None = API_KEY) -> tuple[int, dict[str, str], Any]:
    """One raw HTTP request: status, headers, decoded JSON."""
    headers = {"X-MBX-APIKEY": key} if key else {}
    if data is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    async with session.request(method, url, data=data, headers=headers) as response:
        body = await response.text()
        return response.status, dict(response.headers), json.loads(body) if body else None

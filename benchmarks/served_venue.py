"""What the live-path benchmarks share: a local venue on a background thread, a profile without rate limits.

``live_path.py``, ``bybit_path.py`` and ``fix_order_entry.py`` time clients against a local venue
served on 127.0.0.1. The venue runs on its own event loop in a daemon thread (so the client's
loop measures only the client), with BTCUSDT quoted; its profile's rate limits are lifted so a
thousand round trips are never throttled (the benchmarks measure the transport, not the limits).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from live.serve import LocalVenue
from sim.venue.limits import RateLimitConfig
from sim.venue.profile import VenueProfile, load_profile

__all__ = ["VenueThread", "percentile", "unlimited_profile"]


def unlimited_profile(name: str) -> VenueProfile:
    """The shipped profile ``name`` with every rate-limit rule raised out of reach and no ban."""
    profile = load_profile(name)
    rules = tuple(replace(rule, limit=10**12) for rule in profile.rate_limits.rules)
    return replace(profile, rate_limits=RateLimitConfig(rules=rules, weights=profile.rate_limits.weights, ban=None))


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class VenueThread:
    """``venue`` started on its own event loop in a background thread, BTCUSDT quoted 60000 / 60000.10."""

    def __init__(self, venue: LocalVenue) -> None:
        self.loop = asyncio.new_event_loop()
        self.venue = venue
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def run(self, factory: Callable[[], Awaitable[Any]]) -> Any:
        """Run a coroutine on the venue's loop and wait for its result."""
        async def wrapped() -> Any:
            return await factory()
        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result()

    def __enter__(self) -> VenueThread:
        self.thread.start()
        self.run(self.venue.start)

        async def quote() -> None:
            self.venue.quote("BTCUSDT", Decimal(60000), Decimal("60000.10"))
        self.run(quote)
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self.venue.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()

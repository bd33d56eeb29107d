"""The reconnect backoff every live transport uses: 1, 2, 4, 8, 16 s, then 30 s.

One ``harness.errors.RetryPolicy`` so WebSocket and FIX reconnects follow the same schedule
(Property 11; the seed's error-handling section: 1 s, 2 s, 4 s, 8 s ..., capped here at 30 s).
"""

from __future__ import annotations

from decimal import Decimal

from harness.clock import NS_PER_SECOND
from harness.errors import RetryPolicy

__all__ = ["DEFAULT_BACKOFF"]

DEFAULT_BACKOFF = RetryPolicy(initial_delay_ns=NS_PER_SECOND, multiplier=Decimal(2), max_delay_ns=30 * NS_PER_SECOND,
                              max_retries=0, jitter=Decimal(0))
"""Doubling from 1 s, capped at 30 s, no jitter. ``max_retries`` is not consulted: transports retry until closed."""

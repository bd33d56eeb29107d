"""The FIX dialect of a venue, by name (the local venue's ``--profile`` and the adapters use it)."""

from __future__ import annotations

from live.fix.dialects.base import FixDialect
from live.fix.dialects.binance import BINANCE_FIX
from live.fix.dialects.coinbase import COINBASE_FIX

__all__ = ["dialect_for"]


def dialect_for(venue: str) -> FixDialect:
    """``binance`` or ``coinbase``; ``ValueError`` naming the known ones otherwise."""
    dialects: dict[str, FixDialect] = {"binance": BINANCE_FIX, "coinbase": COINBASE_FIX}
    if venue not in dialects:
        raise ValueError(f"no FIX dialect for venue {venue!r}; known: {', '.join(sorted(dialects))}")
    return dialects[venue]

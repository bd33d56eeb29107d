"""The simulated world: one virtual clock (``kernel``), the replay source (``market``), the
channels every venue-client stream passes through, simulated venues (``venue``) and
``SimAdapter``, the adapter contract served by a simulated venue.

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "MARKET_LATENCY_BATCH": "sim.adapter",
    "SimAdapter": "sim.adapter",
    "BarStreams": "sim.bars",
    "BarSubscription": "sim.bars",
    "IDLE": "sim.channels",
    "MarketDataChannel": "sim.channels",
    "PushChannel": "sim.channels",
    "RequestChannel": "sim.channels",
    "RequestFault": "sim.channels",
    "StreamFault": "sim.channels",
    "TapSet": "sim.channels",
    "kernel": "sim.kernel",
    "market": "sim.market",
    "venue": "sim.venue",
}

__all__ = [
    "IDLE",
    "MARKET_LATENCY_BATCH",
    "BarStreams",
    "BarSubscription",
    "MarketDataChannel",
    "PushChannel",
    "RequestChannel",
    "RequestFault",
    "SimAdapter",
    "StreamFault",
    "TapSet",
    "kernel",
    "market",
    "venue",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from sim import kernel, market, venue
    from sim.adapter import MARKET_LATENCY_BATCH, SimAdapter
    from sim.bars import BarStreams, BarSubscription
    from sim.channels import IDLE, MarketDataChannel, PushChannel, RequestChannel, RequestFault, StreamFault, TapSet

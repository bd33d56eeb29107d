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
    "RequestDelay": "sim.channels",
    "RequestFault": "sim.channels",
    "StreamFault": "sim.channels",
    "SubscriptionRefusal": "sim.channels",
    "TapSet": "sim.channels",
    "ClientBook": "sim.client_book",
    "SNAPSHOT_DEPTH": "sim.client_book",
    "snapshot_levels": "sim.client_book",
    "EVENT_KINDS": "sim.client_links",
    "EventLog": "sim.client_links",
    "LinkSettings": "sim.client_links",
    "StreamEvent": "sim.client_links",
    "StreamLink": "sim.client_links",
    "ClientSession": "sim.client_session",
    "MarketSubscriptions": "sim.market_streams",
    "faults": "sim.faults",
    "kernel": "sim.kernel",
    "market": "sim.market",
    "venue": "sim.venue",
}

__all__ = [
    "EVENT_KINDS",
    "IDLE",
    "MARKET_LATENCY_BATCH",
    "SNAPSHOT_DEPTH",
    "BarStreams",
    "BarSubscription",
    "ClientBook",
    "ClientSession",
    "EventLog",
    "LinkSettings",
    "MarketDataChannel",
    "MarketSubscriptions",
    "PushChannel",
    "RequestChannel",
    "RequestDelay",
    "RequestFault",
    "SimAdapter",
    "StreamEvent",
    "StreamFault",
    "StreamLink",
    "SubscriptionRefusal",
    "TapSet",
    "faults",
    "kernel",
    "market",
    "snapshot_levels",
    "venue",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from sim import faults, kernel, market, venue
    from sim.adapter import MARKET_LATENCY_BATCH, SimAdapter
    from sim.bars import BarStreams, BarSubscription
    from sim.channels import (
        IDLE,
        MarketDataChannel,
        PushChannel,
        RequestChannel,
        RequestDelay,
        RequestFault,
        StreamFault,
        SubscriptionRefusal,
        TapSet,
    )
    from sim.client_book import SNAPSHOT_DEPTH, ClientBook, snapshot_levels
    from sim.client_links import EVENT_KINDS, EventLog, LinkSettings, StreamEvent, StreamLink
    from sim.client_session import ClientSession
    from sim.market_streams import MarketSubscriptions

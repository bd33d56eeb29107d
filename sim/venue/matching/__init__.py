"""The matching engine of one simulated symbol: book, queue positions, stops, fills, events.

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "BookSide": "sim.venue.matching.book",
    "EngineCore": "sim.venue.matching.core",
    "INF": "sim.venue.matching.core",
    "MatchingEngine": "sim.venue.matching.engine",
    "QueueTracker": "sim.venue.matching.queue",
    "stop_condition_met": "sim.venue.matching.stops",
    "trailing_start": "sim.venue.matching.stops",
    "trailing_step": "sim.venue.matching.stops",
    "trigger_bounds": "sim.venue.matching.stops",
    "CancelRejected": "sim.venue.matching.types",
    "DepthMode": "sim.venue.matching.types",
    "MatchEvent": "sim.venue.matching.types",
    "MatchingConfig": "sim.venue.matching.types",
    "ModifyRejected": "sim.venue.matching.types",
    "OrderAccepted": "sim.venue.matching.types",
    "OrderCancelled": "sim.venue.matching.types",
    "OrderExpired": "sim.venue.matching.types",
    "OrderFilled": "sim.venue.matching.types",
    "OrderModified": "sim.venue.matching.types",
    "OrderRejected": "sim.venue.matching.types",
    "OrderTriggered": "sim.venue.matching.types",
    "REASON_FOK": "sim.venue.matching.types",
    "REASON_GTD": "sim.venue.matching.types",
    "REASON_IOC": "sim.venue.matching.types",
    "REASON_MARKET_REMAINDER": "sim.venue.matching.types",
    "REASON_NO_LIQUIDITY": "sim.venue.matching.types",
    "REASON_POST_ONLY": "sim.venue.matching.types",
    "REASON_TRIGGER_NOW": "sim.venue.matching.types",
    "REASON_UNKNOWN_ORDER": "sim.venue.matching.types",
    "SimOrder": "sim.venue.matching.types",
    "compute_fee": "sim.venue.matching.types",
    "rate_units": "sim.venue.matching.types",
}

__all__ = [
    "INF",
    "REASON_FOK",
    "REASON_GTD",
    "REASON_IOC",
    "REASON_MARKET_REMAINDER",
    "REASON_NO_LIQUIDITY",
    "REASON_POST_ONLY",
    "REASON_TRIGGER_NOW",
    "REASON_UNKNOWN_ORDER",
    "BookSide",
    "CancelRejected",
    "DepthMode",
    "EngineCore",
    "MatchEvent",
    "MatchingConfig",
    "MatchingEngine",
    "ModifyRejected",
    "OrderAccepted",
    "OrderCancelled",
    "OrderExpired",
    "OrderFilled",
    "OrderModified",
    "OrderRejected",
    "OrderTriggered",
    "QueueTracker",
    "SimOrder",
    "compute_fee",
    "rate_units",
    "stop_condition_met",
    "trailing_start",
    "trailing_step",
    "trigger_bounds",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from sim.venue.matching.book import BookSide
    from sim.venue.matching.core import INF, EngineCore
    from sim.venue.matching.engine import MatchingEngine
    from sim.venue.matching.queue import QueueTracker
    from sim.venue.matching.stops import stop_condition_met, trailing_start, trailing_step, trigger_bounds
    from sim.venue.matching.types import (
        REASON_FOK,
        REASON_GTD,
        REASON_IOC,
        REASON_MARKET_REMAINDER,
        REASON_NO_LIQUIDITY,
        REASON_POST_ONLY,
        REASON_TRIGGER_NOW,
        REASON_UNKNOWN_ORDER,
        CancelRejected,
        DepthMode,
        MatchEvent,
        MatchingConfig,
        ModifyRejected,
        OrderAccepted,
        OrderCancelled,
        OrderExpired,
        OrderFilled,
        OrderModified,
        OrderRejected,
        OrderTriggered,
        SimOrder,
        compute_fee,
        rate_units,
    )

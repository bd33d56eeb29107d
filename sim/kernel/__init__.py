"""The one virtual clock: asyncio on SimPy's calendar in integer nanoseconds, and the batch
market-data protocol sources deliver through. It touches its own internals and nobody else's.

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "FutureCancelledError": "sim.kernel.loop",
    "SimEnvironment": "sim.kernel.loop",
    "SimLoop": "sim.kernel.loop",
    "SimulationStalledError": "sim.kernel.loop",
    "SimClock": "sim.kernel.runtime",
    "SimRuntime": "sim.kernel.runtime",
    "MarketSource": "sim.kernel.sources",
    "VirtualTime": "sim.kernel.sources",
}

__all__ = [
    "FutureCancelledError",
    "MarketSource",
    "SimClock",
    "SimEnvironment",
    "SimLoop",
    "SimRuntime",
    "SimulationStalledError",
    "VirtualTime",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from sim.kernel.loop import FutureCancelledError, SimEnvironment, SimLoop, SimulationStalledError
    from sim.kernel.runtime import SimClock, SimRuntime
    from sim.kernel.sources import MarketSource, VirtualTime

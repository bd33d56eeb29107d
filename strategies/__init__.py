"""Example strategies: user code, importing only ``harness``.

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "PassiveMarketMaker": "strategies.market_maker",
    "TwapTaker": "strategies.twap",
}

__all__ = [
    "PassiveMarketMaker",
    "TwapTaker",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from strategies.market_maker import PassiveMarketMaker
    from strategies.twap import TwapTaker

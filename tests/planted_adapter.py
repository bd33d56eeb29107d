"""A simulated adapter with a planted bug, for the fault search to find (tests only).

``BlindResendAdapter`` times out its order submits after 2 s and then sends the same order again
at once, blindly, instead of asking the venue whether the first one landed. On Binance a client
order id may be used again once its order is closed, so when the first order was accepted and
filled, the venue takes the second as a new order: two venue orders for one idempotency key.
"""

from __future__ import annotations

from harness.contract import AmbiguousError
from harness.model import OrderReport, OrderRequest, VenueMode
from sim.adapter import SimAdapter
from sim.client_links import LinkSettings
from sim.kernel.runtime import SimRuntime
from sim.venue.venue import SimVenue


class BlindResendAdapter(SimAdapter):
    """Resends a timed-out submit without looking (the bug)."""

    def __init__(self, venue: SimVenue, runtime: SimRuntime, *, mode: VenueMode = VenueMode.SANDBOX) -> None:
        super().__init__(venue, runtime, mode=mode, settings=LinkSettings(request_timeout_ns=2_000_000_000))

    async def submit_order(self, request: OrderRequest) -> OrderReport:
        """Send; on a timeout, send the very same order again."""
        try:
            return await super().submit_order(request)
        except AmbiguousError as error:
            if error.code != "TIMEOUT":
                raise
            return await super().submit_order(request)  # the planted bug: no lookup first

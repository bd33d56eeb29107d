"""Queue position of our resting orders: how market data at our price moves ``queue_ahead``.

The matching core sets an order's first estimate when it rests (``EngineCore._rest``) and
subtracts trades at its price as they come (``EngineCore._trade_hits``). Everything else that
moves the estimate is here: L2 updates of our level, the top of book moving in QUOTES mode,
and snapshots. The rules, in one place:

* **Arrival time.** An order joins the queue at ``SimOrder.arrived_ns``. Data stamped before
  that but received after it shows the level as it stood before we joined: its whole change is
  in front of us, and it cannot yet show the trades at our price seen since we rest (they came
  later), so those stay pending. Data stamped at or after our arrival is ours to explain.
* **Explaining a change.** A decrease is first the trades at our price since the last update,
  then cancellations, which the ``QueueModel`` splits into ahead of us and behind us; an
  increase joined behind us. The estimate never exceeds the level's size.
* **First sight.** An estimate that was a default (``queue_known`` False: the level, or our
  whole side of the book, was not visible when we rested) becomes the level's size.
* **Whole lots.** Cancellations the level forces ahead of us (more than stood behind) apply at
  once; of the model's estimate beyond that, whole lots apply and the remainder is carried on
  the order (``SimOrder.queue_carry``) into the next cancellation.
"""

from __future__ import annotations

from sim.venue.matching.types import SimOrder
from sim.venue.queue_models import QueueModel

__all__ = ["QueueTracker"]


class QueueTracker:
    """Applies market data at our price to the queue estimates of one engine's orders."""

    __slots__ = ("lot", "model")

    def __init__(self, model: QueueModel, lot: int) -> None:
        """``model`` splits cancellations; ``lot`` (fixed-point, > 0) is the grid the queue moves on."""
        self.model = model
        self.lot = lot

    def level_changed(self, o: SimOrder, prev: int, new: int, ts: int) -> None:
        """``o``'s level went from ``prev`` to ``new`` displayed size in an update stamped ``ts``."""
        if ts < o.arrived_ns:  # the level before we joined it: all of the change is ahead of us
            o.queue_ahead = max(0, min(o.queue_ahead + new - prev if o.queue_known else new, new))
            o.queue_known = True
            return
        traded = o.trade_since_update
        o.trade_since_update = 0
        if not o.queue_known:
            o.queue_ahead, o.queue_known = new, True
            return
        q = o.queue_ahead
        cancelled = prev - new - traded
        if cancelled > 0 and q > 0:
            behind = max(0, prev - traded - q)
            ahead_part = self.model.cancelled_ahead(q, behind, cancelled)
            forced = max(0, cancelled - behind)
            # the model's share beyond what was forced is an estimate in 1e-9 units: the queue
            # moves by its whole lots and carries the remainder to the next cancellation
            estimate = max(0, min(ahead_part, cancelled) - forced) + o.queue_carry
            carry = estimate % self.lot
            o.queue_carry = carry
            q -= min(q, forced + estimate - carry)
        q = max(0, min(q, new))
        if q == 0:
            o.queue_carry = 0
        o.queue_ahead = q

    def top_moved(
        self, orders: list[SimOrder], side: int, old_p: int, old_s: int, *, new_p: int, new_s: int, ts: int
    ) -> None:
        """QUOTES mode: the top of our side moved from (old_p, old_s) to (new_p, new_s) at ``ts``."""
        for o in orders:
            d = (o.price - new_p) * side
            if d > 0 or new_s == 0:
                o.queue_ahead, o.queue_known = 0, True  # our level has no market volume now
                o.trade_since_update = 0
                o.queue_carry = 0
            elif d == 0:
                if old_p == new_p:
                    self.level_changed(o, old_s, new_s, ts)
                elif ts < o.arrived_ns:  # the top as it stood before we arrived: all ahead
                    o.queue_ahead, o.queue_known = max(0, new_s - o.trade_since_update), True
                else:
                    o.queue_ahead = min(o.queue_ahead, new_s) if o.queue_known else new_s
                    o.queue_known = True
                    o.trade_since_update = 0
            else:
                break

    @staticmethod
    def snapshot_seen(o: SimOrder, size: int, stamp: int) -> None:
        """A snapshot stamped ``stamp`` shows ``size`` at ``o``'s price.

        Stamped before we arrived, all of it stood ahead of us, less the trades at our price
        seen since (they came after it). Stamped later, it clamps the estimate (or sets it,
        the first time the level is seen).
        """
        if stamp < o.arrived_ns:
            o.queue_ahead = max(0, size - o.trade_since_update)
        else:
            o.queue_ahead = min(o.queue_ahead, size) if o.queue_known else size
            o.trade_since_update = 0
        o.queue_known = True
        o.queue_carry = 0

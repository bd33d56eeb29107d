"""Queue-position models: who left the queue when a price level shrank without a trade.

A resting order of ours at price ``p`` tracks ``queue_ahead``, the market volume in front of
it. Trades at ``p`` consume the front of the queue, so the engine subtracts them directly.
A level that shrinks by more than the traded volume lost orders by cancellation, and the data
does not say whether they stood ahead of us or behind. A queue model answers that question:

    cancelled_ahead(ahead, behind, cancelled) -> how much of ``cancelled`` was ahead of us

with ``ahead + behind`` the level size before the cancellations and ``0 <= cancelled``. The
engine then sets ``queue_ahead = min(ahead - answer, new level size)``; cancellations larger
than ``behind`` must partly come from ahead, whatever the model says, and the engine enforces
that too. All quantities are fixed-point ints; models return ints.

Two families, after the estimators popularised by hftbacktest (the idea, not its code):

* ``ConservativeQueueModel``: cancellations come from behind us; only trades (and the level
  falling below our queue estimate) move us forward. Never flatters a strategy.
* ``PowerProbQueueModel`` / ``LogProbQueueModel``: the share of a cancellation taken from
  ahead is ``f(ahead) / (f(ahead) + f(behind))`` with ``f(x) = x**n`` or ``f(x) = ln(1 + x)``;
  the further back we stand, the likelier a cancel was in front. With ``rng=None`` the
  expected share is removed (deterministic, rounded down, i.e. toward the conservative side);
  with a seeded ``random.Random`` each cancellation is drawn as a whole: ahead with that
  probability, else behind. Either way a run is reproducible; the global RNG is never used.

Whole lots: models answer in 1e-9 units, but queues, fills and remainders stay on the symbol's
lot grid (``MatchingConfig.lot_size``). The engine applies what the level forces (cancellations
that cannot fit behind us, whole lots when the data is on the grid) at once; of the model's
estimate beyond that it applies the whole lots and carries the remainder, less than one lot,
on the order (``SimOrder.queue_carry``) into the next cancellation at that level. So a run of
cancellations advances the queue by the floor, to the lot grid, of the summed estimates (before
the clamp to the level's size): deterministic, never further than the exact expectation, short
of it by under one lot. Sampled and conservative answers are whole cancellations and leave no
remainder.
"""

from __future__ import annotations

import math
import random
from typing import Protocol

from harness.money import SCALE

__all__ = [
    "ConservativeQueueModel",
    "LogProbQueueModel",
    "PowerProbQueueModel",
    "QueueModel",
]


class QueueModel(Protocol):
    """Decides how much of a level's cancelled volume stood ahead of our order."""

    def cancelled_ahead(self, ahead: int, behind: int, cancelled: int) -> int:
        """Return the part of ``cancelled`` (0..``cancelled``) removed from in front of us."""


class ConservativeQueueModel:
    """Cancels come from behind us; only the overflow beyond the volume behind us was ahead.

    Equivalent to: queue_ahead shrinks by trades, and otherwise only when the level falls
    below it. The safe default for strategies whose edge depends on fill probability.
    """

    __slots__ = ()

    def cancelled_ahead(self, ahead: int, behind: int, cancelled: int) -> int:
        """Only the part of ``cancelled`` that cannot fit behind us came from ahead."""
        return min(ahead, max(0, cancelled - behind))

    def __repr__(self) -> str:
        """Readable in configuration dumps."""
        return "ConservativeQueueModel()"


class _ProbQueueModel:
    """Shared logic of the probabilistic models: integer weights, expected or sampled split."""

    __slots__ = ("_rng",)

    def __init__(self, rng: random.Random | None = None) -> None:
        """``rng`` seeded by the caller samples each cancellation; ``None`` uses the expectation."""
        self._rng = rng

    def _weights(self, ahead: int, behind: int) -> tuple[int, int]:
        """Integer weights ``(f(ahead), f(behind))``; subclasses define ``f``."""
        raise NotImplementedError

    def cancelled_ahead(self, ahead: int, behind: int, cancelled: int) -> int:
        """Split ``cancelled`` by ``f(ahead) / (f(ahead) + f(behind))``, then honour the bounds."""
        if cancelled <= 0 or ahead <= 0:
            return 0
        forced = max(0, cancelled - behind)  # cannot all have come from behind
        w_ahead, w_behind = self._weights(ahead, behind)
        total = w_ahead + w_behind
        if total <= 0:
            share = cancelled
        elif self._rng is None:
            share = cancelled * w_ahead // total
        else:
            share = cancelled if self._rng.randrange(total) < w_ahead else 0
        return min(ahead, cancelled, max(share, forced))


class PowerProbQueueModel(_ProbQueueModel):
    """Probability a cancel was ahead of us ``= ahead**n / (ahead**n + behind**n)`` (exact ints).

    ``n`` (a positive int) sets how strongly the position matters: larger ``n`` pushes the
    estimate toward "cancels happen on the longer side of us".
    """

    __slots__ = ("_n",)

    def __init__(self, n: int = 2, rng: random.Random | None = None) -> None:
        """``n`` >= 1 is the power; see ``_ProbQueueModel`` for ``rng``."""
        if not isinstance(n, int) or n < 1:
            raise ValueError("n must be a positive int")
        super().__init__(rng)
        self._n = n

    def _weights(self, ahead: int, behind: int) -> tuple[int, int]:
        """``(ahead**n, behind**n)``, exact big ints."""
        return ahead**self._n, max(0, behind) ** self._n

    def __repr__(self) -> str:
        """Readable in configuration dumps."""
        return f"PowerProbQueueModel(n={self._n}, sampled={self._rng is not None})"


_LOG_PRECISION = 1 << 32


class LogProbQueueModel(_ProbQueueModel):
    """Probability a cancel was ahead of us ``= ln(1+a) / (ln(1+a) + ln(1+b))``, sizes in ``unit``s.

    ``unit`` (fixed-point, default one whole base unit) scales sizes before the logarithm.
    The logarithm is a float, but it only ever forms a probability: it is turned into integer
    weights with 32 fractional bits, so quantities never pass through a float.
    """

    __slots__ = ("_unit",)

    def __init__(self, rng: random.Random | None = None, unit: int = SCALE) -> None:
        """``unit`` > 0 is the size that counts as 1 inside the logarithm."""
        if unit <= 0:
            raise ValueError("unit must be positive")
        super().__init__(rng)
        self._unit = unit

    def _weights(self, ahead: int, behind: int) -> tuple[int, int]:
        """Fixed-point ``ln(1 + x / unit)`` for both sides."""
        unit = self._unit
        w_ahead = round(math.log1p(ahead / unit) * _LOG_PRECISION)
        w_behind = round(math.log1p(max(0, behind) / unit) * _LOG_PRECISION)
        return w_ahead, w_behind

    def __repr__(self) -> str:
        """Readable in configuration dumps."""
        return f"LogProbQueueModel(unit={self._unit}, sampled={self._rng is not None})"

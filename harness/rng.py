"""Seeded randomness with named, independent streams; the global ``random`` is never touched.

Every consumer of randomness (a latency model, a fault injector, a strategy) asks the run's
``SeededRng`` for its own stream by a stable, dotted name::

    rng = SeededRng(42)
    latency = rng.stream("latency.binance")      # a random.Random
    fills = rng.numpy("fills.binance")           # a numpy.random.Generator

A stream's seed is ``sha256(domain, seed, kind, name)``: the same seed and name give the same
sequence in every process, on every machine and Python version that keeps ``random.Random``'s
seeding (documented as stable for int seeds) and numpy's ``PCG64``/``SeedSequence``. Different
names give unrelated streams, so adding a consumer never shifts the numbers another one draws;
that is what keeps a scenario reproducible as the code grows. Python's built-in ``hash()`` is
salted per process and is never used.

``stream`` and ``numpy`` cache their generator per name (one consumer, one stream); use
``child`` to give a component its own namespace, or ``derive_seed`` to build something else.
"""

from __future__ import annotations

import hashlib
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["SeededRng"]

_DOMAIN = b"exec-harness.rng.v1"


def _check_name(name: str) -> str:
    """Reject empty or non-string stream names with a clear error."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"stream name must be a non-empty str, got {name!r}")
    return name


class SeededRng:
    """A run's root of randomness: one integer seed, any number of named child streams."""

    __slots__ = ("_numpy", "_seed", "_streams")

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, not {type(seed).__name__}")
        self._seed = seed
        self._streams: dict[str, random.Random] = {}
        self._numpy: dict[str, np.random.Generator] = {}

    @property
    def seed(self) -> int:
        """The root seed this RNG was built from (recorded in every run manifest)."""
        return self._seed

    def derive_seed(self, name: str, *, kind: str = "seed") -> int:
        """A 256-bit integer derived from (seed, kind, name) with SHA-256; stable everywhere.

        ``kind`` separates uses of one name (``stream`` and ``numpy`` use their own kinds), so
        ``stream("x")`` and ``numpy("x")`` are independent too.
        """
        digest = hashlib.sha256(
            b"\x00".join((_DOMAIN, str(self._seed).encode(), kind.encode(), _check_name(name).encode()))
        ).digest()
        return int.from_bytes(digest, "big")

    def stream(self, name: str) -> random.Random:
        """The ``random.Random`` for ``name``, created on first use and cached for the run."""
        gen = self._streams.get(name)
        if gen is None:
            gen = random.Random(self.derive_seed(name, kind="random"))
            self._streams[name] = gen
        return gen

    def numpy(self, name: str) -> np.random.Generator:
        """The numpy ``Generator`` (PCG64) for ``name``, created on first use and cached."""
        gen = self._numpy.get(name)
        if gen is None:
            import numpy as np  # lazily: numpy is heavy and most runs never need it

            seq = np.random.SeedSequence(self.derive_seed(name, kind="numpy"))
            gen = np.random.Generator(np.random.PCG64(seq))
            self._numpy[name] = gen
        return gen

    def child(self, name: str) -> SeededRng:
        """A ``SeededRng`` for a sub-namespace (e.g. one venue), independent of its siblings."""
        return SeededRng(self.derive_seed(name, kind="child"))

    def __repr__(self) -> str:
        return f"SeededRng({self._seed})"

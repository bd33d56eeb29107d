"""Seeded latency models for the three paths between a client and a simulated venue.

Every model draws an ``int`` of nanoseconds from a ``random.Random`` that the caller passes in
(one named stream per channel, e.g. ``SeededRng(seed).stream("latency.order_entry")``); nothing
here touches the global ``random``, so a run is reproducible from its seed. Floats are used only
inside a draw, for the shape of the distribution; every result is an integer duration.

Models:

* ``Constant``: the same delay every time.
* ``LogNormal``: right-skewed network delay. Parameterised by ``median_ns`` and ``sigma`` (the
  standard deviation of the log); ``mu = ln(median_ns)``. ``LogNormal.from_mu_sigma`` takes
  ``mu`` directly (log of nanoseconds). Draws below ``floor_ns`` are raised to it and, when
  ``cap_ns`` is set, draws above it are lowered to it.
* ``Empirical``: resamples recorded delays uniformly (a bootstrap), clamped at ``floor_ns``.
  ``Empirical.from_offsets`` builds one from ``ts_recv - ts_event`` differences and de-skews
  them, ``Empirical.from_parquet`` reads those columns from a canonical Parquet file.

Why de-skew: one-way delays measured across two clocks include the clock offset. In the
hftbacktest Binance recordings the recorder's clock was about 1.27 s *behind* the exchange, so
every ``ts_recv - ts_event`` is about -1.27 s. The offset cannot be separated from the true
delay with one-way data; what survives is the *shape* (jitter). ``deskew`` therefore shifts
the samples so that their minimum (``method="min"``) or median (``method="median"``) lands
on a level you choose (``target_ns``, default ``floor_ns``), then clamps at ``floor_ns``.
``"min"`` assumes the fastest message saw only the physical minimum; ``"median"`` pins the
typical delay to an assumed value.

A ``LatencyChannel`` turns a model into delivery times for one connection. With ``fifo`` (the
default, as TCP and WebSocket behave) a message never overtakes an earlier one on the same
channel: ``deliver = max(now + draw, previous deliver)``. A channel made with ``batch=N``
(market data: one draw per tick is the hot path) draws its delays about N at a time with
``sample_many``, which gives exactly the delays that N calls of ``sample`` would, from the same
``random.Random``, at a few tens of nanoseconds each instead of about a microsecond.

How a batch stays exact: CPython's ``random.Random`` and numpy's ``MT19937`` are the same
Mersenne Twister with the same 53-bit double construction, so ``_twister`` copies the Python
generator's state into numpy, draws a block of uniforms in C, and copies the state back. The
log-normal's rejection loop consumes uniforms in pairs, so the block's accepted pairs are the
next draws in order; where numpy's ``log``/``exp`` could round differently from ``math``'s (an
acceptance test or a ``round`` within rounding error of its boundary) the value is recomputed
with ``math``. ``LatencyProfile`` groups the three
models of a venue: ``order_entry`` (client to venue), ``response`` (venue to client: acks and
execution reports) and ``market_data`` (venue to client).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = [
    "CHANNELS",
    "Constant",
    "Empirical",
    "LatencyChannel",
    "LatencyModel",
    "LatencyProfile",
    "LogNormal",
    "deskew",
]

#: ``random.normalvariate``'s constant, ``4 * exp(-0.5) / sqrt(2)``, for the inlined draw.
_NV_MAGICCONST = 4 * math.exp(-0.5) / math.sqrt(2.0)
_log = math.log
_exp = math.exp

#: Batched draws recheck with ``math`` whatever numpy computed within this relative margin of a boundary.
_RECHECK = 1e-9


@cache
def _shared_bits() -> np.random.MT19937:
    """One numpy Mersenne Twister for every ``_Twister``: its whole state is overwritten on each use,
    and making a fresh one asks the OS for entropy (up to milliseconds) only to be thrown away."""
    return np.random.MT19937(0)


class _Twister:
    """A numpy view of a ``random.Random``: same Mersenne Twister state, copied in and back out."""

    __slots__ = ("bits", "gauss", "rng", "version")

    def __init__(self, rng: random.Random) -> None:
        version, internal, gauss = rng.getstate()
        self.rng, self.version, self.gauss = rng, version, gauss
        self.bits = _shared_bits()
        self.bits.state = {"bit_generator": "MT19937",
                           "state": {"key": np.array(internal[:-1], dtype=np.uint32), "pos": internal[-1]}}

    def uniforms(self, n: int) -> npt.NDArray[np.float64]:
        """The next ``n`` values of ``rng.random()``."""
        values: npt.NDArray[np.float64] = np.random.Generator(self.bits).random(n)
        return values

    def words(self, n: int) -> npt.NDArray[np.uint64]:
        """The next ``n`` 32-bit outputs (what ``rng.getrandbits(32)`` returns)."""
        values: npt.NDArray[np.uint64] = self.bits.random_raw(n)
        return values

    def close(self) -> None:
        """Hand the advanced state back to the ``random.Random``."""
        state = self.bits.state["state"]
        self.rng.setstate((self.version, (*state["key"].tolist(), int(state["pos"])), self.gauss))

#: The three channel names of a ``LatencyProfile``, in a fixed order.
CHANNELS = ("order_entry", "response", "market_data")


@runtime_checkable
class LatencyModel(Protocol):
    """Anything that can draw one delay in integer nanoseconds from a given generator."""

    def sample(self, rng: random.Random) -> int:
        """One delay (>= 0 ns) drawn from ``rng``."""


@dataclass(frozen=True, slots=True)
class Constant:
    """A fixed delay; draws nothing from the generator (so it does not shift other draws)."""

    value_ns: int

    def __post_init__(self) -> None:
        if self.value_ns < 0:
            raise ValueError("a constant latency cannot be negative")

    def sample(self, rng: random.Random) -> int:
        """Always ``value_ns``."""
        return self.value_ns

    def sample_many(self, rng: random.Random, n: int) -> list[int]:
        """``n`` times ``value_ns`` (draws nothing)."""
        return [self.value_ns] * max(1, n)


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Log-normal delay with median ``median_ns`` and log-sd ``sigma``, clamped to [floor, cap]."""

    median_ns: int
    sigma: float
    floor_ns: int = 0
    cap_ns: int | None = None
    _mu: float = field(init=False, repr=False, compare=False, default=0.0)

    def __post_init__(self) -> None:
        if self.median_ns <= 0:
            raise ValueError("a log-normal median must be positive")
        object.__setattr__(self, "_mu", math.log(self.median_ns))
        if not (self.sigma >= 0 and math.isfinite(self.sigma)):
            raise ValueError("sigma must be a finite number >= 0")
        if self.floor_ns < 0 or (self.cap_ns is not None and self.cap_ns < self.floor_ns):
            raise ValueError("need 0 <= floor_ns <= cap_ns")

    @classmethod
    def from_mu_sigma(cls, mu: float, sigma: float, *, floor_ns: int = 0,
                      cap_ns: int | None = None) -> LogNormal:
        """Build from the log-space mean ``mu`` (of nanoseconds): the median is ``exp(mu)``."""
        return cls(max(1, round(math.exp(mu))), sigma, floor_ns, cap_ns)

    @property
    def mu(self) -> float:
        """The log-space mean, ``ln(median_ns)``."""
        return math.log(self.median_ns)

    def sample(self, rng: random.Random) -> int:
        """One draw: ``round(lognormvariate(mu, sigma))`` clamped to ``[floor_ns, cap_ns]``.

        The hot path of every simulated message: this is ``random.lognormvariate`` inlined
        (its Kinderman-Monahan ``normalvariate`` loop, same draws, same floats) to save two
        Python calls and a ``log`` per message.
        """
        uniform = rng.random
        while True:
            u1 = uniform()
            u2 = 1.0 - uniform()
            z = _NV_MAGICCONST * (u1 - 0.5) / u2
            if z * z / 4.0 <= -_log(u2):
                break
        value = round(_exp(self._mu + z * self.sigma))
        value = max(value, self.floor_ns)
        return value if self.cap_ns is None or value <= self.cap_ns else self.cap_ns

    def sample_many(self, rng: random.Random, n: int) -> list[int]:
        """The next draws of ``sample`` (about ``0.73 * n``, at least one), computed in one go.

        Exactly what repeated ``sample(rng)`` calls return, leaving ``rng`` where they would
        (plus any rejected pairs that follow the last draw, which they would skip as well).
        """
        twister = _Twister(rng)
        try:
            drawn: list[int] = []
            while not drawn:
                drawn = self._accepted(twister.uniforms(2 * max(1, n)))
        finally:
            twister.close()
        return drawn

    def _accepted(self, uniforms: npt.NDArray[np.float64]) -> list[int]:
        """Draws from consecutive (u1, u2) pairs, as ``sample``'s rejection loop would accept them."""
        u1 = uniforms[0::2]
        u2 = 1.0 - uniforms[1::2]
        z = _NV_MAGICCONST * (u1 - 0.5) / u2
        q = z * z / 4.0
        neg_log = -np.log(u2)
        accept = q <= neg_log
        close = np.flatnonzero(np.abs(neg_log - q) <= _RECHECK * neg_log)
        for i in close.tolist():
            accept[i] = bool(q[i] <= -_log(float(u2[i])))
        x = self._mu + z[accept] * self.sigma
        with np.errstate(over="ignore"):
            raw = np.exp(x)
        rounded = np.rint(np.minimum(raw, 2.0**62)).astype(np.int64)
        np.maximum(rounded, self.floor_ns, out=rounded)
        if self.cap_ns is not None:
            np.minimum(rounded, self.cap_ns, out=rounded)
        values: list[int] = rounded.tolist()
        frac = raw - np.floor(raw)
        for i in np.flatnonzero((np.abs(frac - 0.5) <= _RECHECK) | (raw >= 2.0**62)).tolist():
            value = max(round(_exp(float(x[i]))), self.floor_ns)  # math's rounding, then the clamps
            values[i] = value if self.cap_ns is None or value <= self.cap_ns else self.cap_ns
        return values


def deskew(samples: Iterable[int], *, method: str = "min", floor_ns: int = 0,
           target_ns: int | None = None) -> tuple[int, ...]:
    """Shift cross-clock delay samples so their min or median sits at ``target_ns``; clamp at floor.

    ``method``: ``"min"`` or ``"median"`` (the lower median for an even count, so the result
    stays integral) or ``"none"`` (only clamp). ``target_ns`` defaults to ``floor_ns``. See the
    module docstring for why recorded one-way delays need this.
    """
    values = sorted(samples)
    if not values:
        raise ValueError("no latency samples")
    target = floor_ns if target_ns is None else target_ns
    if method == "min":
        shift = target - values[0]
    elif method == "median":
        shift = target - values[(len(values) - 1) // 2]
    elif method == "none":
        shift = 0
    else:
        raise ValueError(f"deskew method must be 'min', 'median' or 'none', not {method!r}")
    return tuple(max(floor_ns, v + shift) for v in values)


@dataclass(frozen=True, slots=True)
class Empirical:
    """Bootstrap resampling of recorded delays (ns), each draw clamped at ``floor_ns``.

    Samples are kept sorted so that the model does not depend on the order they were read in.
    """

    samples_ns: tuple[int, ...]
    floor_ns: int = 0

    def __post_init__(self) -> None:
        if not self.samples_ns:
            raise ValueError("an empirical latency model needs at least one sample")
        if self.floor_ns < 0:
            raise ValueError("floor_ns cannot be negative")
        # Negative samples are clamped to the floor at draw time; use deskew() to keep their shape.
        object.__setattr__(self, "samples_ns", tuple(sorted(int(s) for s in self.samples_ns)))

    @classmethod
    def from_offsets(cls, offsets_ns: Iterable[int], *, deskew_method: str = "min", floor_ns: int = 0,
                     target_ns: int | None = None) -> Empirical:
        """Build from ``ts_recv - ts_event`` differences, de-skewed with ``deskew``."""
        return cls(deskew(offsets_ns, method=deskew_method, floor_ns=floor_ns, target_ns=target_ns), floor_ns)

    @classmethod
    def from_parquet(cls, path: str | Path, *, deskew_method: str = "min", floor_ns: int = 0,
                     target_ns: int | None = None, event_column: str = "ts_event",
                     recv_column: str = "ts_recv", max_samples: int | None = None) -> Empirical:
        """Read ``recv_column - event_column`` from a canonical Parquet file (any data kind).

        ``max_samples`` keeps the first N rows (recording order), to bound memory on big files.
        """
        import pyarrow.parquet as pq  # local: only this constructor needs pyarrow

        table = pq.read_table(str(path), columns=[event_column, recv_column])
        if max_samples is not None:
            table = table.slice(0, max_samples)
        events = table.column(event_column).to_pylist()
        recvs = table.column(recv_column).to_pylist()
        offsets = [int(r) - int(e) for e, r in zip(events, recvs, strict=True)]
        return cls.from_offsets(offsets, deskew_method=deskew_method, floor_ns=floor_ns, target_ns=target_ns)

    def sample(self, rng: random.Random) -> int:
        """One recorded delay picked uniformly at random, raised to ``floor_ns`` if below."""
        return max(self.floor_ns, self.samples_ns[rng.randrange(len(self.samples_ns))])

    def sample_many(self, rng: random.Random, n: int) -> list[int]:
        """The next ``n`` draws of ``sample`` (exactly those, leaving ``rng`` where they would)."""
        samples, floor = self.samples_ns, self.floor_ns
        size = len(samples)
        shift = 32 - size.bit_length()  # randrange: getrandbits(k) until below size
        if shift < 0:
            return [self.sample(rng) for _ in range(max(1, n))]
        twister = _Twister(rng)
        try:
            picks: list[int] = []
            while len(picks) < n:
                words = twister.words(n - len(picks)) >> np.uint64(shift)
                picks += words[words < size].tolist()
        finally:
            twister.close()
        return [max(floor, samples[i]) for i in picks]


@dataclass(slots=True)
class LatencyChannel:
    """Delivery times on one connection: a model, its own generator, and optional FIFO order.

    ``batch`` > 0 draws delays about that many at a time (see the module docstring), for
    channels on the hot path: the same delays as one by one, from models with a
    ``sample_many(rng, n)`` method (the shipped ones); other models are drawn one by one.
    The channel's ``rng`` is then its own: draws are taken from it ahead of use.
    """

    model: LatencyModel
    rng: random.Random
    fifo: bool = True
    last_delivery_ns: int = field(default=-(2**63))
    batch: int = 0
    delays: list[int] = field(default_factory=list, repr=False, compare=False)
    """Delays drawn ahead (``batch`` > 0), the next one last: ``delays.pop()`` if any, else ``refill()``."""

    def __post_init__(self) -> None:
        if self.batch < 0:
            raise ValueError(f"batch must be >= 0, not {self.batch}")

    def delivery_time(self, now_ns: int) -> int:
        """When a message sent at ``now_ns`` arrives (never before an earlier one if ``fifo``)."""
        delays = self.delays
        at = now_ns + (delays.pop() if delays else self.refill())
        if self.fifo:
            at = max(at, self.last_delivery_ns)
            self.last_delivery_ns = at
        return at

    def take(self, n: int) -> list[int]:
        """The next ``n`` delays in draw order, as ``n`` calls of ``delivery_time`` would consume them.

        For the replay's trade fast path (``sim.venue.trade_runs``), which computes many delivery
        times at once; ``give_back`` returns the ones it ends up not using.
        """
        taken: list[int] = []
        while len(taken) < n:
            delays = self.delays
            if not delays:
                taken.append(self.refill())
                continue
            k = min(n - len(taken), len(delays))
            taken += delays[:-k - 1:-1]
            del delays[-k:]
        return taken

    def give_back(self, unused: list[int]) -> None:
        """Return delays taken by ``take`` but not used (in draw order): they are drawn next."""
        self.delays.extend(reversed(unused))

    def refill(self) -> int:
        """The next delay; with ``batch``, draw the ones after it into ``delays`` as well."""
        if not self.batch:
            return self.model.sample(self.rng)
        many = getattr(self.model, "sample_many", None)
        if many is None:
            drawn = [self.model.sample(self.rng) for _ in range(self.batch)]
        else:
            drawn = list(many(self.rng, self.batch))
        drawn.reverse()
        first = drawn.pop()
        self.delays = drawn
        return int(first)


@dataclass(frozen=True, slots=True)
class LatencyProfile:
    """The three latency models of a venue and whether its channels keep FIFO order."""

    order_entry: LatencyModel
    response: LatencyModel
    market_data: LatencyModel
    fifo: bool = True

    def model(self, name: str) -> LatencyModel:
        """The model of channel ``name`` (one of ``CHANNELS``)."""
        if name not in CHANNELS:
            raise KeyError(f"unknown latency channel {name!r}; expected one of {CHANNELS}")
        model: LatencyModel = getattr(self, name)
        return model

    def channel(self, name: str, rng: random.Random, *, fifo: bool | None = None,
                batch: int = 0) -> LatencyChannel:
        """A fresh channel for ``name`` drawing from ``rng`` (FIFO per the profile unless given;
        ``batch`` > 0 draws that many delays at a time, see ``LatencyChannel``)."""
        return LatencyChannel(self.model(name), rng, self.fifo if fifo is None else fifo, batch=batch)


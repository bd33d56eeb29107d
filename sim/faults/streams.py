"""Faults on the venue-to-client streams: lost, doubled, late, reordered, garbled and gapped messages.

Each is a ``sim.channels.StreamFault`` on the target stream's channel (``VENUE.market`` for
public market data, ``VENUE.user`` for order updates and fills), deciding per message, through
its ``Gate``, what arrives and when:

* ``drop``: the message never arrives;
* ``duplicate``: it arrives twice, the copy ``gap_ms`` later;
* ``delay``: it arrives ``delay_ms`` late (later messages may overtake it: a reorder);
* ``reorder``: it is held back ``by_ms`` so that the messages after it arrive first;
* ``latency_spike``: the whole stream is ``extra_ms`` slower while active, in order (FIFO kept);
* ``stale``: market data arrives ``lag_ms`` late while active, in order (the client trades on
  old prices until it notices: ``sim.client_session``'s staleness probe);
* ``sequence_gap``: whole book diff messages are lost (every row up to the message's last), so
  the client's book sync finds a gap in the update ids and must resync from a snapshot;
* ``parse_error``: the message arrives garbled: the client logs it raw, skips it and counts it.

Trades, quotes and book rows are ``trade``, ``quote`` and ``book`` events for triggers; user
stream messages are ``fill`` and ``order_update``; ``message`` matches any.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from harness.model import F_LAST, F_SNAPSHOT, BookDelta
from sim.channels import MarketDataChannel, PushChannel
from sim.faults.base import Fault, FaultWorld, message_kind

__all__ = ["Delay", "Drop", "Duplicate", "LatencySpike", "ParseError", "Reorder", "SequenceGap", "Stale",
           "StreamMessageFault"]

MS = 1_000_000


class StreamMessageFault(Fault):
    """A fault deciding each message's arrival on one stream (``VENUE.market`` or ``VENUE.user``).

    A book message is several rows (up to the row flagged ``F_LAST``): the decision taken on its
    first row holds for all of them, so a message is lost, doubled or delayed whole.
    """

    targets: ClassVar[tuple[str, ...]] = ("market", "user")

    def __post_init__(self) -> None:
        super().__post_init__()
        self._mid_message: bool | None = None  # inside a book message: whether the fault acts on it

    def install(self, world: FaultWorld) -> None:
        """Attach to the target stream's channel; detach when the window ends (the fast paths resume)."""
        adapter = self.adapter(world)
        self._clock = world.clock
        self._adapter = adapter
        channel = adapter.market_channel if self.stream == "market" else adapter.user_stream
        channel.faults.append(self)
        if self.schedule.end_ns is not None and self.schedule.trigger is None:
            world.clock.call_at(self.schedule.end_ns, self.detach, channel)

    def detach(self, channel: MarketDataChannel | PushChannel) -> None:
        """Stop looking at the channel's messages."""
        if self in channel.faults:
            channel.faults.remove(self)

    def eligible(self, item: object) -> bool:
        """Whether the fault may act on ``item`` at all (every message, unless a kind says otherwise)."""
        return True

    def on_message(self, sent_ns: int, arrival_ns: int, item: object) -> Sequence[int]:
        """The arrival times of ``item``'s copies (the ``StreamFault`` protocol)."""
        row = item if isinstance(item, BookDelta) else None
        if row is not None and self._mid_message is not None:  # a later row: as its message's first went
            acting = self._mid_message
            if row.flags & F_LAST:
                self._mid_message = None
            return self.arrivals(arrival_ns, item, first=False) if acting else [arrival_ns]
        acting = self.eligible(item) and self.gate.fires(sent_ns, message_kind(item))
        if row is not None and not row.flags & F_LAST:
            self._mid_message = acting
        if not acting:
            return [arrival_ns]
        self.touched(sent_ns, _describe(item))
        return self.arrivals(arrival_ns, item, first=True)

    def arrivals(self, arrival_ns: int, item: object, *, first: bool) -> Sequence[int]:
        """What becomes of a message the fault acts on (``first``: its first row)."""
        raise NotImplementedError


def _describe(item: object) -> str:
    if isinstance(item, BookDelta):
        return f"book {item.symbol} U={item.first_update_id} u={item.update_id}"
    return message_kind(item)


class Drop(StreamMessageFault):
    """The message is lost."""

    kind = "drop"

    def arrivals(self, arrival_ns: int, item: object, *, first: bool) -> Sequence[int]:
        return []


class Duplicate(StreamMessageFault):
    """The message arrives twice, the copy ``gap_ms`` after the original."""

    kind = "duplicate"
    defaults: ClassVar[dict[str, Any]] = {"gap_ms": 1}

    def arrivals(self, arrival_ns: int, item: object, *, first: bool) -> Sequence[int]:
        return [arrival_ns, arrival_ns + int(self.param("gap_ms")) * MS]


class Delay(StreamMessageFault):
    """The message arrives ``delay_ms`` late (later ones may overtake it)."""

    kind = "delay"
    defaults: ClassVar[dict[str, Any]] = {"delay_ms": 100}
    param_name: ClassVar[str] = "delay_ms"

    def arrivals(self, arrival_ns: int, item: object, *, first: bool) -> Sequence[int]:
        return [arrival_ns + int(self.param(self.param_name)) * MS]


class Reorder(Delay):
    """The message is held back ``by_ms`` so that the messages sent just after it arrive first."""

    kind = "reorder"
    defaults: ClassVar[dict[str, Any]] = {"by_ms": 50}
    param_name: ClassVar[str] = "by_ms"


class LatencySpike(StreamMessageFault):
    """While active, every message is ``extra_ms`` slower and the stream stays in order; on the
    venue's request path (target ``VENUE``) each leg of every request is ``extra_ms`` slower."""

    kind = "latency_spike"
    targets: ClassVar[tuple[str, ...]] = ("market", "user", "venue")
    defaults: ClassVar[dict[str, Any]] = {"extra_ms": 500}
    lag_param: ClassVar[str] = "extra_ms"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._last = -(2**62)

    def install(self, world: FaultWorld) -> None:
        if self.stream:
            super().install(world)
        else:
            self.adapter(world).requests_channel.delays.append(self)

    def extra_ns(self, method: str, now_ns: int, leg: str) -> int:
        """The ``RequestDelay`` protocol: both legs of a request the gate picks are slower."""
        if not self.gate.fires(now_ns, method):
            return 0
        self.touched(now_ns, f"{method} {leg}")
        return int(self.param(self.lag_param)) * MS

    def on_message(self, sent_ns: int, arrival_ns: int, item: object) -> Sequence[int]:
        if self.gate.fires(sent_ns, message_kind(item)):
            self.touched(sent_ns)
            arrival_ns += int(self.param(self.lag_param)) * MS
        arrival_ns = max(arrival_ns, self._last)  # one connection: nothing overtakes a slow message
        self._last = arrival_ns
        return [arrival_ns]

    def detach(self, channel: MarketDataChannel | PushChannel) -> None:
        """Stop slowing the stream, keeping it in order behind what is still slow."""
        super().detach(channel)
        channel.latency.last_delivery_ns = max(channel.latency.last_delivery_ns, self._last)


class Stale(LatencySpike):
    """While active, market data reaches the client ``lag_ms`` late, in order."""

    kind = "stale"
    targets: ClassVar[tuple[str, ...]] = ("market",)
    defaults: ClassVar[dict[str, Any]] = {"lag_ms": 5000}
    lag_param: ClassVar[str] = "lag_ms"


class SequenceGap(Drop):
    """Whole book diff messages are lost, so the client's book finds a gap in the update ids."""

    kind = "sequence_gap"
    targets: ClassVar[tuple[str, ...]] = ("market",)

    def eligible(self, item: object) -> bool:
        return isinstance(item, BookDelta) and not item.flags & F_SNAPSHOT and item.update_id >= 0


class ParseError(StreamMessageFault):
    """The message arrives garbled: the client cannot read it, so it is logged, skipped and counted."""

    kind = "parse_error"

    def arrivals(self, arrival_ns: int, item: object, *, first: bool) -> Sequence[int]:
        if first:
            text = repr(item)
            self._clock.call_at(arrival_ns, self._adapter.session.parse_error, self.stream,
                                text[: len(text) // 2] + "\\x00\\x00")
        return []

"""An L2 order book and the venue book-sync procedures (Binance spot, Binance futures, generic).

``L2Book`` keeps each side as a dict ``price -> size`` (fixed-point ints) plus a heap of prices
for the best level. Removals are lazy: a removed price stays in the heap until it reaches the top,
and the heap is rebuilt when stale entries outnumber live ones. Setting a level is O(log n), the
best bid/ask is amortised O(1), and nothing is ever fully sorted on an update.

``BookSync`` is a pure state machine (messages in, book state and gap reports out, no I/O) that
implements the documented Binance procedure to keep a local book from a REST snapshot and a diff
stream (see ``spec/venues.md`` §1.8):

* spot: drop diffs with ``u <= lastUpdateId``; the first applied diff has
  ``U <= lastUpdateId + 1 <= u``; after that each diff must start at ``U == previous u + 1``;
* futures (USD-M, COIN-M): drop diffs with ``u < lastUpdateId``; the first applied diff has
  ``U <= lastUpdateId <= u``; after that each diff's ``pu`` must equal the previous ``u``;
* generic venues (update ids ``-1``): a snapshot replaces the book, deltas apply, no checks.

A broken chain is reported as a ``Gap`` and the book becomes invalid until a new snapshot
arrives: diffs seen meanwhile are buffered (bounded) so a later snapshot can resync from them,
exactly like a live client that re-fetches the snapshot.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from harness.model import BOOK_ASK, BOOK_BID, BookLevel

__all__ = ["BookStream", "BookSync", "DiffResult", "Gap", "GapKind", "L2Book", "Level", "SyncMode"]

Level = tuple[int, int, int]
"""One level change: (side, price, size); side 1 bid, -1 ask (0: no change, ids only)."""

_COMPACT_SLACK = 64
_F_SNAPSHOT = 1  # harness.data.schema.F_SNAPSHOT
_F_LAST = 2  # harness.data.schema.F_LAST


class L2Book:
    """Price-level book: dict per side for sizes, lazy heaps for the best price."""

    __slots__ = ("_ask_heap", "_bid_heap", "asks", "bids", "compact_slack")

    def __init__(self, compact_slack: int = _COMPACT_SLACK) -> None:
        """``compact_slack``: stale heap entries tolerated beyond 2x the live levels."""
        self.compact_slack = compact_slack
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self._bid_heap: list[int] = []  # negated prices: heap top is the highest bid
        self._ask_heap: list[int] = []

    def clear(self) -> None:
        """Remove every level (before loading a snapshot)."""
        self.bids.clear()
        self.asks.clear()
        self._bid_heap.clear()
        self._ask_heap.clear()

    def set(self, side: int, price: int, size: int) -> None:
        """Set the absolute size at ``price`` on ``side``; size 0 removes the level.

        Removing a level that is not in the book is allowed (Binance futures documents it as
        normal). Side 0 is the importers' "no level change" marker and is ignored.
        """
        if side == BOOK_BID:
            levels, heap, key = self.bids, self._bid_heap, -price
        elif side == BOOK_ASK:
            levels, heap, key = self.asks, self._ask_heap, price
        else:
            return
        if size == 0:
            levels.pop(price, None)
            return
        if price in levels:
            levels[price] = size
            return
        levels[price] = size
        heapq.heappush(heap, key)
        if len(heap) > 2 * len(levels) + self.compact_slack:
            self._compact(side)

    def _compact(self, side: int) -> None:
        """Rebuild one side's heap from its live levels (drops stale and duplicate entries)."""
        if side == BOOK_BID:
            self._bid_heap[:] = [-p for p in self.bids]
            heapq.heapify(self._bid_heap)
        else:
            self._ask_heap[:] = list(self.asks)
            heapq.heapify(self._ask_heap)

    def best_bid(self) -> BookLevel | None:
        """The highest bid level, or None when the bid side is empty."""
        heap, levels = self._bid_heap, self.bids
        while heap:
            price = -heap[0]
            size = levels.get(price)
            if size is not None:
                return BookLevel(price, size)
            heapq.heappop(heap)
        return None

    def best_ask(self) -> BookLevel | None:
        """The lowest ask level, or None when the ask side is empty."""
        heap, levels = self._ask_heap, self.asks
        while heap:
            price = heap[0]
            size = levels.get(price)
            if size is not None:
                return BookLevel(price, size)
            heapq.heappop(heap)
        return None

    def depth(self, side: int, n: int) -> list[BookLevel]:
        """The best ``n`` levels of one side, best first (O(len * log n), for walking the book)."""
        if side == BOOK_BID:
            return [BookLevel(p, self.bids[p]) for p in heapq.nlargest(n, self.bids)]
        return [BookLevel(p, self.asks[p]) for p in heapq.nsmallest(n, self.asks)]


class SyncMode(StrEnum):
    """Which sequencing rules a stream follows."""

    SPOT = "spot"  # Binance spot: U == previous u + 1
    FUTURES = "futures"  # Binance USD-M / COIN-M: pu == previous u
    GENERIC = "generic"  # no update ids: snapshot + deltas, unchecked


class GapKind(StrEnum):
    """Why a book could not be kept in sync."""

    MISSING_IDS = "missing update ids"
    CHAIN_BREAK = "pu does not chain"
    SNAPSHOT_TOO_OLD = "snapshot older than the first buffered diff"
    NO_SNAPSHOT = "diffs without any snapshot"
    NOT_RESYNCED = "no new snapshot after a gap"


@dataclass(frozen=True, slots=True)
class Gap:
    """One place where the book stopped being trustworthy, with the ids that show it."""

    kind: GapKind
    where: str
    expected: int  # the id the rule needed (U or pu); -1 when not applicable
    first_id: int  # U of the offending diff (or of the first unusable one)
    last_id: int  # u of the offending diff (or of the last unusable one)
    book_id: int  # the book's update id at that moment (-1 if none)
    count: int = 1  # diffs concerned (for NO_SNAPSHOT / NOT_RESYNCED)

    def describe(self) -> str:
        """One human-readable line for reports."""
        where = f"{self.where}: " if self.where else ""
        if self.kind in (GapKind.NO_SNAPSHOT, GapKind.NOT_RESYNCED):
            return (f"{where}{self.kind}: {self.count} diffs unusable "
                    f"(U={self.first_id} .. u={self.last_id}); book invalid")
        detail = f"expected pu={self.expected}" if self.kind is GapKind.CHAIN_BREAK else f"expected U<={self.expected}"
        return (f"{where}{self.kind}: book at {self.book_id}, {detail}, got U={self.first_id} "
                f"u={self.last_id}; book invalid until a new snapshot")


class DiffResult(IntEnum):
    """What ``BookSync.on_diff`` did with a diff."""

    APPLIED = 0
    DROPPED_OLD = 1
    BUFFERED = 2
    GAP = 3


@dataclass(slots=True)
class _Diff:
    first_id: int
    last_id: int
    prev_id: int
    levels: list[Level]
    where: str
    buffered: bool = False


class BookSync:
    """Keep an ``L2Book`` in sync from snapshots and diffs, reporting every gap.

    ``mode`` is detected from the first diff when not given: a ``prev_id`` (``pu``) means
    futures, an update id without ``pu`` means spot, no ids means generic.
    """

    def __init__(self, mode: SyncMode | None = None, *, max_buffer: int = 20_000) -> None:
        self.mode = mode
        self.book = L2Book()
        self.update_id = -1
        self.valid = False
        self.gaps: list[Gap] = []
        self.snapshots = 0
        self.applied = 0
        self.dropped_old = 0
        self.resyncs = 0
        self._awaiting_first = False
        self._snapshot_seen = False
        self._buffer: deque[_Diff] = deque(maxlen=max_buffer)
        self._unusable = 0  # diffs buffered and never applied since the book became invalid
        self._unusable_first = -1
        self._unusable_last = -1
        #: Called with ``(levels, is_snapshot)`` whenever levels are applied to the book, so a
        #: consumer (the simulated venue's matching engine) follows exactly the synced book.
        self.on_apply: Callable[[list[Level], bool], None] | None = None

    def on_snapshot(self, update_id: int, levels: Iterable[Level], where: str = "") -> None:
        """Load a full book (REST ``lastUpdateId`` or a generic snapshot), then replay buffered diffs."""
        if self.valid and not self._awaiting_first and 0 <= update_id <= self.update_id:
            return  # an older or equal snapshot while in sync adds nothing
        self.book.clear()
        levels = list(levels)
        for side, price, size in levels:
            self.book.set(side, price, size)
        if self.on_apply is not None:
            self.on_apply(levels, True)
        if self._snapshot_seen and not self.valid:
            self.resyncs += 1
        self.snapshots += 1
        self._snapshot_seen = True
        self.update_id = update_id
        self.valid = True
        self._awaiting_first = update_id >= 0
        self._unusable = 0
        self._unusable_first = self._unusable_last = -1
        pending = list(self._buffer)
        self._buffer.clear()
        for diff in pending:
            self._process(diff)

    def on_diff(self, first_id: int, last_id: int, prev_id: int, levels: list[Level],
                where: str = "") -> DiffResult:
        """Apply, drop, buffer or reject one diff message (``U``, ``u``, ``pu`` or -1)."""
        if self.mode is None:
            if prev_id >= 0:
                self.mode = SyncMode.FUTURES
            elif last_id >= 0:
                self.mode = SyncMode.SPOT
            else:
                self.mode = SyncMode.GENERIC
        return self._process(_Diff(first_id, last_id, prev_id, levels, where))

    def _process(self, diff: _Diff) -> DiffResult:
        if self.mode is SyncMode.GENERIC or diff.last_id < 0:
            if not self.valid:
                self._note_unusable(diff)
                return DiffResult.BUFFERED
            return self._apply(diff)
        if not self.valid:
            diff.buffered = True
            self._buffer.append(diff)
            self._note_unusable(diff)
            return DiffResult.BUFFERED
        book_id = self.update_id
        if self.mode is SyncMode.FUTURES:
            if diff.last_id < book_id or (diff.last_id == book_id and not self._awaiting_first):
                self.dropped_old += 1
                return DiffResult.DROPPED_OLD
            if self._awaiting_first:
                if diff.first_id <= book_id:
                    return self._apply(diff)
                kind = GapKind.SNAPSHOT_TOO_OLD if diff.buffered else GapKind.MISSING_IDS
                return self._gap(kind, book_id, diff)
            if diff.prev_id == book_id:
                return self._apply(diff)
            return self._gap(GapKind.CHAIN_BREAK, book_id, diff)
        if diff.last_id <= book_id:
            self.dropped_old += 1
            return DiffResult.DROPPED_OLD
        if diff.first_id <= book_id + 1:
            return self._apply(diff)
        kind = GapKind.SNAPSHOT_TOO_OLD if self._awaiting_first and diff.buffered else GapKind.MISSING_IDS
        return self._gap(kind, book_id + 1, diff)

    def _apply(self, diff: _Diff) -> DiffResult:
        book_set = self.book.set
        for side, price, size in diff.levels:
            book_set(side, price, size)
        if self.on_apply is not None:
            self.on_apply(diff.levels, False)
        if diff.last_id >= 0:
            self.update_id = diff.last_id
        self._awaiting_first = False
        self.applied += 1
        return DiffResult.APPLIED

    def _gap(self, kind: GapKind, expected: int, diff: _Diff) -> DiffResult:
        self.gaps.append(Gap(kind, diff.where, expected, diff.first_id, diff.last_id, self.update_id))
        self.valid = False
        self._awaiting_first = False
        diff.buffered = True
        self._buffer.append(diff)
        self._note_unusable(diff)
        return DiffResult.GAP

    def _note_unusable(self, diff: _Diff) -> None:
        if self._unusable == 0:
            self._unusable_first = diff.first_id
        self._unusable += 1
        self._unusable_last = diff.last_id

    def finish(self, where: str = "") -> list[Gap]:
        """End of the stream: report diffs that never became usable; returns all gaps."""
        if self._unusable and not self.valid:
            kind = GapKind.NOT_RESYNCED if self._snapshot_seen else GapKind.NO_SNAPSHOT
            self.gaps.append(Gap(kind, where, -1, self._unusable_first, self._unusable_last,
                                 self.update_id, self._unusable))
            self._unusable = 0
        return self.gaps


class BookStream:
    """Turns canonical book rows (``BookDelta`` or schema-ordered tuples) into a synced book.

    Rows of one venue message share their update ids and timestamp and end with ``F_LAST``;
    ``push`` collects them and hands each complete message to ``BookSync`` (snapshot or diff).
    A message whose importer forgot ``F_LAST`` is closed when the next one visibly starts. The
    optional ``on_message`` callback runs after every message, with the sync state, so callers
    (verify, the simulated venue, the demo) see the book exactly when it changes.
    """

    __slots__ = ("_rows", "on_message", "sync", "ts_event", "where")

    def __init__(self, sync: BookSync | None = None,
                 on_message: Callable[[BookSync], None] | None = None) -> None:
        self.sync = sync if sync is not None else BookSync()
        self.on_message = on_message
        self.where = ""
        self.ts_event = -1
        """Event time of the last message handed to ``sync`` (its first row's), -1 before any."""
        self._rows: list[Sequence[Any]] = []

    def push(self, row: Sequence[Any]) -> None:
        """Add one book row (columns in ``harness.data.schema.BOOK`` order)."""
        rows = self._rows
        if rows:
            head = rows[0]
            if (head[8] != row[8] or head[7] != row[7] or head[0] != row[0]
                    or (head[10] ^ row[10]) & _F_SNAPSHOT):
                self.flush()
                rows = self._rows
        rows.append(row)
        if row[10] & _F_LAST:
            self.flush()

    def flush(self) -> None:
        """Apply the message being assembled, if any (end of input, or before a quote)."""
        rows, self._rows = self._rows, []
        if not rows:
            return
        head = rows[0]
        self.ts_event = head[0]
        levels: list[Level] = [(r[4], r[5], r[6]) for r in rows]
        sync = self.sync
        if head[10] & _F_SNAPSHOT:
            sync.on_snapshot(head[8], levels, self.where)
        else:
            sync.on_diff(head[7], head[8], head[9], levels, self.where)
        if self.on_message is not None:
            self.on_message(sync)

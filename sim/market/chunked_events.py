"""A record batch's events built chunk by chunk, so rows that nobody pulls are never made into objects.

A trade batch's rows become ``Trade`` tuples only when the feed pulls them. When a client takes
trades as column batches (``Strategy.on_trades``), the venue's fast path hands it numpy slices
and skips the rows' events (``ChunkedEvents.skip``): their Python values are then never built.

``ChunkedEvents.events`` is one C-level iterator (``chain`` over ``map``/``zip`` of list
iterators), so pulling an event costs what it did when the whole batch was converted at once;
the columns are converted a chunk at a time (up to ``CHUNK_ROWS`` rows), when the first event
of a chunk is pulled. ``TextColumn`` is a text column read lazily (the batch's trade ids).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from typing import Any, Final, overload

__all__ = ["CHUNK_ROWS", "FIRST_CHUNK_ROWS", "ChunkedEvents", "Column", "TextColumn"]

CHUNK_ROWS: Final = 16_384
"""Most rows converted to Python values at a time (the per-chunk cost is a few numpy calls per column)."""

FIRST_CHUNK_ROWS: Final = 64
"""Rows of the first chunk, and of the first after a skip."""

Column = Callable[[int, int], list[Any]]
"""Rows ``[lo, hi)`` of one column as Python values."""


class ChunkedEvents:
    """The events of ``n`` rows, ``make(values)`` each, built a chunk at a time from ``columns``.

    Chunks start at ``FIRST_CHUNK_ROWS`` rows and double up to ``CHUNK_ROWS`` while events are
    pulled one by one; a skip ends the current chunk and starts the next small again at the row
    skipped to, so rows delivered as column slices are converted only where a few are pulled.
    """

    __slots__ = ("_columns", "_hi", "_iterators", "_lo", "_make", "_n", "_next_lo", "_size", "events")

    def __init__(self, make: Callable[[tuple[Any, ...]], Any], columns: Sequence[Column], n: int) -> None:
        self._make = make
        self._columns = columns
        self._n = n
        self._iterators: list[Any] = []  # the current chunk's list iterators
        self._lo = self._hi = 0  # the current chunk's rows
        self._next_lo = 0
        self._size = FIRST_CHUNK_ROWS
        self.events: Iterator[Any] = chain.from_iterable(iter(self._chunk, None))

    def _chunk(self) -> Iterator[Any] | None:
        """The events of the next chunk, None after the last row (which ends ``events``)."""
        lo = self._next_lo
        if lo >= self._n:
            return None
        hi = min(lo + self._size, self._n)
        self._size = min(2 * self._size, CHUNK_ROWS)
        iterators = [iter(column(lo, hi)) for column in self._columns]
        self._iterators, self._lo, self._hi, self._next_lo = iterators, lo, hi, hi
        return map(self._make, zip(*iterators, strict=False))

    def skip(self, start: int, count: int) -> None:
        """Move ``events`` from row ``start`` (where it is) past ``count`` rows without building them.

        Inside the current chunk its list iterators are set forward (``zip`` and ``map`` hold
        nothing in between); past it, the chunk is ended and the next one starts at the row.
        """
        target = start + count
        if target < self._hi:
            for iterator in self._iterators:
                iterator.__setstate__(target - self._lo)
            return
        for iterator in self._iterators:
            iterator.__setstate__(self._hi - self._lo)
        self._next_lo = target
        self._size = FIRST_CHUNK_ROWS


class TextColumn(Sequence[str]):
    """A text column (an Arrow array) read as ``str`` values on demand; slices stay lazy."""

    __slots__ = ("_array",)

    def __init__(self, array: Any) -> None:
        self._array = array

    def __len__(self) -> int:
        return len(self._array)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> TextColumn: ...

    def __getitem__(self, index: int | slice) -> str | TextColumn:
        """One value, or a lazy slice (steps of 1 only)."""
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self._array))
            if step != 1:
                raise ValueError("a TextColumn slices with step 1 only")
            return TextColumn(self._array.slice(start, max(0, stop - start)))
        value: str = self._array[index].as_py()
        return value

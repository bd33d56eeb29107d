"""The subscription handle the live adapters return: ``close`` undoes the subscription, once.

Every adapter's ``subscribe_*`` returns a ``harness.contract.Subscription``; for a live adapter
closing one means one undo action (drop the callback, unsubscribe a stream, stop a poller),
which may be a coroutine function. One class for all of them, so that closing twice is harmless
everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["UndoHandle"]


class UndoHandle:
    """A subscription handle whose ``close`` runs one undo action (awaited if it returns an awaitable), once."""

    def __init__(self, undo: Callable[[], Any]) -> None:
        self._undo: Callable[[], Any] | None = undo

    async def close(self) -> None:
        """Stop delivering to the callback; later calls do nothing."""
        undo, self._undo = self._undo, None
        if undo is not None:
            result = undo()
            if hasattr(result, "__await__"):
                await result

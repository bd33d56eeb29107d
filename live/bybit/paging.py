"""Cursor paging of Bybit v5 list endpoints (``nextPageCursor``), shared by orders, executions and positions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from harness.contract import ExchangeError
from live.bybit import codec
from live.signing import ParamValue

__all__ = ["MAX_PAGES", "SignedCall", "pages"]

MAX_PAGES = 100
"""At most this many pages are read from one listing (a venue that never ends its cursor is cut off)."""

SignedCall = Callable[..., Awaitable[Any]]
"""The adapter's ``_call(method, path, *, params=, body=, signed=)``: the ``result`` object."""


async def pages(call: SignedCall, path: str, params: list[tuple[str, ParamValue]],
                venue: str) -> list[Mapping[str, Any]]:
    """Every row of a signed ``GET`` listing, page after page while ``nextPageCursor`` is not empty."""
    rows: list[Mapping[str, Any]] = []
    cursor = ""
    for _ in range(MAX_PAGES):
        result = await call("GET", path, params=[*params, *([("cursor", cursor)] if cursor else [])], signed=True)
        page = codec.field(result, "list")
        if not isinstance(page, list):
            raise ExchangeError(f"{path}: 'list' is not a list", venue=venue)
        rows.extend(page)
        cursor = str(result.get("nextPageCursor") or "")
        if not cursor or not page:
            break
    return rows

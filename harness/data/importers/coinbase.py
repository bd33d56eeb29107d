"""Coinbase Exchange (ex Coinbase Pro) WebSocket captures in cryptofeed's raw format.

Channels used: ``level2`` (``snapshot`` then ``l2update`` changes ``[side, price, size]``, size
0 removes the level) becomes ``book`` rows; ``match`` and ``last_match`` become ``trades``.
The level2 channel carries no sequence numbers, so book rows have update ids -1 and gaps
cannot be detected from the data. Snapshots have no venue time: their ``ts_event`` is the
receive time. ``ticker`` messages are skipped: they repeat each match and give the best bid
and ask without sizes, which the ``quotes`` schema requires.

Coinbase's ``side`` on a match is the MAKER's side, so a ``sell`` match was bought by the
taker (aggressor 1) and a ``buy`` match was sold into (aggressor -1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.data.importers.base import ImportContext, Record, register
from harness.data.importers.textfmt import (
    CaptureLine,
    FieldError,
    book_row,
    capture_records,
    fixed,
    iso8601_to_ns,
    mark_last,
    side_from,
    sniff_capture,
)
from harness.data.schema import F_SNAPSHOT

__all__ = ["VENUE", "CoinbaseCaptureImporter"]

VENUE = "coinbase"
_IGNORED = frozenset({"subscriptions", "ticker", "heartbeat", "status"})


class CoinbaseCaptureImporter:
    """Coinbase level2 + matches from a cryptofeed capture -> ``book`` and ``trades``."""

    name = "coinbase-cryptofeed"
    description = "Coinbase Pro WS capture (cryptofeed raw): level2 snapshot/l2update, match -> book, trades"

    def sniff(self, path: Path, head: str) -> bool:
        """Recognise the capture by its connection URL (or, trimmed, by level2 message types)."""
        return sniff_capture(head, ("coinbase.com",), ('"type":"l2update"', '"type":"match"'))

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Stream book and trade rows in capture order."""
        venue = ctx.venue or VENUE
        return capture_records(path, ctx, lambda cap: _parse(cap, venue, ctx.symbol))


def _parse(cap: CaptureLine, venue: str, symbol_override: str | None) -> list[Record]:
    msg: dict[str, Any] = cap.message
    kind = msg.get("type") if isinstance(msg, dict) else None
    if kind in _IGNORED:
        return []
    if kind == "error":
        raise FieldError("type", f"venue error message: {msg.get('message')!r}")
    symbol = symbol_override or msg["product_id"]
    if kind == "snapshot":
        rows = []
        for side, key in ((1, "bids"), (-1, "asks")):
            for i, level in enumerate(msg[key]):
                rows.append(book_row(cap.ts_recv, cap.ts_recv, venue, symbol, side=side,
                                     price=fixed(level[0], f"{key}[{i}].price"),
                                     size=fixed(level[1], f"{key}[{i}].size"), flags=F_SNAPSHOT))
        return [("book", row) for row in mark_last(rows)]
    if kind == "l2update":
        ts_event = iso8601_to_ns(msg["time"], "time")
        rows = []
        for i, change in enumerate(msg["changes"]):
            rows.append(book_row(ts_event, cap.ts_recv, venue, symbol,
                                 side=side_from(change[0], f"changes[{i}].side", ("buy",), ("sell",)),
                                 price=fixed(change[1], f"changes[{i}].price"),
                                 size=fixed(change[2], f"changes[{i}].size")))
        return [("book", row) for row in mark_last(rows)]
    if kind in ("match", "last_match"):
        maker_side = side_from(msg["side"], "side", ("buy",), ("sell",))
        return [("trades", (iso8601_to_ns(msg["time"], "time"), cap.ts_recv, venue, symbol,
                            fixed(msg["price"], "price"), fixed(msg["size"], "size"),
                            -maker_side, str(msg["trade_id"])))]
    raise FieldError("type", f"unexpected Coinbase message type {kind!r}")


register(CoinbaseCaptureImporter())

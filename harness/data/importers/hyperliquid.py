"""Hyperliquid WebSocket recordings in hftbacktest's raw layout: ``<local_ns> <json>`` per line.

``l2Book`` messages are full snapshots (``levels`` = [bids, asks], each ``{px, sz, n}``), so
each becomes a block of snapshot ``book`` rows with the venue ``time`` (ms) as ``ts_event``;
Hyperliquid gives no sequence ids (-1). ``trades`` batches become ``trades``: ``side`` ``B``
means the taker bought (aggressor 1), ``A`` that it sold; ``tid`` is the trade id. Batches
can arrive tens of seconds after the trade ``time``; rows keep the recording's order.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.data.importers.base import ImportContext, Record, open_text_for, register
from harness.data.importers.textfmt import (
    FieldError,
    book_row,
    fixed,
    guarded,
    loads_exact,
    mark_last,
    ms_to_ns,
    side_from,
)
from harness.data.schema import F_SNAPSHOT

__all__ = ["VENUE", "HyperliquidImporter"]

VENUE = "hyperliquid"
_LINE = re.compile(r"^(\d+) (\{.*)$")
_HEAD = re.compile(r'^\d+ \{"channel":\s*"(l2Book|trades|bbo)"', re.MULTILINE)


class HyperliquidImporter:
    """Hyperliquid ``l2Book`` snapshots and ``trades`` (hftbacktest raw) -> ``book`` and ``trades``."""

    name = "hyperliquid-raw"
    description = "Hyperliquid WS recording '<ns> <json>' (hftbacktest): l2Book snapshots, trades"

    def sniff(self, path: Path, head: str) -> bool:
        """A ``<ns> {"channel": ...}`` line with a Hyperliquid channel (Binance lines use "stream")."""
        first = head.partition("\n")[0]
        return _HEAD.match(first) is not None

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Stream book snapshot and trade rows in file order."""
        venue = ctx.venue or VENUE
        with open_text_for(path, ctx) as handle:
            for line_no, raw in enumerate(handle, 1):
                text = raw.rstrip("\r\n")
                if not text.strip():
                    continue
                match = _LINE.match(text)
                if match is None:
                    ctx.bad(path, line_no, "line", "expected '<local_ns> <json>'")
                    continue
                parse = functools.partial(_parse, int(match.group(1)), match.group(2), venue, ctx.symbol)
                yield from guarded(path, ctx, line_no, parse)


def _parse(ts_recv: int, payload: str, venue: str, symbol_override: str | None) -> list[Record]:
    try:
        msg: dict[str, Any] = loads_exact(payload)
    except ValueError as exc:
        raise FieldError("json", f"invalid JSON: {exc}") from exc
    channel, data = msg["channel"], msg["data"]
    if channel == "l2Book":
        symbol = symbol_override or data["coin"]
        ts_event = ms_to_ns(data["time"], "data.time")
        bids, asks = data["levels"]
        rows = []
        for side, name, levels in ((1, "bids", bids), (-1, "asks", asks)):
            for i, level in enumerate(levels):
                rows.append(book_row(ts_event, ts_recv, venue, symbol, side=side,
                                     price=fixed(level["px"], f"levels.{name}[{i}].px"),
                                     size=fixed(level["sz"], f"levels.{name}[{i}].sz"), flags=F_SNAPSHOT))
        return [("book", row) for row in mark_last(rows)]
    if channel == "trades":
        records: list[Record] = []
        for i, t in enumerate(data):
            records.append(("trades", (ms_to_ns(t["time"], f"data[{i}].time"), ts_recv, venue,
                                       symbol_override or t["coin"], fixed(t["px"], f"data[{i}].px"),
                                       fixed(t["sz"], f"data[{i}].sz"),
                                       side_from(t["side"], f"data[{i}].side", ("B",), ("A",)),
                                       str(t["tid"]))))
        return records
    if channel in ("subscriptionResponse", "pong"):
        return []
    raise FieldError("channel", f"unsupported Hyperliquid channel {channel!r}")


register(HyperliquidImporter())

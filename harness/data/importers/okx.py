"""OKX v5 public WebSocket captures in cryptofeed's raw format.

``books`` / ``books5`` / ``books-l2-tbt`` / ``books50-l2-tbt`` become ``book`` rows: ``action``
``snapshot`` (or no action, as on ``books5``, where every message is a full snapshot) gives
snapshot rows, ``update`` gives deltas; levels are ``[price, size, liquidated, orders]`` with
size 0 removing the level. ``seqId`` / ``prevSeqId`` (sent since mid 2022; absent in older
captures) become ``update_id`` / ``prev_update_id``; the CRC32 ``checksum`` is not stored.
``trades`` become ``trades`` (``side`` is the taker's); ``tickers`` become ``quotes``.
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
    mark_last,
    ms_to_ns,
    side_from,
    sniff_capture,
)
from harness.data.schema import F_SNAPSHOT

__all__ = ["VENUE", "OkxCaptureImporter"]

VENUE = "okx"
_BOOK_CHANNELS = frozenset({"books", "books5", "books-l2-tbt", "books50-l2-tbt", "bbo-tbt"})


class OkxCaptureImporter:
    """OKX v5 books, trades and tickers from a cryptofeed capture -> ``book``, ``trades``, ``quotes``."""

    name = "okx-cryptofeed"
    description = "OKX v5 WS capture (cryptofeed raw): books snapshot/update, trades, tickers"

    def sniff(self, path: Path, head: str) -> bool:
        """Recognise the capture by its connection URL (okx.com / okex.com)."""
        return sniff_capture(head, ("okx.com", "okex.com"), ('"channel":"books"', '"instId":'))

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Stream book, trade and quote rows in capture order."""
        venue = ctx.venue or VENUE
        return capture_records(path, ctx, lambda cap: _parse(cap, venue, ctx.symbol))


def _optional_id(entry: dict[str, Any], key: str) -> int:
    value = entry.get(key)
    if value is None:
        return -1
    try:
        return int(value)
    except (TypeError, ValueError):
        raise FieldError(key, f"not an integer sequence id: {value!r}") from None


def _parse(cap: CaptureLine, venue: str, symbol_override: str | None) -> list[Record]:
    msg: dict[str, Any] = cap.message
    if not isinstance(msg, dict):
        return []
    if "event" in msg:
        if msg["event"] == "error":
            raise FieldError("event", f"venue error {msg.get('code')}: {msg.get('msg')!r}")
        return []  # subscribe acks
    channel = msg["arg"]["channel"]
    symbol = symbol_override or msg["arg"]["instId"]
    records: list[Record] = []
    for n, entry in enumerate(msg["data"]):
        if channel in _BOOK_CHANNELS:
            snapshot = msg.get("action", "snapshot") == "snapshot"
            ts_event = ms_to_ns(entry["ts"], f"data[{n}].ts")
            seq, prev = _optional_id(entry, "seqId"), _optional_id(entry, "prevSeqId")
            rows = []
            for side, key in ((1, "bids"), (-1, "asks")):
                for i, level in enumerate(entry[key]):
                    rows.append(book_row(ts_event, cap.ts_recv, venue, symbol, side=side,
                                         price=fixed(level[0], f"data[{n}].{key}[{i}].price"),
                                         size=fixed(level[1], f"data[{n}].{key}[{i}].size"),
                                         update_id=seq, prev_update_id=prev,
                                         flags=F_SNAPSHOT if snapshot else 0))
            records.extend(("book", row) for row in mark_last(rows))
        elif channel == "trades":
            records.append(("trades", (ms_to_ns(entry["ts"], f"data[{n}].ts"), cap.ts_recv, venue, symbol,
                                       fixed(entry["px"], f"data[{n}].px"),
                                       fixed(entry["sz"], f"data[{n}].sz"),
                                       side_from(entry["side"], f"data[{n}].side", ("buy",), ("sell",)),
                                       str(entry["tradeId"]))))
        elif channel == "tickers":
            records.append(("quotes", (ms_to_ns(entry["ts"], f"data[{n}].ts"), cap.ts_recv, venue, symbol,
                                       fixed(entry["bidPx"], f"data[{n}].bidPx"),
                                       fixed(entry["bidSz"], f"data[{n}].bidSz"),
                                       fixed(entry["askPx"], f"data[{n}].askPx"),
                                       fixed(entry["askSz"], f"data[{n}].askSz"), -1)))
        else:
            raise FieldError("arg.channel", f"unsupported OKX channel {channel!r}")
    return records


register(OkxCaptureImporter())

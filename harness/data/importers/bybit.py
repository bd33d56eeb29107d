"""Bybit v2 (``realtime`` / ``realtime_public``) WebSocket captures in cryptofeed's raw format.

``orderBookL2_25.<SYM>`` (and ``orderBook_200.100ms.<SYM>``) become ``book`` rows: a
``snapshot`` (a list for inverse contracts, ``{"order_book": [...]}`` for linear ones) and
``delta`` messages with ``delete`` / ``update`` / ``insert`` lists. Levels are keyed by ``id``,
which on v2 encodes the price; the importer keeps an id -> price map per symbol so a delete
that carries only the id still resolves to its price. ``cross_seq`` is the update id and
``timestamp_e6`` (µs) the venue time. ``trade.<SYM>`` messages become ``trades`` (``side`` is
the taker's). Numbers arrive as JSON numbers or strings; both are read exactly.
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
    us_to_ns,
)
from harness.data.schema import F_SNAPSHOT

__all__ = ["VENUE", "BybitCaptureImporter"]

VENUE = "bybit"
_BUY, _SELL = ("Buy",), ("Sell",)


class BybitCaptureImporter:
    """Bybit v2 orderBookL2 + trade topics from a cryptofeed capture -> ``book`` and ``trades``."""

    name = "bybit-cryptofeed"
    description = "Bybit v2 WS capture (cryptofeed raw): orderBookL2_25 snapshot/delta, trade -> book, trades"

    def sniff(self, path: Path, head: str) -> bool:
        """Recognise the capture by its connection URL (or, trimmed, by v2 topics)."""
        return sniff_capture(head, ("bybit.com",), ('"topic":"orderBookL2_', '"topic":"trade.'))

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        """Stream book and trade rows in capture order."""
        parser = _BybitParser(ctx.venue or VENUE, ctx.symbol)
        return capture_records(path, ctx, parser.parse)


class _BybitParser:
    """Per-capture state: the id -> price map of each symbol's book."""

    def __init__(self, venue: str, symbol: str | None) -> None:
        self.venue = venue
        self.symbol_override = symbol
        self.prices: dict[str, dict[str, int]] = {}

    def parse(self, cap: CaptureLine) -> list[Record]:
        """Rows of one received message (acks give none)."""
        msg: dict[str, Any] = cap.message
        topic = msg.get("topic") if isinstance(msg, dict) else None
        if topic is None:
            if isinstance(msg, dict) and msg.get("success") is False:
                raise FieldError("success", f"venue refused a request: {msg.get('ret_msg')!r}")
            return []  # subscription acks, pongs
        channel, _, symbol = str(topic).rpartition(".")
        symbol = self.symbol_override or symbol
        if channel.startswith("orderBook"):
            return self._book(cap, msg, symbol)
        if channel == "trade":
            return [("trades", self._trade(cap, trade, symbol, i)) for i, trade in enumerate(msg["data"])]
        raise FieldError("topic", f"unexpected Bybit topic {topic!r}")

    def _trade(self, cap: CaptureLine, trade: dict[str, Any], symbol: str, i: int) -> tuple[Any, ...]:
        return (ms_to_ns(trade["trade_time_ms"], f"data[{i}].trade_time_ms"), cap.ts_recv, self.venue,
                symbol, fixed(trade["price"], f"data[{i}].price"), fixed(trade["size"], f"data[{i}].size"),
                side_from(trade["side"], f"data[{i}].side", _BUY, _SELL), str(trade["trade_id"]))

    def _book(self, cap: CaptureLine, msg: dict[str, Any], symbol: str) -> list[Record]:
        ts_event = us_to_ns(msg["timestamp_e6"], "timestamp_e6")
        seq = int(msg["cross_seq"])
        data = msg["data"]
        rows = []
        if msg["type"] == "snapshot":
            levels = data["order_book"] if isinstance(data, dict) else data
            ids: dict[str, int] = {}
            for i, level in enumerate(levels):
                price = fixed(level["price"], f"data[{i}].price")
                ids[str(level["id"])] = price
                rows.append(book_row(ts_event, cap.ts_recv, self.venue, symbol,
                                     side=side_from(level["side"], f"data[{i}].side", _BUY, _SELL),
                                     price=price, size=fixed(level["size"], f"data[{i}].size"),
                                     update_id=seq, flags=F_SNAPSHOT))
            self.prices[symbol] = ids
        elif msg["type"] == "delta":
            ids = self.prices.setdefault(symbol, {})
            pending: dict[str, int | None] = {}
            for action in ("delete", "update", "insert"):
                for i, level in enumerate(data[action]):
                    where = f"data.{action}[{i}]"
                    key = str(level["id"])
                    if "price" in level:
                        price = fixed(level["price"], f"{where}.price")
                    elif key in pending or key in ids:
                        known = pending[key] if key in pending else ids[key]
                        if known is None:
                            raise FieldError(f"{where}.id", f"level {key} deleted earlier in this message")
                        price = known
                    else:
                        raise FieldError(f"{where}.id", f"no price and level id {key} is not in the book")
                    size = 0 if action == "delete" else fixed(level["size"], f"{where}.size")
                    pending[key] = None if action == "delete" else price
                    rows.append(book_row(ts_event, cap.ts_recv, self.venue, symbol,
                                         side=side_from(level["side"], f"{where}.side", _BUY, _SELL),
                                         price=price, size=size, update_id=seq))
            for key, known in pending.items():  # commit only once the whole message parsed
                if known is None:
                    ids.pop(key, None)
                else:
                    ids[key] = known
        else:
            raise FieldError("type", f"unexpected book message type {msg['type']!r}")
        return [("book", row) for row in mark_last(rows)]


register(BybitCaptureImporter())

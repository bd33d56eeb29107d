"""The replay source: canonical Parquet files merged in time order and delivered by one loop.

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "CHUNK_ROWS": "sim.market.chunked_events",
    "FIRST_CHUNK_ROWS": "sim.market.chunked_events",
    "ChunkedEvents": "sim.market.chunked_events",
    "Column": "sim.market.chunked_events",
    "TextColumn": "sim.market.chunked_events",
    "Batch": "sim.market.cursor",
    "EVENT_TYPES": "sim.market.cursor",
    "FileCursor": "sim.market.cursor",
    "Handler": "sim.market.cursor",
    "Int64Array": "sim.market.cursor",
    "KIND_OF_TYPE": "sim.market.cursor",
    "ORDER_COLUMNS": "sim.market.cursor",
    "ReplayFileError": "sim.market.cursor",
    "Resolver": "sim.market.cursor",
    "TRADE_ARRAYS": "sim.market.cursor",
    "infer_kind": "sim.market.cursor",
    "open_cursors": "sim.market.cursor",
    "BUFFERED_ROWS": "sim.market.feed",
    "DEFAULT_BATCH_SIZE": "sim.market.feed",
    "MIN_BATCH_SIZE": "sim.market.feed",
    "ReplayFeed": "sim.market.feed",
    "TradeRunTaker": "sim.market.feed",
}

__all__ = [
    "BUFFERED_ROWS",
    "CHUNK_ROWS",
    "DEFAULT_BATCH_SIZE",
    "EVENT_TYPES",
    "FIRST_CHUNK_ROWS",
    "KIND_OF_TYPE",
    "MIN_BATCH_SIZE",
    "ORDER_COLUMNS",
    "TRADE_ARRAYS",
    "Batch",
    "ChunkedEvents",
    "Column",
    "FileCursor",
    "Handler",
    "Int64Array",
    "ReplayFeed",
    "ReplayFileError",
    "Resolver",
    "TextColumn",
    "TradeRunTaker",
    "infer_kind",
    "open_cursors",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from sim.market.chunked_events import CHUNK_ROWS, FIRST_CHUNK_ROWS, ChunkedEvents, Column, TextColumn
    from sim.market.cursor import (
        EVENT_TYPES,
        KIND_OF_TYPE,
        ORDER_COLUMNS,
        TRADE_ARRAYS,
        Batch,
        FileCursor,
        Handler,
        Int64Array,
        ReplayFileError,
        Resolver,
        infer_kind,
        open_cursors,
    )
    from sim.market.feed import BUFFERED_ROWS, DEFAULT_BATCH_SIZE, MIN_BATCH_SIZE, ReplayFeed, TradeRunTaker

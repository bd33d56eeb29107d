"""``harness record``: a venue's market streams to raw lines and to canonical Parquet that replay reads.

For each symbol, one gzip file ``<out>/binance_spot_<symbol>_<yyyymmdd>.jsonl.gz`` in the line
format of the shipped hftbacktest recordings (``scenarios/sample_data``): each line is
``<local receive time, ns> <raw JSON>``, the JSON exactly as the combined stream sent it
(``{"stream": ..., "data": ...}``: ``@depth@100ms`` diffs, ``@bookTicker``, ``@trade``), plus
the REST depth snapshot ``{"lastUpdateId", "bids", "asks"}`` once the diff stream is subscribed
(and again after every reconnect, so a gap can be bridged). When recording stops (``--duration``,
Ctrl-C or SIGTERM) each file is imported with the hftbacktest importer into
``<out>/<stem>.<kind>.parquet`` (``harness.data.importing``), ready for ``harness replay``.
Local times come from the injected clock; nothing here needs credentials.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO

from harness.audit import MemoryAuditSink
from harness.clock import Clock, WallClock
from harness.contract import VenueError
from harness.data.importing import ImportResult, import_file
from live.binance.endpoints import BinanceEndpoints
from live.rest import AiohttpSender, BinanceRestProtocol, RestClient, RestRequest
from live.ws.connection import WsConnection, WsEvent
from live.ws.state import WsSettings

__all__ = ["Recorder", "import_recording", "record_command", "record_streams"]

_NS = 1_000_000_000
STREAMS = ("depth@100ms", "bookTicker", "trade")


@dataclass
class Recorder:
    """Raw lines of several symbols' streams, one gzip file per symbol."""

    out: Path
    symbols: Sequence[str]
    clock: Clock
    files: dict[str, Path] = field(default_factory=dict)
    lines: int = 0
    _handles: dict[str, IO[str]] = field(default_factory=dict)

    def open(self) -> None:
        """Create the output files (named after the symbol and the UTC day recording starts)."""
        self.out.mkdir(parents=True, exist_ok=True)
        day = time.strftime("%Y%m%d", time.gmtime(self.clock.now_ns() // _NS))
        for symbol in self.symbols:
            path = self.out / f"binance_spot_{symbol.lower()}_{day}.jsonl.gz"
            self.files[symbol] = path
            self._handles[symbol] = gzip.open(path, "wt", encoding="utf-8")  # noqa: SIM115 (closed in close)

    def write(self, symbol: str, text: str) -> None:
        """One line: receive time (ns) and the raw JSON."""
        handle = self._handles.get(symbol)
        if handle is not None:
            handle.write(f"{self.clock.now_ns()} {text}\n")
            self.lines += 1

    def on_message(self, message: str | bytes) -> None:
        """A combined-stream message: to its symbol's file, unchanged."""
        text = message.decode() if isinstance(message, bytes) else message
        try:
            stream = json.loads(text).get("stream", "")
        except (ValueError, AttributeError):
            return
        if isinstance(stream, str) and "@" in stream:
            self.write(stream.split("@", 1)[0].upper(), text)

    def close(self) -> None:
        """Close every file."""
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()


async def record_streams(endpoints: BinanceEndpoints, symbols: Sequence[str], out: Path, *, clock: Clock,
                         stop: asyncio.Event | None = None, duration_ns: int | None = None,
                         settings: WsSettings | None = None) -> Recorder:
    """Record until ``stop`` or ``duration_ns``; returns the recorder (files closed)."""
    recorder = Recorder(out, [s.upper() for s in symbols], clock)
    recorder.open()
    names = "/".join(f"{s.lower()}@{kind}" for s in recorder.symbols for kind in STREAMS)
    protocol = BinanceRestProtocol(base_url=endpoints.rest, mode=endpoints.mode)
    rest = RestClient(protocol, AiohttpSender(), clock, audit=MemoryAuditSink())
    snapshots: list[asyncio.Task[None]] = []

    async def snapshot_all() -> None:
        for symbol in recorder.symbols:
            try:
                data = await rest.request(RestRequest("GET", "/api/v3/depth", params=[("symbol", symbol),
                                                                                      ("limit", 1000)]))
            except VenueError as error:
                print(f"record: depth snapshot of {symbol} failed: {error}", file=sys.stderr)
                continue
            recorder.write(symbol, json.dumps(data, separators=(",", ":")))

    def on_event(event: WsEvent) -> None:
        if event.kind in ("connected", "reconnected"):
            snapshots.append(asyncio.get_running_loop().create_task(snapshot_all()))

    connection = WsConnection("record", f"{endpoints.streams}/stream?streams={names}", clock=clock,
                              on_message=recorder.on_message, settings=settings, mode=endpoints.mode,
                              listeners=(on_event,))
    await connection.start()
    try:
        waits: list[asyncio.Future[object]] = []
        if stop is not None:
            waits.append(asyncio.ensure_future(stop.wait()))
        if duration_ns is not None:
            waits.append(asyncio.ensure_future(clock.sleep_ns(duration_ns)))
        if waits:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waits:
                waiter.cancel()
    finally:
        await connection.close()
        await asyncio.gather(*snapshots, return_exceptions=True)
        await rest.close()
        recorder.close()
    return recorder


def import_recording(recorder: Recorder) -> list[ImportResult]:
    """Each raw file of ``recorder`` as canonical Parquet beside it (the hftbacktest importer)."""
    return [import_file(path, recorder.out, fmt="binance-hftbacktest", venue="binance", symbol=symbol)
            for symbol, path in recorder.files.items()]


def record_command(args: argparse.Namespace) -> int:
    """Run ``harness record``; 2 on bad arguments."""
    if args.venue != "binance":
        print(f"error: --venue {args.venue}: only binance can be recorded so far", file=sys.stderr)
        return 2
    symbols = [s.strip().upper() for s in args.symbols.split(",") if s.strip()]
    try:
        if not symbols:
            raise ValueError("--symbols: at least one symbol")
        duration = None
        if args.duration is not None:
            seconds = Decimal(args.duration)
            if not seconds.is_finite() or seconds <= 0:
                raise ValueError(f"--duration: expected a positive number of seconds, got {args.duration!r}")
            duration = int(seconds * _NS)
        endpoints = BinanceEndpoints.sandbox() if args.sandbox else BinanceEndpoints.local(args.local)
    except (ValueError, InvalidOperation) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    async def main() -> Recorder:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        return await record_streams(endpoints, symbols, args.out, clock=WallClock(), stop=stop,
                                    duration_ns=duration)

    recorder = asyncio.run(main())
    print(f"record: {recorder.lines} lines from {endpoints.mode.value} {endpoints.rest}")
    for result in import_recording(recorder):
        for kind, path in result.outputs.items():
            print(f"{result.source.name} -> {path} ({result.rows[kind]} {kind} rows)")
    return 0


"""``harness demo``: the shipped real BTCUSDT recording, imported and replayed end to end.

It needs nothing but the package: the two hftbacktest Binance spot files ship in
``sim/sample_data``. The demo imports them into canonical Parquet (under ``<out>/demo-data``),
replays all kinds through the virtual clock in recorded order, rebuilds the order book with the
Binance sync rules while it goes, and prints what it saw. Then it runs the passive market maker
over the same data against a simulated Binance (latency, queue position, fees, rate limits),
prints the run's summary and its run directory, and last the command that opens the run in the
dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path

from harness.data.book import BookStream, BookSync
from harness.data.importing import ImportResult, import_file
from harness.model import BookDelta, Quote, Trade
from harness.money import from_fixed
from reports.summary import run_summary
from scenarios.replay import VenueSetup, run_replay
from sim.kernel.runtime import SimRuntime
from sim.market.feed import ReplayFeed

__all__ = [
    "DEMO_STRATEGY",
    "SAMPLE_FILES",
    "ReplayTally",
    "import_sample",
    "replay_files",
    "run_demo",
    "sample_paths",
]

DEMO_STRATEGY = "strategies.market_maker:PassiveMarketMaker"
SAMPLE_FILES = ("binance_spot_btcusdt_20240808.jsonl.gz", "binance_spot_btcusdt_20240809.jsonl.gz")


def sample_paths() -> list[Path]:
    """Paths of the shipped sample recording, in replay order."""
    root = resources.files("scenarios") / "sample_data"
    return [Path(str(root / name)) for name in SAMPLE_FILES]


def import_sample(out_dir: Path) -> list[ImportResult]:
    """Import the sample recording into ``out_dir`` (canonical Parquet, one file per kind)."""
    return [import_file(path, out_dir) for path in sample_paths()]


@dataclass
class ReplayTally:
    """What a replay saw: counts, price range, traded volume and the rebuilt book."""

    trades: int = 0
    quotes: int = 0
    book_rows: int = 0
    volume: int = 0
    notional: int = 0
    low: int | None = None
    high: int | None = None
    first_ns: int | None = None
    last_ns: int = 0
    book_changes: int = 0
    crossed_books: int = 0
    books: dict[tuple[str, str], BookStream] = field(default_factory=dict)

    def on_trade(self, trade: Trade) -> None:
        """Count a trade, its volume and notional, and the price range."""
        self.trades += 1
        price = trade.price
        self.volume += trade.size
        self.notional += price * trade.size
        if self.low is None or price < self.low:
            self.low = price
        if self.high is None or price > self.high:
            self.high = price
        self._seen(trade.ts_recv)

    def on_quote(self, quote: Quote) -> None:
        """Count a best bid/offer update."""
        self.quotes += 1
        self._seen(quote.ts_recv)

    def on_book(self, delta: BookDelta) -> None:
        """Feed the book rebuild of the row's (venue, symbol)."""
        self.book_rows += 1
        key = (delta.venue, delta.symbol)
        stream = self.books.get(key)
        if stream is None:
            stream = self.books[key] = BookStream(on_message=self._book_changed)
        stream.push(delta)
        self._seen(delta.ts_recv)

    def _book_changed(self, sync: BookSync) -> None:
        if not sync.valid:
            return
        self.book_changes += 1
        bid, ask = sync.book.best_bid(), sync.book.best_ask()
        if bid is not None and ask is not None and bid.price >= ask.price:
            self.crossed_books += 1

    def _seen(self, ts: int) -> None:
        if self.first_ns is None:
            self.first_ns = ts
        self.last_ns = ts


def replay_files(files: list[Path], *, seed: int) -> tuple[ReplayTally, int]:
    """Replay canonical files through the virtual clock; returns the tally and the end time (ns)."""
    tally = ReplayTally()
    feed = ReplayFeed(files, on_trade=tally.on_trade, on_quote=tally.on_quote, on_book=tally.on_book)
    start = feed.peek_ts() or 0
    with SimRuntime(seed=seed, start_ns=start) as runtime:
        runtime.add_source(feed)

        async def until_exhausted() -> int:
            while feed.peek_ts() is not None:
                await runtime.clock.sleep_ns(1_000_000_000)
            return runtime.now_ns()

        end = runtime.run(until_exhausted())
    for stream in tally.books.values():
        stream.flush()
    feed.close()
    return tally, end


def run_demo(out_dir: Path, seed: int = 7) -> int:
    """Import and replay the sample recording, printing a short account of what happened."""
    data_dir = out_dir / "demo-data"
    results = import_sample(data_dir)
    files: list[Path] = []
    for result in results:
        rows = ", ".join(f"{n} {kind}" for kind, n in result.rows.items())
        print(f"imported {result.source.name}: {rows}")
        files.extend(result.outputs[kind] for kind in ("book", "quotes", "trades") if kind in result.outputs)
    tally, end_ns = replay_files(files, seed=seed)
    span_s = Decimal(tally.last_ns - (tally.first_ns or tally.last_ns)) / 10**9
    print(f"replayed {tally.trades + tally.quotes + tally.book_rows} events over {span_s:.1f} s "
          f"of recorded time: {tally.trades} trades, {tally.quotes} quotes, {tally.book_rows} book rows")
    if tally.trades:
        vwap = tally.notional // tally.volume if tally.volume else 0  # (1e-18 units) / (1e-9) -> 1e-9
        low, high = from_fixed(tally.low or 0).normalize(), from_fixed(tally.high or 0).normalize()
        print(f"BTCUSDT traded {from_fixed(tally.volume).normalize()} BTC, low {low}, high {high}, "
              f"VWAP {from_fixed(vwap).quantize(from_fixed(10**7))}")
    for (venue, symbol), stream in tally.books.items():
        sync = stream.sync
        bid, ask = sync.book.best_bid(), sync.book.best_ask()
        gaps = ", ".join(g.describe() for g in sync.gaps) or "none"
        top = (f"best bid {from_fixed(bid.price).normalize()} x {from_fixed(bid.size).normalize()}, "
               f"best ask {from_fixed(ask.price).normalize()} x {from_fixed(ask.size).normalize()}"
               if bid and ask else "book empty")
        print(f"{venue} {symbol} book: {sync.applied} diffs applied after {sync.snapshots} snapshot(s), "
              f"update id {sync.update_id}, crossed {tally.crossed_books} times, gaps: {gaps}; final {top}")
    print(f"virtual clock ended at {end_ns} ns; canonical data in {data_dir}")
    print("replaying with the passive market maker against a simulated Binance ...")
    run = run_replay(sorted(files), [VenueSetup("binance", "binance")], DEMO_STRATEGY, seed=seed, out_dir=out_dir)
    for line in run_summary(run.run_dir):
        print(line)
    print(f"open it in the dashboard: harness dashboard {out_dir} --run {run.run_dir.name}")
    return 0

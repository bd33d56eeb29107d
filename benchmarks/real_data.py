"""Benchmark: the demo's real recording (Binance BTCUSDT L2 book, quotes and trades) replayed, in one run.

Issue 14's third goal measured on real data rather than on the synthetic peer workload. The
shipped sample (``scenarios/sample_data``) is imported once into canonical Parquet, then timed
three ways, each printed as events per second of the replay and as a share of the first:

(a) ``feed``: the files through ``ReplayFeed`` alone into counting callbacks (read, convert,
    merge): the ceiling every replay pays;
(b) ``reader``: ``run_replay`` with a plain strategy that subscribes trades, quotes and the book
    and only counts them (journal and run directory on, as users run it);
(c) ``market maker``: ``run_replay`` with the demo's ``strategies.market_maker:PassiveMarketMaker``
    (quoting from the book's top, placing, cancelling and filling real orders).

Events are what the feed delivers from the three files (book updates, quotes, trades); the
reader is sent trades, quotes and book snapshots at its depth after the client's own latency and
book keeping, so it counts fewer. Nothing is asserted; the machine's load shows in the figures, so
compare the shares within one run.

    python3 benchmarks/real_data.py            # the whole sample (about 11 minutes of market)
    python3 benchmarks/real_data.py --repeat 3 # best of three
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from harness.model import BookSnapshot, Quote, Trade
from harness.strategy import Strategy, StrategyContext
from scenarios.demo import DEMO_STRATEGY, import_sample
from scenarios.replay import VenueSetup, run_replay
from sim.market.feed import ReplayFeed

__all__ = ["CountingReader", "main"]


class CountingReader(Strategy):
    """Counts every trade, quote and book snapshot (top 20 levels) of BTCUSDT on Binance; places nothing."""

    def on_start(self, ctx: StrategyContext) -> None:
        """Subscribe to the three market-data kinds the recording has."""
        super().on_start(ctx)
        self.seen = 0
        ctx.subscribe_trades("binance", "BTCUSDT")
        ctx.subscribe_quotes("binance", "BTCUSDT")
        ctx.subscribe_book("binance", "BTCUSDT")

    def on_trade(self, trade: Trade) -> None:
        """One more event."""
        self.seen += 1

    def on_quote(self, quote: Quote) -> None:
        """One more event."""
        self.seen += 1

    def on_book(self, book: BookSnapshot) -> None:
        """One more event."""
        self.seen += 1


def _feed_alone(files: list[Path]) -> int:
    count = 0

    def counted(_: object) -> None:
        nonlocal count
        count += 1

    with ReplayFeed(files, order_by="ts_event", on_trade=counted, on_quote=counted, on_book=counted) as feed:
        feed.run_all()
    return count


def _best(repeat: int, run: object) -> float:
    assert callable(run)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    """Import the sample, time the three replays, print events per second and shares of the feed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=1, help="timings per measurement; best is kept")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="real-data-bench-") as tmp:
        root = Path(tmp)
        files: list[Path] = []
        for result in import_sample(root / "data"):
            files += [result.outputs[k] for k in ("book", "quotes", "trades") if k in result.outputs]
        files.sort()
        events = _feed_alone(files)
        venues = [VenueSetup("binance", "binance")]
        figures: dict[str, float] = {"feed": _best(args.repeat, lambda: _feed_alone(files))}
        readers: list[CountingReader] = []

        def reader() -> None:
            strategy = CountingReader()
            run_replay(files, venues, strategy, seed=args.seed, out_dir=root / "runs-reader", progress=False)
            readers.append(strategy)

        figures["reader"] = _best(args.repeat, reader)
        mm_summary: list[str] = []

        def market_maker() -> None:
            run = run_replay(files, venues, DEMO_STRATEGY, seed=args.seed, out_dir=root / "runs-mm", progress=False)
            mm_summary[:] = run.summary

        figures["market maker"] = _best(args.repeat, market_maker)
    print(f"real data: {len(files)} canonical files, {events:,} events through the feed (book updates, quotes, trades)")
    if readers:
        print(f"reader strategy received {readers[-1].seen:,} events")
    ceiling = events / figures["feed"]
    for name, seconds in figures.items():
        rate = events / seconds
        print(f"  {name:<13} {seconds:7.2f} s  {rate / 1e3:9.1f} k events/s  {rate / ceiling:6.1%} of the feed alone")
    for line in mm_summary[:4]:
        print(f"  market maker: {line}")


if __name__ == "__main__":
    main()

"""A replay run: canonical market data, simulated venues, one strategy, a run directory out.

``run_replay`` wires the pieces: a ``ReplayFeed`` over the data (ordered by exchange time), one
``SimVenue`` + ``SimAdapter`` per venue inside one ``SimRuntime``, the shared
``ExecutionContext`` in front of the strategy, and a ``RunRecorder`` that writes the run's
tables and manifest. Everything is seeded from the run's seed, so the same inputs give
byte-identical outputs. The strategy's ``ctx.instruments`` are the data's (venue, symbol)
pairs each simulated venue lists, under the venue's own names (``scenarios.inventory``), and
bar subscriptions of an instrument and interval the data has recorded candles for get those.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from tqdm import tqdm

from harness.context import ExecutionContext
from harness.engine import ExecutionEngine
from harness.files import file_sha256
from harness.journal import Journal
from harness.model import Fill
from harness.money import from_fixed
from harness.router import OrderRouter, RouterConfig
from harness.strategy import load_strategy
from reports.run_output import RunRecorder, package_versions
from reports.run_tables import engine_tables
from scenarios.inventory import take_inventory
from sim.adapter import SimAdapter
from sim.kernel.runtime import SimRuntime
from sim.market.feed import ReplayFeed
from sim.venue.latency import Empirical
from sim.venue.matching.types import DepthMode
from sim.venue.profile import ProfileError, VenueProfile, load_profile
from sim.venue.venue import SimVenue

NS = 1_000_000_000
POLL_NS = 10 * NS
"""Longest sleep of a replay's main task while data remains (see ``poll_step``)."""
DEFAULT_BALANCES = {"USDT": Decimal(100_000), "BTC": Decimal(1), "ETH": Decimal(10)}


@dataclass(frozen=True)
class VenueSetup:
    """One simulated venue of a run: its profile, starting balances and matching settings.

    ``data_venue`` names the venue in the market data that drives it (default: its own name),
    so one recording can drive several simulated venues.
    """

    name: str
    profile: str
    balances: Mapping[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_BALANCES))
    depth: DepthMode = DepthMode.BOOK
    queue_model: str = "conservative"
    data_venue: str | None = None
    market_latency: str = "profile"
    """``profile``: the profile's market-data model; ``data``: resample the recorded
    ``ts_recv - ts_event`` delays of the run's trade data (de-skewed to the profile's floor)."""


@dataclass
class RunResult:
    """Where the run was written and what it did."""

    run_dir: Path
    manifest: dict[str, Any]
    recorder: RunRecorder
    final_balances: dict[str, dict[str, tuple[Decimal, Decimal]]]


def data_time_range(files: Sequence[Path], column: str = "ts_event") -> tuple[int, int]:
    """Smallest and largest ``column`` value over the files, from Parquet statistics (cheap)."""
    low, high = None, None
    for path in files:
        meta = pq.ParquetFile(path).metadata
        index = meta.schema.to_arrow_schema().get_field_index(column)
        for i in range(meta.num_row_groups):
            stats = meta.row_group(i).column(index).statistics
            if stats is None or not stats.has_min_max:
                continue
            low = stats.min if low is None else min(low, stats.min)
            high = stats.max if high is None else max(high, stats.max)
    return (low or 0, high or 0)


def run_id_for(config: Mapping[str, Any]) -> str:
    """A run id derived from the configuration (same config, same id; no wall clock)."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:10]
    strategy = str(config["strategy"]).rsplit(":", 1)[-1].lower()
    return f"{strategy}-seed{config['seed']}-{digest}"


def run_replay(data: Sequence[Path], venues: Sequence[VenueSetup], strategy: str, *,
               params: Mapping[str, str] | None = None, seed: int = 0, out_dir: Path = Path("runs"),
               progress: bool | None = None, router: RouterConfig | None = None) -> RunResult:
    """Replay ``data`` through simulated ``venues`` with ``strategy``; write and return the run."""
    files = [Path(p) for p in data]
    config: dict[str, Any] = {
        "strategy": strategy, "params": dict(params or {}), "seed": seed,
        "venues": [{"name": v.name, "profile": v.profile, "depth": v.depth.value, "queue_model": v.queue_model,
                    "market_latency": v.market_latency,
                    "data_venue": v.data_venue or v.name,
                    "balances": {a: str(b) for a, b in sorted(v.balances.items())}} for v in venues],
        "data": [p.name for p in files],
    }
    if router is not None:
        config["router"] = {"criteria": router.criteria.value, "enable_splitting": router.enable_splitting,
                            "split_threshold": str(router.split_threshold), "priority": list(router.priority)}
    inventory = take_inventory(files)
    feed = ReplayFeed(files, order_by="ts_event")
    start_ns, end_ns = data_time_range(files)
    first = feed.peek_ts()
    recorder = RunRecorder()
    run_dir = out_dir / run_id_for(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    journal_path = run_dir / "journal.sqlite"
    for stale in run_dir.glob("journal.sqlite*"):
        stale.unlink()  # a rerun of the same config starts a fresh journal
    # Start a second early: connecting, loading venue info and subscribing take virtual time, and
    # the strategy must not miss the first events.
    begin = max(0, (first if first is not None else start_ns) - NS)
    # A replay's journal is an output, rebuilt by rerunning with the same seed: it needs no fsync
    # per order intent (a live engine's does; the journal's contents are the same either way).
    with SimRuntime(seed=seed, start_ns=begin) as runtime, \
            Journal(journal_path, runtime.clock, durable_intents=False) as journal:
        runtime.add_source(feed)  # before the adapters' taps: at equal times the venue sees data first
        adapters: dict[str, SimAdapter] = {}
        sim_venues: dict[str, SimVenue] = {}
        instruments: list[tuple[str, str]] = []
        for setup in venues:
            venue = SimVenue(_profile_for(setup, files), balances=setup.balances,
                             rng=runtime.rng.child(f"venue.{setup.name}"), now=runtime.now_ns,
                             depth=setup.depth, queue_model=setup.queue_model, name=setup.name)
            venue.fill_listeners.append(_balance_recorder(recorder, venue))
            sim_venues[setup.name] = venue
            adapter = SimAdapter(venue, runtime)
            symbols = symbol_map_between(setup.data_venue, venue.profile)
            data_venue = setup.data_venue or setup.name
            adapter.attach_feed(feed, data_venue=setup.data_venue, symbol_map=symbols,
                                recorded_bars=inventory.bars_for_venue(data_venue, symbols))
            adapters[setup.name] = adapter
            instruments += [pair for pair in inventory.for_venue(setup.name, data_venue, symbols)
                            if pair[1] in venue.profile.symbols]
        order_router = OrderRouter(router, runtime.clock) if router is not None else None
        engine = ExecutionEngine(adapters, runtime.clock, runtime.rng.child("engine"), journal=journal,
                                 router=order_router)
        context = ExecutionContext(adapters, runtime.clock, runtime.rng.stream("strategy"), log=recorder, engine=engine,
                                   instruments=instruments)
        strat = load_strategy(strategy, params)
        show = sys.stderr.isatty() if progress is None else progress
        bar = tqdm(total=max(1, (end_ns - start_ns) // NS), unit="s", desc="replay", disable=not show,
                   file=sys.stderr)

        async def main() -> None:
            for name, venue in sim_venues.items():
                for balance in venue.balances().values():
                    recorder.balance(runtime.now_ns(), name, balance)
            await context.start(strat)
            shown = 0
            while feed.peek_ts() is not None:
                await runtime.clock.sleep_ns(poll_step(runtime.now_ns(), end_ns))
                done = (runtime.now_ns() - start_ns) // NS
                if done > shown:
                    bar.update(done - shown)
                    shown = done
            await runtime.clock.sleep_ns(NS)  # let market data still in flight reach the strategy
            await context.stop()
            for name, venue in sim_venues.items():
                for balance in venue.balances().values():
                    recorder.balance(runtime.now_ns(), name, balance)

        runtime.run(main())
        bar.close()
        feed.close()
        _mark_to_market(engine, sim_venues)
        for name, (rows, schema) in engine_tables(engine).items():
            recorder.extra(name, rows, schema)
    manifest = {
        "config": config,
        "data_files": {p.name: file_sha256(p) for p in files},
        "versions": package_versions(),
        "time_range_ns": [start_ns, end_ns],
        "instruments": [list(pair) for pair in instruments],
        "errors": context.errors,
    }
    recorder.write(run_dir, manifest)
    final = {name: {a: (b.free, b.locked) for a, b in v.balances().items()} for name, v in sim_venues.items()}
    return RunResult(run_dir, manifest, recorder, final)


def poll_step(now_ns: int, end_ns: int) -> int:
    """How long a replay's main task sleeps before checking again whether the data is done.

    Every wake-up is a calendar item that cuts the replay's batches short, so before the last
    recorded event it sleeps up to ``POLL_NS`` (never past that event); after it, a second at a
    time, so the run ends within a second of the data's last delivery.
    """
    return min(POLL_NS, end_ns - now_ns) if now_ns < end_ns else NS


def symbol_map_between(data_venue: str | None, profile: VenueProfile) -> dict[str, str]:
    """Recorded symbols of ``data_venue`` mapped to ``profile``'s symbols of the same base and quote.

    Empty when the data venue is the venue itself or has no profile of its own (then symbols
    are taken as they are).
    """
    if data_venue is None or data_venue == profile.name:
        return {}
    try:
        source = load_profile(data_venue)
    except ProfileError:
        return {}
    ours = {(rules.base_asset, rules.quote_asset): symbol for symbol, rules in profile.symbols.items()}
    return {symbol: ours[(rules.base_asset, rules.quote_asset)] for symbol, rules in source.symbols.items()
            if (rules.base_asset, rules.quote_asset) in ours}


def _profile_for(setup: VenueSetup, files: Sequence[Path]) -> VenueProfile:
    """The setup's profile, with market-data latency resampled from the data when asked."""
    profile = load_profile(setup.profile)
    if setup.market_latency == "profile":
        return profile
    if setup.market_latency != "data":
        raise ValueError(f"venue {setup.name}: market_latency must be 'profile' or 'data', "
                         f"got {setup.market_latency!r}")
    trades = [p for p in files if p.name.endswith(".trades.parquet")] or list(files)
    floor = getattr(profile.latency.market_data, "floor_ns", 0)
    recorded = Empirical.from_parquet(trades[0], deskew_method="min", floor_ns=floor, max_samples=200_000)
    return replace(profile, latency=replace(profile.latency, market_data=recorded))


def _mark_to_market(engine: ExecutionEngine, venues: Mapping[str, SimVenue]) -> None:
    """Mark every position at its venue's closing mid price, so the run reports unrealized PnL."""
    for position in engine.positions.positions():
        venue = venues.get(position.venue)
        if venue is None or position.symbol not in venue.profile.symbols:
            continue
        quote = venue.ticker(position.symbol)
        if quote.bid_price > 0 and quote.ask_price > 0:
            engine.positions.mark(position.venue, position.symbol, from_fixed((quote.bid_price + quote.ask_price) // 2))


def _balance_recorder(recorder: RunRecorder, venue: SimVenue) -> Any:
    """A fill listener that records the venue's balances of the fill's assets after it."""
    def on_fill(fill: Fill) -> None:
        balances = venue.balances()
        rules = venue.profile.symbols[fill.symbol]
        for asset in (rules.base_asset, rules.quote_asset):
            if asset in balances:
                recorder.balance(fill.ts_ns, venue.name, balances[asset])
    return on_fill

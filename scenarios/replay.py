"""A replay run: canonical market data, simulated venues, one strategy, a run directory out.

``run_replay`` wires the pieces: a ``ReplayFeed`` over the data (ordered by exchange time), one
simulated venue per ``VenueSetup`` (``scenarios.world.build_venue``) inside one ``SimRuntime``, the shared
``ExecutionContext`` in front of the strategy, and a ``RunRecorder`` that writes the run's
tables and manifest. Everything is seeded from the run's seed, so the same inputs give
byte-identical outputs. The strategy's ``ctx.instruments`` are the data's (venue, symbol)
pairs each simulated venue lists, under the venue's own names (``scenarios.inventory``), and
bar subscriptions of an instrument and interval the data has recorded candles for get those.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import replace
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from tqdm import tqdm

from harness.context import ExecutionContext
from harness.engine import EngineConfig, ExecutionEngine
from harness.files import file_sha256
from harness.journal import Journal
from harness.model import Fill
from harness.money import from_fixed
from harness.positions import Position
from harness.router import OrderRouter, RouterConfig
from harness.strategy import Strategy
from harness.version import code_version
from reports.run_dir import RunDirectory
from reports.run_output import RunRecorder, package_versions
from reports.run_tables import engine_tables
from scenarios.futures_run import FuturesRecord
from scenarios.inventory import DataInventory, take_inventory
from scenarios.replay_options import (
    StrategySpec,
    announce_depth,
    apply_latency,
    describe_latency,
    engine_config_entry,
    resolve_strategy,
)
from scenarios.replay_types import ReplayWorld, RunFailedError, RunHooks, RunResult
from scenarios.world import SimulatedVenue, VenueSetup, build_venue, default_balances, depth_for, symbol_map_between
from sim.kernel.runtime import SimRuntime
from sim.market.feed import ReplayFeed
from sim.venue.latency import Empirical, LatencyProfile
from sim.venue.profile import VenueProfile, load_profile
from sim.venue.venue import SimVenue

__all__ = ["NS", "POLL_NS", "ReplayWorld", "RunFailedError", "RunHooks", "RunResult", "VenueSetup", "data_locations",
           "data_time_range",
           "poll_step", "profile_sha256", "run_id_for", "run_replay", "symbol_map_between"]

NS = 1_000_000_000
POLL_NS = 10 * NS
"""Longest sleep of a replay's main task while data remains (see ``poll_step``)."""


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


def run_id_for(config: Mapping[str, Any], provenance: Mapping[str, Any] | None = None, *,
               name: str | None = None) -> str:
    """A run id from the configuration and what the run's results depend on besides it.

    ``provenance`` holds the content hashes of the data files, the venues' profiles, the code
    (``harness.version.code_version``) and the strategy's source: a changed trade, maker fee or
    line of code gives another id, while the same inputs always give the same id (no wall clock).
    """
    payload = {"config": config, "provenance": provenance or {}}
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:10]
    prefix = name or str(config["strategy"]).rsplit(":", 1)[-1].lower()
    return f"{prefix}-seed{config['seed']}-{digest}"


def run_replay(data: Sequence[Path], venues: Sequence[VenueSetup], strategy: StrategySpec, *,
               params: Mapping[str, str] | None = None, seed: int = 0, out_dir: Path = Path("runs"),
               progress: bool | None = None, router: RouterConfig | None = None,
               hooks: RunHooks | None = None, engine_config: EngineConfig | None = None,
               extra_config: Mapping[str, Any] | None = None, name: str | None = None,
               journal_path: Path | None = None, journal: bool = True,
               latency: Mapping[str, LatencyProfile] | None = None) -> RunResult:
    """Replay ``data`` through simulated ``venues`` with ``strategy``; write and return the run.

    ``strategy`` is a ``Strategy`` instance (run as it is), a ``Strategy`` subclass (built with
    ``params``) or ``"module:Class"`` (loaded, built with ``params``); the result carries the
    instance that ran, the final positions, the summary and the run directory.

    The run directory (under ``out_dir``) is written as ``reports.run_dir`` describes: complete,
    or (when the strategy or the simulation raises) moved to ``<run_id>.failed`` with the error in
    its manifest, and ``RunFailedError`` raised; an earlier complete run of the same id is kept.
    ``engine_config`` sets the execution layer's timings and policies; ``latency`` replaces a
    venue's latency models by venue name (``scenarios.replay_options.ZERO_LATENCY`` for none);
    ``journal=False`` runs without an execution journal (no ``journal.sqlite``), while
    ``journal_path`` keeps it outside the run directory (a journal that must outlive a killed
    process), copied into it at the end. All of them are part of the manifest's config, so of the
    run id. ``hooks`` (``RunHooks``) and ``extra_config`` (part of the config too, whose prefix
    ``name`` replaces the strategy's) are how the scenario runner adds faults and checks.
    Where a venue's depth is left to the data (``VenueSetup.depth`` None), it is the deepest the
    data's kinds support, said once in a log line (a warning when that is trades alone, unless
    ``hooks`` are given: the scenario runner's files choose their data on purpose).
    """
    files = [Path(p) for p in data]
    unknown = sorted(set(latency or {}) - {v.name for v in venues})
    if unknown:
        raise ValueError(f"latency overrides for {unknown}: not venues of this run")
    if not journal and (journal_path is not None or hooks is not None):
        raise ValueError("journal=False cannot be combined with journal_path or hooks (they need the journal)")
    strat, strategy_name = resolve_strategy(strategy, params)
    feed = ReplayFeed(files, order_by="ts_event")
    try:
        depth = depth_for(feed.kinds)
        announce_depth({v.name: depth for v in venues if v.depth is None}, feed.kinds, warn=hooks is None)
        profiles = {v.name: apply_latency(_profile_for(v, files), (latency or {}).get(v.name)) for v in venues}
        setups = [replace(v, depth=v.depth or depth,
                          balances=v.balances if v.balances is not None else default_balances(profiles[v.name]))
                  for v in venues]
        config = _config(strategy_name, params if not isinstance(strategy, Strategy) else None, seed, setups,
                         files=files, router=router)
        _add_choices(config, engine_config=engine_config, latency=latency or {}, journal=journal)
        if extra_config:
            config.update(extra_config)
        provenance = {
            "data_files": {p.name: file_sha256(p) for p in files},
            "profiles": {v.name: profile_sha256(v.profile) for v in setups},
            **_funding_provenance(setups),
            "code": code_version(),
            "strategy_source": _source_sha256(type(strat)),
        }
        run = RunDirectory(out_dir, run_id_for(config, provenance, name=name))
        start_ns, end_ns = data_time_range(files)
        manifest: dict[str, Any] = {"config": config, **provenance, "versions": package_versions(),
                                    "time_range_ns": [start_ns, end_ns],
                                    "data_locations": data_locations(files, run.final)}
        work = run.begin(manifest)
        recorder = RunRecorder()
        try:
            errors, final, instruments, extra, positions = _simulate(
                feed, setups, profiles, strat, seed=seed, router=router, recorder=recorder,
                journal_path=(journal_path or work / "journal.sqlite") if journal else None,
                time_range=(start_ns, end_ns),
                progress=progress, inventory=take_inventory(files), hooks=hooks, engine_config=engine_config)
            if journal_path is not None:
                shutil.copyfile(journal_path, work / "journal.sqlite")
            manifest["instruments"] = [list(pair) for pair in instruments]
            manifest["errors"] = errors
            manifest.update(extra)
            manifest["row_counts"] = recorder.write_tables(work)
        except BaseException as error:
            manifest["row_counts"] = _salvage(recorder, work)
            failed = run.fail(manifest, f"{type(error).__name__}: {error}")
            if isinstance(error, Exception):
                raise RunFailedError(failed, error) from error
            raise  # KeyboardInterrupt and the like: the run is marked failed, the signal goes on
        run_dir = run.publish(manifest)
    finally:
        feed.close()
    return RunResult(run_dir, {**manifest, "status": "complete"}, recorder, final, strategy=strat,
                     positions=positions)


def _add_choices(config: dict[str, Any], *, engine_config: EngineConfig | None,
                 latency: Mapping[str, LatencyProfile], journal: bool) -> None:
    """Record the engine settings, latency overrides and journal choice a run made (only those
    that differ from the defaults, so a default run keeps the config, and id, it always had)."""
    engine = engine_config_entry(engine_config)
    if engine:
        config["engine"] = engine
    if latency:
        config["latency"] = {name: describe_latency(profile) for name, profile in sorted(latency.items())}
    if not journal:
        config["journal"] = False


def data_locations(files: Sequence[Path], run_dir: Path) -> dict[str, str]:
    """Where each data file is, relative to the run directory (``../data/x.trades.parquet``).

    The manifest records it so that reports and the dashboard can find the market data a run
    replayed (its price chart); relative, so the manifest does not depend on where the run's parent
    folder lies, and two runs of the same inputs side by side still write identical manifests.
    Not part of the run id: moving the data does not change the run.
    """
    base = Path(os.path.abspath(run_dir))
    return {p.name: Path(os.path.relpath(os.path.abspath(p), base)).as_posix() for p in files}


def _config(strategy: str, params: Mapping[str, str] | None, seed: int, setups: Sequence[VenueSetup], *,
            files: Sequence[Path], router: RouterConfig | None) -> dict[str, Any]:
    """The run's configuration as plain data (the manifest's ``config``, part of the run id)."""
    config: dict[str, Any] = {
        "strategy": strategy, "params": dict(params or {}), "seed": seed,
        "venues": [{"name": v.name, "profile": v.profile, "depth": v.depth.value if v.depth else "",
                    "queue_model": v.queue_model, "market_latency": v.market_latency,
                    "data_venue": v.data_venue or v.name,
                    "balances": {a: str(b) for a, b in sorted((v.balances or {}).items())},
                    **({"adapter": v.adapter} if v.adapter else {}),
                    **({"funding_rates": Path(v.funding_rates).name} if v.funding_rates else {})} for v in setups],
        "data": [p.name for p in files],
    }
    if router is not None:
        config["router"] = {"criteria": router.criteria.value, "enable_splitting": router.enable_splitting,
                            "split_threshold": str(router.split_threshold), "priority": list(router.priority)}
    return config


_Simulated = tuple[list[str], dict[str, dict[str, tuple[Decimal, Decimal]]], list[tuple[str, str]], dict[str, Any],
                   list[Position]]
"""What ``_simulate`` returns: errors, final balances, instruments, manifest additions, positions."""


def _simulate(feed: ReplayFeed, setups: Sequence[VenueSetup], profiles: Mapping[str, VenueProfile],
              strat: Strategy, *, seed: int, router: RouterConfig | None, recorder: RunRecorder,
              journal_path: Path | None, time_range: tuple[int, int], progress: bool | None,
              inventory: DataInventory, hooks: RunHooks | None = None, engine_config: EngineConfig | None = None,
              ) -> _Simulated:
    """The replay itself, recording into ``recorder``; returns the strategy's errors, the final
    balances, the instruments the data gave the strategy, what the hooks add to the manifest and the
    final positions. No ``journal_path``: the engine runs without a journal."""
    start_ns, end_ns = time_range
    first = feed.peek_ts()
    # Start a second early: connecting, loading venue info and subscribing take virtual time, and
    # the strategy must not miss the first events.
    begin = max(0, (first if first is not None else start_ns) - NS)
    # A replay's journal is an output, rebuilt by rerunning with the same seed: it needs no fsync
    # per order intent (a live engine's does; the journal's contents are the same either way).
    with SimRuntime(seed=seed, start_ns=begin) as runtime, ExitStack() as stack:
        journal = (stack.enter_context(Journal(journal_path, runtime.clock, durable_intents=False))
                   if journal_path is not None else None)
        runtime.add_source(feed)  # before the venues' channels: at equal times the venue sees data first
        built: dict[str, SimulatedVenue] = {}
        instruments: list[tuple[str, str]] = []
        for setup in setups:
            assert setup.depth is not None
            profile = profiles[setup.name]
            venue_built = build_venue(runtime, setup, profile, depth=setup.depth)
            venue_built.venue.fill_listeners.append(_balance_recorder(recorder, venue_built.venue))
            data_venue = setup.data_venue or setup.name
            symbols = symbol_map_between(setup.data_venue, profile)
            recorded = inventory.bars_for_venue(data_venue, symbols)
            venue_built.adapter.bars.serve_recorded(recorded)
            venue_built.market.connect(feed, candles_to=venue_built.adapter.bars.on_recorded if recorded else None)
            built[setup.name] = venue_built
            instruments += [pair for pair in inventory.for_venue(setup.name, data_venue, symbols)
                            if pair[1] in profile.symbols]
        adapters = {name: v.adapter for name, v in built.items()}
        sim_venues = {name: v.venue for name, v in built.items()}
        futures = FuturesRecord.attach(recorder, sim_venues)  # None in a spot run: its tables stay as they were
        order_router = OrderRouter(router, runtime.clock) if router is not None else None
        engine = ExecutionEngine(adapters, runtime.clock, runtime.rng.child("engine"), journal=journal,
                                 router=order_router, config=engine_config)
        for adapter in adapters.values():
            adapter.session.audit = engine.audit  # the client's own requests (resync snapshots) are audited too
        context = ExecutionContext(adapters, runtime.clock, runtime.rng.stream("strategy"), log=recorder, engine=engine,
                                   instruments=instruments)
        world = ReplayWorld(runtime, feed, built, engine, context, journal, recorder, time_range)
        if hooks is not None:
            hooks.world_built(world)
        show = sys.stderr.isatty() if progress is None else progress
        bar = tqdm(total=max(1, (end_ns - start_ns) // NS), unit="s", desc="replay", disable=not show,
                   file=sys.stderr)

        async def main() -> None:
            for name, venue in sim_venues.items():
                for balance in venue.balances().values():
                    recorder.balance(runtime.now_ns(), name, balance)
            if hooks is not None:
                await hooks.before_start(world)
            await context.start(strat)
            shown = 0
            while feed.peek_ts() is not None:
                await runtime.clock.sleep_ns(poll_step(runtime.now_ns(), end_ns))
                done = (runtime.now_ns() - start_ns) // NS
                if done > shown:
                    bar.update(done - shown)
                    shown = done
            await runtime.clock.sleep_ns(NS)  # let market data still in flight reach the strategy
            if hooks is not None:
                await hooks.before_stop(world)
            await context.stop()
            for name, venue in sim_venues.items():
                for balance in venue.balances().values():
                    recorder.balance(runtime.now_ns(), name, balance)

        try:
            runtime.run(main())
        except BaseException:
            _record_engine(engine, recorder)  # what the execution layer knew when it failed
            raise
        finally:
            bar.close()
        _mark_to_market(engine, sim_venues)
        _record_engine(engine, recorder)
        if futures is not None:
            futures.finish(engine.positions)
        if hooks is not None:
            hooks.finished(world)
    final = {name: {a: (b.free, b.locked) for a, b in v.balances().items()} for name, v in sim_venues.items()}
    return context.errors, final, instruments, world.manifest, engine.positions.positions()


def _record_engine(engine: ExecutionEngine, recorder: RunRecorder) -> None:
    """Hand the execution layer's tables (positions, alerts, audit, ...) to the recorder."""
    for name, (rows, schema) in engine_tables(engine).items():
        recorder.extra(name, rows, schema)


def _salvage(recorder: RunRecorder, work: Path) -> dict[str, int]:
    """Write what a failed run recorded, for the post-mortem; nothing if even that fails."""
    try:
        return recorder.write_tables(work)
    except Exception:  # the run already failed; its error is what the manifest reports
        return {}


def _funding_provenance(setups: Sequence[VenueSetup]) -> dict[str, Any]:
    """The sha256 of each recorded funding-rate file (nothing when no venue has one)."""
    files = {v.name: file_sha256(Path(v.funding_rates)) for v in setups if v.funding_rates}
    return {"funding_rates": files} if files else {}


def profile_sha256(profile: str) -> str:
    """Hex sha256 of a venue profile's TOML: a shipped profile's name or a profile file's path."""
    if profile.endswith(".toml") or "/" in profile or "\\" in profile:
        return file_sha256(Path(profile))
    entry = resources.files("sim.venue").joinpath("profiles", f"{profile}.toml")
    return hashlib.sha256(entry.read_bytes()).hexdigest()


def _source_sha256(cls: type) -> str:
    """Hex sha256 of the file defining ``cls`` (a user's strategy module), or empty when it has none."""
    try:
        source = inspect.getsourcefile(cls)
    except TypeError:
        return ""
    return file_sha256(Path(source)) if source else ""


def poll_step(now_ns: int, end_ns: int) -> int:
    """How long a replay's main task sleeps before checking again whether the data is done.

    Every wake-up is a calendar item that cuts the replay's batches short, so before the last
    recorded event it sleeps up to ``POLL_NS`` (never past that event); after it, a second at a
    time, so the run ends within a second of the data's last delivery.
    """
    return min(POLL_NS, end_ns - now_ns) if now_ns < end_ns else NS


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

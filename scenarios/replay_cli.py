"""``harness replay``: turn command-line arguments into a replay run and print its summary.

Argument grammar (every value is checked here, with an error naming the argument):

* ``--data PATH...``: canonical Parquet files, or directories whose ``*.parquet`` are used;
  imported files must form complete import units (``harness.data.units``), else the run is
  refused naming the unit;
* ``--venue NAME[=PROFILE]`` (repeatable): a simulated venue; the profile defaults to the name;
  ``--data-venue NAME=DATAVENUE`` drives a venue from another venue's recorded data (one
  Binance recording can drive a simulated Binance and a simulated OKX);
* ``--balance VENUE:ASSET=AMOUNT`` (repeatable) replaces that venue's starting balances;
* ``--param KEY=VALUE`` (repeatable): strategy parameters, passed as strings;
* ``--depth auto|book|quotes|trades`` (auto: the deepest the data supports), ``--queue-model
  conservative|power|log``;
* ``--router best_price|lowest_fees|highest_liquidity|user_preference`` gives the engine an order
  router (venue priority and preference follow the ``--venue`` order) for strategies that
  route (``ctx.route``); ``--split-threshold QTY`` lets it split larger orders across venues;
* ``--market-latency profile|data``: the profile's market-data latency model, or the recorded
  ``ts_recv - ts_event`` delays of the trade data resampled (empirical);
* ``--zero-latency`` (every channel of every venue at 0 ns) and ``--latency VENUE:CHANNEL=NS``
  (repeatable; CHANNEL ``order_entry``, ``response``, ``market_data`` or ``all``: a constant delay);
* ``--engine KEY=VALUE`` (repeatable): an ``EngineConfig`` field (``reconcile_interval_ns=0``,
  ``health_interval_ns=0``, ...);
* ``--journal PATH`` keeps the execution journal there (copied into the run directory at the
  end), ``--no-journal`` runs without one; ``--out DIR`` is the run directory's parent.
* ``--funding VENUE=FILE`` (repeatable): a derivatives venue's recorded funding rates (CSV,
  ``sim.venue.funding``) instead of its profile's constant rate; the file is read before the run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path

from harness.data.canonical import open_canonical
from harness.data.errors import DataError
from harness.data.units import check_complete, expand_records
from harness.router import RouterConfig, RouterConfigError
from harness.strategy import StrategyConfigError, StrategyLoadError, load_strategy
from reports.summary import run_summary
from scenarios.replay import RunFailedError, VenueSetup, run_replay
from scenarios.replay_options import engine_config_from_text, latency_from_text
from sim.venue.funding import FundingRateError, load_funding_rates
from sim.venue.matching.types import DepthMode
from sim.venue.profile import ProfileError, load_profile
from sim.venue.venue import QUEUE_MODELS

__all__ = ["ReplayArgumentError", "check_funding", "data_files", "parse_router", "parse_venues", "replay_command"]


class ReplayArgumentError(ValueError):
    """A ``harness replay`` argument is malformed; the message names it."""


def _pair(text: str, sep: str, what: str) -> tuple[str, str]:
    left, found, right = text.partition(sep)
    if not found or not left or not right:
        raise ReplayArgumentError(f"{what}: expected KEY{sep}VALUE, got {text!r}")
    return left, right


def data_files(paths: Sequence[Path]) -> list[Path]:
    """The Parquet files named by ``paths`` (a directory stands for its ``*.parquet``, sorted; an
    import's completion record ``*.import.json`` for its unit's files).

    Each must be canonical market data (``CanonicalFileError`` otherwise), and imported files
    must form complete units, including every unit recorded in a directory given
    (``IncompleteImportError`` naming them).
    """
    files: list[Path] = []
    directories: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.parquet"))
            if not found:
                raise ReplayArgumentError(f"--data {path}: directory holds no .parquet files")
            files.extend(found)
            directories.append(path)
        elif path.is_file():
            files.append(path)
        else:
            raise ReplayArgumentError(f"--data {path}: no such file or directory")
    files = expand_records(files)  # each file once, however often it was named (never replayed twice)
    for file in files:
        open_canonical(file)
    check_complete(files, directories)
    return files


def parse_venues(venues: Sequence[str], balances: Sequence[str], data_venues: Sequence[str], *,
                 depth: str, queue_model: str, market_latency: str = "profile",
                 funding: Sequence[str] = ()) -> list[VenueSetup]:
    """``VenueSetup``s from the ``--venue``, ``--balance``, ``--data-venue`` and ``--funding`` arguments."""
    depth_mode: DepthMode | None = None
    if depth != "auto":
        try:
            depth_mode = DepthMode(depth.upper())
        except ValueError:
            choices = ["auto", *(m.value.lower() for m in DepthMode)]
            raise ReplayArgumentError(f"--depth: expected one of {choices}, got {depth!r}") from None
    if queue_model not in QUEUE_MODELS:
        raise ReplayArgumentError(f"--queue-model: expected one of {QUEUE_MODELS}, got {queue_model!r}")
    if market_latency not in ("profile", "data"):
        raise ReplayArgumentError(f"--market-latency: expected 'profile' or 'data', got {market_latency!r}")
    names: dict[str, str] = {}
    for spec in venues or ["binance"]:
        name, _, profile = spec.partition("=")
        if not name:
            raise ReplayArgumentError(f"--venue: empty venue name in {spec!r}")
        if name in names:
            raise ReplayArgumentError(f"--venue: {name!r} given twice")
        names[name] = profile or name
    starting: dict[str, dict[str, Decimal]] = {}
    for spec in balances:
        where, amount = _pair(spec, "=", "--balance")
        venue, _, asset = where.partition(":")
        if venue not in names or not asset:
            raise ReplayArgumentError(f"--balance {spec!r}: expected VENUE:ASSET=AMOUNT with a --venue name")
        try:
            value = Decimal(amount)
        except InvalidOperation:
            raise ReplayArgumentError(f"--balance {spec!r}: {amount!r} is not a number") from None
        if not value.is_finite() or value < 0:
            raise ReplayArgumentError(f"--balance {spec!r}: amount must be a non-negative number")
        starting.setdefault(venue, {})[asset] = value
    sources: dict[str, str] = {}
    for spec in data_venues:
        venue, source = _pair(spec, "=", "--data-venue")
        if venue not in names:
            raise ReplayArgumentError(f"--data-venue {spec!r}: {venue!r} is not a --venue")
        sources[venue] = source
    rates: dict[str, str] = {}
    for spec in funding:
        venue, path = _pair(spec, "=", "--funding")
        if venue not in names:
            raise ReplayArgumentError(f"--funding {spec!r}: {venue!r} is not a --venue")
        rates[venue] = path
    return [VenueSetup(name, profile, balances=starting.get(name), depth=depth_mode,
                       queue_model=queue_model, data_venue=sources.get(name), market_latency=market_latency,
                       funding_rates=rates.get(name))
            for name, profile in names.items()]


def check_funding(setups: Sequence[VenueSetup]) -> None:
    """Refuse ``--funding`` for a spot venue, and a funding-rate file that does not read
    (``FundingRateError`` naming the file, line and field)."""
    for setup in setups:
        if setup.funding_rates is None:
            continue
        if load_profile(setup.profile).futures is None:
            raise ReplayArgumentError(f"--funding {setup.name}=...: profile {setup.profile!r} is not a derivatives "
                                      "venue (it has no [futures] table)")
        load_funding_rates(Path(setup.funding_rates))


def parse_router(criteria: str | None, split_threshold: str | None, venues: Sequence[str]) -> RouterConfig | None:
    """The router of ``--router CRITERIA [--split-threshold QTY]`` (venue priority: ``--venue`` order)."""
    if criteria is None:
        if split_threshold is not None:
            raise ReplayArgumentError("--split-threshold needs --router")
        return None
    data: dict[str, object] = {"criteria": criteria.upper(), "priority": list(venues), "preferred": list(venues)}
    if split_threshold is not None:
        data["enable_splitting"] = True
        data["split_threshold"] = split_threshold
    return RouterConfig.from_mapping(data)


def replay_command(data: Sequence[Path], venues: Sequence[str], strategy: str, *, params: Sequence[str] = (),
                   balances: Sequence[str] = (), data_venues: Sequence[str] = (), seed: int = 0,
                   out_dir: Path = Path("runs"), depth: str = "auto", queue_model: str = "conservative",
                   market_latency: str = "profile", router: str | None = None, split_threshold: str | None = None,
                   progress: bool | None = None, latency: Sequence[str] = (), zero_latency: bool = False,
                   engine: Sequence[str] = (), journal: Path | None = None, no_journal: bool = False,
                   funding: Sequence[str] = ()) -> int:
    """Run a replay from command-line values, print its summary; 0 on success, 1 when the run failed
    (its directory is marked failed), 2 on bad arguments.

    Errors go to stderr; the arguments are checked before the data (which reads file footers). A
    strategy that finds its parameters do not fit the run (``StrategyConfigError``: no market data
    for its instrument, a bad value) also gives 2 and its one-line reason.
    """
    try:
        setups = parse_venues(venues, balances, data_venues, depth=depth, queue_model=queue_model,
                              market_latency=market_latency, funding=funding)
        strategy_params = dict(_pair(p, "=", "--param") for p in params)
        router_config = parse_router(router, split_threshold, [s.name for s in setups])
        load_strategy(strategy, strategy_params)  # fail before any work if it cannot be loaded
        profiles = {setup.name: load_profile(setup.profile) for setup in setups}
        try:
            latencies = latency_from_text(latency, list(profiles), zero=zero_latency, profiles=profiles)
            engine_config = engine_config_from_text(engine)
        except ValueError as bad:
            raise ReplayArgumentError(str(bad)) from None
        if journal is not None and no_journal:
            raise ReplayArgumentError("--journal and --no-journal exclude each other")
        check_funding(setups)
        files = data_files(data)
    except (ReplayArgumentError, StrategyLoadError, ProfileError, RouterConfigError, DataError,
            FundingRateError) as error:
        print(f"harness replay: {error}", file=sys.stderr)
        return 2
    try:
        result = run_replay(files, setups, strategy, params=strategy_params, seed=seed, out_dir=out_dir,
                            progress=progress, router=router_config, latency=latencies or None,
                            engine_config=engine_config, journal_path=journal, journal=not no_journal)
    except RunFailedError as failed:
        if isinstance(failed.error, StrategyConfigError):
            print(f"harness replay: {strategy}: {failed.error}", file=sys.stderr)
            return 2
        print(f"harness replay: the run failed: {failed}", file=sys.stderr)
        print(f"harness replay: run directory (marked failed, the error in its manifest): {failed.run_dir}",
              file=sys.stderr)
        return 1
    for line in run_summary(result.run_dir):
        print(line)
    return 0

"""The ``harness`` command: parses arguments, then hands over to the package that does the work.

Kept thin on purpose: ``harness`` must not import ``sim``, ``live`` or ``reports`` at module
level (the shared layer knows nothing of the worlds), so each subcommand loads its
implementation lazily.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["build_parser", "main"]


def _cmd_data_import(args: argparse.Namespace) -> int:
    from harness.data.cli_commands import run_import

    return run_import(args.sources, args.out, fmt=args.format, skip_bad=args.skip_bad, venue=args.venue,
                      symbol=args.symbol, table={"kind": args.kind, "columns": args.column,
                                                 "price_decimals": args.price_decimals,
                                                 "size_decimals": args.size_decimals, "time_unit": args.time_unit})


def _cmd_data_verify(args: argparse.Namespace) -> int:
    from harness.data.cli_commands import run_verify

    return run_verify(args.paths, fmt=args.format)


def _cmd_data_formats(args: argparse.Namespace) -> int:
    from harness.data.cli_commands import run_formats

    return run_formats()


def _cmd_demo(args: argparse.Namespace) -> int:
    from scenarios.demo import run_demo

    return run_demo(out_dir=args.out, seed=args.seed)


def _cmd_replay(args: argparse.Namespace) -> int:
    from scenarios.replay_cli import replay_command

    return replay_command(args.data, args.venue, args.strategy, params=args.param, balances=args.balance,
                          data_venues=args.data_venue, seed=args.seed, out_dir=args.out, depth=args.depth,
                          queue_model=args.queue_model, market_latency=args.market_latency, router=args.router,
                          split_threshold=args.split_threshold, funding=args.funding,
                          progress=False if args.no_progress else None, latency=args.latency,
                          zero_latency=args.zero_latency, engine=args.engine, journal=args.journal,
                          no_journal=args.no_journal)


def _cmd_scenario_run(args: argparse.Namespace) -> int:
    from scenarios.scenario_cli import scenario_run_command

    return scenario_run_command(args.files, seeds=args.seeds, out_dir=args.out, cache_dir=args.cache,
                                quiet=args.quiet)


def _cmd_scenario_fuzz(args: argparse.Namespace) -> int:
    from scenarios.scenario_cli import scenario_fuzz_command

    return scenario_fuzz_command(runs=args.runs, seed=args.seed, workers=args.workers, base=args.base,
                                 out_dir=args.out, cache_dir=args.cache)


def _cmd_report(args: argparse.Namespace) -> int:
    from reports.html_report import report_command

    return report_command(args.run_dir, args.output)


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from dashboard.launch import dashboard_command

    return dashboard_command(args.runs_dir, port=args.port, run=args.run, headless=args.headless)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from scenarios.sweep_cli import sweep_command

    return sweep_command(args.target, args.rest, seeds=args.seeds, first_seed=args.first_seed, out_dir=args.out,
                         workers=args.workers, cluster=args.cluster, progress=False if args.no_progress else None)


def _cmd_venue_serve(args: argparse.Namespace) -> int:
    from live.serve.cli import serve_command

    faults = None
    if args.scenario is not None:  # the scenario layer reads the file; live never imports it
        from scenarios.serve_faults import load_serve_faults
        from sim.venue.profile import load_profile

        try:
            faults = load_serve_faults(args.scenario, venue=load_profile(args.profile).name, seed=args.seed,
                                       fix=args.fix is not None)
        except (ValueError, OSError) as error:
            print(f"error: --scenario: {error}", file=sys.stderr)
            return 2
    return serve_command(args.profile, args.data, args.port, args.speed, faults, fix=args.fix,
                         seed=0 if args.seed is None else args.seed)


def _cmd_paper(args: argparse.Namespace) -> int:
    from live.paper_cli import paper_command

    return paper_command(args)


def _cmd_record(args: argparse.Namespace) -> int:
    from live.record import record_command

    return record_command(args)


def _cmd_strategies(args: argparse.Namespace) -> int:
    from scenarios.listing import strategy_lines

    print("\n".join(strategy_lines()))
    return 0


def _cmd_profiles(args: argparse.Namespace) -> int:
    from scenarios.listing import profile_lines

    print("\n".join(profile_lines()))
    return 0


def _version_text() -> str:
    from harness.version import code_version

    code = code_version()
    commit = f" (git {str(code['git_commit'])[:12]}{', dirty' if code['dirty'] else ''})" if code["git_commit"] else ""
    return f"harness {code['package']}{commit}"


class _VersionAction(argparse.Action):
    """``--version``: computed only when asked (it reads git and hashes the sources)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        print(_version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for tests and for ``--help`` docs)."""
    parser = argparse.ArgumentParser(prog="harness", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action=_VersionAction, nargs=0, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="import and verify market data")
    data_sub = data.add_subparsers(dest="data_command", required=True)

    imp = data_sub.add_parser("import", help="convert raw recordings to canonical Parquet")
    imp.add_argument("sources", nargs="+", type=Path, help="raw files to import")
    imp.add_argument("-o", "--out", type=Path, required=True, help="output directory")
    imp.add_argument("--format", default=None, help="importer name (default: autodetect)")
    imp.add_argument("--skip-bad", action="store_true", help="count and report bad rows instead of failing")
    imp.add_argument("--venue", default=None, help="the venue of the rows (overrides what the file says)")
    imp.add_argument("--symbol", default=None, help="the symbol of the rows (overrides what the file says)")
    table = imp.add_argument_group("--format table (a CSV or Parquet table of trades or quotes)")
    table.add_argument("--kind", default=None, help="trades or quotes (default: quotes if bid and ask columns)")
    table.add_argument("--column", action="append", default=[], metavar="CANONICAL=SOURCE",
                       help="read canonical column CANONICAL from SOURCE (repeatable), e.g. size=qty")
    table.add_argument("--price-decimals", type=int, default=None, metavar="N",
                       help="the instrument's price decimals (float columns convert exactly at N places)")
    table.add_argument("--size-decimals", type=int, default=None, metavar="N", help="likewise for sizes")
    table.add_argument("--time-unit", default=None, help="s, ms, us or ns of integer timestamps (default: by size)")
    imp.set_defaults(func=_cmd_data_import)

    ver = data_sub.add_parser("verify", help="rebuild books, report sequence gaps and book match rate")
    ver.add_argument("paths", nargs="+", type=Path, help="raw or canonical files, in replay order")
    ver.add_argument("--format", default=None, help="importer name for raw files (default: autodetect)")
    ver.set_defaults(func=_cmd_data_verify)

    fmts = data_sub.add_parser("formats", help="list the supported raw formats")
    fmts.set_defaults(func=_cmd_data_formats)

    rep = sub.add_parser("replay", help="run a strategy over canonical data through simulated venues")
    rep.add_argument("--data", nargs="+", type=Path, required=True, help="canonical Parquet files or directories")
    rep.add_argument("--venue", action="append", default=[], metavar="NAME[=PROFILE]",
                     help="a simulated venue (repeatable; default binance)")
    rep.add_argument("--strategy", required=True, metavar="MODULE:CLASS", help="strategy to load")
    rep.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="strategy parameter")
    rep.add_argument("--balance", action="append", default=[], metavar="VENUE:ASSET=AMOUNT",
                     help="starting balance (replaces the venue's defaults)")
    rep.add_argument("--data-venue", action="append", default=[], metavar="VENUE=DATAVENUE",
                     help="drive a venue from another venue's recorded data")
    rep.add_argument("--seed", type=int, default=0)
    rep.add_argument("--out", type=Path, default=Path("runs"), help="parent directory of the run directory")
    rep.add_argument("--depth", default="auto",
                     help="matching depth: auto (the deepest the data supports), book, quotes or trades")
    rep.add_argument("--queue-model", default="conservative", help="conservative, power or log")
    rep.add_argument("--market-latency", default="profile",
                     help="market-data latency: the profile's model, or 'data' (recorded delays resampled)")
    rep.add_argument("--router", default=None,
                     help="order router criteria: best_price, lowest_fees, highest_liquidity, user_preference")
    rep.add_argument("--split-threshold", default=None, metavar="QTY",
                     help="with --router: split orders larger than this across venues")
    rep.add_argument("--zero-latency", action="store_true", help="every venue channel at 0 ns")
    rep.add_argument("--latency", action="append", default=[], metavar="VENUE:CHANNEL=NS",
                     help="constant latency of a channel (order_entry, response, market_data or all; repeatable)")
    rep.add_argument("--engine", action="append", default=[], metavar="KEY=VALUE",
                     help="an EngineConfig field, e.g. reconcile_interval_ns=0 (repeatable)")
    rep.add_argument("--journal", type=Path, default=None, metavar="PATH",
                     help="keep the execution journal here (copied into the run directory at the end)")
    rep.add_argument("--no-journal", action="store_true", help="run without an execution journal")
    rep.add_argument("--funding", action="append", default=[], metavar="VENUE=FILE",
                     help="a derivatives venue's recorded funding rates (CSV: symbol,funding_time,funding_rate)")
    rep.add_argument("--no-progress", action="store_true", help="no progress bar")
    rep.set_defaults(func=_cmd_replay)

    scenario = sub.add_parser("scenario", help="fault-injection scenarios: run files, search for failures")
    scenario_sub = scenario.add_subparsers(dest="scenario_command", required=True)
    srun = scenario_sub.add_parser("run", help="run scenario files and print their scorecards")
    srun.add_argument("files", nargs="+", type=Path, help="scenario TOML files (scenarios/catalog/*.toml)")
    srun.add_argument("--seeds", type=int, default=1, help="run each with its seed and the N-1 after it")
    srun.add_argument("--out", type=Path, default=Path("runs"), help="parent directory of the run directories")
    srun.add_argument("--cache", type=Path, default=None, help="data cache (default $HARNESS_CACHE or ~/.cache)")
    srun.add_argument("--quiet", action="store_true", help="one line per passing run")
    srun.set_defaults(func=_cmd_scenario_run)
    sfuzz = scenario_sub.add_parser("fuzz", help="random fault schedules; shrink and write out any failure")
    sfuzz.add_argument("--runs", type=int, default=100, help="how many random schedules")
    sfuzz.add_argument("--seed", type=int, default=0, help="the search's seed (run i of a seed is always the same)")
    sfuzz.add_argument("--workers", type=int, default=1, help="processes to run them in")
    sfuzz.add_argument("--base", type=Path, default=None, help="base scenario without faults (default: the "
                       "shipped recording's trades with a resting ladder)")
    sfuzz.add_argument("--out", type=Path, default=Path("runs") / "fuzz", help="where reproducers are written")
    sfuzz.add_argument("--cache", type=Path, default=None, help="data cache (default $HARNESS_CACHE or ~/.cache)")
    sfuzz.set_defaults(func=_cmd_scenario_fuzz)


    report = sub.add_parser("report", help="write a self-contained HTML report of a run directory")
    report.add_argument("run_dir", type=Path, help="a run directory (runs/<run id>)")
    report.add_argument("-o", "--output", type=Path, default=None, help="HTML file (default RUN_DIR/report.html)")
    report.set_defaults(func=_cmd_report)

    dash = sub.add_parser("dashboard", help="start the Streamlit dashboard over a folder of run directories")
    dash.add_argument("runs_dir", nargs="?", type=Path, default=Path("runs"), help="folder of runs (default runs)")
    dash.add_argument("--port", type=int, default=8501)
    dash.add_argument("--run", default=None, metavar="RUN_ID", help="open this run's page first")
    dash.add_argument("--headless", action="store_true", help="do not open a browser")
    dash.set_defaults(func=_cmd_dashboard)

    sweep = sub.add_parser("sweep", help="run a grid of replays or scenario runs (seeds x parameters) in a process "
                           "pool or on Dask",
                           description="harness sweep (replay REPLAY_ARGS... | FILE.toml) --seeds N "
                           "[--param NAME=V1,V2 ...]: every replay argument is accepted; a scenario file takes "
                           "only --param (its strategy's parameters); a --param whose value lists several values "
                           "(comma-separated) is a grid axis")
    sweep.add_argument("target", help="'replay', or a scenario .toml file")
    sweep.add_argument("--seeds", type=int, default=1, help="seeds per grid point (first-seed .. first-seed+N-1)")
    sweep.add_argument("--first-seed", type=int, default=0)
    sweep.add_argument("--out", type=Path, default=Path("runs"), help="parent of the sweep folder")
    sweep.add_argument("--workers", type=int, default=None, help="local processes (default: CPU count)")
    sweep.add_argument("--cluster", default=None, metavar="tcp://HOST:PORT", help="run on this Dask scheduler")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    sweep.add_argument("rest", nargs=argparse.REMAINDER, help="the replay's arguments (or a scenario's --param)")
    sweep.set_defaults(func=_cmd_sweep)

    _add_live_commands(sub)

    strategies = sub.add_parser("strategies", help="list the example strategies that ship")
    strategies.set_defaults(func=_cmd_strategies)
    profiles = sub.add_parser("profiles", help="list the venue profiles that ship")
    profiles.set_defaults(func=_cmd_profiles)

    demo = sub.add_parser("demo", help="import the shipped BTCUSDT recording and replay it")
    demo.add_argument("--out", type=Path, default=Path("runs"), help="where to write outputs")
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=_cmd_demo)
    return parser


def _add_live_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``venue serve``, ``paper`` and ``record``: the local venue, paper trading and recording."""
    venue = sub.add_parser("venue", help="serve a simulated venue over its real protocols on 127.0.0.1")
    venue_sub = venue.add_subparsers(dest="venue_command", required=True)
    serve = venue_sub.add_parser("serve", help="run a local venue (Binance Spot protocols) until Ctrl-C")
    serve.add_argument("--profile", default="binance", help="venue profile name or file (default binance)")
    serve.add_argument("--data", nargs="*", type=Path, default=[], help="canonical Parquet files or directories")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    serve.add_argument("--speed", default="1", help="venue clock speed: X times the wall clock (default 1)")
    serve.add_argument("--scenario", type=Path, default=None,
                       help="scenario file whose faults the venue applies, timed from the replay's start")
    serve.add_argument("--seed", type=int, default=None,
                       help="seed of the venue (default 0) and of the scenario's fault draws (default: its seed)")
    serve.add_argument("--fix", type=int, default=None, metavar="PORT",
                       help="also serve FIX order entry in the profile's dialect on PORT (binance, coinbase)")
    serve.set_defaults(func=_cmd_venue_serve)

    paper = sub.add_parser("paper", help="run a strategy live (sandbox or a local venue) through the engine")
    paper.add_argument("--venue", default="binance", help="venue (binance, bybit)")
    where = paper.add_mutually_exclusive_group(required=True)
    where.add_argument("--sandbox", action="store_true", help="the venue's testnet")
    where.add_argument("--local", metavar="URL", help="a local venue, e.g. http://127.0.0.1:8080")
    paper.add_argument("--strategy", required=True, metavar="MODULE:CLASS", help="strategy to load")
    paper.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="strategy parameter")
    paper.add_argument("--journal", type=Path, default=Path("paper/journal.sqlite"),
                       help="the execution journal (a restart resumes from it)")
    paper.add_argument("--on-exit", choices=("cancel", "leave"), default="cancel",
                       help="what happens to resting orders on Ctrl-C")
    paper.add_argument("--symbols", default="BTCUSDT", help="comma-separated symbols the strategy trades")
    paper.add_argument("--credentials", type=Path, default=None,
                       help="sealed credentials file (opened with HARNESS_VAULT_KEY) instead of the environment")
    paper.add_argument("--speed", default="1", help="clock speed, to match a local venue run with --speed")
    paper.add_argument("--duration", default=None, metavar="SECONDS", help="stop by itself after this long")
    paper.add_argument("--seed", type=int, default=0)
    paper.set_defaults(func=_cmd_paper)

    record = sub.add_parser("record", help="record a venue's market streams to raw lines and canonical Parquet")
    record.add_argument("--venue", default="binance", help="venue (binance)")
    source = record.add_mutually_exclusive_group(required=True)
    source.add_argument("--sandbox", action="store_true", help="the venue's testnet")
    source.add_argument("--local", metavar="URL", help="a local venue, e.g. http://127.0.0.1:8080")
    record.add_argument("--symbols", required=True, help="comma-separated symbols, e.g. BTCUSDT,ETHUSDT")
    record.add_argument("--out", type=Path, required=True, help="output directory")
    record.add_argument("--duration", default=None, metavar="SECONDS", help="stop by itself after this long")
    record.set_defaults(func=_cmd_record)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harness`` console script."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())

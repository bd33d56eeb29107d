"""``harness paper``: a strategy trading live through the engine, on the testnet or a local venue.

``--sandbox`` uses the Binance Spot testnet (``BinanceEndpoints.sandbox``: never a production
host; with ``--venue bybit`` the Bybit v5 testnet, ``BybitEndpoints.sandbox``), ``--local URL`` a
local venue. Credentials come from the environment or a sealed file
(``live.credentials``), never from the command line, and are never printed. The journal
(``--journal``, SQLite WAL) records every intent before its order leaves; running again on the
same journal resumes: journaled intents without an answer are settled with the venue, the
engine reconciles at start, and the new session's client order ids cannot collide with the old
ones (``live.paper.session_prefix``). Ctrl-C (or SIGTERM, or ``--duration``) stops gracefully:
the strategy stops, sends in flight finish, resting orders are cancelled (``--on-exit cancel``)
or left working (``leave``). ``--speed`` runs the clock X times faster, to match a local venue
started with the same ``--speed``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from decimal import Decimal, InvalidOperation

from harness.clock import ScaledClock
from harness.contract import VenueError
from harness.journal import Journal
from harness.registry import CredentialError
from harness.strategy import StrategyLoadError, load_strategy
from live.binance import BinanceAdapter, BinanceEndpoints
from live.bybit import BybitAdapter, BybitEndpoints
from live.credentials import credentials_for
from live.paper import LiveLog, run_live

__all__ = ["paper_command"]

_NS = 1_000_000_000


def _params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--param: expected KEY=VALUE, got {pair!r}")
        params[key] = value
    return params


def _seconds(text: str | None, flag: str) -> int | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{flag}: expected seconds, got {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{flag}: expected a positive number of seconds, got {text!r}")
    return int(value * _NS)


async def _run(args: argparse.Namespace, params: dict[str, str], speed: Decimal | int,
               duration_ns: int | None) -> int:
    credentials = credentials_for(args.venue, sealed=args.credentials)
    endpoints: BinanceEndpoints | BybitEndpoints
    if args.venue == "bybit":
        endpoints = BybitEndpoints.sandbox() if args.sandbox else BybitEndpoints.local(args.local)
    else:
        endpoints = BinanceEndpoints.sandbox() if args.sandbox else BinanceEndpoints.local(args.local)
    clock = ScaledClock(speed)
    symbols = [s.strip().upper() for s in args.symbols.split(",") if s.strip()]
    args.journal.parent.mkdir(parents=True, exist_ok=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    strategy = load_strategy(args.strategy, params)
    with Journal(args.journal, clock) as journal:
        adapter: BinanceAdapter | BybitAdapter
        if isinstance(endpoints, BybitEndpoints):
            adapter = BybitAdapter(endpoints, credentials, clock, audit=journal, symbols=symbols)
        else:
            adapter = BinanceAdapter(endpoints, credentials, clock, audit=journal, symbols=symbols)
        log = LiveLog(echo=True)
        print(f"paper: {args.strategy} on {args.venue} ({endpoints.mode.value}, {endpoints.rest}); "
              f"journal {args.journal}; Ctrl-C to stop ({args.on_exit} resting orders)", flush=True)
        try:
            run = await run_live({args.venue: adapter}, strategy, clock, seed=args.seed, journal=journal, stop=stop,
                                 duration_ns=duration_ns, on_exit=args.on_exit, symbols={args.venue: symbols},
                                 log=log)
        finally:
            await adapter.disconnect()
    engine = run.engine
    for found in engine.discrepancies:
        print(f"paper: reconciled {found.kind.value} {found.key}: ours {found.ours}, venue {found.venue_value}",
              flush=True)
    fills = sum(len(o.fills) for o in engine.orders)
    print(f"paper: stopped; session {engine.config.id_prefix}, {len(engine.orders)} orders, {fills} fills, "
          f"{len(engine.discrepancies)} discrepancies in reconciliation", flush=True)
    return 0


def paper_command(args: argparse.Namespace) -> int:
    """Run ``harness paper``; 2 on bad arguments or credentials, 1 when the venue fails."""
    if args.venue not in ("binance", "bybit"):
        print(f"error: --venue {args.venue}: only binance and bybit have a live adapter so far", file=sys.stderr)
        return 2
    try:
        params = _params(args.param)
        duration = _seconds(args.duration, "--duration")
        speed_value = Decimal(args.speed)
        if not speed_value.is_finite() or speed_value <= 0:
            raise ValueError(f"--speed: expected a positive number, got {args.speed!r}")
        speed: Decimal | int = int(speed_value) if speed_value == speed_value.to_integral_value() else speed_value
        return asyncio.run(_run(args, params, speed, duration))
    except (ValueError, CredentialError, StrategyLoadError, InvalidOperation) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except VenueError as error:
        print(f"error: the venue failed: {error}", file=sys.stderr)
        return 1

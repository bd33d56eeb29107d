"""``harness venue serve``: run a local venue until Ctrl-C.

``--profile`` names the simulated venue (a shipped profile or a profile file), ``--data`` the
canonical Parquet files (or directories of them) it replays, ``--speed X`` runs its clock X
times faster than the wall (data included). Credentials: the API key and HMAC secret the venue
accepts come from ``BINANCE_API_KEY`` / ``BINANCE_API_SECRET`` (``BYBIT_*`` for ``--profile bybit`` or
``bybit-linear``, which speak Bybit v5, spot or linear: ``live.serve.bybit``) when set (so a client configured
for paper trading works unchanged); otherwise a fresh pair is generated and printed once (it is
only good for this server). ``--scenario FILE`` is read by the scenario layer, which ``harness.cli``
calls (``scenarios.serve_faults.load_serve_faults``: ``live`` never imports ``scenarios``) and whose
``ServeFaults`` it hands to ``serve_command``: the file's faults start with the replay. ``--seed``
seeds the venue (and the faults' draws). ``--fix PORT`` adds the FIX acceptor in the profile's
dialect (``live.serve.fix_acceptor``), with credentials made for this run (``live.serve.fix_cli``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from live.serve.coinbase_rest import cdp_credentials
from live.serve.faults import ServeFaults
from live.serve.fix_cli import fix_credentials
from live.serve.server import LocalVenue, LocalVenueConfig

__all__ = ["BYBIT_PROFILES", "parse_speed", "serve_command"]

BYBIT_PROFILES = ("bybit", "bybit-linear")
"""Profiles served over Bybit v5 (``bybit-linear`` as category ``linear``); the others over Binance's protocol."""


def parse_speed(text: str) -> Decimal | int:
    """``--speed``: a positive number (``1``, ``10``, ``0.5``), exact."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"--speed: expected a positive number, got {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"--speed: expected a positive number, got {text!r}")
    return int(value) if value == value.to_integral_value() else value


def _data_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.parquet"))
            if not found:
                raise ValueError(f"--data {path}: directory holds no .parquet files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ValueError(f"--data {path}: no such file or directory")
    return files


async def _serve(config: LocalVenueConfig, announce: bool) -> None:
    if config.profile in BYBIT_PROFILES:  # Bybit's protocol; every other profile is served over Binance's
        from live.serve.bybit import BybitLocalVenue

        bybit = BybitLocalVenue(config)
        venue: LocalVenue = bybit
        url = await venue.start()
        print(f"local venue {venue.profile.name} on {url} (Bybit v5 category {bybit.category}: REST {url}/v5, "
              f"public WS {bybit.public_ws_url}, private WS {bybit.private_ws_url})", flush=True)
    else:
        venue = LocalVenue(config)
        url = await venue.start()
        print(f"local venue {venue.profile.name} on {url} (streams {venue.ws_url}/ws, WS API "
              f"{venue.ws_url}/ws-api/v3)", flush=True)
    if venue.fix is not None:
        print(f"FIX {venue.fix.dialect.begin_string} order entry on tcp://{config.host}:{venue.fix.port}, "
              f"drop copy on tcp://{config.host}:{venue.fix.drop_copy_port} (TargetCompID "
              f"{venue.fix.dialect.venue_comp_id})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await venue.stop()
        if announce:
            print("local venue stopped", flush=True)


def serve_command(profile: str, data: list[Path], port: int, speed: str, faults: ServeFaults | None = None, *,
                  fix: int | None = None, seed: int = 0) -> int:
    """Run the local venue until SIGINT/SIGTERM with ``faults`` (a scenario's, loaded by the caller; ``fix``:
    also FIX order entry on that port); 2 on bad arguments."""
    try:
        files = _data_files(data)
        config = LocalVenueConfig(profile=profile, data=files, port=port, speed=parse_speed(speed),
                                  faults=faults or ServeFaults(), seed=seed)
        if fix is not None:
            if not 0 <= fix <= 65535:
                raise ValueError(f"--fix: expected a port number, got {fix}")
            dialect = Path(profile).stem if profile.endswith(".toml") else profile
            config.fix_port = fix
            config.fix_keys, fix_lines = fix_credentials(dialect)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in fix_lines if fix is not None else []:
        print(line, flush=True)
    if config.profile == "coinbase":
        config.coinbase_keys, cdp_lines = cdp_credentials()
        print(*cdp_lines, flush=True)
    prefix = "BYBIT" if profile in BYBIT_PROFILES else "BINANCE"
    key, secret = os.environ.get(f"{prefix}_API_KEY"), os.environ.get(f"{prefix}_API_SECRET")
    if not key or not secret:
        key, secret = f"local-{secrets.token_hex(8)}", secrets.token_hex(24)
        print(f"API key {key} secret {secret} (generated for this local venue only)", flush=True)
    config.api_keys = {key: secret}
    asyncio.run(_serve(config, announce=True))
    return 0

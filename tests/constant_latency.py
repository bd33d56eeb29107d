"""Venue profiles with constant latencies, so tests can assert exact delivery times (tests only)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from sim.venue.latency import Constant, LatencyProfile
from sim.venue.profile import VenueProfile, load_profile

REQUEST_NS = 1_000_000
"""Order-entry and response latency of the constant profiles (1 ms each way)."""

MARKET_NS = 5_000_000
"""Market-data latency of the constant profiles (5 ms)."""


def constant_profile(name: str = "binance") -> VenueProfile:
    """The shipped profile ``name`` with ``REQUEST_NS`` and ``MARKET_NS`` latencies."""
    return replace(load_profile(name), latency=LatencyProfile(Constant(REQUEST_NS), Constant(REQUEST_NS),
                                                              Constant(MARKET_NS)))


def constant_profile_file(name: str, directory: Path) -> Path:
    """Write the shipped profile ``name`` with constant latencies as a TOML file (for replays by path)."""
    text = (Path(__file__).resolve().parents[1] / "sim" / "venue" / "profiles" / f"{name}.toml").read_text()
    head = re.split(r"^\[latency\]", text, flags=re.M)[0]
    sections = "".join(f'\n[latency.{channel}]\nmodel = "constant"\nvalue_ns = {ns}\n'
                       for channel, ns in (("order_entry", REQUEST_NS), ("response", REQUEST_NS),
                                           ("market_data", MARKET_NS)))
    path = directory / f"{name}-constant.toml"
    path.write_text(f"{head}[latency]\nfifo = true\n{sections}")
    return path

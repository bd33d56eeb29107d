"""A derivatives venue profile's ``[futures]`` table: what makes a venue a linear perpetual venue.

A profile with a ``[futures]`` table is served by ``sim.venue.futures_venue.FuturesVenue``
instead of the spot ``SimVenue``: every symbol is a linear (quote-settled) perpetual, positions
are one-way (a signed size), orders are checked against initial margin, and funding is paid or
received every ``funding_interval_s`` at the profile's ``funding_rate`` (unless recorded rates
are given, ``sim.venue.funding_rates``). Keys::

    [futures]
    settle_asset = "USDT"          the asset margin, PnL, fees and funding are paid in
    default_leverage = 10          leverage of a symbol until ``set_leverage`` changes it
    max_leverage = 100             the venue's upper bound (1 is the lower one)
    default_margin_mode = "CROSS"  CROSS or ISOLATED
    funding_interval_s = 28800     funding every 8 hours ...
    funding_offset_s = 0           ... at epoch multiples of the interval plus this offset
    funding_rate = "0.0001"        the constant rate of the profile (a string: never a float)

Like the rest of a profile, unknown keys and floats are refused with the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from harness.config import Section

__all__ = ["MARGIN_MODES", "FuturesTerms", "parse_futures"]

_NS_PER_S = 1_000_000_000
MARGIN_MODES = ("CROSS", "ISOLATED")


@dataclass(frozen=True, slots=True)
class FuturesTerms:
    """The contract terms every symbol of a linear perpetual venue shares (see the module docstring)."""

    settle_asset: str
    default_leverage: int
    max_leverage: int
    default_margin_mode: str
    funding_interval_ns: int
    funding_offset_ns: int
    funding_rate: Decimal

    def next_funding_ns(self, after_ns: int) -> int:
        """The first funding time strictly after ``after_ns`` on the profile's schedule."""
        interval, offset = self.funding_interval_ns, self.funding_offset_ns
        periods = (after_ns - offset) // interval + 1
        return offset + periods * interval


def parse_futures(section: Section) -> FuturesTerms:
    """The ``[futures]`` table of a profile, validated (errors name the key and line)."""
    settle = section.string("settle_asset")
    default_leverage = section.integer("default_leverage", 10, minimum=1)
    max_leverage = section.integer("max_leverage", 100, minimum=1)
    if default_leverage > max_leverage:
        raise section.error("default_leverage", f"{default_leverage} is above max_leverage {max_leverage}")
    mode = section.string("default_margin_mode", "CROSS")
    if mode not in MARGIN_MODES:
        raise section.error("default_margin_mode", f"must be one of {', '.join(MARGIN_MODES)}, got {mode!r}")
    interval = section.integer("funding_interval_s", 28_800, minimum=1)
    offset = section.integer("funding_offset_s", 0, minimum=0)
    if offset >= interval:
        raise section.error("funding_offset_s", "must be below funding_interval_s")
    rate = section.decimal("funding_rate", Decimal("0.0001"))
    assert rate is not None
    if not Decimal("-0.05") <= rate <= Decimal("0.05"):
        raise section.error("funding_rate", f"{rate} is implausible (a fraction per interval: 0.0001 = 1 bp)")
    section.done()
    return FuturesTerms(settle, default_leverage, max_leverage, mode, interval * _NS_PER_S, offset * _NS_PER_S, rate)

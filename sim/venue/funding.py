"""Funding of a simulated perpetual venue: recorded rates, and the schedule that applies them.

``FundingRates`` holds recorded funding events, ``(symbol, funding time, rate)``, as the venues
publish their history (Bybit ``GET /v5/market/funding/history``: ``fundingRateTimestamp``,
``fundingRate``; Binance USD-M ``GET /fapi/v1/fundingRate``: ``fundingTime``, ``fundingRate``).
``load_funding_rates`` reads them from a CSV file with the header ``symbol,funding_time,funding_rate``
(``funding_time`` in epoch milliseconds, as both venues give it; the rate as exact text, e.g.
``0.0001``); a bad row is refused naming the file, line and field.

``FundingSchedule`` drives one ``FuturesVenue`` in virtual time: it wakes at every funding time
and calls ``apply_funding`` with the rate of each symbol, the recorded rate at that time for a
symbol with records, else the profile's constant ``funding_rate`` on the profile's schedule
(``funding_interval_s`` / ``funding_offset_s``). One calendar item is pending at a time.
"""

from __future__ import annotations

import bisect
import csv
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol

from sim.venue.futures_venue import FuturesVenue

__all__ = ["FUNDING_COLUMNS", "FundingRateError", "FundingRates", "FundingSchedule", "FundingTimer",
           "load_funding_rates"]

FUNDING_COLUMNS = ("symbol", "funding_time", "funding_rate")
_NS_PER_MS = 1_000_000


class FundingRateError(ValueError):
    """A funding-rate file is malformed; the message names the file, line and field."""


@dataclass(frozen=True)
class FundingRates:
    """Recorded funding events per symbol: sorted times (epoch ns) and the rate at each."""

    events: Mapping[str, tuple[tuple[int, ...], tuple[Decimal, ...]]]

    @classmethod
    def of(cls, records: Iterable[tuple[str, int, Decimal]]) -> FundingRates:
        """Build from ``(symbol, ts_ns, rate)`` records in any order (a repeated time keeps the last)."""
        by_symbol: dict[str, dict[int, Decimal]] = {}
        for symbol, ts_ns, rate in records:
            by_symbol.setdefault(symbol, {})[ts_ns] = rate
        return cls({symbol: (tuple(sorted(times)), tuple(times[t] for t in sorted(times)))
                    for symbol, times in sorted(by_symbol.items())})

    def symbols(self) -> frozenset[str]:
        """The symbols with recorded rates."""
        return frozenset(self.events)

    def next_time(self, symbol: str, after_ns: int) -> int | None:
        """The first recorded funding time of ``symbol`` strictly after ``after_ns``, or None."""
        times, _ = self.events[symbol]
        index = bisect.bisect_right(times, after_ns)
        return times[index] if index < len(times) else None

    def rate_at(self, symbol: str, ts_ns: int) -> Decimal | None:
        """The rate recorded for ``symbol`` at exactly ``ts_ns``, or None."""
        times, rates = self.events[symbol]
        index = bisect.bisect_left(times, ts_ns)
        return rates[index] if index < len(times) and times[index] == ts_ns else None


def load_funding_rates(path: Path) -> FundingRates:
    """Read a funding-rate CSV (see the module docstring); errors name ``file:line: field``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FundingRateError(f"{path}: cannot read funding rates: {exc}") from exc
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != FUNDING_COLUMNS:
        raise FundingRateError(f"{path}:1: header must be {','.join(FUNDING_COLUMNS)}, got {header!r}")
    records = []
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(FUNDING_COLUMNS):
            raise FundingRateError(f"{path}:{line}: expected {len(FUNDING_COLUMNS)} fields, got {len(row)}")
        symbol, time_text, rate_text = (cell.strip() for cell in row)
        if not symbol:
            raise FundingRateError(f"{path}:{line}: symbol: must not be empty")
        if not time_text.isdigit():
            raise FundingRateError(f"{path}:{line}: funding_time: must be epoch milliseconds, got {time_text!r}")
        try:
            rate = Decimal(rate_text)
        except InvalidOperation:
            rate = Decimal("NaN")
        if not rate.is_finite() or not Decimal("-0.05") <= rate <= Decimal("0.05"):
            raise FundingRateError(f"{path}:{line}: funding_rate: must be a decimal fraction in [-0.05, 0.05], "
                                   f"got {rate_text!r}")
        records.append((symbol, int(time_text) * _NS_PER_MS, rate))
    return FundingRates.of(records)


class FundingTimer(Protocol):
    """What the schedule needs of a clock: the time and a callback at a virtual time."""

    def now_ns(self) -> int:
        """Current virtual time, epoch ns."""

    def call_at(self, when_ns: int, callback: Callable[..., object], *args: object) -> object:
        """Run ``callback(*args)`` at ``when_ns``."""


class FundingSchedule:
    """Applies funding to one venue at each funding time (see the module docstring)."""

    def __init__(self, venue: FuturesVenue, clock: FundingTimer, recorded: FundingRates | None = None) -> None:
        self.venue = venue
        self.clock = clock
        self.recorded = recorded or FundingRates({})
        self._on_profile = sorted(set(venue.profile.symbols) - self.recorded.symbols())

    def next_after(self, after_ns: int) -> int | None:
        """The next funding time of any symbol after ``after_ns`` (None when there is none)."""
        candidates = [self.recorded.next_time(symbol, after_ns) for symbol in sorted(self.recorded.symbols())]
        if self._on_profile:
            candidates.append(self.venue.terms.next_funding_ns(after_ns))
        found = [t for t in candidates if t is not None]
        return min(found) if found else None

    def rates_at(self, ts_ns: int) -> dict[str, Decimal]:
        """Each symbol's rate due at ``ts_ns`` (recorded, or the profile's on its schedule)."""
        rates: dict[str, Decimal] = {}
        for symbol in sorted(self.recorded.symbols()):
            rate = self.recorded.rate_at(symbol, ts_ns)
            if rate is not None:
                rates[symbol] = rate
        terms = self.venue.terms
        if self._on_profile and (ts_ns - terms.funding_offset_ns) % terms.funding_interval_ns == 0:
            for symbol in self._on_profile:
                rates[symbol] = terms.funding_rate
        return rates

    def start(self) -> None:
        """Schedule the first funding time after now."""
        self._schedule(self.clock.now_ns())

    def _schedule(self, after_ns: int) -> None:
        when = self.next_after(after_ns)
        if when is not None:
            self.clock.call_at(when, self._fund, when)

    def _fund(self, when: int) -> None:
        self.venue.apply_funding(when, self.rates_at(when))
        self._schedule(when)

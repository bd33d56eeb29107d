"""The contract kit's ``venue`` fixture: one ``VenueUnderTest`` per adapter the kit runs against.

The kit (``test_contract_kit.py``) is written once against ``ExchangeAdapter`` and a small market
driver (set a quote, print a trade, let time pass). Each adapter implementation contributes a
factory: the simulated venue for each of the eight venue profiles (``venue_under_test.py``), and
each live adapter talking to the simulator served on 127.0.0.1 (``live_venue_under_test.py``:
``live-binance``, ``live-binance-fix``, ``live-bybit``, ``live-bybit-linear``;
``live_coinbase_under_test.py``: ``live-coinbase``). An adapter is done
when the whole kit passes for it.

The fixture lives here, in a uniquely named module, and ``conftest.py`` beside it only re-exports
it: mypy names a file in a folder without ``__init__.py`` by its base name, so this folder's
``conftest.py`` and the one in ``tests/`` would be the same module to it (see pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from live_coinbase_under_test import live_coinbase_venue
from live_venue_under_test import live_binance_venue, live_bybit_venue
from venue_under_test import SIM_VENUES, VenueUnderTest, sim_venue

__all__ = ["LIVE_VENUES", "venue"]

LIVE_VENUES = ("live-binance", "live-binance-fix", "live-bybit", "live-bybit-linear", "live-coinbase")


@pytest.fixture(params=[*(f"sim-{v}" for v in SIM_VENUES), *LIVE_VENUES])
def venue(request: pytest.FixtureRequest) -> Iterator[VenueUnderTest]:
    """Each adapter implementation under the kit (simulated venues for every profile, live adapters)."""
    kind, _, name = str(request.param).partition("-")
    if request.param == "live-coinbase":
        yield from live_coinbase_venue()
        return
    if kind == "live":
        assert name in ("binance", "binance-fix", "bybit", "bybit-linear")
        if name.startswith("bybit"):
            yield from live_bybit_venue(linear=name == "bybit-linear")
        else:
            yield from live_binance_venue(fix=name == "binance-fix")
        return
    assert kind == "sim"
    yield from sim_venue(name)

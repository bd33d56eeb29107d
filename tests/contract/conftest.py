"""Fixtures of the contract test kit: one ``VenueUnderTest`` per adapter the kit runs against.

The kit (``test_contract_kit.py``) is written once against ``ExchangeAdapter`` and a small
market driver (set a quote, print a trade, let time pass). Each adapter implementation
contributes a factory: today the simulated venue for each of the eight venue profiles; later
each live adapter talking to the simulator served on 127.0.0.1. An adapter is done when the
whole kit passes for it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from venue_under_test import SIM_VENUES, VenueUnderTest, sim_venue


@pytest.fixture(params=[f"sim-{v}" for v in SIM_VENUES])
def venue(request: pytest.FixtureRequest) -> Iterator[VenueUnderTest]:
    """Each adapter implementation under the kit (simulated venues for every profile)."""
    kind, _, name = str(request.param).partition("-")
    assert kind == "sim"
    yield from sim_venue(name)


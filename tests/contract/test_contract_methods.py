"""The contract's method table: complete, consistent with the protocols, and met by every adapter class.

``ADAPTER_CLASSES`` lists each adapter implementation with the capabilities of every venue it
serves; a live adapter joins it with its venue's capabilities.
"""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from harness.contract import ExchangeAdapter, FuturesAdapter, MarginMode
from harness.contract_methods import CONTRACT_METHODS, REQUEST_NAMES, Presence, missing_methods
from harness.model import VenueCapabilities
from sim.adapter import SimAdapter
from sim.venue.profile import available_profiles, load_profile

ADAPTER_CLASSES: list[tuple[type, list[VenueCapabilities]]] = [
    (SimAdapter, [load_profile(name).capabilities for name in available_profiles()]),
]
FLAGS = {f.name for f in fields(VenueCapabilities)}


def _members(protocol: type) -> set[str]:
    return {name for name in vars(protocol) if not name.startswith("_")}


def test_the_table_lists_exactly_the_protocols_methods() -> None:
    required = {m.name for m in CONTRACT_METHODS.values() if m.presence is Presence.REQUIRED}
    optional = {m.name for m in CONTRACT_METHODS.values() if m.presence is Presence.OPTIONAL}
    assert required == _members(ExchangeAdapter)
    assert optional == _members(FuturesAdapter)
    for method in CONTRACT_METHODS.values():
        assert method.capability is None or method.capability in FLAGS, method
        if method.presence is Presence.OPTIONAL:
            assert method.capability is not None, f"optional {method.name} needs the capability that claims it"
        if method.places_order:
            assert method.request
    assert {"get_open_orders_all", "submit_order", "get_venue_info"} <= REQUEST_NAMES
    assert not REQUEST_NAMES & {"connect", "subscribe_trades", "get_rate_limit_status", "venue"}


@pytest.mark.parametrize(("adapter_class", "capabilities"), ADAPTER_CLASSES,
                         ids=[cls.__name__ for cls, _ in ADAPTER_CLASSES])
def test_every_adapter_class_implements_what_its_venues_claim(adapter_class: type,
                                                              capabilities: list[VenueCapabilities]) -> None:
    assert missing_methods(adapter_class) == []
    for claimed in capabilities:
        assert missing_methods(adapter_class, claimed) == [], claimed


class _Complete(SimAdapter):
    async def set_leverage(self, symbol: str, leverage: int) -> None:
        """Accept any leverage (a test double)."""

    async def set_margin_mode(self, symbol: str, mode: MarginMode) -> None:
        """Accept any margin mode (a test double)."""


class _SpotOnly(SimAdapter):
    """An adapter class without the futures-only methods (``getattr_static`` finds None)."""

    set_leverage = None  # type: ignore[assignment]
    set_margin_mode = None  # type: ignore[assignment]


class _Broken(SimAdapter):
    def health(self) -> None:  # type: ignore[override]  # deliberately not async
        """Wrong kind."""

    async def get_order(self, symbol: str, order_id: str) -> None:  # type: ignore[override]
        """Wrong parameter name."""

    async def set_leverage(self, symbol: str) -> None:  # type: ignore[override]  # deliberately incomplete
        """Missing the leverage parameter."""


def test_missing_methods_reports_what_is_wrong() -> None:
    futures = replace(load_profile("bybit").capabilities, leverage=True, margin_mode=True)
    assert missing_methods(_Complete, futures) == []
    assert missing_methods(SimAdapter, futures) == []  # it serves the perpetual venues' profiles too
    assert missing_methods(_SpotOnly, load_profile("bybit").capabilities) == []
    assert missing_methods(_SpotOnly, futures) == [
        "set_leverage (optional, capability leverage): missing",
        "set_margin_mode (optional, capability margin_mode): missing"]
    problems = missing_methods(_Broken, replace(futures, margin_mode=False))
    assert problems == [
        "health (required): must be async",
        "get_order (required): parameters ['symbol', 'order_id'], the contract's are ['symbol', 'client_order_id']",
        "set_leverage (optional, capability leverage): parameters ['symbol'], the contract's are "
        "['symbol', 'leverage']"]

    class NoVenue:
        venue = "x"

    assert "venue (required): must be a property" in missing_methods(NoVenue)
    assert "submit_order (required): missing" in missing_methods(NoVenue)

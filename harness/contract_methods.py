"""The adapter contract's method table: each method required or optional, with its capability flag.

Tools and tests read the contract from here rather than from the protocol's source:
``CONTRACT_METHODS`` lists every method of ``ExchangeAdapter`` (required) and of
``FuturesAdapter`` (optional, by capability), which of them are venue requests and which place
orders; ``REQUEST_NAMES`` is what requests are counted, limited and audited under (venue
descriptors and profiles key their endpoints and weights by it); ``missing_methods`` checks an
adapter class against the table. A method added to the protocol needs its line here (a test
compares the two).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from harness.contract import ExchangeAdapter, FuturesAdapter
from harness.model import VenueCapabilities

__all__ = ["CONTRACT_METHODS", "REQUEST_NAMES", "ContractMethod", "Presence", "missing_methods"]


class Presence(StrEnum):
    """Whether every adapter has a method (REQUIRED) or only those claiming its capability (OPTIONAL)."""

    REQUIRED = "required"
    OPTIONAL = "optional"


@dataclass(frozen=True, slots=True)
class ContractMethod:
    """One method of the adapter contract, as tools and tests read it.

    ``capability`` names the ``VenueCapabilities`` flag that governs the method (see the module
    docstring for what it means for required and optional methods). ``request`` marks venue
    requests: what the gateway rate-limits and audits, and what venue descriptors and profiles
    give endpoints and weights for, under the method's name or one of its ``variants`` (another
    request the same method makes, e.g. open orders of every symbol). ``places_order`` marks
    requests that place orders, which venues count against their order limits.
    """

    name: str
    group: str
    presence: Presence = Presence.REQUIRED
    capability: str | None = None
    request: bool = False
    places_order: bool = False
    variants: tuple[str, ...] = ()


def _methods(*methods: ContractMethod) -> Mapping[str, ContractMethod]:
    return MappingProxyType({m.name: m for m in methods})


_REQ, _OPT = Presence.REQUIRED, Presence.OPTIONAL

CONTRACT_METHODS: Mapping[str, ContractMethod] = _methods(
    ContractMethod("venue", "identity"),
    ContractMethod("mode", "identity"),
    ContractMethod("descriptor", "identity"),
    ContractMethod("connect", "connection"),
    ContractMethod("disconnect", "connection"),
    ContractMethod("is_connected", "connection"),
    ContractMethod("health", "connection", request=True),
    ContractMethod("submit_order", "orders", request=True, places_order=True),
    ContractMethod("cancel_order", "orders", request=True),
    ContractMethod("modify_order", "orders", capability="native_modify", request=True, places_order=True),
    ContractMethod("get_order", "orders", request=True),
    ContractMethod("get_open_orders", "orders", request=True, variants=("get_open_orders_all",)),
    ContractMethod("get_fills", "orders", request=True),
    ContractMethod("get_balances", "account", request=True),
    ContractMethod("get_positions", "account", request=True),
    ContractMethod("set_leverage", "account", _OPT, capability="leverage", request=True),
    ContractMethod("set_margin_mode", "account", _OPT, capability="margin_mode", request=True),
    ContractMethod("get_ticker", "market data", request=True),
    ContractMethod("get_order_book", "market data", request=True),
    ContractMethod("get_candles", "market data", request=True),
    ContractMethod("get_server_time", "market data", request=True),
    ContractMethod("subscribe_order_updates", "subscriptions"),
    ContractMethod("subscribe_fills", "subscriptions"),
    ContractMethod("subscribe_trades", "subscriptions"),
    ContractMethod("subscribe_quotes", "subscriptions"),
    ContractMethod("subscribe_book", "subscriptions"),
    ContractMethod("subscribe_bars", "subscriptions", capability="websocket"),
    ContractMethod("get_rate_limit_status", "limits and info"),
    ContractMethod("get_venue_info", "limits and info", request=True),
)
"""Every method of the contract by name, in the order of the protocol (``_REQ`` unless marked)."""

REQUEST_NAMES: frozenset[str] = frozenset(
    name for m in CONTRACT_METHODS.values() if m.request for name in (m.name, *m.variants))
"""The names venue requests are counted, limited and audited under (methods and their variants)."""

_PROTOCOLS: tuple[type, ...] = (ExchangeAdapter, FuturesAdapter)


def _protocol_member(name: str) -> object:
    for protocol in _PROTOCOLS:
        if name in vars(protocol):
            return vars(protocol)[name]
    raise KeyError(name)


def _parameters(function: object) -> list[str]:
    return [p for p in inspect.signature(function).parameters if p != "self"]  # type: ignore[arg-type]


def missing_methods(adapter_class: type, capabilities: VenueCapabilities | None = None) -> list[str]:
    """What ``adapter_class`` lacks of the contract, as readable lines (empty when complete).

    Every required method must be there, and every optional one whose capability
    ``capabilities`` claims; each with the protocol's kind (property, coroutine or plain
    method) and parameter names.
    """
    problems = []
    for method in CONTRACT_METHODS.values():
        claimed = capabilities is not None and method.capability is not None and bool(
            getattr(capabilities, method.capability))
        if method.presence is _OPT and not claimed:
            continue
        expected = _protocol_member(method.name)
        found = inspect.getattr_static(adapter_class, method.name, None)
        label = f"{method.name} ({method.presence.value}"
        label += f", capability {method.capability})" if method.presence is _OPT else ")"
        if found is None:
            problems.append(f"{label}: missing")
        elif isinstance(expected, property):
            if not isinstance(found, property):
                problems.append(f"{label}: must be a property")
        elif inspect.iscoroutinefunction(expected) != inspect.iscoroutinefunction(found):
            problems.append(f"{label}: must {'' if inspect.iscoroutinefunction(expected) else 'not '}be async")
        elif _parameters(expected) != _parameters(found):
            problems.append(f"{label}: parameters {_parameters(found)}, the contract's are {_parameters(expected)}")
    return problems

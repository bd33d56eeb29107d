"""``VenueDescriptor``: what the shared layer knows of one venue, keyed by contract method.

A descriptor is data (one TOML file per venue in ``harness/venues/``, loaded strictly through
``harness.config``), and the shared layer reads venues only through it, never by name:

* ``hosts``: the venue's production and sandbox host names; the registry's SANDBOX allow-list;
* ``endpoints``: per request name (a contract method such as ``submit_order``, or a variant such
  as ``get_open_orders_all``; ``harness.contract_methods.REQUEST_NAMES``) the venue's own label for it
  (``"POST /api/v3/order"``), which audit records and breakers carry and live adapters use;
  a request without one is labelled by its name;
* ``rules`` and ``costs``: the client-side rate-limit rules and what each request costs per
  limit category (``harness.ratelimit``), with a default for requests not listed. A venue whose
  limits are not known has no rules; the engine then mirrors the limits the venue reports.

Layout of a descriptor file (``binance.toml`` shows every table)::

    [venue]          name, display_name, source
    [hosts]          production = [...], sandbox = [...], source
    [endpoints]      <request name> = "<the venue's label>"
    [limits]         [[limits.rules]] (name, category, limit, window_s, header?),
                     [limits.costs] <request name> = {CATEGORY = amount, ...}, [limits.default]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from harness.config import ConfigValueError, Section
from harness.contract_methods import REQUEST_NAMES
from harness.ratelimit import DEFAULT_REQUEST, LimitRule, RequestCost, limits_from_section

__all__ = ["DescriptorError", "VenueDescriptor", "VenueHosts", "parse_descriptor", "unknown_descriptor"]


class DescriptorError(ConfigValueError):
    """A venue descriptor is malformed: ``<file>:<line>: <key>: <problem>``."""


@dataclass(frozen=True, slots=True)
class VenueHosts:
    """The production and sandbox/testnet host names of one venue (lower-case, no ports), and their source."""

    production: frozenset[str]
    sandbox: frozenset[str]
    source: str


def _empty_labels() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class VenueDescriptor:
    """One venue as the shared layer knows it (see the module docstring for each part).

    ``rules`` empty means the venue's limits are unknown; ``costs`` then is empty too.
    """

    name: str
    display_name: str
    hosts: VenueHosts
    endpoints: Mapping[str, str] = field(default_factory=_empty_labels)
    rules: tuple[LimitRule, ...] = ()
    costs: tuple[RequestCost, ...] = ()
    source: str = ""

    def endpoint(self, request: str) -> str:
        """The venue's label for ``request`` (a contract method or variant), or the name itself."""
        return self.endpoints.get(request, request)

    @property
    def limits_known(self) -> bool:
        """True when the descriptor carries client-side limit rules."""
        return bool(self.rules)

    def cost_of(self, request: str) -> Mapping[str, int]:
        """What one ``request`` costs per category name (the default when not listed; empty when unknown)."""
        by_request = {cost.request: cost.amounts for cost in self.costs}
        amounts = by_request.get(request, by_request.get(DEFAULT_REQUEST, ()))
        return {category.value: amount for category, amount in amounts}


def unknown_descriptor(name: str) -> VenueDescriptor:
    """The descriptor of a venue nothing is known of: no hosts, labels by request name, mirrored limits."""
    return VenueDescriptor(name, name, VenueHosts(frozenset(), frozenset(), "none recorded"),
                           source="no descriptor")


def _hosts(section: Section) -> VenueHosts:
    names = {}
    for kind in ("production", "sandbox"):
        listed = section.strings(kind, [])
        for host in listed:
            if not host or host != host.strip() or "/" in host or ":" in host:
                raise section.error(kind, f"{host!r} is not a bare host name (no scheme, port or path)")
        names[kind] = frozenset(host.lower() for host in listed)
    hosts = VenueHosts(names["production"], names["sandbox"], section.string("source", "none recorded"))
    both = sorted(hosts.production & hosts.sandbox)
    if both:
        raise section.error("sandbox", f"{both} listed as production and sandbox")
    section.done()
    return hosts


def _request_names(section: Section, what: str) -> None:
    for name in section.data:
        if name != DEFAULT_REQUEST and name not in REQUEST_NAMES:
            raise section.error(str(name), f"{what} for an unknown request; known: {', '.join(sorted(REQUEST_NAMES))}")


def parse_descriptor(text: str, *, source: str = "<string>") -> VenueDescriptor:
    """Parse and validate descriptor TOML text; ``source`` names it in errors (``DescriptorError``)."""
    def error(key: str, problem: str, line: int | None) -> DescriptorError:
        return DescriptorError(source, key, problem, line)

    root = Section.from_toml(text, source=source, error=error)
    venue = root.req_table("venue")
    name = venue.string("name")
    display_name = venue.string("display_name", name)
    about = venue.string("source", "")
    venue.done()
    hosts = _hosts(root.req_table("hosts"))
    labels: dict[str, str] = {}
    endpoints = root.table("endpoints", required=False)
    if endpoints is not None:
        _request_names(endpoints, "an endpoint")
        labels = {request: endpoints.string(request) for request in endpoints.names()}
        endpoints.done()
    rules: tuple[LimitRule, ...] = ()
    costs: tuple[RequestCost, ...] = ()
    limits = root.table("limits", required=False)
    if limits is not None:
        costs_table = limits.data.get("costs")
        if isinstance(costs_table, Mapping):
            _request_names(limits.child("costs", costs_table), "a cost")
        rules, costs = limits_from_section(limits)
        if not rules:
            raise limits.error("rules", "a [limits] table needs at least one rule (leave it out when unknown)")
    root.done()
    return VenueDescriptor(name, display_name, hosts, MappingProxyType(labels), rules, costs, about)

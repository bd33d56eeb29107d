"""Venue descriptors: hosts, endpoint labels and client-side limits of each venue, by contract method.

The shipped descriptors are the ``*.toml`` files of this package, one per venue (see
``descriptor.py`` for their layout). ``descriptor_for(name)`` finds one; an adapter returns its
venue's descriptor from its ``descriptor`` property, and the engine, the gateway and the
registry read venues only through descriptors. ``limits_from_status`` mirrors the limits a
venue reports, for venues whose descriptor has none.

To add a venue: write ``harness/venues/<name>.toml`` (hosts, endpoint labels, limits where
known) and a simulated-venue profile ``sim/venue/profiles/<name>.toml`` of the same name;
``tests/test_venues.py`` checks that the two agree wherever both give weights and order counts.

Names are imported from their modules on first use (``harness.lazy_exports``).

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "DescriptorError": "harness.venues.descriptor",
    "VenueDescriptor": "harness.venues.descriptor",
    "VenueHosts": "harness.venues.descriptor",
    "parse_descriptor": "harness.venues.descriptor",
    "unknown_descriptor": "harness.venues.descriptor",
    "FALLBACK_RULE": "harness.venues.mirror",
    "limits_from_status": "harness.venues.mirror",
    "descriptor_for": "harness.venues.shipped",
    "load_descriptor": "harness.venues.shipped",
    "shipped_descriptors": "harness.venues.shipped",
}

__all__ = [
    "FALLBACK_RULE",
    "DescriptorError",
    "VenueDescriptor",
    "VenueHosts",
    "descriptor_for",
    "limits_from_status",
    "load_descriptor",
    "parse_descriptor",
    "shipped_descriptors",
    "unknown_descriptor",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from harness.venues.descriptor import (
        DescriptorError,
        VenueDescriptor,
        VenueHosts,
        parse_descriptor,
        unknown_descriptor,
    )
    from harness.venues.mirror import FALLBACK_RULE, limits_from_status
    from harness.venues.shipped import descriptor_for, load_descriptor, shipped_descriptors

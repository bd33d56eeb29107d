"""Venue descriptors: hosts, endpoint labels and client-side limits of each venue, by contract method.

The shipped descriptors are the ``*.toml`` files of this package, one per venue (see
``descriptor.py`` for their layout). ``descriptor_for(name)`` finds one; an adapter returns its
venue's descriptor from its ``descriptor`` property, and the engine, the gateway and the
registry read venues only through descriptors. ``limits_from_status`` mirrors the limits a
venue reports, for venues whose descriptor has none.

To add a venue: write ``harness/venues/<name>.toml`` (hosts, endpoint labels, limits where
known) and a simulated-venue profile ``sim/venue/profiles/<name>.toml`` of the same name;
``tests/test_venues.py`` checks that the two agree wherever both give weights and order counts.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from harness.venues.descriptor import (
    DescriptorError,
    VenueDescriptor,
    VenueHosts,
    parse_descriptor,
    unknown_descriptor,
)
from harness.venues.mirror import limits_from_status

__all__ = [
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


def load_descriptor(path: str | Path) -> VenueDescriptor:
    """Load and validate a descriptor file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DescriptorError(str(path), "", f"cannot read descriptor: {exc}") from exc
    return parse_descriptor(text, source=str(path))


@cache
def shipped_descriptors() -> dict[str, VenueDescriptor]:
    """Every descriptor shipped with the package, by venue name (read once per process)."""
    found: dict[str, VenueDescriptor] = {}
    for entry in sorted(resources.files("harness.venues").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml") or not entry.is_file():
            continue
        source = f"harness/venues/{entry.name}"
        descriptor = parse_descriptor(entry.read_text(encoding="utf-8"), source=source)
        if descriptor.name != entry.name[:-5]:
            raise DescriptorError(source, "venue.name", f"{descriptor.name!r} must match the file name")
        found[descriptor.name] = descriptor
    return found


def descriptor_for(name: str) -> VenueDescriptor | None:
    """The shipped descriptor of venue ``name``, or None when there is none."""
    return shipped_descriptors().get(name)

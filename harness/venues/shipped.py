"""The descriptors shipped with the package (``harness/venues/*.toml``): loading and lookup by venue name."""


from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from harness.venues.descriptor import DescriptorError, VenueDescriptor, parse_descriptor

__all__ = ["descriptor_for", "load_descriptor", "shipped_descriptors"]


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

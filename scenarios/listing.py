"""What ships, for ``harness strategies`` and ``harness profiles``: one line per item, sorted."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from harness.strategy import Strategy
from sim.venue.profile import available_profiles, load_profile

__all__ = ["profile_lines", "strategy_lines"]


def _first_line(text: str | None) -> str:
    """A docstring's first line as plain text (reST literals ````x```` shown as ``x``)."""
    lines = (text or "").strip().splitlines()
    return lines[0].replace("``", "") if lines else ""


def strategy_lines(package: str = "strategies") -> list[str]:
    """``MODULE:CLASS  what it does`` for every ``Strategy`` subclass defined in ``package``'s modules."""
    root = importlib.import_module(package)
    lines = []
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package}.{info.name}")
        for name, cls in sorted(inspect.getmembers(module, inspect.isclass)):
            if issubclass(cls, Strategy) and cls is not Strategy and cls.__module__ == module.__name__:
                lines.append(f"{module.__name__}:{name}  {_first_line(cls.__doc__)}")
    return lines


def profile_lines() -> list[str]:
    """``NAME  display name: symbols; maker/taker fees; order types`` for every shipped venue profile
    (a perpetual venue adds its settle asset, leverage range and funding)."""
    lines = []
    for name in available_profiles():
        profile = load_profile(name)
        types = ", ".join(sorted(t.value for t in profile.capabilities.order_types))
        terms = profile.futures
        perpetual = "" if terms is None else (
            f"; linear perpetual in {terms.settle_asset}, leverage 1-{terms.max_leverage}x, funding "
            f"{terms.funding_rate} per {terms.funding_interval_ns // 3_600_000_000_000} h")
        lines.append(f"{name}  {profile.display_name}: {', '.join(profile.symbols)}; fees maker "
                     f"{profile.fees.maker} / taker {profile.fees.taker}; order types {types}{perpetual}")
    return lines

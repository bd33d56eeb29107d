"""Dependencies point one way (README "Layout", DESIGN.md): checked on every module's imports.

Module-level imports only: the CLI in ``harness`` loads the worlds lazily, inside functions, so
that ``harness`` itself never depends on them.

One exception, on purpose: ``live/serve`` (the local venue) *is* the simulator served over real
protocols, so it imports ``sim``; no other module of ``live`` imports ``sim``, and none imports
``live.serve`` (the adapters must not know the venue they talk to).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("harness", "sim", "live", "scenarios", "reports", "dashboard", "strategies")
FORBIDDEN = {
    "harness": {"sim", "live", "scenarios", "reports", "dashboard", "strategies"},
    "sim": {"live", "scenarios", "reports", "dashboard", "strategies"},
    "live": {"sim", "scenarios", "reports", "dashboard", "strategies"},
    "reports": {"sim", "live", "scenarios", "dashboard", "strategies"},
    "strategies": {"sim", "live", "scenarios", "reports", "dashboard"},
    "dashboard": {"sim", "live", "scenarios", "strategies"},
    "scenarios": set(),
}


def _module_level_imports(path: Path) -> set[str]:
    """Top-level package names imported at module level (not inside functions or classes)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_one_way(package: str) -> None:
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules or package in ("live", "dashboard"), f"{package} has no modules"
    wrong = {str(path.relative_to(ROOT)): sorted(_module_level_imports(path) & _forbidden(package, path))
             for path in modules}
    assert {path: names for path, names in wrong.items() if names} == {}


def _forbidden(package: str, path: Path) -> set[str]:
    if package == "live" and (ROOT / "live" / "serve") in path.parents:
        return FORBIDDEN[package] - {"sim"}
    return FORBIDDEN[package]


def test_no_live_module_outside_the_local_venue_imports_it() -> None:
    serve = ROOT / "live" / "serve"
    importers = []
    for path in (ROOT / "live").rglob("*.py"):
        if serve in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(name == "live.serve" or name.startswith("live.serve.") for name in names):
                importers.append(str(path.relative_to(ROOT)))
    assert importers == []


def test_sim_kernel_imports_nothing_above_it() -> None:
    """The kernel is the bottom of sim: it knows no market, venue or channel."""
    for path in (ROOT / "sim" / "kernel").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for above in ("sim.market", "sim.venue", "sim.channels", "sim.adapter"):
            assert f"from {above}" not in text and f"import {above}" not in text, (path, above)

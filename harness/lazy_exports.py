"""Package faces that import their modules only when a name is used (PEP 562).

A package's ``__init__`` lists the public names of its modules (``from sim import SimAdapter``
works) without importing every module at once: importing ``harness`` for its CLI stays cheap,
and packages whose modules import each other (``sim.venue`` and ``sim.channels``) cannot form
an import cycle through their faces. Each face keeps a static ``if TYPE_CHECKING:`` import block
of the same names for type checkers; ``tests/test_package_faces.py`` checks that both agree and
that every public name of every module is on its package's face.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``exports`` maps each name to its module.

    A name that is a module of the package itself (``"venue": "sim.venue.venue"`` style entries
    whose value equals ``f"{package}.{name}"``) resolves to the module.
    """

    def get_attribute(name: str) -> Any:
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(module_name)
        value = module if module_name == f"{package}.{name}" else getattr(module, name)
        globals_of_package = importlib.import_module(package).__dict__
        globals_of_package[name] = value  # next time, no __getattr__ call
        return value

    def list_attributes() -> list[str]:
        return sorted(set(exports) | set(importlib.import_module(package).__dict__))

    return get_attribute, list_attributes

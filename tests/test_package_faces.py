"""Packages have a face: every module lists its public names in ``__all__``, and every package's
``__init__`` exports its modules' names (``from sim import SimAdapter``), lazily, with a static
import block for type checkers that says the same.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP = ("harness", "sim", "live", "scenarios", "reports", "dashboard", "strategies")
SCRIPTS = {"dashboard/app.py"}
"""Streamlit's entry script: run by ``streamlit run``, never imported."""


def _packages() -> list[str]:
    found = []
    for top in TOP:
        for init in sorted((ROOT / top).rglob("__init__.py")):
            found.append(".".join(init.parent.relative_to(ROOT).parts))
    return found


def _modules(package: str) -> list[str]:
    folder = ROOT / package.replace(".", "/")
    names = []
    for path in sorted(folder.glob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if path.name == "__init__.py" or path.name.startswith("_") or rel in SCRIPTS or "/views/" in rel:
            continue
        names.append(f"{package}.{path.stem}")
    return names


def _subpackages(package: str) -> list[str]:
    folder = ROOT / package.replace(".", "/")
    return sorted(p.name for p in folder.iterdir() if (p / "__init__.py").exists())


@pytest.mark.parametrize("module_name", [m for p in _packages() for m in _modules(p)])
def test_every_module_lists_its_public_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert hasattr(module, "__all__"), f"{module_name} has no __all__"
    exported = set(module.__all__)
    defined = {name for name, value in vars(module).items()
               if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
               and getattr(value, "__module__", None) == module_name}
    assert defined <= exported, f"{module_name}: public names missing from __all__: {sorted(defined - exported)}"
    missing = [name for name in exported if not hasattr(module, name)]
    assert not missing, f"{module_name}: __all__ names nothing: {missing}"


@pytest.mark.parametrize("package_name", _packages())
def test_every_package_exports_its_modules_names(package_name: str) -> None:
    package = importlib.import_module(package_name)
    assert hasattr(package, "__all__"), f"{package_name}/__init__.py has no __all__"
    face = set(package.__all__)
    owners: dict[str, list[str]] = {}
    for module_name in _modules(package_name):
        for name in importlib.import_module(module_name).__all__:
            owners.setdefault(name, []).append(module_name)
    siblings = {m.rsplit(".", 1)[1] for m in _modules(package_name)} | set(_subpackages(package_name))

    def one_object(modules: list[str], name: str) -> bool:  # a name re-exported by several modules is fine
        return len({id(getattr(importlib.import_module(m), name)) for m in modules}) == 1

    expected = {name for name, modules in owners.items() if name not in siblings and one_object(modules, name)}
    assert expected <= face, f"{package_name}: names missing from the face: {sorted(expected - face)}"
    for name in sorted(face & expected):
        assert getattr(package, name) is getattr(importlib.import_module(owners[name][0]), name), (package_name, name)
    assert set(_subpackages(package_name)) <= face, f"{package_name}: subpackages missing from the face"


@pytest.mark.parametrize("package_name", _packages())
def test_the_type_checking_block_says_what_the_face_says(package_name: str) -> None:
    path = ROOT / package_name.replace(".", "/") / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    static: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    static.update(alias.name for alias in statement.names)
        elif isinstance(node, ast.ImportFrom):  # an eager face imports its names directly
            static.update(alias.name for alias in node.names)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            static.add(node.name)
    face = set(importlib.import_module(package_name).__all__)
    assert face <= static | {"annotations"}, f"{package_name}: names a type checker cannot see: {face - static}"

"""Shared test helpers (``tests/synthetic.py``, ``tests/run_digest.py``) importable from every test folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--run-slow``: also run the tests marked ``slow`` (``.ci/run`` does; the default run skips them)."""
    parser.addoption("--run-slow", action="store_true", default=False, help="run the tests marked slow too")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``slow`` tests unless ``--run-slow`` is given."""
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)

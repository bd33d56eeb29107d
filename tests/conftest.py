"""Shared test setup: helpers (``tests/synthetic.py``, ``tests/run_digest.py``) importable from every
test folder, and the process-wide secret registry restored after every test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import secrets

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture(autouse=True)
def _secrets_stay_in_their_test() -> Iterator[None]:
    """Credentials register their values process-wide; a test's keys must not mask another test's data."""
    saved = secrets.snapshot()
    yield
    secrets.restore(saved)


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

"""Fixtures of the contract test kit: the ``venue`` fixture, defined in ``contract_venues.py``.

Only a re-export, so that mypy can check the fixture: pyproject.toml excludes this file from mypy
(it and ``tests/conftest.py`` would both be the module ``conftest``).
"""

from __future__ import annotations

from contract_venues import venue

__all__ = ["venue"]

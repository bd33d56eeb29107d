"""Every scenario of the catalog passes, and together they cover every failure mode the seeds name.

Each catalog file runs with its own seed (the slow ones, a simulated hour and a simulated day,
only with ``--run-slow``, as ``.ci/run`` does). A failure prints the whole scorecard. The FIX
scenarios (``fix-*``) run against the FIX session layer (``scenarios.fix_link``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scenarios.scenario_file import load_scenario
from scenarios.scenario_run import run_scenario, summary_lines

CATALOG = sorted((Path(__file__).parents[2] / "scenarios" / "catalog").glob("*.toml"))

FAILURE_MODES = [
    # seed 001, Error Handling: REST, WebSocket, FIX, orders, positions
    "REST: retryable", "REST: rate limited", "REST: invalid request", "REST: exchange error", "REST: fatal",
    "WebSocket: connection lost", "WebSocket: message parse error", "WebSocket: subscription failed",
    "WebSocket: heartbeat timeout",
    "FIX: session drop", "FIX: sequence gap", "FIX: reject", "FIX: logon failure",
    "Orders: submission failed", "Orders: cancellation failed", "Orders: modification failed", "Orders: unknown state",
    "Positions: reconciliation mismatch",
    # and the rest of issue 11's list
    "Router: failover when a venue dies", "WebSocket: 24-hour forced disconnect",
    "Circuit breaker: open and half-open", "Seed 002: 1-hour WebSocket stability",
]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Imported samples and synthetic tapes, made once per session (or ``HARNESS_CACHE``)."""
    given = os.environ.get("HARNESS_CACHE")
    return Path(given) if given else tmp_path_factory.mktemp("scenario-cache")


def _cases() -> list[object]:
    return [pytest.param(path, id=path.stem, marks=[pytest.mark.slow] if load_scenario(path).slow else [])
            for path in CATALOG]


@pytest.mark.parametrize("path", _cases())
def test_catalog_scenario_passes(path: Path, tmp_path: Path, cache_dir: Path) -> None:
    result = run_scenario(load_scenario(path), out_dir=tmp_path, cache_dir=cache_dir)
    assert result.passed, "\n".join(summary_lines([result]))


def test_the_catalog_covers_every_failure_mode() -> None:
    covered = {mode for path in CATALOG for mode in load_scenario(path).covers}
    assert [mode for mode in FAILURE_MODES if mode not in covered] == []

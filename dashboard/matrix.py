"""The scenario matrix of a sweep: faults x invariants, how many runs passed (no Streamlit)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["NO_FAULT", "scenario_matrix"]

NO_FAULT = "(no fault)"


def scenario_matrix(runs: Mapping[str, tuple[Sequence[Mapping[str, Any]], Sequence[Mapping[str, Any]]]]
                    ) -> tuple[list[str], list[str], dict[tuple[str, str], tuple[int, int]]]:
    """``(faults, invariants, cells)`` from each run's ``(faults rows, scorecard rows)``.

    A run counts towards every fault kind it injected (``NO_FAULT`` when none); cell
    ``(fault, invariant)`` is ``(passed, checked)``: of the runs with that fault that checked that
    invariant, how many passed it.
    """
    cells: dict[tuple[str, str], tuple[int, int]] = {}
    faults: dict[str, None] = {}
    invariants: dict[str, None] = {}
    for fault_rows, scorecard in runs.values():
        kinds = sorted({str(f.get("kind") or f.get("name")) for f in fault_rows}) or [NO_FAULT]
        for kind in kinds:
            faults.setdefault(kind, None)
        for check in scorecard:
            invariant = str(check["invariant"])
            invariants.setdefault(invariant, None)
            for kind in kinds:
                passed, total = cells.get((kind, invariant), (0, 0))
                cells[(kind, invariant)] = (passed + bool(check["passed"]), total + 1)
    return sorted(faults), sorted(invariants), cells

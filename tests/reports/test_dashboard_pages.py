"""Every dashboard page through Streamlit's own ``AppTest``: a complete, a failed and a fault run, a sweep,
and an empty runs folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hand_run import write_hand_run
from streamlit.testing.v1 import AppTest

from dashboard.compare import first_divergence, headline_deltas
from dashboard.matrix import NO_FAULT, scenario_matrix
from dashboard.runs import find_runs, resolve_run

PAGES = Path(__file__).resolve().parents[2] / "dashboard"


def _page(name: str, root: Path, monkeypatch: pytest.MonkeyPatch, **params: str) -> AppTest:
    monkeypatch.setenv("HARNESS_RUNS_DIR", str(root))
    at = AppTest.from_file(str(PAGES / "views" / name), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    write_hand_run(root, "hand-a", with_faults=True)
    write_hand_run(root, "hand-b", with_faults=True, shift_fill=7)
    write_hand_run(root, "hand-c", status="failed")
    sweep = root / "sweep-0123456789"
    sweep.mkdir()
    write_hand_run(sweep, "hand-s1", with_faults=True, seed=1)
    write_hand_run(sweep, "hand-s2", with_faults=True, seed=2)
    (sweep / "sweep.json").write_text(json.dumps({"sweep_id": sweep.name, "kind": "replay", "status": "complete",
                                                  "grid": {"seeds": [1, 2], "params": {}}, "points": []}))
    return root


@pytest.mark.parametrize("page", ["runs.py", "run.py", "compare.py", "matrix.py"])
def test_every_page_on_an_empty_runs_folder(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(page, tmp_path, monkeypatch)
    assert at.info and ("No runs" in at.info[0].value or "needs two runs" in at.info[0].value)


def test_run_list_shows_every_run_with_status_and_filters(runs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page("runs.py", runs, monkeypatch)
    frame = at.dataframe[0].value
    assert list(frame["run"]) == ["hand-a", "hand-b", "hand-c.failed", "sweep-0123456789/hand-s1",
                                  "sweep-0123456789/hand-s2"]
    assert list(frame["status"]) == ["complete", "complete", "failed", "complete", "complete"]
    assert list(frame["sweep"])[3:] == ["sweep-0123456789"] * 2
    assert set(frame["orders"]) == {"4"} and set(frame["fills"]) == {"3"}
    assert "hand-c.failed (failed)" in at.warning[0].value
    at.multiselect[0].set_value(["failed"]).run()
    assert list(at.dataframe[0].value["run"]) == ["hand-c.failed"]


def test_run_page_draws_every_chart(runs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page("run.py", runs, monkeypatch, run="hand-a")
    assert at.title[0].value == "Run hand-a"
    assert not at.error and not at.warning
    assert len(at.get("plotly_chart")) == 6  # price, PnL, positions, latency, rate limits, faults
    headers = [h.value for h in at.header]
    assert headers[:7] == ["Price, orders and fills", "PnL and drawdown", "Positions", "Latency per leg",
                           "Rate-limit usage", "Faults beside orders", "Invariant scorecard"]
    assert [m.value for m in at.metric][:2] == ["4", "3"]


def test_run_page_of_a_failed_run_says_so(runs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page("run.py", runs, monkeypatch, run="hand-c.failed")
    assert "This run FAILED: RuntimeError: the strategy raised" in at.error[0].value
    assert len(at.get("plotly_chart")) == 6


def test_compare_page_finds_the_first_divergence(runs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page("compare.py", runs, monkeypatch, runs="hand-a,hand-b")
    warnings = [w.value for w in at.warning]
    assert warnings[0].startswith("orders: hand-a and hand-b first differ at row 2")
    assert warnings[1].startswith("fills: hand-a and hand-b first differ at row 1")
    same = _page("compare.py", runs, monkeypatch, runs="sweep-0123456789/hand-s1,sweep-0123456789/hand-s2")
    assert [s.value for s in same.success] == [
        "orders: sweep-0123456789/hand-s1 and sweep-0123456789/hand-s2 agree on all 7 rows",
        "fills: sweep-0123456789/hand-s1 and sweep-0123456789/hand-s2 agree on all 3 rows"]
    assert len(at.get("plotly_chart")) == 1


def test_matrix_page_counts_passes_per_fault_and_invariant(runs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page("matrix.py", runs, monkeypatch, sweep="sweep-0123456789")
    matrix = at.dataframe[0].value
    assert list(matrix["fault"]) == ["disconnect", "latency_spike"]
    assert list(matrix["no_duplicate_orders"]) == ["2/2", "2/2"]
    assert list(matrix["positions_match_venue"]) == ["0/2", "0/2"]
    assert len(at.dataframe[1].value) == 2


def test_the_app_navigates_to_every_page(runs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_RUNS_DIR", str(runs))
    at = AppTest.from_file(str(PAGES / "app.py"), default_timeout=120).run()
    assert not at.exception and at.title[0].value == "Runs"
    for page, title in (("views/run.py", "Run hand-a"), ("views/compare.py", "Compare runs"),
                        ("views/matrix.py", "Scenario matrix")):
        at.switch_page(page).run()
        assert not at.exception, page
        assert at.title[0].value == title


def test_runs_discovery_and_comparison_helpers(runs: Path) -> None:
    keys = [e.key for e in find_runs(runs)]
    assert keys[2] == "hand-c.failed"
    assert resolve_run(runs, "hand-a") == (runs / "hand-a").resolve()
    assert resolve_run(runs, "../runs/hand-a") == (runs / "hand-a").resolve()
    assert resolve_run(runs, "..") is None and resolve_run(runs, "nope") is None
    left = [{"ts_ns": 1, "x": 1}, {"ts_ns": 2, "x": 2}]
    assert first_divergence(left, left, ["x"]) is None
    found = first_divergence(left, left[:1], ["x"])
    assert found is not None and found.index == 1 and found.ts_ns == (2, None)
    deltas = headline_deltas({"a": [{"metric": "pnl", "scope": "", "value": "1.5"}],
                              "b": [{"metric": "pnl", "scope": "", "value": "-0.25"}]})
    assert deltas == [{"metric": "pnl", "scope": "", "a": "1.5", "b": "-0.25", "Δ b": "-1.75"}]
    faults, invariants, cells = scenario_matrix({"r": ([], [{"invariant": "i", "passed": True}])})
    assert (faults, invariants, cells) == ([NO_FAULT], ["i"], {(NO_FAULT, "i"): (1, 1)})


def test_dashboard_command_starts_streamlit_on_the_runs_folder(runs: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    calls: list[tuple[list[str], dict[str, str]]] = []

    def call(command: list[str], env: dict[str, str]) -> int:
        """Record the command instead of starting streamlit."""
        calls.append((command, env))
        return 0

    monkeypatch.setattr("subprocess.call", call)
    assert main(["dashboard", str(runs), "--port", "8600", "--run", "hand-a", "--headless"]) == 0
    [(command, env)] = calls
    assert command[1:4] == ["-m", "streamlit", "run"] and command[4].endswith("dashboard/app.py")
    assert command[command.index("--server.port") + 1] == "8600"
    assert env["HARNESS_RUNS_DIR"] == str(runs.resolve()) and env["HARNESS_OPEN_RUN"] == "hand-a"
    assert "http://localhost:8600/run?run=hand-a" in capsys.readouterr().out
    assert main(["dashboard", str(runs / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err

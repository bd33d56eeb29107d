"""``harness report``: one self-contained HTML file, charts embedded, a failed or incomplete run flagged first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hand_run import write_hand_run

from harness.cli import main


def test_report_is_self_contained_with_headline_charts_and_tables(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    run = write_hand_run(tmp_path, with_faults=True)
    out = tmp_path / "r.html"
    assert main(["report", str(run), "-o", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", text)  # nothing fetched: plotly's JS is inline
    assert text.count("Plotly.newPlot") >= 6 and "plotly.js" in text
    assert "This run FAILED" not in text and "This run is INCOMPLETE" not in text
    assert "<td>turnover</td>" in text and "<td>155</td>" in text
    assert 'class="fail">FAIL' in text and "positions_match_venue" in text
    assert "latency_spike" in text and "undetected" in text
    assert (run / "metrics_headline.parquet").is_file()  # the metrics were written back into the run


@pytest.mark.parametrize(("status", "banner"), [("failed", "This run FAILED: RuntimeError: the strategy raised"),
                                                ("running", "This run is INCOMPLETE")])
def test_a_failed_or_incomplete_run_says_so_at_the_top(tmp_path: Path, status: str, banner: str) -> None:
    run = write_hand_run(tmp_path, status=status)
    assert main(["report", str(run)]) == 0
    text = (run / "report.html").read_text(encoding="utf-8")
    assert banner in text
    assert text.index(banner) < text.index("<h1>")


def test_report_of_a_folder_that_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "not a directory" in capsys.readouterr().err

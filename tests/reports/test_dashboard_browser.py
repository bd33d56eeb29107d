"""The real dashboard server, each page loaded in headless Chromium (Debian's package): charts drawn, no exception.

Starts ``streamlit run dashboard/app.py`` on 127.0.0.1 at a free port over a runs folder of
hand-written runs, then opens every page with Playwright driving ``/usr/bin/chromium`` (never a
downloaded browser), waits for plotly's charts to render, saves a screenshot of each page
under the test's tmp dir, and checks that no Streamlit exception or traceback is on the page.
Skipped only when Chromium is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from hand_run import write_hand_run

from dashboard.launch import dashboard_environment, streamlit_command

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="Debian's chromium is not installed (apt-get install chromium)")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("browser") / "runs"
    root.mkdir()
    write_hand_run(root, "hand-a", with_faults=True)
    write_hand_run(root, "hand-b", with_faults=True, shift_fill=7)
    write_hand_run(root, "hand-c", status="failed")
    sweep = root / "sweep-0123456789"
    sweep.mkdir()
    write_hand_run(sweep, "hand-s1", with_faults=True)
    (sweep / "sweep.json").write_text(json.dumps({"sweep_id": sweep.name, "status": "complete", "points": [],
                                                  "grid": {"seeds": [1], "params": {}}}))
    port = _free_port()
    log = (root.parent / "streamlit.log").open("w")
    process = subprocess.Popen(streamlit_command(port, headless=True, address="127.0.0.1"),
                               env=dashboard_environment(root, None), stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a readiness deadline, not a speed threshold
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as answer:
                    if answer.read() == b"ok":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("streamlit did not start: " + (root.parent / "streamlit.log").read_text())
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
        log.close()


PAGES = [
    ("runs", "runs", 0),
    ("run", "run?run=hand-a", 6),
    ("run-failed", "run?run=hand-c.failed", 6),
    ("compare", "compare?runs=hand-a,hand-b", 1),
    ("matrix", "matrix?sweep=sweep-0123456789", 0),
]


def test_every_page_renders_in_chromium(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1400, "height": 1000})
        try:
            page = browser.new_page()
            for name, path, charts in PAGES:
                page.goto(f"{server}/{path}", wait_until="domcontentloaded")
                page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=90_000)
                if charts:
                    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {charts}",
                                           timeout=90_000)
                else:
                    page.wait_for_selector('[data-testid="stDataFrame"]', timeout=90_000)
                page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=90_000)
                shot = tmp_path / f"{name}.png"
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 10_000, name
                assert page.locator('[data-testid="stException"]').count() == 0, name
                text = page.inner_text("body")
                shown = text.replace("RuntimeError: the strategy raised", "")  # the failed run's own recorded error
                assert not [w for w in ("Traceback", "Exception", "Error:") if w in shown], name
                assert page.locator(".js-plotly-plot").count() >= charts, name
                if name == "run-failed":
                    assert "This run FAILED" in text
        finally:
            browser.close()

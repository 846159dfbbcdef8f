"""In a real browser: a ``%%train --max-restarts 1`` cell whose first attempt exits with code 3
shows ``Running (attempt 2)`` in the widget, then ``Completed (attempt 2)``, with the first
attempt's cause listed.

The server, browser and notebook helpers are those of ``test_notebook_widget.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_notebook_widget import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, _open_and_run_all, serving_notebooks

RESTART_CELL = """%%train --max-restarts 1 --name restarts-in-widget
import sys, time
import jupyter_mltrain as mt
print("attempt", mt.attempt(), flush=True)
for step in range(3) if mt.attempt() == 1 else range(2, 5):
    mt.log("loss", 1.0 / (step + mt.attempt()), step=step)
mt.flush()
if mt.attempt() == 1:
    sys.exit(3)
time.sleep(8)
"""


@pytest.fixture
def restart_lab(tmp_path: Path, home: Path):
    with serving_notebooks(tmp_path, "jupyterlab", {"widget.ipynb": RESTART_CELL}) as url:
        yield url


@pytest.mark.timeout(300)
def test_a_restarted_run_shows_its_attempt_and_the_first_cause(restart_lab) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
            _open_and_run_all(page, restart_lab)
            status = page.locator("[data-testid=mltrain-status]")
            expect(status).to_have_text("Running (attempt 2)", timeout=120_000)
            attempts = page.locator("[data-testid=mltrain-attempts-wrap]")
            expect(attempts).to_be_visible()
            first = attempts.locator("[data-attempt='1']")
            expect(first).to_contain_text("Attempt 1, ended")
            expect(first).to_contain_text("exited with code 3")
            expect(status).to_have_text(re.compile(r"^Completed \(attempt 2\)$"), timeout=120_000)
            expect(first).to_contain_text("exited with code 3")
            # the charts show a step's latest value; "every attempt" draws attempt 1's trail apart
            every = page.get_by_test_id("mltrain-every-attempt")
            expect(every).to_be_visible()
            every.check()
            expect(page.locator(".mltrain-metrics")).to_contain_text("attempt 1")
            attempts.scroll_into_view_if_needed()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "widget-restarted.png"), full_page=True)
            assert not errors, errors
        finally:
            browser.close()

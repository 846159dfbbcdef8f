"""In a real browser: a ``%%train`` cell whose rank 1 raises shows the exception first in the live
widget, above where and how the rank ended, with the stderr tail scrolled to its last line.

The server, browser and notebook helpers are those of ``test_notebook_widget.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_notebook_widget import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, _open_and_run_all, serving_notebooks

FAIL_CELL = """%%train --np 2 --name fails-in-widget
import sys, time
import jupyter_mltrain as mt
if mt.rank() == 1:
    for i in range(40):
        print(f"warning line {i:02d}", file=sys.stderr)
    sys.stderr.flush()
    raise ValueError("bad shape (1, 3) for layer fc")
time.sleep(60)
"""


@pytest.fixture
def failing_lab(tmp_path: Path, home: Path):
    with serving_notebooks(tmp_path, "jupyterlab", {"widget.ipynb": FAIL_CELL}) as url:
        yield url


@pytest.mark.timeout(300)
def test_a_failed_run_headlines_its_exception_in_the_widget(failing_lab) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            _open_and_run_all(page, failing_lab)
            expect(page.locator("[data-testid=mltrain-status]")).to_have_text(re.compile("Failed"), timeout=120_000)
            cause = page.locator("[data-testid=mltrain-root-cause]")
            error = cause.get_by_test_id("mltrain-rc-error")
            expect(error).to_have_text("ValueError: bad shape (1, 3) for layer fc")
            message = cause.locator("div.mltrain-rc-message")
            expect(message).to_contain_text("rank 1")
            expect(message).to_contain_text("exited with code 1")
            expect(message).not_to_contain_text("ValueError")  # said once, as the headline
            assert error.bounding_box()["y"] < message.bounding_box()["y"]
            table = page.get_by_test_id("mltrain-rank-table")
            expect(table.locator("tr[data-rank='1']")).to_contain_text("exit code 1")
            # rank 0 was stopped by the supervisor; under load its end may not have been reported in time
            expect(table.locator("tr[data-rank='0']")).to_contain_text(
                re.compile("stopped by the supervisor|never reported")
            )
            # The stderr tail (under the traceback) opens on its last lines.
            cause.locator(".mltrain-rc-details summary").click()
            tail = cause.get_by_test_id("mltrain-rc-stderr")
            expect(tail).to_contain_text("ValueError: bad shape")
            page.wait_for_function(
                "el => el.scrollHeight > el.clientHeight && el.scrollTop + el.clientHeight >= el.scrollHeight - 2",
                arg=tail.element_handle(),
                timeout=10_000,
            )
            cause.scroll_into_view_if_needed()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "widget-failed.png"), full_page=True)
        finally:
            browser.close()

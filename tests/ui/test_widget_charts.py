"""In a real browser: the widget's charts are the shared ones (grouped by prefix, with the ranks'
``system/*`` telemetry in its own section, log scale, min–max band), and a rank that falls behind shows
as a straggler badge in the widget's header while it lasts, then as history.

The server, browser and notebook helpers are those of ``test_notebook_widget.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_notebook_widget import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, _open_and_run_all, serving_notebooks

SLOW_RANK_CELL = """%%train --np 2 --name slow-rank
import time
import jupyter_mltrain as mt
for step in range(50):
    mt.log("train/loss", (1 + mt.rank()) / (step + 1), step=step)
    time.sleep(0.45 if mt.rank() == 1 else 0.15)
"""


@pytest.fixture
def charts_lab(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLTRAIN_STRAGGLER_S", "0")  # the supervisor flags a slow rank at once
    with serving_notebooks(tmp_path, "jupyterlab", {"widget.ipynb": SLOW_RANK_CELL}) as url:
        yield url


@pytest.mark.timeout(300)
def test_the_widget_charts_and_a_straggler_badge(charts_lab) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            _open_and_run_all(page, charts_lab)
            badge = page.get_by_test_id("mltrain-stragglers")
            expect(badge).to_have_attribute("data-active", "1", timeout=60_000)
            expect(badge).to_contain_text("rank 1")
            expect(page.locator("[data-testid=mltrain-status]")).to_have_text(re.compile("Running"))
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "widget-straggler.png"), full_page=True)

            expect(page.locator("[data-testid=mltrain-status]")).to_have_text(re.compile("Completed"), timeout=120_000)
            expect(badge).to_have_attribute("data-active", "0")
            expect(badge).to_have_attribute("data-cleared", "1")
            expect(page.locator("[data-testid=mltrain-chart-group][data-group=train]")).to_be_visible()
            expect(page.locator("[data-testid=mltrain-chart-group][data-group=system]")).to_be_visible()
            loss = page.locator("[data-testid=mltrain-chart][data-metric='train/loss']")
            expect(loss).to_have_attribute("data-points", "100")
            page.get_by_test_id("mltrain-log-scale").check()
            expect(loss).to_have_attribute("data-log", "1")
            page.get_by_test_id("mltrain-agg-select").select_option("minmax")
            expect(loss).to_have_attribute("data-band", "1")
            loss.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "widget-charts-band-log.png"), full_page=True)
        finally:
            browser.close()

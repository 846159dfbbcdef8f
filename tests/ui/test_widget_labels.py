"""In a real browser: the widget's header shows a ``%%train`` run's tags and note and edits them through the
kernel (``Run.tags`` / ``Run.note``): a tag added and one removed, the note edited, a refused tag's error shown.
A metric logged by step can be drawn on wall-clock or relative time too (the feed sends each point's time).

The server, browser and notebook helpers are those of ``test_notebook_widget.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_notebook_widget import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, _open_and_run_all, serving_notebooks

from jupyter_mltrain.api import Run
from jupyter_mltrain.engine.store import Store

CELL = """%%train --name labelled
import jupyter_mltrain as mt
for step in range(3):
    mt.log("loss", 0.5 / (step + 1), step=step)
"""


@pytest.fixture
def labels_lab(tmp_path: Path, home: Path):
    with serving_notebooks(tmp_path, "jupyterlab", {"widget.ipynb": CELL}) as url:
        yield url


@pytest.mark.timeout(300)
def test_tags_and_note_are_edited_from_the_widget_header(labels_lab, home: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            _open_and_run_all(page, labels_lab)
            expect(page.locator("[data-testid=mltrain-status]")).to_have_text(re.compile("Completed"), timeout=120_000)
            box = page.get_by_test_id("mltrain-widget-labels")
            tags = box.get_by_test_id("mltrain-widget-tag")
            box.get_by_test_id("mltrain-widget-tag-input").fill("baseline, lr-sweep")
            box.get_by_test_id("mltrain-widget-tag-input").press("Enter")
            expect(tags).to_have_text(["baseline×", "lr-sweep×"], timeout=30_000)
            tags.filter(has_text="baseline").get_by_role("button").click()
            expect(tags).to_have_text(["lr-sweep×"], timeout=30_000)

            box.get_by_test_id("mltrain-widget-note-edit").click()
            box.get_by_test_id("mltrain-widget-note-input").fill("kept as the reference")
            box.get_by_test_id("mltrain-widget-note-save").click()
            expect(box.get_by_test_id("mltrain-widget-note")).to_have_text("kept as the reference", timeout=30_000)

            box.get_by_test_id("mltrain-widget-tag-input").fill("x" * 101)
            box.get_by_test_id("mltrain-widget-tag-input").press("Enter")
            error = box.get_by_test_id("mltrain-widget-labels-error")
            expect(error).to_be_visible(timeout=30_000)
            expect(error).to_contain_text("at most 100")
            expect(tags).to_have_text(["lr-sweep×"])
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "widget-tags-note.png"), full_page=True)

            chart = page.locator("[data-testid=mltrain-chart][data-metric=loss]")
            expect(chart).to_have_attribute("data-axis", "step")
            for axis in ("wall", "relative"):
                page.get_by_test_id("mltrain-x-axis").select_option(axis)
                expect(chart).to_have_attribute("data-axis", axis)
                expect(chart).to_have_attribute("data-series", "1")
        finally:
            browser.close()
    (run,) = [Run(r.id, Store(home)) for r in Store(home).list()]
    assert run.tags == ["lr-sweep"] and run.note == "kept as the reference"

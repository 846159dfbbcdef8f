"""In a real browser: a ``%%train --sweep`` cell's widget is the sweep's. Its trials table fills in live and
sorts, the best-so-far chart, the overlay of every trial's curve and the parallel coordinates draw, and
"Cancel sweep" stops the driver and every running trial.

The server, browser and notebook helpers are those of ``test_notebook_widget.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_notebook_widget import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, _open_and_run_all, serving_notebooks

from jupyter_mltrain.engine.store import Store
from jupyter_mltrain.sweeps import Sweep

# 10 trials of about 5 s each, 2 at a time: long enough to be canceled half-way
SWEEP_CELL = """%%train --sweep "lr=loguniform(0.001, 1)" --sweep "layers=choice(1, 2, 3)" --trials 10 --concurrent 2 --metric loss --goal min --sampler random --seed 4 --name ui-sweep
import time
import jupyter_mltrain as mt
for step in range(25):
    mt.log("loss", abs(lr - 0.05) * layers + 1.0 / (step + 1), step=step)
    time.sleep(0.2)
"""


@pytest.fixture
def sweep_lab(tmp_path: Path, home: Path):
    with serving_notebooks(tmp_path, "jupyterlab", {"widget.ipynb": SWEEP_CELL}) as url:
        yield url


@pytest.mark.timeout(300)
def test_the_sweep_widget_fills_in_live_sorts_draws_and_cancels_the_sweep(sweep_lab, home: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            _open_and_run_all(page, sweep_lab)
            view = page.get_by_test_id("mltrain-sweep")
            expect(view).to_be_visible(timeout=90_000)
            rows = view.get_by_test_id("mltrain-sweep-trial")
            # live: completed trials are in the table, with their values, while the sweep still runs
            page.wait_for_function(
                "() => document.querySelectorAll("
                "'[data-testid=mltrain-sweep-trial][data-status=Completed]').length >= 2",
                timeout=90_000,
            )
            expect(view).to_have_attribute("data-status", "Running")
            expect(view.get_by_test_id("mltrain-sweep-summary")).to_contain_text("ui-sweep")
            expect(view.locator("[data-testid=mltrain-sweep-trial][data-best='1']")).to_have_count(1)
            # the loss column, ascending: the starred best first
            view.locator("[data-testid=mltrain-sweep-sort][data-key=value]").click()
            expect(view.locator("[data-testid=mltrain-sweep-sort][data-key=value]")).to_have_attribute(
                "aria-sort", "ascending"
            )
            expect(rows.first).to_have_attribute("data-best", "1")
            axes = view.get_by_test_id("mltrain-parcoords-axis")
            expect(axes).to_have_count(3)  # lr, layers, loss
            expect(view.locator("[data-testid=mltrain-parcoords-axis][data-name=lr]")).to_have_attribute(
                "data-scale", "log"
            )
            expect(view.get_by_test_id("mltrain-sweep-best-chart")).to_be_visible()
            expect(view.get_by_test_id("mltrain-sweep-overlay")).to_be_visible()
            ARTIFACTS.mkdir(exist_ok=True)
            view.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "widget-sweep-live.png"), full_page=True)

            view.get_by_test_id("mltrain-sweep-cancel").click()
            expect(page.locator("[data-testid=mltrain-status]").first).to_have_text(
                re.compile("Canceled"), timeout=60_000
            )
            expect(view).to_have_attribute("data-status", "Canceled", timeout=30_000)
            expect(view.get_by_test_id("mltrain-sweep-cancel")).to_be_hidden()
            page.screenshot(path=str(ARTIFACTS / "widget-sweep-canceled.png"), full_page=True)
        finally:
            browser.close()
    store = Store(home)
    sweep = Sweep.get(sorted(p.name for p in (home / "sweeps").glob("sweep-*"))[0], store)
    record = sweep.record()
    assert record["status"] == "Canceled" and len(record["trials"]) < 10, record["trials"]
    assert not [t for t in record["trials"] if t["status"] in ("Queued", "Preparing", "Running")], record["trials"]
    assert sum(t["status"] == "Completed" for t in record["trials"]) >= 2

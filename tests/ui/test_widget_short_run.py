"""In a real browser: a short run's log lines and chart reach the widget as soon as they are on
disk, also in the run's last second, with ``--wait`` (the kernel is busy in the cell until the
run ends, so it cannot answer the widget) and without it; at the latest when the status shows
Completed.

The server, browser and notebook helpers are those of ``test_notebook_widget.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_notebook_widget import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, _open_and_run_all, serving_notebooks

# Metrics and a few lines at once, then nothing new for its last 1.5 s (a DDP run's barrier and
# teardown, say). The last line says when it was written (this machine's clock, as the page's).
SHORT_CELL = """%%train --np 2 --name short-run{flags}
import time
import jupyter_mltrain as mt
for step in range(5):
    mt.log("loss", 1.0 / (step + 1), step=step)
    mt.progress(step + 1, 5)
print(f"short line 0 rank {{mt.rank()}}")
print(f"short line 1 rank {{mt.rank()}}")
print(f"short line 2 rank {{mt.rank()}} at {{time.time():.3f}}", flush=True)
time.sleep(1.5)
"""

# From written to seen (the kernel reads the files every 0.25 s), and from Completed to seen.
ON_DISK_BOUND_MS = 1000
COMPLETED_BOUND_MS = 500

# Date.now() when the status first showed Completed, rank 0's last line was in the log, and
# the loss chart was visible with every point (2 ranks x 5 steps).
_WATCH = """() => {
  window.__seen = {};
  const mark = (key, ok) => { if (ok && window.__seen[key] === undefined) window.__seen[key] = Date.now(); };
  const look = () => {
    const status = document.querySelector('[data-testid=mltrain-status]');
    mark('completed', !!status && /Completed/.test(status.textContent));
    const log = document.querySelector('[data-testid=mltrain-log]');
    mark('log', !!log && log.innerText.includes('short line 2 rank 0'));
    const chart = document.querySelector('[data-testid=mltrain-chart][data-metric=loss]');
    mark('chart', !!chart && chart.offsetParent !== null && Number(chart.dataset.points) === 10);
    requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
}"""


@pytest.fixture
def short_lab(tmp_path: Path, home: Path):
    cells = {
        name: SHORT_CELL.format(flags=flags) for name, flags in (("short.ipynb", ""), ("short_wait.ipynb", " --wait"))
    }
    with serving_notebooks(tmp_path, "jupyterlab", cells) as url:
        yield url


@pytest.mark.timeout(300)
@pytest.mark.parametrize("notebook", ["short.ipynb", "short_wait.ipynb"])
def test_a_short_run_shows_its_log_and_chart_as_soon_as_they_are_on_disk(short_lab, notebook: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.add_init_script(f"({_WATCH})()")
            _open_and_run_all(page, short_lab.replace("widget.ipynb", notebook))
            status = page.locator("[data-testid=mltrain-status]")
            expect(status).to_have_text(re.compile("Completed"), timeout=120_000)
            page.wait_for_timeout(2000)  # long enough to tell a late arrival from a missing one
            seen = page.evaluate("() => window.__seen")
            log = page.locator("[data-testid=mltrain-log]").inner_text()
            ARTIFACTS.mkdir(exist_ok=True)
            status.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"widget-{Path(notebook).stem}.png"), full_page=True)
        finally:
            browser.close()
    written = re.search(r"short line 2 rank 0 at ([\d.]+)", log)
    assert written and "completed" in seen, (log, seen)
    # ms from on disk to on screen (None: not seen at all)
    late = {key: round(seen[key] - float(written.group(1)) * 1000) if key in seen else None for key in ("log", "chart")}
    assert all(ms is not None and ms <= ON_DISK_BOUND_MS for ms in late.values()), late
    assert all(seen[key] <= seen["completed"] + COMPLETED_BOUND_MS for key in ("log", "chart")), seen

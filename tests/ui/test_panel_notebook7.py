"""In a real browser: the Training panel under Notebook 7, whose main area holds the page's one
notebook and ignores any other widget added there. Clicking a run opens its run view (in the down
area of closable tabs) on the notebook page and on the file browser page; a second click shows the
same view again instead of opening another.

A real server (``python -m notebook``, this venv, a private root and settings folder) and Debian's
Chromium driven by Playwright. The screenshots are kept in ``test-artifacts/``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers import JupyterServer
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MLTRAIN = Path(sys.executable).with_name("mltrain")

SCRIPT = """import time
from jupyter_mltrain import log, rank
for step in range(5):
    print(f"rank {rank()} step {step} in notebook 7", flush=True)
    log("loss", 1.0 / (step + 1), step=step)
    time.sleep(0.05)
"""


def _submit(project: Path, name: str) -> str:
    """Run the script to its end with ``mltrain submit --wait``; the run's id."""
    (project / "train.py").write_text(SCRIPT)
    out = subprocess.run(
        [str(MLTRAIN), "submit", "--np", "1", "--name", name, "--experiment", "ui-nb7", "--wait", "--quiet"]
        + ["--json", "train.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["id"]


@pytest.fixture
def notebook7(tmp_path: Path, home: Path):
    root = tmp_path / "nb7"
    root.mkdir()
    nb = new_notebook(cells=[new_code_cell("print('hello')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "page.ipynb")
    server = JupyterServer(
        root, tmp_path, ["-m", "notebook", "--JupyterNotebookApp.expose_app_in_browser=True"]
    ).start()
    try:
        yield f"{server.url}", server.token
    finally:
        server.stop()


@pytest.mark.timeout(300)
def test_clicking_a_run_in_the_panel_opens_its_run_view_under_notebook7(notebook7, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, token = notebook7
    project = tmp_path / "project"
    project.mkdir()
    run_id = _submit(project, "nb7-run")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for name, path in (("notebook", "/notebooks/page.ipynb"), ("tree", "/tree")):
                page.goto(f"{url}{path}?token={token}")
                page.wait_for_function(
                    "() => window.jupyterapp && window.jupyterapp.commands.hasCommand('mltrain:open-panel')",
                    timeout=90_000,
                )
                # The Training panel is in the left side area (View > Left Sidebar, or the command).
                page.evaluate("() => window.jupyterapp.commands.execute('mltrain:open-panel')")
                row = page.locator(f'[data-testid="mltrain-run-row"][data-run-id="{run_id}"]')
                expect(row).to_be_visible(timeout=30_000)
                expect(row.locator(".mltrain-row-id")).to_have_text(run_id[-6:])
                row.click()
                view = page.locator(f"#mltrain-run-{run_id} .mltrain-runview")
                expect(view).to_be_visible(timeout=30_000)
                expect(view.get_by_test_id("mltrain-run-status")).to_have_attribute("data-status", "Completed")
                expect(view.get_by_test_id("mltrain-log")).to_contain_text("step 4 in notebook 7")
                expect(view.locator(".mltrain-run-name")).to_have_text("nb7-run")
                box = view.bounding_box()
                assert box and box["width"] > 400 and box["height"] > 200, box
                page.screenshot(path=str(ARTIFACTS / f"panel-notebook7-{name}.png"))
                # The page's own main widget is still there, and a second click shows the same view.
                assert page.evaluate("() => window.jupyterapp.shell.currentWidget !== null")
                row.click()
                expect(page.locator(f"#mltrain-run-{run_id}")).to_have_count(1)
                expect(view).to_be_visible()
                # Notebook 7.6: in the down area of closable tabs, titled by the run's name and short id.
                labels = page.evaluate(
                    "() => [...window.jupyterapp.shell.widgets('down')].map(w => [w.id, w.title.label])"
                )
                assert [f"mltrain-run-{run_id}", f"nb7-run · {run_id[-6:]}"] in labels, labels
        finally:
            browser.close()

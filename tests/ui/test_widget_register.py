"""In a real browser: a Completed ``%%train`` run with ``outputs/model`` registers its model from the widget's
"Register model" control (through the kernel), shows ``name:version``, and shows the registry's error message.

The server, browser and notebook helpers are those of ``test_notebook_widget.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_notebook_widget import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, _open_and_run_all, serving_notebooks

from jupyter_mltrain.models import Registry

MODEL_CELL = """%%train --name makes-a-model
import jupyter_mltrain as mt
mt.log("loss", 0.125, step=0)
folder = mt.outputs_dir() / "model"
folder.mkdir()
(folder / "weights.bin").write_bytes(bytes(range(64)))
"""


@pytest.fixture
def model_lab(tmp_path: Path, home: Path):
    with serving_notebooks(tmp_path, "jupyterlab", {"widget.ipynb": MODEL_CELL}) as url:
        yield url


@pytest.mark.timeout(300)
def test_the_register_button_registers_the_run_model_and_shows_its_version(model_lab, home: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            _open_and_run_all(page, model_lab)
            expect(page.locator("[data-testid=mltrain-status]")).to_have_text(re.compile("Completed"), timeout=120_000)
            box = page.get_by_test_id("mltrain-register")
            expect(box).to_be_visible()
            expect(box.get_by_test_id("mltrain-register-path")).to_have_value("outputs/model")
            result = box.get_by_test_id("mltrain-registered")

            box.get_by_test_id("mltrain-register-path").fill("outputs/nothing-here")
            box.get_by_test_id("mltrain-register-name").fill("digits")
            box.get_by_test_id("mltrain-register-button").click()
            expect(result).to_have_attribute("data-state", "error", timeout=30_000)
            expect(result).to_contain_text("nothing-here")

            box.get_by_test_id("mltrain-register-path").fill("outputs/model")
            box.get_by_test_id("mltrain-register-alias").fill("champion")
            box.get_by_test_id("mltrain-register-button").click()
            expect(result).to_have_text("Registered digits:1 @champion", timeout=30_000)
            box.get_by_test_id("mltrain-register-button").click()
            expect(result).to_have_text("Registered digits:2 @champion", timeout=30_000)
            box.scroll_into_view_if_needed()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "widget-register-model.png"), full_page=True)
        finally:
            browser.close()
    registry = Registry(home)
    model = registry.get("digits", alias="champion")
    assert model.version == 2 and model.files == {"model/weights.bin": [64, model.files["model/weights.bin"][1]]}
    assert model.source["metrics"] == {"loss": 0.125} and [m.version for m in registry.list()] == [1, 2]

"""The notebooks in notebooks/ run end to end (code cells in order, in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.mark.timeout(240)
def test_getting_started_notebook_trains_and_downloads_the_model(home, tmp_path) -> None:
    nb = json.loads((NOTEBOOKS / "getting-started.ipynb").read_text())
    code = "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=220)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "rank 0 step 40" in out.stdout
    assert "Completed" in out.stdout
    assert (tmp_path / "digits.pt").stat().st_size > 1000

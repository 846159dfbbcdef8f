"""The wheel carries both front-ends and enables both extensions (what `pip install .` gives a fresh JupyterLab)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_wheel_has_the_panel_the_widget_and_the_server_config(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=580,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    (wheel,) = tmp_path.glob("jupyter_mltrain-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        data = "jupyter_mltrain-0.1.0.data/data/"
        labext = data + "share/jupyter/labextensions/jupyter-mltrain/"
        assert json.loads(zf.read(labext + "package.json"))["name"] == "jupyter-mltrain"
        assert any(n.startswith(labext + "static/remoteEntry.") for n in names)
        assert json.loads(zf.read(labext + "install.json"))["packageName"] == "jupyter_mltrain"
        config = json.loads(zf.read(data + "etc/jupyter/jupyter_server_config.d/jupyter_mltrain.json"))
        assert config == {"ServerApp": {"jpserver_extensions": {"jupyter_mltrain": True}}}
        assert zf.getinfo("jupyter_mltrain/widget/static/widget.js").file_size > 10_000
        assert "jupyter_mltrain/server/app.py" in names and "jupyter_mltrain/magics.py" in names


def _listing(*args: str) -> str:
    jupyter = Path(sys.executable).with_name("jupyter")
    out = subprocess.run([str(jupyter), *args], capture_output=True, text=True, timeout=120)
    return re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)


def test_the_installed_extensions_are_enabled_and_ok() -> None:
    server = _listing("server", "extension", "list")
    assert "jupyter_mltrain enabled" in server and "jupyter_mltrain 0.1.0 OK" in server, server
    lab = _listing("labextension", "list")
    assert "jupyter-mltrain v0.1.0 enabled OK" in lab, lab

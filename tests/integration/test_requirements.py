"""``--requirements``: ranks run in a venv built once per requirements content, on top of the base."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

from conftest import assert_no_process_left

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import Environment, RunSpec
from jupyter_mltrain.engine.store import Store


def make_wheel(folder: Path, value: str) -> Path:
    """A minimal pure-Python wheel, written by hand so the test needs no index and no build backend."""
    name, version = "mltrain_testpkg", "0.1"
    files = {
        f"{name}/__init__.py": f"VALUE = {value!r}\n",
        f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},"
        f"{len(text.encode())}"
        for path, text in files.items()
    ]
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    files[f"{name}-{version}.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


SCRIPT = "import sys, mltrain_testpkg, numpy\nprint(mltrain_testpkg.VALUE, sys.prefix)\n"


def test_requirements_build_a_venv_once_and_the_base_packages_stay_visible(
    store: Store, project: Path, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, "from-the-wheel")
    (project / "train.py").write_text(SCRIPT)
    spec = RunSpec(entry="train.py", source=str(project), environment=Environment(requirements=f"{wheel}\n"))
    first = submit(spec, store)
    record = first.wait(raise_on_error=False, timeout=240)
    assert record.status == "Completed", (record.root_cause, (first.folder.path / "environment.log").read_text())
    value, prefix = first.logs(0).split()
    assert value == "from-the-wheel" and Path(prefix).parent == store.home / "envs"
    assert "building environment" in (first.folder.path / "environment.log").read_text()
    second = submit(spec, store)
    assert second.wait(raise_on_error=False, timeout=120).status == "Completed"
    assert second.logs(0).split()[1] == prefix
    assert "reusing environment" in (second.folder.path / "environment.log").read_text()


def test_a_failing_install_fails_the_run_with_pip_s_reason(store: Store, project: Path, tmp_path: Path) -> None:
    (project / "train.py").write_text(SCRIPT)
    missing = tmp_path / "no-such-package-0.1-py3-none-any.whl"
    spec = RunSpec(entry="train.py", source=str(project), environment=Environment(requirements=f"{missing}\n"))
    run = submit(spec, store)
    record = run.wait(raise_on_error=False, timeout=240)
    assert record.status == "Failed"
    assert "pip install -r requirements failed" in record.root_cause.message
    assert "no-such-package" in record.root_cause.message
    assert not any((store.home / "envs").glob("*/bin")), "a failed build must not be kept"
    assert_no_process_left(run.id)

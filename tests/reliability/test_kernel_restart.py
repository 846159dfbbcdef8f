"""A real kernel is killed mid-run; the run goes on, and ``%train_attach`` in the new kernel shows all of it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from helpers import execute
from jupyter_client.manager import start_new_kernel

from jupyter_mltrain.engine.store import Store


@pytest.mark.timeout(240)
def test_kernel_killed_mid_run_then_attach_shows_every_line_and_metric(home: Path, tmp_path: Path) -> None:
    notebook = str(tmp_path / "restart.ipynb")
    env = dict(os.environ, JPY_SESSION_NAME=notebook)  # what jupyter_server gives a notebook's kernel
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env)
    try:
        execute(kc, "%load_ext jupyter_mltrain")
        execute(
            kc,
            "%%train --np 2\nimport time, jupyter_mltrain as mt\nfor i in range(300):\n"
            "    print('line', i, flush=True)\n    mt.log('m', i, step=i)\n    time.sleep(0.01)\n",
        )
        store = Store()
        deadline = time.monotonic() + 30
        while store.list()[0].status != "Running" and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        km.restart_kernel(now=True)  # SIGKILL, then a fresh kernel
        kc.wait_for_ready(timeout=60)
        assert store.list()[0].status == "Running", "the run must outlive its kernel"
        execute(kc, "%load_ext jupyter_mltrain\n%train_attach --wait")  # no id: the last run of this notebook
        report = execute(
            kc,
            "m = get_ipython().magics_manager.registry['TrainMagics']\n"
            "w = m.widgets[m.last_run_id]\n"
            "print(w.status, w.feed.lines_read(0), w.feed.lines_read(1), w.feed.points_read,\n"
            "      w.history['logs']['0'][0], '|', w.history['logs']['1'][-1], len(w.history['series']['m']['1'][0]))",
        )
        assert report.split() == ["Completed", "300", "300", "600", "line", "0", "|", "line", "299", "300"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

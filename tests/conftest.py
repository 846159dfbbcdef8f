"""Shared fixtures: a private MLTRAIN_HOME per test and helpers to prove no process is left."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from jupyter_mltrain.engine.store import Store

PYTHON = sys.executable


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh MLTRAIN_HOME for this test."""
    path = tmp_path / "mltrain-home"
    monkeypatch.setenv("MLTRAIN_HOME", str(path))
    return path


@pytest.fixture
def store(home: Path) -> Store:
    """A Store on the test's own MLTRAIN_HOME."""
    s = Store(home)
    yield s
    s.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty source folder for a test's training script."""
    path = tmp_path / "project"
    path.mkdir()
    return path


from helpers import assert_no_process_left, processes_of_run, wait_for  # noqa: F401  (tests import them from here)

os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory):
    """A private sshd on 127.0.0.2 and 127.0.0.3 (see tests/fixtures/sshd.py)."""
    from fixtures.sshd import SSHD

    server = SSHD(tmp_path_factory.mktemp("sshd")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def slurm(tmp_path_factory: pytest.TempPathFactory):
    """A one-node Slurm cluster (see tests/fixtures/slurm.py); SLURM_CONF is set while it runs."""
    from fixtures.slurm import Slurm

    cluster = Slurm(tmp_path_factory.mktemp("slurm")).start()
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf)
    yield cluster
    cluster.stop()
    if old is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = old

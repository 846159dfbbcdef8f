"""Run environments from ``--requirements``: a venv built once per requirements content, then reused.

The venv lives in ``MLTRAIN_HOME/envs/<key>``, where the key hashes the base interpreter and
the requirements text. It is made with ``--system-site-packages`` so that what the base has
(torch, TensorFlow, MPI bindings) stays visible and only what the requirements add is
installed. A build runs in the run's Preparing stage under a file lock (two runs needing
the same environment build it once); a build that did not finish is thrown away and made
again, never used.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from jupyter_mltrain.hostside.errors import LaunchError

COMPLETE = ".mltrain-complete"


def env_key(base_python: str, requirements: str, resolve: bool = True) -> str:
    """The key of the environment for ``requirements`` on top of ``base_python``
    (``resolve=False``: the interpreter is on another host, take its name as given)."""
    base = os.path.realpath(shutil.which(base_python) or base_python) if resolve else base_python
    return hashlib.sha256(f"{base}\n{requirements.strip()}\n".encode()).hexdigest()[:16]


def env_python(home: Path, base_python: str, requirements: str) -> Path:
    """The interpreter of that environment (which may not be built yet)."""
    return home / "envs" / env_key(base_python, requirements) / "bin" / "python"


def ensure_env(
    home: Path, base_python: str, requirements: str, cwd: Path, log_path: Path, key: str | None = None
) -> Path:
    """Build the environment unless a complete one exists; return its interpreter.

    pip runs in ``cwd`` (the snapshot), so relative paths in the requirements mean the
    user's files. Its output goes to ``log_path``; a failure raises LaunchError with its tail.
    """
    key = key or env_key(base_python, requirements)
    folder = home / "envs" / key
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(folder.parent / f"{key}.lock", "w") as lock, open(log_path, "ab") as log:
        fcntl.flock(lock, fcntl.LOCK_EX)
        python = folder / "bin" / "python"
        if (folder / COMPLETE).exists():
            log.write(f"reusing environment {folder} (requirements hash {key})\n".encode())
            return python
        if folder.exists():
            shutil.rmtree(folder)  # an earlier build that did not finish
        log.write(f"building environment {folder} on top of {base_python}\n".encode())
        log.flush()
        steps = [
            [base_python, "-m", "venv", "--system-site-packages", str(folder)],
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "-r",
                str(folder / "requirements.txt"),
            ],
        ]
        for number, argv in enumerate(steps):
            if number == 1:
                (folder / "requirements.txt").write_text(requirements)
            code = subprocess.run(
                argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            ).returncode
            if code != 0:
                log.flush()
                tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-12:])
                shutil.rmtree(folder, ignore_errors=True)
                what = "creating the venv" if number == 0 else "pip install -r requirements"
                raise LaunchError(f"--requirements: {what} failed (exit code {code}):\n{tail}")
        (folder / COMPLETE).write_text(requirements)
        return python

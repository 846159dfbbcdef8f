"""Copies a run's snapshot to the hosts of an ssh target, sending only what a host does not have yet.

Each host keeps a content-addressed store, ``<workdir>/.mltrain-objects/<sha256>``. Staging is
two ssh calls per host (all hosts at once): the first asks which of the snapshot's digests the
host lacks; the second streams a tar of just those objects plus the manifest, and the host
links (or copies) every file of the manifest into ``<workdir>/<run-id>/``. An unchanged file is
therefore never sent twice to the same host. Both remote sides are standard-library Python run
with the target's interpreter; no remote shell parses anything but one quoted argv.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from jupyter_mltrain.engine.ssh import SSHConnection, ssh_failure_message
from jupyter_mltrain.engine.targets import SSHHost
from jupyter_mltrain.hostside.errors import LaunchError

OBJECTS = ".mltrain-objects"
# What travels to every host (standard library only; import-linter holds it): the package's root,
# whose names load lazily, and these folders, whole.
HOST_SIDE_FOLDERS = ("hostside", "integrations")

# argv: workdir; stdin: JSON list of digests; stdout: JSON list of the missing ones
_MISSING = """
import json, os, sys
store = os.path.join(os.path.expanduser(sys.argv[1]), ".mltrain-objects")
wanted = json.load(sys.stdin)
print(json.dumps([d for d in wanted if not os.path.exists(os.path.join(store, d))]))
"""

# argv: workdir, run folder name; stdin: tar with objects/<digest> and manifest.json
_RECEIVE = """
import json, os, shutil, sys, tarfile
os.umask(0o077)  # the run's folders and files are private on the host too
workdir = os.path.expanduser(sys.argv[1])
store = os.path.join(workdir, ".mltrain-objects")
run = os.path.join(workdir, sys.argv[2])
os.makedirs(store, exist_ok=True)
manifest = None
with tarfile.open(fileobj=sys.stdin.buffer, mode="r|") as tar:
    for member in tar:
        data = tar.extractfile(member).read() if member.isfile() else None
        if member.name == "manifest.json":
            manifest = json.loads(data)
        elif member.name.startswith("objects/") and data is not None:
            digest = member.name[len("objects/"):]
            if "/" in digest or digest.startswith("."):
                sys.exit("bad object name " + member.name)
            tmp = os.path.join(store, "." + digest + ".tmp")
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o444 | (member.mode & 0o111))
            os.replace(tmp, os.path.join(store, digest))
os.makedirs(run, exist_ok=True)
for rel, (size, digest, mode) in manifest.items():
    if rel.startswith("/") or ".." in rel.split("/"):
        sys.exit("bad path " + rel)
    dest = os.path.join(run, rel)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    src = os.path.join(store, digest)
    if os.path.lexists(dest):
        os.unlink(dest)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)
        os.chmod(dest, 0o444 | (mode & 0o111))
print(json.dumps({"files": len(manifest)}))
"""


@dataclass
class StageReport:
    """What staging one host sent."""

    host: str
    files: int
    sent_objects: int
    sent_bytes: int


def snapshot_manifest(folder: Path, known: dict[str, list[object]] | None = None) -> dict[str, tuple[int, str, int]]:
    """``rel -> (size, sha256, mode)`` of every regular file under ``folder`` (symlinks skipped).

    ``known`` is the run's ``manifest.json`` (``rel -> [size, sha256]``): digests found there are not
    computed again.
    """
    import hashlib

    known = known or {}
    out: dict[str, tuple[int, str, int]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        st = path.stat()
        entry = known.get(rel)
        if entry and entry[0] == st.st_size:
            digest = str(entry[1])
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        out[rel] = (st.st_size, digest, st.st_mode & 0o777)
    return out


def _run(target: SSHConnection, host: SSHHost, argv: list[str], data: bytes, timeout: float) -> bytes:
    out = subprocess.run(target.command(host, argv), input=data, capture_output=True, timeout=timeout)
    if out.returncode != 0:
        why = ssh_failure_message(out.stderr.decode(errors="replace"), out.returncode)
        raise LaunchError(f"staging to {host.address} failed: {why}")
    return out.stdout


def stage_host(
    target: SSHConnection,
    host: SSHHost,
    folder: Path,
    manifest: dict[str, tuple[int, str, int]],
    workdir: str,
    run_name: str,
    timeout: float = 600,
) -> StageReport:
    """Copy ``folder`` (described by ``manifest``) to ``workdir/run_name`` on ``host``."""
    digests = sorted({d for _, d, _ in manifest.values()})
    raw = _run(target, host, [target.python, "-c", _MISSING, workdir], json.dumps(digests).encode(), timeout)
    missing = set(json.loads(raw.decode().strip().splitlines()[-1]))
    by_digest = {d: rel for rel, (_, d, _) in manifest.items()}
    buf = io.BytesIO()
    sent = 0
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for digest in sorted(missing):
            rel = by_digest[digest]
            info = tar.gettarinfo(str(folder / rel), arcname=f"objects/{digest}")
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(folder / rel, "rb") as fh:
                tar.addfile(info, fh)
            sent += info.size
        body = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    _run(target, host, [target.python, "-c", _RECEIVE, workdir, run_name], buf.getvalue(), timeout)
    return StageReport(host.address, len(manifest), len(missing), sent)


def stage(
    target: SSHConnection,
    folder: Path,
    workdir: str,
    run_name: str,
    hosts: list[SSHHost] | None = None,
    known: dict[str, list[object]] | None = None,
) -> list[StageReport]:
    """Stage ``folder`` to every host (or ``hosts``) at once; the first failure names its host."""
    manifest = snapshot_manifest(folder, known)
    chosen = hosts or list(target.hosts)
    with ThreadPoolExecutor(max_workers=min(16, len(chosen))) as pool:
        futures = [pool.submit(stage_host, target, h, folder, manifest, workdir, run_name) for h in chosen]
        return [f.result() for f in futures]


_TAR_OUTPUTS = """
import os, sys, tarfile
root = os.path.join(os.path.expanduser(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "outputs")
with tarfile.open(fileobj=sys.stdout.buffer, mode="w|") as tar:
    if os.path.isdir(root):
        tar.add(root, arcname=".")
"""


def fetch_outputs(target: SSHConnection, host: SSHHost, remote_run: str, dest: Path, folder: str = "outputs") -> None:
    """Copy ``<remote_run>/<folder>`` (``outputs`` or ``checkpoints``) from ``host`` into ``dest`` (a tar over ssh)."""
    out = subprocess.run(
        target.command(host, [target.python, "-c", _TAR_OUTPUTS, remote_run, folder]), capture_output=True, timeout=3600
    )
    if out.returncode != 0:
        raise LaunchError(f"copying {folder} from {host.address} failed: {out.stderr.decode(errors='replace')[-300:]}")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(out.stdout), mode="r|") as tar:
        tar.extractall(dest, filter=_private_data)


def _private_data(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
    """tarfile's ``data`` filter (nothing outside ``dest``, no devices), and owner-only modes."""
    kept = tarfile.data_filter(member, path)
    if kept is None or kept.mode is None:
        return kept
    return kept.replace(mode=0o700 if kept.isdir() else 0o600 | (kept.mode & 0o100), deep=False)


def host_side_files() -> dict[str, bytes]:
    """What travels to every host, by path under the package (``__init__.py``, ``hostside/…``, ``integrations/…``)."""
    src = Path(__file__).resolve().parents[1]  # the package root: jupyter_mltrain/
    files = [src / "__init__.py"] + sorted(
        path for sub in HOST_SIDE_FOLDERS for path in (src / sub).rglob("*.py") if "__pycache__" not in path.parts
    )
    return {path.relative_to(src).as_posix(): path.read_bytes() for path in files}


def write_host_side(folder: Path) -> str:
    """Write the host side as ``folder/jupyter_mltrain/…``; return its content hash (16 hex digits)."""
    digest = hashlib.sha256()
    for rel, data in host_side_files().items():
        digest.update(rel.encode() + b"\0" + data)
        dest = folder / "jupyter_mltrain" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return digest.hexdigest()[:16]


def stage_rank_side(
    target: SSHConnection, workdir: str, hosts: list[SSHHost] | None = None
) -> tuple[str, list[StageReport]]:
    """Stage the host side to ``<workdir>/.mltrain-pkg-<content hash>``; return that folder and the reports."""
    folder = Path(tempfile.mkdtemp(prefix="mltrain-pkg-"))
    try:
        name = f".mltrain-pkg-{write_host_side(folder)}"
        return f"{workdir}/{name}", stage(target, folder, workdir, name, hosts)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

"""Model servers running in the background: start one, list the live ones, stop one.

Every ``mltrain serve`` (in a terminal, or started here) writes ``MLTRAIN_HOME/services/ID.json`` once it
listens and removes it when it stops, so the panel, the CLI and the notebook see the same list. A record whose
process is gone (killed, machine restarted) is dropped when read.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mltrain.engine.store import default_home
from jupyter_mltrain.hostside.errors import MLTrainError

SERVICES = "services"
TOKEN_ENV = "MLTRAIN_SERVE_TOKEN"  # how a token reaches a background server: never on its command line
STOP_GRACE = 5.0
_started: dict[str, subprocess.Popen[bytes]] = {}


class ServiceError(MLTrainError):
    """A model server that could not start, or does not exist."""


@dataclass
class Service:
    """A running model server: where it listens and what it serves."""

    id: str
    name: str
    version: int
    url: str
    pid: int
    started: float
    host: str
    port: int
    models: list[str] = field(default_factory=list)  # every NAME:VERSION it serves
    pid_start: str = ""  # the process's start time in /proc: tells it from a later process given the same pid
    token: str | None = None
    home: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, without the token."""
        return {k: v for k, v in asdict(self).items() if k not in ("token", "home", "pid_start")}

    def predict(self, instances: Any) -> Any:
        """The model's predictions for ``instances`` (rows: an array or nested lists), as a numpy array."""
        import numpy as np

        rows = instances.tolist() if hasattr(instances, "tolist") else instances
        request = urllib.request.Request(
            f"{self.url}/v1/models/{self.name}/versions/{self.version}:predict",
            data=json.dumps({"instances": rows}).encode(),
            headers={"Content-Type": "application/json", **self._auth()},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return np.asarray(json.loads(answer.read())["predictions"])
        except urllib.error.HTTPError as exc:
            raise ServiceError(f"{self.name}:{self.version}: {json.loads(exc.read()).get('error')}") from None

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s) and forget it."""
        _terminate(self)
        forget(Path(self.home), self.id)

    def __repr__(self) -> str:
        return f"<Service {self.id} {', '.join(self.models)} at {self.url}>"


def _folder(home: Path) -> Path:
    folder = home / SERVICES
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def write_record(
    home: Path,
    service_id: str | None,
    served: list[tuple[str, int]],
    host: str,
    port: int,
    url: str,
    token: str | None,
) -> Service:
    """Record this process as a running service (called by the server once it listens)."""
    name, version = served[0]
    service = Service(
        id=service_id or new_id(),
        name=name,
        version=version,
        url=url,
        pid=os.getpid(),
        started=time.time(),
        host=host,
        port=port,
        models=[f"{n}:{v}" for n, v in served],
        pid_start=_process_start(os.getpid()) or "",
        token=token,
        home=str(home),
    )
    path = _folder(home) / f"{service.id}.json"
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(service), fh)
    os.replace(tmp, path)
    return service


def forget(home: Path, service_id: str) -> None:
    """Remove a service's record."""
    (home / SERVICES / f"{service_id}.json").unlink(missing_ok=True)


def new_id() -> str:
    """A fresh service id."""
    return f"svc-{secrets.token_hex(4)}"


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot), or None when it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def _alive(service: Service) -> bool:
    return _process_start(service.pid) == service.pid_start


def _read(path: Path, home: Path) -> Service | None:
    try:
        data = json.loads(path.read_text())
        data["home"] = str(home)
        return Service(**data)
    except (OSError, ValueError, TypeError):
        return None


def running(home: str | os.PathLike[str] | None = None) -> list[Service]:
    """The live services of ``home`` (default MLTRAIN_HOME), oldest first; records of dead ones are removed."""
    root = Path(home) if home is not None else default_home()
    live = []
    for path in sorted((root / SERVICES).glob("svc-*.json")):
        service = _read(path, root)
        if service is not None and _alive(service):
            live.append(service)
        elif service is not None:
            path.unlink(missing_ok=True)
    return sorted(live, key=lambda s: s.started)


def get(service_id: str, home: str | os.PathLike[str] | None = None) -> Service:
    """The live service ``service_id``; a ServiceError naming the live ones."""
    services = running(home)
    for service in services:
        if service.id == service_id:
            return service
    raise ServiceError(f"no running service {service_id!r}; running: {', '.join(s.id for s in services) or 'none'}")


def _signal(service: Service, sig: int) -> None:
    try:
        if os.getpgid(service.pid) == service.pid:  # started by start(): a session of its own
            os.killpg(service.pid, sig)
        else:
            os.kill(service.pid, sig)
    except ProcessLookupError:
        pass


def _terminate(service: Service) -> None:
    if not _alive(service):
        return
    _signal(service, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while time.monotonic() < deadline:
        if not _alive(service):
            return
        time.sleep(0.05)
    _signal(service, signal.SIGKILL)
    process = _started.pop(service.id, None)
    if process is not None:
        process.wait(timeout=STOP_GRACE)


def stop(service_id: str, home: str | os.PathLike[str] | None = None) -> bool:
    """Stop the service ``service_id``; False when no such service runs."""
    try:
        service = get(service_id, home)
    except ServiceError:
        return False
    service.stop()
    return True


def start(
    name: str,
    version: int | None = None,
    alias: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    max_batch: int = 32,
    batch_wait_ms: float = 0.0,
    workers: int = 1,
    threads: int = 1,
    home: str | os.PathLike[str] | None = None,
    timeout: float = 120.0,
) -> Service:
    """Start ``mltrain serve`` for one model version in the background; return once it answers."""
    root = Path(home) if home is not None else default_home()
    ref = name + (f":{version}" if version is not None else "") + (f"@{alias}" if alias is not None else "")
    service_id = new_id()
    log_path = _folder(root) / f"{service_id}.log"
    command = [
        sys.executable, "-m", "jupyter_mltrain.cli", "serve", ref, "--host", host, "--port", str(port),
        "--max-batch", str(max_batch), "--batch-wait", str(batch_wait_ms), "--workers", str(workers),
        "--threads", str(threads), "--service-id", service_id,
    ]  # fmt: skip
    env = {**os.environ, "MLTRAIN_HOME": str(root)}
    env.pop(TOKEN_ENV, None)
    if token is not None:
        env[TOKEN_ENV] = token
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    _started[service_id] = process  # kept so that its end is reaped (no zombie) when it stops
    record = _folder(root) / f"{service_id}.json"
    deadline = time.monotonic() + timeout
    while not record.exists():
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
            raise ServiceError(f"`mltrain serve {ref}` stopped (exit {process.returncode}): " + " | ".join(tail))
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise ServiceError(f"`mltrain serve {ref}` did not listen within {timeout:.0f} s; its log: {log_path}")
        time.sleep(0.05)
    service = get(service_id, root)
    service.token = token
    return service

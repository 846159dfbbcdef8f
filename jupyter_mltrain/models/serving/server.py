"""``mltrain serve``: load registered model versions and answer requests until stopped.

Each model reference is ``NAME`` (the newest version), ``NAME:VERSION`` or ``NAME@ALIAS``; several may be given,
several versions of one name included (an unversioned URL then reaches the newest of them). The server listens
on loopback unless told otherwise, asks for ``Authorization: Bearer TOKEN`` when given a token, and writes its
service record (``MLTRAIN_HOME/services/ID.json``) once it listens, removing it when it stops.
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import tornado.httpserver
import tornado.netutil

from jupyter_mltrain.models.registry import Model, Registry, parse_ref
from jupyter_mltrain.models.serving import loaders, services
from jupyter_mltrain.models.serving.app import Metrics, Served, ServerState, make_app
from jupyter_mltrain.models.serving.batcher import Batcher, buckets


@dataclass
class ServeConfig:
    """Everything ``mltrain serve`` is told, with its defaults."""

    refs: list[str]
    host: str = "127.0.0.1"
    port: int = 8501
    token: str | None = None
    max_batch: int = 32
    batch_wait_ms: float = 0.0
    workers: int = 1
    threads: int = 1
    max_body_mb: int = 64
    service_id: str | None = None


def resolve(registry: Registry, refs: list[str]) -> list[Model]:
    """The registered versions ``refs`` name; a ModelError for the first that names none."""
    models = []
    for ref in refs:
        name, version, alias = parse_ref(ref)
        models.append(registry.get(name, version=version, alias=alias))
    return models


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _serve(config: ServeConfig, state: ServerState, stopping: asyncio.Event, home: Path) -> None:
    sockets = tornado.netutil.bind_sockets(config.port, config.host)
    server = tornado.httpserver.HTTPServer(
        make_app(state), max_body_size=state.max_body + 1, idle_connection_timeout=60, body_timeout=120
    )
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    url = f"http://{config.host if ':' not in config.host else f'[{config.host}]'}:{port}"
    served = [(s.name, s.version) for versions in state.models.values() for s in versions.values()]
    record = services.write_record(home, config.service_id, served, config.host, port, url, config.token)
    for name, version in served:
        print(
            f"serving {name}:{version}: {url}/v1/models/{name}:predict (TF Serving), "
            f"{url}/v2/models/{name}/infer (KServe v2)",
            flush=True,
        )
    print(f"service {record.id} ready (stop: Ctrl-C or `mltrain services stop {record.id}`)", flush=True)
    try:
        await stopping.wait()
    finally:
        server.stop()
        services.forget(home, record.id)
        for versions in state.models.values():
            for s in versions.values():
                s.batcher.close()


def serve(config: ServeConfig, home: Path | None = None) -> int:
    """Load the models, listen, and answer until SIGTERM or SIGINT; return the exit status."""
    registry = Registry(home)
    models = resolve(registry, config.refs)
    if not is_loopback(config.host) and config.token is None:
        print(
            f"mltrain serve: warning: listening on {config.host} with no --token: anyone who reaches this port "
            "can call the models",
            file=sys.stderr,
        )
    # one worker: the model runs on the event loop's thread (see Batcher); more: on that many threads
    executor = ThreadPoolExecutor(config.workers, thread_name_prefix="mltrain-serve") if config.workers > 1 else None
    state = ServerState(models={}, token=config.token, max_body=config.max_body_mb << 20, metrics=Metrics())

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        with tempfile.TemporaryDirectory(prefix="mltrain-serve-") as tmp:
            for model in models:
                label = f"{model.name}:{model.version}"
                root = registry.download(model, Path(tmp) / model.name / str(model.version))
                predictor = loaders.load(root, model.framework, config.threads)
                if predictor.pad:
                    predictor.warm(buckets(config.max_batch))

                def on_batch(rows: int, seconds: float, label: str = label, metrics: Metrics = state.metrics) -> None:
                    metrics.batch_size.labels(label).observe(rows)
                    metrics.inference.labels(label).observe(seconds)

                batcher = Batcher(
                    predictor.run,
                    executor,
                    max_batch=config.max_batch,
                    max_wait=config.batch_wait_ms / 1000,
                    workers=config.workers,
                    on_batch=on_batch,
                    pad=predictor.pad,
                )
                state.models.setdefault(model.name, {})[model.version] = Served(
                    model.name, model.version, predictor, batcher
                )
            await _serve(config, state, stopping, registry.home)

    try:
        asyncio.run(main())
    finally:
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
    return 0

"""REST handlers of the model registry and model services under ``/mltrain/api/``.

| route | what |
|---|---|
| ``GET models`` | every version of every model (``source`` without its spec and env) |
| ``GET models/{name}/{version}`` · ``DELETE`` | one version, whole · remove it |
| ``PUT models/{name}/{version}/alias`` ``{"alias"}`` | point the alias at this version |
| ``GET models/{name}/{version}/download`` | the version's files as a .zip, streamed |
| ``POST runs/{id}/register`` ``{"name", "path"?, "alias"?, "tags"?}`` | register a run's file or folder |
| ``GET services`` · ``POST services`` ``{"name", "version"?, "alias"?}`` · ``DELETE services/{id}`` | serving |

Authorized like the run routes: reading is ``read``, changing the registry ``write``, starting
a service (a process) ``execute``.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable
from typing import IO, Any, TypeVar

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_mltrain.hostside.errors import MLTrainError
from jupyter_mltrain.models import Model, ModelError, Registry
from jupyter_mltrain.server.handlers import MLTrainHandler, _rfc5987

T = TypeVar("T")
_LISTED_SOURCE = ("run", "path", "params", "metrics", "snapshot")


def _summary(model: Model) -> dict[str, Any]:
    data = model.to_dict()
    data["source"] = {k: v for k, v in model.source.items() if k in _LISTED_SOURCE}
    return data


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise web.HTTPError(400, f"{key}: expected a string, got {value!r}")
    return value or None


class ModelsBase(MLTrainHandler):
    """A registry on the served store, opened per call in a worker thread and closed after it."""

    async def registry(self, func: Callable[[Registry], T]) -> T:
        """``func(registry)`` off the event loop; a model that does not exist is a 404."""

        def call() -> T:
            registry = Registry(self.store.home)
            try:
                return func(registry)
            finally:
                registry.db.close()

        return await self.blocking(call)

    async def model(self, name: str, version: str) -> Model:
        """The version, or a 404 naming what exists."""
        try:
            return await self.registry(lambda r: r.get(name, version=int(version)))
        except ModelError as exc:
            raise web.HTTPError(404, str(exc)) from None


class ModelsHandler(ModelsBase):
    """``GET models``."""

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        models = await self.registry(lambda r: r.list())
        self.reply({"models": [_summary(m) for m in models]})


class ModelHandler(ModelsBase):
    """``GET models/{name}/{version}`` and ``DELETE`` it."""

    @web.authenticated
    @authorized("read")
    async def get(self, name: str, version: str) -> None:
        self.reply({"model": (await self.model(name, version)).to_dict()})

    @web.authenticated
    @authorized("write")
    async def delete(self, name: str, version: str) -> None:
        model = await self.model(name, version)
        await self.registry(lambda r: r.delete(model.name, model.version))
        self.reply({"deleted": {"name": model.name, "version": model.version}})


class ModelAliasHandler(ModelsBase):
    """``PUT models/{name}/{version}/alias`` ``{"alias"}``."""

    @web.authenticated
    @authorized("write")
    async def put(self, name: str, version: str) -> None:
        alias = _optional_str(self.json_body(), "alias")
        if alias is None:
            return self.fail(400, "alias: give the alias to set, e.g. champion", "alias")
        model = await self.model(name, version)
        try:
            await self.registry(lambda r: r.set_alias(model.name, alias, model.version))
        except ModelError as exc:
            return self.fail(400, str(exc), "alias")
        self.reply({"model": (await self.model(name, version)).to_dict()})


class ModelDownloadHandler(ModelsBase):
    """``GET models/{name}/{version}/download``: the version's files as a .zip."""

    @web.authenticated
    @authorized("read")
    async def get(self, name: str, version: str) -> None:
        model = await self.model(name, version)

        def pack(registry: Registry) -> IO[bytes]:
            out = tempfile.TemporaryFile()
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
                for rel, (_, digest) in model.files.items():
                    obj = registry.objects / digest[:2] / digest
                    if not obj.exists():
                        raise ModelError(f"model {name!r} version {version}: file {rel!r} is missing from the store")
                    with open(obj, "rb") as src, archive.open(rel, "w", force_zip64=True) as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
            out.seek(0)
            return out

        try:
            archive = await self.registry(pack)
        except ModelError as exc:
            return self.fail(500, str(exc))
        filename = f"{model.name}-v{model.version}.zip"
        self.set_header("Content-Type", "application/zip")
        self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{_rfc5987(filename)}")
        with archive:
            while chunk := await self.blocking(archive.read, 1 << 20):
                self.write(chunk)
                await self.flush()
        self.finish()


class RegisterHandler(ModelsBase):
    """``POST runs/{id}/register`` ``{"name", "path"?, "alias"?, "tags"?}``: the new version."""

    @web.authenticated
    @authorized("write")
    async def post(self, run_id: str) -> None:
        body = self.json_body()
        name = _optional_str(body, "name")
        if name is None:
            return self.fail(400, "name: give the model's name", "name")
        path = _optional_str(body, "path") or "outputs/model"
        alias = _optional_str(body, "alias")
        tags = body.get("tags") or {}
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            return self.fail(400, 'tags: expected an object of name: "value" strings', "tags")
        run = self.run_of(run_id)
        try:
            model = await self.blocking(run.register_model, name, path=path, alias=alias, tags=tags)
        except MLTrainError as exc:
            return self.fail(400, str(exc))
        self.reply({"model": model.to_dict()}, 201)


class ServicesHandler(MLTrainHandler):
    """``GET services`` (the live ones) and ``POST services`` ``{"name", "version"?, "alias"?}``."""

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        from jupyter_mltrain.models.serving import services

        live = await self.blocking(services.running, home=str(self.store.home))
        self.reply({"services": [s.to_dict() for s in live]})

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        from jupyter_mltrain.models.serving import services

        body = self.json_body()
        name = _optional_str(body, "name")
        if name is None:
            return self.fail(400, "name: give the model's name", "name")
        version = body.get("version")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            return self.fail(400, f"version: expected an integer, got {version!r}", "version")
        alias = _optional_str(body, "alias")
        try:
            service = await self.blocking(services.start, name, version, alias, home=str(self.store.home))
        except (MLTrainError, ValueError, TimeoutError) as exc:
            return self.fail(400, str(exc))
        self.reply({"service": service.to_dict()}, 201)


class ServiceHandler(MLTrainHandler):
    """``DELETE services/{id}``: stop the service."""

    @web.authenticated
    @authorized("execute")
    async def delete(self, service_id: str) -> None:
        from jupyter_mltrain.models.serving import services

        if not await self.blocking(services.stop, service_id, home=str(self.store.home)):
            raise web.HTTPError(404, f"no running service {service_id!r}")
        self.reply({"stopped": service_id})

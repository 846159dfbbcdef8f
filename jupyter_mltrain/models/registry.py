"""The model registry: numbered versions of named models, their files stored by content, each linked to its run.

``MLTRAIN_HOME/models.sqlite`` (WAL) indexes versions and aliases; ``MLTRAIN_HOME/model-objects/`` holds each
file once by its SHA-256, so a file that several versions share (an unchanged tokenizer, the same weights
registered twice) is stored once. A version records where it came from: the run, its spec, params, final
metrics, the digest of its snapshot and its ``env.json``. Versions of one name registered at the same time
from several processes get distinct consecutive numbers (the number is taken inside a write transaction).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mltrain.engine.store import default_home
from jupyter_mltrain.hostside.errors import MLTrainError
from jupyter_mltrain.models.detect import PACKAGES, detect

DB_NAME = "models.sqlite"
OBJECTS = "model-objects"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    name TEXT NOT NULL, version INTEGER NOT NULL, created REAL NOT NULL, run_id TEXT, root TEXT NOT NULL,
    framework TEXT, framework_version TEXT, description TEXT, tags TEXT, files TEXT, source TEXT,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS aliases (
    name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (name, alias)
);
"""


class ModelError(MLTrainError):
    """A model name, version or alias that does not exist or cannot be used."""


def check_name(kind: str, value: str) -> str:
    """``value`` if it is a usable model name or alias, else a ModelError naming what is allowed."""
    if not isinstance(value, str) or not _NAME.match(value) or (kind == "alias" and value.isdigit()):
        raise ModelError(
            f"bad {kind} {value!r}: letters, digits, '.', '_' and '-', starting with a letter or digit"
            + (", not only digits" if kind == "alias" else "")
        )
    return value


def parse_ref(text: str | None) -> tuple[str, int | None, str | None]:
    """``NAME`` (the newest version), ``NAME:VERSION`` or ``NAME@ALIAS`` as (name, version, alias)."""
    if not text:
        raise ModelError("which model? NAME, NAME:VERSION or NAME@ALIAS (`mltrain models ls` lists them)")
    if "@" in text:
        name, alias = text.split("@", 1)
        return name, None, alias
    name, _, version = text.partition(":")
    if version and not version.isdigit():
        raise ModelError(f"bad version {version!r} in {text!r}: expected NAME:NUMBER")
    return name, int(version) if version else None, None


@dataclass
class Model:
    """One registered version of a model: its files, framework, tags, aliases and the run that made it."""

    name: str
    version: int
    created: float
    root: str  # the registered file's or folder's name: what ``download`` writes
    run_id: str | None = None
    framework: str | None = None
    framework_version: str | None = None
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    files: dict[str, list[Any]] = field(default_factory=dict)  # path -> [size, sha256]
    source: dict[str, Any] = field(default_factory=dict)  # run, spec, params, metrics, snapshot, env
    aliases: list[str] = field(default_factory=list)
    home: str = ""

    @classmethod
    def get(cls, name: str, version: int | None = None, alias: str | None = None, home: str | None = None) -> Model:
        """A version of ``name``: the given one, the one ``alias`` points at, or the newest."""
        return Registry(home).get(name, version=version, alias=alias)

    @classmethod
    def list(cls, home: str | None = None) -> list[Model]:
        """Every version of every model, by name then version."""
        return Registry(home).list()

    @property
    def size(self) -> int:
        """Bytes of this version's files."""
        return sum(int(entry[0]) for entry in self.files.values())

    def download(self, to: str | os.PathLike[str] = ".") -> Path:
        """Write this version's files under ``to``; return the path of its file or folder there."""
        return Registry(self.home).download(self, Path(to))

    def set_alias(self, alias: str) -> None:
        """Point ``alias`` (e.g. ``champion``) of this model's name at this version (moving it from another)."""
        Registry(self.home).set_alias(self.name, alias, self.version)
        self.aliases = sorted({*self.aliases, alias})

    def delete(self) -> None:
        """Remove this version; files that no other version uses are removed with it."""
        Registry(self.home).delete(self.name, self.version)

    def serve(self, *, port: int = 0, host: str = "127.0.0.1", token: str | None = None, **options: Any) -> Any:
        """Serve this version in the background (``mltrain serve``); the Service handle has .url, .predict, .stop."""
        from jupyter_mltrain.models.serving.services import start

        return start(self.name, self.version, host=host, port=port, token=token, home=self.home, **options)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the CLI's ``--json``)."""
        data = {k: v for k, v in self.__dict__.items() if k != "home"}
        data["size"] = self.size
        return data


class Registry:
    """The models under one ``MLTRAIN_HOME``."""

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.home = Path(home) if home is not None else default_home()
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.objects = self.home / OBJECTS
        self.objects.mkdir(exist_ok=True, mode=0o700)
        self.db = sqlite3.connect(self.home / DB_NAME, timeout=30, isolation_level=None, check_same_thread=False)
        os.chmod(self.home / DB_NAME, 0o600)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")  # one writer at a time: version numbers are taken inside
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _store_file(self, path: Path) -> str:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        key = digest.hexdigest()
        obj = self.objects / key[:2] / key
        if not obj.exists():
            obj.parent.mkdir(exist_ok=True, mode=0o700)
            tmp = obj.with_name(f".{key}.{os.getpid()}.tmp")
            shutil.copyfile(path, tmp)
            os.chmod(tmp, 0o400)
            os.replace(tmp, obj)
        return key

    def register(
        self,
        name: str,
        path: Path,
        *,
        run_id: str | None = None,
        source: dict[str, Any] | None = None,
        framework: str | None = None,
        framework_version: str | None = None,
        tags: dict[str, str] | None = None,
        description: str = "",
        alias: str | None = None,
    ) -> Model:
        """Store the file or folder ``path`` as the next version of ``name``; return it."""
        check_name("model name", name)
        if alias is not None:
            check_name("alias", alias)
        if not path.exists():
            raise ModelError(f"nothing to register at {str(path)!r}")
        members = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        if not members:
            raise ModelError(f"{str(path)!r} holds no files")
        files: dict[str, list[Any]] = {}
        for member in members:
            rel = path.name if member == path else f"{path.name}/{member.relative_to(path).as_posix()}"
            files[rel] = [member.stat().st_size, self._store_file(member)]
        framework = framework or detect(path)
        packages = ((source or {}).get("env") or {}).get("packages") or {}
        if framework_version is None and framework in PACKAGES:
            framework_version = packages.get(PACKAGES[framework])
        row = {
            "created": time.time(),
            "run_id": run_id,
            "root": path.name,
            "framework": framework,
            "framework_version": framework_version,
            "description": description,
            "tags": json.dumps(dict(tags or {})),
            "files": json.dumps(files),
            "source": json.dumps(source or {}, default=str),
        }
        with self._writing() as db:
            (last,) = db.execute("SELECT MAX(version) FROM versions WHERE name = ?", (name,)).fetchone()
            version = int(last or 0) + 1
            db.execute(
                "INSERT INTO versions (name, version, created, run_id, root, framework, framework_version, "
                "description, tags, files, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, version, *row.values()),
            )
            if alias is not None:
                db.execute(
                    "INSERT OR REPLACE INTO aliases (name, alias, version) VALUES (?, ?, ?)", (name, alias, version)
                )
        return self.get(name, version=version)

    def _model(self, row: tuple[Any, ...]) -> Model:
        name, version, created, run_id, root, framework, fversion, description, tags, files, source = row
        aliases = [
            a for (a,) in self.db.execute("SELECT alias FROM aliases WHERE name = ? AND version = ?", (name, version))
        ]
        return Model(
            name=name,
            version=version,
            created=created,
            root=root,
            run_id=run_id,
            framework=framework,
            framework_version=fversion,
            description=description or "",
            tags=json.loads(tags or "{}"),
            files=json.loads(files or "{}"),
            source=json.loads(source or "{}"),
            aliases=sorted(aliases),
            home=str(self.home),
        )

    _COLUMNS = "name, version, created, run_id, root, framework, framework_version, description, tags, files, source"

    def get(self, name: str, version: int | None = None, alias: str | None = None) -> Model:
        """One version: ``version``, the one ``alias`` points at, or the newest; a ModelError names what exists."""
        if alias is not None:
            found = self.db.execute(
                "SELECT version FROM aliases WHERE name = ? AND alias = ?", (name, alias)
            ).fetchone()
            if found is None:
                known = [a for (a,) in self.db.execute("SELECT alias FROM aliases WHERE name = ?", (name,))]
                raise ModelError(f"model {name!r} has no alias {alias!r}; its aliases: {', '.join(known) or 'none'}")
            version = int(found[0])
        if version is None:
            row = self.db.execute(
                f"SELECT {self._COLUMNS} FROM versions WHERE name = ? ORDER BY version DESC LIMIT 1", (name,)
            ).fetchone()
        else:
            row = self.db.execute(
                f"SELECT {self._COLUMNS} FROM versions WHERE name = ? AND version = ?", (name, version)
            ).fetchone()
        if row is None:
            names = [n for (n,) in self.db.execute("SELECT DISTINCT name FROM versions ORDER BY name")]
            if name in names:
                versions = [str(v) for (v,) in self.db.execute("SELECT version FROM versions WHERE name = ?", (name,))]
                raise ModelError(f"model {name!r} has no version {version}; its versions: {', '.join(versions)}")
            raise ModelError(f"no model {name!r}; registered models: {', '.join(names) or 'none'}")
        return self._model(row)

    def list(self) -> list[Model]:
        """Every version of every model, by name then version."""
        rows = self.db.execute(f"SELECT {self._COLUMNS} FROM versions ORDER BY name, version").fetchall()
        return [self._model(row) for row in rows]

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` of ``name`` at ``version``."""
        check_name("alias", alias)
        self.get(name, version=version)
        with self._writing() as db:
            db.execute("INSERT OR REPLACE INTO aliases (name, alias, version) VALUES (?, ?, ?)", (name, alias, version))

    def delete(self, name: str, version: int) -> None:
        """Remove a version and its aliases; remove the files no other version uses."""
        model = self.get(name, version=version)
        with self._writing() as db:
            db.execute("DELETE FROM versions WHERE name = ? AND version = ?", (name, version))
            db.execute("DELETE FROM aliases WHERE name = ? AND version = ?", (name, version))
            used = {
                entry[1]
                for (files,) in db.execute("SELECT files FROM versions")
                for entry in json.loads(files).values()
            }
        for _, digest in model.files.values():
            if digest not in used:
                (self.objects / digest[:2] / digest).unlink(missing_ok=True)

    def download(self, model: Model, to: Path) -> Path:
        """Write ``model``'s files under ``to``; return its root there."""
        for rel, (_, digest) in model.files.items():
            dest = to / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            obj = self.objects / digest[:2] / digest
            if not obj.exists():
                raise ModelError(
                    f"model {model.name!r} version {model.version}: file {rel!r} is missing from the store"
                )
            shutil.copyfile(obj, dest)
        return to / model.root

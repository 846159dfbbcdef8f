"""Packages a source folder into a run's ``snapshot/``.

Files are chosen by ignore rules (defaults below, then the folder's ``.gitignore`` and
``.mltrainignore``, then the spec's own patterns; gitignore syntax, ``!`` re-includes).
Each file's content is stored once under ``MLTRAIN_HOME/objects/`` by its SHA-256 and
hard-linked into the snapshot, so a file already in an earlier snapshot is not copied
again. A stat cache (size, mtime, inode) saves re-hashing unchanged files, which makes
re-submitting an unchanged folder close to free. Folders over the size limit are refused
with the largest files named.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pathspec

from jupyter_mltrain.hostside.errors import SnapshotError

DEFAULT_IGNORE = (
    ".git/",
    ".hg/",
    ".svn/",
    "__pycache__/",
    "*.pyc",
    ".ipynb_checkpoints/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    "node_modules/",
    ".venv/",
    "venv/",
    "checkpoints/",
    "*.ckpt",
    "outputs/",
    "mlruns/",
    "wandb/",
    ".DS_Store",
)
# Files that look like secrets: left out, each named in a warning, unless an ignore file re-includes it (`!name`).
SECRET_IGNORE = (
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.kdbx",
    ".env",
    ".env.*",
    ".netrc",
    ".pgpass",
    ".ssh/",
    ".aws/",
    ".azure/",
    ".gnupg/",
    ".kube/config",
    ".docker/config.json",
    "credentials.json",
    "application_default_credentials.json",
    "*service-account*.json",
)
IGNORE_FILES = (".gitignore", ".mltrainignore")


@dataclass
class SnapshotReport:
    """What a snapshot contains and what it cost."""

    files: int = 0
    total_bytes: int = 0
    secrets_left_out: list[str] = field(default_factory=list)
    copied_files: int = 0
    copied_bytes: int = 0
    linked_files: int = 0
    hashed_bytes: int = 0
    manifest: dict[str, list[object]] = field(default_factory=dict)


@dataclass
class _Entry:
    rel: str
    path: str
    size: int
    mtime_ns: int
    ino: int
    mode: int


def ignore_spec(source: Path, extra: tuple[str, ...] = (), *, secrets: bool = True) -> pathspec.PathSpec[Any]:
    """The combined ignore rules for ``source`` (``secrets``: with the rules that leave secrets out)."""
    lines = list(DEFAULT_IGNORE) + (list(SECRET_IGNORE) if secrets else [])
    for name in IGNORE_FILES:
        try:
            lines += (source / name).read_text(errors="replace").splitlines()
        except (FileNotFoundError, IsADirectoryError):
            pass
    lines += list(extra)
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _folder_rules(folder: Path) -> pathspec.PathSpec[Any] | None:
    """The ignore rules a sub-folder's own ``.gitignore``/``.mltrainignore`` adds (paths relative to it)."""
    lines: list[str] = []
    for name in IGNORE_FILES:
        try:
            lines += (folder / name).read_text(errors="replace").splitlines()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            pass
    return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None


def select_files(
    source: Path, extra_ignore: tuple[str, ...] = (), secrets_left_out: list[str] | None = None
) -> list[_Entry]:
    """Every file of ``source`` the rules keep, with its stat data.

    Rules of a sub-folder's own ignore files apply inside that folder, as in git. Files and folders
    left out only because they look like secrets (``SECRET_IGNORE``) are added to ``secrets_left_out``.
    """
    if not source.is_dir():
        raise SnapshotError(f"source folder {str(source)!r} does not exist or is not a folder")
    if not os.access(source, os.R_OK | os.X_OK):
        raise SnapshotError(f"source folder {str(source)!r} is not readable")
    root_rules = ignore_spec(source, extra_ignore)
    without_secrets = ignore_spec(source, extra_ignore, secrets=False)
    secret_rules = pathspec.GitIgnoreSpec.from_lines(SECRET_IGNORE)
    out: list[_Entry] = []
    # each folder to visit, with the rules of its sub-folders' ignore files: (prefix, rules)
    stack: list[tuple[str, list[tuple[str, pathspec.PathSpec[Any]]]]] = [("", [])]

    def ignored(rel: str, nested: list[tuple[str, pathspec.PathSpec[Any]]]) -> bool:
        if root_rules.match_file(rel):
            return True
        return any(rules.match_file(rel[len(prefix) :]) for prefix, rules in nested)

    def note_secret(rel: str, nested: list[tuple[str, pathspec.PathSpec[Any]]]) -> None:
        if secrets_left_out is None or not secret_rules.match_file(rel) or without_secrets.match_file(rel):
            return
        if not any(rules.match_file(rel[len(prefix) :]) for prefix, rules in nested):
            secrets_left_out.append(rel)

    while stack:
        rel_dir, nested = stack.pop()
        folder = source / rel_dir if rel_dir else source
        if rel_dir:
            rules = _folder_rules(folder)
            if rules is not None:
                nested = nested + [(rel_dir + "/", rules)]
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except PermissionError as exc:
            raise SnapshotError(f"cannot read folder {exc.filename!r} in the source: permission denied") from None
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_dir(follow_symlinks=False):
                if ignored(rel + "/", nested):
                    note_secret(rel + "/", nested)
                    continue
                if (Path(entry.path) / "pyvenv.cfg").exists():
                    continue
                stack.append((rel, nested))
                continue
            if ignored(rel, nested):
                note_secret(rel, nested)
                continue
            try:
                st = entry.stat(follow_symlinks=True)
            except OSError:
                continue  # a dangling symlink
            if not stat.S_ISREG(st.st_mode):
                continue
            out.append(_Entry(rel, entry.path, st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode))
    out.sort(key=lambda e: e.rel)
    return out


def _hash_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class ObjectStore:
    """Content-addressed file store shared by every snapshot under one home."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.cache_dir = root.parent / "cache"
        self.cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path_for(self, digest: str) -> Path:
        """Where the object with ``digest`` lives."""
        return self.root / digest[:2] / digest

    def _cache_file(self, source: Path) -> Path:
        key = hashlib.sha256(str(source).encode()).hexdigest()[:24]
        return self.cache_dir / f"stat-{key}.json"

    def load_cache(self, source: Path) -> dict[str, list[object]]:
        """The stat cache of ``source``: rel -> [size, mtime_ns, ino, digest]."""
        try:
            return cast(dict[str, list[object]], json.loads(self._cache_file(source).read_text()))
        except (FileNotFoundError, ValueError):
            return {}

    def save_cache(self, source: Path, cache: dict[str, list[object]]) -> None:
        """Write the stat cache of ``source``."""
        path = self._cache_file(source)
        tmp = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")  # threads of one kernel submit at once
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
            fh.write(json.dumps(cache))
        os.replace(tmp, path)

    def add(self, entry: _Entry, digest: str) -> tuple[Path, bool]:
        """Make sure the object exists; return its path and whether it was copied now."""
        obj = self.path_for(digest)
        if obj.exists():
            return obj, False
        obj.parent.mkdir(exist_ok=True, mode=0o700)
        tmp = obj.with_name(f".{digest}.{os.getpid()}-{threading.get_ident()}.tmp")
        shutil.copyfile(entry.path, tmp)
        os.chmod(tmp, 0o400 | (entry.mode & 0o100))  # read-only (snapshots hard-link it), private
        os.replace(tmp, obj)
        return obj, True


def make_private_dirs(root: Path, rel: str) -> None:
    """Make ``root/rel`` and the folders leading to it, each 0700 whatever the umask."""
    path = root
    for part in Path(rel).parts:
        path = path / part
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(path, 0o700)


def take_snapshot(
    source: Path,
    dest: Path,
    objects: ObjectStore,
    *,
    extra_ignore: tuple[str, ...] = (),
    size_limit_mb: float = 300.0,
) -> SnapshotReport:
    """Package ``source`` into ``dest`` (which must not exist yet)."""
    secrets: list[str] = []
    entries = select_files(source, extra_ignore, secrets)
    total = sum(e.size for e in entries)
    limit = int(size_limit_mb * 1024 * 1024)
    if total > limit:
        largest = sorted(entries, key=lambda e: e.size, reverse=True)[:10]
        listing = "\n".join(f"  {e.size / 1e6:10.1f} MB  {e.rel}" for e in largest)
        raise SnapshotError(
            f"source folder {str(source)!r} is {total / 1e6:.1f} MB after ignore rules, over the "
            f"{size_limit_mb:g} MB limit. Largest files:\n{listing}\n"
            "Add them to .mltrainignore, pass them as --input, or raise the limit (--snapshot-limit MB)."
        )
    report = SnapshotReport(files=len(entries), total_bytes=total, secrets_left_out=sorted(secrets))
    cache = objects.load_cache(source)
    new_cache: dict[str, list[object]] = {}
    dest.mkdir(mode=0o700)
    made_dirs = {""}
    for e in entries:
        cached = cache.get(e.rel)
        if cached and cached[0] == e.size and cached[1] == e.mtime_ns and cached[2] == e.ino:
            digest = str(cached[3])
        else:
            digest = _hash_file(e.path)
            report.hashed_bytes += e.size
        new_cache[e.rel] = [e.size, e.mtime_ns, e.ino, digest]
        parent = os.path.dirname(e.rel)
        if parent not in made_dirs:
            make_private_dirs(dest, parent)
            made_dirs.add(parent)
        obj, copied = objects.add(e, digest)
        if copied:
            report.copied_files += 1
            report.copied_bytes += e.size
        try:
            os.link(obj, dest / e.rel)
            report.linked_files += 1
        except OSError:
            shutil.copyfile(obj, dest / e.rel)
            os.chmod(dest / e.rel, 0o600 | (e.mode & 0o100))
        report.manifest[e.rel] = [e.size, digest]
    objects.save_cache(source, new_cache)
    return report

"""A run's tags and note: what people add to its record (``Run.tags``, ``mltrain tag``, ``PATCH runs/{id}``)."""

from __future__ import annotations

from typing import Any

from jupyter_mltrain.engine.store.index import Store
from jupyter_mltrain.engine.store.records import RunRecord
from jupyter_mltrain.hostside.errors import SpecError

MAX_TAGS = 100
MAX_TAG_CHARS = 100
MAX_NOTE_CHARS = 10_000


def label_fields(tags: object = None, note: object = None) -> dict[str, Any]:
    """The record fields that set a run's ``tags`` and/or ``note`` (None: leave it), checked.

    Tags: a list of non-empty strings without control characters, at most MAX_TAG_CHARS each and
    MAX_TAGS in all, kept in order once each. Note: a string of at most MAX_NOTE_CHARS.
    """
    fields: dict[str, Any] = {}
    if tags is not None:
        if isinstance(tags, str) or not isinstance(tags, (list, tuple)):
            raise SpecError("tags", f"expected a list of strings, got {type(tags).__name__}: use tags=['a', 'b']")
        kept: list[str] = []
        for tag in tags:
            if not isinstance(tag, str) or not tag.strip():
                raise SpecError("tags", f"each tag must be a non-empty string, got {tag!r}")
            if len(tag) > MAX_TAG_CHARS or not tag.isprintable():
                raise SpecError("tags", f"bad tag {tag[:40]!r}: at most {MAX_TAG_CHARS} printable characters")
            if tag.strip() not in kept:
                kept.append(tag.strip())
        if len(kept) > MAX_TAGS:
            raise SpecError("tags", f"{len(kept)} tags; a run keeps at most {MAX_TAGS}")
        fields["tags"] = kept
    if note is not None:
        if not isinstance(note, str):
            raise SpecError("note", f"expected a string, got {type(note).__name__}")
        if len(note) > MAX_NOTE_CHARS:
            raise SpecError("note", f"{len(note)} characters; a note holds at most {MAX_NOTE_CHARS}")
        fields["note"] = note
    return fields


class Labels:
    """``tags`` and ``note`` of a run, read from and written to its store (a mixin of ``api.Run``)."""

    store: Store
    id: str

    @property
    def record(self) -> RunRecord:
        """The run's current record."""
        raise NotImplementedError  # the run's own

    @property
    def tags(self) -> list[str]:
        """The run's tags (``run.tags = ["baseline"]`` replaces them; kept in the store)."""
        return list(self.record.tags)

    @tags.setter
    def tags(self, value: list[str]) -> None:
        self.store.update(self.id, **label_fields(tags=value))

    @property
    def note(self) -> str:
        """The run's note (``run.note = "..."`` replaces it; kept in the store)."""
        return self.record.note

    @note.setter
    def note(self, value: str) -> None:
        self.store.update(self.id, **label_fields(note=value))

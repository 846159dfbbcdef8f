"""The widget's tags and note: a ``labels`` message from the view sets ``Run.tags`` / ``Run.note`` in the store,
the traits follow, and a refused value leaves the store as it was and is answered with the error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_mltrain.api import Run
from jupyter_mltrain.engine.store import RunRecord, Status, Store, write_json_atomic
from jupyter_mltrain.widget import RunWidget


class Answered(RunWidget):  # type: ignore[misc]
    """The widget, keeping what it sends to the view (there is no front-end in this test)."""

    def send(self, content: Any, buffers: Any = None) -> None:
        self.__dict__.setdefault("answers", []).append(content)


def make_run(store: Store) -> Run:
    record = RunRecord(id="20260101-000000-abc123", experiment="e", name="n", status=Status.COMPLETED, created=1.0)
    store.create(record, lambda folder: write_json_atomic(folder / "spec.json", {}))
    return Run(record.id, store)


def test_tags_and_note_set_from_the_view_reach_the_store_and_come_back_as_traits(home: Path, store: Store) -> None:
    run = make_run(store)
    widget = Answered(run)
    assert widget.tags == [] and widget.note == ""
    widget._on_frontend_msg(widget, {"type": "labels", "tags": ["baseline", " lr-sweep ", "baseline"]}, [])
    assert Run(run.id, store).tags == ["baseline", "lr-sweep"]
    assert widget.tags == ["baseline", "lr-sweep"]
    widget._on_frontend_msg(widget, {"type": "labels", "note": "best so far\nsecond line"}, [])
    assert Run(run.id, store).note == "best so far\nsecond line" == widget.note
    assert Run(run.id, store).tags == ["baseline", "lr-sweep"]  # a note alone leaves the tags
    assert widget.answers == [{"type": "labels", "error": ""}] * 2

    run.tags = ["from-the-panel"]  # another face changes them: the next traits show it
    widget._set_traits(run.record)
    assert widget.tags == ["from-the-panel"]


def test_a_refused_tag_or_note_leaves_the_store_and_answers_with_the_error(home: Path, store: Store) -> None:
    run = make_run(store)
    run.tags, run.note = ["keep"], "kept"
    widget = Answered(run)
    widget._on_frontend_msg(widget, {"type": "labels", "tags": ["x" * 101]}, [])
    widget._on_frontend_msg(widget, {"type": "labels", "note": 42}, [])
    assert [a["type"] for a in widget.answers] == ["labels", "labels"]
    assert "bad tag" in widget.answers[0]["error"] and "at most 100" in widget.answers[0]["error"]
    assert "note" in widget.answers[1]["error"] and "string" in widget.answers[1]["error"]
    assert Run(run.id, store).tags == ["keep"] and Run(run.id, store).note == "kept"
    assert widget.tags == ["keep"] and widget.note == "kept"

"""A transaction's changes waiting for its commit: in memory up to a part, the rest in a
temporary file, told in order a part at a time."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_feedback import FeedbackEntry, FeedbackStorage
from orchestrator_feedback.storage import pending
from orchestrator_feedback.storage.backends.base import FeedbackChange
from orchestrator_feedback.storage.listeners import Event
from orchestrator_feedback.storage.pending import PendingChanges

MakeEntry = Callable[..., FeedbackEntry]

_ENTRY = FeedbackEntry(task_id="t", feedback_type="general", content="c")
_OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("extend"), st.integers(min_value=0, max_value=9)),
        st.tuples(st.just("truncate"), st.floats(min_value=0, max_value=1)),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(operations=_OPERATIONS)
def test_pending_changes_keep_order_through_the_file_and_savepoints(
    operations: list[tuple[str, float]],
) -> None:
    """Against a plain list: what is kept, and the parts it is told in, whatever the
    sequence of additions and savepoint rollbacks (a part of 4 here, so most go to the
    file)."""
    original = pending.PART
    pending.PART = 4
    try:
        changes, model, number = PendingChanges(), [], 0
        for operation, amount in operations:
            if operation == "extend":
                events: list[Event] = []
                for _ in range(int(amount)):
                    entry = attrs.evolve(_ENTRY, task_id=str(number))
                    events.append((FeedbackChange.RECORDED, entry))
                    number += 1
                changes.extend(events)
                model.extend(events)
            else:
                length = int(amount * len(model))
                changes.truncate(length)
                del model[length:]
            assert len(changes) == len(model)
        parts = list(changes.parts())
        told = [event for part in parts for event in part]
        assert [entry.task_id for _change, entry in told] == [e.task_id for _c, e in model]
        assert all(len(part) <= 4 - 1 + 9 for part in parts)  # a part, and one addition
        for part in parts:  # what a batched listener may do with its part
            assert [part[i] for i in range(len(part))] == list(part) == part[:]
            if len(part):
                assert part[-1] == list(part)[-1]
        assert len(changes) == 0
    finally:
        pending.PART = original


def test_an_import_larger_than_a_part_is_told_whole_in_order_a_part_at_a_time(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import kept every entry it wrote in memory until its commit (24 GB for
    30,000,000, and the process was killed); past a part its changes wait in a file.
    Every listener still hears every entry once, in the file's order, after the commit."""
    monkeypatch.setattr(pending, "PART", 1_000)
    source = tmp_path / "entries.jsonl"
    with source.open("w") as out:
        for number in range(4_500):
            entry = make_entry(task_id=f"t{number}")
            out.write(json.dumps({"id": entry.id, **_fields(entry)}) + "\n")
    parts: list[int] = []
    each: list[str] = []
    storage.add_listener(lambda changes: parts.append(len(changes)), batched=True)
    storage.add_listener(lambda change, entry: each.append(entry.task_id))
    assert storage.import_jsonl(source) == 4_500
    assert sum(parts) == 4_500 and max(parts) < 4_500  # told in parts, not at once
    assert each == [f"t{number}" for number in range(4_500)]
    each.clear()
    with pytest.raises(ValueError, match="rolled back"), storage.transaction():
        storage.import_jsonl(source, on_conflict="replace")
        raise ValueError("rolled back")
    assert each == []  # nothing told of work rolled back, from memory or from the file


def _fields(entry: FeedbackEntry) -> dict[str, object]:
    return {
        "task_id": entry.task_id,
        "feedback_type": entry.feedback_type.value,
        "content": entry.content,
        "metadata": entry.metadata,
    }

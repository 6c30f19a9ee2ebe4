"""A store used on both sides of a fork (a host that opens it, then forks its workers):
the child opens connections and a writer of its own; the parent's stay the parent's."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from orchestrator_feedback import FeedbackCounters, FeedbackEntry, FeedbackStorage
from tests.conftest import open_store

FORK = multiprocessing.get_context("fork")


def entry(task_id: str) -> FeedbackEntry:
    return FeedbackEntry(task_id=task_id, feedback_type="general", content=f"from {task_id}")


def _child_writes(store: FeedbackStorage) -> None:
    for number in range(25):
        store.create(entry(f"child-sync-{number}"))
    for number in range(25):
        store.submit(entry(f"child-background-{number}"))
    store.close()  # commits what this child handed over, and only that


@pytest.mark.parametrize("kind", ["sqlite-file", "postgres"])
def test_a_forked_child_writes_through_connections_and_a_writer_of_its_own(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = open_store(kind, tmp_path, request, batch_window=5.0)
    store.create(entry("parent-before"))  # the parent's pool now holds a connection
    for number in range(20):  # still in the parent's queue when it forks (a 5 s window)
        store.submit(entry(f"parent-queued-{number}"))

    child = FORK.Process(target=_child_writes, args=(store,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0, "the child failed or hung"

    assert store.flush(timeout=30) is True
    store.create(entry("parent-after"))  # the parent's connections still work
    stored = [row[0] for row in store.execute_query("SELECT task_id FROM feedback")]
    expected = [
        "parent-before",
        *(f"parent-queued-{number}" for number in range(20)),
        *(f"child-sync-{number}" for number in range(25)),
        *(f"child-background-{number}" for number in range(25)),
        "parent-after",
    ]
    assert sorted(stored) == sorted(expected)  # each once: the child left the parent's queue
    if kind == "sqlite-file":
        assert store.execute_query("PRAGMA integrity_check")[0][0] == "ok"
    store.close()


def _count_one(counters: FeedbackCounters) -> None:
    counters.add("recorded")
    assert counters.snapshot()["recorded"] == 1


def test_counters_locked_by_another_thread_at_the_fork_still_count_in_the_child() -> None:
    counters = FeedbackCounters()
    with counters._lock:  # as the parent's writer thread might hold it when the fork comes
        child = FORK.Process(target=_count_one, args=(counters,))
        child.start()
    child.join(timeout=10)
    assert child.exitcode == 0, "the child hung on a lock it inherited held"

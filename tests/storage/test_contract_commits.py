"""The storage contract, continued: transactions, many threads, large batches, background
writes, and who hears of a commit. Every backend runs these unchanged (see
``conftest.BACKENDS``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from orchestrator_feedback import (
    DuplicateFeedbackError,
    FeedbackChange,
    FeedbackEntry,
    FeedbackError,
    FeedbackStorage,
)
from tests.conftest import in_threads
from tests.storage.test_contract import ODD_TEXT, MakeEntry


def test_transaction_commits_everything(storage: FeedbackStorage, make_entry: MakeEntry) -> None:
    first, second = storage.create(make_entry()), make_entry()
    with storage.transaction():
        storage.create(second)
        first.rating = 1
        storage.update(first)
    assert storage.get(second.id) == second
    assert storage.get(first.id) == first


def test_transaction_rolls_back_everything(storage: FeedbackStorage, make_entry: MakeEntry) -> None:
    kept = storage.create(make_entry(rating=5))
    changed = make_entry(id=kept.id, rating=1)
    with pytest.raises(RuntimeError), storage.transaction():
        storage.create(make_entry())
        storage.update(changed)
        storage.delete(kept.id)
        raise RuntimeError("boom")
    assert storage.get_all() == [kept]


def test_nested_transaction_rolls_back_only_the_inner_block(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    outer, inner = make_entry(), make_entry()
    with storage.transaction():
        storage.create(outer)
        with pytest.raises(ValueError), storage.transaction():
            storage.create(inner)
            raise ValueError("inner fails")
    assert storage.get_all() == [outer]


def test_a_failed_call_inside_a_transaction_can_be_recovered(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    existing = storage.create(make_entry())
    fresh = make_entry()
    with storage.transaction():
        with pytest.raises(DuplicateFeedbackError):
            storage.create_many([make_entry(), make_entry(id=existing.id)])
        storage.create(fresh)
    assert {e.id for e in storage.get_all()} == {existing.id, fresh.id}


def test_other_threads_do_not_see_uncommitted_work(
    storage: FeedbackStorage, make_entry: MakeEntry, backend_kind: str
) -> None:
    entry = make_entry()
    seen: list[object] = []
    with storage.transaction():
        storage.create(entry)
        reader = threading.Thread(target=lambda: seen.append(storage.get(entry.id)))
        reader.start()
        if backend_kind == "sqlite-memory":
            # one in-memory database is one connection: the reader waits for the commit
            reader.join(timeout=0.3)
            assert reader.is_alive() and seen == []
        else:
            reader.join()
            assert seen == [None]
        assert storage.get(entry.id) == entry  # this thread sees its own work
    reader.join()
    assert seen[-1:] in ([None], [entry])
    if backend_kind == "sqlite-memory":
        assert seen == [entry]
    assert storage.get(entry.id) == entry


def test_listeners_hear_committed_changes_only(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    heard: list[tuple[FeedbackChange, str]] = []
    storage.add_listener(lambda change, entry: heard.append((change, entry.id)))
    kept = storage.create(make_entry())
    with pytest.raises(RuntimeError), storage.transaction():
        storage.create(make_entry())
        raise RuntimeError
    with storage.transaction():
        second = storage.create(make_entry())
        assert len(heard) == 1  # nothing before the commit
        with pytest.raises(RuntimeError), storage.transaction():
            storage.create(make_entry())
            raise RuntimeError
    kept.rating = 2
    storage.update(kept)
    storage.delete(second.id)
    assert heard == [
        (FeedbackChange.RECORDED, kept.id),
        (FeedbackChange.RECORDED, second.id),
        (FeedbackChange.UPDATED, kept.id),
        (FeedbackChange.DELETED, second.id),
    ]


def test_a_failing_listener_breaks_nothing(
    storage: FeedbackStorage, make_entry: MakeEntry, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[str] = []

    def broken(change: FeedbackChange, entry: FeedbackEntry) -> None:
        raise RuntimeError("listener bug")

    storage.add_listener(broken)
    storage.add_listener(lambda change, entry: heard.append(entry.id))
    entry = storage.create(make_entry())
    assert heard == [entry.id]
    assert storage.get(entry.id) == entry
    assert "listener bug" in caplog.text


def test_purge_and_delete_by_task_tell_listeners(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    deleted: list[str] = []
    storage.add_listener(
        lambda change, entry: deleted.append(entry.id) if change is FeedbackChange.DELETED else None
    )
    old = storage.create(make_entry(created_at=datetime.now(UTC) - timedelta(days=400)))
    storage.purge(timedelta(days=365))
    assert deleted == [old.id]


def test_many_threads_write_and_nothing_is_lost(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    def write(thread: int) -> None:
        for n in range(50):
            storage.create(make_entry(task_id=f"thread-{thread}", content=str(n)))
        with storage.transaction():
            storage.create_many([make_entry(task_id=f"thread-{thread}") for _ in range(10)])

    errors = in_threads(write, 8)
    assert errors == []
    assert storage.count() == 8 * 60
    assert all(storage.count(task_id=f"thread-{n}") == 60 for n in range(8))


@pytest.mark.parametrize("clash_at", [0, 2047, 2048, 4999])
def test_create_many_past_one_statement_names_the_clash_and_stores_nothing(
    storage: FeedbackStorage, make_entry: MakeEntry, clash_at: int
) -> None:
    # 5,000 entries take several INSERT statements on SQLite: a clash in any of them
    # must undo the others and be reported at its own position.
    existing = storage.create(make_entry())
    batch = [make_entry() for _ in range(5000)]
    batch[clash_at] = make_entry(id=existing.id)
    with pytest.raises(DuplicateFeedbackError) as raised:
        storage.create_many(batch)
    assert raised.value.feedback_id == existing.id
    assert raised.value.position == clash_at
    assert storage.count() == 1
    storage.create_many(batch[:clash_at] + batch[clash_at + 1 :])
    assert storage.count() == 5000


def test_a_clash_inside_one_big_batch_is_found(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    batch = [make_entry() for _ in range(3000)]
    batch.append(make_entry(id=batch[2500].id))
    with pytest.raises(DuplicateFeedbackError) as raised:
        storage.create_many(batch)
    assert raised.value.position == 3000
    assert storage.count() == 0


def test_batched_listeners_hear_each_commit_once(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    commits: list[list[str]] = []
    heard_one_by_one: list[str] = []

    shapes: list[tuple[int, object, object, object]] = []

    def batched(changes: Sequence[tuple[FeedbackChange, FeedbackEntry]]) -> None:
        commits.append([entry.id for change, entry in changes])
        shapes.append((len(changes), changes[0], changes[-1], list(changes[1:])))

    storage.add_listener(batched, batched=True)
    storage.add_listener(lambda change, entry: heard_one_by_one.append(entry.id))
    entries = storage.create_many([make_entry() for _ in range(3)])
    with pytest.raises(RuntimeError), storage.transaction():
        storage.create(make_entry())
        raise RuntimeError
    single = storage.create(make_entry())
    assert commits == [[entry.id for entry in entries], [single.id]]
    assert heard_one_by_one == [*commits[0], single.id]
    recorded = FeedbackChange.RECORDED
    assert shapes == [
        (3, (recorded, entries[0]), (recorded, entries[2]), [(recorded, e) for e in entries[1:]]),
        (1, (recorded, single), (recorded, single), []),
    ]
    storage.remove_listener(batched)
    storage.create(make_entry())
    assert len(commits) == 2


class _FrozenDatetime(datetime):
    """A datetime subclass, as freezegun hands out."""


def test_background_writes_store_exactly_what_create_stores(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    # The background writer takes its own encoding path; the stored rows must not differ.
    moments = [
        datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC),  # no fraction of a second
        datetime(2026, 1, 1, 12, 0, 0, 1, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        _FrozenDatetime(2026, 5, 6, 7, 8, 9, 123_456, tzinfo=UTC),
    ]
    entries = [
        make_entry(
            task_id=text[:256],
            content=text,
            user_id=None if number % 2 else text[:256],
            rating=None if number % 3 == 0 else number % 5 + 1,
            metadata={} if number == 0 else {text: [text, number, 1.5, None, True]},
            created_at=moments[number % len(moments)],
            updated_at=moments[(number + 1) % len(moments)],
        )
        for number, text in enumerate(ODD_TEXT * 2)
    ]
    # What the writer commits a group with: called directly, since the writer would retry
    # a failed group one entry at a time, through create, and hide the failure.
    assert storage._create_group(entries) == entries
    twins = [attrs.evolve(entry, id=f"twin-{number}") for number, entry in enumerate(entries)]
    storage.create_many(twins)

    assert [storage.get(entry.id) for entry in entries] == entries
    stored = {row[0]: tuple(row[1:]) for row in storage.execute_query("SELECT * FROM feedback")}
    for number, entry in enumerate(entries):
        assert stored[entry.id] == stored[f"twin-{number}"]


def test_a_clash_in_a_background_group_costs_only_the_clashing_entry(
    storage: FeedbackStorage, make_entry: MakeEntry, caplog: pytest.LogCaptureFixture
) -> None:
    taken = storage.create(make_entry(content="first"))
    group = [make_entry(content=f"new {number}") for number in range(5)]
    group.insert(2, make_entry(id=taken.id, content="second"))
    for entry in group:
        storage.submit(entry)
    with pytest.raises(FeedbackError, match="1 background entry could not be stored"):
        storage.flush(timeout=30)
    assert storage.get(taken.id) == taken
    assert storage.count() == 6
    # The clashing entry is taken out and the rest committed together again (not one by
    # one: the error says which entry it is about); its failure is said once.
    failures = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(failures) == 1 and taken.id in failures[0]
    assert not [r for r in caplog.records if "one by one" in r.getMessage()]


def test_a_background_failure_is_raised_once_to_whoever_waits_for_it(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    taken = storage.create(make_entry(content="first"))
    before = storage.submit(make_entry(content="before"))
    clash = storage.submit(make_entry(id=taken.id, content="second"))
    after = storage.submit(make_entry(content="after"))
    assert before is not None and clash is not None and after is not None
    # Waiting for one's own entry is not told of another's failure ...
    assert storage.wait_committed(after, timeout=30) is True
    assert storage.wait_committed(before, timeout=30) is True
    # ... the waiter of the failed entry is, and that failure is then reported.
    with pytest.raises(FeedbackError, match="could not be stored: DuplicateFeedbackError"):
        storage.wait_committed(clash, timeout=30)
    assert storage.flush(timeout=30) is True

    # A failure nobody waits for by its ticket goes to the next flush.
    storage.submit(make_entry(id=taken.id, content="third"))
    fine = storage.submit(make_entry(content="fine"))
    assert fine is not None and storage.wait_committed(fine, timeout=30) is True
    with pytest.raises(FeedbackError, match="1 background entry could not be stored"):
        storage.flush(timeout=30)
    assert storage.count() == 4


def test_purge_and_forget_user_commit_in_short_batches_and_a_writer_loses_nothing(
    storage: FeedbackStorage, make_entry: Callable[..., FeedbackEntry]
) -> None:
    """Issue "Never lose, never leak, third round", item 10: long deletions are many short
    transactions (a writer gets the lock between them; benchmarks/deletions.py measures
    its wait), each told to listeners at its commit; a writer beside them loses nothing."""
    import threading
    from datetime import UTC, datetime, timedelta

    old = datetime.now(UTC) - timedelta(days=400)
    storage.create_many(
        make_entry(
            task_id=f"old-{n}",
            user_id="leaving" if n % 2 else "staying",
            created_at=old + timedelta(seconds=n),
        )
        for n in range(6_000)
    )
    commits: list[int] = []
    storage.add_listener(lambda changes: commits.append(len(changes)), batched=True)
    written: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            user = "leaving" if len(written) % 2 else "writer"  # the leaving user's too
            written.append(storage.create(make_entry(task_id="new", user_id=user)).id)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        erased = storage.forget_user("leaving")
        purged = storage.purge(timedelta(days=30))
    finally:
        stop.set()
        thread.join()
    assert erased >= 3_000 and purged == 3_000
    assert len([n for n in commits if n > 1]) >= 2, commits  # not one transaction for all
    stored = {entry.id for entry in storage.get_all()}
    kept = [entry_id for n, entry_id in enumerate(written) if n % 2 == 0]
    assert all(entry_id in stored for entry_id in kept)
    assert len(stored) == len(written) - (erased - 3_000)
    with storage.transaction():  # inside a caller's transaction: one commit, as before
        storage.create_many(make_entry(task_id=f"x{n}", created_at=old) for n in range(10))
        commits.clear()
        assert storage.purge(timedelta(days=30)) == 10
    assert len(commits) == 1

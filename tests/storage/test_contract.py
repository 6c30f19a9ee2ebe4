"""The storage contract: every backend runs these unchanged (see ``conftest.BACKENDS``)."""

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
    FeedbackNotFoundError,
    FeedbackStorage,
    FeedbackType,
    FeedbackValidationError,
    StorageClosedError,
)

MakeEntry = Callable[..., FeedbackEntry]
ODD_TEXT = [
    "'; DROP TABLE feedback; --",
    "quotes \"double\" and 'single' and `back`",
    "emoji 🎉👩‍💻 and CJK 漢字",
    "right-to-left \u200f\u05e9\u05dc\u05d5\u05dd mark",
    "new\nlines\r\nand\ttabs",
    "back\\slash %s %(name)s ? :name $1",
]


def test_create_then_get_returns_an_equal_entry(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    entry = make_entry()
    assert storage.create(entry) is entry
    assert storage.get(entry.id) == entry


def test_get_of_an_unknown_id_is_none(storage: FeedbackStorage) -> None:
    assert storage.get("no-such-id") is None


def test_duplicate_id_is_refused_and_the_first_is_kept(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    first = storage.create(make_entry(content="first"))
    with pytest.raises(DuplicateFeedbackError, match=first.id):
        storage.create(make_entry(id=first.id, content="second"))
    assert storage.get(first.id) == first
    assert storage.count() == 1


@pytest.mark.parametrize("text", ODD_TEXT)
def test_odd_text_is_stored_verbatim_in_every_field(
    storage: FeedbackStorage, make_entry: MakeEntry, text: str
) -> None:
    entry = make_entry(
        id=text[:256],
        task_id=text[:256],
        user_id=text[:256],
        content=text,
        metadata={text: text, "list": [text]},
    )
    storage.create(entry)
    assert storage.get(entry.id) == entry
    assert storage.get_by_task(text[:256]) == [entry]


def test_longest_valid_values_round_trip(storage: FeedbackStorage, make_entry: MakeEntry) -> None:
    entry = make_entry(id="i" * 256, task_id="t" * 256, user_id="u" * 256, content="c" * 65_536)
    storage.create(entry)
    assert storage.get(entry.id) == entry


def test_timestamps_round_trip_to_the_microsecond(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    whole_second = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    entry = make_entry(created_at=whole_second, updated_at=whole_second + timedelta(microseconds=1))
    storage.create(entry)
    stored = storage.get(entry.id)
    assert stored is not None
    assert stored.created_at == whole_second and stored.updated_at.microsecond == 1


def test_get_by_task_and_by_type(storage: FeedbackStorage, make_entry: MakeEntry) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    a = make_entry(task_id="a", created_at=base + timedelta(seconds=2))
    b = make_entry(task_id="a", feedback_type="general", created_at=base + timedelta(seconds=1))
    c = make_entry(task_id="c", feedback_type="general", created_at=base)
    storage.create_many([a, b, c])
    assert storage.get_by_task("a") == [b, a]
    assert storage.get_by_type(FeedbackType.GENERAL) == [c, b]
    assert storage.get_by_type("general") == [c, b]
    assert storage.get_by_task("nobody") == []


def test_get_filtered_combines_filters_and_pages(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    entries = [
        make_entry(
            task_id="task-123" if n % 2 == 0 else "other",
            rating=n % 5 + 1,
            user_id=f"user-{n % 3}",
            created_at=base + timedelta(minutes=n),
        )
        for n in range(30)
    ]
    storage.create_many(entries)
    page = storage.get_filtered(
        task_id="task-123", feedback_type=FeedbackType.TASK_COMPLETION, limit=10, offset=0
    )
    assert page == [e for e in entries if e.task_id == "task-123"][:10]
    assert (
        storage.get_filtered(task_id="task-123", limit=10, offset=10)
        == [e for e in entries if e.task_id == "task-123"][10:15]
    )
    assert storage.get_filtered(min_rating=4, max_rating=4, limit=None) == [
        e for e in entries if e.rating == 4
    ]
    assert storage.get_filtered(user_id="user-1", limit=None) == [
        e for e in entries if e.user_id == "user-1"
    ]
    window = storage.get_filtered(
        created_after=base + timedelta(minutes=5), created_before=base + timedelta(minutes=8)
    )
    assert window == entries[5:8]  # after is inclusive, before exclusive
    assert storage.get_filtered(limit=0) == []
    assert len(storage.get_filtered()) == 30


def test_get_filtered_orders_ties_by_id(storage: FeedbackStorage, make_entry: MakeEntry) -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    entries = [make_entry(id=f"id-{n}", created_at=moment) for n in (3, 1, 2)]
    storage.create_many(entries)
    assert [e.id for e in storage.get_filtered()] == ["id-1", "id-2", "id-3"]


def test_naive_filter_times_are_local(storage: FeedbackStorage, make_entry: MakeEntry) -> None:
    entry = storage.create(make_entry())
    local_now = datetime.now()
    assert storage.get_filtered(created_after=local_now - timedelta(minutes=1)) == [entry]
    assert storage.get_filtered(created_after=local_now + timedelta(minutes=1)) == []


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"min_rating": 0}, "min_rating"),
        ({"max_rating": "5"}, "max_rating"),
        ({"feedback_type": "bogus"}, "feedback_type"),
        ({"limit": -1}, "limit"),
        ({"offset": -5}, "offset"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"task_id": 5}, "task_id"),
    ],
)
def test_get_filtered_refuses_bad_arguments(
    storage: FeedbackStorage, arguments: dict[str, object], field: str
) -> None:
    with pytest.raises(FeedbackValidationError, match=field):
        storage.get_filtered(**arguments)  # type: ignore[arg-type]


def test_count(storage: FeedbackStorage, make_entry: MakeEntry) -> None:
    storage.create_many([make_entry(task_id=f"t{n % 2}", rating=n % 5 + 1) for n in range(10)])
    assert storage.count() == 10
    assert storage.count(task_id="t0") == 5
    assert storage.count(min_rating=5) == 2
    with pytest.raises(TypeError):
        storage.count(bogus=1)


def test_update(storage: FeedbackStorage, make_entry: MakeEntry) -> None:
    entry = storage.create(make_entry())
    entry.content = "Updated feedback content"
    entry.rating = 4
    entry.updated_at = datetime.now()
    assert storage.update(entry) is entry
    assert storage.get(entry.id) == entry


def test_update_of_a_missing_entry_raises(storage: FeedbackStorage, make_entry: MakeEntry) -> None:
    with pytest.raises(FeedbackNotFoundError):
        storage.update(make_entry())
    assert storage.count() == 0


def test_delete(storage: FeedbackStorage, make_entry: MakeEntry) -> None:
    entry = storage.create(make_entry())
    assert storage.delete(entry.id) is True
    assert storage.delete(entry.id) is False
    assert storage.get(entry.id) is None


def test_delete_by_task(storage: FeedbackStorage, make_entry: MakeEntry) -> None:
    storage.create_many(
        [make_entry(task_id="gone") for _ in range(3)] + [make_entry(task_id="kept")]
    )
    assert storage.delete_by_task("gone") == 3
    assert storage.count() == 1


def test_purge_by_age_and_by_moment(storage: FeedbackStorage, make_entry: MakeEntry) -> None:
    now = datetime.now(UTC)
    old = make_entry(created_at=now - timedelta(days=100))
    recent = make_entry(created_at=now - timedelta(days=10))
    storage.create_many([old, recent])
    assert storage.purge(timedelta(days=90)) == 1
    assert storage.get_all() == [recent]
    assert storage.purge(now) == 1
    assert storage.count() == 0
    with pytest.raises(FeedbackValidationError, match="older_than"):
        storage.purge(90)  # type: ignore[arg-type]


def test_summary_of_a_task_and_of_the_store(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    storage.create_many(
        [make_entry(rating=r) for r in (5, 5, 4, 1)]
        + [make_entry(rating=None, feedback_type="error_report")]
        + [make_entry(task_id="other", rating=3, feedback_type="general")]
    )
    summary = storage.get_summary("task-123")
    assert summary.total_count == 5
    assert summary.average_rating == pytest.approx(15 / 4)
    assert summary.rating_distribution == {1: 1, 2: 0, 3: 0, 4: 1, 5: 2}
    assert summary.feedback_by_type[FeedbackType.TASK_COMPLETION] == 4
    assert summary.feedback_by_type[FeedbackType.ERROR_REPORT] == 1
    assert summary.feedback_by_type[FeedbackType.GENERAL] == 0
    whole = storage.get_summary()
    assert whole.total_count == 6 and whole.rating_distribution[3] == 1


def test_summary_of_nothing(storage: FeedbackStorage) -> None:
    summary = storage.get_summary("nothing")
    assert summary.total_count == 0
    assert summary.average_rating is None
    assert summary.rating_distribution == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}


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


def test_create_many_is_all_or_nothing(storage: FeedbackStorage, make_entry: MakeEntry) -> None:
    existing = storage.create(make_entry())
    batch = [make_entry(), make_entry(), make_entry(id=existing.id)]
    with pytest.raises(DuplicateFeedbackError, match=existing.id):
        storage.create_many(batch)
    assert storage.count() == 1
    with pytest.raises(DuplicateFeedbackError):
        same = make_entry()
        storage.create_many([same, same])
    assert storage.count() == 1


def test_create_refuses_what_is_not_an_entry(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    with pytest.raises(FeedbackValidationError, match="entry"):
        storage.create(make_entry().to_dict())  # type: ignore[arg-type]
    with pytest.raises(FeedbackValidationError, match="entry"):
        storage.create_many([make_entry(), "not an entry"])  # type: ignore[list-item]
    assert storage.count() == 0


def test_metadata_changed_in_place_is_still_refused(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    entry = make_entry()
    entry.metadata["tags"] = {"a", "b"}
    with pytest.raises(FeedbackValidationError, match=r"metadata\.tags"):
        storage.create(entry)
    assert storage.count() == 0


def test_execute_query_rows_by_position_and_name(
    storage: FeedbackStorage, make_entry: MakeEntry, param: str
) -> None:
    storage.create_many([make_entry(rating=5), make_entry(rating=3)])
    rows = storage.execute_query(
        "SELECT task_id, AVG(rating) AS avg_rating, COUNT(*) AS count FROM feedback "
        f"WHERE feedback_type = {param} GROUP BY task_id",
        (FeedbackType.TASK_COMPLETION.value,),
    )
    assert len(rows) == 1
    assert rows[0][0] == rows[0]["task_id"] == "task-123"
    assert rows[0]["avg_rating"] == 4.0 and rows[0]["count"] == 2


def test_execute_query_compares_datetimes_with_stored_times(
    storage: FeedbackStorage, make_entry: MakeEntry, param: str
) -> None:
    old = make_entry(created_at=datetime.now() - timedelta(days=100))
    new = make_entry()
    storage.create_many([old, new])
    cutoff = datetime.now() - timedelta(days=90)
    query = f"SELECT id FROM feedback WHERE created_at < {param}"
    rows = storage.execute_query(query, (cutoff,))
    assert [row[0] for row in rows] == [old.id]
    aware = datetime.now(UTC) - timedelta(days=90)
    assert len(storage.execute_query(query, (aware,))) == 1


def test_execute_query_runs_ddl(storage: FeedbackStorage) -> None:
    assert (
        storage.execute_query(
            "CREATE INDEX IF NOT EXISTS idx_user_rating ON feedback(user_id, rating)"
        )
        == []
    )


def test_iter_all_streams_everything_in_order(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    entries = [make_entry(created_at=base + timedelta(seconds=n)) for n in range(2500)]
    storage.create_many(entries)
    iterator = storage.iter_all()
    assert next(iterator) == entries[0]
    assert [entries[0], *iterator] == entries
    assert storage.get_all() == entries
    assert list(storage.iter_all(min_rating=6 - 1)) == [e for e in entries if e.rating == 5]


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


def test_use_after_close_raises(storage: FeedbackStorage, make_entry: MakeEntry) -> None:
    storage.close()
    with pytest.raises(StorageClosedError):
        storage.create(make_entry())
    with pytest.raises(StorageClosedError):
        storage.get("x")
    with pytest.raises(StorageClosedError):
        storage.get_summary()


def test_context_manager_closes(storage: FeedbackStorage) -> None:
    with storage as opened:
        assert opened.count() == 0
    with pytest.raises(StorageClosedError):
        storage.count()


def test_many_threads_write_and_nothing_is_lost(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    errors: list[BaseException] = []

    def write(thread: int) -> None:
        try:
            for n in range(50):
                storage.create(make_entry(task_id=f"thread-{thread}", content=str(n)))
            with storage.transaction():
                storage.create_many([make_entry(task_id=f"thread-{thread}") for _ in range(10)])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
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
    for entry in entries:
        storage.submit(entry)
    assert storage.flush(timeout=30)
    twins = [attrs.evolve(entry, id=f"twin-{number}") for number, entry in enumerate(entries)]
    storage.create_many(twins)

    assert [storage.get(entry.id) for entry in entries] == entries
    stored = {row[0]: tuple(row[1:]) for row in storage.execute_query("SELECT * FROM feedback")}
    for number, entry in enumerate(entries):
        assert stored[entry.id] == stored[f"twin-{number}"]


def test_a_clash_in_a_background_group_costs_only_the_clashing_entry(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    taken = storage.create(make_entry(content="first"))
    group = [make_entry(content=f"new {number}") for number in range(5)]
    group.insert(2, make_entry(id=taken.id, content="second"))
    for entry in group:
        storage.submit(entry)
    with pytest.raises(FeedbackError, match="1 background entries could not be stored"):
        storage.flush(timeout=30)
    assert storage.get(taken.id) == taken
    assert storage.count() == 6

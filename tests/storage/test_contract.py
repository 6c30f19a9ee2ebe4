"""The storage contract: every backend runs these unchanged (see ``conftest.BACKENDS``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator_feedback import (
    DuplicateFeedbackError,
    FeedbackEntry,
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

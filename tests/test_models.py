"""FeedbackEntry validation, defaults and dict conversion, as a user meets them."""

from __future__ import annotations

import json
import math
import multiprocessing
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from orchestrator_feedback import (
    FeedbackEntry,
    FeedbackSummary,
    FeedbackType,
    FeedbackValidationError,
)
from orchestrator_feedback.models import new_entry

MakeEntry = Callable[..., FeedbackEntry]


def test_feedback_type_has_exactly_the_seed_members() -> None:
    assert {member.name: member.value for member in FeedbackType} == {
        "TASK_COMPLETION": "task_completion",
        "WORKER_PERFORMANCE": "worker_performance",
        "TASK_QUALITY": "task_quality",
        "DECOMPOSITION_EFFECTIVENESS": "decomposition_effectiveness",
        "ERROR_REPORT": "error_report",
        "GENERAL": "general",
        "MANAGER_REVIEW": "manager_review",
        "ALLOCATION_FEEDBACK": "allocation_feedback",
    }


def test_fields_are_the_seeds_in_the_seeds_order(make_entry: MakeEntry) -> None:
    import attrs

    assert [field.name for field in attrs.fields(FeedbackEntry)] == [
        "id",
        "task_id",
        "feedback_type",
        "content",
        "rating",
        "user_id",
        "metadata",
        "created_at",
        "updated_at",
    ]


def test_defaults() -> None:
    before = datetime.now(UTC)
    entry = FeedbackEntry(task_id="t", feedback_type=FeedbackType.GENERAL, content="c")
    assert uuid.UUID(entry.id).version == 7
    assert entry.rating is None and entry.user_id is None and entry.metadata == {}
    assert before <= entry.created_at <= datetime.now(UTC)
    assert entry.updated_at == entry.created_at
    assert entry.created_at.tzinfo is UTC


def test_each_entry_gets_its_own_id_and_metadata() -> None:
    first = FeedbackEntry(task_id="t", feedback_type="general", content="c")
    second = FeedbackEntry(task_id="t", feedback_type="general", content="c")
    first.metadata["k"] = 1
    assert first.id != second.id and second.metadata == {}


def test_feedback_type_accepts_its_string_value() -> None:
    entry = FeedbackEntry(task_id="t", feedback_type="worker_performance", content="c")
    assert entry.feedback_type is FeedbackType.WORKER_PERFORMANCE


def test_naive_timestamps_are_local_time_normalised_to_utc() -> None:
    naive = datetime(2026, 1, 2, 3, 4, 5, 678901)
    entry = FeedbackEntry(
        task_id="t", feedback_type="general", content="c", created_at=naive, updated_at=naive
    )
    assert entry.created_at.tzinfo is UTC
    assert entry.created_at == naive.astimezone(UTC)


def test_aware_timestamps_are_normalised_to_utc() -> None:
    tokyo = datetime(2026, 1, 2, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    entry = FeedbackEntry(task_id="t", feedback_type="general", content="c", created_at=tokyo)
    assert entry.created_at == datetime(2026, 1, 2, 0, 0, tzinfo=UTC)
    assert entry.created_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("rating", 0, "1 to 5"),
        ("rating", 6, "1 to 5"),
        ("rating", 4.5, "1 to 5"),
        ("rating", True, "1 to 5"),
        ("rating", "5", "1 to 5"),
        ("id", "", "1 to 256"),
        ("id", "x" * 10_000, "1 to 256"),
        ("id", 7, "string"),
        ("task_id", "", "1 to 256"),
        ("task_id", "t" * 257, "1 to 256"),
        ("task_id", None, "string"),
        ("user_id", "", "1 to 256"),
        ("user_id", "u" * 10_000, "1 to 256"),
        ("content", "c" * 65_537, "at most 65536"),
        ("content", None, "string"),
        ("content", b"bytes", "string"),
        ("feedback_type", "nonsense", "task_completion"),
        ("feedback_type", 3, "task_completion"),
        ("metadata", [1, 2], "JSON object"),
        ("metadata", "text", "JSON object"),
        ("metadata", {"tags": {"a", "b"}}, "metadata.tags"),
        ("metadata", {"blob": b"raw"}, "metadata.blob"),
        ("metadata", {"when": datetime.now()}, "metadata.when"),
        ("metadata", {"score": math.nan}, "metadata.score"),
        ("metadata", {"deep": [1, {"x": math.inf}]}, "metadata.deep[1].x"),
        ("metadata", {1: "numeric key"}, "keys must be strings"),
        ("metadata", {"obj": object()}, "metadata.obj"),
        ("created_at", "2026-01-01", "datetime"),
        ("created_at", 1_700_000_000, "datetime"),
        ("updated_at", None, "datetime"),
        ("content", "a\x00b", "NUL"),
        ("task_id", "t\x00", "NUL"),
        ("metadata", {"k": "v\x00"}, "NUL"),
        ("content", "lone \ud800 surrogate", "surrogate"),
    ],
)
def test_bad_values_are_refused_naming_the_field(
    make_entry: MakeEntry, field: str, value: Any, fragment: str
) -> None:
    with pytest.raises(FeedbackValidationError) as raised:
        make_entry(**{field: value})
    message = str(raised.value)
    assert message.startswith(field) or message.startswith("metadata")
    assert fragment in message
    assert isinstance(raised.value, ValueError)  # the seed catches ValueError


def test_missing_required_fields_are_refused() -> None:
    with pytest.raises(TypeError, match="task_id"):
        FeedbackEntry(feedback_type="general", content="c")  # type: ignore[call-arg]


def test_assignment_is_validated_at_once(make_entry: MakeEntry) -> None:
    entry = make_entry()
    with pytest.raises(FeedbackValidationError, match="rating"):
        entry.rating = 6
    assert entry.rating == 5
    entry.rating = 4
    entry.feedback_type = "general"  # type: ignore[assignment]
    assert entry.feedback_type is FeedbackType.GENERAL
    entry.updated_at = datetime(2026, 5, 1, 12, 0)
    assert entry.updated_at.tzinfo is UTC


def test_content_limit_is_configurable(
    make_entry: MakeEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FeedbackEntry, "max_content_length", 10)
    make_entry(content="x" * 10)
    with pytest.raises(FeedbackValidationError, match="at most 10"):
        make_entry(content="x" * 11)


def test_long_values_are_cut_in_messages(make_entry: MakeEntry) -> None:
    with pytest.raises(FeedbackValidationError) as raised:
        make_entry(task_id="x" * 10_000)
    assert len(str(raised.value)) < 300


def test_to_dict_is_json_ready_and_round_trips(make_entry: MakeEntry) -> None:
    entry = make_entry(metadata={"nested": {"list": [1, 2.5, None, True, "ü"]}})
    data = entry.to_dict()
    assert data["feedback_type"] == "task_completion"
    assert data["created_at"] == entry.created_at.isoformat()
    assert FeedbackEntry.from_dict(json.loads(json.dumps(data))) == entry


def test_from_dict_accepts_the_seeds_backup_format(make_entry: MakeEntry) -> None:
    entries = [make_entry(), make_entry(rating=None, user_id=None, metadata={})]
    text = json.dumps([entry.to_dict() for entry in entries], indent=2, default=str)
    assert [FeedbackEntry.from_dict(data) for data in json.loads(text)] == entries


def test_from_dict_accepts_naive_iso_text_as_utc(make_entry: MakeEntry) -> None:
    data = make_entry().to_dict() | {"created_at": "2026-03-04 05:06:07"}
    assert FeedbackEntry.from_dict(data).created_at == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"rating": 9}, "rating"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"feedback_type": "praise"}, "feedback_type"),
        ({"unexpected": 1}, "unexpected"),
        ({"metadata": {"x": [1, {"y": {1, 2}}]}}, "metadata"),
    ],
)
def test_from_dict_errors_name_the_field(
    make_entry: MakeEntry, change: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(FeedbackValidationError, match=fragment):
        FeedbackEntry.from_dict(make_entry().to_dict() | change)


def test_from_dict_missing_field_is_named(make_entry: MakeEntry) -> None:
    data = make_entry().to_dict()
    del data["task_id"]
    with pytest.raises(FeedbackValidationError, match="task_id: is required"):
        FeedbackEntry.from_dict(data)


def test_summary_fields() -> None:
    summary = FeedbackSummary(
        total_count=0,
        average_rating=None,
        rating_distribution=dict.fromkeys(range(1, 6), 0),
        feedback_by_type=dict.fromkeys(FeedbackType, 0),
    )
    assert summary.total_count == 0 and summary.average_rating is None


# -- the hot-path constructor and the id maker --------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("task_id", "", "1 to 256"),
        ("task_id", 7, "string"),
        ("user_id", "u" * 257, "1 to 256"),
        ("feedback_type", "nonsense", "task_completion"),
        ("content", "c" * 65_537, "at most 65536"),
        ("content", "a\x00b", "NUL"),
        ("rating", True, "1 to 5"),
        ("rating", 4.5, "1 to 5"),
        ("metadata", {"deep": [1, {"x": -math.inf}]}, "metadata.deep[1].x"),
        ("metadata", {"k\x00": 1}, "NUL"),
        ("metadata", {"when": datetime.now()}, "metadata.when"),
        ("metadata", [1], "JSON object"),
    ],
)
def test_new_entry_refuses_what_the_constructor_refuses(
    field: str, value: Any, fragment: str
) -> None:
    fields: dict[str, Any] = {"task_id": "t", "feedback_type": "general", "content": "c"}
    fields[field] = value
    with pytest.raises(FeedbackValidationError) as raised:
        new_entry(**fields)
    assert fragment in str(raised.value)
    with pytest.raises(FeedbackValidationError):
        FeedbackEntry(**fields)


def test_new_entry_equals_the_constructors_entry() -> None:
    metadata = {"emoji": "🎉", "ключ": ["значение", 1.5, None, True], "nested": {"a": {}}}
    built = new_entry(
        task_id="t",
        feedback_type="manager_review",
        content="ok",
        rating=5,
        user_id="u",
        metadata=metadata,
    )
    assert built == FeedbackEntry(**attrs.asdict(built, recurse=False))
    assert built.feedback_type is FeedbackType.MANAGER_REVIEW
    assert built.created_at == built.updated_at and built.created_at.tzinfo is UTC
    built.rating = 4  # still validated on assignment
    with pytest.raises(FeedbackValidationError):
        built.rating = 6


def test_ids_are_distinct_time_ordered_uuid7_strings() -> None:
    before = time.time_ns() // 1_000_000
    ids = [FeedbackEntry(task_id="t", feedback_type="general", content="c").id for _ in range(5000)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    milliseconds = []
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        milliseconds.append(parsed.int >> 80)
    # The first 48 bits are the Unix time in milliseconds when the id was made.
    assert before <= milliseconds[0] and milliseconds[-1] <= after
    assert milliseconds == sorted(milliseconds)


def _ids_in_child(connection: Any) -> None:
    connection.send(
        [new_entry(task_id="t", feedback_type="general", content="c").id for _ in range(50)]
    )


def test_a_forked_child_makes_ids_of_its_own() -> None:
    # The parent has spare ids made in advance; a forked child must not hand them out again.
    new_entry(task_id="t", feedback_type="general", content="c")
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_ids_in_child, args=(sender,))
    child.start()
    child_ids = set(receiver.recv())
    child.join()
    parent_ids = {
        new_entry(task_id="t", feedback_type="general", content="c").id for _ in range(50)
    }
    assert len(child_ids) == 50 and not child_ids & parent_ids

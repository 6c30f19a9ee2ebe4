"""Answers over a period, on every backend: the summary since a moment, and the outcomes
with the failures by error type (what the report and ``failures`` show)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator_feedback import FeedbackEntry, FeedbackStorage, FeedbackType
from orchestrator_feedback.errors import FeedbackValidationError

Make = Callable[..., FeedbackEntry]
NOW = datetime.now(UTC)


@pytest.fixture
def period_store(storage: FeedbackStorage, make_entry: Make) -> FeedbackStorage:
    kinds = FeedbackType
    entries = [
        *(
            make_entry(task_id=f"ok{n}", rating=4, metadata={"worker_id": "w1", "task_type": "etl"})
            for n in range(5)
        ),
        make_entry(task_id="no-worker", rating=None, metadata={"task_type": "etl"}),
        make_entry(task_id="unsure", rating=None, metadata={"success": None}),
        make_entry(task_id="bad", content="meh", metadata={"success": False, "task_type": "etl"}),
        make_entry(
            task_id="e1",
            feedback_type=kinds.ERROR_REPORT,
            rating=None,
            content="boom",
            metadata={
                "error_type": "ValueError",
                "error_message": "<script>x</script>",
                "task_type": "etl",
            },
            created_at=NOW - timedelta(minutes=2),
        ),
        make_entry(
            task_id="e2",
            feedback_type=kinds.ERROR_REPORT,
            rating=None,
            content="second",
            metadata={"error_type": "ValueError"},
            created_at=NOW - timedelta(minutes=1),
        ),
        make_entry(
            task_id="e3",
            feedback_type=kinds.ERROR_REPORT,
            rating=None,
            content="plain",
            metadata={},
        ),
        make_entry(
            task_id="old",
            feedback_type=kinds.ERROR_REPORT,
            rating=2,
            content="long ago",
            metadata={"error_type": "KeyError"},
            created_at=NOW - timedelta(days=40),
        ),
    ]
    storage.create_many(entries)
    return storage


def test_the_summary_since_a_moment_counts_only_what_came_after(
    period_store: FeedbackStorage,
) -> None:
    recent = period_store.get_summary(since=NOW - timedelta(days=30))
    whole = period_store.get_summary()
    assert (recent.total_count, whole.total_count) == (11, 12)
    assert recent.rating_distribution[2] == 0 and whole.rating_distribution[2] == 1
    assert recent.feedback_by_type[FeedbackType.ERROR_REPORT] == 3
    assert period_store.get_summary("ok1", since=NOW - timedelta(days=1)).total_count == 1


def test_failures_count_outcomes_and_group_by_error_type(period_store: FeedbackStorage) -> None:
    report = period_store.failures(since=NOW - timedelta(days=30))
    # successes: five completions plus one without a worker; "success": null is neither
    assert (report.successes, report.failures) == (6, 4)
    assert [(g.error_type, g.count) for g in report.groups] == [
        ("ValueError", 2),
        ("Unknown", 1),
        ("success: false", 1),
    ]
    assert report.groups[0].newest_message == "second"  # the newer of the two
    assert report.groups[1].newest_message == "plain"  # no error_message: the content
    etl = period_store.failures(since=NOW - timedelta(days=30), task_type="etl")
    assert (etl.successes, etl.failures) == (6, 2)
    assert etl.groups[0].newest_message == "<script>x</script>"
    everything = period_store.failures()
    assert everything.failures == 5 and everything.success_rate == pytest.approx(6 / 11)


def test_period_answers_check_their_arguments(period_store: FeedbackStorage) -> None:
    with pytest.raises(FeedbackValidationError, match="since"):
        period_store.failures(since="yesterday")  # type: ignore[arg-type]
    with pytest.raises(FeedbackValidationError, match="task_type"):
        period_store.failures(task_type=3)  # type: ignore[arg-type]
    with pytest.raises(FeedbackValidationError, match="since"):
        period_store.get_summary(since=30)  # type: ignore[arg-type]


def test_trend_points_say_how_many_entries_were_rated(period_store: FeedbackStorage) -> None:
    points = period_store.trends(days=2)
    assert sum(p.count for p in points) == 11
    assert sum(p.rated for p in points) == 6  # five ok ratings and "bad" (make_entry's 5)


@pytest.mark.parametrize("old_entries", [2, 30])
def test_the_summary_since_is_the_same_whichever_side_is_read(
    storage: FeedbackStorage, make_entry: Make, old_entries: int
) -> None:
    """Few entries before the moment: the whole store's rollup less them; many: the period
    itself. Both must agree with the entries."""
    old = [
        make_entry(rating=1 + n % 5, created_at=NOW - timedelta(days=40, minutes=n))
        for n in range(old_entries)
    ]
    new = [
        make_entry(rating=None if n % 4 == 0 else 1 + n % 5, feedback_type=kind)
        for n, kind in enumerate([*FeedbackType] * 2)
    ]
    storage.create_many([*old, *new])
    summary = storage.get_summary(since=NOW - timedelta(days=30))
    assert summary.total_count == len(new)
    for value in range(1, 6):
        assert summary.rating_distribution[value] == sum(e.rating == value for e in new)
    for kind in FeedbackType:
        assert summary.feedback_by_type[kind] == sum(e.feedback_type is kind for e in new)

"""Every example of the seed's usage guide, with only its import lines changed."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from orchestrator_feedback import FeedbackEntry, FeedbackStorage, FeedbackType


@pytest.fixture
def storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedbackStorage]:
    monkeypatch.chdir(tmp_path)
    # Initialize storage (creates database if not exists)
    storage = FeedbackStorage(db_path="feedback.db")
    yield storage
    storage.close()


def make_feedback(task_id: str = "task-123", **overrides: object) -> FeedbackEntry:
    fields: dict[str, object] = {
        "id": str(uuid.uuid4()),
        "task_id": task_id,
        "feedback_type": FeedbackType.TASK_COMPLETION,
        "content": "Task completed successfully with high quality output",
        "rating": 5,
        "user_id": "user-456",
        "metadata": {
            "execution_time": 45.3,
            "resources_used": ["claude-3", "gpu-1"],
            "output_quality": "excellent",
        },
        "created_at": datetime.now(),
        "updated_at": datetime.now(),
    }
    fields.update(overrides)
    return FeedbackEntry(**fields)  # type: ignore[arg-type]


def test_basic_setup_creates_the_database(storage: FeedbackStorage) -> None:
    assert Path("feedback.db").exists()


def test_creating_feedback(storage: FeedbackStorage) -> None:
    # Create a feedback entry
    feedback = FeedbackEntry(
        id=str(uuid.uuid4()),
        task_id="task-123",
        feedback_type=FeedbackType.TASK_COMPLETION,
        content="Task completed successfully with high quality output",
        rating=5,
        user_id="user-456",
        metadata={
            "execution_time": 45.3,
            "resources_used": ["claude-3", "gpu-1"],
            "output_quality": "excellent",
        },
        created_at=datetime.now(),
        updated_at=datetime.now(),
    )

    # Store feedback
    storage.create(feedback)
    assert storage.get(feedback.id) == feedback


def test_querying_feedback(storage: FeedbackStorage) -> None:
    stored = storage.create(make_feedback(id="feedback-id-123"))
    storage.create(make_feedback(feedback_type=FeedbackType.WORKER_PERFORMANCE))

    # Get feedback by ID
    feedback = storage.get("feedback-id-123")

    # Get all feedback for a task
    task_feedback = storage.get_by_task("task-123")

    # Get feedback by type
    performance_feedback = storage.get_by_type(FeedbackType.WORKER_PERFORMANCE)

    # Advanced filtering with pagination
    filtered_feedback = storage.get_filtered(
        task_id="task-123",
        feedback_type=FeedbackType.TASK_COMPLETION,
        limit=10,
        offset=0,
    )
    assert feedback == stored
    assert len(task_feedback) == 2
    assert [f.feedback_type for f in performance_feedback] == [FeedbackType.WORKER_PERFORMANCE]
    assert filtered_feedback == [stored]


def test_updating_feedback(storage: FeedbackStorage) -> None:
    feedback = storage.create(make_feedback())

    # Update existing feedback
    feedback.content = "Updated feedback content"
    feedback.rating = 4
    feedback.updated_at = datetime.now()

    storage.update(feedback)
    assert storage.get(feedback.id) == feedback


def test_deleting_feedback(storage: FeedbackStorage) -> None:
    storage.create(make_feedback(id="feedback-id-123"))
    storage.create_many([make_feedback(), make_feedback()])

    # Delete by ID
    storage.delete("feedback-id-123")

    # Delete all feedback for a task
    for feedback in storage.get_by_task("task-123"):
        storage.delete(feedback.id)
    assert storage.count() == 0


def test_summary_statistics(storage: FeedbackStorage, capsys: pytest.CaptureFixture[str]) -> None:
    storage.create_many([make_feedback(rating=5), make_feedback(rating=3)])

    # Get summary statistics for a task
    summary = storage.get_summary("task-123")

    print(f"Total feedback: {summary.total_count}")
    print(f"Average rating: {summary.average_rating}")
    print(f"Rating distribution: {summary.rating_distribution}")
    print(f"Feedback by type: {summary.feedback_by_type}")
    printed = capsys.readouterr().out
    assert "Total feedback: 2" in printed and "Average rating: 4.0" in printed


def test_batch_operations(storage: FeedbackStorage) -> None:
    # Batch insert for performance
    feedback_entries = [make_feedback(), make_feedback(), make_feedback()]

    with storage.transaction():
        for entry in feedback_entries:
            storage.create(entry)
    assert storage.count() == 3


def test_custom_queries(storage: FeedbackStorage) -> None:
    storage.create_many(
        [make_feedback(feedback_type=FeedbackType.TASK_QUALITY, rating=5) for _ in range(2)]
        + [make_feedback("task-9", feedback_type=FeedbackType.TASK_QUALITY, rating=3)]
    )
    # Execute custom SQL queries
    results = storage.execute_query(
        """
        SELECT task_id, AVG(rating) as avg_rating, COUNT(*) as count
        FROM feedback
        WHERE feedback_type = ?
        GROUP BY task_id
        HAVING avg_rating > 4
        ORDER BY avg_rating DESC
        """,
        (FeedbackType.TASK_QUALITY.value,),
    )
    assert [(row["task_id"], row["avg_rating"], row["count"]) for row in results] == [
        ("task-123", 5.0, 2)
    ]


def test_export_and_backup(storage: FeedbackStorage) -> None:
    originals = storage.create_many([make_feedback(), make_feedback(rating=None, user_id=None)])

    # Export feedback to JSON
    all_feedback = storage.get_all()
    with open("feedback_backup.json", "w") as f:
        json.dump(
            [fb.to_dict() for fb in all_feedback],
            f,
            indent=2,
            default=str,
        )

    restored = FeedbackStorage(db_path="restored.db")
    storage = restored  # the seed's import half writes into "storage"
    # Import from JSON
    with open("feedback_backup.json") as f:
        feedback_data = json.load(f)

    for data in feedback_data:
        feedback = FeedbackEntry.from_dict(data)
        storage.create(feedback)
    assert sorted(restored.get_all(), key=lambda e: e.id) == sorted(originals, key=lambda e: e.id)
    restored.close()


def test_use_transactions_for_consistency(storage: FeedbackStorage) -> None:
    feedback1 = make_feedback()
    feedback2 = storage.create(make_feedback())
    feedback3 = storage.create(make_feedback())
    feedback2.rating = 1
    with storage.transaction():
        # Multiple operations in a single transaction
        storage.create(feedback1)
        storage.update(feedback2)
        storage.delete(feedback3.id)
        # All succeed or all fail
    assert {e.id for e in storage.get_all()} == {feedback1.id, feedback2.id}


def test_regular_cleanup(storage: FeedbackStorage) -> None:
    old = storage.create(make_feedback(created_at=datetime.now() - timedelta(days=120)))
    recent = storage.create(make_feedback())

    # Delete old feedback
    cutoff_date = datetime.now() - timedelta(days=90)
    old_feedback = storage.execute_query(
        "SELECT id FROM feedback WHERE created_at < ?",
        (cutoff_date,),
    )

    for row in old_feedback:
        storage.delete(row[0])
    assert storage.get(old.id) is None and storage.get(recent.id) == recent


def test_index_optimization(storage: FeedbackStorage) -> None:
    # Create additional indexes for common queries
    storage.execute_query("CREATE INDEX IF NOT EXISTS idx_user_rating ON feedback(user_id, rating)")
    names = [row[0] for row in storage.execute_query("SELECT name FROM sqlite_master")]
    assert "idx_user_rating" in names


def test_connection_management(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    # Use context manager for automatic cleanup
    with FeedbackStorage() as storage:
        feedback = storage.get_by_task("task-123")
        # Connection automatically closed
    assert feedback == []
    assert Path("feedback.db").exists()


def test_feedback_trends(storage: FeedbackStorage) -> None:
    storage.create_many([make_feedback(rating=4), make_feedback(rating=2)])
    storage.create(make_feedback(created_at=datetime.now() - timedelta(days=45)))
    # Analyze feedback trends over time
    query = """
        SELECT
            DATE(created_at) as date,
            AVG(rating) as avg_rating,
            COUNT(*) as count
        FROM feedback
        WHERE created_at > datetime('now', '-30 days')
        GROUP BY DATE(created_at)
        ORDER BY date
    """

    trends = storage.execute_query(query)
    assert sum(row["count"] for row in trends) == 2


def test_worker_performance_analysis(storage: FeedbackStorage) -> None:
    storage.create_many(
        [
            make_feedback(
                feedback_type=FeedbackType.WORKER_PERFORMANCE, rating=r, metadata={"worker_id": w}
            )
            for w, r in [("w1", 5), ("w1", 3), ("w2", 2)]
        ]
    )
    # Analyze worker performance
    query = """
        SELECT
            metadata->>'$.worker_id' as worker_id,
            AVG(rating) as avg_rating,
            COUNT(*) as task_count
        FROM feedback
        WHERE feedback_type = 'worker_performance'
        GROUP BY metadata->>'$.worker_id'
        ORDER BY avg_rating DESC
    """

    worker_stats = storage.execute_query(query)
    assert [tuple(row) for row in worker_stats] == [("w1", 4.0, 2), ("w2", 2.0, 1)]


def test_database_locked_handling_example_runs(storage: FeedbackStorage) -> None:
    import time

    feedback = make_feedback()
    try:
        storage.create(feedback)
    except sqlite3.OperationalError as e:
        if "database is locked" in str(e):
            # Retry with exponential backoff
            time.sleep(0.1)
            storage.create(feedback)
    assert storage.get(feedback.id) == feedback


def test_constraint_violations(storage: FeedbackStorage, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    logger = logging.getLogger("seed")
    feedback = make_feedback()
    try:
        feedback.rating = 6  # Invalid rating
        storage.create(feedback)
    except ValueError as e:
        logger.error(f"Invalid feedback data: {e}")
    assert "Invalid feedback data: rating" in caplog.text
    assert storage.count() == 0


def test_connection_issues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    # Use connection pooling for reliability
    storage = FeedbackStorage(
        db_path="feedback.db",
        pool_size=5,
        timeout=30.0,
    )
    assert storage.count() == 0
    storage.close()

"""The built-in plugin: each orchestrator event becomes one entry; subscribers hear commits."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator_feedback import (
    FeedbackEntry,
    FeedbackPlugin,
    FeedbackPluginManager,
    FeedbackRejected,
    FeedbackStorage,
    FeedbackType,
    hookimpl,
)

EVENTS: list[tuple[str, dict[str, Any], FeedbackType]] = [
    (
        "task_completed",
        {
            "task_id": "t1",
            "worker_id": "w1",
            "success": True,
            "execution_time": 2.5,
            "output_quality": "high",
            "metadata": {"queue": "fast"},
        },
        FeedbackType.TASK_COMPLETION,
    ),
    (
        "worker_allocated",
        {
            "task_id": "t1",
            "worker_id": "w1",
            "allocation_score": 0.8,
            "allocation_reason": "least loaded",
            "metadata": {},
        },
        FeedbackType.ALLOCATION_FEEDBACK,
    ),
    (
        "task_failed",
        {
            "task_id": "t1",
            "worker_id": "w1",
            "error_type": "ValueError",
            "error_message": "bad input",
            "stack_trace": "Traceback ...",
            "metadata": {},
        },
        FeedbackType.ERROR_REPORT,
    ),
    (
        "worker_performance_measured",
        {
            "task_id": "t1",
            "worker_id": "w1",
            "performance_metrics": {"speed": 0.9, "accuracy": 0.95},
            "metadata": {},
        },
        FeedbackType.WORKER_PERFORMANCE,
    ),
    (
        "task_decomposed",
        {
            "task_id": "t1",
            "subtask_ids": ["t1.a", "t1.b"],
            "effectiveness": 0.75,
            "metadata": {"worker_id": "manager"},
        },
        FeedbackType.DECOMPOSITION_EFFECTIVENESS,
    ),
    (
        "task_reviewed",
        {
            "task_id": "t1",
            "reviewer_id": "manager",
            "rating": 2,
            "comment": "sloppy",
            "metadata": {"worker_id": "w1"},
        },
        FeedbackType.MANAGER_REVIEW,
    ),
]


@pytest.mark.parametrize(("hook", "arguments", "feedback_type"), EVENTS)
def test_each_event_stores_one_entry_of_its_type(
    feedback_plugin_manager: FeedbackPluginManager,
    feedback_storage: FeedbackStorage,
    hook: str,
    arguments: dict[str, Any],
    feedback_type: FeedbackType,
) -> None:
    results = getattr(feedback_plugin_manager.hook, hook)(**arguments)
    stored = feedback_storage.get_all()
    assert len(stored) == 1 and results == stored
    entry = stored[0]
    assert entry.feedback_type is feedback_type and entry.task_id == "t1"
    assert entry.content  # something a person can read
    details = {k: v for k, v in arguments.items() if k not in {"task_id", "metadata"}}
    assert entry.metadata == arguments["metadata"] | details  # every detail of the event
    assert "worker_id" in entry.metadata


def test_review_keeps_its_rating_and_quality_words_become_ratings(
    feedback_plugin_manager: FeedbackPluginManager, feedback_storage: FeedbackStorage
) -> None:
    hook = feedback_plugin_manager.hook
    hook.task_reviewed(task_id="t", reviewer_id="r", rating=3, comment="ok", metadata={})
    hook.task_completed(
        task_id="t",
        worker_id="w",
        success=True,
        execution_time=None,
        output_quality="excellent",
        metadata={},
    )
    ratings = {e.feedback_type: e.rating for e in feedback_storage.get_all()}
    assert ratings == {FeedbackType.MANAGER_REVIEW: 3, FeedbackType.TASK_COMPLETION: 5}


def test_the_seeds_worker_query_works_on_what_the_plugin_stored(
    feedback_plugin_manager: FeedbackPluginManager, feedback_storage: FeedbackStorage
) -> None:
    hook = feedback_plugin_manager.hook
    for worker, speed in [("w1", 1.0), ("w1", 0.5), ("w2", 0.0)]:
        hook.worker_performance_measured(
            task_id="t", worker_id=worker, performance_metrics={"speed": speed}, metadata={}
        )
    rows = feedback_storage.execute_query(
        """SELECT metadata->>'$.worker_id' as worker_id, AVG(rating) as avg_rating,
                  COUNT(*) as task_count
           FROM feedback WHERE feedback_type = 'worker_performance'
           GROUP BY metadata->>'$.worker_id' ORDER BY avg_rating DESC"""
    )
    assert [tuple(row) for row in rows] == [("w1", 4.0, 2), ("w2", 1.0, 1)]


def test_the_plugin_is_registered_as_feedback_with_its_storage(
    feedback_plugin_manager: FeedbackPluginManager, feedback_storage: FeedbackStorage
) -> None:
    plugin = feedback_plugin_manager.get_plugin("feedback")
    assert isinstance(plugin, FeedbackPlugin) and plugin.storage is feedback_storage


def test_subscribers_hear_recorded_updated_deleted_after_commit(
    feedback_plugin_manager: FeedbackPluginManager,
    feedback_storage: FeedbackStorage,
    recorded_feedback: list[FeedbackEntry],
) -> None:
    heard: list[tuple[str, str]] = []

    class Subscriber:
        @hookimpl
        def feedback_updated(self, entry: FeedbackEntry) -> None:
            heard.append(("updated", entry.id))

        @hookimpl
        def feedback_deleted(self, entry: FeedbackEntry) -> None:
            heard.append(("deleted", entry.id))

    feedback_plugin_manager.register(Subscriber())
    [entry] = feedback_plugin_manager.hook.task_reviewed(
        task_id="t", reviewer_id="r", rating=4, comment=None, metadata={}
    )
    assert recorded_feedback == [entry]
    entry.rating = 5
    feedback_storage.update(entry)
    with pytest.raises(RuntimeError), feedback_storage.transaction():
        feedback_storage.delete(entry.id)
        raise RuntimeError("rolled back: nobody hears of it")
    feedback_storage.delete(entry.id)
    assert heard == [("updated", entry.id), ("deleted", entry.id)]


def test_prepare_can_add_metadata_or_reject(
    feedback_plugin_manager: FeedbackPluginManager,
    feedback_storage: FeedbackStorage,
    recorded_feedback: list[FeedbackEntry],
) -> None:
    class Enricher:
        @hookimpl
        def feedback_prepare(self, entry: FeedbackEntry) -> None:
            if entry.task_id == "secret":
                raise FeedbackRejected("secret tasks are not recorded")
            entry.metadata["region"] = "eu"

    feedback_plugin_manager.register(Enricher())
    hook = feedback_plugin_manager.hook
    hook.task_reviewed(task_id="secret", reviewer_id="r", rating=1, comment=None, metadata={})
    hook.task_reviewed(task_id="open", reviewer_id="r", rating=1, comment=None, metadata={})
    assert [e.task_id for e in feedback_storage.get_all()] == ["open"]
    assert feedback_storage.get_all()[0].metadata["region"] == "eu"
    assert len(recorded_feedback) == 1
    assert feedback_plugin_manager.counters.rejected == 1
    assert feedback_plugin_manager.counters.recorded == 1


def test_task_existence_is_asked_of_the_host(
    feedback_plugin_manager: FeedbackPluginManager,
    feedback_storage: FeedbackStorage,
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Host:
        @hookimpl
        def feedback_task_exists(self, task_id: str) -> bool | None:
            return task_id.startswith("known") or None if task_id != "ghost" else False

    feedback_plugin_manager.register(Host())
    hook = feedback_plugin_manager.hook
    for task in ("known-1", "ghost", "unsure"):
        hook.task_reviewed(task_id=task, reviewer_id="r", rating=3, comment=None, metadata={})
    assert sorted(e.task_id for e in feedback_storage.get_all()) == ["known-1", "unsure"]
    assert "'ghost'" in caplog.text and "no such task" in caplog.text


def test_a_bad_event_is_rejected_not_raised(
    feedback_plugin_manager: FeedbackPluginManager,
    feedback_storage: FeedbackStorage,
    caplog: pytest.LogCaptureFixture,
) -> None:
    result = feedback_plugin_manager.hook.task_reviewed(
        task_id="t", reviewer_id="r", rating=9, comment=None, metadata={}
    )
    assert result == [] and feedback_storage.count() == 0
    assert "rating" in caplog.text
    assert feedback_plugin_manager.counters.rejected == 1


@pytest.mark.parametrize("metadata", [42, "queue=default", [("queue", "default")]])
def test_event_metadata_that_is_not_a_mapping_is_rejected_by_name(
    feedback_plugin_manager: FeedbackPluginManager,
    feedback_storage: FeedbackStorage,
    caplog: pytest.LogCaptureFixture,
    metadata: object,
) -> None:
    result = feedback_plugin_manager.hook.task_completed(
        task_id="t",
        worker_id="w",
        success=True,
        execution_time=None,
        output_quality=None,
        metadata=metadata,
    )
    assert result == [] and feedback_storage.count() == 0
    assert "metadata" in caplog.text and "must be a mapping" in caplog.text
    assert feedback_plugin_manager.counters.rejected == 1
    assert feedback_plugin_manager.counters.subscriber_failures == 0


def test_a_storage_failure_does_not_reach_the_host(
    feedback_plugin_manager: FeedbackPluginManager,
    feedback_storage: FeedbackStorage,
    caplog: pytest.LogCaptureFixture,
) -> None:
    feedback_storage.execute_query(
        "CREATE TRIGGER refuse BEFORE INSERT ON feedback "
        "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
    )
    result = feedback_plugin_manager.hook.task_reviewed(
        task_id="t", reviewer_id="r", rating=3, comment=None, metadata={}
    )
    assert "disk on fire" in caplog.text
    # The store's refusal, not a plugin's failure: counted as not stored, no entry returned.
    assert result == []
    assert feedback_plugin_manager.counters.not_stored == 1
    assert feedback_plugin_manager.counters.subscriber_failures == 0
    assert feedback_storage.count() == 0

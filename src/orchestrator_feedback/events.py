"""The one table of orchestrator events: ``ORCHESTRATOR_EVENTS``, each event's hook, the
collection point that reports it, and the builder of the ``FeedbackEntry`` that records it.

The hookspec (``hookspecs.py``) declares an event's arguments, their types and their
meaning for plugin authors; its builder here takes exactly those arguments, by name. The
built-in plugin and the collector record every event through ``FeedbackPlugin.record_event``
with this table, and ``tests/test_events_table.py`` holds the hookspecs, the plugin's
implementations, the collector's coroutines and the adapters to it. Adding an argument to
an event: the hookspec, the builder, the plugin's implementation (the test says if one is
missed), and their tests.

Every detail of the event goes into metadata, the worker always under ``worker_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from orchestrator_feedback.errors import FeedbackValidationError
from orchestrator_feedback.models import FeedbackEntry, FeedbackType, new_entry

__all__ = [
    "ORCHESTRATOR_EVENTS",
    "QUALITY_RATINGS",
    "OrchestratorEvent",
    "task_completed_entry",
    "task_decomposed_entry",
    "task_failed_entry",
    "task_reviewed_entry",
    "worker_allocated_entry",
    "worker_performance_entry",
]

QUALITY_RATINGS = {
    "excellent": 5,
    "high": 4,
    "good": 4,
    "medium": 3,
    "average": 3,
    "low": 2,
    "poor": 1,
}
"""How an ``output_quality`` word becomes a rating; other words leave the rating empty."""

_SUMMARY_LIMIT = 500


def _details(metadata: Mapping[str, Any] | None, event: dict[str, Any]) -> dict[str, Any]:
    """The host's metadata with the event's own details on top (they win on a clash)."""
    if not metadata:
        return event
    try:
        return {**metadata, **event}
    except TypeError:
        raise FeedbackValidationError(
            "metadata", metadata, "must be a mapping (a JSON object)"
        ) from None


def _score_to_rating(score: float | None) -> int | None:
    """Map a 0..1 score onto the 1..5 scale; None outside it."""
    if score is None or isinstance(score, bool) or not 0.0 <= score <= 1.0:
        return None
    return 1 + round(score * 4)


def _short(text: str) -> str:
    return text if len(text) <= _SUMMARY_LIMIT else text[: _SUMMARY_LIMIT - 1] + "…"


def task_completed_entry(
    task_id: str,
    worker_id: str | None,
    success: bool,
    execution_time: float | None,
    output_quality: str | None,
    metadata: Mapping[str, Any] | None,
) -> FeedbackEntry:
    """A ``TASK_COMPLETION`` entry, rated from ``output_quality`` when it is a known word."""
    outcome = "completed successfully" if success else "completed without success"
    content = f"Task {task_id} {outcome}"
    if worker_id:
        content += f" by {worker_id}"
    if execution_time is not None:
        content += f" in {execution_time:.2f}s"
    if output_quality:
        content += f" (quality: {output_quality})"
    rating = QUALITY_RATINGS.get(output_quality.lower()) if output_quality else None
    return new_entry(
        task_id=task_id,
        feedback_type=FeedbackType.TASK_COMPLETION,
        content=content,
        rating=rating,
        metadata=_details(
            metadata,
            {
                "worker_id": worker_id,
                "success": success,
                "execution_time": execution_time,
                "output_quality": output_quality,
            },
        ),
    )


def worker_allocated_entry(
    task_id: str,
    worker_id: str,
    allocation_score: float | None,
    allocation_reason: str | None,
    metadata: Mapping[str, Any] | None,
) -> FeedbackEntry:
    """An ``ALLOCATION_FEEDBACK`` entry."""
    content = f"Task {task_id} allocated to {worker_id}"
    if allocation_score is not None:
        content += f" (score {allocation_score:g})"
    if allocation_reason:
        content += f": {_short(allocation_reason)}"
    return new_entry(
        task_id=task_id,
        feedback_type=FeedbackType.ALLOCATION_FEEDBACK,
        content=content,
        metadata=_details(
            metadata,
            {
                "worker_id": worker_id,
                "allocation_score": allocation_score,
                "allocation_reason": allocation_reason,
            },
        ),
    )


def task_failed_entry(
    task_id: str,
    worker_id: str | None,
    error_type: str,
    error_message: str,
    stack_trace: str | None,
    metadata: Mapping[str, Any] | None,
) -> FeedbackEntry:
    """An ``ERROR_REPORT`` entry; the full message and traceback go into metadata."""
    content = f"Task {task_id} failed"
    if worker_id:
        content += f" on {worker_id}"
    content += f": {error_type}: {_short(error_message)}"
    return new_entry(
        task_id=task_id,
        feedback_type=FeedbackType.ERROR_REPORT,
        content=content,
        metadata=_details(
            metadata,
            {
                "worker_id": worker_id,
                "error_type": error_type,
                "error_message": error_message,
                "stack_trace": stack_trace,
            },
        ),
    )


def worker_performance_entry(
    task_id: str,
    worker_id: str,
    performance_metrics: Mapping[str, float],
    metadata: Mapping[str, Any] | None,
) -> FeedbackEntry:
    """A ``WORKER_PERFORMANCE`` entry, rated from the metrics' mean when all are in 0..1."""
    metrics = dict(performance_metrics)
    scores = [value for value in metrics.values() if isinstance(value, int | float)]
    mean = sum(scores) / len(scores) if scores and len(scores) == len(metrics) else None
    listed = ", ".join(f"{name} {value}" for name, value in metrics.items())
    return new_entry(
        task_id=task_id,
        feedback_type=FeedbackType.WORKER_PERFORMANCE,
        content=f"Worker {worker_id} on task {task_id}: {_short(listed) or 'no metrics'}",
        rating=_score_to_rating(mean),
        metadata=_details(metadata, {"worker_id": worker_id, "performance_metrics": metrics}),
    )


def task_decomposed_entry(
    task_id: str,
    subtask_ids: Sequence[str],
    effectiveness: float | None,
    metadata: Mapping[str, Any] | None,
) -> FeedbackEntry:
    """A ``DECOMPOSITION_EFFECTIVENESS`` entry, rated from a 0..1 ``effectiveness``."""
    subtasks = list(subtask_ids)
    content = f"Task {task_id} decomposed into {len(subtasks)} subtasks"
    if effectiveness is not None:
        content += f" (effectiveness {effectiveness:g})"
    return new_entry(
        task_id=task_id,
        feedback_type=FeedbackType.DECOMPOSITION_EFFECTIVENESS,
        content=content,
        rating=_score_to_rating(effectiveness),
        metadata=_details(metadata, {"subtask_ids": subtasks, "effectiveness": effectiveness}),
    )


def task_reviewed_entry(
    task_id: str,
    reviewer_id: str,
    rating: int | None,
    comment: str | None,
    metadata: Mapping[str, Any] | None,
) -> FeedbackEntry:
    """A ``MANAGER_REVIEW`` entry carrying the reviewer's rating and comment."""
    content = comment if comment else f"Task {task_id} reviewed by {reviewer_id}"
    details = _details(metadata, {"reviewer_id": reviewer_id, "rating": rating, "comment": comment})
    return new_entry(
        task_id=task_id,
        feedback_type=FeedbackType.MANAGER_REVIEW,
        content=content,
        rating=rating,
        user_id=reviewer_id,
        metadata=details,
    )


@attrs.frozen
class OrchestratorEvent:
    """One orchestrator event, as every part of the library knows it."""

    hook: str
    """The hook the host fires (``task_completed``)."""
    collection_point: str | None
    """The collector's name for it (``[collection_points.NAME]`` in the configuration);
    None for an event the collector has no coroutine for."""
    feedback_type: FeedbackType
    """The type of the entry that records it."""
    build: Callable[..., FeedbackEntry]
    """Builds that entry from the event's arguments, given by name."""


ORCHESTRATOR_EVENTS: Mapping[str, OrchestratorEvent] = {
    event.hook: event
    for event in (
        OrchestratorEvent(
            "task_completed", "task_completion", FeedbackType.TASK_COMPLETION, task_completed_entry
        ),
        OrchestratorEvent(
            "worker_allocated",
            "allocation",
            FeedbackType.ALLOCATION_FEEDBACK,
            worker_allocated_entry,
        ),
        OrchestratorEvent("task_failed", "error", FeedbackType.ERROR_REPORT, task_failed_entry),
        OrchestratorEvent(
            "worker_performance_measured",
            "worker_performance",
            FeedbackType.WORKER_PERFORMANCE,
            worker_performance_entry,
        ),
        OrchestratorEvent(
            "task_decomposed",
            None,
            FeedbackType.DECOMPOSITION_EFFECTIVENESS,
            task_decomposed_entry,
        ),
        OrchestratorEvent("task_reviewed", None, FeedbackType.MANAGER_REVIEW, task_reviewed_entry),
    )
}
"""Every orchestrator event, by hook name."""

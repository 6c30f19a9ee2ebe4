"""``FeedbackPlugin``: the built-in plugin that turns orchestrator events into stored feedback."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from orchestrator_feedback import event_entries
from orchestrator_feedback.errors import FeedbackError, FeedbackRejected, FeedbackValidationError
from orchestrator_feedback.event_checks import check_event_arguments
from orchestrator_feedback.markers import hookimpl
from orchestrator_feedback.models import FeedbackEntry
from orchestrator_feedback.storage import FeedbackChange, FeedbackStorage

if TYPE_CHECKING:
    from orchestrator_feedback.manager import FeedbackPluginManager

__all__ = ["BUILTIN_PLUGIN_NAME", "FeedbackPlugin"]

logger = logging.getLogger("orchestrator_feedback.plugin")

BUILTIN_PLUGIN_NAME = "feedback"
_HOOK_FOR_CHANGE = {
    FeedbackChange.RECORDED: "feedback_recorded",
    FeedbackChange.UPDATED: "feedback_updated",
    FeedbackChange.DELETED: "feedback_deleted",
}
_CHECK_HOOKS = frozenset({"feedback_task_exists", "feedback_prepare"})


class FeedbackPlugin:
    """Stores one entry per orchestrator event, and tells subscribers once it is committed.

    Registered by ``get_plugin_manager`` under the name ``"feedback"``; its store is
    ``.storage``. Each event hook returns the stored entry (None if it was rejected).
    """

    def __init__(
        self,
        storage: FeedbackStorage,
        plugin_manager: FeedbackPluginManager,
        *,
        write_mode: str = "sync",
    ) -> None:
        if write_mode not in ("sync", "background"):
            raise FeedbackValidationError("write_mode", write_mode, "must be sync or background")
        self.storage = storage
        self.write_mode = write_mode
        """``"sync"`` or ``"background"`` (see ``FeedbackConfig.write_mode``)."""
        self._background = write_mode == "background"
        self._manager = plugin_manager
        self._hook = plugin_manager.hook
        self._submit = storage.submit
        plugin_manager.counters.queue_depth_source = lambda: storage.queue_depth
        storage.add_listener(self._tell_subscribers, batched=True)

    # -- the path every entry takes -----------------------------------------------------

    def check(self, entry: FeedbackEntry) -> None:
        """Ask the host whether the task exists, then let ``feedback_prepare`` shape it.

        Raises ``FeedbackValidationError`` for a task the host says does not exist, and
        ``FeedbackRejected`` when a plugin drops the entry.
        """
        implemented = self._manager.has_implementations
        if (
            implemented("feedback_task_exists")
            and self._hook.feedback_task_exists(task_id=entry.task_id) is False
        ):
            raise FeedbackValidationError(
                "task_id", entry.task_id, "the host says no such task exists"
            )
        if implemented("feedback_prepare"):
            self._hook.feedback_prepare(entry=entry)

    def store(self, entry: FeedbackEntry) -> FeedbackEntry:
        """Store a checked entry (or, in background mode, queue it); subscribers hear of
        it after the commit."""
        if not self._background:
            self.storage.create(entry)
        elif self._submit(entry) is None:
            self._manager.counters.add("dropped")
        return entry

    def store_and_wait(self, entry: FeedbackEntry) -> FeedbackEntry:
        """Store a checked entry and return once it is committed, in either mode."""
        if not self._background:
            return self.store(entry)
        ticket = self.storage.submit(entry)
        if ticket is None:
            self._manager.counters.add("dropped")
            raise FeedbackError("the background queue is full and on_full is drop")
        self.storage.wait_committed(ticket)
        return entry

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every entry queued so far is committed (see ``FeedbackStorage.flush``)."""
        return self.storage.flush(timeout)

    def record(self, entry: FeedbackEntry) -> FeedbackEntry | None:
        """Check and store ``entry``; None (logged and counted) when it was rejected."""
        # The hot path of every event: checks only when some plugin asks for them.
        if self._manager.has_any_implementation(_CHECK_HOOKS):
            try:
                self.check(entry)
            except (FeedbackRejected, FeedbackValidationError) as rejection:
                self._reject(entry.task_id, rejection)
                return None
        return self.store(entry)

    def _record_event(
        self, build: Callable[..., FeedbackEntry], *event: Any
    ) -> FeedbackEntry | None:
        """Build the event's entry and record it; a bad event is a rejection, not a crash."""
        try:
            entry = build(*event)
        except FeedbackValidationError as rejection:
            self._reject(event[0], rejection)
            return None
        except (TypeError, ValueError, AttributeError) as error:
            # A host passed an argument of the wrong type: say which, as a rejection.
            hook_name = build.__name__.removesuffix("_entry")
            try:
                check_event_arguments(hook_name, event)
            except FeedbackValidationError as rejection:
                self._reject(event[0], rejection)
                return None
            raise error from None
        return self.record(entry)

    def _reject(self, task_id: object, reason: Exception) -> None:
        self._manager.counters.add("rejected")
        logger.warning("feedback for task %r rejected: %s", task_id, reason)

    def _tell_subscribers(self, changes: Sequence[tuple[FeedbackChange, FeedbackEntry]]) -> None:
        """Count what a commit recorded, then fire each change's hook, in commit order."""
        recorded = sum(1 for change, _entry in changes if change is FeedbackChange.RECORDED)
        if recorded:
            self._manager.counters.add("recorded", recorded)
        implemented = self._manager.has_implementations
        if not any(implemented(hook_name) for hook_name in _HOOK_FOR_CHANGE.values()):
            return
        for change, entry in changes:
            hook_name = _HOOK_FOR_CHANGE[change]
            if implemented(hook_name):
                try:
                    getattr(self._hook, hook_name)(entry=entry)
                except Exception:  # a strict manager re-raises; the other entries still go
                    logger.exception("%s failed for feedback %s", hook_name, entry.id)

    # -- orchestrator events ------------------------------------------------------------

    @hookimpl
    def task_completed(
        self,
        task_id: str,
        worker_id: str | None,
        success: bool,
        execution_time: float | None,
        output_quality: str | None,
        metadata: Mapping[str, Any],
    ) -> FeedbackEntry | None:
        """Store a ``TASK_COMPLETION`` entry."""
        return self._record_event(
            event_entries.task_completed_entry,
            task_id,
            worker_id,
            success,
            execution_time,
            output_quality,
            metadata,
        )

    @hookimpl
    def worker_allocated(
        self,
        task_id: str,
        worker_id: str,
        allocation_score: float | None,
        allocation_reason: str | None,
        metadata: Mapping[str, Any],
    ) -> FeedbackEntry | None:
        """Store an ``ALLOCATION_FEEDBACK`` entry."""
        return self._record_event(
            event_entries.worker_allocated_entry,
            task_id,
            worker_id,
            allocation_score,
            allocation_reason,
            metadata,
        )

    @hookimpl
    def task_failed(
        self,
        task_id: str,
        worker_id: str | None,
        error_type: str,
        error_message: str,
        stack_trace: str | None,
        metadata: Mapping[str, Any],
    ) -> FeedbackEntry | None:
        """Store an ``ERROR_REPORT`` entry."""
        return self._record_event(
            event_entries.task_failed_entry,
            task_id,
            worker_id,
            error_type,
            error_message,
            stack_trace,
            metadata,
        )

    @hookimpl
    def worker_performance_measured(
        self,
        task_id: str,
        worker_id: str,
        performance_metrics: Mapping[str, float],
        metadata: Mapping[str, Any],
    ) -> FeedbackEntry | None:
        """Store a ``WORKER_PERFORMANCE`` entry."""
        return self._record_event(
            event_entries.worker_performance_entry,
            task_id,
            worker_id,
            performance_metrics,
            metadata,
        )

    @hookimpl
    def task_decomposed(
        self,
        task_id: str,
        subtask_ids: Sequence[str],
        effectiveness: float | None,
        metadata: Mapping[str, Any],
    ) -> FeedbackEntry | None:
        """Store a ``DECOMPOSITION_EFFECTIVENESS`` entry."""
        return self._record_event(
            event_entries.task_decomposed_entry, task_id, subtask_ids, effectiveness, metadata
        )

    @hookimpl
    def task_reviewed(
        self,
        task_id: str,
        reviewer_id: str,
        rating: int | None,
        comment: str | None,
        metadata: Mapping[str, Any],
    ) -> FeedbackEntry | None:
        """Store a ``MANAGER_REVIEW`` entry with the review's rating."""
        return self._record_event(
            event_entries.task_reviewed_entry, task_id, reviewer_id, rating, comment, metadata
        )

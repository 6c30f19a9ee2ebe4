"""``FeedbackPlugin``: the built-in plugin that turns orchestrator events into stored feedback."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from orchestrator_feedback.errors import (
    FeedbackError,
    FeedbackNotStoredError,
    FeedbackRejected,
    FeedbackValidationError,
)
from orchestrator_feedback.event_checks import check_event_arguments
from orchestrator_feedback.events import ORCHESTRATOR_EVENTS
from orchestrator_feedback.markers import hookimpl
from orchestrator_feedback.models import FeedbackEntry, FeedbackType
from orchestrator_feedback.storage import FeedbackChange, FeedbackStorage
from orchestrator_feedback.summaries import Alert

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
        # What the store raises when it cannot commit (a full disk, a lock, a lost server):
        # not this plugin's failure but the store's answer, told to the host.
        self._refusals: tuple[type[BaseException], ...] = (
            FeedbackError,
            *storage.backend.database_errors,
        )
        self.max_content_length = plugin_manager.config.max_content_length
        """The longest content this plugin records (the configuration's; a setting of
        this manager, not of ``FeedbackEntry``)."""
        plugin_manager.counters.queue_depth_source = lambda: storage.queue_depth
        storage.add_listener(self._tell_subscribers, batched=True)
        storage.add_alert_listener(self._tell_alert)
        self._deprioritise = plugin_manager.config.alerts.deprioritise
        self._advice = plugin_manager.config.advice
        self._half_life = self._advice.half_life_delta
        self.advice_rng: random.Random | None = None
        """The random source of ``allocation_advice``'s Thompson draws (None: Python's
        shared one); a seeded ``random.Random`` makes the advice repeatable."""

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

    def store(self, entry: FeedbackEntry) -> FeedbackEntry | None:
        """Store a checked entry (or, in background mode, queue it); subscribers hear of
        it after the commit. In sync mode, None when the store refused it (logged and
        counted in ``not_stored``; raised as ``FeedbackNotStoredError`` with
        ``on_not_stored = "raise"``)."""
        if not self._background:
            try:
                self.storage.create(entry)
            except self._refusals as refusal:
                self._not_stored(entry, refusal)
                return None
        elif self._submit(entry) is None:
            self._manager.counters.add("dropped")
        return entry

    def _not_stored(self, entry: FeedbackEntry, refusal: BaseException) -> None:
        self._manager.counters.add("not_stored")
        logger.warning(
            "the entry for task %r was not stored: %s", entry.task_id, refusal, exc_info=False
        )
        if self._manager.config.on_not_stored == "raise":
            raise FeedbackNotStoredError(
                f"the entry for task {entry.task_id!r} was not stored: {refusal}"
            ) from refusal

    def store_and_wait(self, entry: FeedbackEntry) -> FeedbackEntry:
        """Store a checked entry and return once it is committed, in either mode."""
        if not self._background:
            self.storage.create(entry)  # a refusal reaches the caller (the collector)
            return entry
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

    def record_event(
        self,
        hook_name: str,
        event: Mapping[str, Any],
        *,
        wait: bool = False,
        feedback_type: FeedbackType | None = None,
    ) -> FeedbackEntry | None:
        """Record one orchestrator event, its arguments given by name: build its entry
        (``events.ORCHESTRATOR_EVENTS``), check it, store it.

        A bad event is a rejection (logged, counted in ``rejected``), never a crash: the
        hooks return None for it. ``wait=True`` (the collector) stores and waits for the
        commit in either write mode, and raises ``FeedbackValidationError`` for a bad event
        after counting it. ``feedback_type`` overrides the event's type (a collection
        point's setting).
        """
        try:
            entry = self._entry_of(hook_name, event)
            if feedback_type is not None:
                entry.feedback_type = feedback_type
            if wait:
                self.check(entry)
        except FeedbackValidationError as rejection:
            self._reject(event.get("task_id"), rejection)
            if wait:
                raise
            return None
        except FeedbackRejected as rejection:
            self._reject(event.get("task_id"), rejection)
            return None
        return self.store_and_wait(entry) if wait else self.record(entry)

    def _entry_of(self, hook_name: str, event: Mapping[str, Any]) -> FeedbackEntry:
        """The event's entry; ``FeedbackValidationError`` naming the bad argument."""
        try:
            entry = ORCHESTRATOR_EVENTS[hook_name].build(**event)
        except (TypeError, ValueError, AttributeError) as error:
            if isinstance(error, FeedbackValidationError):
                raise
            # A host passed an argument of the wrong type: say which, as a rejection.
            check_event_arguments(hook_name, event)
            raise error from None
        if len(entry.content) > self.max_content_length:
            raise FeedbackValidationError(
                "content",
                entry.content,
                f"must be at most {self.max_content_length} characters "
                "(max_content_length in the configuration)",
            )
        return entry

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

    def _tell_alert(self, alert: Alert) -> None:
        """Fire ``feedback_alert`` for an alert the store raised or cleared."""
        if self._manager.has_implementations("feedback_alert"):
            try:
                self._hook.feedback_alert(alert=alert)
            except Exception:  # a strict manager re-raises; the store's thread goes on
                logger.exception("feedback_alert failed for alert %s", alert.id)

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
        return self.record_event(
            "task_completed",
            {
                "task_id": task_id,
                "worker_id": worker_id,
                "success": success,
                "execution_time": execution_time,
                "output_quality": output_quality,
                "metadata": metadata,
            },
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
        return self.record_event(
            "worker_allocated",
            {
                "task_id": task_id,
                "worker_id": worker_id,
                "allocation_score": allocation_score,
                "allocation_reason": allocation_reason,
                "metadata": metadata,
            },
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
        return self.record_event(
            "task_failed",
            {
                "task_id": task_id,
                "worker_id": worker_id,
                "error_type": error_type,
                "error_message": error_message,
                "stack_trace": stack_trace,
                "metadata": metadata,
            },
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
        return self.record_event(
            "worker_performance_measured",
            {
                "task_id": task_id,
                "worker_id": worker_id,
                "performance_metrics": performance_metrics,
                "metadata": metadata,
            },
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
        return self.record_event(
            "task_decomposed",
            {
                "task_id": task_id,
                "subtask_ids": subtask_ids,
                "effectiveness": effectiveness,
                "metadata": metadata,
            },
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
        return self.record_event(
            "task_reviewed",
            {
                "task_id": task_id,
                "reviewer_id": reviewer_id,
                "rating": rating,
                "comment": comment,
                "metadata": metadata,
            },
        )

    # -- advice ---------------------------------------------------------------------------

    @hookimpl(trylast=True)
    def allocation_advice(
        self,
        task_id: str,
        task_type: str | None,
        candidates: Sequence[str],
        metadata: Mapping[str, Any],
    ) -> list[str] | None:
        """Rank the candidates with ``FeedbackStorage.recommend`` and ``[advice]``
        (``metadata["objective"]`` overrides its objective, ``metadata["load"]`` is
        ``recommend``'s ``load``); None (no advice) when the store cannot answer or the
        metadata is wrong, which is logged."""
        given = metadata if isinstance(metadata, Mapping) else {}
        try:
            ranked = self.storage.recommend(
                candidates,
                task_type=task_type,
                policy=self._advice.policy,
                half_life=self._half_life,
                confidence=self._advice.confidence,
                rng=self.advice_rng,
                objective=given.get("objective", self._advice.objective),
                load=given.get("load"),
            )
            if self._deprioritise:
                alerted = self.storage.alerted_workers(task_type)
                ranked = sorted(ranked, key=lambda worker: worker in alerted)
            return ranked
        except FeedbackError as error:
            logger.warning("no allocation advice for task %r: %s", task_id, error)
            return None

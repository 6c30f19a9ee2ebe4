"""``FeedbackCollector``: the async, orchestrator-facing API of the seed.

Each ``collect_*`` coroutine builds the event's entry, lets plugins check it, stores it
through the built-in plugin, fires the matching orchestrator hook for every other
plugin, and returns the stored entry. Storage work runs in a worker thread, so the
event loop never waits on the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from orchestrator_feedback.config import FeedbackConfig
from orchestrator_feedback.errors import FeedbackRejected, FeedbackValidationError
from orchestrator_feedback.events import ORCHESTRATOR_EVENTS
from orchestrator_feedback.host import get_plugin_manager
from orchestrator_feedback.manager import FeedbackPluginManager
from orchestrator_feedback.models import FeedbackEntry, FeedbackType
from orchestrator_feedback.storage import FeedbackStorage

__all__ = ["FeedbackCollector"]

logger = logging.getLogger("orchestrator_feedback.collector")


class FeedbackCollector:
    """Collects feedback at the orchestrator's collection points.

    ``storage``: where to store (default: the configured database). ``config``: a
    ``FeedbackConfig`` (default: ``load_config()``). ``plugin_manager``: an existing
    manager to share with the host (default: ``get_plugin_manager(config, storage=...)``).

    Each point (``task_completion``, ``worker_performance``, ``allocation``, ``error``,
    ``general``, or any name given to ``request_feedback``) can be switched off with
    ``[collection_points.NAME] enabled = false``; a disabled point stores nothing and
    its coroutine returns None, as it does when a plugin rejects the entry.
    """

    def __init__(
        self,
        storage: FeedbackStorage | None = None,
        *,
        config: FeedbackConfig | None = None,
        plugin_manager: FeedbackPluginManager | None = None,
    ) -> None:
        if plugin_manager is None:
            plugin_manager = get_plugin_manager(config, storage=storage)
        self.plugin_manager = plugin_manager
        self.config = config if config is not None else plugin_manager.config
        plugin = plugin_manager.feedback_plugin
        self._plugin = plugin
        self.storage = storage if storage is not None else (plugin.storage if plugin else None)

    # -- the seed's coroutines ----------------------------------------------------------

    async def collect_task_completion_feedback(
        self,
        task_id: str,
        worker_id: str | None = None,
        success: bool = True,
        execution_time: float | None = None,
        output_quality: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> FeedbackEntry | None:
        """Record that a task completed; fires ``task_completed``."""
        return await self._collect(
            "task_completed",
            task_id=task_id,
            worker_id=worker_id,
            success=success,
            execution_time=execution_time,
            output_quality=output_quality,
            metadata=dict(metadata or {}),
        )

    async def collect_worker_performance_feedback(
        self,
        worker_id: str,
        task_id: str,
        performance_metrics: Mapping[str, float],
        metadata: Mapping[str, Any] | None = None,
    ) -> FeedbackEntry | None:
        """Record a worker's measured performance; fires ``worker_performance_measured``."""
        return await self._collect(
            "worker_performance_measured",
            task_id=task_id,
            worker_id=worker_id,
            performance_metrics=dict(performance_metrics),
            metadata=dict(metadata or {}),
        )

    async def collect_allocation_feedback(
        self,
        task_id: str,
        worker_id: str,
        allocation_score: float | None = None,
        allocation_reason: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> FeedbackEntry | None:
        """Record a worker allocation; fires ``worker_allocated``."""
        return await self._collect(
            "worker_allocated",
            task_id=task_id,
            worker_id=worker_id,
            allocation_score=allocation_score,
            allocation_reason=allocation_reason,
            metadata=dict(metadata or {}),
        )

    async def collect_error_feedback(
        self,
        task_id: str,
        error_type: str,
        error_message: str,
        stack_trace: str | None = None,
        worker_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> FeedbackEntry | None:
        """Record a task failure; fires ``task_failed``."""
        return await self._collect(
            "task_failed",
            task_id=task_id,
            worker_id=worker_id,
            error_type=error_type,
            error_message=error_message,
            stack_trace=stack_trace,
            metadata=dict(metadata or {}),
        )

    async def collect_feedback(
        self,
        task_id: str,
        feedback_type: FeedbackType | str,
        content: str,
        rating: int | None = None,
        user_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        point: str = "general",
    ) -> FeedbackEntry | None:
        """Record any feedback at collection point ``point``."""
        if not self.config.collection_point(point).enabled:
            return None
        entry = FeedbackEntry(
            task_id=task_id,
            feedback_type=feedback_type,
            content=content,
            rating=rating,
            user_id=user_id,
            metadata=dict(metadata or {}),
        )
        return await asyncio.to_thread(self._store, entry)

    async def request_feedback(self, point: str, task_id: str) -> FeedbackEntry | None:
        """Ask for feedback through ``feedback_request``, validate the answer and store it.

        Returns None when the point is disabled or no plugin could ask.
        """
        settings = self.config.collection_point(point)
        if not settings.enabled:
            return None
        prompt = settings.prompt or f"How would you rate the result of task {task_id}?"
        answer = await asyncio.to_thread(
            self.plugin_manager.hook.feedback_request, prompt=prompt, task_id=task_id, point=point
        )
        if answer is None:
            return None
        if not isinstance(answer, Mapping):
            raise FeedbackValidationError("feedback_request", answer, "must return a mapping")
        entry = FeedbackEntry(
            task_id=task_id,
            feedback_type=settings.feedback_type or FeedbackType.GENERAL,
            content=answer.get("content") or "",
            rating=answer.get("rating"),
            user_id=answer.get("user_id"),
            metadata={"collection_point": point, "prompt": prompt},
        )
        return await asyncio.to_thread(self._store, entry)

    # -- shared path ----------------------------------------------------------------------

    async def _collect(self, hook_name: str, **event: Any) -> FeedbackEntry | None:
        """Record an event as its hook would (``FeedbackPlugin.record_event``: the same
        checks, rejections and counters), waiting for the commit; then fire the hook for
        every other plugin."""
        point = ORCHESTRATOR_EVENTS[hook_name].collection_point
        assert point is not None, hook_name
        settings = self.config.collection_point(point)
        if not settings.enabled:
            return None
        stored = None
        if self._plugin is not None:
            stored = await asyncio.to_thread(
                self._plugin.record_event,
                hook_name,
                event,
                wait=True,
                feedback_type=settings.feedback_type,
            )
        await asyncio.to_thread(self._fire_for_others, hook_name, event)
        return stored

    def _store(self, entry: FeedbackEntry) -> FeedbackEntry | None:
        plugin = self._plugin
        if plugin is None:
            return None
        try:
            plugin.check(entry)
        except FeedbackRejected as rejection:
            self.plugin_manager.counters.add("rejected")
            logger.warning("feedback for task %r rejected: %s", entry.task_id, rejection)
            return None
        return plugin.store_and_wait(entry)

    def _fire_for_others(self, hook_name: str, event: dict[str, Any]) -> None:
        """Tell every plugin but the built-in one (which stored the entry already)."""
        remove = [self._plugin] if self._plugin is not None else []
        self.plugin_manager.subset_hook_caller(hook_name, remove_plugins=remove)(**event)

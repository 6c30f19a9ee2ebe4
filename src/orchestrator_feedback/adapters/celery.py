"""Celery adapter: ``connect_celery(app)`` turns Celery's signals into our hooks.

    from orchestrator_feedback.adapters.celery import connect_celery
    connect_celery(app)

Install with ``pip install 'orchestrator-feedback[celery]'``. What is recorded:

- ``task_received`` (main worker process) -> ``worker_allocated``: the worker's node name
  as ``worker_id``, the routing key as the reason, no score;
- ``task_prerun`` / ``task_postrun`` -> ``task_completed`` with ``execution_time``;
- ``task_failure`` -> ``task_failed`` with the exception's type, message and traceback
  text, ``will_retry: false``, also when Celery reports it from the main process (time
  limits, lost workers);
- ``task_retry`` -> ``task_failed`` with the cause's type and message and
  ``will_retry: true``: a failed attempt counts even when a later one succeeds.

Every event's metadata has ``task_type`` (the task's name) and ``attempt`` (1 for the
first, from the request's retry count).

``task_id`` is Celery's task id. With the prefork pool, each child process opens its own
store after the fork; receivers are held strongly, so they cannot vanish.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any

from orchestrator_feedback.adapters._manager import ManagerSource, ProcessLocalManager

try:
    from celery import Celery, signals  # type: ignore[import-untyped]
except ImportError as missing:  # pragma: no cover - only without the extra
    from orchestrator_feedback.errors import FeedbackError

    raise FeedbackError(
        "the Celery adapter needs its extra: "
        f"pip install 'orchestrator-feedback[celery]' ({missing})"
    ) from None

__all__ = ["CeleryFeedback", "connect_celery"]

logger = logging.getLogger("orchestrator_feedback.adapters.celery")
_REMEMBERED_FAILURES = 10_000


class CeleryFeedback:
    """The receivers ``connect_celery`` connects; ``disconnect()`` removes them."""

    def __init__(self, app: Celery, plugin_manager: ManagerSource = None) -> None:
        self.app = app
        # The task's own thread only queues each event (``managers.fire``); a forwarding
        # thread builds the entry and stores it, so a task never waits for a plugin or
        # the database.
        self.managers = ProcessLocalManager(plugin_manager)
        # Receivers run on the pool's threads concurrently. One dict operation (a set, a
        # pop) is atomic in CPython, so this dict needs no lock; the failure memo (a check,
        # then an insert) takes ``_lock``. What an attempt needs (its number) is in the
        # task's own request, never in this process's memory.
        self._started: dict[str, float] = {}
        # Celery's main process can signal one hard time limit twice; report it once.
        self._reported_failures: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._receivers = [
            (signals.task_received, self._on_received),
            (signals.task_prerun, self._on_prerun),
            (signals.task_postrun, self._on_postrun),
            (signals.task_failure, self._on_failure),
            (signals.task_retry, self._on_retry),
            (signals.worker_process_init, self._on_process_init),
            (signals.worker_process_shutdown, self._on_process_shutdown),
            (signals.worker_shutdown, self._on_worker_shutdown),
        ]

    def connect(self) -> CeleryFeedback:
        """Connect every receiver (strong references)."""
        for signal, receiver in self._receivers:
            signal.connect(receiver, weak=False)
        return self

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the events this process has seen so far are stored (False on
        timeout): in a worker process, or in a client running tasks eagerly."""
        return self.managers.flush(timeout)

    def disconnect(self) -> None:
        """Disconnect every receiver and flush what was recorded."""
        for signal, receiver in self._receivers:
            signal.disconnect(receiver)
        self.managers.close()

    # -- helpers ------------------------------------------------------------------------

    def _ours(self, task: Any) -> bool:
        return getattr(task, "app", None) is self.app

    @staticmethod
    def _metadata(task: Any, request: Any, **more: Any) -> dict[str, Any]:
        """The event's metadata: the task's name (also as ``task_type``) and which attempt
        this is (1 for the first; Celery counts retries in the request)."""
        retries = getattr(request, "retries", 0) or 0
        name = getattr(task, "name", None)
        return {"task_name": name, "task_type": name, "attempt": retries + 1, **more}

    # -- receivers ----------------------------------------------------------------------

    def _on_received(self, sender: Any = None, request: Any = None, **_: Any) -> None:
        task = getattr(request, "task", None)
        if request is None or not self._ours(task):
            return
        delivery = getattr(request, "delivery_info", None) or {}
        retries = (getattr(request, "request_dict", None) or {}).get("retries") or 0
        self.managers.fire(
            "worker_allocated",
            task_id=request.id,
            worker_id=getattr(request, "hostname", None) or "unknown",
            allocation_score=None,
            allocation_reason=delivery.get("routing_key"),
            metadata={
                "task_name": request.name,
                "task_type": request.name,
                "queue": delivery.get("routing_key"),
                "attempt": retries + 1,
            },
        )

    def _on_prerun(
        self, sender: Any = None, task_id: str | None = None, task: Any = None, **_: Any
    ) -> None:
        if task_id is not None and self._ours(task):
            self._started[task_id] = time.perf_counter()

    def _on_postrun(
        self,
        sender: Any = None,
        task_id: str | None = None,
        task: Any = None,
        state: str | None = None,
        **_: Any,
    ) -> None:
        if task_id is None or not self._ours(task):
            return
        started = self._started.pop(task_id, None)
        if state != "SUCCESS":  # failures come through task_failure, retries through task_retry
            return
        elapsed = None if started is None else round(time.perf_counter() - started, 6)
        request = task.request  # a property that looks up Celery's request stack: once
        self.managers.fire(
            "task_completed",
            task_id=task_id,
            worker_id=getattr(request, "hostname", None),
            success=True,
            execution_time=elapsed,
            output_quality=None,
            metadata=self._metadata(task, request),
        )

    def _on_failure(
        self,
        sender: Any = None,
        task_id: str | None = None,
        exception: BaseException | None = None,
        einfo: Any = None,
        **_: Any,
    ) -> None:
        if task_id is None or not self._ours(sender):
            return
        self._started.pop(task_id, None)
        with self._lock:  # a check, then an insert: two steps, so under the lock
            if task_id in self._reported_failures:
                return
            self._reported_failures[task_id] = None
            if len(self._reported_failures) > _REMEMBERED_FAILURES:
                self._reported_failures.popitem(last=False)
        request = getattr(sender, "request", None)
        trace = getattr(einfo, "traceback", None)
        self.managers.fire(
            "task_failed",
            task_id=task_id,
            worker_id=getattr(request, "hostname", None),
            error_type=type(exception).__name__ if exception is not None else "Unknown",
            error_message=str(exception) if exception is not None else "",
            stack_trace=trace if isinstance(trace, str) else None,
            metadata=self._metadata(sender, request, will_retry=False),
        )

    def _on_retry(
        self,
        sender: Any = None,
        request: Any = None,
        reason: Any = None,
        einfo: Any = None,
        **_: Any,
    ) -> None:
        """A failed attempt that Celery will try again: a failure of its own, so that a
        worker's failures count even when a later attempt succeeds."""
        task_id = getattr(request, "id", None)
        if task_id is None or not self._ours(sender):
            return
        self._started.pop(task_id, None)
        cause = getattr(reason, "exc", None) or reason  # Retry(exc=...) carries the cause
        trace = getattr(einfo, "traceback", None)
        self.managers.fire(
            "task_failed",
            task_id=task_id,
            worker_id=getattr(request, "hostname", None),
            error_type=type(cause).__name__ if isinstance(cause, BaseException) else "Retry",
            error_message=str(cause) if cause is not None else "",
            stack_trace=trace if isinstance(trace, str) else None,
            metadata=self._metadata(sender, request, will_retry=True),
        )

    def _on_process_init(self, **_: Any) -> None:
        self.managers.forget()  # the parent's store stays the parent's

    def _on_process_shutdown(self, **_: Any) -> None:
        self.managers.close()

    def _on_worker_shutdown(self, **_: Any) -> None:
        self.managers.close()


def connect_celery(app: Celery, plugin_manager: ManagerSource = None) -> CeleryFeedback:
    """Record ``app``'s task lifecycle through our hooks; return the connected receivers.

    ``plugin_manager``: None (default) builds ``get_plugin_manager()`` from the
    configuration in each process that needs one; a factory is called likewise; a ready
    manager is used as it is (build it in the process that uses it).
    """
    return CeleryFeedback(app, plugin_manager).connect()

"""Airflow adapter: a listener on Airflow's own pluggy hooks (project ``"airflow"``).

Install ``pip install 'orchestrator-feedback[airflow]'``: Airflow finds
``FeedbackAirflowPlugin`` through the ``airflow.plugins`` entry point, and its listener
records every task instance. What is recorded:

- ``on_task_instance_running`` -> ``worker_allocated``: the task instance's hostname as
  ``worker_id``, ``queue`` and ``pool`` in the reason and metadata;
- ``on_task_instance_success`` -> ``task_completed`` with ``execution_time`` (start to end,
  seconds) and the try number;
- ``on_task_instance_failed`` -> ``task_failed`` with ``will_retry: false`` when the
  failure is final, ``will_retry: true`` for a try that Airflow will retry (state
  ``up_for_retry``): every failed try counts in its worker's scores, as with Celery and
  Dask.

``task_id`` is ``"<dag_id>/<run_id>/<task_id>"`` (``"/<map_index>"`` after it for a mapped
task instance), the same for every try; ``metadata`` has ``dag_id``, ``run_id``,
``airflow_task_id``, ``map_index``, ``try_number`` (also as ``attempt``, the name the other
adapters use) and ``task_type`` = ``"<dag_id>.<task_id>"`` (what ``workers`` and
``recommend`` rank by).

Airflow runs each task in a process of its own: the listener builds its plugin manager (and
opens the store) in that process, fires the hooks synchronously and commits before the
hook returns, so nothing is lost when the process ends. It never fails a task: the
manager isolates each hook implementation (an exception is logged and counted in
``counters.subscriber_failures``), and an error before that (the store cannot be opened) is
logged. ``enabled = false`` or
``[plugins] disable = ["airflow"]`` in our configuration turns it off.

The listener uses ``pluggy.HookimplMarker("airflow")`` itself, so this module imports (and
is tested) without Airflow; ``airflow_plugin.py`` holds the ``AirflowPlugin``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pluggy

from orchestrator_feedback.adapters._manager import ManagerSource, ProcessLocalManager

__all__ = ["PLUGIN_NAME", "FeedbackListener", "hookimpl", "task_key"]

logger = logging.getLogger("orchestrator_feedback.adapters")

hookimpl = pluggy.HookimplMarker("airflow")
"""Airflow's hook implementation marker (the same as ``airflow.listeners.hookimpl``)."""

PLUGIN_NAME = "airflow"
"""The name ``[plugins] disable`` turns the listener off by."""

_UP_FOR_RETRY = "up_for_retry"


def _text(value: Any) -> str | None:
    """An Airflow enum (``TaskInstanceState``) or string as plain text."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def task_key(task_instance: Any) -> str:
    """A stable id for a task instance, the same across its tries: ``dag_id/run_id/task_id``
    and ``/map_index`` for a mapped one."""
    key = f"{task_instance.dag_id}/{task_instance.run_id}/{task_instance.task_id}"
    map_index = getattr(task_instance, "map_index", -1)
    if map_index is not None and map_index >= 0:
        key += f"/{map_index}"
    return key


def _metadata(task_instance: Any) -> dict[str, Any]:
    map_index = getattr(task_instance, "map_index", -1)
    try_number = getattr(task_instance, "try_number", None)
    attempt = (
        {"attempt": try_number}
        if isinstance(try_number, int) and not isinstance(try_number, bool) and try_number >= 1
        else {}
    )
    return {
        "dag_id": task_instance.dag_id,
        "run_id": task_instance.run_id,
        "airflow_task_id": task_instance.task_id,
        "map_index": -1 if map_index is None else map_index,
        "try_number": try_number,
        **attempt,
        "task_type": f"{task_instance.dag_id}.{task_instance.task_id}",
    }


def _seconds(task_instance: Any) -> float | None:
    duration = getattr(task_instance, "duration", None)
    if isinstance(duration, int | float):
        return float(duration)
    start, end = (
        getattr(task_instance, "start_date", None),
        getattr(task_instance, "end_date", None),
    )
    if isinstance(start, datetime) and isinstance(end, datetime):
        return max((end - start).total_seconds(), 0.0)
    return None


def _pool(task_instance: Any) -> str | None:
    pool = getattr(task_instance, "pool", None)
    if pool is None:
        pool = getattr(getattr(task_instance, "task", None), "pool", None)
    return None if pool is None else str(pool)


class FeedbackListener:
    """Airflow listener hooks -> our hooks, in the task's own process.

    ``source`` is the plugin manager to fire (a ready one, a factory, or None for
    ``get_plugin_manager()`` with the configuration), built anew in each process.
    """

    def __init__(self, source: ManagerSource = None) -> None:
        self.managers = ProcessLocalManager(source)

    def _fire(self, hook: str, task_instance: Any, **event: Any) -> None:
        """Fire one of our hooks now and commit it; never raise into Airflow."""
        try:
            manager = self.managers.get()
            config = manager.config
            if not config.enabled or PLUGIN_NAME in config.plugins.disable:
                return
            getattr(manager.hook, hook)(**event)
            manager.flush()
        except Exception:  # never into Airflow: the task's own outcome is what counts there
            logger.exception(
                "orchestrator-feedback could not record %s for %s", hook, task_key(task_instance)
            )

    @hookimpl
    def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
        """A try starts on a host: ``worker_allocated``."""
        del previous_state
        queue, pool = getattr(task_instance, "queue", None), _pool(task_instance)
        self._fire(
            "worker_allocated",
            task_instance,
            task_id=task_key(task_instance),
            worker_id=str(getattr(task_instance, "hostname", None) or "unknown"),
            allocation_score=None,
            allocation_reason=f"queue {queue}, pool {pool}",
            metadata={**_metadata(task_instance), "queue": queue, "pool": pool},
        )

    @hookimpl
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        """A try succeeded: ``task_completed``."""
        del previous_state
        self._fire(
            "task_completed",
            task_instance,
            task_id=task_key(task_instance),
            worker_id=getattr(task_instance, "hostname", None),
            success=True,
            execution_time=_seconds(task_instance),
            output_quality=None,
            metadata=_metadata(task_instance),
        )

    @hookimpl
    def on_task_instance_failed(
        self, previous_state: Any, task_instance: Any, error: BaseException | str | None
    ) -> None:
        """A try failed: ``task_failed``, with ``will_retry`` true when Airflow retries it."""
        del previous_state
        if isinstance(error, BaseException):
            error_type, message = type(error).__name__, str(error)
        else:
            error_type, message = "AirflowTaskFailure", "" if error is None else str(error)
        will_retry = _text(getattr(task_instance, "state", None)) == _UP_FOR_RETRY
        metadata = {**_metadata(task_instance), "will_retry": will_retry}
        self._fire(
            "task_failed",
            task_instance,
            task_id=task_key(task_instance),
            worker_id=getattr(task_instance, "hostname", None),
            error_type=error_type,
            error_message=message,
            stack_trace=None,
            metadata=metadata,
        )

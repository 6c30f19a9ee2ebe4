"""Allocation advice for Dask: submit a task to the worker ``allocation_advice`` ranks first.

``AdvisedSubmitter(client, plugin_manager).submit(func, *args, **kwargs)`` asks the manager's
``allocation_advice`` hook which of the cluster's workers (their addresses, the ids the
scheduler plugin records) should run a task of this key prefix, then calls
``client.submit(..., workers=[first], allow_other_workers=True)``: the scheduler prefers
that worker but may still run the task elsewhere (when it leaves, or by work stealing), so
advice never blocks work. Without advice (no answer, no workers) it is a plain
``client.submit``. A ``workers=`` of your own always wins.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dask.utils import funcname, key_split
from distributed import Client, Future

from orchestrator_feedback.manager import FeedbackPluginManager

__all__ = ["AdvisedSubmitter"]


class AdvisedSubmitter:
    """``client.submit`` with allocation advice. The workers' list is read from the
    scheduler at most every ``cache_seconds`` seconds."""

    def __init__(
        self, client: Client, plugin_manager: FeedbackPluginManager, *, cache_seconds: float = 5.0
    ) -> None:
        self.client = client
        self.plugin_manager = plugin_manager
        self.cache_seconds = cache_seconds
        self._workers: list[str] = []
        self._read_at = -float("inf")

    def workers(self) -> list[str]:
        """The addresses of the workers alive (cached for ``cache_seconds``)."""
        if time.monotonic() - self._read_at > self.cache_seconds:
            info = self.client.scheduler_info()
            self._workers = sorted(info.get("workers", {}))
            self._read_at = time.monotonic()
        return self._workers

    def advise(self, task_type: str, task_id: str) -> list[str] | None:
        """The workers ranked for a task of ``task_type``, or None without advice."""
        candidates = self.workers()
        if not candidates:
            return None
        ranking = self.plugin_manager.hook.allocation_advice(
            task_id=task_id, task_type=task_type, candidates=candidates, metadata={}
        )
        return ranking if isinstance(ranking, list) and ranking else None

    def submit(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        """``client.submit(func, *args, **kwargs)`` on the advised worker. The task type is
        the key's prefix (``key_split``), the function's name when no key is given, as
        the scheduler plugin records it."""
        if kwargs.get("workers") is None:
            key = kwargs.get("key")
            task_type = key_split(key) if key is not None else funcname(func)
            ranking = self.advise(task_type, str(key or task_type))
            if ranking is not None:
                kwargs["workers"] = [ranking[0]]
                kwargs.setdefault("allow_other_workers", True)
        return self.client.submit(func, *args, **kwargs)

"""Allocation advice for Celery: a router that sends each task to the worker
``allocation_advice`` ranks first.

``app.conf.task_routes = (AdviceRouter(app),)`` with ``app.conf.worker_direct = True``:
every worker then also consumes its own direct queue (``<hostname>.dq2``, bound to the
``C.dq2`` exchange by its hostname), and the router sends a task there, to the worker that
the advice ranks first among the workers alive. The candidates are the hostnames that
answer Celery's own ``control.ping`` (the ids the Celery adapter records as
``worker_id``), asked at most every ``cache_seconds`` seconds; the task type is the task's
name. Without advice (no worker answers, no implementation answers, or ``tasks`` leaves
the task out) the router returns None and Celery routes the task as it would have.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from orchestrator_feedback.adapters._manager import ManagerSource, ProcessLocalManager
from orchestrator_feedback.manager import FeedbackPluginManager

if TYPE_CHECKING:
    from celery import Celery  # type: ignore[import-untyped]

__all__ = ["DIRECT_EXCHANGE", "AdviceRouter"]

logger = logging.getLogger("orchestrator_feedback.adapters")

DIRECT_EXCHANGE = "C.dq2"
"""The exchange of Celery's direct worker queues (``worker_direct``)."""


class AdviceRouter:
    """A Celery router (a callable for ``task_routes``) that routes by allocation advice.

    ``plugin_manager``: the manager whose ``allocation_advice`` is asked (a manager, a
    callable returning one, or None: this process's, built from the configuration, as the
    Celery adapter builds it). ``tasks``: only these task names are routed (None: all).
    """

    def __init__(
        self,
        app: Celery,
        plugin_manager: ManagerSource = None,
        *,
        tasks: Collection[str] | None = None,
        cache_seconds: float = 5.0,
        ping_timeout: float = 1.0,
    ) -> None:
        self.app = app
        self._manager = ProcessLocalManager(plugin_manager)
        self.tasks = None if tasks is None else frozenset(tasks)
        self.cache_seconds = cache_seconds
        self.ping_timeout = ping_timeout
        self._workers: list[str] = []
        self._asked_at = -float("inf")

    @property
    def plugin_manager(self) -> FeedbackPluginManager:
        """The manager asked for advice (this process's)."""
        return self._manager.get()

    def workers(self) -> list[str]:
        """The hostnames of the workers that answer a ping within ``ping_timeout``, asked at
        most every ``cache_seconds`` (every second while none answers)."""
        if time.monotonic() - self._asked_at > self.cache_seconds:
            try:
                replies = self.app.control.ping(timeout=self.ping_timeout) or []
            except Exception as error:  # the broker is away: route as Celery would
                logger.warning("no allocation advice: pinging the workers failed: %s", error)
                replies = []
            self._workers = sorted({name for reply in replies for name in reply})
            # No answer is asked again a second later, not a whole cache period later.
            wait = self.cache_seconds if self._workers else min(self.cache_seconds, 1.0)
            self._asked_at = time.monotonic() - self.cache_seconds + wait
        return self._workers

    def __call__(
        self,
        name: str,
        args: Any,
        kwargs: Any,
        options: dict[str, Any],
        task: Any = None,
        **rest: Any,
    ) -> dict[str, str] | None:
        """The route of one task: the advised worker's direct queue, or None."""
        if self.tasks is not None and name not in self.tasks:
            return None
        candidates = self.workers()
        if not candidates:
            return None
        ranking = self.plugin_manager.hook.allocation_advice(
            task_id=str(options.get("task_id") or name),
            task_type=name,
            candidates=candidates,
            metadata={},
        )
        if not isinstance(ranking, list) or not ranking:
            return None
        return {
            "exchange": DIRECT_EXCHANGE,
            "exchange_type": "direct",
            "routing_key": str(ranking[0]),
        }

"""Allocation advice for Celery: a router that sends each task to the worker
``allocation_advice`` ranks first.

``app.conf.task_routes = (AdviceRouter(app),)`` with ``app.conf.worker_direct = True``:
every worker then also consumes its own direct queue (``<hostname>.dq2``, bound to the
``C.dq2`` exchange by its hostname: Celery's ``worker_direct(hostname)``, which the router
returns as the task's queue, so that it is declared once, not with every message), and
the router sends a task there, to the worker that
the advice ranks first among the workers alive, given their load: per worker, the tasks
this router sent there whose outcome the store has not committed yet (it follows the store
for them), per process of the worker's pool. The candidates are the hostnames that
answer Celery's own ``control.ping`` (the ids the Celery adapter records as
``worker_id``), asked on a thread of the router's at most every ``cache_seconds`` seconds:
sending a task never waits on the broker's round trip (a ping waits ``ping_timeout`` for
answers). The task type is the task's name. Without advice (no worker known yet or none
answers, no implementation answers, or ``tasks`` leaves the task out) the router returns
None and Celery routes the task as it would have. So it does while the built-in plugin's
store holds no outcome of the task's type: advice without evidence could only spread the
tasks by the load it counts, which Celery's shared queue does better (a free process takes
the next task, where a routed one waits for its worker); a burst sent before any outcome
returns is placed by Celery.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING, Any

from orchestrator_feedback import rules
from orchestrator_feedback.adapters._manager import ManagerSource, ProcessLocalManager
from orchestrator_feedback.manager import FeedbackPluginManager
from orchestrator_feedback.models import FeedbackEntry
from orchestrator_feedback.storage.ranking import tasks_ahead

try:
    from celery.utils.nodenames import worker_direct  # type: ignore[import-untyped]
except ImportError as missing:  # pragma: no cover - only without the extra
    from orchestrator_feedback.errors import FeedbackError

    raise FeedbackError(
        "the Celery advice router needs its extra: "
        f"pip install 'orchestrator-feedback[celery]' ({missing})"
    ) from None

if TYPE_CHECKING:
    from celery import Celery  # type: ignore[import-untyped]
    from kombu.entity import Queue

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
        self._asking: threading.Thread | None = None
        self._lock = threading.Lock()
        self._queues: dict[str, Queue] = {}
        # Tasks sent to each worker whose outcome is not stored yet, and each worker's
        # pool size; the outcomes are followed on a thread of the router's.
        self._pending: Counter[str] = Counter()
        self._slots: dict[str, int] = {}
        self._following = False
        # Task types the store holds an outcome of: routed by advice from then on.
        self._informed: set[str] = set()
        self._pid = os.getpid()

    @property
    def plugin_manager(self) -> FeedbackPluginManager:
        """The manager asked for advice (this process's)."""
        return self._manager.get()

    def _renew_if_forked(self) -> None:
        """In a forked child: a lock, counts and threads of its own (the parent's threads,
        which may have held the lock, do not run here)."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._lock = threading.Lock()
            self._pending = Counter()
            self._asking = None
            self._following = False

    def workers(self) -> list[str]:
        """The hostnames of the workers that last answered a ping, at once: when that answer
        is older than ``cache_seconds`` (a second while none answered), a ping is sent on the
        router's thread and its answer serves the calls after it."""
        self._renew_if_forked()
        if time.monotonic() - self._asked_at > self.cache_seconds:
            self._ask_in_background()
        return self._workers

    def ask_workers(self) -> list[str]:
        """Ping the workers now and wait for their answers (``ping_timeout`` seconds): the
        hostnames that answered, which ``workers()`` returns from then on."""
        try:
            replies = self.app.control.ping(timeout=self.ping_timeout) or []
        except Exception as error:  # the broker is away: route as Celery would
            logger.warning("no allocation advice: pinging the workers failed: %s", error)
            replies = []
        self._workers = sorted({name for reply in replies for name in reply})
        if self._workers:
            self._slots = self._pool_sizes(self._workers)
        # No answer is asked again a second later, not a whole cache period later.
        wait = self.cache_seconds if self._workers else min(self.cache_seconds, 1.0)
        self._asked_at = time.monotonic() - self.cache_seconds + wait
        return self._workers

    def _pool_sizes(self, workers: list[str]) -> dict[str, int]:
        """Each worker's pool size (``inspect().stats()``; 1 when it does not say)."""
        try:
            stats = self.app.control.inspect(timeout=self.ping_timeout, destination=workers)
            replies = stats.stats() or {}
        except Exception as error:
            logger.warning("no pool sizes for allocation advice: %s", error)
            replies = {}
        sizes = {}
        for worker, reply in replies.items():
            size = (reply.get("pool") or {}).get("max-concurrency")
            if isinstance(size, int) and size > 0:
                sizes[worker] = size
        return sizes

    def load(self) -> dict[str, float]:
        """Per worker, the tasks ahead of the next one, per process of its pool (what
        ``allocation_advice`` is given as ``load``): ``tasks_ahead(pending, pool size)``
        of the tasks this router sent there whose outcome is not stored yet."""
        with self._lock:
            pending = dict(self._pending)
        loads = {w: tasks_ahead(count, self._slots.get(w, 1)) for w, count in pending.items()}
        return {worker: ahead for worker, ahead in loads.items() if ahead > 0}

    def _follow_outcomes(self) -> None:
        """Start following the store's outcomes (once per process): each outcome of a worker
        with tasks pending takes one off. Outcomes of tasks another producer sent there can
        take off one of ours; a count never goes below zero."""
        if self._following:
            return
        self._following = True
        plugin = self.plugin_manager.feedback_plugin
        if plugin is None:
            return
        # The position is taken here, before any task is sent: no outcome is missed.
        entries = plugin.storage.follow(poll=0.05)
        threading.Thread(
            target=self._count_outcomes, args=(entries,), name="feedback-celery-load", daemon=True
        ).start()

    def _count_outcomes(self, entries: Iterator[FeedbackEntry]) -> None:
        try:
            for entry in entries:
                worker = rules.worker_of(entry.metadata)
                if worker is None or not any(rules.outcome_of(entry)):
                    continue
                with self._lock:
                    if self._pending[worker] > 0:
                        self._pending[worker] -= 1
        except Exception:  # the store closed or went away: no load from here on
            logger.debug("following the outcomes for allocation advice ended", exc_info=True)

    def _has_evidence(self, task_type: str) -> bool:
        """Whether the built-in plugin's store holds an outcome of ``task_type`` (its score
        book, in memory: it follows the store); true once, true from then on. Without the
        built-in plugin, the advice of the others is followed."""
        if task_type in self._informed:
            return True
        plugin = self.plugin_manager.feedback_plugin
        if plugin is not None:
            scores = plugin.storage.worker_scores(task_type=task_type)
            if not any(score.attempts > 0 for score in scores):
                return False
        self._informed.add(task_type)
        return True

    def _ask_in_background(self) -> None:
        with self._lock:
            if self._asking is not None and self._asking.is_alive():
                return
            self._asking = threading.Thread(
                target=self.ask_workers, name="feedback-celery-ping", daemon=True
            )
            self._asking.start()

    def __call__(
        self,
        name: str,
        args: Any,
        kwargs: Any,
        options: dict[str, Any],
        task: Any = None,
        **rest: Any,
    ) -> dict[str, Queue] | None:
        """The route of one task: the advised worker's direct queue, or None."""
        if self.tasks is not None and name not in self.tasks:
            return None
        candidates = self.workers()  # renews what a forked child inherited
        if not candidates:
            return None
        self._follow_outcomes()
        if not self._has_evidence(name):
            return None
        ranking = self.plugin_manager.hook.allocation_advice(
            task_id=str(options.get("task_id") or name),
            task_type=name,
            candidates=candidates,
            metadata={"load": self.load()},
        )
        if not isinstance(ranking, list) or not ranking:
            return None
        hostname = str(ranking[0])
        with self._lock:
            self._pending[hostname] += 1
        queue = self._queues.get(hostname)
        if queue is None:
            queue = self._queues[hostname] = worker_direct(hostname)
        return {"queue": queue}

"""Allocation advice for Dask: submit a task to the worker ``allocation_advice`` ranks first.

``AdvisedSubmitter(client, plugin_manager).submit(func, *args, **kwargs)`` asks the manager's
``allocation_advice`` hook which of the cluster's workers (their addresses, the ids the
scheduler plugin records) should run a task of this key prefix, then calls
``client.submit(..., workers=[first], allow_other_workers=True)``. The scheduler prefers that
worker and runs the task elsewhere only when it leaves or another worker steals the task, so
the advice is given the load: the futures this submitter sent to each worker that have not
finished, per thread of that worker (``metadata["load"]``). With the ``time`` objective a busy
good worker then loses the next task to an idle one that would finish it sooner. Without
advice (no answer, no workers) it is a plain ``client.submit``. A ``workers=`` of your own
always wins.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from dask.utils import funcname, key_split
from distributed import Client, Future

from orchestrator_feedback.manager import FeedbackPluginManager
from orchestrator_feedback.storage.ranking import tasks_ahead

__all__ = ["AdvisedSubmitter"]


class AdvisedSubmitter:
    """``client.submit`` with allocation advice. The workers' list (and their threads) is
    read from the scheduler at most every ``cache_seconds`` seconds."""

    def __init__(
        self, client: Client, plugin_manager: FeedbackPluginManager, *, cache_seconds: float = 5.0
    ) -> None:
        self.client = client
        self.plugin_manager = plugin_manager
        self.cache_seconds = cache_seconds
        self._workers: list[str] = []
        self._threads: dict[str, int] = {}
        self._read_at = -float("inf")
        # Futures sent to each worker on advice that have not finished: a future's callback
        # runs on the client's event loop, the submits on the caller's thread.
        self._unfinished: Counter[str] = Counter()
        self._lock = threading.Lock()

    def workers(self) -> list[str]:
        """The addresses of the workers alive (cached for ``cache_seconds``)."""
        if time.monotonic() - self._read_at > self.cache_seconds:
            info = self.client.scheduler_info().get("workers", {})
            self._workers = sorted(info)
            self._threads = {
                address: max(int(worker.get("nthreads") or 1), 1)
                for address, worker in info.items()
            }
            self._read_at = time.monotonic()
        return self._workers

    def load(self) -> dict[str, float]:
        """Per worker, the tasks ahead of the next one, per thread (what
        ``allocation_advice`` is given as ``load``): ``tasks_ahead(unfinished, threads)`` of
        the futures this submitter sent there on advice that have not finished."""
        with self._lock:
            unfinished = dict(self._unfinished)
        loads = {
            address: tasks_ahead(count, self._threads.get(address, 1))
            for address, count in unfinished.items()
        }
        return {address: ahead for address, ahead in loads.items() if ahead > 0}

    def advise(self, task_type: str, task_id: str) -> list[str] | None:
        """The workers ranked for a task of ``task_type``, or None without advice."""
        candidates = self.workers()
        if not candidates:
            return None
        ranking = self.plugin_manager.hook.allocation_advice(
            task_id=task_id,
            task_type=task_type,
            candidates=candidates,
            metadata={"load": self.load()},
        )
        return ranking if isinstance(ranking, list) and ranking else None

    def submit(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        """``client.submit(func, *args, **kwargs)`` on the advised worker. The task type is
        the key's prefix (``key_split``), the function's name when no key is given, as
        the scheduler plugin records it."""
        advised = None
        if kwargs.get("workers") is None:
            key = kwargs.get("key")
            task_type = key_split(key) if key is not None else funcname(func)
            ranking = self.advise(task_type, str(key or task_type))
            if ranking is not None:
                advised = str(ranking[0])
                kwargs["workers"] = [advised]
                kwargs.setdefault("allow_other_workers", True)
        future = self.client.submit(func, *args, **kwargs)
        if advised is not None:
            self._count(future, advised)
        return future

    def _count(self, future: Future[Any], worker: str) -> None:
        """Count ``future`` on ``worker`` until it finishes (once, however it ends)."""
        with self._lock:
            self._unfinished[worker] += 1
        done = threading.Event()

        def finished(_: Future[Any]) -> None:
            if done.is_set():
                return
            done.set()
            with self._lock:
                self._unfinished[worker] -= 1
                if self._unfinished[worker] <= 0:
                    del self._unfinished[worker]

        future.add_done_callback(finished)  # type: ignore[no-untyped-call]

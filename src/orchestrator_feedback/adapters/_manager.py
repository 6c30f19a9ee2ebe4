"""One plugin manager per process, built lazily, for adapters that live across forks."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

from orchestrator_feedback.manager import FeedbackPluginManager, get_plugin_manager

logger = logging.getLogger("orchestrator_feedback.adapters")

_STOP = object()


class HookForwarder:
    """Fires hook calls handed over by an orchestrator's own thread, on a thread of its own,
    so that the orchestrator pays one queue append per event and never waits for a
    plugin or the database."""

    def __init__(self, manager: FeedbackPluginManager) -> None:
        self.manager = manager
        self._events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._run, name="orchestrator-feedback-hooks", daemon=True
        )
        self._thread.start()

    def fire(self, hook: str, **event: Any) -> None:
        """Queue one hook call (cheap: the loop's only cost)."""
        self._events.put((hook, event))

    def _run(self) -> None:
        while (item := self._events.get()) is not _STOP:
            hook, event = item
            try:
                getattr(self.manager.hook, hook)(**event)
            except Exception:
                logger.exception("could not record %s for task %s", hook, event.get("task_id"))

    def stop(self) -> None:
        """Fire what is queued, then end the thread."""
        self._events.put(_STOP)
        self._thread.join()


ManagerSource = FeedbackPluginManager | Callable[[], FeedbackPluginManager] | None


class ProcessLocalManager:
    """Hands out a plugin manager that was built in the calling process.

    A store must never be shared across a fork: when the process id changes (a Celery
    prefork child, say), the manager is built anew there. ``source`` is a ready manager
    (used as it is: build it in the process that uses it), a factory, or None for
    ``get_plugin_manager()`` with the configuration.
    """

    def __init__(self, source: ManagerSource) -> None:
        self._source = source
        self._manager: FeedbackPluginManager | None = None
        self._owned = False
        self._pid = 0
        self._lock = threading.RLock()  # fire() builds the manager while holding it
        self._forwarder: HookForwarder | None = None
        self._forwarder_pid = 0

    def fire(self, hook: str, **event: Any) -> None:
        """Hand a hook call to this process's forwarding thread (started on first use)."""
        forwarder = self._forwarder
        if forwarder is None or self._forwarder_pid != os.getpid():
            with self._lock:
                if self._forwarder is None or self._forwarder_pid != os.getpid():
                    self._forwarder = HookForwarder(self.get())
                    self._forwarder_pid = os.getpid()
                forwarder = self._forwarder
        forwarder.fire(hook, **event)

    def get(self) -> FeedbackPluginManager:
        """The manager of this process."""
        manager = self._manager
        if manager is not None and self._pid == os.getpid():
            return manager
        with self._lock:
            if self._manager is None or self._pid != os.getpid():
                self._manager, self._owned = self._build()
                self._pid = os.getpid()
            return self._manager

    def _build(self) -> tuple[FeedbackPluginManager, bool]:
        if isinstance(self._source, FeedbackPluginManager):
            return self._source, False
        if self._source is not None:
            return self._source(), True
        return get_plugin_manager(), True

    def forget(self) -> None:
        """Drop the manager without closing it (after a fork: it belongs to the parent)."""
        self._manager = None
        self._forwarder = None

    def close(self) -> None:
        """Fire what is queued, then flush and close the manager if this process built it."""
        forwarder = self._forwarder
        if forwarder is not None and self._forwarder_pid == os.getpid():
            forwarder.stop()
        self._forwarder = None
        manager = self._manager
        if manager is not None and self._pid == os.getpid():
            if self._owned:
                manager.close()
            else:
                manager.flush()
        self._manager = None

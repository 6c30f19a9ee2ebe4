"""One plugin manager per process, built lazily, for adapters that live across forks."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from orchestrator_feedback.manager import FeedbackPluginManager, get_plugin_manager

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
        self._lock = threading.Lock()

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

    def close(self) -> None:
        """Flush and close the manager if this process built it."""
        manager = self._manager
        if manager is not None and self._pid == os.getpid():
            if self._owned:
                manager.close()
            else:
                manager.flush()
        self._manager = None

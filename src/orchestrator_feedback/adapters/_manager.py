"""One plugin manager per process, built lazily, for adapters that live across forks."""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from orchestrator_feedback.drops import DropReporter
from orchestrator_feedback.host import get_plugin_manager
from orchestrator_feedback.manager import FeedbackPluginManager

logger = logging.getLogger("orchestrator_feedback.adapters")

_STOP = object()
_ROOM_POLL_SECONDS = 0.001


class HookForwarder:
    """Fires hook calls handed over by an orchestrator's own thread, on a thread of its own,
    so that the orchestrator pays one queue append per event and never waits for a
    plugin or the database.

    The queue is bounded like the store's own, by the configuration's ``[background]``
    ``queue_size`` and ``on_full``: when the hooks fall that far behind, the
    orchestrator's thread waits for room (back-pressure), or with ``on_full = "drop"``
    (or ``always_drop``, for a thread that must never wait) the event is dropped, counted
    in the manager's ``counters.dropped`` and warned of (at the first drop, then at most
    every 10 s).
    """

    def __init__(self, manager: FeedbackPluginManager, *, always_drop: bool = False) -> None:
        self.manager = manager
        background = manager.config.background
        self._limit = background.queue_size
        self._drop = always_drop or background.on_full == "drop"
        self._events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._drops = DropReporter(
            logger, f"the adapter's event queue full ({self._limit} events)", ("event", "events")
        )
        self._thread = threading.Thread(
            target=self._run, name="orchestrator-feedback-hooks", daemon=True
        )
        self._thread.start()
        # A process that ends without closing (a client running tasks eagerly, a script)
        # still fires what it queued; the store's own exit handler, registered before
        # this one, commits it after.
        atexit.register(self._stop_at_exit)

    def fire(self, hook: str, **event: Any) -> None:
        """Queue one hook call (cheap: the loop's only cost); if the queue is full, wait
        for room or drop the call (see the class)."""
        if self._events.qsize() >= self._limit and not self._wait_for_room():
            self._drops.drop(f"the last: {hook} for task {event.get('task_id')!r}")
            self.manager.counters.add("dropped")
            return
        self._events.put((hook, event))

    def _wait_for_room(self) -> bool:
        if self._drop:
            return False
        while self._events.qsize() >= self._limit and self._thread.is_alive():
            # A sleep lets the forwarding thread have the GIL: a busy orchestrator thread
            # that only ever releases it briefly would otherwise starve it.
            time.sleep(_ROOM_POLL_SECONDS)
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every hook call queued before this one has been fired (False on
        timeout)."""
        fired = threading.Event()
        self._events.put(fired)  # a marker, not an event: past the bound
        return fired.wait(timeout)

    def _run(self) -> None:
        while (item := self._events.get()) is not _STOP:
            if type(item) is not tuple:  # a flush's marker
                item.set()
                continue
            hook, event = item
            try:
                getattr(self.manager.hook, hook)(**event)
            except Exception:
                logger.exception("could not record %s for task %s", hook, event.get("task_id"))

    def stop(self, timeout: float | None = None) -> bool:
        """Fire what is queued, then end the thread; False if it was still firing after
        ``timeout`` seconds."""
        atexit.unregister(self._stop_at_exit)
        if self._thread.is_alive():
            self._events.put(_STOP)
            self._thread.join(timeout)
        self._drops.close()
        return not self._thread.is_alive()

    def _stop_at_exit(self) -> None:
        timeout = self.manager.config.background.exit_timeout_s
        if not self.stop(timeout):
            logger.error(
                "interpreter exit: %d feedback events not recorded after %s s "
                "([background] exit_timeout_s)",
                self._events.qsize(),
                timeout,
            )


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

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until this process's events so far are fired and their entries committed
        (False on timeout)."""
        deadline = None if timeout is None else time.monotonic() + timeout

        def remaining() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        forwarder = self._forwarder if self._forwarder_pid == os.getpid() else None
        if forwarder is not None and not forwarder.flush(remaining()):
            return False
        manager = self._manager
        if manager is not None and self._pid == os.getpid():
            return manager.flush(remaining())
        return True

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

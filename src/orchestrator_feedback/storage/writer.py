"""The background writer: one thread per store that commits handed-over entries in groups.

The caller's cost is one queue put. The thread takes the first waiting entry, gathers
more until ``batch_size`` or until ``batch_window`` seconds have passed, and commits them
together with the store's ``create_many``; listeners then run on this thread, in commit
order. If a group fails (a duplicate id, say), its entries are retried one by one, so one
bad entry costs only itself.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from orchestrator_feedback.errors import FeedbackError, StorageClosedError
from orchestrator_feedback.models import FeedbackEntry

__all__ = ["BackgroundWriter"]

logger = logging.getLogger("orchestrator_feedback.writer")


class _Flush:
    """A marker in the queue: commit what you have now."""


_FLUSH = _Flush()
_STOP = object()


class BackgroundWriter:
    """Commits entries handed over by ``submit`` on a thread of its own."""

    def __init__(
        self,
        commit: Callable[[Sequence[FeedbackEntry]], object],
        commit_one: Callable[[FeedbackEntry], object],
        *,
        queue_size: int,
        batch_size: int,
        batch_window: float,
        on_full: str,
        on_drop: Callable[[FeedbackEntry], None] | None = None,
    ) -> None:
        if on_full not in ("block", "drop"):
            raise FeedbackError(f"on_full must be 'block' or 'drop', not {on_full!r}")
        self._commit = commit
        self._commit_one = commit_one
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._batch_size = batch_size
        self._batch_window = batch_window
        self._drop = on_full == "drop"
        self._on_drop = on_drop
        # Tickets are handed out and queued under one lock, so queue order is ticket
        # order and "committed up to ticket N" means every entry before N is done too.
        self._submit_lock = threading.Lock()
        self._last_ticket = 0
        self._lock = threading.Condition()
        self._done_upto = 0  # the last ticket committed (or failed for good)
        self._failures: list[str] = []
        self.dropped = 0
        """Entries refused because the queue was full (``on_full = "drop"``)."""
        self.failed = 0
        """Entries that could not be stored (logged)."""
        self._stopped = False
        self._thread = threading.Thread(
            target=self._run, name="orchestrator-feedback-writer", daemon=True
        )
        self._thread.start()

    @property
    def depth(self) -> int:
        """Entries waiting to be committed."""
        return self._queue.qsize()

    def submit(self, entry: FeedbackEntry) -> int | None:
        """Hand ``entry`` over; return its ticket, or None if it was dropped.

        Waits while the queue is full (back-pressure) unless ``on_full`` is ``"drop"``.
        """
        if self._stopped:
            raise StorageClosedError("the storage is closed")
        try:
            with self._submit_lock:
                ticket = self._last_ticket + 1
                if self._drop:
                    self._queue.put_nowait((ticket, entry))
                else:
                    self._queue.put((ticket, entry))
                self._last_ticket = ticket
        except queue.Full:
            self.dropped += 1
            logger.warning(
                "background queue full (%d entries): dropped feedback for task %r",
                self._queue.maxsize,
                entry.task_id,
            )
            if self._on_drop is not None:
                self._on_drop(entry)
            return None
        return ticket

    def wait(self, ticket: int | None = None, timeout: float | None = None) -> bool:
        """Wait until ``ticket`` (default: every ticket handed out so far) is committed.

        Returns False on timeout. Raises ``FeedbackError`` if entries failed to be stored
        since the last wait.
        """
        target = self._last_ticket if ticket is None else ticket
        if self._done_upto < target:
            self._queue.put(_FLUSH)  # cut the batch window short
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._done_upto < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._lock.wait(remaining)
            if self._failures:
                failures, self._failures = self._failures, []
                raise FeedbackError(
                    f"{len(failures)} background entries could not be stored; "
                    f"the last error: {failures[-1]}"
                )
        return True

    def stop(self, timeout: float | None = None) -> None:
        """Commit what is queued, then end the thread."""
        if self._stopped:
            return
        self._stopped = True
        self._queue.put(_STOP)
        self._thread.join(timeout)

    # -- the writer thread --------------------------------------------------------------

    def _finish(self, last_ticket: int) -> None:
        with self._lock:
            self._done_upto = last_ticket
            self._lock.notify_all()

    def _run(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            batch: list[tuple[int, FeedbackEntry]] = []
            if item is _STOP:
                stop = True
            elif item is not _FLUSH:
                batch.append(item)
                stop = self._gather(batch)
            if batch:
                self._write(batch)

    def _gather(self, batch: list[tuple[int, FeedbackEntry]]) -> bool:
        """Add entries until the batch is full or its window closes; True on stop."""
        deadline = time.monotonic() + self._batch_window
        while len(batch) < self._batch_size:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    return False
            if item is _STOP:
                return True
            if item is _FLUSH:
                return False
            batch.append(item)
        return False

    def _write(self, batch: list[tuple[int, FeedbackEntry]]) -> None:
        entries = [entry for _ticket, entry in batch]
        try:
            self._commit(entries)
        except Exception:
            for entry in entries:
                try:
                    self._commit_one(entry)
                except Exception as error:
                    self.failed += 1
                    with self._lock:
                        self._failures.append(f"{type(error).__name__}: {error}")
                    logger.error("background write of feedback %s failed: %s", entry.id, error)
        self._finish(batch[-1][0])

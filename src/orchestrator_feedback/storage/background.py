"""A store's background writes: hand entries to a writer thread, flush, stop at close or
at interpreter exit."""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from orchestrator_feedback.errors import FeedbackError
from orchestrator_feedback.models import FeedbackEntry
from orchestrator_feedback.storage.writer import BackgroundWriter

__all__ = ["BackgroundWrites"]

logger = logging.getLogger("orchestrator_feedback.storage")

_open_writers: weakref.WeakSet[BackgroundWrites] = weakref.WeakSet()

CLOSE_WAIT_WARNING_INTERVAL = 10.0
"""Seconds between warnings while ``close()`` or interpreter exit waits for the writer: a
hanging ``feedback_recorded`` subscriber holds the writer thread, and a process that will
not exit should say why."""


@atexit.register
def _flush_at_exit() -> None:
    """Commit what background writers still hold when the interpreter exits."""
    for writes in list(_open_writers):
        try:
            writes.stop(writes.exit_timeout)
        except Exception:
            logger.exception("could not flush feedback at exit")


class BackgroundWrites:
    """A store's background writer, started on first use (see ``FeedbackStorage.submit``).

    ``write_group`` commits a group of checked entries (the store's ``create_many`` path),
    ``write_one`` one entry (when a group fails and its entries are retried alone);
    ``is_transient`` (the backend's) says whether a database error is worth retrying (a
    lost connection, a full disk), also when it is the cause of the error a write raised.
    """

    def __init__(
        self,
        write_group: Callable[[list[FeedbackEntry]], object],
        write_one: Callable[[FeedbackEntry], object],
        is_transient: Callable[[BaseException], bool],
        writer_options: dict[str, Any],
        exit_timeout: float | None,
    ) -> None:
        self._write_group = write_group
        self._write_one = write_one
        self._backend_is_transient = is_transient
        self._writer_options = writer_options
        self.exit_timeout = exit_timeout
        """How long interpreter exit waits for the writer (None: as long as it takes)."""
        self._writer: BackgroundWriter | None = None
        self._writer_lock = threading.Lock()

    def submit(self, entry: FeedbackEntry) -> int | None:
        """Hand ``entry`` to this store's background writer and return at once.

        The writer thread (started on first use) commits entries in groups of up to
        ``batch_size``, waiting at most ``batch_window`` seconds to fill one; listeners
        run on that thread, in commit order. Returns a ticket for ``wait_committed``, or
        None if the queue was full and ``on_full="drop"``; with ``on_full="block"`` (the
        default) a full queue makes the caller wait.
        """
        writer = self._writer or self._start_writer()
        return writer.submit(entry)

    def wait_committed(self, ticket: int, timeout: float | None = None) -> bool:
        """Wait until the entry with this ``submit`` ticket is committed; False on timeout."""
        writer = self._writer
        return True if writer is None else writer.wait(ticket, timeout)

    def flush(self, timeout: float | None = None) -> bool:
        """Return once every entry submitted before the call is committed (False on timeout).

        Raises ``FeedbackError`` if some entries could not be stored since the last flush.
        """
        writer = self._writer
        return True if writer is None else writer.wait(None, timeout)

    @property
    def queue_depth(self) -> int:
        """Entries waiting in the background queue (the group being written is not counted)."""
        writer = self._writer
        return 0 if writer is None else writer.depth

    @property
    def dropped_count(self) -> int:
        """Entries dropped because the background queue was full."""
        writer = self._writer
        return 0 if writer is None else writer.dropped

    def _is_transient(self, error: BaseException) -> bool:
        # A write that lost its connection is re-raised as a FeedbackError from the cause.
        cause = error.__cause__
        transient = self._backend_is_transient
        return transient(error) or (cause is not None and transient(cause))

    def after_fork_in_child(self) -> None:
        """In a forked child: the parent's writer thread is not here, and what it still
        holds is the parent's to write; this child starts a writer of its own if it
        submits."""
        self._writer = None
        self._writer_lock = threading.Lock()
        _open_writers.discard(self)

    def stop(self, timeout: float | None = None) -> None:
        """Commit what the writer holds, then end its thread; after ``timeout`` seconds
        (None: no limit) give up, and say how many entries remain unsaved."""
        writer = self._writer
        if writer is not None and writer.on_own_thread:
            raise FeedbackError(
                "close() was called by a feedback_recorded subscriber on the writer thread, "
                "which cannot wait for itself: close the store from the host"
            )
        if writer is None:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                remaining = None if deadline is None else deadline - time.monotonic()
                step = CLOSE_WAIT_WARNING_INTERVAL
                if remaining is not None:
                    step = min(step, max(remaining, 0.0))
                if writer.wait(None, step):
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    unsaved = writer.abandon()
                    logger.error(
                        "closing the store after waiting %g s for the background writer: "
                        "%d entries remain unsaved (the database takes no writes: a full "
                        "disk, a lock held elsewhere, a lost connection)",
                        timeout,
                        unsaved,
                    )
                    break
                logger.warning(
                    "closing the store: still waiting for the background writer "
                    "(%d entries queued): a slow feedback_recorded subscriber holds it, "
                    "or the database takes no writes",
                    writer.depth,
                )
        finally:
            writer.stop()
            _open_writers.discard(self)

    def _start_writer(self) -> BackgroundWriter:
        with self._writer_lock:
            if self._writer is None:
                self._writer = BackgroundWriter(
                    self._write_group,
                    self._write_one,
                    transient=self._is_transient,
                    **self._writer_options,
                )
                _open_writers.add(self)
            return self._writer

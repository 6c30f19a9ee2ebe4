"""The background writer: one thread per store that commits handed-over entries in groups.

The caller's cost is an append to a deque (no lock handoff, no thread switch). The
thread wakes when work arrives, waits up to ``batch_window`` seconds for a group to fill
(a ``flush`` cuts the wait short), and commits up to ``batch_size`` entries together
(the store's ``create_many`` as its backend's ``insert_group`` does it); listeners then run
on this thread, in commit order. A caller waiting for room in a full queue goes on as soon
as a group leaves the queue, so it refills the queue while that group is committed. If a
group fails (a duplicate id, say), a warning says so and its entries are retried one by
one, so one bad entry costs only itself.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from orchestrator_feedback.drops import DropReporter
from orchestrator_feedback.errors import (
    DuplicateFeedbackError,
    FeedbackError,
    FeedbackValidationError,
    StorageClosedError,
)
from orchestrator_feedback.models import FeedbackEntry, validate_metadata

__all__ = ["BackgroundWriter"]

logger = logging.getLogger("orchestrator_feedback.writer")

RETRY_WARNING_INTERVAL = 10.0
"""Seconds between two warnings while the database takes no writes."""
_FIRST_RETRY_DELAY = 0.05
_LONGEST_RETRY_DELAY = 2.0


_REGROUPS = 3
"""How often a failed group is committed again without the entries its error points at,
before the rest are committed one by one."""


def _unstorable(
    waiting: list[tuple[int, FeedbackEntry]], error: BaseException
) -> list[tuple[int, FeedbackEntry]]:
    """The entries of a failed group that ``error`` is about: those whose metadata was
    changed in place into something that is not JSON, and the one whose id clashed."""
    bad = []
    for item in waiting:
        try:
            validate_metadata(item[1].metadata)
        except FeedbackValidationError:
            bad.append(item)
    position = getattr(error, "position", None)
    if (
        isinstance(error, DuplicateFeedbackError)
        and position is not None
        and 0 <= position < len(waiting)
        and waiting[position][0] not in {offset for offset, _entry in bad}
    ):
        bad.append(waiting[position])
    return bad


class BackgroundWriter:
    """Commits entries handed over by ``submit`` on a thread of its own."""

    def __init__(
        self,
        commit: Callable[[list[FeedbackEntry]], object],
        commit_one: Callable[[FeedbackEntry], object],
        *,
        queue_size: int,
        batch_size: int,
        batch_window: float,
        on_full: str,
        transient: Callable[[BaseException], bool] = lambda error: False,
    ) -> None:
        # The options were validated by FeedbackStorage, which builds the writer.
        self._commit = commit
        self._commit_one = commit_one
        self._transient = transient  # an error the database recovers from: wait, retry
        self._queue_size = queue_size
        self._batch_size = batch_size
        self._batch_window = batch_window
        self._drop = on_full == "drop"
        self._items: collections.deque[FeedbackEntry] = collections.deque()
        # Tickets are handed out and entries queued under one lock, so the Nth entry in
        # the queue's history has ticket N, and "done up to ticket N" means every entry
        # before it is done too. The writer counts what it takes (no ticket per item: a
        # tuple per entry would be one more object for the garbage collector to walk).
        self._submit_lock = threading.Lock()
        self._last_ticket = 0
        self._taken_upto = 0  # the ticket of the last entry the writer took
        self._arrived = threading.Event()  # the deque went from empty to not empty
        self._hurry = threading.Event()  # a flush wants the current group now
        self._progress = threading.Condition()  # tickets done, room in the queue
        self._done_upto = 0
        # (ticket, error) of each entry that could not be stored, until a wait reports it.
        self._failures: list[tuple[int, str]] = []
        self._stopping = False
        self._abandoned = False  # close() gave up waiting: stop retrying, end the thread
        self._drops = DropReporter(
            logger, f"background queue full ({queue_size} entries)", ("entry", "entries")
        )
        self.failed = 0
        """Entries that could not be stored (logged, and reported by the next wait)."""
        self._thread = threading.Thread(
            target=self._run, name="orchestrator-feedback-writer", daemon=True
        )
        self._thread.start()

    @property
    def dropped(self) -> int:
        """Entries refused because the queue was full (``on_full = "drop"``)."""
        return self._drops.dropped

    @property
    def on_own_thread(self) -> bool:
        """Whether the caller runs on this writer's thread (a subscriber, say)."""
        return threading.current_thread() is self._thread

    @property
    def depth(self) -> int:
        """Entries waiting to be committed."""
        return len(self._items)

    def submit(self, entry: FeedbackEntry) -> int | None:
        """Hand ``entry`` over; return its ticket, or None if it was dropped.

        Waits while the queue is full (back-pressure) unless ``on_full`` is ``"drop"``.
        """
        if self._stopping:
            raise StorageClosedError("the storage is closed")
        # The writer's own thread (a feedback_recorded subscriber recording a derived
        # entry) never waits for room, nor drops: only it makes room, so it would wait for
        # ever. Its entries go past the bound instead. Others wait without holding the
        # lock, so the writer can always queue.
        while True:
            with self._submit_lock:
                # The thread is looked up only when the queue is full: not on the hot path.
                if len(self._items) < self._queue_size or self.on_own_thread:
                    ticket = self._last_ticket = self._last_ticket + 1
                    self._items.append(entry)
                    break
            if self._drop:
                self._drops.drop(f"the last for task {entry.task_id!r}")
                return None
            self._wait_for_room()
        if not self._arrived.is_set():
            self._arrived.set()
        return ticket

    def _wait_for_room(self) -> None:
        self._hurry.set()
        with self._progress:
            while len(self._items) >= self._queue_size and not self._stopping:
                self._progress.wait(1.0)

    def wait(self, ticket: int | None = None, timeout: float | None = None) -> bool:
        """Wait until ``ticket`` (default: every ticket handed out so far) is done.

        Returns False on timeout, and at once when called on the writer's own thread
        (by a ``feedback_recorded`` subscriber) for entries not committed yet. Raises
        ``FeedbackError`` if that ticket's entry could not be stored; without a ticket, if
        any entry could not be stored since the last such wait. Each failure is raised once:
        to the waiter of its ticket, or else to the next wait for everything.
        """
        target = self._last_ticket if ticket is None else ticket
        if self.on_own_thread:
            # A subscriber on this thread waiting for a later commit would wait on itself:
            # it is told "not yet" at once, as a timeout would.
            timeout = 0.0
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._progress:
            while self._done_upto < target:
                self._hurry.set()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._progress.wait(remaining)
            if not self._failures:
                return True
            if ticket is None:
                failures, self._failures = self._failures, []
                raise FeedbackError(
                    f"{len(failures)} background "
                    f"{'entry' if len(failures) == 1 else 'entries'} could not be stored; "
                    f"the last error: {failures[-1][1]}"
                )
            for failure in self._failures:
                if failure[0] == ticket:
                    self._failures.remove(failure)
                    raise FeedbackError(f"the entry could not be stored: {failure[1]}")
        return True

    def abandon(self) -> int:
        """Give up on what is not committed yet (close's time limit ran out): the thread
        stops retrying and ends. Returns how many entries that leaves unsaved."""
        self._abandoned = True
        with self._progress:
            return self._last_ticket - self._done_upto

    def stop(self, timeout: float | None = None) -> None:
        """Commit what is queued, then end the thread."""
        if self._stopping:
            return
        self._stopping = True
        self._hurry.set()
        self._arrived.set()
        self._thread.join(timeout)
        self._drops.close()

    # -- the writer thread --------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._arrived.wait()
            if not self._stopping and len(self._items) < self._batch_size:
                self._hurry.wait(self._batch_window)  # let a group gather
            self._hurry.clear()
            batch = [] if self._abandoned else self._take_batch()
            if batch:
                # The queue has room again: a host waiting on a full queue refills it
                # while this group is written, rather than after.
                with self._progress:
                    self._progress.notify_all()
                self._write(batch, self._taken_upto)
            elif self._stopping or self._abandoned:
                return
            else:
                self._arrived.clear()
                # Entries, or a stop, may have come between the take and the clear: their
                # set() was undone, so set again (stop() sets _stopping before _arrived).
                if self._items or self._stopping:
                    self._arrived.set()

    def _take_batch(self) -> list[FeedbackEntry]:
        take = self._items.popleft
        batch = [take() for _ in range(min(len(self._items), self._batch_size))]
        self._taken_upto += len(batch)
        return batch

    def _write(self, entries: list[FeedbackEntry], last_ticket: int) -> None:
        # BaseException throughout: this thread must outlive anything a subscriber raises
        # (SystemExit, CancelledError), or flush() and close() would wait for ever.
        try:
            self._persist(self._commit, entries)
        except BaseException as group_error:
            if self._abandoned:  # close() gave up: said there, once for all
                first_ticket = last_ticket - len(entries) + 1
                with self._progress:
                    self._failures.extend(
                        (first_ticket + offset, str(group_error)) for offset in range(len(entries))
                    )
                    self._done_upto = last_ticket
                    self._progress.notify_all()
                return
            first_ticket = last_ticket - len(entries) + 1
            waiting = list(enumerate(entries))
            for _attempt in range(_REGROUPS):
                # Take out the entries the error points at (one that no longer encodes,
                # a clashing id), and commit the rest together again.
                bad = _unstorable(waiting, group_error)
                if not bad:
                    break
                for offset, entry in bad:
                    self._fail(first_ticket + offset, entry, group_error)
                taken_out = {offset for offset, _entry in bad}
                waiting = [item for item in waiting if item[0] not in taken_out]
                try:
                    if waiting:
                        self._persist(self._commit, [entry for _offset, entry in waiting])
                    waiting = []
                    break
                except BaseException as error:
                    group_error = error
            if waiting:
                # Said once per group: a group statement that always failed would otherwise
                # only show as a slow writer.
                logger.warning(
                    "a group of %d background entries could not be committed together "
                    "(%s: %s); committing them one by one",
                    len(waiting),
                    type(group_error).__name__,
                    group_error,
                )
            for offset, entry in waiting:
                try:
                    self._persist(self._commit_one, entry)
                except BaseException as error:
                    self._fail(first_ticket + offset, entry, error)
        with self._progress:
            self._done_upto = last_ticket
            self._progress.notify_all()

    def _fail(self, ticket: int, entry: FeedbackEntry, error: BaseException) -> None:
        self.failed += 1
        with self._progress:
            self._failures.append((ticket, f"{type(error).__name__}: {error}"))
        logger.error("background write of feedback %s failed: %s", entry.id, error)

    def _persist(self, commit: Callable[[Any], object], what: Any) -> None:
        """``commit(what)``, waiting out the errors the database recovers from (a lock
        another process holds past the busy timeout, a lost connection): this thread waits
        and tries again, backing off up to 2 s, for as long as that takes, and says so at
        most every 10 s. Meanwhile the queue fills, and callers wait or drop as ``on_full``
        says; nothing handed over is given up.

        One case stays ambiguous: a connection lost during COMMIT may have committed the
        group. The retry then clashes on the ids, and those entries are reported as
        failed although they are stored (once: the ids are the primary key)."""
        delay = _FIRST_RETRY_DELAY
        failing_since = next_warning = 0.0
        while True:
            try:
                commit(what)
            except BaseException as error:
                if not self._transient(error):
                    raise
                if self._abandoned:
                    raise StorageClosedError(
                        "the store was closed before this entry could be stored"
                    ) from error
                now = time.monotonic()
                failing_since = failing_since or now
                if now >= next_warning:
                    next_warning = now + RETRY_WARNING_INTERVAL
                    logger.warning(
                        "the database takes no writes (%s: %s) for %.1f s now; "
                        "%d background entries wait, and the writer keeps trying",
                        type(error).__name__,
                        error,
                        now - failing_since,
                        len(self._items) + (len(what) if isinstance(what, list) else 1),
                    )
                time.sleep(delay)
                delay = min(delay * 2, _LONGEST_RETRY_DELAY)
                continue
            if failing_since:
                logger.warning(
                    "the database takes writes again, after %.1f s",
                    time.monotonic() - failing_since,
                )
            return

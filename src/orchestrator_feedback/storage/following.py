"""A store's ``follow``: every new entry, in commit order, as any process commits it.

The backend keeps the order (``sqlite_follow``, ``postgres_follow``) and watches for
commits (``ChangeSignal``); this part checks the caller's arguments, finds where to start
and reads forward, a batch at a time, never holding a pooled connection while the caller
works on what it was given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import attrs

from orchestrator_feedback.errors import FeedbackValidationError, StorageClosedError
from orchestrator_feedback.forks import fork_gate
from orchestrator_feedback.models import FeedbackEntry, FeedbackType, to_utc
from orchestrator_feedback.storage.backends.values import FollowFilter, FollowPosition
from orchestrator_feedback.storage.transactions import Transactions

__all__ = ["Following"]

BATCH = 500
"""Entries read per statement."""

Since = FeedbackEntry | str | datetime | None


def _poll(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise FeedbackValidationError("poll", value, "must be seconds, more than 0")
    return float(value)


class Following:
    """``follow`` over one store's backend, through ``transactions``; ``reveal`` decrypts
    what the store's privacy policy encrypted."""

    def __init__(
        self,
        transactions: Transactions,
        reveal: Callable[[list[FeedbackEntry]], list[FeedbackEntry]],
    ) -> None:
        self._transactions = transactions
        self._reveal = reveal

    def follow(
        self,
        since: Since,
        feedback_type: FeedbackType | str | None,
        worker_id: str | None,
        task_type: str | None,
        poll: float,
    ) -> Iterator[FeedbackEntry]:
        """Check the arguments now (not at the first ``next``), then follow; see
        ``FeedbackStorage.follow``."""
        where = FollowFilter(feedback_type=feedback_type, worker_id=worker_id, task_type=task_type)
        interval = _poll(poll)
        if not isinstance(since, FeedbackEntry | str | datetime | None):
            raise FeedbackValidationError(
                "since", since, "must be an entry, an entry's id, a datetime or None"
            )
        if isinstance(since, datetime):
            since = to_utc(since, "since")
        start, replay = self._start(since)
        return self._entries(start, replay, where, interval)

    def _start(self, since: Since) -> tuple[FollowPosition, datetime | None]:
        """Where to read from, and the moment after which earlier commits are replayed
        (for a datetime ``since``)."""
        backend = self._transactions.backend
        read = self._transactions.read
        if since is None or isinstance(since, datetime):
            return read(backend.follow_head), since
        feedback_id = since.id if isinstance(since, FeedbackEntry) else since
        position = read(lambda connection: backend.follow_position_of(connection, feedback_id))
        if position is None:
            raise FeedbackValidationError(
                "since", feedback_id, "is no stored entry's id: nothing to follow on from"
            )
        return position, None

    def _entries(
        self,
        start: FollowPosition,
        replay: datetime | None,
        where: FollowFilter,
        poll: float,
    ) -> Iterator[FeedbackEntry]:
        # Where to start was read at the call; every read below goes on from there, so the
        # watch can begin now, when the caller first asks (and so always gets closed).
        signal = self._transactions.backend.change_signal()
        try:
            if replay is not None:
                earlier = attrs.evolve(where, created_after=replay)
                yield from self._read_to(FollowPosition(0, 0), start, earlier)
            position = start
            while True:
                try:
                    with fork_gate.working():
                        entries, position = self._batch(position, None, where)
                except StorageClosedError:
                    return  # the store was closed: nothing more will come through it
                yield from self._reveal(entries)
                if len(entries) < BATCH:
                    while not signal.wait(poll):
                        pass
        finally:
            signal.close()

    def _read_to(
        self, after: FollowPosition, upto: FollowPosition, where: FollowFilter
    ) -> Iterator[FeedbackEntry]:
        """The entries committed after ``after`` up to ``upto``, in commit order."""
        while True:
            entries, after = self._batch(after, upto, where)
            yield from self._reveal(entries)
            if len(entries) < BATCH:
                return

    def _batch(
        self, after: FollowPosition, upto: FollowPosition | None, where: FollowFilter
    ) -> tuple[list[FeedbackEntry], FollowPosition]:
        backend = self._transactions.backend

        def read(connection: Any) -> tuple[list[FeedbackEntry], FollowPosition]:
            return backend.follow_read(connection, after, upto, where, BATCH)

        return self._transactions.read(read)

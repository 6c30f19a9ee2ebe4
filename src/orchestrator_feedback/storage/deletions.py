"""A store's deletions: one entry, a task's, what retention says is too old, everything
of one user; each keeping (or, for retention and erasure, removing) the history."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from orchestrator_feedback.errors import FeedbackError, FeedbackValidationError
from orchestrator_feedback.models import FeedbackEntry, FeedbackType, to_utc
from orchestrator_feedback.privacy import PrivacyPolicy, RetentionPolicy
from orchestrator_feedback.storage.backends.base import FeedbackChange, FeedbackFilter
from orchestrator_feedback.storage.listeners import Events
from orchestrator_feedback.storage.transactions import Transactions

__all__ = ["BATCH_SECONDS", "Deletions"]

BATCH_SECONDS = 0.05
"""What one transaction of a long deletion (purge, retention, forget-user) aims to take:
the longest a writer waits for the write lock behind it is about this."""
PAUSE_RATIO = 0.5
_FIRST_BATCH = 20
_MOST_BATCH = 5_000
_MOST_GROWTH = 1.5
"""A batch is at most this many times the one before: the time an entry takes to delete
varies threefold (scattered entries, a cold page), and a batch sized on one fast batch took
10 times ``BATCH_SECONDS`` (a user's 9,000 entries among 10,000,000)."""


class Deletions:
    """Deletes from one store: ``transactions`` over its backend; ``history`` keeps what
    ``delete`` removes; ``retention`` is what ``purge()`` applies; ``user_filter`` turns a
    user id into the filter of its stored form; ``reveal`` decrypts entries read back."""

    def __init__(
        self,
        transactions: Transactions,
        *,
        privacy: PrivacyPolicy | None,
        retention: RetentionPolicy | None,
        history: bool,
        user_filter: Callable[[str], FeedbackFilter],
        reveal: Callable[[list[FeedbackEntry]], list[FeedbackEntry]],
    ) -> None:
        self._transactions = transactions
        self._backend = transactions.backend
        self._privacy = privacy
        self._retention = retention
        self._history = history
        self._user_filter = user_filter
        self._reveal = reveal

    def delete(self, where: FeedbackFilter | str, *, keep_history: bool = True) -> int:
        """Delete what ``where`` matches (an id, or a filter); return how many went.
        ``keep_history=False`` (retention) also removes their history."""
        backend = self._backend
        listening = self._transactions.listeners.listening
        history = self._history and keep_history
        purging = not keep_history and isinstance(where, FeedbackFilter)

        def remove(connection: Any) -> tuple[int, Events]:
            if history:
                backend.save_history(connection, where, "delete", datetime.now(UTC))
            if purging:
                backend.delete_history(connection, where)  # type: ignore[arg-type]
            deleted = backend.delete(connection, where, returning=listening)
            if isinstance(deleted, int):
                return deleted, []
            entries = self._reveal(deleted)
            return len(entries), [(FeedbackChange.DELETED, entry) for entry in entries]

        return self._transactions.write(remove, one_statement=not (history or purging))

    def purge(
        self, older_than: timedelta | datetime | None = None
    ) -> int | dict[FeedbackType, int]:
        """Delete entries created before ``older_than`` (an age or a moment) and their
        history; without it, apply the retention policy (see ``FeedbackStorage.purge``)."""
        if older_than is None:
            return self.by_policy(dry_run=False)
        if isinstance(older_than, timedelta):
            try:
                cutoff = datetime.now(UTC) - older_than
            except OverflowError:
                raise FeedbackValidationError(
                    "older_than", older_than, "reaches back before the year 1"
                ) from None
        elif isinstance(older_than, datetime):
            cutoff = to_utc(older_than, "older_than")
        else:
            raise FeedbackValidationError(
                "older_than", older_than, "must be a timedelta or a datetime"
            )
        return self._in_batches(FeedbackFilter(created_before=cutoff), keep_history=False)

    def _in_batches(self, where: FeedbackFilter, *, keep_history: bool) -> int:
        """Delete what ``where`` matches, oldest first, in short transactions of their own
        (each sized to take about ``BATCH_SECONDS``), so writers never wait long; inside
        the caller's transaction, all in that one. Listeners hear of each batch at its
        commit."""
        if self._transactions.connection is not None:
            return self.delete(where, keep_history=keep_history)
        backend = self._backend
        # As many as match now: entries a writer adds meanwhile (the same user's, say)
        # cannot keep the deletion going for ever.
        matching = self._transactions.read(functools.partial(_count, backend, where))
        total, size, per_entry = 0, _FIRST_BATCH, 0.0
        while total < matching:
            ids = self._transactions.read(
                functools.partial(_first_ids, backend, where, min(size, matching - total))
            )
            if not ids:
                break
            started = time.monotonic()
            total += self.delete(attrs.evolve(where, ids=tuple(ids)), keep_history=keep_history)
            took = time.monotonic() - started
            # The seconds an entry takes, smoothed over the batches so far (half the last).
            last = max(took, 1e-4) / len(ids)
            per_entry = last if not per_entry else (per_entry + last) / 2
            grown, fits = round(size * _MOST_GROWTH), round(BATCH_SECONDS / per_entry)
            size = max(1, min(_MOST_BATCH, grown, fits))
            # A pause of half the batch's time: a writer waiting for the lock (on SQLite it
            # asks at most 25 ms apart) gets it between two batches. Without it, batches
            # back to back starved a writer for a second (benchmarks/deletions).
            time.sleep(min(took, BATCH_SECONDS) * PAUSE_RATIO)
        if not keep_history:
            # History of entries deleted earlier (their history kept then) that also matches.
            self._transactions.write(lambda c: (backend.delete_history(c, where), []))
        return total

    def by_policy(self, *, dry_run: bool) -> dict[FeedbackType, int]:
        policy = self._retention
        if policy is None or not policy.active:
            raise FeedbackError(
                "no retention policy is configured: set [retention] max_age_days "
                "(or per type) or give purge an age"
            )
        counts: dict[FeedbackType, int] = {}
        backend = self._backend
        for feedback_type, cutoff in policy.cutoffs():
            where = FeedbackFilter(feedback_type=feedback_type, created_before=cutoff)
            if dry_run:
                counts[feedback_type] = self._transactions.read(
                    functools.partial(_count, backend, where)
                )
            else:
                counts[feedback_type] = self._in_batches(where, keep_history=False)
        return counts

    def forget_user(self, user_id: str) -> int:
        """Erase every entry by ``user_id`` and their history, reclaim the space, and
        return how many entries went. Takes the original user id (also when anonymised).
        """
        wheres = [self._user_filter(user_id)]
        if self._privacy is not None and self._privacy.anonymize_user_ids:
            wheres.append(FeedbackFilter(user_id=self._privacy.legacy_pseudonym(user_id)))
        count = sum(self._in_batches(where, keep_history=False) for where in wheres)
        if self._transactions.connection is None:
            self._backend.reclaim_space()
        return count


def _first_ids(backend: Any, where: FeedbackFilter, limit: int, connection: Any) -> list[str]:
    return list(backend.matching_ids(connection, where, limit))


def _count(backend: Any, where: FeedbackFilter, connection: Any) -> int:
    return int(backend.count(connection, where))

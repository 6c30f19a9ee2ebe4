"""A store's deletions: one entry, a task's, what retention says is too old, everything
of one user; each keeping (or, for retention and erasure, removing) the history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator_feedback.errors import FeedbackError, FeedbackValidationError
from orchestrator_feedback.models import FeedbackEntry, FeedbackType, to_utc
from orchestrator_feedback.privacy import PrivacyPolicy, RetentionPolicy
from orchestrator_feedback.storage.backends.base import FeedbackChange, FeedbackFilter
from orchestrator_feedback.storage.listeners import Events
from orchestrator_feedback.storage.transactions import Transactions

__all__ = ["Deletions"]


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
        return self.delete(FeedbackFilter(created_before=cutoff), keep_history=False)

    def by_policy(self, *, dry_run: bool) -> dict[FeedbackType, int]:
        policy = self._retention
        if policy is None or not policy.active:
            raise FeedbackError(
                "no retention policy is configured: set [retention] max_age_days "
                "(or per type) or give purge an age"
            )
        counts: dict[FeedbackType, int] = {}
        backend = self._backend
        with self._transactions.transaction():
            for feedback_type, cutoff in policy.cutoffs():
                where = FeedbackFilter(feedback_type=feedback_type, created_before=cutoff)
                if dry_run:
                    connection = self._transactions.connection
                    counts[feedback_type] = backend.count(connection, where)
                else:
                    counts[feedback_type] = self.delete(where, keep_history=False)
        return counts

    def forget_user(self, user_id: str) -> int:
        """Erase every entry by ``user_id`` and their history, reclaim the space, and
        return how many entries went. Takes the original user id (also when anonymised).
        """
        wheres = [self._user_filter(user_id)]
        if self._privacy is not None and self._privacy.anonymize_user_ids:
            wheres.append(FeedbackFilter(user_id=self._privacy.legacy_pseudonym(user_id)))
        backend = self._backend

        def erase(connection: Any) -> tuple[int, Events]:
            count, events = 0, []
            for where in wheres:
                backend.delete_history(connection, where)
                deleted = backend.delete(
                    connection, where, returning=self._transactions.listeners.listening
                )
                if isinstance(deleted, int):
                    count += deleted
                else:
                    count += len(deleted)
                    events += [(FeedbackChange.DELETED, entry) for entry in deleted]
            return count, events

        count = self._transactions.write(erase)
        if self._transactions.connection is None:
            backend.reclaim_space()
        return count

"""A store's reads of entries: by id, by filter, streamed, and an entry's versions; the
filters pseudonymised and the entries decrypted by the store's privacy policy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from orchestrator_feedback.errors import FeedbackValidationError
from orchestrator_feedback.models import FeedbackEntry
from orchestrator_feedback.privacy import PrivacyPolicy
from orchestrator_feedback.storage.backends.values import FeedbackFilter
from orchestrator_feedback.storage.transactions import Transactions

__all__ = ["Reads"]


class Reads:
    """Entries read through ``transactions``; ``privacy`` (None: none) reveals them."""

    def __init__(self, transactions: Transactions, privacy: PrivacyPolicy | None) -> None:
        self._transactions = transactions
        self._backend = transactions.backend
        self._privacy = privacy

    def filter(self, **filters: Any) -> FeedbackFilter:
        """A ``FeedbackFilter``; a user id is turned into its stored (pseudonymous) form."""
        user_id = filters.get("user_id")
        if user_id is not None and self._privacy is not None:
            if type(user_id) is not str:
                raise FeedbackValidationError("user_id", user_id, "must be a string")
            filters["user_id"] = self._privacy.pseudonym(user_id)
        return FeedbackFilter(**filters)

    def reveal(self, entries: list[FeedbackEntry]) -> list[FeedbackEntry]:
        """Decrypt what the privacy policy encrypted."""
        return entries if self._privacy is None else self._privacy.reveal(entries)

    def get(self, feedback_id: str) -> FeedbackEntry | None:
        """The entry with this id, or None."""
        backend = self._backend
        entry = self._transactions.read(lambda connection: backend.get(connection, feedback_id))
        return None if entry is None else self.reveal([entry])[0]

    def select(
        self, where: FeedbackFilter, limit: int | None = None, offset: int = 0
    ) -> list[FeedbackEntry]:
        """The matching entries, ordered by ``created_at`` then ``id``, one page."""
        backend = self._backend
        return self.reveal(
            self._transactions.read(
                lambda connection: backend.select(connection, where, limit, offset)
            )
        )

    def count(self, where: FeedbackFilter) -> int:
        """How many entries match."""
        backend = self._backend
        return self._transactions.read(lambda connection: backend.count(connection, where))

    def iterate(self, where: FeedbackFilter) -> Iterator[FeedbackEntry]:
        """The matching entries, oldest first, in constant memory."""
        backend = self._backend
        entries = self._transactions.iterate(lambda connection: backend.iterate(connection, where))
        if self._privacy is None or not self._privacy.encrypted_keys:
            yield from entries
        else:
            for entry in entries:
                yield self.reveal([entry])[0]

    def history(self, feedback_id: str) -> list[FeedbackEntry]:
        """Every version of an entry, oldest first, the current one last (if it exists)."""
        backend = self._backend

        def versions(connection: Any) -> list[FeedbackEntry]:
            found = backend.history(connection, feedback_id)
            current = backend.get(connection, feedback_id)
            return [*found, current] if current is not None else found

        return self.reveal(self._transactions.read(versions))

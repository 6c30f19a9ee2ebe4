"""A store's writes of entries: each entry turned into its stored row once (privacy
applied), inserted or overwritten in one write, and the change told to the listeners."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from orchestrator_feedback.errors import FeedbackNotFoundError
from orchestrator_feedback.models import FeedbackEntry
from orchestrator_feedback.privacy import PrivacyPolicy
from orchestrator_feedback.serialization import EncodedRow, entry_to_row
from orchestrator_feedback.storage.backends.values import FeedbackChange, OnConflict
from orchestrator_feedback.storage.listeners import Events, RecordedEvents
from orchestrator_feedback.storage.transactions import Transactions

__all__ = ["EntryWrites"]


class EntryWrites:
    """Creates and updates entries through ``transactions``; ``privacy`` protects each
    row before it is written; ``history`` keeps the version an update replaces. Entries
    come checked (``FeedbackStorage`` checks them where they enter)."""

    def __init__(
        self, transactions: Transactions, privacy: PrivacyPolicy | None, *, history: bool
    ) -> None:
        self._transactions = transactions
        self._backend = transactions.backend
        self._protect = None if privacy is None else privacy.protect_row
        self._history = history

    def _row_of(self, entry: FeedbackEntry) -> EncodedRow:
        row = entry_to_row(entry)
        return row if self._protect is None else self._protect(row)

    def create(self, entry: FeedbackEntry) -> FeedbackEntry:
        """Insert one entry (one statement: no BEGIN/COMMIT outside a transaction)."""
        backend = self._backend
        listening = self._transactions.listeners.listening
        row = self._row_of(entry)

        def insert(connection: Any) -> tuple[FeedbackEntry, Events]:
            backend.insert(connection, (row,), OnConflict.ERROR)
            return entry, [(FeedbackChange.RECORDED, entry)] if listening else []

        return self._transactions.write(insert, one_statement=True)

    def create_many(self, batch: list[FeedbackEntry]) -> list[FeedbackEntry]:
        """Insert ``batch`` in one write: all of it, or none."""
        if not batch:
            return batch
        backend = self._backend
        rows = [self._row_of(entry) for entry in batch]
        return self._insert_new(
            batch,
            lambda connection: backend.insert(connection, rows, OnConflict.ERROR),
            one_statement=len(rows) <= backend.rows_per_statement,
        )

    def create_group(self, group: list[FeedbackEntry]) -> list[FeedbackEntry]:
        """``create_many`` as the background writer runs it: through the backend's
        ``insert_group``, which encodes the rows in bulk."""
        backend = self._backend
        protect = self._protect
        return self._insert_new(
            group,
            lambda connection: backend.insert_group(connection, group, protect),
            one_statement=len(group) <= backend.group_rows_per_statement,
        )

    def _insert_new(
        self,
        entries: list[FeedbackEntry],
        insert: Callable[[Any], object],
        *,
        one_statement: bool,
    ) -> list[FeedbackEntry]:
        """Run ``insert`` as one write that records ``entries``, and return them."""
        listening = self._transactions.listeners.listening

        def write(connection: Any) -> tuple[list[FeedbackEntry], Events]:
            insert(connection)
            return entries, RecordedEvents(entries) if listening else []

        return self._transactions.write(write, one_statement=one_statement)

    def update(self, entry: FeedbackEntry) -> FeedbackEntry:
        """Overwrite the stored entry with ``entry``'s id, keeping the old version in the
        history; ``FeedbackNotFoundError`` if there is none."""
        backend = self._backend
        row = self._row_of(entry)
        history = self._history

        def overwrite(connection: Any) -> tuple[FeedbackEntry, Events]:
            if history:
                backend.save_history(connection, entry.id, "update", datetime.now(UTC))
            if not backend.update(connection, row):
                raise FeedbackNotFoundError(entry.id)
            return entry, [(FeedbackChange.UPDATED, entry)]

        return self._transactions.write(overwrite, one_statement=not history)

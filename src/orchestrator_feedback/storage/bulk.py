"""Streaming import and export for ``FeedbackStorage``: JSON Lines, JSON arrays, CSV."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from orchestrator_feedback.errors import (
    DuplicateFeedbackError,
    FeedbackError,
    FeedbackValidationError,
)
from orchestrator_feedback.models import FeedbackEntry
from orchestrator_feedback.privacy import ENCRYPTED_MARKER
from orchestrator_feedback.serialization import entry_from_row
from orchestrator_feedback.storage import transfer
from orchestrator_feedback.storage.base import FeedbackChange, OnConflict
from orchestrator_feedback.storage.core import StoreCore, check_entry

__all__ = ["BulkTransfer", "Target"]

logger = logging.getLogger("orchestrator_feedback.storage")

Target = str | os.PathLike[str] | IO[str]


class _DryRunDone(Exception):
    """Raised inside an import's transaction to roll a dry run back."""

    def __init__(self, written: int) -> None:
        super().__init__(written)
        self.written = written


class BulkTransfer(StoreCore):
    """The import/export half of ``FeedbackStorage``."""

    def iter_all(self, **filters: Any) -> Iterator[FeedbackEntry]:  # pragma: no cover - facade
        """Yield matching entries (implemented by ``FeedbackStorage``)."""
        raise NotImplementedError

    # -- import and export -------------------------------------------------------------

    def export_jsonl(self, dest: Target, **filters: Any) -> int:
        """Write matching entries as JSON Lines (one ``to_dict`` a line); return the count."""
        return transfer.export_entries(self._exported(filters), dest, transfer.JSONL)

    def export_json(self, dest: Target, **filters: Any) -> int:
        """Write matching entries as one JSON array; return the count."""
        return transfer.export_entries(self._exported(filters), dest, transfer.JSON_ARRAY)

    def export_csv(self, dest: Target, **filters: Any) -> int:
        """Write matching entries as CSV (metadata as JSON text); return the count."""
        return transfer.export_entries(self._exported(filters), dest, transfer.CSV)

    def _exported(self, filters: dict[str, Any]) -> Iterator[FeedbackEntry]:
        """``iter_all``, warning once at the end if encrypted values could not be read: the
        file then holds placeholders, not the values, and is no backup of them."""
        privacy = self._privacy
        if privacy is None or not privacy.encrypted_keys:
            yield from self.iter_all(**filters)
            return
        unreadable = 0
        for entry in self.iter_all(**filters):
            unreadable += privacy.unreadable(entry)
            yield entry
        if unreadable:
            logger.warning(
                "%d exported entries hold encrypted metadata that could not be read (no key, "
                "or a key rotated out): the file has %r in their place, not the values",
                unreadable,
                ENCRYPTED_MARKER,
            )

    def import_jsonl(
        self, src: Target, on_conflict: str = "error", *, dry_run: bool = False
    ) -> int:
        """Import a JSON Lines file atomically; return how many entries were written.

        ``on_conflict``: ``"error"`` (an existing id aborts), ``"skip"`` or ``"replace"``.
        A bad record aborts the whole import with an error naming its line and field.
        ``dry_run=True`` checks everything, rolls back, and returns the count.
        """
        return self._import(src, on_conflict, transfer.read_jsonl, dry_run)

    def import_json(self, src: Target, on_conflict: str = "error", *, dry_run: bool = False) -> int:
        """Import a JSON array file atomically, like ``import_jsonl``."""
        return self._import(src, on_conflict, transfer.read_json_array, dry_run)

    def import_csv(self, src: Target, on_conflict: str = "error", *, dry_run: bool = False) -> int:
        """Import a CSV file written by ``export_csv`` atomically, like ``import_jsonl``."""
        return self._import(src, on_conflict, transfer.read_csv, dry_run)

    def import_entries(
        self, entries: Iterable[FeedbackEntry], on_conflict: str = "error", *, dry_run: bool = False
    ) -> int:
        """Store entries from any iterable (another store's ``iter_all()``, say) in one
        transaction, by the bulk path; return how many were written."""
        batches = transfer.batches_of_entries(check_entry(entry) for entry in entries)
        return self._import_batches(batches, on_conflict, dry_run)

    def _import(self, src: Target, on_conflict: str, reader: transfer.Reader, dry_run: bool) -> int:
        try:
            return self._import_batches(transfer.read_batches(src, reader), on_conflict, dry_run)
        except DuplicateFeedbackError as error:
            if error.location is not None:
                raise
            # A streaming backend learns of the clash only at the end: find its line.
            location = transfer.locate_id(src, reader, error.feedback_id)
            raise DuplicateFeedbackError(error.feedback_id, location=location) from None

    def _import_batches(
        self, batches: Iterator[list[transfer.Located]], on_conflict: str, dry_run: bool
    ) -> int:
        try:
            policy = OnConflict(on_conflict)
        except ValueError:
            raise FeedbackValidationError(
                "on_conflict", on_conflict, "must be one of: error, skip, replace"
            ) from None
        try:
            with self.transaction():
                written = self._insert_batches(batches, policy)
                if dry_run:
                    raise _DryRunDone(written)
        except _DryRunDone as done:
            return done.written
        except Exception as error:
            if isinstance(error, FeedbackError) or not self._backend.is_disconnect(error):
                raise
            raise FeedbackError(
                f"lost the connection to {self._backend.url} during the import ({error}); an "
                "import is one transaction, so nothing of it was stored (unless the connection "
                "broke during its final commit: count the entries to be sure); run it again"
            ) from error
        return written

    def _insert_batches(self, batches: Iterator[list[transfer.Located]], policy: OnConflict) -> int:
        """Insert every batch in the caller's transaction; return how many rows were written.

        With ``skip`` or ``replace`` the ids already stored are looked up first (only when
        someone needs to know): ``replace`` keeps the overwritten version in the history
        and reports the change as an update; ``skip`` reports only what it wrote.
        """
        backend = self._backend
        state = self._state
        connection = state.connection
        written = 0
        protect = self._privacy.protect_row if self._privacy is not None else None
        listening = self._listening
        keeps_history = policy is OnConflict.REPLACE and self._history
        look_up = policy is not OnConflict.ERROR and (listening or keeps_history)
        present: set[str] = set()  # stored before this batch (by the file's earlier lines too)
        changed_at = datetime.now(UTC)
        with backend.bulk_load(connection):
            for batch in batches:
                if protect is not None:
                    batch = [(protect(row), where) for row, where in batch]
                if look_up:
                    ids = [str(row[0]) for row, _where in batch]
                    present |= backend.stored_ids(connection, [i for i in ids if i not in present])
                    if keeps_history:
                        replaced = [i for i in dict.fromkeys(ids) if i in present]
                        backend.save_history_of_ids(connection, replaced, "update", changed_at)
                written += transfer.insert_batch(backend, connection, batch, policy)
                if listening:
                    state.pending.extend(self._import_events(batch, policy, present))
                if look_up:
                    present.update(str(row[0]) for row, _where in batch)
        return written

    @staticmethod
    def _import_events(
        batch: list[transfer.Located], policy: OnConflict, present: set[str]
    ) -> list[tuple[FeedbackChange, FeedbackEntry]]:
        """What one imported batch did: new ids recorded; with ``replace`` stored ids
        updated; with ``skip`` stored ids nothing."""
        events = []
        seen = set(present)
        for row, _where in batch:
            feedback_id = row[0]
            if feedback_id not in seen:
                events.append((FeedbackChange.RECORDED, entry_from_row(row)))
                seen.add(feedback_id)
            elif policy is OnConflict.REPLACE:
                events.append((FeedbackChange.UPDATED, entry_from_row(row)))
        return events

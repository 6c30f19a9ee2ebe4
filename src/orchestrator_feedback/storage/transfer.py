"""A store's import and export in bulk: JSON Lines, JSON arrays, CSV, another store's
entries; each import one transaction (or, asked for, checked whole and then written in
batches of transactions), through the backend's bulk path."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO

from orchestrator_feedback.errors import (
    DuplicateFeedbackError,
    FeedbackError,
    FeedbackValidationError,
)
from orchestrator_feedback.models import FeedbackEntry
from orchestrator_feedback.privacy import ENCRYPTED_MARKER, PrivacyPolicy
from orchestrator_feedback.storage import file_formats
from orchestrator_feedback.storage.backends.base import FeedbackChange, OnConflict
from orchestrator_feedback.storage.listeners import RowEvents
from orchestrator_feedback.storage.options import check_entry
from orchestrator_feedback.storage.transactions import Transactions

__all__ = ["BulkTransfer", "Target"]

logger = logging.getLogger("orchestrator_feedback.storage")

Target = str | os.PathLike[str] | IO[str]


_PAUSE_RATIO = 0.5
"""A batched import's pause after each transaction, as a share of its time: other writers
waiting for SQLite's lock get it (they ask at most 25 ms apart: ``when_unlocked``)."""


def _policy(on_conflict: str) -> OnConflict:
    try:
        return OnConflict(on_conflict)
    except ValueError:
        raise FeedbackValidationError(
            "on_conflict", on_conflict, "must be one of: error, skip, replace"
        ) from None


def _rewind_point(src: Target) -> int | None:
    """Where to read ``src`` again from: None for a path (opened again); a file object's
    position, or a clear error when it cannot go back."""
    if isinstance(src, str | os.PathLike):
        return None
    if not src.seekable():
        raise FeedbackValidationError(
            "batch_size", src, "needs a path or a seekable file: the file is read twice"
        )
    return src.tell()


def _rewind(src: Target, start: int | None) -> None:
    if start is not None and not isinstance(src, str | os.PathLike):
        src.seek(start)


class _DryRunDone(Exception):
    """Raised inside an import's transaction to roll a dry run back."""

    def __init__(self, written: int) -> None:
        super().__init__(written)
        self.written = written


class BulkTransfer:
    """Imports into and exports from one store: ``transactions`` over its backend,
    ``privacy`` applied to what is imported and checked on what is exported, ``history``
    kept of what an import replaces."""

    def __init__(
        self, transactions: Transactions, privacy: PrivacyPolicy | None, *, history: bool
    ) -> None:
        self._transactions = transactions
        self._backend = transactions.backend
        self._privacy = privacy
        self._history = history

    def export(self, entries: Iterator[FeedbackEntry], dest: Target, file_format: str) -> int:
        """Write ``entries`` to ``dest`` as ``file_formats.JSONL``, ``JSON_ARRAY`` or ``CSV``;
        return the count."""
        return file_formats.export_entries(self._exported(entries), dest, file_format)

    def _exported(self, entries: Iterator[FeedbackEntry]) -> Iterator[FeedbackEntry]:
        """``entries``, warning once at the end if encrypted values could not be read: the
        file then holds placeholders, not the values, and is no backup of them."""
        privacy = self._privacy
        if privacy is None or not privacy.encrypted_keys:
            yield from entries
            return
        unreadable = 0
        for entry in entries:
            unreadable += privacy.unreadable(entry)
            yield entry
        if unreadable:
            logger.warning(
                "%d exported entries hold encrypted metadata that could not be read (no key, "
                "or a key rotated out): the file has %r in their place, not the values",
                unreadable,
                ENCRYPTED_MARKER,
            )

    def import_entries(
        self, entries: Iterable[FeedbackEntry], on_conflict: str = "error", *, dry_run: bool = False
    ) -> int:
        """Store entries from any iterable (another store's ``iter_all()``, say) in one
        transaction, by the bulk path; return how many were written."""
        batches = file_formats.batches_of_entries(check_entry(entry) for entry in entries)
        return self._import_batches(batches, on_conflict, dry_run)

    def import_file(
        self,
        src: Target,
        on_conflict: str,
        reader: file_formats.Reader,
        dry_run: bool,
        batch_size: int | None = None,
    ) -> int:
        """Import the file ``src`` read by ``reader`` (``file_formats.read_jsonl``, say) in one
        transaction, or in transactions of ``batch_size`` entries (see
        ``FeedbackStorage.import_jsonl``); return how many were written."""
        if batch_size is not None and not dry_run:
            return self._import_in_batches(src, on_conflict, reader, batch_size)
        try:
            return self._import_batches(
                file_formats.read_batches(src, reader), on_conflict, dry_run
            )
        except DuplicateFeedbackError as error:
            if error.location is not None:
                raise
            # A streaming backend learns of the clash only at the end: find its line.
            location = file_formats.locate_id(src, reader, error.feedback_id)
            raise DuplicateFeedbackError(error.feedback_id, location=location) from None

    def _import_in_batches(
        self, src: Target, on_conflict: str, reader: file_formats.Reader, batch_size: int
    ) -> int:
        """Check every record of ``src`` (writing nothing), then write ``batch_size`` entries
        a transaction, pausing half a transaction's time between two so that other writers
        get the lock; fold the rollups as they grow."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise FeedbackValidationError(
                "batch_size", batch_size, "must be a whole number, 1 or more"
            )
        policy = _policy(on_conflict)
        start = _rewind_point(src)
        for _batch in file_formats.read_batches(src, reader):
            pass  # a bad record raises here, naming its line and field, before any write
        _rewind(src, start)
        written = 0
        chunk: list[list[file_formats.Located]] = []
        rows = 0
        try:
            for batch in file_formats.read_batches(src, reader):
                chunk.append(batch)
                rows += len(batch)
                if rows >= batch_size:
                    written += self._commit_chunk(chunk, policy)
                    chunk, rows = [], 0
            if chunk:
                written += self._commit_chunk(chunk, policy)
        except Exception as error:
            if not isinstance(error, FeedbackError) and not self._backend.is_disconnect(error):
                raise
            raise FeedbackError(
                f"{error}; the {written:,} entries before it were imported (in batches of "
                f"{batch_size:,}, each committed): import the file again with on_conflict "
                "'skip' to finish"
            ) from error
        self._transactions.read(self._backend.fold_rollups)
        return written

    def _commit_chunk(self, chunk: list[list[file_formats.Located]], policy: OnConflict) -> int:
        began = time.monotonic()
        with self._transactions.transaction():
            written = self._insert_batches(iter(chunk), policy)
        time.sleep((time.monotonic() - began) * _PAUSE_RATIO)
        self._transactions.read(self._backend.fold_rollups)
        return written

    def _import_batches(
        self, batches: Iterator[list[file_formats.Located]], on_conflict: str, dry_run: bool
    ) -> int:
        policy = _policy(on_conflict)
        try:
            with self._transactions.transaction():
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
        # A big import leaves the rollups folded, so that the next reader does not fold it
        # (in short steps: writers get the lock between two).
        self._transactions.read(self._backend.fold_rollups)
        return written

    def _insert_batches(
        self, batches: Iterator[list[file_formats.Located]], policy: OnConflict
    ) -> int:
        """Insert every batch in the caller's transaction; return how many rows were written.

        With ``skip`` or ``replace`` the ids already stored are looked up first (only when
        someone needs to know): ``replace`` keeps the overwritten version in the history
        and reports the change as an update; ``skip`` reports only what it wrote.
        """
        backend = self._backend
        transactions = self._transactions
        connection = transactions.connection
        written = 0
        protect = self._privacy.protect_row if self._privacy is not None else None
        listening = transactions.listeners.listening
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
                written += file_formats.insert_batch(backend, connection, batch, policy)
                if listening:
                    transactions.add_pending(self._import_events(batch, policy, present))
                if look_up:
                    present.update(str(row[0]) for row, _where in batch)
        return written

    @staticmethod
    def _import_events(
        batch: list[file_formats.Located], policy: OnConflict, present: set[str]
    ) -> RowEvents:
        """What one imported batch did: new ids recorded; with ``replace`` stored ids
        updated; with ``skip`` stored ids nothing."""
        changes = []
        seen = set(present)
        for row, _where in batch:
            feedback_id = row[0]
            if feedback_id not in seen:
                changes.append((FeedbackChange.RECORDED, row))
                seen.add(feedback_id)
            elif policy is OnConflict.REPLACE:
                changes.append((FeedbackChange.UPDATED, row))
        return RowEvents(changes)

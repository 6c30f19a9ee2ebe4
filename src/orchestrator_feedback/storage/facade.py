"""``FeedbackStorage``: the one storage API, whatever backend holds the data.

Validation, per-thread transactions, committed-change listeners, privacy, history and
summaries live here (and in ``core``, ``background`` and ``bulk``), once; backends only
run SQL.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, overload

from orchestrator_feedback.errors import (
    FeedbackError,
    FeedbackNotFoundError,
    FeedbackValidationError,
)
from orchestrator_feedback.forks import renew_after_fork
from orchestrator_feedback.models import (
    FeedbackEntry,
    FeedbackSummary,
    FeedbackType,
    TrendPoint,
    WorkerStats,
    to_utc,
)
from orchestrator_feedback.privacy import MAX_RETENTION_DAYS, PrivacyPolicy, RetentionPolicy
from orchestrator_feedback.serialization import entry_to_row
from orchestrator_feedback.storage.background import BackgroundWrites
from orchestrator_feedback.storage.base import (
    ALL,
    FeedbackChange,
    FeedbackFilter,
    OnConflict,
    QueryRow,
    StorageBackend,
)
from orchestrator_feedback.storage.bulk import BulkTransfer
from orchestrator_feedback.storage.core import (
    ChangeListener,
    Events,
    RecordedEvents,
    _ThreadState,
    check_entry,
    check_id,
)
from orchestrator_feedback.storage.options import (
    check_connection_options,
    check_exit_timeout,
    check_page,
    is_number,
    writer_options,
)
from orchestrator_feedback.storage.pseudonym_keys import refuse_another_secret
from orchestrator_feedback.storage.registry import open_backend
from orchestrator_feedback.storage.summaries import summary_of
from orchestrator_feedback.storage.writer import BackgroundWriter

__all__ = ["ChangeListener", "FeedbackStorage"]


class FeedbackStorage(BackgroundWrites, BulkTransfer):
    """Stores feedback entries in SQLite (a path, ``":memory:"``, ``sqlite:///...``) or
    PostgreSQL (``postgresql://user@host/db``), or in a ready ``StorageBackend``.

    Thread-safe: a pool of ``pool_size`` connections is shared by all threads; waiting
    more than ``timeout`` seconds for a connection or a lock raises. Use it as a context
    manager to close it at the end.

    ``listeners`` are called as ``listener(change, entry)`` after each commit, never for
    work that was rolled back; an exception in one is logged and ignored.
    ``privacy`` pseudonymises user ids and encrypts chosen metadata values; ``retention``
    is what ``purge()`` applies; ``history`` keeps every version that ``update`` and
    ``delete`` replace. ``queue_size``, ``batch_size``, ``batch_window`` and ``on_full``
    shape background writes (``submit``); ``exit_timeout`` is how long interpreter exit
    waits for them (None: as long as it takes).
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str] | StorageBackend = "feedback.db",
        *,
        pool_size: int = 5,
        timeout: float = 30.0,
        synchronous: str = "NORMAL",
        listeners: Iterable[ChangeListener] = (),
        privacy: PrivacyPolicy | None = None,
        retention: RetentionPolicy | None = None,
        history: bool = True,
        queue_size: int = 10_000,
        batch_size: int = 10_000,
        batch_window: float = 0.05,
        on_full: str = "block",
        exit_timeout: float | None = None,
    ) -> None:
        check_connection_options(pool_size, timeout)
        self._writer_options = writer_options(
            queue_size=queue_size, batch_size=batch_size, batch_window=batch_window, on_full=on_full
        )
        check_exit_timeout(exit_timeout)
        self._exit_timeout = exit_timeout
        self._backend = (
            db_path
            if isinstance(db_path, StorageBackend)
            else open_backend(
                db_path, pool_size=pool_size, timeout=float(timeout), synchronous=synchronous
            )
        )
        self._listeners = list(listeners)
        self._batch_listeners = []
        self._state = _ThreadState()
        self._privacy = privacy if privacy is not None and privacy.active else None
        self._retention = retention
        self._history = history
        if self._privacy is not None and self._privacy.anonymize_user_ids:
            try:
                refuse_another_secret(self._backend, self._privacy)
            except FeedbackError:
                self._backend.close()
                raise
        self._writer: BackgroundWriter | None = None
        self._writer_lock = threading.Lock()
        renew_after_fork(self)  # a forked child leaves the parent's connections alone

    def close(self, timeout: float | None = None) -> None:
        """Commit what the background writer holds, then close every connection.

        ``timeout``: wait at most this many seconds for the writer (None, the default:
        as long as it takes), then log how many entries remain unsaved and close anyway.
        Any later call raises ``StorageClosedError``.
        """
        try:
            self._stop_writer(timeout)
        finally:
            self._backend.close()

    # -- writing -----------------------------------------------------------------------

    def create(self, entry: FeedbackEntry) -> FeedbackEntry:
        """Store a new entry and return it; ``DuplicateFeedbackError`` if its id exists."""
        check_entry(entry)
        backend = self._backend
        listening = self._listening

        row = entry_to_row(entry)
        if self._privacy is not None:
            row = self._privacy.protect_row(row)

        def insert(connection: Any) -> tuple[FeedbackEntry, Events]:
            backend.insert(connection, (row,), OnConflict.ERROR)
            return entry, [(FeedbackChange.RECORDED, entry)] if listening else []

        return self._write(insert, one_statement=True)

    def create_many(self, entries: Iterable[FeedbackEntry]) -> list[FeedbackEntry]:
        """Store many entries in one transaction: all of them, or none."""
        batch = [check_entry(entry) for entry in entries]
        if not batch:
            return batch
        backend = self._backend
        rows = [entry_to_row(entry) for entry in batch]
        if self._privacy is not None:
            rows = [self._privacy.protect_row(row) for row in rows]
        return self._insert_new(
            batch,
            lambda connection: backend.insert(connection, rows, OnConflict.ERROR),
            one_statement=len(rows) <= backend.rows_per_statement,
        )

    def _create_group(self, group: list[FeedbackEntry]) -> list[FeedbackEntry]:
        """``create_many`` as the background writer runs it, on entries ``submit``
        checked: through the backend's ``insert_group``."""
        backend = self._backend
        protect = None if self._privacy is None else self._privacy.protect_row
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
        listening = self._listening

        def write(connection: Any) -> tuple[list[FeedbackEntry], Events]:
            insert(connection)
            return entries, RecordedEvents(entries) if listening else []

        return self._write(write, one_statement=one_statement)

    def update(self, entry: FeedbackEntry) -> FeedbackEntry:
        """Overwrite the stored entry with the same id; ``FeedbackNotFoundError`` if absent."""
        check_entry(entry)
        backend = self._backend

        row = entry_to_row(entry)
        if self._privacy is not None:
            row = self._privacy.protect_row(row)
        history = self._history

        def overwrite(connection: Any) -> tuple[FeedbackEntry, Events]:
            if history:
                backend.save_history(connection, entry.id, "update", datetime.now(UTC))
            if not backend.update(connection, row):
                raise FeedbackNotFoundError(entry.id)
            return entry, [(FeedbackChange.UPDATED, entry)]

        return self._write(overwrite, one_statement=not history)

    def delete(self, feedback_id: str) -> bool:
        """Delete one entry; return whether it existed."""
        check_id(feedback_id)
        return self._delete(feedback_id) > 0

    def delete_by_task(self, task_id: str) -> int:
        """Delete every entry of a task; return how many went."""
        return self._delete(FeedbackFilter(task_id=check_id(task_id)))

    @overload
    def purge(self, older_than: None = None) -> dict[FeedbackType, int]: ...

    @overload
    def purge(self, older_than: timedelta | datetime) -> int: ...

    def purge(
        self, older_than: timedelta | datetime | None = None
    ) -> int | dict[FeedbackType, int]:
        """Delete old feedback (and its history) for retention.

        With ``older_than`` (a timedelta or a datetime) delete entries created before
        then and return the count. Without it apply the configured ``RetentionPolicy``
        (a maximum age, with per-type overrides) and return the counts per type.
        """
        if older_than is None:
            return self._purge_by_policy(dry_run=False)
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
        return self._delete(FeedbackFilter(created_before=cutoff), keep_history=False)

    def retention_preview(self) -> dict[FeedbackType, int]:
        """What ``purge()`` would delete under the retention policy, per type."""
        return self._purge_by_policy(dry_run=True)

    def _purge_by_policy(self, dry_run: bool) -> dict[FeedbackType, int]:
        policy = self._retention
        if policy is None or not policy.active:
            raise FeedbackError(
                "no retention policy is configured: set [retention] max_age_days "
                "(or per type) or give purge an age"
            )
        counts: dict[FeedbackType, int] = {}
        with self.transaction():
            for feedback_type, cutoff in policy.cutoffs():
                where = FeedbackFilter(feedback_type=feedback_type, created_before=cutoff)
                if dry_run:
                    counts[feedback_type] = self.count(
                        feedback_type=feedback_type, created_before=cutoff
                    )
                else:
                    counts[feedback_type] = self._delete(where, keep_history=False)
        return counts

    def forget_user(self, user_id: str) -> int:
        """Erase every entry by ``user_id`` and their history, reclaim the space, and
        return how many entries went. Takes the original user id (also when anonymised).
        """
        check_id(user_id)
        wheres = [self._filter(user_id=user_id)]
        if self._privacy is not None and self._privacy.anonymize_user_ids:
            wheres.append(FeedbackFilter(user_id=self._privacy.legacy_pseudonym(user_id)))
        backend = self._backend

        def erase(connection: Any) -> tuple[int, Events]:
            count, events = 0, []
            for where in wheres:
                backend.delete_history(connection, where)
                deleted = backend.delete(connection, where, returning=self._listening)
                if isinstance(deleted, int):
                    count += deleted
                else:
                    count += len(deleted)
                    events += [(FeedbackChange.DELETED, entry) for entry in deleted]
            return count, events

        count = self._write(erase)
        if self._state.connection is None:
            backend.reclaim_space()
        return count

    def get_history(self, feedback_id: str) -> list[FeedbackEntry]:
        """Every version of an entry, oldest first: the previous versions kept by
        ``update`` and ``delete``, then the current one if it still exists."""
        check_id(feedback_id)
        backend = self._backend

        def versions(connection: Any) -> list[FeedbackEntry]:
            found = backend.history(connection, feedback_id)
            current = backend.get(connection, feedback_id)
            return [*found, current] if current is not None else found

        return self._reveal(self._read(versions))

    def _delete(self, where: FeedbackFilter | str, *, keep_history: bool = True) -> int:
        backend = self._backend
        listening = self._listening
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

        return self._write(remove, one_statement=not (history or purging))

    # -- reading -----------------------------------------------------------------------

    def get(self, feedback_id: str) -> FeedbackEntry | None:
        """Return the entry with this id, or None."""
        check_id(feedback_id)
        backend = self._backend
        entry = self._read(lambda connection: backend.get(connection, feedback_id))
        return entry if entry is None or self._privacy is None else self._reveal([entry])[0]

    def get_by_task(self, task_id: str) -> list[FeedbackEntry]:
        """Return every entry of a task, oldest first."""
        where = FeedbackFilter(task_id=check_id(task_id))
        backend = self._backend
        return self._reveal(
            self._read(lambda connection: backend.select(connection, where, None, 0))
        )

    def get_by_type(self, feedback_type: FeedbackType | str) -> list[FeedbackEntry]:
        """Return every entry of a type, oldest first."""
        where = FeedbackFilter(feedback_type=feedback_type)
        backend = self._backend
        return self._reveal(
            self._read(lambda connection: backend.select(connection, where, None, 0))
        )

    def get_filtered(
        self,
        task_id: str | None = None,
        feedback_type: FeedbackType | str | None = None,
        user_id: str | None = None,
        min_rating: int | None = None,
        max_rating: int | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[FeedbackEntry]:
        """Return matching entries ordered by ``created_at`` then ``id``, one page at a time.

        ``created_after`` is inclusive, ``created_before`` exclusive; ``limit=None``
        returns every match.
        """
        where = self._filter(
            task_id=task_id,
            feedback_type=feedback_type,
            user_id=user_id,
            min_rating=min_rating,
            max_rating=max_rating,
            created_after=created_after,
            created_before=created_before,
        )
        check_page(limit, offset)
        backend = self._backend
        return self._reveal(
            self._read(lambda connection: backend.select(connection, where, limit, offset))
        )

    def count(self, **filters: Any) -> int:
        """Return how many entries match the ``get_filtered`` filters given."""
        where = self._filter(**filters)
        backend = self._backend
        return self._read(lambda connection: backend.count(connection, where))

    def get_all(self) -> list[FeedbackEntry]:
        """Return every entry, oldest first (see ``iter_all`` for large stores)."""
        backend = self._backend
        return self._reveal(self._read(lambda connection: backend.select(connection, ALL, None, 0)))

    def iter_all(self, **filters: Any) -> Iterator[FeedbackEntry]:
        """Yield every entry (or the matching ones), oldest first, in constant memory."""
        where = self._filter(**filters)
        connection = self._state.connection
        owned = connection is None
        if owned:
            connection = self._backend.acquire()
        try:
            entries = self._backend.iterate(connection, where)
            if self._privacy is None or not self._privacy.encrypted_keys:
                yield from entries
            else:
                for entry in entries:
                    yield self._reveal([entry])[0]
        finally:
            if owned:
                self._backend.release(connection)

    def get_summary(self, task_id: str | None = None) -> FeedbackSummary:
        """Return counts, average rating, rating distribution and counts by type.

        ``task_id=None`` summarises the whole store.
        """
        if task_id is not None:
            check_id(task_id)
        backend = self._backend
        return summary_of(self._read(lambda connection: backend.rating_counts(connection, task_id)))

    def worker_stats(self) -> list[WorkerStats]:
        """Per worker (metadata ``worker_id``): count, average rating, failures; best first."""
        backend = self._backend
        rows = self._read(lambda connection: backend.worker_summary(connection))
        return [WorkerStats(str(w), n, average, failures or 0) for w, n, average, failures in rows]

    def trends(self, days: int = 30, by: str = "day") -> list[TrendPoint]:
        """Average rating and count per day or week over the last ``days`` days."""
        if type(days) is not int or not 1 <= days <= MAX_RETENTION_DAYS:
            raise FeedbackValidationError(
                "days", days, f"must be a whole number from 1 to {MAX_RETENTION_DAYS:,}"
            )
        if by not in ("day", "week"):
            raise FeedbackValidationError("by", by, "must be day or week")
        since = datetime.now(UTC) - timedelta(days=days)
        backend = self._backend
        rows = self._read(lambda connection: backend.rating_trend(connection, since, by))
        return [TrendPoint(str(period), average, count) for period, average, count in rows]

    def execute_query(
        self,
        sql: str,
        params: Sequence[Any] | dict[str, Any] = (),
        *,
        read_only: bool = False,
        time_limit: float | None = None,
        max_rows: int | None = None,
    ) -> list[QueryRow]:
        """Run one statement of your own SQL and return its rows, indexable by position and
        column name.

        Datetime parameters are converted to the stored timestamp format, so comparisons
        with ``created_at`` are right. Changes made here are not told to listeners.
        ``read_only=True`` refuses any statement that would change the database.
        ``time_limit`` (seconds) stops a statement that runs longer; ``max_rows`` refuses a
        result with more rows. Whatever the statement, the store's connections are left as
        they were: a statement that would begin, end or save a transaction, attach a file
        or change a connection setting raises ``QueryRefusedError``, as does more than one
        statement.
        """
        if time_limit is not None and (not is_number(time_limit) or not time_limit > 0):
            raise FeedbackValidationError("time_limit", time_limit, "must be seconds > 0")
        if max_rows is not None and (type(max_rows) is not int or max_rows < 0):
            raise FeedbackValidationError("max_rows", max_rows, "must be a whole number >= 0")
        encode = self._backend.encode_parameter
        if isinstance(params, dict):
            encoded: Sequence[Any] | dict[str, Any] = {k: encode(v) for k, v in params.items()}
        else:
            encoded = [encode(value) for value in params]
        backend = self._backend
        limits: dict[str, Any] = {}
        if time_limit is not None:
            limits["time_limit"] = float(time_limit)
        if max_rows is not None:
            limits["max_rows"] = max_rows
        return self._read(
            lambda connection: backend.execute(connection, sql, encoded, read_only, **limits)
        )

"""``FeedbackStorage``: the one storage API, whatever backend holds the data.

Validation, per-thread transactions, committed-change listeners and summaries live
here, once; backends only run SQL.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import IO, Any, TypeVar

from orchestrator_feedback.errors import (
    FeedbackError,
    FeedbackNotFoundError,
    FeedbackValidationError,
)
from orchestrator_feedback.models import (
    FeedbackEntry,
    FeedbackSummary,
    FeedbackType,
    TrendPoint,
    WorkerStats,
    to_utc,
)
from orchestrator_feedback.serialization import entry_from_row, entry_to_row
from orchestrator_feedback.storage import transfer
from orchestrator_feedback.storage.base import (
    ALL,
    FeedbackChange,
    FeedbackFilter,
    OnConflict,
    QueryRow,
    StorageBackend,
)
from orchestrator_feedback.storage.registry import open_backend
from orchestrator_feedback.storage.writer import BackgroundWriter

__all__ = ["ChangeListener", "FeedbackStorage"]

logger = logging.getLogger("orchestrator_feedback.storage")

ChangeListener = Callable[[FeedbackChange, FeedbackEntry], None]
"""Called as ``listener(change, entry)`` once the change is committed."""

Result = TypeVar("Result")
Events = list[tuple[FeedbackChange, FeedbackEntry]]
Target = str | os.PathLike[str] | IO[str]


_open_writers: weakref.WeakSet[FeedbackStorage] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    """Commit what background writers still hold when the interpreter exits."""
    for storage in list(_open_writers):
        try:
            storage.close()
        except Exception:
            logger.exception("could not flush feedback at exit")


class _DryRunDone(Exception):
    """Raised inside an import's transaction to roll a dry run back."""

    def __init__(self, written: int) -> None:
        super().__init__(written)
        self.written = written


class _ThreadState(threading.local):
    """The transaction a thread is inside, if any."""

    connection: Any = None
    depth: int = 0
    pending: Events


def _check_entry(entry: object) -> FeedbackEntry:
    if type(entry) is not FeedbackEntry:
        raise FeedbackValidationError("entry", entry, "must be a FeedbackEntry")
    return entry


def _check_id(feedback_id: object) -> str:
    if type(feedback_id) is not str:
        raise FeedbackValidationError("id", feedback_id, "must be a string")
    return feedback_id


def _check_page(limit: object, offset: object) -> None:
    if limit is not None and (type(limit) is not int or limit < 0):
        raise FeedbackValidationError("limit", limit, "must be None or a whole number >= 0")
    if type(offset) is not int or offset < 0:
        raise FeedbackValidationError("offset", offset, "must be a whole number >= 0")


class FeedbackStorage:
    """Stores feedback entries in SQLite (a path, ``":memory:"``, ``sqlite:///...``) or
    PostgreSQL (``postgresql://user@host/db``), or in a ready ``StorageBackend``.

    Thread-safe: a pool of ``pool_size`` connections is shared by all threads; waiting
    more than ``timeout`` seconds for a connection or a lock raises. Use it as a context
    manager to close it at the end.

    ``listeners`` are called as ``listener(change, entry)`` after each commit, never for
    work that was rolled back; an exception in one is logged and ignored.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str] | StorageBackend = "feedback.db",
        *,
        pool_size: int = 5,
        timeout: float = 30.0,
        synchronous: str = "NORMAL",
        listeners: Iterable[ChangeListener] = (),
        queue_size: int = 10_000,
        batch_size: int = 500,
        batch_window: float = 0.05,
        on_full: str = "block",
    ) -> None:
        if type(pool_size) is not int or pool_size < 1:
            raise FeedbackValidationError("pool_size", pool_size, "must be a whole number >= 1")
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise FeedbackValidationError("timeout", timeout, "must be a number of seconds > 0")
        self._backend: StorageBackend = (
            db_path
            if isinstance(db_path, StorageBackend)
            else open_backend(
                db_path, pool_size=pool_size, timeout=float(timeout), synchronous=synchronous
            )
        )
        self._listeners: list[ChangeListener] = list(listeners)
        self._state = _ThreadState()
        self._writer_options = {
            "queue_size": queue_size,
            "batch_size": batch_size,
            "batch_window": batch_window,
            "on_full": on_full,
        }
        for name in ("queue_size", "batch_size"):
            value = self._writer_options[name]
            if type(value) is not int or value < 1:
                raise FeedbackValidationError(name, value, "must be a whole number >= 1")
        if on_full not in ("block", "drop"):
            raise FeedbackValidationError("on_full", on_full, "must be block or drop")
        self._writer: BackgroundWriter | None = None
        self._writer_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def backend(self) -> StorageBackend:
        """The backend holding the data."""
        return self._backend

    @property
    def schema_version(self) -> int:
        """The schema version of the database."""
        return self._backend.schema_version

    def close(self) -> None:
        """Commit what the background writer holds, then close every connection.

        Any later call raises ``StorageClosedError``.
        """
        writer = self._writer
        if writer is not None:
            try:
                writer.wait()
            finally:
                writer.stop()
                _open_writers.discard(self)
        self._backend.close()

    # -- background writes --------------------------------------------------------------

    def submit(self, entry: FeedbackEntry) -> int | None:
        """Hand ``entry`` to this store's background writer and return at once.

        The writer thread (started on first use) commits entries in groups of up to
        ``batch_size``, waiting at most ``batch_window`` seconds to fill one; listeners
        run on that thread, in commit order. Returns a ticket for ``wait_committed``, or
        None if the queue was full and ``on_full="drop"``; with ``on_full="block"`` (the
        default) a full queue makes the caller wait.
        """
        _check_entry(entry)
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
        """Entries submitted and not yet committed."""
        writer = self._writer
        return 0 if writer is None else writer.depth

    @property
    def dropped_count(self) -> int:
        """Entries dropped because the background queue was full."""
        writer = self._writer
        return 0 if writer is None else writer.dropped

    def _start_writer(self) -> BackgroundWriter:
        with self._writer_lock:
            if self._writer is None:
                self._writer = BackgroundWriter(
                    self.create_many,
                    self.create,
                    **self._writer_options,  # type: ignore[arg-type]
                )
                _open_writers.add(self)
            return self._writer

    def __enter__(self) -> FeedbackStorage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def add_listener(self, listener: ChangeListener) -> None:
        """Call ``listener(change, entry)`` after every committed change from now on."""
        self._listeners.append(listener)

    def remove_listener(self, listener: ChangeListener) -> None:
        """Stop calling ``listener``."""
        self._listeners.remove(listener)

    # -- transactions ------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[FeedbackStorage]:
        """Group calls: all commit on exit, all roll back on an exception.

        Nestable: an inner block is a savepoint, undone alone if it raises. Inside the
        block every call from this thread uses the same connection; other threads see
        nothing until the outermost block commits. Listeners hear of the changes then.
        """
        state = self._state
        if state.connection is not None:
            yield from self._nested_transaction(state)
            return
        backend = self._backend
        connection = backend.acquire()
        state.connection, state.depth, state.pending = connection, 1, []
        try:
            backend.begin(connection)
            try:
                yield self
                backend.commit(connection)
            except BaseException:
                backend.rollback(connection)
                raise
            events = state.pending
        finally:
            state.connection, state.depth, state.pending = None, 0, []
            backend.release(connection)
        self._notify(events)

    def _nested_transaction(self, state: _ThreadState) -> Iterator[FeedbackStorage]:
        name = f"feedback_savepoint_{state.depth}"
        mark = len(state.pending)
        self._backend.savepoint(state.connection, name)
        state.depth += 1
        try:
            yield self
        except BaseException:
            self._backend.rollback_to_savepoint(state.connection, name)
            del state.pending[mark:]
            raise
        else:
            self._backend.release_savepoint(state.connection, name)
        finally:
            state.depth -= 1

    def _write(
        self, work: Callable[[Any], tuple[Result, Events]], *, one_statement: bool = False
    ) -> Result:
        """Run ``work(connection)`` in the thread's transaction, or in one of its own.

        ``one_statement``: the work is a single SQL statement, atomic on its own, so
        outside a transaction it runs without BEGIN/COMMIT (one round trip less).
        """
        state = self._state
        if state.connection is not None:
            # Inside a caller's transaction a failed call must undo its own part only
            # (create_many is all or nothing), and PostgreSQL would otherwise abort the
            # whole transaction: run it in a savepoint of its own.
            with self.transaction():
                result, events = work(state.connection)
                state.pending.extend(events)
            return result
        backend = self._backend
        connection = backend.acquire()
        try:
            if one_statement:
                result, events = work(connection)
            else:
                backend.begin(connection)
                try:
                    result, events = work(connection)
                    backend.commit(connection)
                except BaseException:
                    backend.rollback(connection)
                    raise
        except Exception as error:
            if backend.is_disconnect(error):
                raise FeedbackError(
                    f"lost the connection to {backend.url} during a write, which may or may "
                    f"not have been committed: {error}"
                ) from error
            raise
        finally:
            backend.release(connection)
        if events:
            self._notify(events)
        return result

    def _read(self, work: Callable[[Any], Result]) -> Result:
        """Run ``work(connection)`` on the thread's transaction, or a pooled connection."""
        connection = self._state.connection
        if connection is not None:
            return work(connection)
        backend = self._backend
        for attempt in (1, 2):
            connection = backend.acquire()
            try:
                return work(connection)
            except Exception as error:
                # A server restart breaks pooled connections; a read is safe to retry once.
                if attempt == 2 or not backend.is_disconnect(error):
                    raise
                logger.warning("lost the connection to %s; retrying the read once", backend.url)
            finally:
                backend.release(connection)
        raise AssertionError("unreachable")  # pragma: no cover

    def _notify(self, events: Events) -> None:
        for listener in self._listeners:
            for change, entry in events:
                try:
                    listener(change, entry)
                except Exception:
                    logger.exception(
                        "feedback listener %r failed on %s of %s", listener, change.value, entry.id
                    )

    # -- writing -----------------------------------------------------------------------

    def create(self, entry: FeedbackEntry) -> FeedbackEntry:
        """Store a new entry and return it; ``DuplicateFeedbackError`` if its id exists."""
        _check_entry(entry)
        backend = self._backend
        listening = bool(self._listeners)

        row = entry_to_row(entry)

        def insert(connection: Any) -> tuple[FeedbackEntry, Events]:
            backend.insert(connection, (row,), OnConflict.ERROR)
            return entry, [(FeedbackChange.RECORDED, entry)] if listening else []

        return self._write(insert, one_statement=True)

    def create_many(self, entries: Iterable[FeedbackEntry]) -> list[FeedbackEntry]:
        """Store many entries in one transaction: all of them, or none."""
        batch = [_check_entry(entry) for entry in entries]
        if not batch:
            return batch
        backend = self._backend
        listening = bool(self._listeners)

        rows = [entry_to_row(entry) for entry in batch]

        def insert(connection: Any) -> tuple[list[FeedbackEntry], Events]:
            backend.insert(connection, rows, OnConflict.ERROR)
            return batch, [(FeedbackChange.RECORDED, e) for e in batch] if listening else []

        return self._write(insert)

    def update(self, entry: FeedbackEntry) -> FeedbackEntry:
        """Overwrite the stored entry with the same id; ``FeedbackNotFoundError`` if absent."""
        _check_entry(entry)
        backend = self._backend

        row = entry_to_row(entry)

        def overwrite(connection: Any) -> tuple[FeedbackEntry, Events]:
            if not backend.update(connection, row):
                raise FeedbackNotFoundError(entry.id)
            return entry, [(FeedbackChange.UPDATED, entry)]

        return self._write(overwrite, one_statement=True)

    def delete(self, feedback_id: str) -> bool:
        """Delete one entry; return whether it existed."""
        _check_id(feedback_id)
        return self._delete(feedback_id) > 0

    def delete_by_task(self, task_id: str) -> int:
        """Delete every entry of a task; return how many went."""
        return self._delete(FeedbackFilter(task_id=_check_id(task_id)))

    def purge(self, older_than: timedelta | datetime) -> int:
        """Delete entries created before a moment (or longer ago than an age); return the count."""
        if isinstance(older_than, timedelta):
            cutoff = datetime.now(UTC) - older_than
        elif isinstance(older_than, datetime):
            cutoff = to_utc(older_than, "older_than")
        else:
            raise FeedbackValidationError(
                "older_than", older_than, "must be a timedelta or a datetime"
            )
        return self._delete(FeedbackFilter(created_before=cutoff))

    def _delete(self, where: FeedbackFilter | str) -> int:
        backend = self._backend
        listening = bool(self._listeners)

        def remove(connection: Any) -> tuple[int, Events]:
            deleted = backend.delete(connection, where, returning=listening)
            if isinstance(deleted, int):
                return deleted, []
            return len(deleted), [(FeedbackChange.DELETED, entry) for entry in deleted]

        return self._write(remove, one_statement=True)

    # -- reading -----------------------------------------------------------------------

    def get(self, feedback_id: str) -> FeedbackEntry | None:
        """Return the entry with this id, or None."""
        _check_id(feedback_id)
        backend = self._backend
        return self._read(lambda connection: backend.get(connection, feedback_id))

    def get_by_task(self, task_id: str) -> list[FeedbackEntry]:
        """Return every entry of a task, oldest first."""
        where = FeedbackFilter(task_id=_check_id(task_id))
        backend = self._backend
        return self._read(lambda connection: backend.select(connection, where, None, 0))

    def get_by_type(self, feedback_type: FeedbackType | str) -> list[FeedbackEntry]:
        """Return every entry of a type, oldest first."""
        where = FeedbackFilter(feedback_type=feedback_type)
        backend = self._backend
        return self._read(lambda connection: backend.select(connection, where, None, 0))

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
        where = FeedbackFilter(
            task_id=task_id,
            feedback_type=feedback_type,
            user_id=user_id,
            min_rating=min_rating,
            max_rating=max_rating,
            created_after=created_after,
            created_before=created_before,
        )
        _check_page(limit, offset)
        backend = self._backend
        return self._read(lambda connection: backend.select(connection, where, limit, offset))

    def count(self, **filters: Any) -> int:
        """Return how many entries match the ``get_filtered`` filters given."""
        where = FeedbackFilter(**filters)
        backend = self._backend
        return self._read(lambda connection: backend.count(connection, where))

    def get_all(self) -> list[FeedbackEntry]:
        """Return every entry, oldest first (see ``iter_all`` for large stores)."""
        backend = self._backend
        return self._read(lambda connection: backend.select(connection, ALL, None, 0))

    def iter_all(self, **filters: Any) -> Iterator[FeedbackEntry]:
        """Yield every entry (or the matching ones), oldest first, in constant memory."""
        where = FeedbackFilter(**filters)
        connection = self._state.connection
        if connection is not None:
            yield from self._backend.iterate(connection, where)
            return
        connection = self._backend.acquire()
        try:
            yield from self._backend.iterate(connection, where)
        finally:
            self._backend.release(connection)

    def get_summary(self, task_id: str | None = None) -> FeedbackSummary:
        """Return counts, average rating, rating distribution and counts by type.

        ``task_id=None`` summarises the whole store.
        """
        if task_id is not None:
            _check_id(task_id)
        backend = self._backend
        groups = self._read(lambda connection: backend.rating_counts(connection, task_id))
        by_type = dict.fromkeys(FeedbackType, 0)
        distribution = dict.fromkeys(range(1, 6), 0)
        total = rated = rating_sum = 0
        for type_value, rating, count in groups:
            total += count
            by_type[FeedbackType(type_value)] += count
            if rating is not None:
                distribution[rating] += count
                rated += count
                rating_sum += rating * count
        return FeedbackSummary(
            total_count=total,
            average_rating=rating_sum / rated if rated else None,
            rating_distribution=distribution,
            feedback_by_type=by_type,
        )

    def worker_stats(self) -> list[WorkerStats]:
        """Per worker (metadata ``worker_id``): count, average rating, failures; best first."""
        backend = self._backend
        rows = self._read(lambda connection: backend.worker_summary(connection))
        return [WorkerStats(str(w), n, average, failures or 0) for w, n, average, failures in rows]

    def trends(self, days: int = 30, by: str = "day") -> list[TrendPoint]:
        """Average rating and count per day or week over the last ``days`` days."""
        if type(days) is not int or days < 1:
            raise FeedbackValidationError("days", days, "must be a whole number >= 1")
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
    ) -> list[QueryRow]:
        """Run your own SQL and return its rows, indexable by position and column name.

        Datetime parameters are converted to the stored timestamp format, so comparisons
        with ``created_at`` are right. Changes made here are not told to listeners.
        ``read_only=True`` refuses any statement that would change the database.
        """
        encode = self._backend.encode_parameter
        if isinstance(params, dict):
            encoded: Sequence[Any] | dict[str, Any] = {k: encode(v) for k, v in params.items()}
        else:
            encoded = [encode(value) for value in params]
        backend = self._backend
        return self._read(lambda connection: backend.execute(connection, sql, encoded, read_only))

    # -- import and export -------------------------------------------------------------

    def export_jsonl(self, dest: Target, **filters: Any) -> int:
        """Write matching entries as JSON Lines (one ``to_dict`` a line); return the count."""
        return transfer.export_entries(self.iter_all(**filters), dest, transfer.JSONL)

    def export_json(self, dest: Target, **filters: Any) -> int:
        """Write matching entries as one JSON array; return the count."""
        return transfer.export_entries(self.iter_all(**filters), dest, transfer.JSON_ARRAY)

    def export_csv(self, dest: Target, **filters: Any) -> int:
        """Write matching entries as CSV (metadata as JSON text); return the count."""
        return transfer.export_entries(self.iter_all(**filters), dest, transfer.CSV)

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
        batches = transfer.batches_of_entries(_check_entry(entry) for entry in entries)
        return self._import_batches(batches, on_conflict, dry_run)

    def _import(self, src: Target, on_conflict: str, reader: transfer.Reader, dry_run: bool) -> int:
        return self._import_batches(transfer.read_batches(src, reader), on_conflict, dry_run)

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
        return written

    def _insert_batches(self, batches: Iterator[list[transfer.Located]], policy: OnConflict) -> int:
        backend = self._backend
        state = self._state
        connection = state.connection
        written = 0
        with backend.bulk_load(connection):
            for batch in batches:
                written += transfer.insert_batch(backend, connection, batch, policy)
                if self._listeners:
                    state.pending.extend(
                        (FeedbackChange.RECORDED, entry_from_row(row)) for row, _where in batch
                    )
        return written

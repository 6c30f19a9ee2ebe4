"""The SQLite backend: the embedded default (stdlib ``sqlite3``, WAL, immediate writes)."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson

from orchestrator_feedback.errors import (
    DuplicateFeedbackError,
    FeedbackError,
    StorageFullError,
)
from orchestrator_feedback.models import FeedbackEntry, to_utc
from orchestrator_feedback.rules import SQLITE_JSON
from orchestrator_feedback.serialization import (
    EncodedRow,
    entries_from_rows,
    format_sqlite_timestamp,
    parse_timestamp,
)
from orchestrator_feedback.storage.backends import sqlite_decayed as decayed_sums
from orchestrator_feedback.storage.backends import sqlite_follow as following
from orchestrator_feedback.storage.backends import sqlite_rollups as rollups
from orchestrator_feedback.storage.backends import sqlite_statements as statements
from orchestrator_feedback.storage.backends.base import (
    COLUMNS,
    DecayedSums,
    FeedbackFilter,
    LifetimeRows,
    OnConflict,
    QueryRow,
    ScoreDay,
    ScoreWindow,
    StorageBackend,
    leave_to_parent,
)
from orchestrator_feedback.storage.backends.pool import ConnectionPool
from orchestrator_feedback.storage.backends.sqlite_files import (
    begin_immediate,
    cannot_open,
    connect_read_only,
    connect_writer,
    create_private_file,
    disk_is_full,
    file_identity,
    patiently,
    when_unlocked,
    writable,
)
from orchestrator_feedback.storage.backends.sqlite_guard import run_guarded
from orchestrator_feedback.storage.backends.sqlite_schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    migrate,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SQLiteBackend"]

Result = TypeVar("Result")

logger = logging.getLogger("orchestrator_feedback.storage")

_TRUNCATE_WAIT_MS = 100
"""How long one ``TRUNCATE`` checkpoint may keep writers out waiting for readers."""
_TRUNCATE_AT_PAGES = 100
"""Pages a ``PASSIVE`` checkpoint may leave for the ``TRUNCATE`` one to copy (about 400 kB)."""


class SQLiteBackend(StorageBackend):
    """Feedback in one SQLite file, shared by threads and processes through WAL."""

    database_errors = (sqlite3.Error,)
    placeholder = "?"
    rollup_checks: Mapping[str, tuple[str, str]] = {**rollups.VERIFY, **decayed_sums.VERIFY}
    rollup_rebuild = (*decayed_sums.CLEAR, *rollups.REBUILD)
    keeps_rating_types = True
    keeps_alerts = True
    encode_time = staticmethod(format_sqlite_timestamp)
    follow_sql = following
    window_table = statements.WINDOW_TABLE
    json_sql = SQLITE_JSON
    json_text = staticmethod(statements.json_text)

    def __init__(
        self,
        path: str,
        *,
        pool_size: int,
        timeout: float,
        synchronous: str = "NORMAL",
        migrate: bool = True,
    ) -> None:
        if synchronous.upper() not in {"NORMAL", "FULL"}:
            raise FeedbackError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
        self.path = path
        self.url = path
        self._timeout = timeout
        self._synchronous = synchronous.upper()
        self._memory = path == ":memory:"
        self._upgrade = migrate
        self._identity: tuple[int, int] | None = None
        self.read_only = False
        """Whether the file could only be opened for reading (it, or its folder, is not
        writable): reading works, every write raises ``FeedbackError`` saying so."""
        if not self._memory:
            if os.path.isdir(path):
                raise FeedbackError(f"cannot open {path}: it is a directory, not a database file")
            create_private_file(Path(path))
            self._identity = file_identity(path)
            self.read_only = not writable(path)
            if self.read_only:
                logger.warning(
                    "%s is not writable (nor is its folder, or the file system): opened "
                    "read-only; reading works, writing will fail",
                    path,
                )
        # One in-memory database is private to its connection: the pool is that connection.
        self._pool_size = 1 if self._memory else pool_size
        self._pool = self._new_pool(self._pool_size)
        self._readers = self._new_reader_pool()
        self.disk_full = False
        """Whether the store was opened read-only because the disk holding it is full (a
        reader needs room for the WAL's index file to open the file for writing)."""
        try:
            connection = self._pool.acquire()
        except sqlite3.DatabaseError as error:
            if self._memory or self.read_only or not disk_is_full(path):
                raise self._cannot_open(error) from None
            connection = self._reopen_read_only_on_a_full_disk()
        try:
            self._version = self._migrate(connection)
            most_rows = connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // 9
            self._rows_per_statement = min(
                statements.MOST_ROWS_PER_STATEMENT, 1 << (most_rows.bit_length() - 1)
            )
        except sqlite3.DatabaseError as error:
            raise self._cannot_open(error) from None
        finally:
            self._pool.release(connection)

    def _reopen_read_only_on_a_full_disk(self) -> sqlite3.Connection:
        """Open for reading only, so what is stored can still be read and exported."""
        self._pool.close()
        self.read_only = self.disk_full = True
        logger.warning(
            "the disk holding %s is full: opened read-only; reading works, writing will fail "
            "until there is room",
            self.path,
        )
        self._pool = self._new_pool(self._pool_size)
        try:
            return self._pool.acquire()
        except sqlite3.DatabaseError as error:
            raise self._cannot_open(error) from None

    def _cannot_open(self, error: sqlite3.DatabaseError) -> FeedbackError:
        self._pool.close()
        return cannot_open(self.path, error)

    # -- connections and transactions -------------------------------------------------

    def _new_pool(self, size: int) -> ConnectionPool[sqlite3.Connection]:
        return ConnectionPool(self._connect, sqlite3.Connection.close, size, self._timeout)

    def _new_reader_pool(self) -> ConnectionPool[sqlite3.Connection]:
        """Read-only connections for ``execute_query(read_only=True)``, opened on first use."""
        return ConnectionPool(self._connect_read_only, sqlite3.Connection.close, 2, self._timeout)

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            return self._connect_read_only()
        return connect_writer(self.path, self._timeout, self._synchronous, wal=not self._memory)

    def _migrate(self, connection: sqlite3.Connection) -> int:
        return migrate(
            connection,
            self.path,
            read_only=self.read_only,
            upgrade=self._upgrade,
            timeout=self._timeout,
        )

    @property
    def schema_version(self) -> int:
        """The schema version the database is at."""
        return self._version

    def acquire(self) -> sqlite3.Connection:
        """Take a connection from the pool."""
        return self._pool.acquire()

    def before_write(self) -> None:
        """Refuse to write once the file is no longer the one opened: writes to a file
        deleted (or replaced) since would be acknowledged and then gone. One ``stat`` a
        write (about 1-2 µs); reads do not pay it."""
        if self._identity is not None and file_identity(self.path) != self._identity:
            raise FeedbackError(
                f"the database file {self.path} was deleted or replaced while the store was "
                "open: nothing more is written to it (what the store wrote after that would "
                "be lost); close the store and open it again"
            )

    def release(self, connection: sqlite3.Connection) -> None:
        """Give a connection back to the pool."""
        self._pool.release(connection)

    def begin(self, connection: sqlite3.Connection) -> None:
        """Start a transaction holding the write lock, so it never fails to upgrade later
        (``begin_immediate``: waiting at most the store's ``timeout``)."""
        begin_immediate(connection, self._timeout)

    def alone(
        self, connection: sqlite3.Connection, statement: Callable[[sqlite3.Connection], Result]
    ) -> Result:
        """Run the statement, waiting for the write lock as ``begin`` does."""
        return when_unlocked(functools.partial(statement, connection), self._timeout)

    def commit(self, connection: sqlite3.Connection) -> None:
        """Commit."""
        connection.execute("COMMIT")

    def rollback(self, connection: sqlite3.Connection) -> None:
        """Roll back, if a transaction is still open."""
        if connection.in_transaction:
            connection.execute("ROLLBACK")

    def savepoint(self, connection: sqlite3.Connection, name: str) -> None:
        """Open a savepoint."""
        connection.execute(f"SAVEPOINT {name}")

    def release_savepoint(self, connection: sqlite3.Connection, name: str) -> None:
        """Keep the savepoint's work."""
        connection.execute(f"RELEASE SAVEPOINT {name}")

    def rollback_to_savepoint(self, connection: sqlite3.Connection, name: str) -> None:
        """Undo the savepoint's work and drop it."""
        connection.execute(f"ROLLBACK TO SAVEPOINT {name}")
        connection.execute(f"RELEASE SAVEPOINT {name}")

    def close(self) -> None:
        """Close the pools."""
        self._pool.close()
        self._readers.close()

    def is_full(self, error: BaseException) -> bool:
        """SQLITE_FULL: "database or disk is full"."""
        return (
            isinstance(error, sqlite3.OperationalError)
            and getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL
        )

    def write_refusal(self, error: BaseException) -> FeedbackError | None:
        """A full disk, or a file opened read-only (see ``read_only``)."""
        if self.disk_full:
            return StorageFullError(
                f"{self.url}: the disk is full (the store was opened read-only for that "
                "reason): nothing was written; make room and open the store again"
            )
        if self.read_only and isinstance(error, sqlite3.OperationalError):
            return FeedbackError(
                f"{self.url} was opened read-only (it, or its folder, is not writable), so "
                f"nothing can be written to it: {error}"
            )
        return super().write_refusal(error)

    def is_transient(self, error: BaseException) -> bool:
        """Busy or locked past the busy timeout (another process's long write, a VACUUM),
        besides the base's cases."""
        if isinstance(error, sqlite3.OperationalError):
            code = getattr(error, "sqlite_errorcode", 0) & 0xFF  # the primary code
            if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return True
        return super().is_transient(error)

    def after_fork_in_child(self) -> None:
        """A new, empty pool for this child (see ``StorageBackend``); an in-memory
        database was copied with the process and stays with its one connection."""
        if not self._memory:
            leave_to_parent(self._pool)
            leave_to_parent(self._readers)
            self._pool = self._new_pool(self._pool.size)
            self._readers = self._new_reader_pool()

    # -- data ------------------------------------------------------------------------

    @property
    def rows_per_statement(self) -> int:
        """How many rows one INSERT writes: up to 2,048, fewer where SQLite allows fewer
        parameters in a statement (999 before SQLite 3.32)."""
        return self._rows_per_statement

    def insert(
        self, connection: sqlite3.Connection, rows: Sequence[EncodedRow], on_conflict: OnConflict
    ) -> int:
        """Insert rows with multi-row INSERT statements of up to ``rows_per_statement``.

        One statement per group (not one per row, as ``executemany`` runs) means one
        release of the GIL per group: a background writer thread then does not wait for
        the host's threads to hand the GIL back after every row.
        """
        if len(rows) == 1:
            try:
                return connection.execute(statements.insert_sql(on_conflict, 1), rows[0]).rowcount
            except sqlite3.IntegrityError as error:
                raise self._explain(connection, rows, error) from None
        step = self._rows_per_statement
        written = 0
        # Several statements need no savepoint of their own: every caller runs this in a
        # transaction (or a savepoint) that it rolls back when the insert raises.
        for start in range(0, len(rows), step):
            group = rows[start : start + step]
            size = min(statements.padded_size(len(group)), step)
            flat = [value for row in group for value in row]
            flat += statements.NULL_ROW * (size - len(group))
            try:
                written += connection.execute(
                    statements.insert_sql(on_conflict, size), flat
                ).rowcount
            except sqlite3.IntegrityError as error:
                raise self._explain(connection, rows, error, inserted=start) from None
        return written

    group_rows_per_statement = statements.MOST_ROWS_PER_GROUP_STATEMENT

    def insert_group(
        self,
        connection: sqlite3.Connection,
        entries: Sequence[FeedbackEntry],
        protect: Callable[[EncodedRow], EncodedRow] | None,
    ) -> int:
        """Insert the group with one statement of one JSON parameter.

        The host's threads run Python while this runs, and the GIL passes between them
        only every few milliseconds. Binding nine parameters a row holds the GIL, and each
        statement hands it back once and waits to get it again: one statement of one
        parameter for the whole group does that once. SQLite spends some more CPU reading
        the JSON (a few µs a row), all of it with the GIL released. orjson asks
        ``group_spelling`` for each entry's row as it writes the array, so no row outlives
        its spelling; timestamps stay datetimes, spelled by orjson and respelled in SQL.
        """
        spell = statements.group_spelling(protect)
        step = statements.MOST_ROWS_PER_GROUP_STATEMENT
        written = 0
        for start in range(0, len(entries), step):
            # Text, not bytes: SQLite 3.45+ would read a BLOB as its binary JSONB.
            group = orjson.dumps(entries[start : start + step], default=spell).decode()
            try:
                written += connection.execute(statements.GROUP_INSERT, (group,)).rowcount
            except sqlite3.IntegrityError as error:
                ids = [(entry.id,) for entry in entries]
                raise self._explain(connection, ids, error, inserted=start) from None
        return written

    def _explain(
        self,
        connection: sqlite3.Connection,
        rows: Sequence[EncodedRow],
        error: Exception,
        inserted: int = 0,
    ) -> FeedbackError:
        position = self._first_duplicate(connection, rows, inserted)
        if position is not None:
            return DuplicateFeedbackError(str(rows[position][0]), position=position)
        return FeedbackError(f"the database refused the entry: {error}")

    def _first_duplicate(
        self, connection: sqlite3.Connection, rows: Sequence[EncodedRow], inserted: int
    ) -> int | None:
        """The position of the first row whose id is taken, the first ``inserted`` rows
        being in the table already (by this insert, so they clash only among themselves)."""
        seen = {row[0] for row in rows[:inserted]}
        for position in range(inserted, len(rows)):
            row_id = rows[position][0]
            if (
                row_id in seen
                or connection.execute("SELECT 1 FROM feedback WHERE id = ?", (row_id,)).fetchone()
            ):
                return position
            seen.add(row_id)
        return None

    @contextlib.contextmanager
    def bulk_load(self, connection: sqlite3.Connection) -> Iterator[None]:
        """Into an empty table, insert first and build the secondary indexes after.

        Building an index once over sorted data is several times faster than updating
        it row by row. The drop and the rebuild are inside the caller's transaction, so
        a failed load rolls back to the indexes as they were.
        """
        # A big page cache and in-memory sorting serve both the inserts and the index
        # builds; both are per connection, and set back afterwards.
        cache_size = connection.execute("PRAGMA cache_size").fetchone()[0]
        connection.execute("PRAGMA cache_size = -65536")
        connection.execute("PRAGMA temp_store = MEMORY")
        try:
            with self._rebuild_indexes_after(connection):
                yield
        finally:
            connection.execute(f"PRAGMA cache_size = {int(cache_size)}")
            connection.execute("PRAGMA temp_store = DEFAULT")

    @contextlib.contextmanager
    def _rebuild_indexes_after(self, connection: sqlite3.Connection) -> Iterator[None]:
        if connection.execute("SELECT 1 FROM feedback LIMIT 1").fetchone():
            yield
            return
        indexes = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'feedback' AND sql IS NOT NULL"
        ).fetchall()
        for name, _sql in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        yield
        for _name, sql in indexes:
            connection.execute(sql)

    def select(
        self, connection: sqlite3.Connection, where: FeedbackFilter, limit: int | None, offset: int
    ) -> list[FeedbackEntry]:
        """Return matching entries in order."""
        clause, params = self.where(where)
        sql = f"SELECT {COLUMNS} FROM feedback{clause}{statements.ORDER}"
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            params += [-1 if limit is None else limit, offset]
        return entries_from_rows(connection.execute(sql, params).fetchall())

    def iterate(
        self, connection: sqlite3.Connection, where: FeedbackFilter
    ) -> Iterator[FeedbackEntry]:
        """Stream matching entries in order, a thousand rows at a time."""
        clause, params = self.where(where)
        cursor = connection.execute(
            f"SELECT {COLUMNS} FROM feedback{clause}{statements.ORDER}", params
        )
        try:
            while rows := cursor.fetchmany(1000):
                yield from entries_from_rows(rows)
        finally:
            cursor.close()

    def update(self, connection: sqlite3.Connection, row: EncodedRow) -> bool:
        """Overwrite the stored version of the row's entry; False when its id is not stored."""
        return connection.execute(statements.UPDATE, (*row[1:], row[0])).rowcount > 0

    def reclaim_space(self) -> None:
        """Empty the WAL file into the database: deleted rows were overwritten with zeros as
        they went (``secure_delete``), so once the WAL's older copies of their pages are gone
        no byte of them is left on disk. No VACUUM: it would hold the write lock for as long
        as it takes to rewrite the whole file; the freed pages are reused instead.

        A ``TRUNCATE`` checkpoint keeps new writers out while it runs and while it waits
        for readers of older snapshots, so it runs only once a ``PASSIVE`` one (writers
        carry on) has copied all but a few pages, and waits for readers at most
        ``_TRUNCATE_WAIT_MS`` at a time: a reader holding its snapshot for seconds would
        otherwise hold every writer for as long (up to the whole busy timeout)."""
        if self._memory:
            return
        connection = self.acquire()
        try:
            with patiently(connection, _TRUNCATE_WAIT_MS / 1000):
                self._empty_the_wal(connection)
        finally:
            self.release(connection)

    def _empty_the_wal(self, connection: sqlite3.Connection) -> None:
        deadline = time.monotonic() + self._timeout
        while True:
            _, logged, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if logged - copied <= _TRUNCATE_AT_PAGES:
                (busy, _, _) = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                if not busy:
                    return
            if time.monotonic() >= deadline:
                logger.warning(
                    "%s: the WAL file could not be emptied (a reader held an older snapshot "
                    "for %.0f s); deleted rows' older pages stay in it until the next "
                    "checkpoint overwrites them",
                    self.url,
                    self._timeout,
                )
                return
            time.sleep(_TRUNCATE_WAIT_MS / 1000)

    def rating_counts(
        self, connection: sqlite3.Connection, task_id: str | None
    ) -> list[tuple[str, int | None, int]]:
        """One task's groups from the entries' index; the whole store's from its rollup."""
        if task_id is not None:
            return super().rating_counts(connection, task_id)
        self.fold_rollups(connection)
        return connection.execute(
            f"SELECT feedback_type, NULLIF(rating, 0), entries FROM ({rollups.TYPES_WITH_TAIL})"
        ).fetchall()

    def worker_summary(
        self, connection: sqlite3.Connection
    ) -> list[tuple[str, int, float | None, int]]:
        """Per ``metadata->>'$.worker_id'`` (as text), from its rollup, best first."""
        self.fold_rollups(connection)
        return connection.execute(
            f"""SELECT worker, entries, CAST(rating_sum AS REAL) / NULLIF(rated, 0) AS average,
                      failures
               FROM ({rollups.WORKERS_WITH_TAIL})
               ORDER BY average IS NULL, average DESC, failures, entries DESC, worker"""
        ).fetchall()

    def score_totals(self, connection: Any) -> list[tuple[str, str, float, float, float, float]]:
        """From the scores rollup (and what it has not folded in yet)."""
        self.fold_rollups(connection)
        return [tuple(row) for row in connection.execute(rollups.SCORE_TOTALS).fetchall()]

    def lifetime_counts(self, connection: sqlite3.Connection) -> LifetimeRows:
        """From the rollups (and their tail) and the removed ledger."""
        self.fold_rollups(connection)
        types = connection.execute(rollups.LIFETIME_TYPES).fetchall()
        outcomes = connection.execute(rollups.LIFETIME_OUTCOMES).fetchall()
        return [tuple(row) for row in types], [tuple(row) for row in outcomes]

    def score_days(
        self,
        connection: sqlite3.Connection,
        task_type: str | None,
        window: ScoreWindow,
        per_worker: bool = False,
    ) -> list[ScoreDay]:
        """From the scores rollup and its tail, the partial days from the entries; summed
        per worker over every entry, from the outcomes rollup and its tail."""
        self.fold_rollups(connection)
        since = window.since or datetime(1, 1, 1, tzinfo=UTC)
        parameters = {
            "task_type": task_type,
            "first_day": window.first_day.isoformat(),
            "end_day": window.end_day.isoformat(),
            "since": format_sqlite_timestamp(since),
            "head_end": format_sqlite_timestamp(window.head_end),
            "tail_start": format_sqlite_timestamp(window.tail_start),
            "until": "9999" if window.until is None else format_sqlite_timestamp(window.until),
        }
        if per_worker and window.since is None and window.until is None:
            sql = rollups.OUTCOMES_PER_WORKER
        else:
            sql = rollups.SCORES_PER_WORKER if per_worker else rollups.SCORES
        rows = connection.execute(sql, parameters).fetchall()
        return [
            ScoreDay._make((*row[:-1], None if row[-1] is None else parse_timestamp(row[-1])))
            for row in rows
        ]

    def decayed_sums(
        self,
        connection: sqlite3.Connection,
        task_type: str | None,
        half_life: float,
        today: date,
        build: bool = False,
    ) -> DecayedSums | None:
        """From ``sqlite_decayed``: the sums kept by triggers and the tail's days."""
        self.fold_rollups(connection)
        try:
            if decayed_sums.settle(connection, half_life, today, build) is None:
                return None
        except sqlite3.OperationalError as error:  # locked past the wait, or read-only
            logger.info("reading decayed scores from the days this time: %s", error)
            return None
        read = decayed_sums.read(connection, half_life, task_type)
        if read is None:
            return None
        t_ref, rows = read
        parsed = []
        for flag, *values in rows:
            latest = values[16]
            day = ScoreDay._make(
                (*values[:16], None if latest is None else parse_timestamp(str(latest)))
            )
            parsed.append((day, bool(flag), tuple(values[17:])))
        return DecayedSums.of_rows(t_ref, parsed)

    def rating_trend(
        self, connection: sqlite3.Connection, since: datetime, by: str
    ) -> list[tuple[str, float | None, int, int]]:
        """Group by day (``YYYY-MM-DD``) or week (labelled with its Monday, ``YYYY-MM-DD``):
        the whole hours from the hourly rollup and its tail, the first, partial hour from
        the entries."""
        self.fold_rollups(connection)
        period = "day" if by == "day" else "date(day, '-6 days', 'weekday 1')"
        return connection.execute(
            rollups.TREND.format(period=period), rollups.trend_parameters(since)
        ).fetchall()

    def rating_counts_since(
        self, connection: sqlite3.Connection, since: datetime
    ) -> list[tuple[str, int | None, int]]:
        """The whole hours from the types' hourly rollup and its tail, the first, partial
        hour from the entries."""
        self.fold_rollups(connection)
        return connection.execute(
            rollups.SUMMARY_SINCE, rollups.trend_parameters(to_utc(since))
        ).fetchall()

    def outcome_groups_since(
        self, connection: sqlite3.Connection, since: datetime, task_type: str | None
    ) -> list[tuple[str, int, Any]]:
        """The whole days from the outcome groups' daily rollup and its tail, the first,
        partial day from the entries."""
        self.fold_rollups(connection)
        rows = connection.execute(
            rollups.OUTCOMES_SINCE, rollups.day_parameters(to_utc(since), task_type)
        ).fetchall()
        return [(group, int(count), newest) for group, count, newest in rows]

    def fold_rollups(self, connection: sqlite3.Connection) -> None:
        """Fold a tail of more than ``FOLD_AT`` rows, a step of ``FOLD_STEP_ROWS`` a write
        transaction (``sqlite_rollups.fold_in_steps``); a read-only store reads it as it is."""
        if not self.read_only:
            rollups.fold_a_long_tail(connection, self._timeout)

    def execute(
        self,
        connection: sqlite3.Connection,
        sql: str,
        params: Sequence[Any] | dict[str, Any],
        read_only: bool = False,
        *,
        time_limit: float | None = None,
        max_rows: int | None = None,
    ) -> list[QueryRow]:
        """Run one statement under ``sqlite_guard``; rows are ``sqlite3.Row`` (by position
        and by name). A read-only query outside a transaction runs on a connection opened
        read-only (``mode=ro``), so not even a bug in the guard could write."""
        on_own = read_only and not self._memory and not connection.in_transaction
        runner = self._readers.acquire() if on_own else connection
        # A statement of the caller's outside a transaction takes the write lock itself.
        alone = not read_only and not connection.in_transaction and not self.read_only
        try:
            with patiently(runner, self._timeout) if alone else contextlib.nullcontext():
                return run_guarded(
                    runner,
                    sql,
                    params,
                    read_only=read_only,
                    time_limit=time_limit,
                    max_rows=max_rows,
                )
        finally:
            if on_own:
                self._readers.release(runner)

    def change_signal(self) -> following.DataVersionSignal:
        """A watch on ``PRAGMA data_version`` from a read-only connection of its own."""
        return following.DataVersionSignal(None if self._memory else self._connect_read_only)

    def _connect_read_only(self) -> sqlite3.Connection:
        return connect_read_only(self.path, self._timeout, read_only_media=self.read_only)

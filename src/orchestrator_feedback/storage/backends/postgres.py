"""The PostgreSQL backend: one store for many orchestrator hosts (psycopg 3 + psycopg_pool).

Installed with ``pip install 'orchestrator-feedback[postgres]'``. Rows travel in the
same ``EncodedRow`` form as SQLite's (UTC text timestamps, JSON text metadata), so the
encoding and decoding code is shared; the server stores ``timestamptz`` and ``jsonb``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from orchestrator_feedback.errors import (
    FeedbackError,
    PoolTimeoutError,
    SchemaUpgradeNeeded,
    SchemaVersionError,
    StorageClosedError,
)
from orchestrator_feedback.models import to_utc
from orchestrator_feedback.rules import POSTGRES_JSON
from orchestrator_feedback.serialization import EncodedRow, entries_from_rows
from orchestrator_feedback.storage.backends import postgres_decayed as decayed_sums
from orchestrator_feedback.storage.backends import postgres_follow as following
from orchestrator_feedback.storage.backends import postgres_rollups as rollups
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
from orchestrator_feedback.storage.backends.postgres_schema import MIGRATIONS, SCHEMA_VERSION
from orchestrator_feedback.storage.backends.values import next_whole_day, next_whole_hour

try:
    import psycopg
    import psycopg_pool
    from psycopg import errors as pg_errors
    from psycopg.conninfo import conninfo_to_dict

    if importlib.util.find_spec("pglast") is None:  # imported by the first caller's query
        raise ImportError("No module named 'pglast'")
except ImportError as missing:  # pragma: no cover - exercised only without the extra
    raise FeedbackError(
        "PostgreSQL support needs its extra: pip install 'orchestrator-feedback[postgres]' "
        f"({missing})"
    ) from None

# Only now: these import psycopg too, and its absence has been explained above.
from orchestrator_feedback.storage.backends.postgres_guard import run_guarded
from orchestrator_feedback.storage.backends.postgres_rows import (
    ROWS_PER_COPY,
    CopyStream,
    duplicate_error,
    hide_password,
    row_params,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresBackend"]

logger = logging.getLogger("orchestrator_feedback.storage")

# Read back in the EncodedRow spelling, so SQLite's decoder serves both backends.
SELECT_COLUMNS = (
    "id, task_id, feedback_type, content, rating, user_id, metadata::text, "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), "
    "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
)
_VALUES = "%s, %s, %s, %s, %s, %s, %s::jsonb, %s::timestamptz, %s::timestamptz"
_INSERT = f"INSERT INTO feedback ({COLUMNS}) VALUES ({_VALUES})"
_INSERT_SKIP = f"{_INSERT} ON CONFLICT (id) DO NOTHING"
_INSERT_REPLACE = f"{_INSERT} ON CONFLICT (id) DO UPDATE SET " + ", ".join(
    f"{column} = excluded.{column}" for column in COLUMNS.split(", ")[1:]
)
_UPDATE = (
    "UPDATE feedback SET task_id = %s, feedback_type = %s, content = %s, rating = %s, "
    "user_id = %s, metadata = %s::jsonb, created_at = %s::timestamptz, "
    "updated_at = %s::timestamptz WHERE id = %s"
)
_ORDER = " ORDER BY created_at, id"
_MIGRATION_LOCK = 7_362_810_441  # pg_advisory_xact_lock key: "feedback schema"


_PAUSE_RATIO = 0.5
"""A fold in steps pauses this share of a step's time between two."""
_VACUUM_AFTER_STEPS = 10
"""A fold of at least this many steps shrinks the deltas table after it."""
_REWRITE_DELTAS_PAST = 16 * 1024 * 1024
"""Bytes past which the deltas table is rewritten (VACUUM FULL) after a long fold."""


class PostgresBackend(StorageBackend):
    """Feedback in a PostgreSQL database, shared by many processes on many hosts."""

    database_errors = (psycopg.Error,)
    placeholder = "%s"
    rollup_checks: Mapping[str, tuple[str, str]] = {**rollups.VERIFY, **decayed_sums.VERIFY}
    rollup_rebuild = (*decayed_sums.CLEAR, *rollups.REBUILD)
    keeps_rating_types = True
    keeps_alerts = True
    lock_row_sql = " FOR UPDATE"
    encode_time = staticmethod(to_utc)
    read_columns = SELECT_COLUMNS
    follow_sql = following
    json_sql = POSTGRES_JSON
    json_text = staticmethod(following.json_text)

    def __init__(
        self,
        url: str,
        *,
        pool_size: int,
        timeout: float,
        synchronous: str = "NORMAL",
        migrate: bool = True,
    ) -> None:
        self.url = hide_password(url)
        self._upgrade = migrate
        try:
            conninfo_to_dict(url)
        except psycopg.ProgrammingError as error:
            raise FeedbackError(
                f"{self.url} is not a PostgreSQL URL libpq can read: {error}"
            ) from None
        self._conninfo = url
        self._pool_size = pool_size
        self._timeout = timeout
        self._streams: dict[int, CopyStream] = {}  # by connection, during bulk loads
        self._pool = self._new_pool()
        self._pool_lock = threading.Lock()
        self._open_pool()
        connection = self.acquire()
        try:
            self._version = self._migrate(connection)
        finally:
            self.release(connection)

    def _migrate(self, connection: psycopg.Connection[Any]) -> int:
        current = self._current_version(connection)
        if current == SCHEMA_VERSION:
            return current  # nothing to create: a role that may only read opens it too
        if current is not None and current < SCHEMA_VERSION and not self._upgrade:
            raise SchemaUpgradeNeeded(self.url, current, SCHEMA_VERSION)
        with connection.transaction():
            # Never wait for ever on the schema lock: another process holding it longer
            # than the timeout is a stuck process, and the error says so.
            connection.execute(f"SET LOCAL lock_timeout = {max(1, round(self._timeout * 1000))}")
            try:
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            except pg_errors.LockNotAvailable:
                raise FeedbackError(
                    f"another connection to {self.url} has held the schema lock for more than "
                    f"{self._timeout:g} s (an interrupted migration, or a session holding "
                    f"pg_advisory_lock({_MIGRATION_LOCK})): end it, then open the store again"
                ) from None
            connection.execute(
                "CREATE TABLE IF NOT EXISTS feedback_schema (version INTEGER NOT NULL)"
            )
            found = connection.execute("SELECT version FROM feedback_schema").fetchone()
            version = found[0] if found else 0
            if version > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"{self.url} has schema version {version}, but this orchestrator-feedback "
                    f"knows versions up to {SCHEMA_VERSION}: upgrade orchestrator-feedback"
                )
            for number, statements in MIGRATIONS:
                if number > version:
                    for statement in statements:
                        connection.execute(statement)
            if found is None:
                connection.execute("INSERT INTO feedback_schema VALUES (%s)", (SCHEMA_VERSION,))
            else:
                connection.execute("UPDATE feedback_schema SET version = %s", (SCHEMA_VERSION,))
        return SCHEMA_VERSION

    @staticmethod
    def _current_version(connection: psycopg.Connection[Any]) -> int | None:
        """The schema version, read without a lock; None before the first migration."""
        with connection.transaction():
            table = connection.execute("SELECT to_regclass('feedback_schema')").fetchone()
            if table is None or table[0] is None:
                return None
            found = connection.execute("SELECT version FROM feedback_schema").fetchone()
        return None if found is None else int(found[0])

    @property
    def schema_version(self) -> int:
        """The schema version the database is at."""
        return self._version

    # -- connections and transactions -------------------------------------------------

    def _new_pool(self) -> psycopg_pool.ConnectionPool[psycopg.Connection[Any]]:
        pool: psycopg_pool.ConnectionPool[psycopg.Connection[Any]] = psycopg_pool.ConnectionPool(
            self._conninfo,
            min_size=1,
            max_size=self._pool_size,
            timeout=self._timeout,
            kwargs={"autocommit": True},
            open=False,
        )
        self._pool_opened = False
        return pool

    def _open_pool(self) -> None:
        with self._pool_lock:
            if self._pool_opened:
                return
            self._check_server()
            try:
                self._pool.open(wait=True, timeout=self._timeout)
            except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
                raise FeedbackError(f"cannot connect to {self.url}: {error}") from None
            self._pool_opened = True

    def _check_server(self) -> None:
        """One direct connection first, so that a server that refuses or does not answer
        is said at once, with its reason (the pool would retry for the whole timeout and
        then say only "pool initialization incomplete")."""
        info = conninfo_to_dict(self._conninfo)
        where = f"{info.get('host') or 'the local socket'}:{info.get('port') or 5432}"
        wait = max(2, min(int(self._timeout), 10))
        try:
            psycopg.connect(self._conninfo, connect_timeout=wait, autocommit=True).close()
        except psycopg.Error as error:
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            # psycopg says "connection failed: connection to server at ... failed: <reason>"
            reason = " ".join(lines).rpartition(" failed: ")[2] or type(error).__name__
            raise FeedbackError(f"cannot connect to {self.url} ({where}): {reason}") from None

    def recover_from_disconnect(self) -> None:
        """Drop the pooled connections a server restart broke, so that a retry gets a
        live one (psycopg_pool checks each idle connection)."""
        with contextlib.suppress(psycopg_pool.PoolClosed):
            self._pool.check()

    def after_fork_in_child(self) -> None:
        """A new pool for this child, opened when it is first used (see
        ``StorageBackend``)."""
        leave_to_parent(self._pool)
        self._pool = self._new_pool()
        self._pool_lock = threading.Lock()

    def acquire(self) -> psycopg.Connection[Any]:
        """Take a connection from the pool."""
        if not self._pool_opened:
            self._open_pool()
        try:
            return self._pool.getconn(timeout=self._timeout)
        except psycopg_pool.PoolClosed:
            raise StorageClosedError("the storage is closed") from None
        except psycopg_pool.PoolTimeout:
            raise PoolTimeoutError(
                f"no database connection became free within {self._timeout} s "
                "(all are in use; raise pool_size or timeout)"
            ) from None

    def release(self, connection: psycopg.Connection[Any]) -> None:
        """Give a connection back (the pool drops a broken one)."""
        with contextlib.suppress(psycopg_pool.PoolClosed):
            self._pool.putconn(connection)

    def is_disconnect(self, error: BaseException) -> bool:
        """Whether ``error`` means the connection itself was lost (psycopg's operational
        errors: a lost connection, a server shutting down; also a deadlock, a
        serialization failure or a lock not available, which are as safe to retry)."""
        return isinstance(error, psycopg.OperationalError)

    def is_full(self, error: BaseException) -> bool:
        """The server's disk is full (SQLSTATE 53100)."""
        return isinstance(error, pg_errors.DiskFull)

    def begin(self, connection: psycopg.Connection[Any]) -> None:
        """Start a transaction."""
        connection.execute("BEGIN")

    def commit(self, connection: psycopg.Connection[Any]) -> None:
        """Commit."""
        connection.execute("COMMIT")

    def rollback(self, connection: psycopg.Connection[Any]) -> None:
        """Roll back, if the connection is still usable."""
        if not connection.closed:
            connection.execute("ROLLBACK")

    def savepoint(self, connection: psycopg.Connection[Any], name: str) -> None:
        """Open a savepoint."""
        connection.execute(f"SAVEPOINT {name}")

    def release_savepoint(self, connection: psycopg.Connection[Any], name: str) -> None:
        """Keep the savepoint's work."""
        connection.execute(f"RELEASE SAVEPOINT {name}")

    def rollback_to_savepoint(self, connection: psycopg.Connection[Any], name: str) -> None:
        """Undo the savepoint's work and drop it."""
        connection.execute(f"ROLLBACK TO SAVEPOINT {name}")
        connection.execute(f"RELEASE SAVEPOINT {name}")

    def close(self) -> None:
        """Close the pool."""
        self._pool.close()

    # -- data ------------------------------------------------------------------------

    def insert(
        self,
        connection: psycopg.Connection[Any],
        rows: Sequence[EncodedRow],
        on_conflict: OnConflict,
    ) -> int:
        """One row: INSERT; many: COPY (through a temporary table to skip or replace)."""
        stream = self._streams.get(id(connection))
        if stream is not None and on_conflict is OnConflict.ERROR:
            stream.write(rows)  # a clash surfaces when the bulk load ends
            return len(rows)
        try:
            if len(rows) == 1:
                sql = {OnConflict.ERROR: _INSERT, OnConflict.SKIP: _INSERT_SKIP}.get(
                    on_conflict, _INSERT_REPLACE
                )
                return connection.execute(sql, row_params(rows[0])).rowcount
            if on_conflict is OnConflict.ERROR:
                return self._copy(connection, "feedback", rows)
            return self._merge(connection, rows, on_conflict)
        except pg_errors.UniqueViolation as error:
            raise duplicate_error(rows, error) from None

    @contextlib.contextmanager
    def bulk_load(self, connection: psycopg.Connection[Any]) -> Iterator[None]:
        """Stream every batch of the load through one COPY."""
        stream = CopyStream(connection)
        self._streams[id(connection)] = stream
        try:
            try:
                yield
            except BaseException as error:
                stream.finish(error)
                raise
            try:
                stream.finish()
            except pg_errors.UniqueViolation as error:
                raise duplicate_error((), error) from None
        finally:
            del self._streams[id(connection)]

    def _copy(
        self, connection: psycopg.Connection[Any], table: str, rows: Sequence[EncodedRow]
    ) -> int:
        for start in range(0, len(rows), ROWS_PER_COPY):  # a statement's triggers gather its rows
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY {table} ({COLUMNS}) FROM STDIN") as copy,
            ):
                for row in rows[start : start + ROWS_PER_COPY]:
                    copy.write_row(row_params(row))
        return len(rows)

    def _merge(
        self,
        connection: psycopg.Connection[Any],
        rows: Sequence[EncodedRow],
        on_conflict: OnConflict,
    ) -> int:
        connection.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS feedback_incoming "
            "(LIKE feedback INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        connection.execute("TRUNCATE feedback_incoming")
        self._copy(connection, "feedback_incoming", rows)
        action = (
            "DO NOTHING"
            if on_conflict is OnConflict.SKIP
            else "DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS.split(", ")[1:])
        )
        # DISTINCT ON keeps one row per id, so a file that repeats an id cannot make
        # ON CONFLICT touch the same row twice in one statement.
        return connection.execute(
            f"INSERT INTO feedback ({COLUMNS}) SELECT DISTINCT ON (id) {COLUMNS} "
            f"FROM feedback_incoming ORDER BY id ON CONFLICT (id) {action}"
        ).rowcount

    def select(
        self,
        connection: psycopg.Connection[Any],
        where: FeedbackFilter,
        limit: int | None,
        offset: int,
    ) -> list[Any]:
        """Return matching entries in order."""
        clause, params = self.where(where)
        sql = f"SELECT {SELECT_COLUMNS} FROM feedback{clause}{_ORDER}"
        if limit is not None or offset:
            sql += " LIMIT %s OFFSET %s"
            params += [limit, offset]
        return entries_from_rows(connection.execute(sql, params).fetchall())

    def iterate(self, connection: psycopg.Connection[Any], where: FeedbackFilter) -> Iterator[Any]:
        """Stream matching entries through a server-side cursor, a thousand rows at a time."""
        clause, params = self.where(where)
        in_transaction = connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
        if not in_transaction:
            connection.execute("BEGIN")  # a named cursor lives inside a transaction
        try:
            with connection.cursor(name="feedback_stream") as cursor:
                cursor.itersize = 1000
                cursor.execute(f"SELECT {SELECT_COLUMNS} FROM feedback{clause}{_ORDER}", params)
                while rows := cursor.fetchmany(1000):
                    yield from entries_from_rows(rows)
        finally:
            if not in_transaction and not connection.closed:
                connection.execute("COMMIT")

    def update(self, connection: psycopg.Connection[Any], row: EncodedRow) -> bool:
        """Overwrite the stored version of the row's entry."""
        params = row_params(row)
        return connection.execute(_UPDATE, (*params[1:], params[0])).rowcount > 0

    def reclaim_space(self) -> None:
        """Rewrite both tables and their indexes (``VACUUM (FULL)``): a plain VACUUM marks
        a deleted row's space free but leaves its bytes in the pages, so an erased user's
        text would stay readable in the files. Each rewrite holds its table's exclusive lock
        for as long as it takes (writers wait); it waits at most ``timeout`` for that lock,
        and says so if another session holds it longer. What PostgreSQL keeps elsewhere
        (WAL until it is recycled, backups) is in docs/privacy.md."""
        connection = self.acquire()
        try:
            connection.execute(f"SET lock_timeout = {max(1, round(self._timeout * 1000))}")
            for table in ("feedback", "feedback_history"):
                try:
                    connection.execute(f"VACUUM (FULL) {table}")
                except pg_errors.LockNotAvailable:
                    raise FeedbackError(
                        f"the entries were deleted, but {table} could not be rewritten: another "
                        f"session held it for more than {self._timeout:g} s, so the erased "
                        f"text stays in its pages until `VACUUM (FULL) {table}` runs"
                    ) from None
        finally:
            if not connection.closed:
                connection.execute("RESET lock_timeout")
            self.release(connection)

    def rating_counts(
        self, connection: psycopg.Connection[Any], task_id: str | None
    ) -> list[tuple[str, int | None, int]]:
        """One task's groups from the entries' index; the whole store's from its rollup."""
        if task_id is not None:
            return super().rating_counts(connection, task_id)
        self.fold_rollups(connection)
        rows = connection.execute(rollups.TYPES).fetchall()
        return [(t, r, int(n)) for t, r, n in rows]

    def worker_summary(
        self, connection: psycopg.Connection[Any]
    ) -> list[tuple[str, int, float | None, int]]:
        """Per ``metadata->>'worker_id'``, from its rollup, best first."""
        self.fold_rollups(connection)
        rows = connection.execute(rollups.WORKERS).fetchall()
        return [(w, int(n), a, int(f)) for w, n, a, f in rows]

    def score_totals(self, connection: Any) -> list[tuple[str, str, float, float, float, float]]:
        """From the scores rollup (and what it has not folded in yet)."""
        self.fold_rollups(connection)
        return [tuple(row) for row in connection.execute(rollups.SCORE_TOTALS).fetchall()]

    def lifetime_counts(self, connection: Any) -> LifetimeRows:
        """From the rollups (and their pending deltas) and the removed ledger."""
        self.fold_rollups(connection)
        types = connection.execute(rollups.LIFETIME_TYPES).fetchall()
        outcomes = connection.execute(rollups.LIFETIME_OUTCOMES).fetchall()
        return [(t, r, int(c), int(d)) for t, r, c, d in types], [tuple(o) for o in outcomes]

    def score_days(
        self,
        connection: Any,
        task_type: str | None,
        window: ScoreWindow,
        per_worker: bool = False,
    ) -> list[ScoreDay]:
        """From the scores rollup and its pending deltas, the partial days from the
        entries; summed per worker over every entry, from the outcomes rollup."""
        self.fold_rollups(connection)
        parameters = {
            "task_type": task_type,
            "first_day": window.first_day,
            "end_day": window.end_day,
            "since": window.since or datetime(1, 1, 1, tzinfo=UTC),
            "head_end": window.head_end,
            "tail_start": window.tail_start,
            "until": window.until or datetime(9999, 12, 31, tzinfo=UTC),
        }
        if per_worker and window.since is None and window.until is None:
            sql = rollups.OUTCOMES_PER_WORKER
        else:
            sql = rollups.SCORES_PER_WORKER if per_worker else rollups.SCORES
        return [ScoreDay(*row) for row in connection.execute(sql, parameters)]

    def decayed_sums(
        self,
        connection: Any,
        task_type: str | None,
        half_life: float,
        today: date,
        build: bool = False,
    ) -> DecayedSums | None:
        """From ``postgres_decayed``: the sums the fold keeps and the pending deltas' days."""
        self.fold_rollups(connection)
        lock = f"SELECT pg_advisory_xact_lock({rollups.FOLD_LOCK})"
        try:
            if decayed_sums.settle(connection, half_life, today, lock, build) is None:
                return None
        except psycopg.errors.ReadOnlySqlTransaction as error:  # a standby, say
            logger.info("reading decayed scores from the days this time: %s", error)
            return None
        rows = connection.execute(
            rollups.DECAYED, {"half_life": half_life, "task_type": task_type}
        ).fetchall()
        t_ref = next((row[2] for row in rows if row[0] == 2), None)
        if t_ref is None:  # dropped meanwhile (a rebuild)
            return None
        parsed = [
            (ScoreDay(*row[1:18]), row[0] == 1, tuple(row[18:])) for row in rows if row[0] != 2
        ]
        return DecayedSums.of_rows(date.fromisoformat(t_ref), parsed)

    def rating_trend(
        self, connection: psycopg.Connection[Any], since: datetime, by: str
    ) -> list[tuple[str, float | None, int, int]]:
        """Group by day, or by week (labelled with its Monday): the whole hours from the
        hourly rollup, the first, partial hour from the entries."""
        self.fold_rollups(connection)
        since = to_utc(since)
        next_hour = next_whole_hour(since)
        rows = connection.execute(
            rollups.TREND.format(unit="day" if by == "day" else "week"),
            {
                "next_hour": next_hour.replace(tzinfo=None),
                "since": since,
                "next_hour_tz": next_hour,
            },
        ).fetchall()
        return [(p, a, int(n), int(r)) for p, a, n, r in rows]

    def rating_counts_since(
        self, connection: psycopg.Connection[Any], since: datetime
    ) -> list[tuple[str, int | None, int]]:
        """The whole hours from the types' hourly rollup and its pending deltas, the first,
        partial hour from the entries."""
        self.fold_rollups(connection)
        since = to_utc(since)
        next_hour = next_whole_hour(since)
        rows = connection.execute(
            rollups.SUMMARY_SINCE,
            {
                "next_hour": next_hour.replace(tzinfo=None),
                "since": since,
                "next_hour_tz": next_hour,
            },
        ).fetchall()
        return [(kind, rating, int(count)) for kind, rating, count in rows]

    def outcome_groups_since(
        self, connection: psycopg.Connection[Any], since: datetime, task_type: str | None
    ) -> list[tuple[str, int, Any]]:
        """The whole days from the outcome groups' daily rollup and its pending deltas, the
        first, partial day from the entries."""
        self.fold_rollups(connection)
        since = to_utc(since)
        next_day = next_whole_day(since)
        rows = connection.execute(
            rollups.OUTCOMES_SINCE,
            {"day": next_day.date(), "since": since, "next_day": next_day, "task_type": task_type},
        ).fetchall()
        return [(group, int(count), newest) for group, count, newest in rows]

    def change_signal(self) -> following.ListenSignal:
        """``LISTEN`` on a connection of its own, polling where that fails."""
        return following.ListenSignal(
            lambda: psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10)
        )

    def fold_rollups(self, connection: psycopg.Connection[Any]) -> None:
        """Fold the pending deltas into the rollups when there are many (a reader outside
        a transaction), ``FOLD_STEP_ROWS`` a transaction with a pause of half a step between
        two, until ``FOLD_AT`` or fewer are left; else they are read as they are."""
        if connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            return
        if self._pending(connection) <= rollups.FOLD_AT:
            return
        steps = 0
        while True:
            began = time.monotonic()
            self._fold_step(connection)
            steps += 1
            if self._pending(connection) <= rollups.FOLD_AT:
                break
            # Writers' deletions wait for the fold's lock: let them in between two steps.
            time.sleep((time.monotonic() - began) * _PAUSE_RATIO)
        with connection.transaction():
            for statement in rollups.FOLD_TIDY:
                connection.execute(statement)
        if steps >= _VACUUM_AFTER_STEPS:
            self._shrink_deltas(connection)
            self._refresh_statistics(connection)

    def _refresh_statistics(self, connection: psycopg.Connection[Any]) -> None:
        """After a long fold (an import, a purge, a store loaded by COPY): ``ANALYZE`` the
        entries and ``VACUUM (ANALYZE)`` the rollups, so the planner knows their sizes and
        reads no dead row versions of the folds. Autovacuum does it only when it runs, and it
        may be off: after an import of 30,000,000 entries no table had ever been analyzed,
        and ``failures`` took 1.4 s and ``report`` 11.6 s, 0.33 s and 0.59 s once analyzed (3
        s for all of them); vacuuming the decayed sums took the first decayed answer's query
        from 23 to 15 ms."""
        connection.execute("ANALYZE feedback")
        connection.execute(f"VACUUM (ANALYZE) {', '.join(rollups.FOLDED_TABLES)}")

    def _shrink_deltas(self, connection: psycopg.Connection[Any]) -> None:
        """After a long fold: every answer reads the deltas table whole, so the pages its
        dead rows took must go, not only be marked free (a fold of 10,000,000 deltas left
        1.6 GB that every answer read). What is still pending is folded first; then VACUUM
        FULL rewrites the table (only its live rows: a brief exclusive lock, which writers
        appending deltas wait for) when it is large, a plain VACUUM otherwise."""
        for _ in range(rollups.FOLD_AT // rollups.FOLD_STEP_ROWS + 2):  # writers may add more
            if not self._pending(connection):
                break
            self._fold_step(connection)
        with connection.transaction():
            for statement in rollups.FOLD_TIDY:
                connection.execute(statement)
        row = connection.execute(f"SELECT pg_relation_size('{rollups.DELTAS_TABLE}')").fetchone()
        full = row is not None and row[0] > _REWRITE_DELTAS_PAST
        connection.execute(f"VACUUM {'FULL ' if full else ''}{rollups.DELTAS_TABLE}")

    def _fold_step(self, connection: psycopg.Connection[Any]) -> None:
        """Move ``FOLD_STEP_ROWS`` pending deltas into the rollups, in a transaction."""
        with connection.transaction():
            for statement in rollups.FOLD_STEP:
                connection.execute(statement, {"rows": rollups.FOLD_STEP_ROWS})

    def _pending(self, connection: psycopg.Connection[Any]) -> int:
        """How many delta rows are pending, counted up to ``FOLD_AT + 1``."""
        row = connection.execute(rollups.PENDING, (rollups.FOLD_AT + 1,)).fetchone()
        return 0 if row is None else int(row[0])

    def execute(
        self,
        connection: psycopg.Connection[Any],
        sql: str,
        params: Sequence[Any] | dict[str, Any],
        read_only: bool = False,
        *,
        time_limit: float | None = None,
        max_rows: int | None = None,
    ) -> list[QueryRow]:
        """Run one statement under ``postgres_guard`` (``%s`` placeholders); rows by
        position and name."""
        return run_guarded(
            connection, sql, params, read_only=read_only, time_limit=time_limit, max_rows=max_rows
        )

"""The backend interface every storage engine implements, and the values it exchanges.

``FeedbackStorage`` and its parts own validation, transactions per thread, listeners,
summaries and import/export; a backend only runs SQL on connections it pools. A
third-party backend subclasses ``StorageBackend`` and implements every abstract method.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from orchestrator_feedback.errors import (
    FeedbackError,
    PoolTimeoutError,
    StorageFullError,
)
from orchestrator_feedback.models import (
    ENTRY_FIELDS,
    TYPE_BY_VALUE,
    FeedbackEntry,
    FeedbackType,
    to_utc,
)
from orchestrator_feedback.rules import RATED_TYPES, RATED_TYPES_TABLE, JsonSQL
from orchestrator_feedback.serialization import (
    EncodedRow,
    entries_from_rows,
    entry_from_row,
    entry_to_row,
    parse_timestamp,
)
from orchestrator_feedback.storage.backends.follow_api import (
    ChangeSignal,
    FollowSQL,
    follow_conditions,
)
from orchestrator_feedback.storage.backends.values import (
    ALL,
    DecayedSums,
    FeedbackChange,
    FeedbackFilter,
    FollowFilter,
    FollowPosition,
    OnConflict,
    QueryRow,
    ScoreDay,
    ScoreWindow,
)

__all__ = [
    "ALL",
    "COLUMNS",
    "ChangeSignal",
    "DecayedSums",
    "FeedbackChange",
    "FeedbackFilter",
    "FollowFilter",
    "FollowPosition",
    "FollowSQL",
    "LifetimeRows",
    "OnConflict",
    "QueryRow",
    "ScoreDay",
    "ScoreWindow",
    "StorageBackend",
    "leave_to_parent",
]

Result = TypeVar("Result")

LifetimeRows = tuple[
    list[tuple[str, int, int, int]], list[tuple[str, str, float, float, float, float]]
]
"""``lifetime_counts``'s answer: type rows, then outcome rows."""

COLUMNS = ", ".join(ENTRY_FIELDS)
"""The entry columns of ``feedback`` and ``feedback_history``, in ``EncodedRow`` order."""


_LEFT_TO_THE_PARENT: list[object] = []
_IDS_PER_STATEMENT = 500


def leave_to_parent(inherited: object) -> None:
    """Keep what a forked child inherited (a pool, its connections) referenced for good,
    so that no destructor in the child closes them: closing a connection's copy would end
    the parent's connection (PostgreSQL) or touch its locks (SQLite)."""
    _LEFT_TO_THE_PARENT.append(inherited)


class StorageBackend(abc.ABC):
    """One storage engine: a pool of connections and the SQL that runs on them.

    Every method but ``acquire``/``close`` takes a connection the facade acquired; the
    facade decides where transactions begin and end, so a backend never commits on
    its own inside ``insert``/``update``/``delete``.
    """

    url: str
    """Where the data lives, as the user named it (secrets hidden)."""

    database_errors: tuple[type[Exception], ...] = ()
    """The driver's error classes, for callers that report them (the command line)."""

    placeholder: str = "?"
    """The driver's query parameter placeholder."""

    read_columns: str = COLUMNS
    """The SELECT list that reads an entry back as an ``EncodedRow``."""
    follow_sql: FollowSQL
    """The dialect's commit order for ``follow`` (a module, see ``FollowSQL``)."""
    window_table: str = "feedback"
    """The entries table as the queries over a period of ``created_at`` name it."""
    json_sql: JsonSQL
    """How the dialect reads a key of ``metadata``: the rules of ``rules`` are rendered
    with it (a worker, a task type, an outcome)."""

    def json_text(self, key: str) -> str:
        """SQL for ``metadata``'s top-level ``key`` as text (NULL when absent)."""
        raise NotImplementedError

    def encode_time(self, value: datetime) -> Any:
        """A datetime as this engine compares it with stored times."""
        return value

    def where(self, where: FeedbackFilter | str) -> tuple[str, list[Any]]:
        """The ``WHERE`` clause and parameters for one id or a filter."""
        if isinstance(where, str):
            return f" WHERE id = {self.placeholder}", [where]
        return where.where(self.placeholder, self.encode_time)

    def is_disconnect(self, error: BaseException) -> bool:
        """Whether ``error`` means the connection was lost (a read is then retried once)."""
        return False

    def before_write(self) -> None:  # noqa: B027 - optional: most have nothing to check
        """Called before each write (a transaction, or a single-statement write): raise
        ``FeedbackError`` if writing now would be lost (SQLite: the file was deleted). By
        default nothing."""

    def recover_from_disconnect(self) -> None:  # noqa: B027 - optional: most have no pool to check
        """Called when a read lost its connection, before it is retried once: a backend
        whose pool may hold more broken connections (after a server restart) drops them
        here. By default nothing."""

    def is_full(self, error: BaseException) -> bool:
        """Whether ``error`` says the disk (or the database's space) is full."""
        return False

    def write_refusal(self, error: BaseException) -> FeedbackError | None:
        """What a failed write means to the caller, when the database refused it as a whole
        (nothing of it was stored): a full disk by default; a backend adds its own cases.
        None leaves ``error`` as it is."""
        if self.is_full(error):
            return StorageFullError(
                f"{self.url}: the disk is full (database or disk is full): nothing of this "
                "write was stored; free some space and it can be written again"
            )
        return None

    def is_transient(self, error: BaseException) -> bool:
        """Whether ``error`` is one the database recovers from (a lost connection, no free
        connection in time, a lock held elsewhere, a full disk), so that the same write may
        succeed if tried again later: the background writer waits such errors out."""
        return (
            self.is_disconnect(error) or self.is_full(error) or isinstance(error, PoolTimeoutError)
        )

    # -- connections and transactions -------------------------------------------------

    @abc.abstractmethod
    def acquire(self) -> Any:
        """Take a connection from the pool, waiting at most the configured timeout."""

    @abc.abstractmethod
    def release(self, connection: Any) -> None:
        """Give a connection back to the pool."""

    @abc.abstractmethod
    def begin(self, connection: Any) -> None:
        """Start a write transaction that holds the write lock from the start."""

    def alone(self, connection: Any, statement: Callable[[Any], Result]) -> Result:
        """Run ``statement(connection)``, one SQL statement atomic on its own, outside any
        transaction (a backend may run it again while a lock held elsewhere refuses it)."""
        return statement(connection)

    @abc.abstractmethod
    def commit(self, connection: Any) -> None:
        """Commit the connection's transaction."""

    @abc.abstractmethod
    def rollback(self, connection: Any) -> None:
        """Roll the connection's transaction back."""

    @abc.abstractmethod
    def savepoint(self, connection: Any, name: str) -> None:
        """Open a savepoint inside the current transaction."""

    @abc.abstractmethod
    def release_savepoint(self, connection: Any, name: str) -> None:
        """Keep the work done since the savepoint."""

    @abc.abstractmethod
    def rollback_to_savepoint(self, connection: Any, name: str) -> None:
        """Undo the work done since the savepoint, and drop it."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close every pooled connection."""

    def after_fork_in_child(self) -> None:  # noqa: B027 - optional: most have nothing to do
        """Leave the parent's connections to the parent: called in a child process right
        after ``fork()``, before the child uses the store. A connection must never be used
        by two processes (SQLite can corrupt the file; a socket would carry both
        processes' messages). By default nothing; backends with pooled connections
        start a new pool here, and hand the old one to ``leave_to_parent``."""

    # -- data ------------------------------------------------------------------------

    @property
    def rows_per_statement(self) -> int:
        """How many rows ``insert`` writes in one statement, atomic on its own: a write of
        no more rows needs no transaction around it."""
        return 1

    @abc.abstractmethod
    def insert(self, connection: Any, rows: Sequence[EncodedRow], on_conflict: OnConflict) -> int:
        """Insert encoded entries; return how many rows were written.

        With ``OnConflict.ERROR`` an existing id raises ``DuplicateFeedbackError``.
        """

    # The background writer's path: it shares the GIL with the host's threads, so a
    # backend may spend some CPU there to hold the GIL for less of the work.

    group_rows_per_statement: int = 1
    """How many entries ``insert_group`` writes in one statement, atomic on its own."""

    def insert_group(
        self,
        connection: Any,
        entries: Sequence[FeedbackEntry],
        protect: Callable[[EncodedRow], EncodedRow] | None,
    ) -> int:
        """Insert the background writer's group of new, checked entries, as ``insert``
        does with ``OnConflict.ERROR``; ``protect`` (the privacy policy's) turns each
        ``entry_to_row`` into the row to store. By default: ``insert``."""
        rows = [entry_to_row(entry) for entry in entries]
        if protect is not None:
            rows = [protect(row) for row in rows]
        return self.insert(connection, rows, OnConflict.ERROR)

    @contextlib.contextmanager
    def bulk_load(self, connection: Any) -> Iterator[None]:
        """Wrap a large insert inside a transaction; a backend may speed it up here."""
        yield

    def get(self, connection: Any, feedback_id: str) -> FeedbackEntry | None:
        """Return the entry with this id, or None."""
        row = connection.execute(
            f"SELECT {self.read_columns} FROM feedback WHERE id = {self.placeholder}",
            (feedback_id,),
        ).fetchone()
        return None if row is None else entry_from_row(row)

    @abc.abstractmethod
    def select(
        self, connection: Any, where: FeedbackFilter, limit: int | None, offset: int
    ) -> list[FeedbackEntry]:
        """Return matching entries ordered by ``created_at`` then ``id``."""

    @abc.abstractmethod
    def iterate(self, connection: Any, where: FeedbackFilter) -> Iterator[FeedbackEntry]:
        """Yield matching entries ordered by ``created_at`` then ``id``, in constant memory."""

    def count(self, connection: Any, where: FeedbackFilter) -> int:
        """Return how many entries match."""
        clause, params = self.where(where)
        return int(
            connection.execute(f"SELECT COUNT(*) FROM feedback{clause}", params).fetchone()[0]
        )

    @abc.abstractmethod
    def update(self, connection: Any, row: EncodedRow) -> bool:
        """Overwrite the stored entry with the row's id; False when that id is not stored."""

    # The statements below read the same in every SQL dialect we speak: only the
    # placeholder, the time encoding and the read-back columns differ.

    def delete(
        self, connection: Any, where: FeedbackFilter | str, returning: bool
    ) -> list[FeedbackEntry] | int:
        """Delete one id or every match; return the deleted entries, or their count."""
        clause, params = self.where(where)
        sql = f"DELETE FROM feedback{clause}"
        if returning:
            return entries_from_rows(
                connection.execute(f"{sql} RETURNING {self.read_columns}", params).fetchall()
            )
        return int(connection.execute(sql, params).rowcount)

    def matching_ids(self, connection: Any, where: FeedbackFilter, limit: int) -> list[str]:
        """The ids of up to ``limit`` entries ``where`` selects, oldest first (one batch of
        a long deletion: read by id, so a row written behind the store's back is deleted
        as well as any)."""
        clause, params = self.where(where)
        rows = connection.execute(
            f"SELECT id FROM feedback{clause} ORDER BY created_at LIMIT {int(limit)}", params
        ).fetchall()
        return [row[0] for row in rows]

    def save_history(
        self, connection: Any, where: FeedbackFilter | str, change: str, changed_at: datetime
    ) -> None:
        """Copy the current version of one id (or every match) into the history table."""
        clause, params = self.where(where)
        mark = self.placeholder
        connection.execute(
            f"INSERT INTO feedback_history ({COLUMNS}, changed_at, change) "
            f"SELECT {COLUMNS}, {mark}, {mark} FROM feedback{clause}",
            [self.encode_time(changed_at), change, *params],
        )

    def stored_ids(self, connection: Any, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are stored now."""
        found: set[str] = set()
        for start in range(0, len(ids), _IDS_PER_STATEMENT):
            chunk = ids[start : start + _IDS_PER_STATEMENT]
            marks = ", ".join([self.placeholder] * len(chunk))
            rows = connection.execute(f"SELECT id FROM feedback WHERE id IN ({marks})", chunk)
            found.update(row[0] for row in rows.fetchall())
        return found

    def save_history_of_ids(
        self, connection: Any, ids: Sequence[str], change: str, changed_at: datetime
    ) -> None:
        """Copy the current version of each of ``ids`` into the history table."""
        mark = self.placeholder
        for start in range(0, len(ids), _IDS_PER_STATEMENT):
            chunk = list(ids[start : start + _IDS_PER_STATEMENT])
            marks = ", ".join([mark] * len(chunk))
            connection.execute(
                f"INSERT INTO feedback_history ({COLUMNS}, changed_at, change) "
                f"SELECT {COLUMNS}, {mark}, {mark} FROM feedback WHERE id IN ({marks})",
                [self.encode_time(changed_at), change, *chunk],
            )

    def history(self, connection: Any, feedback_id: str) -> list[FeedbackEntry]:
        """Previous versions of an entry, oldest first."""
        rows = connection.execute(
            f"SELECT {self.read_columns} FROM feedback_history "
            f"WHERE id = {self.placeholder} ORDER BY version_id",
            (feedback_id,),
        ).fetchall()
        return entries_from_rows(rows)

    def delete_history(self, connection: Any, where: FeedbackFilter) -> int:
        """Delete history rows matching ``where`` (same columns as the feedback table)."""
        clause, params = self.where(where)
        return int(connection.execute(f"DELETE FROM feedback_history{clause}", params).rowcount)

    @abc.abstractmethod
    def reclaim_space(self) -> None:
        """Give freed space back and leave no trace of deleted rows (runs outside a transaction)."""

    rollup_checks: Mapping[str, tuple[str, str]] = {}
    """Per rollup table, two queries: the rows it has that a recompute from the entries has
    not, and the other way round (empty: the backend keeps no rollups)."""
    rollup_rebuild: Sequence[str] = ()
    """The statements that recompute every rollup from the entries."""

    def verify_rollups(self, connection: Any) -> list[str]:
        """Each difference between the rollups and a recompute from the entries, as a line
        (none: they agree). A backend that keeps no rollups says so by raising."""
        if not self.rollup_checks:
            raise FeedbackError(f"{self.url} keeps no rollups: its answers read the entries")
        differences = []
        for table, (extra, missing) in self.rollup_checks.items():
            for row in connection.execute(extra).fetchall():
                differences.append(f"{table}: has {tuple(row)}, the entries say otherwise")
            for row in connection.execute(missing).fetchall():
                differences.append(f"{table}: lacks {tuple(row)}, which the entries give")
        return differences

    def rebuild_rollups(self, connection: Any) -> None:
        """Recompute the rollups from the entries, in the caller's transaction."""
        if not self.rollup_rebuild:
            raise FeedbackError(f"{self.url} keeps no rollups: its answers read the entries")
        for statement in self.rollup_rebuild:
            connection.execute(statement)

    keeps_rating_types: bool = False
    """Whether the database keeps the store's rating types (the table ``RATED_TYPES_TABLE``
    of ``rules``, which its SQL reads); one that does not counts every type's ratings."""

    def rated_types(self, connection: Any) -> frozenset[FeedbackType]:
        """The store's rating types: the entry types whose rating rates the worker named."""
        if not self.keeps_rating_types:
            return RATED_TYPES
        rows = connection.execute(f"SELECT feedback_type FROM {RATED_TYPES_TABLE}").fetchall()
        return frozenset(TYPE_BY_VALUE[row[0]] for row in rows if row[0] in TYPE_BY_VALUE)

    def set_rated_types(self, connection: Any, rated_types: frozenset[FeedbackType]) -> None:
        """Make ``rated_types`` the store's rating types and count every rating again by
        them (the rollups rebuilt), in the caller's transaction."""
        if not self.keeps_rating_types:
            raise FeedbackError(f"{self.url} keeps no rating types: it counts every type's")
        connection.execute(f"DELETE FROM {RATED_TYPES_TABLE}")
        for kind in sorted(rated_types, key=lambda kind: kind.value):
            connection.execute(
                f"INSERT INTO {RATED_TYPES_TABLE} VALUES ({self.placeholder})", (kind.value,)
            )
        if self.rollup_rebuild:
            self.rebuild_rollups(connection)

    keeps_alerts: bool = False
    """Whether the database has the alert tables of ``alert_tables`` (a store on one that
    does not detects nothing and lists no alerts)."""
    lock_row_sql: str = ""
    """What makes a ``SELECT`` lock the rows it reads until the transaction ends (nothing
    where a write transaction holds the whole database)."""

    def fold_rollups(self, connection: Any) -> None:  # noqa: B027 - optional: not all keep rollups
        """Bring the rollups up to date when much is pending (outside a transaction), in
        transactions short enough that writers barely wait; a backend without rollups has
        nothing to do."""

    def rating_counts(
        self, connection: Any, task_id: str | None
    ) -> list[tuple[str, int | None, int]]:
        """Return ``(feedback_type, rating, count)`` groups for one task or the whole store
        (from the ``(task_id, feedback_type, rating)`` index alone)."""
        sql = "SELECT feedback_type, rating, COUNT(*) FROM feedback"
        if task_id is None:
            rows = connection.execute(f"{sql} GROUP BY feedback_type, rating").fetchall()
        else:
            rows = connection.execute(
                f"{sql} WHERE task_id = {self.placeholder} GROUP BY feedback_type, rating",
                (task_id,),
            ).fetchall()
        return list(rows)

    def rating_counts_since(
        self, connection: Any, since: datetime
    ) -> list[tuple[str, int | None, int]] | None:
        """``(feedback_type, rating, count)`` groups of the entries created at or after
        ``since``, from a rollup; None where the backend keeps none (the caller reads the
        entries)."""
        return None

    def outcome_groups_since(
        self, connection: Any, since: datetime, task_type: str | None
    ) -> list[tuple[str, int, Any]] | None:
        """Per outcome group (``rules.outcome_group_sql``) of the entries created at or
        after ``since``, of ``task_type`` or all: ``(group, count, newest created_at)`` (as
        stored), from a rollup; None where the backend keeps none (the caller reads the
        entries)."""
        return None

    @abc.abstractmethod
    def worker_summary(self, connection: Any) -> list[tuple[str, int, float | None, int]]:
        """Per metadata ``worker_id``: ``(worker_id, count, average rating, failures)``,
        best first (highest average, then fewest failures)."""

    def decayed_sums(
        self,
        connection: Any,
        task_type: str | None,
        half_life: float,
        today: date,
        build: bool = False,
    ) -> DecayedSums | None:
        """``half_life``'s (days) decayed sums per worker of ``task_type`` (None: every type),
        built first when ``build`` (``decayed.py``); None where the backend keeps none, not
        this many half-lives, or not yet these (the caller reads the days)."""
        return None

    @abc.abstractmethod
    def score_days(
        self,
        connection: Any,
        task_type: str | None,
        window: ScoreWindow,
        per_worker: bool = False,
    ) -> list[ScoreDay]:
        """Per worker and day, the scores rollup's sums for the entries in ``window``, of
        ``task_type`` or of every type (None); ``per_worker``: one row a worker, summed over
        the window (``day`` its newest), which is all undecayed scores need."""

    @abc.abstractmethod
    def score_totals(self, connection: Any) -> list[tuple[str, str, float, float, float, float]]:
        """Per worker and task type ('' for none), over every entry: ``(worker, task_type,
        successes, failures, ratings, rating_sum)``."""

    def lifetime_counts(self, connection: Any) -> LifetimeRows:
        """What was ever created and deleted, for counters that never go down: per type and
        rating (0: unrated) ``(feedback_type, rating, created, deleted)``, and per worker
        and task type the ``score_totals`` of every entry ever created. This default knows
        no deletions (created: what is stored); SQLite and PostgreSQL keep a ledger."""
        counts = self.rating_counts(connection, None)
        types = [(kind, rating or 0, count, 0) for kind, rating, count in counts]
        return types, self.score_totals(connection)

    def newest_created_at(self, connection: Any) -> datetime | None:
        """The newest entry's ``created_at`` (from the index), None in an empty store."""
        row = connection.execute("SELECT MAX(created_at) FROM feedback").fetchone()
        return None if row is None or row[0] is None else parse_timestamp(row[0])

    def follow_head(self, connection: Any) -> FollowPosition:
        """The position after the newest committed entry."""
        return self.follow_sql.head(connection)

    def follow_position_of(self, connection: Any, feedback_id: str) -> FollowPosition | None:
        """The position just after the entry with this id; None when no entry has it."""
        return self.follow_sql.position_of(connection, feedback_id)

    def follow_read(
        self,
        connection: Any,
        after: FollowPosition,
        upto: FollowPosition | None,
        where: FollowFilter,
        limit: int,
    ) -> tuple[list[FeedbackEntry], FollowPosition]:
        """Up to ``limit`` entries matching ``where`` committed after ``after`` and not
        after ``upto`` (None: no bound), in commit order, and the position after them: past
        every entry committed so far when fewer than ``limit`` matched."""
        conditions = follow_conditions(self, where)
        rows, position = self.follow_sql.read_rows(
            connection, after, upto, where, limit, self.read_columns, conditions
        )
        return entries_from_rows(rows), position

    def follow_read_rows(
        self, connection: Any, after: FollowPosition, limit: int, columns: str
    ) -> tuple[list[tuple[Any, ...]], FollowPosition]:
        """As ``follow_read`` over every entry, each row the values of ``columns`` (a
        select list over the entry table, in this dialect)."""
        return self.follow_sql.read_rows(
            connection, after, None, FollowFilter(), limit, columns, ("", [])
        )

    @abc.abstractmethod
    def change_signal(self) -> ChangeSignal:
        """A new watch for commits from any process (close it after use)."""

    @abc.abstractmethod
    def rating_trend(
        self, connection: Any, since: datetime, by: str
    ) -> list[tuple[str, float | None, int, int]]:
        """Per ``by`` period ("day" or "week") since ``since``: ``(period, average, count,
        rated)``."""

    @abc.abstractmethod
    def execute(
        self,
        connection: Any,
        sql: str,
        params: Sequence[Any] | dict[str, Any],
        read_only: bool = False,
        *,
        time_limit: float | None = None,
        max_rows: int | None = None,
    ) -> list[QueryRow]:
        """Run one caller-written statement; return its rows (empty for statements without
        any).

        With ``read_only`` a statement that would change the database is refused. Never
        runs more than one statement, and never leaves the connection changed for the next
        caller (an open or ended transaction, an attached file, a connection setting): such
        statements raise ``QueryRefusedError``, as does one running past ``time_limit``
        seconds or returning more than ``max_rows`` rows.
        """

    def encode_parameter(self, value: Any) -> Any:
        """Turn a caller's query parameter into what this engine compares with stored values:
        a datetime (naive: local time) as ``encode_time`` spells UTC, a type as its value."""
        if isinstance(value, datetime):
            return self.encode_time(to_utc(value))
        if isinstance(value, FeedbackType):
            return value.value
        return value

    @property
    @abc.abstractmethod
    def schema_version(self) -> int:
        """The schema version the database is at."""

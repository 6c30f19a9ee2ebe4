"""The SQLite schema: numbered migrations, each applied in one transaction."""

from __future__ import annotations

import sqlite3

from orchestrator_feedback.errors import FeedbackError, SchemaUpgradeNeeded, SchemaVersionError
from orchestrator_feedback.storage.backends.alert_tables import SQLITE_CREATE as SQLITE_ALERTS
from orchestrator_feedback.storage.backends.sqlite_decayed import CREATE as DECAYED
from orchestrator_feedback.storage.backends.sqlite_files import begin_immediate
from orchestrator_feedback.storage.backends.sqlite_follow import CREATE as CREATE_FOLLOW
from orchestrator_feedback.storage.backends.sqlite_rollups import CREATE as CREATE_ROLLUPS
from orchestrator_feedback.storage.backends.sqlite_rollups import (
    OUTCOMES,
    REMOVED,
    RENAME_WORKERS,
    RESHAPE_SCORES,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "apply_migrations", "migrate"]

# The seed's columns after the id; the history table keeps versions of the same rows.
_ENTRY_COLUMNS = """task_id TEXT NOT NULL,
                feedback_type TEXT NOT NULL,
                content TEXT NOT NULL,
                rating INTEGER,
                user_id TEXT,
                metadata TEXT,
                created_at TIMESTAMP NOT NULL,
                updated_at TIMESTAMP NOT NULL"""

MIGRATIONS: list[tuple[int, tuple[str, ...]]] = [
    (
        1,
        (
            # The seed's table, verbatim, so databases it created are adopted as they are.
            f"""CREATE TABLE IF NOT EXISTS feedback (
                id TEXT PRIMARY KEY,
                {_ENTRY_COLUMNS},
                CONSTRAINT rating_range CHECK (rating IS NULL OR (rating >= 1 AND rating <= 5))
            )""",
            "CREATE INDEX IF NOT EXISTS idx_task_id ON feedback(task_id)",
            "CREATE INDEX IF NOT EXISTS idx_feedback_type ON feedback(feedback_type)",
            "CREATE INDEX IF NOT EXISTS idx_created_at ON feedback(created_at)",
            # Covers get_summary(task_id): the groups are read from the index alone.
            "CREATE INDEX IF NOT EXISTS idx_task_type_rating "
            "ON feedback(task_id, feedback_type, rating)",
        ),
    ),
    (
        2,
        (
            f"""CREATE TABLE IF NOT EXISTS feedback_history (
                version_id INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL,
                {_ENTRY_COLUMNS},
                changed_at TIMESTAMP NOT NULL,
                change TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS idx_history_id ON feedback_history(id)",
            "CREATE INDEX IF NOT EXISTS idx_history_user_id ON feedback_history(user_id)",
            "CREATE INDEX IF NOT EXISTS idx_user_id ON feedback(user_id)",
        ),
    ),
    (
        3,
        (
            # idx_task_type_rating begins with task_id and serves every lookup by task;
            # the seed's own task index only cost each insert one more B-tree to update.
            "DROP INDEX IF EXISTS idx_task_id",
        ),
    ),
    (
        4,
        (
            # Most orchestrator events have no user: leaving their NULLs out of the user
            # index spares those inserts one B-tree. ``user_id = ?`` still uses it.
            "DROP INDEX IF EXISTS idx_user_id",
            "CREATE INDEX idx_user_id ON feedback(user_id) WHERE user_id IS NOT NULL",
        ),
    ),
    # Rollups kept by triggers, built here from the entries already stored
    # (sqlite_rollups.py).
    (5, CREATE_ROLLUPS),
    # The scores rollup with the time moments decay needs, and the outcome rules of
    # docs/scores.md.
    (6, RESHAPE_SCORES),
    # Followers read new entries by rowid; this notes when deleting the newest rows lets
    # SQLite hand their rowids out again (sqlite_follow.py).
    (7, CREATE_FOLLOW),
    # What deletions and updates took away, so that counts of what was created never go
    # down (sqlite_rollups.py, docs/metrics.md).
    (8, REMOVED),
    # Workers and task types named by the one rule of rules.py (sqlite_rollups.py).
    (9, RENAME_WORKERS),
    # Ratings rate the worker their entry names whatever its type, unless the store is
    # configured otherwise (feedback_rated_types): the triggers again, every rollup rebuilt.
    (10, RENAME_WORKERS),
    # Alerts: what was raised, each detector's state, how far detection has read
    # (alert_tables.py).
    (11, SQLITE_ALERTS),
    # The outcomes rollup, a row a worker and task type (undecayed scores, outcome totals,
    # the lifetime counters), summed from the days; the rollups of answers over a period,
    # types and ratings per hour (get_summary(since=)) and outcome groups per day and task
    # type (failures), built from the entries (sqlite_rollups.py).
    (12, OUTCOMES),
    # Decayed sums per half-life, worker and task type, kept from the scores rollup by
    # triggers on it; none kept until a half-life is asked for (sqlite_decayed.py).
    (13, DECAYED),
]
"""Numbered schema changes; each applies in one transaction and sets ``user_version``."""

SCHEMA_VERSION = MIGRATIONS[-1][0]


def apply_migrations(connection: sqlite3.Connection, version: int) -> None:
    """Run every migration past ``version``, recording each in ``user_version`` (in the
    caller's transaction)."""
    for number, statements in MIGRATIONS:
        if number > version:
            for statement in statements:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number}")


def _holds_tables(connection: sqlite3.Connection) -> bool:
    return connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None


def migrate(
    connection: sqlite3.Connection,
    path: str,
    *,
    read_only: bool,
    upgrade: bool = True,
    timeout: float = 30.0,
) -> int:
    """Bring the database to ``SCHEMA_VERSION`` in one transaction and return it; refuse a
    newer one (``SchemaVersionError``) and an older one that cannot be written. With
    ``upgrade`` False an older store that holds tables is refused (``SchemaUpgradeNeeded``)
    and only a new, empty file is given the schema. Waits ``timeout`` seconds at most for
    the write lock (another process migrating, say)."""
    version: int = connection.execute("PRAGMA user_version").fetchone()[0]
    if not upgrade and version < SCHEMA_VERSION and _holds_tables(connection):
        raise SchemaUpgradeNeeded(path, version, SCHEMA_VERSION)
    if read_only and version < SCHEMA_VERSION:
        raise FeedbackError(
            f"{path} is read-only and at schema version {version}: open it once "
            f"where it is writable to bring it to version {SCHEMA_VERSION}"
        )
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{path} has schema version {version}, but this orchestrator-feedback "
            f"knows versions up to {SCHEMA_VERSION}: upgrade orchestrator-feedback"
        )
    if version == SCHEMA_VERSION:
        return version
    begin_immediate(connection, timeout)
    try:
        # Read again under the write lock: another process may have migrated meanwhile.
        apply_migrations(connection, connection.execute("PRAGMA user_version").fetchone()[0])
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION

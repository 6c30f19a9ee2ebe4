"""Following SQLite's commits: rowids in commit order, and a watch on ``data_version``.

SQLite has one writer at a time and hands each new row the rowid after the highest one
stored, so rowid order is commit order and a reader's highest rowid marks everything
committed so far; VACUUM keeps rowids (``tests/storage/test_follow.py`` checks it). The
one way a rowid comes back is when the newest rows are deleted: the trigger below notes
each such deletion with the highest rowid left (its ``floor``), and a follower that sees a
deletion newer than its position reads again from that floor.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from orchestrator_feedback.forks import fork_gate
from orchestrator_feedback.serialization import format_sqlite_timestamp
from orchestrator_feedback.storage.backends.values import FollowFilter, FollowPosition

Result = TypeVar("Result")

__all__ = ["CREATE", "DataVersionSignal", "head", "position_of", "read_rows"]

CREATE = (
    """CREATE TABLE IF NOT EXISTS feedback_top_deletions (
        generation INTEGER PRIMARY KEY AUTOINCREMENT,
        floor INTEGER NOT NULL
    )""",
    """CREATE TRIGGER IF NOT EXISTS feedback_follow_top_delete AFTER DELETE ON feedback
       WHEN OLD.rowid > (SELECT ifnull(max(rowid), 0) FROM feedback)
       BEGIN
           INSERT INTO feedback_top_deletions (floor)
           SELECT ifnull(max(rowid), 0) FROM feedback;
       END""",
)
"""The migration that lets followers see rowids handed out again."""

_GENERATION = "SELECT ifnull(max(generation), 0) FROM feedback_top_deletions"
_DELETIONS_SINCE = (
    "SELECT ifnull(max(generation), ?), min(floor) FROM feedback_top_deletions WHERE generation > ?"
)
_HEAD = "SELECT ifnull(max(rowid), 0) FROM feedback"


def head(connection: sqlite3.Connection) -> FollowPosition:
    """The position after the newest committed entry."""
    return _in_snapshot(
        connection,
        lambda: FollowPosition(
            connection.execute(_HEAD).fetchone()[0], connection.execute(_GENERATION).fetchone()[0]
        ),
    )


def position_of(connection: sqlite3.Connection, feedback_id: str) -> FollowPosition | None:
    """The position just after the entry with this id; None when no entry has it."""

    def find() -> FollowPosition | None:
        row = connection.execute("SELECT rowid FROM feedback WHERE id = ?", (feedback_id,))
        found = row.fetchone()
        if found is None:
            return None
        return FollowPosition(found[0], connection.execute(_GENERATION).fetchone()[0])

    return _in_snapshot(connection, find)


def read_rows(
    connection: sqlite3.Connection,
    after: FollowPosition,
    upto: FollowPosition | None,
    where: FollowFilter,
    limit: int,
    columns: str,
    conditions: tuple[str, list[object]],
) -> tuple[list[tuple[Any, ...]], FollowPosition]:
    """Up to ``limit`` entries matching ``where`` (as SQL ``conditions``) committed after
    ``after`` (and not after ``upto``), in commit order, as rows of ``columns`` (a select
    list over the entry table), with the position after them."""

    def take() -> tuple[list[tuple[Any, ...]], FollowPosition]:
        generation, floor = connection.execute(
            _DELETIONS_SINCE, (after.minor, after.minor)
        ).fetchone()
        start = after.major if floor is None else min(after.major, floor)
        if where.created_after is not None:
            # A replay since a moment starts at its first entry, found by created_at's index.
            first = connection.execute(
                "SELECT min(rowid) FROM feedback WHERE created_at > ?",
                (format_sqlite_timestamp(where.created_after),),
            ).fetchone()[0]
            start = max(start, (first or 1) - 1)
        stop = connection.execute(_HEAD).fetchone()[0]
        if upto is not None:
            stop = min(stop, upto.major)
        clause, params = conditions
        rows = connection.execute(
            f"SELECT rowid, {columns} FROM feedback WHERE rowid > ? AND rowid <= ?{clause} "
            "ORDER BY rowid LIMIT ?",
            (start, stop, *params, limit),
        ).fetchall()
        if len(rows) == limit:
            stop = rows[-1][0]
        return [tuple(row[1:]) for row in rows], FollowPosition(stop, generation)

    return _in_snapshot(connection, take)


def _in_snapshot(connection: sqlite3.Connection, work: Callable[[], Result]) -> Result:
    """Run ``work``'s statements in one read transaction, so they see the same commits."""
    if connection.in_transaction:
        return work()
    connection.execute("BEGIN")
    try:
        return work()
    finally:
        connection.execute("COMMIT")


class DataVersionSignal:
    """Tells a follower when another connection may have committed: ``PRAGMA
    data_version`` on a connection of its own changes with every commit made elsewhere."""

    def __init__(self, connect: Callable[[], sqlite3.Connection] | None) -> None:
        # An in-memory database has no second connection: every wait ends in a read.
        self._connection = None if connect is None else connect()
        self._version = self._current()

    def _current(self) -> int | None:
        if self._connection is None:
            return None
        return int(self._connection.execute("PRAGMA data_version").fetchone()[0])

    def wait(self, timeout: float) -> bool:
        """Sleep ``timeout`` seconds; True when something was committed meanwhile."""
        time.sleep(timeout)
        with fork_gate.working():
            version = self._current()
        changed = version is None or version != self._version
        self._version = version
        return changed

    def close(self) -> None:
        """Close the watching connection."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

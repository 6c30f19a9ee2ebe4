"""Following PostgreSQL's commits: a commit log numbered in commit order, and LISTEN.

PostgreSQL hands out sequence numbers when rows are written, not when their transactions
commit, so a plain serial column lets a follower pass a number whose transaction commits
later. Here every transaction that stores entries leaves one row in
``feedback_follow_commits``: its entries' ids in the order written. A deferred trigger
numbers that transaction at commit (a row of ``feedback_follow_order``: number, txid, time)
while holding an advisory lock that is released only once the commit is visible, so the
numbers follow commit order, and a follower that sees number N has seen every lower one.
The same trigger sends ``NOTIFY orchestrator_feedback``. (Schema 6 kept the number in the
log row itself; updating that row at commit cost a ``create`` about 18 µs more than
inserting the number.)

Cost: commits that store entries take their number one at a time (as ``NOTIFY`` already
makes them do); the log keeps one small row per such transaction. Entries stored before
this migration are not in the log: following from one of them starts at the log's start.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from orchestrator_feedback.storage.backends.values import FollowFilter, FollowPosition

__all__ = [
    "CHANNEL",
    "CREATE",
    "SEPARATE_ORDER",
    "ListenSignal",
    "head",
    "position_of",
    "read_rows",
]

logger = logging.getLogger("orchestrator_feedback")

CHANNEL = "orchestrator_feedback"
"""The channel our writes notify at commit."""

_COMMIT_LOCK = 7_362_810_443  # pg_advisory_xact_lock key: "feedback commit order"
_WHOLE_COMMIT = 2**62  # a minor past every entry of one commit
# How much earlier than an entry's created_at its commit may have been numbered (clocks of
# the writing hosts and the server disagree); bounds the log rows a lookup reads.
_CLOCK_SLACK = "interval '1 hour'"

CREATE = (
    "CREATE SEQUENCE IF NOT EXISTS feedback_follow_seq",
    """CREATE TABLE IF NOT EXISTS feedback_follow_commits (
        txid xid8 PRIMARY KEY,
        seq BIGINT UNIQUE,
        committed_at TIMESTAMPTZ,
        ids TEXT[] NOT NULL
    )""",
    """CREATE OR REPLACE FUNCTION feedback_follow_inserted() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           INSERT INTO feedback_follow_commits (txid, ids)
           SELECT pg_current_xact_id(), array_agg(id) FROM new_rows HAVING count(*) > 0
           ON CONFLICT (txid) DO UPDATE
               SET ids = feedback_follow_commits.ids || EXCLUDED.ids;
           RETURN NULL;
       END $$""",
    f"""CREATE OR REPLACE FUNCTION feedback_follow_committed() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           PERFORM pg_advisory_xact_lock({_COMMIT_LOCK});
           UPDATE feedback_follow_commits
               SET seq = nextval('feedback_follow_seq'), committed_at = clock_timestamp()
               WHERE txid = NEW.txid;
           PERFORM pg_notify('{CHANNEL}', '');
           RETURN NULL;
       END $$""",
    """CREATE TRIGGER feedback_follow_insert AFTER INSERT ON feedback
       REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
       EXECUTE FUNCTION feedback_follow_inserted()""",
    """CREATE CONSTRAINT TRIGGER feedback_follow_commit AFTER INSERT ON feedback_follow_commits
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
       EXECUTE FUNCTION feedback_follow_committed()""",
)
"""The migration that adds the commit log."""

SEPARATE_ORDER = (
    """CREATE TABLE feedback_follow_order (
        seq BIGINT PRIMARY KEY,
        txid xid8 NOT NULL,
        committed_at TIMESTAMPTZ NOT NULL
    )""",
    """INSERT INTO feedback_follow_order (seq, txid, committed_at)
        SELECT seq, txid, committed_at FROM feedback_follow_commits WHERE seq IS NOT NULL""",
    "ALTER TABLE feedback_follow_commits DROP COLUMN seq, DROP COLUMN committed_at",
    f"""CREATE OR REPLACE FUNCTION feedback_follow_committed() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           PERFORM pg_advisory_xact_lock({_COMMIT_LOCK});
           INSERT INTO feedback_follow_order (seq, txid, committed_at)
               VALUES (nextval('feedback_follow_seq'), NEW.txid, clock_timestamp());
           PERFORM pg_notify('{CHANNEL}', '');
           RETURN NULL;
       END $$""",
)
"""The migration that numbers commits in a table of their own instead of in the log row."""

PARTS = (
    "ALTER TABLE feedback_follow_commits ADD COLUMN part INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE feedback_follow_commits DROP CONSTRAINT feedback_follow_commits_pkey",
    "ALTER TABLE feedback_follow_commits ADD PRIMARY KEY (txid, part)",
    "ALTER TABLE feedback_follow_order ADD COLUMN part INTEGER NOT NULL DEFAULT 0",
    """CREATE OR REPLACE FUNCTION feedback_follow_inserted() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           INSERT INTO feedback_follow_commits (txid, part, ids)
           SELECT pg_current_xact_id(), coalesce((SELECT max(part) + 1
                   FROM feedback_follow_commits WHERE txid = pg_current_xact_id()), 0),
               array_agg(id)
           FROM new_rows HAVING count(*) > 0;
           RETURN NULL;
       END $$""",
    f"""CREATE OR REPLACE FUNCTION feedback_follow_committed() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           PERFORM pg_advisory_xact_lock({_COMMIT_LOCK});
           INSERT INTO feedback_follow_order (seq, txid, part, committed_at)
               VALUES (nextval('feedback_follow_seq'), NEW.txid, NEW.part, clock_timestamp());
           PERFORM pg_notify('{CHANNEL}', '');
           RETURN NULL;
       END $$""",
)
"""The migration that logs each writing statement's ids in a row (a part) of its own and
numbers each part at commit, in order: one array per commit was capped at 1 GB, about
26,800,000 ids, so a larger import failed."""

_HEAD = "SELECT coalesce(max(seq), 0) FROM feedback_follow_order"
_NUMBERED_ENTRIES = """feedback_follow_order o JOIN feedback_follow_commits c USING (txid, part)
            CROSS JOIN LATERAL unnest(c.ids) WITH ORDINALITY AS u(entry_id, ord)"""


def json_text(key: str) -> str:
    """SQL for ``metadata``'s top-level ``key`` as text (NULL when absent)."""
    return f"(metadata->>'{key}')"


def head(connection: Any) -> FollowPosition:
    """The position after the newest committed entry."""
    return FollowPosition(connection.execute(_HEAD).fetchone()[0], _WHOLE_COMMIT)


def position_of(connection: Any, feedback_id: str) -> FollowPosition | None:
    """The position just after the entry with this id (the log's start for an entry
    stored before the log began); None when no entry has it."""
    created = connection.execute(
        "SELECT created_at FROM feedback WHERE id = %s", (feedback_id,)
    ).fetchone()
    if created is None:
        return None
    row = connection.execute(
        f"""SELECT o.seq, u.ord FROM {_NUMBERED_ENTRIES}
            WHERE o.committed_at >= %s - {_CLOCK_SLACK}
                AND c.ids @> ARRAY[%s]::text[] AND u.entry_id = %s
            ORDER BY o.seq DESC, u.ord DESC LIMIT 1""",
        (created[0], feedback_id, feedback_id),
    ).fetchone()
    return FollowPosition(0, 0) if row is None else FollowPosition(row[0], row[1])


def read_rows(
    connection: Any,
    after: FollowPosition,
    upto: FollowPosition | None,
    where: FollowFilter,
    limit: int,
    columns: str,
    conditions: tuple[str, list[object]],
) -> tuple[list[tuple[Any, ...]], FollowPosition]:
    """Up to ``limit`` entries matching ``where`` committed after ``after`` (and not after
    ``upto``), in commit order, as rows of ``columns`` (a select list whose names are the
    entry table's alone in this join), with the position after them."""
    # Read the newest number first: every commit up to it is visible to the next statement.
    stop = head(connection)
    if upto is not None:
        stop = min(stop, upto)
    clause, params = conditions
    if where.created_after is not None:  # only commits numbered since then can hold them
        clause += f" AND o.committed_at > %s - {_CLOCK_SLACK}"
        params = [*params, where.created_after]
    rows = connection.execute(
        f"""SELECT o.seq, u.ord, {columns} FROM {_NUMBERED_ENTRIES}
            JOIN feedback f ON f.id = u.entry_id
            WHERE o.seq >= %s AND o.seq <= %s AND (o.seq, u.ord) > (%s, %s){clause}
            ORDER BY o.seq, u.ord LIMIT %s""",
        (after.major, stop.major, after.major, after.minor, *params, limit),
    ).fetchall()
    if len(rows) == limit:
        stop = FollowPosition(rows[-1][0], rows[-1][1])
    return [tuple(row[2:]) for row in rows], stop


class ListenSignal:
    """Tells a follower when our writes committed, by ``LISTEN`` on a connection of its
    own; where that fails (a pooler that does not pass notifications on, a lost
    connection), it only sleeps, and the follower reads at every timeout."""

    def __init__(self, connect: Any) -> None:
        self._connection: Any = None
        try:
            self._connection = connect()
            self._connection.execute(f"LISTEN {CHANNEL}")
        except Exception as error:
            logger.warning("cannot LISTEN for new feedback (%s); polling instead", error)
            self.close()

    def wait(self, timeout: float) -> bool:
        """Wait for a notification, at most ``timeout`` seconds; always True (a timeout is
        the polling fallback's turn to read)."""
        if self._connection is None:
            time.sleep(timeout)
            return True
        try:
            for _ in self._connection.notifies(timeout=timeout, stop_after=1):
                pass
        except Exception as error:
            logger.warning("lost the LISTEN connection (%s); polling instead", error)
            self.close()
        return True

    def close(self) -> None:
        """Close the listening connection."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            with contextlib.suppress(Exception):
                connection.close()

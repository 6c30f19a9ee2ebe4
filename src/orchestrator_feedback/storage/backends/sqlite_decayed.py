"""SQLite's decayed sums (``decayed.py``): the tables, the triggers on the scores rollup that
keep them, and the reads, builds and rebases, each in a write transaction of its own."""

from __future__ import annotations

import sqlite3
import time
from datetime import date

from orchestrator_feedback.storage.backends import decayed
from orchestrator_feedback.storage.backends.decayed import COMPLETE, MEASURES, SQLITE, day_weights
from orchestrator_feedback.storage.backends.sqlite_files import begin_immediate
from orchestrator_feedback.storage.backends.sqlite_rollups import TAIL_DAYS

__all__ = ["CLEAR", "CREATE", "VERIFY", "read", "settle"]

_TABLES = (
    """CREATE TABLE IF NOT EXISTS feedback_rollup_decay (
        half_life REAL NOT NULL PRIMARY KEY,
        t_ref TEXT NOT NULL,
        built_through TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS feedback_rollup_decayed (
        half_life REAL NOT NULL,
        worker TEXT NOT NULL,
        task_type TEXT NOT NULL,
        successes REAL NOT NULL,
        failures REAL NOT NULL,
        rated REAL NOT NULL,
        rating_sum REAL NOT NULL,
        timed REAL NOT NULL,
        time_sum REAL NOT NULL,
        PRIMARY KEY (half_life, worker, task_type)
    ) WITHOUT ROWID""",
)
_ADD = "ON CONFLICT DO UPDATE SET " + ", ".join(f"{m} = {m} + excluded.{m}" for m in MEASURES)
_MOMENT_COLUMNS = (
    "successes, success_f, success_ff, failures, failure_f, failure_ff, rated, rated_f, "
    "rated_ff, rating_sum, rating_f, rating_ff, timed, time_sum"
)


def _weights(row: str) -> dict[str, str]:
    return day_weights(lambda name: f"{row}{name}", f"{row}day", "d.t_ref", "d.half_life", SQLITE)


def _trigger(event: str, values: dict[str, str], row: str) -> str:
    name = event.split()[0].lower()
    columns = ", ".join(values[m] for m in MEASURES)
    return f"""CREATE TRIGGER IF NOT EXISTS feedback_rollup_decayed_{name}
        AFTER {event} ON feedback_rollup_scores BEGIN
        INSERT INTO feedback_rollup_decayed
            SELECT d.half_life, {row}.worker, {row}.task_type, {columns}
            FROM feedback_rollup_decay AS d WHERE {row}.day <= d.built_through {_ADD};
        END"""


_NEW, _OLD = _weights("NEW."), _weights("OLD.")
_TRIGGERS = (
    _trigger("INSERT", _NEW, "NEW"),
    _trigger(
        f"UPDATE OF {_MOMENT_COLUMNS}",
        {m: f"({_NEW[m]}) - ({_OLD[m]})" for m in MEASURES},
        "NEW",
    ),
    _trigger("DELETE", {m: f"-({_OLD[m]})" for m in MEASURES}, "OLD"),
)
CREATE = (*_TABLES, *_TRIGGERS)
"""The migration that adds the decayed sums (none kept until a half-life is asked for)."""
CLEAR = ("DELETE FROM feedback_rollup_decay", "DELETE FROM feedback_rollup_decayed")
"""Forget every half-life (before the scores rollup is rebuilt: the next ask builds again)."""

_DAYS = _weights("s.")
_SUMMED = ", ".join(f"SUM({_DAYS[m]}) AS {m}" for m in MEASURES)
_RECOMPUTED = f"""SELECT d.half_life, s.worker, s.task_type, {_SUMMED}
    FROM feedback_rollup_scores AS s JOIN feedback_rollup_decay AS d ON s.day <= d.built_through
    GROUP BY d.half_life, s.worker, s.task_type"""
_BUILD_STEP = (
    f"""INSERT INTO feedback_rollup_decayed
        SELECT d.half_life, s.worker, s.task_type, {_SUMMED}
        FROM feedback_rollup_scores AS s JOIN feedback_rollup_decay AS d
            ON d.half_life = :half_life AND s.day > d.built_through AND s.day <= :through
        GROUP BY s.worker, s.task_type {_ADD}""",
    # Forward only: a builder whose step was chosen before another's went further adds
    # nothing (the days it sums start after the mark) and must not move the mark back.
    "UPDATE feedback_rollup_decay SET built_through = :through "
    "WHERE half_life = :half_life AND built_through < :through",
)
_REBASE = decayed.rebase_statements(lambda name: f":{name}")
_REGISTER = f"""INSERT INTO feedback_rollup_decay
    SELECT :half_life, :t_ref, '0001-01-01' WHERE (SELECT count(*) FROM feedback_rollup_decay) <
        {decayed.MOST_HALF_LIVES}
    ON CONFLICT DO NOTHING"""

_KEPT = decayed.kept_sums(SQLITE)
_READ = f"""SELECT 1, o.worker, NULL, SUM({_KEPT["successes"]}), 0.0, 0.0,
        SUM({_KEPT["failures"]}), 0.0, 0.0, SUM({_KEPT["rated"]}), 0.0, 0.0,
        SUM({_KEPT["rating_sum"]}), 0.0, 0.0, SUM({_KEPT["timed"]}), SUM({_KEPT["time_sum"]}),
        MAX(o.latest), {decayed.COUNTS}
    FROM feedback_rollup_outcomes AS o LEFT JOIN feedback_rollup_decayed AS d
        ON d.half_life = :half_life AND d.worker = o.worker AND d.task_type = o.task_type
    WHERE :task_type IS NULL OR o.task_type = :task_type
    GROUP BY o.worker
    UNION ALL
    SELECT 0, worker, day, successes, success_f, success_ff, failures, failure_f, failure_ff,
        rated, rated_f, rated_ff, rating_sum, rating_f, rating_ff, timed, time_sum, latest,
        entries, successes, failures, rated, timed
    FROM ({TAIL_DAYS})"""

VERIFY = decayed.verify_statements(_RECOMPUTED, SQLITE)
"""The decayed sums that differ from the scores rollup's days weighed again, and those
missing."""


_MOST_WAIT_MS = 2_000
"""How long a build or rebase waits for the write lock (a long import may hold it): past it,
the answer is read from the days this time, rather than keep the caller waiting."""


def _write(connection: sqlite3.Connection, statements: tuple[str, ...], **values: object) -> None:
    begin_immediate(connection, _MOST_WAIT_MS / 1000)
    try:
        for statement in statements:
            connection.execute(statement, values)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def settle(
    connection: sqlite3.Connection, half_life: float, today: date, build: bool
) -> date | None:
    """The reference day of ``half_life``'s sums, built first when ``build`` (a
    few weeks of days a write transaction, with a pause between two so that writers go
    first) and brought forward when due; None when they are not whole and not to be built,
    when ``MOST_HALF_LIVES`` others are kept, or inside the caller's transaction."""
    state = connection.execute(
        "SELECT t_ref, built_through FROM feedback_rollup_decay WHERE half_life = ?",
        (half_life,),
    ).fetchone()
    if (
        state is not None
        and state[1] == COMPLETE
        and not decayed.rebase_due(date.fromisoformat(state[0]), today, half_life)
    ):
        return date.fromisoformat(state[0])
    if connection.in_transaction or (not build and (state is None or state[1] != COMPLETE)):
        return None
    if state is None:
        _write(connection, (_REGISTER,), half_life=half_life, t_ref=today.isoformat())
    while True:
        state = connection.execute(
            "SELECT t_ref, built_through FROM feedback_rollup_decay WHERE half_life = ?",
            (half_life,),
        ).fetchone()
        if state is None:
            return None
        t_ref, built_through = date.fromisoformat(state[0]), state[1]
        if built_through == COMPLETE:
            break
        began = time.monotonic()
        (first, last) = connection.execute(
            "SELECT min(day), (SELECT max(day) FROM feedback_rollup_scores) "
            "FROM feedback_rollup_scores WHERE day > ?",
            (built_through,),
        ).fetchone()
        through = COMPLETE
        if first is not None:
            end = date.fromordinal(date.fromisoformat(first).toordinal() + decayed.STEP_DAYS - 1)
            through = COMPLETE if end.isoformat() >= last else end.isoformat()
        _write(connection, _BUILD_STEP, half_life=half_life, through=through)
        time.sleep((time.monotonic() - began) * 0.5)
    if decayed.rebase_due(t_ref, today, half_life):
        factor = 0.5 ** ((today - t_ref).days / half_life)
        _write(connection, _REBASE, half_life=half_life, factor=factor, t_ref=today.isoformat())
        t_ref = today
    return t_ref


def read(
    connection: sqlite3.Connection, half_life: float, task_type: str | None
) -> tuple[date, list[tuple[object, ...]]] | None:
    """``half_life``'s reference day, its sums per worker (rows flagged 1, shaped as
    ``ScoreDay`` with no day and no moments) and the tail's days (flagged 0), read in one
    transaction; None when the half-life is not kept whole."""
    own = not connection.in_transaction
    if own:
        connection.execute("BEGIN")
    try:
        state = connection.execute(
            "SELECT t_ref, built_through FROM feedback_rollup_decay WHERE half_life = ?",
            (half_life,),
        ).fetchone()
        if state is None or state[1] != COMPLETE:
            return None
        rows = connection.execute(_READ, {"half_life": half_life, "task_type": task_type})
        return date.fromisoformat(state[0]), rows.fetchall()
    finally:
        if own:
            connection.execute("COMMIT")

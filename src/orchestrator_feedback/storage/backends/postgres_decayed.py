"""PostgreSQL's decayed sums (``decayed.py``): the tables, the part of the fold that keeps
them (the fold is the one writer of the scores rollup's sums), and the builds and rebases,
each a transaction under the fold's lock (so that no fold changes a day between a build's
read of it and its mark)."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from orchestrator_feedback.storage.backends import decayed
from orchestrator_feedback.storage.backends.decayed import (
    COMPLETE,
    COUNTS,
    MEASURES,
    POSTGRES,
    day_weights,
)

__all__ = ["CLEAR", "COMPLETE", "COUNTS", "CREATE", "KEPT", "VERIFY", "fold_into_sums", "settle"]

NOT_BUILT = "0001-01-01"
"""``built_through`` of a half-life none of whose days are summed yet."""

CREATE = (
    """CREATE TABLE IF NOT EXISTS feedback_rollup_decay (
        half_life DOUBLE PRECISION NOT NULL PRIMARY KEY,
        t_ref DATE NOT NULL,
        built_through DATE NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS feedback_rollup_decayed (
        half_life DOUBLE PRECISION NOT NULL,
        worker TEXT NOT NULL,
        task_type TEXT NOT NULL,
        successes DOUBLE PRECISION NOT NULL,
        failures DOUBLE PRECISION NOT NULL,
        rated DOUBLE PRECISION NOT NULL,
        rating_sum DOUBLE PRECISION NOT NULL,
        timed DOUBLE PRECISION NOT NULL,
        time_sum DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (half_life, worker, task_type)
    )""",
)
"""The migration that adds the decayed sums (none kept until a half-life is asked for)."""
CLEAR = ("DELETE FROM feedback_rollup_decay", "DELETE FROM feedback_rollup_decayed")
"""Forget every half-life (before the scores rollup is rebuilt: the next ask builds again)."""

_ADD = "ON CONFLICT (half_life, worker, task_type) DO UPDATE SET " + ", ".join(
    f"{m} = t.{m} + excluded.{m}" for m in MEASURES
)


def _weights(column: str) -> dict[str, str]:
    return day_weights(
        lambda name: column.format(name=name),
        column.format(name="day"),
        "d.t_ref",
        "d.half_life",
        POSTGRES,
    )


def fold_into_sums(folded: str, moved: str) -> str:
    """The statement (for a ``WITH``) that adds to the sums what a fold changed: per day's
    row, its weight after (``folded``: the rows the fold's upsert returned) less its weight
    before (those less ``moved``, what the fold added to each)."""
    new = _weights("n.{name}")
    old = day_weights(
        lambda name: f"(n.{name} - m.{name})", "n.day", "d.t_ref", "d.half_life", POSTGRES
    )
    changes = ", ".join(f"SUM(({new[m]}) - ({old[m]}))" for m in MEASURES)
    return f"""INSERT INTO feedback_rollup_decayed AS t
        SELECT d.half_life, n.worker, n.task_type, {changes}
        FROM {folded} AS n
            JOIN {moved} AS m ON m.day = n.day AND m.worker = n.worker
                AND m.task_type = n.task_type
            JOIN feedback_rollup_decay AS d ON n.day <= d.built_through
        GROUP BY d.half_life, n.worker, n.task_type
        {_ADD}"""


_DAYS = _weights("s.{name}")
_SUMMED = ", ".join(f"SUM({_DAYS[m]}) AS {m}" for m in MEASURES)
_RECOMPUTED = f"""SELECT d.half_life, s.worker, s.task_type, {_SUMMED}
    FROM feedback_rollup_scores AS s JOIN feedback_rollup_decay AS d ON s.day <= d.built_through
    GROUP BY d.half_life, s.worker, s.task_type"""
_STATE = "SELECT t_ref, built_through FROM feedback_rollup_decay WHERE half_life = %(half_life)s"
_BUILD_STEP = (
    f"""INSERT INTO feedback_rollup_decayed AS t
        SELECT d.half_life, s.worker, s.task_type, {_SUMMED}
        FROM feedback_rollup_scores AS s JOIN feedback_rollup_decay AS d
            ON d.half_life = %(half_life)s AND s.day > d.built_through
                AND s.day <= %(through)s::date
        GROUP BY d.half_life, s.worker, s.task_type {_ADD}""",
    # Forward only, as SQLite's (sqlite_decayed): a late builder must not move it back.
    "UPDATE feedback_rollup_decay SET built_through = %(through)s::date "
    "WHERE half_life = %(half_life)s AND built_through < %(through)s::date",
)
_REBASE = decayed.rebase_statements(lambda name: f"%({name})s")
_REGISTER = f"""INSERT INTO feedback_rollup_decay
    SELECT %(half_life)s, %(t_ref)s, '{NOT_BUILT}'
    WHERE (SELECT count(*) FROM feedback_rollup_decay) < {decayed.MOST_HALF_LIVES}
    ON CONFLICT DO NOTHING"""

KEPT = decayed.kept_sums(POSTGRES)
"""Per measure, the sum kept for a worker and task type (``decayed.kept_sums``)."""

VERIFY = decayed.verify_statements(_RECOMPUTED, POSTGRES)
"""The decayed sums that differ from the scores rollup's days weighed again, and those
missing."""


def _write(connection: Any, lock: str, statements: tuple[str, ...], **values: Any) -> None:
    with connection.transaction():
        connection.execute(lock)
        for statement in statements:
            connection.execute(statement, values)


def settle(
    connection: Any, half_life: float, today: date, lock: str, build: bool
) -> date | None:
    """The reference day of ``half_life``'s sums, built first when ``build`` (a
    few weeks of days a transaction under the fold's ``lock``, with a pause between two)
    and brought forward when due; None when they are not whole and not to be built, when
    ``MOST_HALF_LIVES`` others are kept, or inside the caller's transaction."""
    values = {"half_life": half_life}
    state = connection.execute(_STATE, values).fetchone()
    if (
        state is not None
        and state[1].isoformat() == COMPLETE
        and not decayed.rebase_due(state[0], today, half_life)
    ):
        return date.fromisoformat(state[0].isoformat())
    if connection.info.transaction_status.name != "IDLE" or (
        not build and (state is None or state[1].isoformat() != COMPLETE)
    ):
        return None
    if state is None:
        _write(connection, lock, (_REGISTER,), half_life=half_life, t_ref=today)
    while True:
        state = connection.execute(_STATE, values).fetchone()
        if state is None:
            return None
        t_ref, built_through = state
        if built_through.isoformat() == COMPLETE:
            break
        began = time.monotonic()
        first, last = connection.execute(
            "SELECT min(day), (SELECT max(day) FROM feedback_rollup_scores) "
            "FROM feedback_rollup_scores WHERE day > %(built)s",
            {"built": built_through},
        ).fetchone() or (None, None)
        through = COMPLETE
        if first is not None and last is not None:
            end = date.fromordinal(first.toordinal() + decayed.STEP_DAYS - 1)
            through = COMPLETE if end >= last else end.isoformat()
        _write(connection, lock, _BUILD_STEP, half_life=half_life, through=through)
        time.sleep((time.monotonic() - began) * 0.5)
    if decayed.rebase_due(t_ref, today, half_life):
        factor = 0.5 ** ((today - t_ref).days / half_life)
        _write(connection, lock, _REBASE, half_life=half_life, factor=factor, t_ref=today)
        t_ref = today
    return date.fromisoformat(t_ref.isoformat())

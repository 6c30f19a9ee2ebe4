"""SQLite's rollups: aggregate tables behind the whole-store summary, the workers and the
trends, so those answers read a few hundred rows, not every entry.

How they stay exact at no cost to inserts:

- The rollups hold every entry up to a mark, ``feedback_rollup_mark.last_rowid`` (SQLite
  gives each new row a rowid above every rowid in the table). An answer adds the *tail*,
  the rows above the mark, aggregated on the fly from the rowid B-tree; ``fold`` moves the
  tail into the rollups (when it has grown past ``FOLD_AT`` rows, in a short write
  transaction of its own). So an insert, by any path (the store's, an import, a user's own
  SQL, another program), costs nothing here, and is counted from the moment it commits.
- An update or delete of a row at or below the mark changes the rollups in the same
  transaction, by trigger: the store's ``update``, deletions, retention and erasure, and a
  user's own SQL alike. Deleting the row at the mark lowers the mark, so that a later insert
  given that rowid again is not taken as counted.

- ``feedback_rollup_types``: per type and rating (0: unrated), the count.
- ``feedback_rollup_workers``: per worker (``metadata.worker_id`` named by ``rules``: the
  worker ``7`` and the worker ``"7"`` are one), the count, the rated count and rating sum,
  the error reports.
- ``feedback_rollup_hours``: per hour of ``created_at`` (``YYYY-MM-DD HH``, UTC), the count,
  the rated count and rating sum.
- ``feedback_rollup_scores``: per day, worker and ``metadata.task_type`` ('' when absent),
  what a worker's scores need (``docs/scores.md``): the count; the successes (a
  ``task_completion`` whose ``metadata.success`` is true or absent) and failures (one with
  it false, and every ``error_report``); the ratings of the store's rating types
  (``feedback_rated_types``, every type unless configured otherwise), their count and sum;
  for each of those four measures the sums of ``f`` and ``f * f``, where ``f`` is the
  entry's time of day as a fraction of the day (the moments that make decayed sums exact to
  within 1% for half-lives of a day or more); the sum and count of a numeric
  ``metadata.execution_time``; the newest outcome or rating (``latest``). Days, not hours: a
  worker runs a task type a few times an hour, so hourly rows would be about as many as the
  entries.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime

from orchestrator_feedback import rules
from orchestrator_feedback.rules import SQLITE_JSON
from orchestrator_feedback.serialization import format_sqlite_timestamp
from orchestrator_feedback.storage.backends.sqlite_files import begin_immediate
from orchestrator_feedback.storage.backends.values import next_whole_day, next_whole_hour

__all__ = [
    "CREATE",
    "FOLD",
    "FOLD_AT",
    "FOLD_STEP_ROWS",
    "LIFETIME_OUTCOMES",
    "LIFETIME_TYPES",
    "OUTCOMES",
    "OUTCOMES_PER_WORKER",
    "OUTCOMES_SINCE",
    "OUTCOMES_TABLE",
    "PERIOD_TABLES",
    "RATED_TYPES",
    "REBUILD",
    "REMOVED",
    "RENAME_WORKERS",
    "RESHAPE_SCORES",
    "SCORES",
    "SCORE_TOTALS",
    "SUMMARY_SINCE",
    "TAIL_SIZE",
    "TREND",
    "TYPES_WITH_TAIL",
    "VERIFY",
    "WORKERS_WITH_TAIL",
    "day_parameters",
    "fold_a_long_tail",
    "fold_in_steps",
    "trend_parameters",
]

FOLD_AT = 10_000
"""Tail rows past which a reader folds the tail into the rollups first."""

_MARK = "(SELECT last_rowid FROM feedback_rollup_mark)"
_WORKER = rules.worker_sql(SQLITE_JSON)

RATED_TYPES = (
    f"""CREATE TABLE IF NOT EXISTS {rules.RATED_TYPES_TABLE} (
        feedback_type TEXT NOT NULL PRIMARY KEY
    ) WITHOUT ROWID""",
    rules.RATED_TYPES_DEFAULT_SQL,
)
"""The store's rating types (``rules``), every type to begin with."""

OUTCOMES_TABLE = """CREATE TABLE IF NOT EXISTS feedback_rollup_outcomes (
        worker TEXT NOT NULL,
        task_type TEXT NOT NULL,
        entries INTEGER NOT NULL,
        successes INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        rated INTEGER NOT NULL,
        rating_sum INTEGER NOT NULL,
        timed INTEGER NOT NULL,
        time_sum REAL NOT NULL,
        latest TEXT,
        PRIMARY KEY (worker, task_type)
    ) WITHOUT ROWID"""
"""Per worker and task type, over every counted entry: the scores rollup's sums without
the day (a row a worker and task type, whatever the store's age)."""

PERIOD_TABLES = (
    """CREATE TABLE IF NOT EXISTS feedback_rollup_type_hours (
        hour TEXT NOT NULL,
        feedback_type TEXT NOT NULL,
        rating INTEGER NOT NULL,
        entries INTEGER NOT NULL,
        PRIMARY KEY (hour, feedback_type, rating)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS feedback_rollup_outcome_days (
        day TEXT NOT NULL,
        task_type TEXT NOT NULL,
        outcome TEXT NOT NULL,
        entries INTEGER NOT NULL,
        newest TEXT,
        PRIMARY KEY (day, task_type, outcome)
    ) WITHOUT ROWID""",
)
"""The rollups of answers over a period: per hour, type and rating (0: unrated) the count
(``get_summary(since=)``); per day, task type and outcome group (``rules``) the count and the
newest ``created_at`` (``failures``)."""

_TABLES = (
    *RATED_TYPES,
    """CREATE TABLE IF NOT EXISTS feedback_rollup_types (
        feedback_type TEXT NOT NULL,
        rating INTEGER NOT NULL,
        entries INTEGER NOT NULL,
        PRIMARY KEY (feedback_type, rating)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS feedback_rollup_workers (
        worker TEXT NOT NULL PRIMARY KEY,
        entries INTEGER NOT NULL,
        rated INTEGER NOT NULL,
        rating_sum INTEGER NOT NULL,
        failures INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS feedback_rollup_hours (
        hour TEXT NOT NULL PRIMARY KEY,
        entries INTEGER NOT NULL,
        rated INTEGER NOT NULL,
        rating_sum INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS feedback_rollup_scores (
        day TEXT NOT NULL,
        worker TEXT NOT NULL,
        task_type TEXT NOT NULL,
        entries INTEGER NOT NULL,
        successes INTEGER NOT NULL,
        success_f REAL NOT NULL,
        success_ff REAL NOT NULL,
        failures INTEGER NOT NULL,
        failure_f REAL NOT NULL,
        failure_ff REAL NOT NULL,
        rated INTEGER NOT NULL,
        rated_f REAL NOT NULL,
        rated_ff REAL NOT NULL,
        rating_sum INTEGER NOT NULL,
        rating_f REAL NOT NULL,
        rating_ff REAL NOT NULL,
        timed INTEGER NOT NULL,
        time_sum REAL NOT NULL,
        latest TEXT,
        PRIMARY KEY (day, worker, task_type)
    ) WITHOUT ROWID""",
    OUTCOMES_TABLE,
    *PERIOD_TABLES,
    """CREATE TABLE IF NOT EXISTS feedback_rollup_mark (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        last_rowid INTEGER NOT NULL
    )""",
    "INSERT OR IGNORE INTO feedback_rollup_mark VALUES (1, 0)",
)


def _score_columns(row: str) -> dict[str, str]:
    """The scores rollup's key and per-entry values, for the entry ``row`` ("" for the
    table's own columns, ``NEW.`` or ``OLD.`` in a trigger); the rules are ``rules``'."""
    timed = f"ifnull(json_type({row}metadata, '$.execution_time') IN ('integer', 'real'), 0)"
    is_success = rules.success_sql(SQLITE_JSON, row)
    is_failure = rules.failure_sql(SQLITE_JSON, row)
    is_rated = rules.rated_sql(row)
    created = f"{row}created_at"
    # The time of day as a fraction of the day, read from the stored text.
    fraction = (
        f"((CAST(substr({created}, 12, 2) AS INTEGER) * 3600 + "
        f"CAST(substr({created}, 15, 2) AS INTEGER) * 60 + "
        f"CAST(substr({created}, 18, 9) AS REAL)) / 86400.0)"
    )
    rating = f"ifnull({row}rating, 0)"
    return {
        "day": f"substr({created}, 1, 10)",
        "worker": rules.worker_sql(SQLITE_JSON, row),
        "task_type": rules.task_type_sql(SQLITE_JSON, row),
        "entries": "1",
        "successes": is_success,
        "success_f": f"{is_success} * {fraction}",
        "success_ff": f"{is_success} * {fraction} * {fraction}",
        "failures": is_failure,
        "failure_f": f"{is_failure} * {fraction}",
        "failure_ff": f"{is_failure} * {fraction} * {fraction}",
        "rated": is_rated,
        "rated_f": f"{is_rated} * {fraction}",
        "rated_ff": f"{is_rated} * {fraction} * {fraction}",
        "rating_sum": f"{is_rated} * {rating}",
        "rating_f": f"{is_rated} * {rating} * {fraction}",
        "rating_ff": f"{is_rated} * {rating} * {fraction} * {fraction}",
        "timed": timed,
        "time_sum": f"CASE WHEN {timed} THEN CAST({row}metadata->>'$.execution_time' AS REAL) "
        "ELSE 0.0 END",
        "latest": f"CASE WHEN {is_success} OR {is_failure} OR {is_rated} THEN {created} END",
    }


_SCORE_KEYS = ("day", "worker", "task_type")
_SCORE_VALUES = tuple(name for name in _score_columns("") if name not in _SCORE_KEYS)
_SCORE_REALS = tuple(name for name in _SCORE_VALUES if name.endswith("_f") or name.endswith("_ff"))
_OUTCOME_KEYS = ("worker", "task_type")
_OUTCOME_VALUES = tuple(name for name in _SCORE_VALUES if name not in _SCORE_REALS)


def _scores_of(rows: str, sign: str = "", keys: tuple[str, ...] = _SCORE_KEYS) -> str:
    """The scores rollup's rows for the entries ``rows`` (a SELECT of ``_score_columns``),
    summed per ``keys`` (the day's, or the outcomes rollup's without the day and the
    moments), each value with ``sign``."""
    names = _SCORE_VALUES if keys == _SCORE_KEYS else _OUTCOME_VALUES
    values = ", ".join(
        "MAX(latest) AS latest" if name == "latest" else f"{sign}SUM({name}) AS {name}"
        for name in names
    )
    key_list = ", ".join(keys)
    return f"SELECT {key_list}, {values} FROM ({rows}) WHERE worker IS NOT NULL GROUP BY {key_list}"


def _score_rows(row: str) -> str:
    return "SELECT " + ", ".join(
        f"{expression} AS {name}" for name, expression in _score_columns(row).items()
    )


_OUTCOME_GROUP = rules.outcome_group_sql(SQLITE_JSON, "CAST(metadata->>'$.error_type' AS TEXT)")
_TASK_TYPE = rules.task_type_sql(SQLITE_JSON)


def _outcome_days_of(rows: str, sign: str = "", newest: str = "MAX(created_at)") -> str:
    """The outcome days' rows for the entries ``rows`` (a SELECT of whole entries), each
    count with ``sign``; ``newest`` their newest ``created_at`` (NULL when taking away)."""
    return f"""SELECT day, task_type, outcome, {sign}COUNT(*) AS entries, {newest} AS newest
        FROM (SELECT substr(created_at, 1, 10) AS day, {_TASK_TYPE} AS task_type,
                {_OUTCOME_GROUP} AS outcome, created_at
            FROM ({rows}) AS chosen)
        WHERE outcome IS NOT NULL GROUP BY 1, 2, 3"""


# What each rollup holds for a set of rows (``{where}``): the fold's and the rebuild's
# source, and what ``verify`` compares with.
_AGGREGATES = {
    "feedback_rollup_types": """SELECT feedback_type, ifnull(rating, 0) AS rating,
            COUNT(*) AS entries
        FROM feedback NOT INDEXED WHERE {where} GROUP BY feedback_type, ifnull(rating, 0)""",
    "feedback_rollup_workers": f"""SELECT {_WORKER} AS worker, COUNT(*) AS entries,
            COUNT(rating) AS rated, ifnull(SUM(rating), 0) AS rating_sum,
            SUM(feedback_type = 'error_report') AS failures
        FROM feedback NOT INDEXED WHERE {{where}} AND worker IS NOT NULL GROUP BY worker""",
    "feedback_rollup_hours": """SELECT substr(created_at, 1, 13) AS hour, COUNT(*) AS entries,
            COUNT(rating) AS rated, ifnull(SUM(rating), 0) AS rating_sum
        FROM feedback NOT INDEXED WHERE {where} GROUP BY hour""",
    "feedback_rollup_scores": _scores_of(
        _score_rows("") + " FROM feedback NOT INDEXED WHERE {where}"
    ),
    "feedback_rollup_outcomes": _scores_of(
        _score_rows("") + " FROM feedback NOT INDEXED WHERE {where}", keys=_OUTCOME_KEYS
    ),
    "feedback_rollup_type_hours": """SELECT substr(created_at, 1, 13) AS hour, feedback_type,
            ifnull(rating, 0) AS rating, COUNT(*) AS entries
        FROM feedback NOT INDEXED WHERE {where} GROUP BY 1, 2, 3""",
    "feedback_rollup_outcome_days": _outcome_days_of(
        "SELECT * FROM feedback NOT INDEXED WHERE {where}"
    ),
}
_SUMS = {
    "feedback_rollup_types": "entries = entries + excluded.entries",
    "feedback_rollup_workers": "entries = entries + excluded.entries, "
    "rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum, "
    "failures = failures + excluded.failures",
    "feedback_rollup_hours": "entries = entries + excluded.entries, "
    "rated = rated + excluded.rated, rating_sum = rating_sum + excluded.rating_sum",
    "feedback_rollup_scores": ", ".join(
        "latest = max(ifnull(latest, excluded.latest), ifnull(excluded.latest, latest))"
        if name == "latest"
        else f"{name} = {name} + excluded.{name}"
        for name in _SCORE_VALUES
    ),
    "feedback_rollup_outcomes": ", ".join(
        "latest = max(ifnull(latest, excluded.latest), ifnull(excluded.latest, latest))"
        if name == "latest"
        else f"{name} = {name} + excluded.{name}"
        for name in _OUTCOME_VALUES
    ),
}
_SUMS["feedback_rollup_type_hours"] = "entries = entries + excluded.entries"
_SUMS["feedback_rollup_outcome_days"] = (
    "entries = entries + excluded.entries, "
    "newest = max(ifnull(newest, excluded.newest), ifnull(excluded.newest, newest))"
)
_TAIL = f"rowid > {_MARK}"
_COUNTED = f"rowid <= {_MARK}"


def _with_tail(table: str, keys: str, columns: str) -> str:
    """The rollup's rows with the tail's added: ``SELECT keys, columns`` summed per key."""
    sums = ", ".join(f"SUM({column}) AS {column}" for column in columns.split(", "))
    tail = _AGGREGATES[table].format(where=_TAIL)
    return (
        f"SELECT {keys}, {sums} FROM (SELECT {keys}, {columns} FROM {table} "
        f"UNION ALL SELECT {keys}, {columns} FROM ({tail})) GROUP BY {keys}"
    )


TYPES_WITH_TAIL = _with_tail("feedback_rollup_types", "feedback_type, rating", "entries")
WORKERS_WITH_TAIL = _with_tail(
    "feedback_rollup_workers", "worker", "entries, rated, rating_sum, failures"
)

_DAY_SUMS = "SUM(rating_sum) AS rating_sum, SUM(rated) AS rated, SUM(entries) AS entries"
_ROW_SUMS = "ifnull(SUM(rating), 0), COUNT(rating), COUNT(*)"
TREND = f"""SELECT period, CAST(SUM(rating_sum) AS REAL) / NULLIF(SUM(rated), 0), SUM(entries),
        SUM(rated)
    FROM (
        SELECT {{period}} AS period, {_DAY_SUMS} FROM (
            SELECT substr(hour, 1, 10) AS day, rating_sum, rated, entries
            FROM feedback_rollup_hours WHERE hour >= :hour
        ) GROUP BY period
        UNION ALL
        SELECT {{period}}, {_ROW_SUMS} FROM (
            SELECT substr(created_at, 1, 10) AS day, rating FROM feedback NOT INDEXED
            WHERE {_TAIL} AND created_at >= :next_hour
        ) GROUP BY 1
        UNION ALL
        SELECT {{period}}, {_ROW_SUMS} FROM (
            SELECT substr(created_at, 1, 10) AS day, rating FROM feedback
            WHERE created_at >= :since AND created_at < :next_hour
        ) GROUP BY 1
    )
    GROUP BY period ORDER BY period"""
"""Average rating, count and rated count per ``{period}`` (an expression of ``day``) since
``:since``: the whole hours from ``:hour`` on from the rollup and the tail, the partial hour before
``:next_hour`` from the entries."""
TAIL_SIZE = f"SELECT ifnull(max(rowid), 0) - {_MARK} FROM feedback"
"""How far the newest row is above the mark: at most that many rows in the tail."""


def _fold_through(upper: str) -> tuple[str, ...]:
    """The statements that move the tail's rows up to rowid ``upper`` (an SQL expression:
    a row's rowid, never one above every row) into the rollups and raise the mark there."""
    where = f"{_TAIL} AND rowid <= {upper}"
    return (
        *(
            f"INSERT INTO {table} {source.format(where=where)} "
            f"ON CONFLICT DO UPDATE SET {_SUMS[table]}"
            for table, source in _AGGREGATES.items()
        ),
        f"UPDATE feedback_rollup_mark SET last_rowid = {upper} WHERE last_rowid < {upper}",
    )


FOLD = _fold_through("(SELECT ifnull(max(rowid), 0) FROM feedback)")
"""Move the tail into the rollups (in the caller's write transaction)."""

FOLD_STEP_ROWS = 5_000
"""Tail rows one step of ``fold_in_steps`` moves, in a write transaction of its own: about
90 ms here (18 µs a row into the seven rollups, on the store of ``make bench-scale``), the
longest a writer waits behind it."""
_FOLD_STEP = _fold_through(":upper")
_STEP_END = f"""SELECT max(rowid) FROM (
        SELECT rowid FROM feedback WHERE {_TAIL} AND rowid <= :end
        ORDER BY rowid LIMIT {FOLD_STEP_ROWS})"""
_PAUSE_RATIO = 0.5


def _change(row: str, sign: str) -> tuple[str, ...]:
    """The statements that add (``sign`` "+") or take away ("-") one counted row (``NEW``
    or ``OLD``) from every rollup."""
    worker = rules.worker_sql(SQLITE_JSON, row + ".")
    rated = f"({row}.rating IS NOT NULL)"
    rating = f"ifnull({row}.rating, 0)"
    failure = f"({row}.feedback_type = 'error_report')"
    hour = f"substr({row}.created_at, 1, 13)"
    statements = (
        f"""INSERT INTO feedback_rollup_types VALUES ({row}.feedback_type, {rating}, {sign}1)
            ON CONFLICT DO UPDATE SET entries = entries {sign} 1""",
        f"""INSERT INTO feedback_rollup_hours VALUES ({hour}, {sign}1, {sign}{rated},
                {sign}{rating})
            ON CONFLICT DO UPDATE SET {_SUMS["feedback_rollup_hours"]}""",
        f"""INSERT INTO feedback_rollup_workers
            SELECT worker, {sign}1, {sign}{rated}, {sign}{rating}, {sign}{failure}
            FROM (SELECT {worker} AS worker) WHERE worker IS NOT NULL
            ON CONFLICT DO UPDATE SET {_SUMS["feedback_rollup_workers"]}""",
        f"""INSERT INTO feedback_rollup_scores {_scores_of(_score_rows(row + "."), sign)}
            ON CONFLICT DO UPDATE SET {_SUMS["feedback_rollup_scores"]}""",
        f"""INSERT INTO feedback_rollup_outcomes
            {_scores_of(_score_rows(row + "."), sign, _OUTCOME_KEYS)}
            ON CONFLICT DO UPDATE SET {_SUMS["feedback_rollup_outcomes"]}""",
        f"""INSERT INTO feedback_rollup_type_hours VALUES ({hour}, {row}.feedback_type,
                {rating}, {sign}1)
            ON CONFLICT DO UPDATE SET {_SUMS["feedback_rollup_type_hours"]}""",
        f"""INSERT INTO feedback_rollup_outcome_days {
            _outcome_days_of(
                f"SELECT {row}.created_at AS created_at, {row}.feedback_type AS feedback_type, "
                f"{row}.metadata AS metadata",
                sign,
                "MAX(created_at)" if sign == "+" else "NULL",
            )
        }
            ON CONFLICT DO UPDATE SET {_SUMS["feedback_rollup_outcome_days"]}""",
    )
    if sign == "+":
        return statements
    score_key = _score_columns(row + ".")
    outcome_key = {
        "day": f"substr({row}.created_at, 1, 10)",
        "task_type": rules.task_type_sql(SQLITE_JSON, row + "."),
        "outcome": rules.outcome_group_sql(
            SQLITE_JSON, f"CAST({row}.metadata->>'$.error_type' AS TEXT)", row + "."
        ),
    }
    outcome_day = " AND ".join(f"{key} = {value}" for key, value in outcome_key.items())
    return (
        *statements,
        f"""DELETE FROM feedback_rollup_types WHERE feedback_type = {row}.feedback_type
            AND rating = {rating} AND entries = 0""",
        f"DELETE FROM feedback_rollup_hours WHERE hour = {hour} AND entries = 0",
        f"DELETE FROM feedback_rollup_workers WHERE worker = {worker} AND entries = 0",
        "DELETE FROM feedback_rollup_scores WHERE "
        + " AND ".join(f"{key} = {score_key[key]}" for key in _SCORE_KEYS)
        + " AND entries = 0",
        # The newest outcome went: the newest of the counted rows left for that day.
        f"""UPDATE feedback_rollup_scores SET latest = (
                SELECT MAX({_score_columns("")["latest"]}) FROM feedback
                WHERE created_at >= feedback_rollup_scores.day
                    AND created_at < date(feedback_rollup_scores.day, '+1 day')
                    AND rowid <= {_MARK}
                    AND {_score_columns("")["worker"]} = feedback_rollup_scores.worker
                    AND {_score_columns("")["task_type"]} = feedback_rollup_scores.task_type)
            WHERE """
        + " AND ".join(f"{key} = {score_key[key]}" for key in _SCORE_KEYS)
        + f" AND latest = {row}.created_at",
        "DELETE FROM feedback_rollup_outcomes WHERE "
        + " AND ".join(f"{key} = {score_key[key]}" for key in _OUTCOME_KEYS)
        + " AND entries = 0",
        # Its newest outcome went: the newest of its days (just renewed above). The days'
        # key starts with the day, so the newest days are read first.
        """UPDATE feedback_rollup_outcomes SET latest = (
                SELECT latest FROM feedback_rollup_scores AS s
                WHERE s.worker = feedback_rollup_outcomes.worker
                    AND s.task_type = feedback_rollup_outcomes.task_type
                    AND s.latest IS NOT NULL
                ORDER BY s.day DESC LIMIT 1)
            WHERE """
        + " AND ".join(f"{key} = {score_key[key]}" for key in _OUTCOME_KEYS)
        + f" AND latest = {row}.created_at",
        f"""DELETE FROM feedback_rollup_type_hours WHERE hour = {hour}
            AND feedback_type = {row}.feedback_type AND rating = {rating} AND entries = 0""",
        f"DELETE FROM feedback_rollup_outcome_days WHERE {outcome_day} AND entries = 0",
        # The newest of its outcome group that day went: the newest counted row left.
        f"""UPDATE feedback_rollup_outcome_days SET newest = (
                SELECT MAX(created_at) FROM (
                    SELECT created_at, {_TASK_TYPE} AS task_type, {_OUTCOME_GROUP} AS outcome
                    FROM feedback
                    WHERE created_at >= feedback_rollup_outcome_days.day
                        AND created_at < date(feedback_rollup_outcome_days.day, '+1 day')
                        AND rowid <= {_MARK}) AS left_over
                WHERE left_over.task_type = feedback_rollup_outcome_days.task_type
                    AND left_over.outcome = feedback_rollup_outcome_days.outcome)
            WHERE {outcome_day} AND newest = {row}.created_at""",
    )


def _trigger(name: str, event: str, *statements: str) -> str:
    body = ";\n".join(statements)
    return (
        f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} ON feedback "
        f"WHEN OLD.rowid <= {_MARK} BEGIN\n{body};\nEND"
    )


_TRIGGERS = (
    _trigger(
        "feedback_rollup_delete",
        "DELETE",
        *_change("OLD", "-"),
        # The row at the mark went: the mark comes down to the highest counted row left,
        # so that the rowid SQLite hands out again is seen as new.
        "UPDATE feedback_rollup_mark SET last_rowid = (SELECT ifnull(max(rowid), 0) "
        "FROM feedback WHERE rowid <= OLD.rowid) WHERE last_rowid = OLD.rowid",
    ),
    _trigger(
        "feedback_rollup_update",
        "UPDATE OF feedback_type, rating, metadata, created_at",
        *_change("OLD", "-"),
        *_change("NEW", "+"),
    ),
)

REBUILD = (
    *(f"DELETE FROM {table}" for table in _AGGREGATES),
    "UPDATE feedback_rollup_mark SET last_rowid = 0",
    *FOLD,
)
"""Recompute every rollup from the entries (in the caller's write transaction)."""


def _comparable(table: str, rows: str) -> str:
    """``rows`` of ``table``'s shape, with the float sum rounded: folding adds it up in
    another order than a recompute, which can move its last bits."""
    if table == "feedback_rollup_scores":
        names = (*_SCORE_KEYS, *_SCORE_VALUES)
    elif table == "feedback_rollup_outcomes":
        names = (*_OUTCOME_KEYS, *_OUTCOME_VALUES)
    else:
        return rows
    columns = ", ".join(
        f"round({name}, 6)" if name in ("time_sum", *_SCORE_REALS) else name for name in names
    )
    return f"SELECT {columns} FROM ({rows})"


VERIFY = {
    table: (
        _comparable(table, f"SELECT * FROM {table}")
        + " EXCEPT "
        + _comparable(table, source.format(where=_COUNTED)),
        _comparable(table, source.format(where=_COUNTED))
        + " EXCEPT "
        + _comparable(table, f"SELECT * FROM {table}"),
    )
    for table, source in _AGGREGATES.items()
}
"""Per rollup: the rows it has that a recompute of the counted rows has not, and the
other way round."""

CREATE = (*_TABLES, *_TRIGGERS, *FOLD)
"""The migration that adds the rollups to a database, built from the entries it holds."""

RESHAPE_SCORES = (
    "DROP TRIGGER IF EXISTS feedback_rollup_delete",
    "DROP TRIGGER IF EXISTS feedback_rollup_update",
    "DROP TABLE IF EXISTS feedback_rollup_scores",
    *_TABLES,
    "INSERT INTO feedback_rollup_scores "
    + _AGGREGATES["feedback_rollup_scores"].format(where=_COUNTED),
    *_TRIGGERS,
)
"""The migration from the scores rollup of schema 5 (no time moments, successes only when
``metadata.success`` was true) to this one, rebuilt from the counted entries."""

_SCORE_SUMS = ", ".join(
    "MAX(latest)" if name == "latest" else f"SUM({name})"
    for name in _SCORE_VALUES
    if name != "entries"
)
_SCORE_NAMES = ", ".join(("worker", "day", "task_type", *_SCORE_VALUES))
SCORES = f"""SELECT worker, day, {_SCORE_SUMS} FROM (
        SELECT {_SCORE_NAMES} FROM feedback_rollup_scores
        WHERE day >= :first_day AND day < :end_day
        UNION ALL
        SELECT {_SCORE_NAMES} FROM ({_score_rows("")} FROM feedback NOT INDEXED
            WHERE {_TAIL} AND created_at >= :first_day AND created_at < :end_day)
        UNION ALL
        SELECT {_SCORE_NAMES} FROM ({_score_rows("")} FROM feedback
            WHERE created_at >= :since AND created_at < :head_end)
        UNION ALL
        SELECT {_SCORE_NAMES} FROM ({_score_rows("")} FROM feedback
            WHERE created_at >= :tail_start AND created_at <= :until)
    )
    WHERE worker IS NOT NULL AND (:task_type IS NULL OR task_type = :task_type)
    GROUP BY worker, day"""
"""Per worker and day (``YYYY-MM-DD``), the scores rollup's sums (``latest`` the newest) for
entries from ``:since`` to ``:until`` (``ScoreWindow``): the whole days from the rollup and
its tail, the partial days at either end from the entries; of one ``:task_type`` or of all
(NULL)."""


_WINDOW_NAMES = (
    "worker, day, task_type, successes, failures, rated, rating_sum, timed, time_sum, latest"
)
_WINDOW_SUMS = (
    "SUM(successes) AS successes, SUM(failures) AS failures, SUM(rated) AS rated, "
    "SUM(rating_sum) AS rating_sum, SUM(timed) AS timed, SUM(time_sum) AS time_sum, "
    "MAX(latest) AS latest"
)
SCORES_PER_WORKER = f"""SELECT worker, MAX(day), SUM(successes), 0.0, 0.0, SUM(failures), 0.0,
        0.0, SUM(rated), 0.0, 0.0, SUM(rating_sum), 0.0, 0.0, SUM(timed), SUM(time_sum),
        MAX(latest)
    FROM (
        SELECT worker, day, :task_type AS task_type, {_WINDOW_SUMS} FROM feedback_rollup_scores
        WHERE day >= :first_day AND day < :end_day
            AND (:task_type IS NULL OR task_type = :task_type)
        GROUP BY day, worker
        UNION ALL
        SELECT {_WINDOW_NAMES} FROM ({_score_rows("")} FROM feedback NOT INDEXED
            WHERE {_TAIL} AND created_at >= :first_day AND created_at < :end_day)
        UNION ALL
        SELECT {_WINDOW_NAMES} FROM ({_score_rows("")} FROM feedback
            WHERE created_at >= :since AND created_at < :head_end)
        UNION ALL
        SELECT {_WINDOW_NAMES} FROM ({_score_rows("")} FROM feedback
            WHERE created_at >= :tail_start AND created_at <= :until)
    )
    WHERE worker IS NOT NULL AND (:task_type IS NULL OR task_type = :task_type)
    GROUP BY worker"""
"""``SCORES`` summed per worker over the whole window (``day`` its newest; no moments,
which undecayed scores do not use: reading them twice as many columns took twice as long):
what undecayed scores need, a row a worker instead of a row a worker and day. The rollup's
rows are summed per day and worker first, in the order of its key, so that only those sums
(not every task type's row) are sorted per worker: about 1.5x faster at 60,000 rows."""


def fold_a_long_tail(connection: sqlite3.Connection, timeout: float) -> None:
    """Fold the rows above the mark into the rollups when there are more than ``FOLD_AT``
    (outside a transaction; inside one they are read as they are)."""
    if connection.in_transaction:
        return
    (distance,) = connection.execute(TAIL_SIZE).fetchone()
    if distance > FOLD_AT:
        fold_in_steps(connection, timeout)


def fold_in_steps(connection: sqlite3.Connection, timeout: float) -> None:
    """Fold the tail as it stands (rows written meanwhile are left to the next fold),
    ``FOLD_STEP_ROWS`` rows a write transaction, pausing half a step's time between two so
    that a writer waiting for the lock gets it (a folder that took the lock back at once
    would keep it from writers for the whole fold). The caller waits for the fold (each
    step's lock ``timeout`` seconds at most); writers never wait more than a step."""
    (end,) = connection.execute("SELECT ifnull(max(rowid), 0) FROM feedback").fetchone()
    while True:
        began = time.monotonic()
        begin_immediate(connection, timeout)
        try:
            (upper,) = connection.execute(_STEP_END, {"end": end}).fetchone()
            if upper is not None:
                for statement in _FOLD_STEP:
                    connection.execute(statement, {"upper": upper})
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        if upper is None:
            return
        time.sleep((time.monotonic() - began) * _PAUSE_RATIO)


def trend_parameters(since: datetime) -> dict[str, str]:
    """``TREND``'s parameters for a trend from ``since``: its first whole hour, and the
    bounds of the partial hour before it."""
    next_hour = next_whole_hour(since)
    return {
        "hour": format_sqlite_timestamp(next_hour)[:13],
        "since": format_sqlite_timestamp(since),
        "next_hour": format_sqlite_timestamp(next_hour),
    }


def day_parameters(since: datetime, task_type: str | None) -> dict[str, str | None]:
    """``OUTCOMES_SINCE``'s parameters from ``since`` (UTC): its first whole day, and the
    bounds of the partial day before it."""
    next_day = next_whole_day(since)
    return {
        "day": next_day.date().isoformat(),
        "since": format_sqlite_timestamp(since),
        "next_day": format_sqlite_timestamp(next_day),
        "task_type": task_type,
    }


_TOTAL_NAMES = "worker, task_type, successes, failures, rated, rating_sum"
_TOTAL_SUMS = "SUM(successes), SUM(failures), SUM(rated), SUM(rating_sum)"
_STORED_TOTALS = f"""SELECT {_TOTAL_NAMES} FROM feedback_rollup_outcomes
        UNION ALL
        SELECT {_TOTAL_NAMES} FROM ({_score_rows("")} FROM feedback NOT INDEXED WHERE {_TAIL})"""
SCORE_TOTALS = f"""SELECT worker, task_type, {_TOTAL_SUMS} FROM ({_STORED_TOTALS})
    WHERE worker IS NOT NULL GROUP BY worker, task_type ORDER BY worker, task_type"""
"""Per worker and task type, over every entry: successes, failures, ratings, rating sum."""


# The removed ledger (``docs/metrics.md``): what deletes and updates took away, so that
# counts of what was ever created never go down. Per kind of ``change``: a deleted entry
# adds its values under 'delete'; an update adds its old values and takes away its new ones
# under 'update'. What was created is then what the rollups hold plus the ledger, and what
# was deleted is the 'delete' rows alone. Fires for every row (counted or in the tail).
_LEDGER_UPSERT = "ON CONFLICT DO UPDATE SET {sums}"
_TYPE_SUMS = "entries = entries + excluded.entries"
_OUTCOME_SUMS = ", ".join(
    f"{name} = {name} + excluded.{name}"
    for name in ("successes", "failures", "rated", "rating_sum")
)


def _removed(change: str, row: str, sign: str) -> tuple[str, str]:
    """The ledger statements that add (``sign`` "") or take away ("-") the entry ``row``
    (``OLD`` or ``NEW``) under ``change``."""
    columns = _score_columns(row + ".")
    outcome = ", ".join(
        f"{sign}{columns[name]}" for name in ("successes", "failures", "rated", "rating_sum")
    )
    return (
        f"""INSERT INTO feedback_removed_types VALUES ('{change}', {row}.feedback_type,
                ifnull({row}.rating, 0), {sign}1)
            ON CONFLICT DO UPDATE SET {_TYPE_SUMS}""",
        f"""INSERT INTO feedback_removed_outcomes
            SELECT '{change}', worker, task_type, {outcome}
            FROM (SELECT {columns["worker"]} AS worker, {columns["task_type"]} AS task_type)
            WHERE worker IS NOT NULL
            ON CONFLICT DO UPDATE SET {_OUTCOME_SUMS}""",
    )


_REMOVED_TABLES = (
    """CREATE TABLE IF NOT EXISTS feedback_removed_types (
        change TEXT NOT NULL,
        feedback_type TEXT NOT NULL,
        rating INTEGER NOT NULL,
        entries INTEGER NOT NULL,
        PRIMARY KEY (change, feedback_type, rating)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS feedback_removed_outcomes (
        change TEXT NOT NULL,
        worker TEXT NOT NULL,
        task_type TEXT NOT NULL,
        successes INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        rated INTEGER NOT NULL,
        rating_sum INTEGER NOT NULL,
        PRIMARY KEY (change, worker, task_type)
    ) WITHOUT ROWID""",
)
_REMOVED_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS feedback_removed_delete AFTER DELETE ON feedback BEGIN\n"
    + ";\n".join(_removed("delete", "OLD", ""))
    + ";\nEND",
    "CREATE TRIGGER IF NOT EXISTS feedback_removed_update "
    "AFTER UPDATE OF feedback_type, rating, metadata ON feedback BEGIN\n"
    + ";\n".join((*_removed("update", "OLD", ""), *_removed("update", "NEW", "-")))
    + ";\nEND",
)
REMOVED = (*_REMOVED_TABLES, *_REMOVED_TRIGGERS)
"""The migration that adds the removed ledger (empty: a store's earlier deletions are not
known)."""

LIFETIME_TYPES = f"""SELECT feedback_type, rating, SUM(entries), SUM(deleted) FROM (
        SELECT feedback_type, rating, entries, 0 AS deleted FROM ({TYPES_WITH_TAIL})
        UNION ALL
        SELECT feedback_type, rating, entries, (change = 'delete') * entries
        FROM feedback_removed_types
    ) GROUP BY feedback_type, rating"""
"""Per type and rating (0: unrated): the entries ever created and those deleted."""

LIFETIME_OUTCOMES = f"""SELECT worker, task_type, {_TOTAL_SUMS} FROM (
        {_STORED_TOTALS}
        UNION ALL
        SELECT {_TOTAL_NAMES} FROM feedback_removed_outcomes
    ) WHERE worker IS NOT NULL GROUP BY worker, task_type ORDER BY worker, task_type"""
"""Per worker and task type: the outcomes and ratings of every entry ever created."""

RENAME_WORKERS = (
    *RATED_TYPES,  # the rebuild's SQL reads them: a store older than schema 10 has none yet
    OUTCOMES_TABLE,  # the rebuild fills them: a store older than schema 12 has none yet
    *PERIOD_TABLES,
    *(
        f"DROP TRIGGER IF EXISTS {name}"
        for name in (
            "feedback_rollup_delete",
            "feedback_rollup_update",
            "feedback_removed_delete",
            "feedback_removed_update",
        )
    ),
    *_TRIGGERS,
    *_REMOVED_TRIGGERS,
    *REBUILD,
)
"""The migration to the names of ``rules`` (a ``worker_id`` of ``true`` was the worker "1"
here, "true" on PostgreSQL and "True" in the score book; a fraction named a worker): the
triggers again, and every rollup rebuilt from the entries. The removed ledger keeps what
it counted under the names of then."""

_OUTCOME_SUMS = ", ".join(
    "MAX(latest)" if name == "latest" else f"SUM({name})" for name in _OUTCOME_VALUES
)
OUTCOMES = (
    OUTCOMES_TABLE,
    *PERIOD_TABLES,
    "DROP TRIGGER IF EXISTS feedback_rollup_delete",
    "DROP TRIGGER IF EXISTS feedback_rollup_update",
    *_TRIGGERS,
    "DELETE FROM feedback_rollup_outcomes",
    f"""INSERT INTO feedback_rollup_outcomes
        SELECT worker, task_type, {_OUTCOME_SUMS} FROM feedback_rollup_scores
        GROUP BY worker, task_type""",
    "DELETE FROM feedback_rollup_type_hours",
    "DELETE FROM feedback_rollup_outcome_days",
    *(
        f"INSERT INTO {table} {_AGGREGATES[table].format(where=_COUNTED)}"
        for table in ("feedback_rollup_type_hours", "feedback_rollup_outcome_days")
    ),
)
"""The migration that adds the outcomes rollup, summed from the scores rollup's days (a row
a worker and task type: what undecayed scores, outcome totals and the lifetime counters
read), the rollups of answers over a period, built from the counted entries (the tail is
counted on reading, as for every rollup), and the triggers that keep them (PostgreSQL's
``postgres_rollups.OUTCOMES``)."""

_OUTCOME_NAMES = ", ".join(("worker", "task_type", *_OUTCOME_VALUES))
_NO_MOMENTS = "0.0, 0.0"
OUTCOMES_PER_WORKER = f"""SELECT worker, ifnull(substr(MAX(latest), 1, 10), '1970-01-01'),
        SUM(successes), {_NO_MOMENTS}, SUM(failures), {_NO_MOMENTS}, SUM(rated), {_NO_MOMENTS},
        SUM(rating_sum), {_NO_MOMENTS}, SUM(timed), SUM(time_sum), MAX(latest)
    FROM (
        SELECT {_OUTCOME_NAMES} FROM feedback_rollup_outcomes
        UNION ALL
        SELECT {_OUTCOME_NAMES} FROM ({_score_rows("")} FROM feedback NOT INDEXED WHERE {_TAIL})
    )
    WHERE worker IS NOT NULL AND (:task_type IS NULL OR task_type = :task_type)
    GROUP BY worker"""
"""``SCORES_PER_WORKER`` over every entry, from the outcomes rollup and its tail: a row a
worker (``day`` that of its newest outcome; the moments, which undecayed scores do not
use, zero), read from a row a worker and task type."""


SUMMARY_SINCE = f"""SELECT feedback_type, NULLIF(rating, 0), SUM(entries) FROM (
        SELECT feedback_type, rating, entries FROM feedback_rollup_type_hours
        WHERE hour >= :hour
        UNION ALL
        SELECT feedback_type, ifnull(rating, 0), COUNT(*) FROM feedback NOT INDEXED
        WHERE {_TAIL} AND created_at >= :next_hour GROUP BY 1, 2
        UNION ALL
        SELECT feedback_type, ifnull(rating, 0), COUNT(*) FROM feedback INDEXED BY idx_created_at
        WHERE created_at >= :since AND created_at < :next_hour GROUP BY 1, 2
    ) GROUP BY feedback_type, rating HAVING SUM(entries) > 0"""
"""``(feedback_type, rating, count)`` of the entries created at or after ``:since``: the
whole hours from ``:hour`` on from the rollup and its tail, the partial hour before
``:next_hour`` from the entries (``trend_parameters`` names them)."""

OUTCOMES_SINCE = f"""SELECT outcome, SUM(entries), MAX(newest) FROM (
        SELECT task_type, outcome, entries, newest FROM feedback_rollup_outcome_days
        WHERE day >= :day
        UNION ALL
        SELECT task_type, outcome, entries, newest FROM ({
    _outcome_days_of(
        f"SELECT * FROM feedback NOT INDEXED WHERE {_TAIL} AND created_at >= :next_day"
    )
})
        UNION ALL
        SELECT task_type, outcome, entries, newest FROM ({
    _outcome_days_of(
        "SELECT * FROM feedback INDEXED BY idx_created_at "
        "WHERE created_at >= :since AND created_at < :next_day"
    )
})
    ) WHERE :task_type IS NULL OR task_type = :task_type GROUP BY outcome"""
"""Per outcome group (``rules.outcome_group_sql``) of the entries created at or after
``:since`` (of ``:task_type``, or all when NULL): the count and the newest ``created_at``;
the whole days from ``:day`` on from the rollup and its tail, the partial day before
``:next_day`` from the entries."""


TAIL_DAYS = f"""SELECT worker, day, {
    ", ".join(
        "MAX(latest) AS latest" if name == "latest" else f"SUM({name}) AS {name}"
        for name in _SCORE_VALUES
        if name != "entries"
    )
}, SUM(entries) AS entries
    FROM ({_score_rows("")} FROM feedback NOT INDEXED WHERE {_TAIL})
    WHERE worker IS NOT NULL AND (:task_type IS NULL OR task_type = :task_type)
    GROUP BY worker, day"""
"""``SCORES``' rows for the tail alone (the entries above the mark), and their count."""

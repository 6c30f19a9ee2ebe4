"""PostgreSQL's rollups: the same four aggregates as SQLite's (``sqlite_rollups``; the hour a
UTC ``timestamp``, the day a ``date``).

How they stay exact without making writers wait for each other:

- Every statement that writes ``feedback`` (an INSERT, the COPY of an import, an UPDATE, a
  DELETE: the store's and a user's own SQL alike) appends its *deltas* in its own
  transaction, by a statement-level trigger over its transition table: per group of
  entries alike in all the rollups group by (type, rating, worker, task type, hour), their
  count and sums, positive for entries added, negative for entries taken away. Appending
  takes no lock another writer holds, so concurrent writers never queue on shared rollup
  rows (nor deadlock on them).
- An answer reads the rollups plus the deltas aggregated on the fly, in one statement, so it
  sees both as of one snapshot. A reader folds the deltas into the rollups (one statement
  that deletes the deltas it moves, under an advisory lock so that folds take turns) once
  there are more than ``FOLD_AT``.
"""

from __future__ import annotations

__all__ = [
    "CREATE",
    "FOLD",
    "FOLD_AT",
    "FOLD_LOCK",
    "PENDING",
    "REBUILD",
    "TREND",
    "TYPES",
    "VERIFY",
    "WORKERS",
]

FOLD_AT = 10_000
"""Pending deltas past which a reader folds them into the rollups first."""
FOLD_LOCK = 7_362_810_442
"""The ``pg_advisory_xact_lock`` key of folds and rebuilds ("feedback rollups")."""

_TABLES = (
    """CREATE TABLE IF NOT EXISTS feedback_rollup_types (
        feedback_type TEXT NOT NULL,
        rating INTEGER NOT NULL,
        entries BIGINT NOT NULL,
        PRIMARY KEY (feedback_type, rating)
    )""",
    """CREATE TABLE IF NOT EXISTS feedback_rollup_workers (
        worker TEXT NOT NULL PRIMARY KEY,
        entries BIGINT NOT NULL,
        rated BIGINT NOT NULL,
        rating_sum BIGINT NOT NULL,
        failures BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS feedback_rollup_hours (
        hour TIMESTAMP NOT NULL PRIMARY KEY,
        entries BIGINT NOT NULL,
        rated BIGINT NOT NULL,
        rating_sum BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS feedback_rollup_scores (
        day DATE NOT NULL,
        worker TEXT NOT NULL,
        task_type TEXT NOT NULL,
        entries BIGINT NOT NULL,
        rated BIGINT NOT NULL,
        rating_sum BIGINT NOT NULL,
        rating_squares BIGINT NOT NULL,
        successes BIGINT NOT NULL,
        failures BIGINT NOT NULL,
        timed BIGINT NOT NULL,
        time_sum DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (day, worker, task_type)
    )""",
    """CREATE TABLE IF NOT EXISTS feedback_rollup_deltas (
        entries BIGINT NOT NULL,
        feedback_type TEXT NOT NULL,
        rating INTEGER,
        worker TEXT,
        task_type TEXT NOT NULL,
        hour TIMESTAMP NOT NULL,
        successes BIGINT NOT NULL,
        failures BIGINT NOT NULL,
        timed BIGINT NOT NULL,
        time_sum DOUBLE PRECISION NOT NULL
    )""",
)

_COMPLETION = "feedback_type = 'task_completion'"


def _deltas_of(source: str, sign: int) -> str:
    """The delta rows of the entries in ``source`` (a table or transition table): one per
    group of entries alike in everything the rollups group by, with ``sign`` (1, -1).
    The metadata is taken apart once per entry (``jsonb_to_record``), not once per key."""
    return f"""SELECT {sign} * COUNT(*), feedback_type, rating, worker, task_type, hour,
            {sign} * SUM(success), {sign} * SUM(failure), {sign} * SUM(timed),
            {sign} * SUM(elapsed)
        FROM (
            SELECT feedback_type, rating, m.worker_id AS worker,
                coalesce(m.task_type, '') AS task_type,
                date_trunc('hour', created_at AT TIME ZONE 'UTC') AS hour,
                ({_COMPLETION} AND m.success IS TRUE)::int AS success,
                (feedback_type = 'error_report'
                    OR ({_COMPLETION} AND m.success IS FALSE))::int AS failure,
                coalesce(jsonb_typeof(m.execution_time) = 'number', false)::int AS timed,
                CASE WHEN jsonb_typeof(m.execution_time) = 'number'
                    THEN m.execution_time::float8 ELSE 0 END AS elapsed
            FROM {source},
                LATERAL (SELECT worker_id, task_type,
                    CASE WHEN jsonb_typeof(success) = 'boolean' THEN success::boolean END
                        AS success, execution_time
                    FROM jsonb_to_record(metadata) AS r(worker_id text, task_type text,
                        success jsonb, execution_time jsonb)) AS m
        ) AS entries GROUP BY 2, 3, 4, 5, 6"""


_DELTA_COLUMNS = (
    "entries, feedback_type, rating, worker, task_type, hour, successes, failures, timed, time_sum"
)

# Each rollup: its keys and its values, as expressions over delta rows.
_ROLLUPS: dict[str, tuple[dict[str, str], dict[str, str], str]] = {
    "feedback_rollup_types": (
        {"feedback_type": "feedback_type", "rating": "coalesce(rating, 0)"},
        {"entries": "entries"},
        "true",
    ),
    "feedback_rollup_workers": (
        {"worker": "worker"},
        {
            "entries": "entries",
            "rated": "entries * (rating IS NOT NULL)::int",
            "rating_sum": "entries * coalesce(rating, 0)",
            "failures": "entries * (feedback_type = 'error_report')::int",
        },
        "worker IS NOT NULL",
    ),
    "feedback_rollup_hours": (
        {"hour": "hour"},
        {
            "entries": "entries",
            "rated": "entries * (rating IS NOT NULL)::int",
            "rating_sum": "entries * coalesce(rating, 0)",
        },
        "true",
    ),
    "feedback_rollup_scores": (
        {
            "day": "hour::date",
            "worker": "worker",
            "task_type": "task_type",
        },
        {
            "entries": "entries",
            "rated": "entries * (rating IS NOT NULL)::int",
            "rating_sum": "entries * coalesce(rating, 0)",
            "rating_squares": "entries * coalesce(rating * rating, 0)",
            "successes": "successes",
            "failures": "failures",
            "timed": "timed",
            "time_sum": "time_sum",
        },
        "worker IS NOT NULL",
    ),
}


def _aggregate(table: str, deltas: str) -> str:
    """``table``'s rows for the delta rows ``deltas`` (a table or a CTE)."""
    keys, values, where = _ROLLUPS[table]
    columns = [f"{expression} AS {name}" for name, expression in keys.items()]
    columns += [f"SUM({expression}) AS {name}" for name, expression in values.items()]
    return (
        f"SELECT {', '.join(columns)} FROM {deltas} WHERE {where} "
        f"GROUP BY {', '.join(str(n + 1) for n in range(len(keys)))}"
    )


def _with_deltas(table: str) -> str:
    """``table`` as it stands with the pending deltas added (rows summing to no entries
    left out)."""
    keys, values, _where = _ROLLUPS[table]
    key_list = ", ".join(keys)
    sums = ", ".join(f"SUM({name}) AS {name}" for name in values)
    columns = ", ".join([*keys, *values])
    return (
        f"SELECT {key_list}, {sums} FROM (SELECT {columns} FROM {table} UNION ALL "
        f"{_aggregate(table, 'feedback_rollup_deltas')}) AS parts GROUP BY {key_list} "
        "HAVING SUM(entries) <> 0"
    )


def _recomputed(table: str) -> str:
    """``table``'s rows recomputed from the entries."""
    return _aggregate(
        table, f"({_deltas_of('feedback', 1)}) AS entries_as_deltas ({_DELTA_COLUMNS})"
    )


def _fold_into(table: str, moved: str) -> str:
    keys, values, _where = _ROLLUPS[table]
    sums = ", ".join(f"{name} = t.{name} + excluded.{name}" for name in values)
    return (
        f"INSERT INTO {table} AS t {_aggregate(table, moved)} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sums}"
    )


_TABLE_NAMES = tuple(_ROLLUPS)

FOLD = (
    f"SELECT pg_advisory_xact_lock({FOLD_LOCK})",
    "WITH moved AS (DELETE FROM feedback_rollup_deltas RETURNING *), "
    + ", ".join(
        f"folded_{number} AS ({_fold_into(table, 'moved')})"
        for number, table in enumerate(_TABLE_NAMES[:-1])
    )
    + f" {_fold_into(_TABLE_NAMES[-1], 'moved')}",
    *(f"DELETE FROM {table} WHERE entries = 0" for table in _TABLE_NAMES),
)
"""Move the pending deltas into the rollups (in the caller's transaction)."""

PENDING = "SELECT count(*) FROM (SELECT 1 FROM feedback_rollup_deltas LIMIT %s) AS pending"

REBUILD = (
    f"SELECT pg_advisory_xact_lock({FOLD_LOCK})",
    "DELETE FROM feedback_rollup_deltas",
    *(
        statement
        for table in _TABLE_NAMES
        for statement in (f"DELETE FROM {table}", f"INSERT INTO {table} {_recomputed(table)}")
    ),
)
"""Recompute every rollup from the entries (in the caller's transaction)."""


def _comparable(table: str, rows: str) -> str:
    """``rows`` of ``table``'s shape, the float sum rounded: it is added up in other orders
    than a recompute's, which can move its last bits."""
    keys, values, _where = _ROLLUPS[table]
    columns = [*keys, *("round(time_sum::numeric, 6)" if v == "time_sum" else v for v in values)]
    return f"SELECT {', '.join(columns)} FROM ({rows}) AS compared"


VERIFY = {
    table: (
        f"{_comparable(table, _with_deltas(table))} EXCEPT "
        f"{_comparable(table, _recomputed(table))}",
        f"{_comparable(table, _recomputed(table))} EXCEPT "
        f"{_comparable(table, _with_deltas(table))}",
    )
    for table in _TABLE_NAMES
}
"""Per rollup (with the pending deltas): the rows it has that a recompute has not, and the
other way round, each in one statement (one snapshot)."""

TYPES = (
    f"SELECT feedback_type, NULLIF(rating, 0), entries FROM ({_with_deltas(_TABLE_NAMES[0])}) AS t"
)

WORKERS = f"""SELECT worker, entries, average, failures FROM (
        SELECT worker, entries, rating_sum::float8 / NULLIF(rated, 0) AS average, failures
        FROM ({_with_deltas("feedback_rollup_workers")}) AS w
    ) AS workers
    ORDER BY average IS NULL, average DESC, failures, entries DESC, worker"""

TREND = f"""SELECT period, SUM(rating_sum)::float8 / NULLIF(SUM(rated), 0), SUM(entries)
    FROM (
        SELECT to_char(date_trunc('{{unit}}', hour), 'YYYY-MM-DD') AS period, rating_sum,
               rated, entries
        FROM ({_with_deltas("feedback_rollup_hours")}) AS h WHERE hour >= %(next_hour)s
        UNION ALL
        SELECT to_char(date_trunc('{{unit}}', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD'),
               coalesce(rating, 0), (rating IS NOT NULL)::int, 1
        FROM feedback WHERE created_at >= %(since)s AND created_at < %(next_hour_tz)s
    ) AS periods
    GROUP BY period ORDER BY period"""
"""Per ``{unit}`` (day or week): the whole hours from the rollup, the partial first hour
from the entries."""


def _trigger_function(name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body}; "
        "RETURN NULL; END $$"
    )


_APPEND = f"INSERT INTO feedback_rollup_deltas ({_DELTA_COLUMNS}) "
_FUNCTIONS = (
    _trigger_function("feedback_rollup_inserted", _APPEND + _deltas_of("new_rows", 1)),
    _trigger_function("feedback_rollup_deleted", _APPEND + _deltas_of("old_rows", -1)),
    _trigger_function(
        "feedback_rollup_updated",
        f"{_APPEND}{_deltas_of('old_rows', -1)} UNION ALL {_deltas_of('new_rows', 1)}",
    ),
)
_TRIGGERS = (
    """CREATE TRIGGER feedback_rollup_insert AFTER INSERT ON feedback
       REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
       EXECUTE FUNCTION feedback_rollup_inserted()""",
    """CREATE TRIGGER feedback_rollup_delete AFTER DELETE ON feedback
       REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
       EXECUTE FUNCTION feedback_rollup_deleted()""",
    """CREATE TRIGGER feedback_rollup_update AFTER UPDATE ON feedback
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
       EXECUTE FUNCTION feedback_rollup_updated()""",
)

CREATE = (*_TABLES, *_FUNCTIONS, *_TRIGGERS, *REBUILD)
"""The migration that adds the rollups, built from the entries already stored."""

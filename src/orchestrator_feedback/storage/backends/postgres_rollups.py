"""PostgreSQL's rollups: the same three aggregates as SQLite's (``sqlite_rollups``), kept by
statement-level triggers over transition tables, in the transaction of every write to
``feedback``: the store's inserts and COPY, imports, updates, deletes, retention, erasure,
and a user's own SQL alike. A statement pays one aggregate per rollup, however many rows it
writes.

Writers share the rollups' rows (one per type, worker, hour), and a transaction holds those
it changed until it ends: two transactions that reach the same rows in other orders would
deadlock. So the first rollup change of a transaction takes one transaction-scoped advisory
lock (``ROLLUP_LOCK``), and writers take turns from there to their commit.
"""

from __future__ import annotations

__all__ = ["CREATE", "REBUILD", "ROLLUP_LOCK", "TREND", "VERIFY", "WORKERS"]

ROLLUP_LOCK = 7_362_810_442
"""The ``pg_advisory_xact_lock`` key of rollup changes ("feedback rollups")."""

_WORKER = "(metadata->>'worker_id')"
_HOUR = "date_trunc('hour', created_at AT TIME ZONE 'UTC')"

_TABLES = (
    """CREATE TABLE feedback_rollup_types (
        feedback_type TEXT NOT NULL,
        rating INTEGER NOT NULL,
        entries BIGINT NOT NULL,
        PRIMARY KEY (feedback_type, rating)
    )""",
    """CREATE TABLE feedback_rollup_workers (
        worker TEXT NOT NULL PRIMARY KEY,
        entries BIGINT NOT NULL,
        rated BIGINT NOT NULL,
        rating_sum BIGINT NOT NULL,
        failures BIGINT NOT NULL
    )""",
    """CREATE TABLE feedback_rollup_hours (
        hour TIMESTAMP NOT NULL PRIMARY KEY,
        entries BIGINT NOT NULL,
        rated BIGINT NOT NULL,
        rating_sum BIGINT NOT NULL
    )""",
    """CREATE TABLE feedback_rollup_scores (
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
)

_COMPLETION = "feedback_type = 'task_completion'"
_TIMED = "jsonb_typeof(metadata->'execution_time') = 'number'"
_SCORES = f"""SELECT (created_at AT TIME ZONE 'UTC')::date AS day, {_WORKER} AS worker,
            coalesce(metadata->>'task_type', '') AS task_type,
            {{sign}} COUNT(*) AS entries, {{sign}} COUNT(rating) AS rated,
            {{sign}} coalesce(SUM(rating), 0) AS rating_sum,
            {{sign}} coalesce(SUM(rating * rating), 0) AS rating_squares,
            {{sign}} COUNT(*) FILTER (WHERE {_COMPLETION} AND metadata->'success' = 'true')
                AS successes,
            {{sign}} COUNT(*) FILTER (WHERE feedback_type = 'error_report'
                OR ({_COMPLETION} AND metadata->'success' = 'false')) AS failures,
            {{sign}} COUNT(*) FILTER (WHERE {_TIMED}) AS timed,
            {{sign}} coalesce(SUM((metadata->>'execution_time')::float8)
                FILTER (WHERE {_TIMED}), 0) AS time_sum
        FROM {{source}} WHERE {_WORKER} IS NOT NULL GROUP BY 1, 2, 3"""

_AGGREGATES = {
    "feedback_rollup_types": """SELECT feedback_type, coalesce(rating, 0) AS rating,
            {sign} COUNT(*) AS entries
        FROM {source} GROUP BY 1, 2""",
    "feedback_rollup_workers": f"""SELECT {_WORKER} AS worker, {{sign}} COUNT(*),
            {{sign}} COUNT(rating), {{sign}} coalesce(SUM(rating), 0),
            {{sign}} COUNT(*) FILTER (WHERE feedback_type = 'error_report')
        FROM {{source}} WHERE {_WORKER} IS NOT NULL GROUP BY 1""",
    "feedback_rollup_hours": f"""SELECT {_HOUR} AS hour, {{sign}} COUNT(*),
            {{sign}} COUNT(rating), {{sign}} coalesce(SUM(rating), 0)
        FROM {{source}} GROUP BY 1""",
    "feedback_rollup_scores": _SCORES,
}
_KEYS = {
    "feedback_rollup_types": "feedback_type, rating",
    "feedback_rollup_workers": "worker",
    "feedback_rollup_hours": "hour",
    "feedback_rollup_scores": "day, worker, task_type",
}
_SUMS = {
    "feedback_rollup_types": "entries = t.entries + excluded.entries",
    "feedback_rollup_workers": "entries = t.entries + excluded.entries, "
    "rated = t.rated + excluded.rated, rating_sum = t.rating_sum + excluded.rating_sum, "
    "failures = t.failures + excluded.failures",
    "feedback_rollup_hours": "entries = t.entries + excluded.entries, "
    "rated = t.rated + excluded.rated, rating_sum = t.rating_sum + excluded.rating_sum",
    "feedback_rollup_scores": ", ".join(
        f"{name} = t.{name} + excluded.{name}"
        for name in (
            "entries",
            "rated",
            "rating_sum",
            "rating_squares",
            "successes",
            "failures",
            "timed",
            "time_sum",
        )
    ),
}


def _apply(source: str, sign: str) -> str:
    """Add (``sign`` "") or take away ("-") the rows of ``source`` from every rollup, in a
    fixed order of tables and keys."""
    statements = []
    for table, aggregate in _AGGREGATES.items():
        statements.append(
            f"INSERT INTO {table} AS t {aggregate.format(source=source, sign=sign)} "
            f"ORDER BY {_KEYS[table]} ON CONFLICT ({_KEYS[table]}) DO UPDATE SET {_SUMS[table]}"
        )
        if sign:
            statements.append(f"DELETE FROM {table} WHERE entries = 0")
    return ";\n".join(statements) + ";"


_FUNCTIONS = (
    f"""CREATE FUNCTION feedback_rollup_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock({ROLLUP_LOCK});
        {_apply("new_rows", "")}
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION feedback_rollup_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock({ROLLUP_LOCK});
        {_apply("old_rows", "-")}
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION feedback_rollup_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock({ROLLUP_LOCK});
        {_apply("old_rows", "-")}
        {_apply("new_rows", "")}
        RETURN NULL;
    END $$""",
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

REBUILD = (
    f"SELECT pg_advisory_xact_lock({ROLLUP_LOCK})",
    *tuple(
        statement
        for table, aggregate in _AGGREGATES.items()
        for statement in (
            f"DELETE FROM {table}",
            f"INSERT INTO {table} {aggregate.format(source='feedback', sign='')}",
        )
    ),
)
"""Recompute every rollup from the entries (in the caller's transaction)."""


def _comparable(table: str, rows: str) -> str:
    """``rows`` of ``table``'s shape, with the float sum rounded: a trigger adds it up in
    another order than a recompute, which can move its last bits."""
    if table != "feedback_rollup_scores":
        return rows
    return (
        f"SELECT day, worker, task_type, entries, rated, rating_sum, rating_squares, "
        f"successes, failures, timed, round(time_sum::numeric, 6) FROM ({rows}) AS scores"
    )


VERIFY = {
    table: (
        _comparable(table, f"SELECT * FROM {table}")
        + " EXCEPT "
        + _comparable(table, aggregate.format(source="feedback", sign="")),
        _comparable(table, aggregate.format(source="feedback", sign=""))
        + " EXCEPT "
        + _comparable(table, f"SELECT * FROM {table}"),
    )
    for table, aggregate in _AGGREGATES.items()
}
"""Per rollup: the rows it has that a recompute has not, and the other way round."""

WORKERS = """SELECT worker, entries, average, failures FROM (
        SELECT worker, entries, rating_sum::float8 / NULLIF(rated, 0) AS average, failures
        FROM feedback_rollup_workers
    ) AS workers
    ORDER BY average IS NULL, average DESC, failures, entries DESC, worker"""

TREND = """SELECT period, SUM(rating_sum)::float8 / NULLIF(SUM(rated), 0), SUM(entries)
    FROM (
        SELECT to_char(date_trunc('{unit}', hour), 'YYYY-MM-DD') AS period, rating_sum, rated,
               entries
        FROM feedback_rollup_hours WHERE hour >= %(next_hour)s
        UNION ALL
        SELECT to_char(date_trunc('{unit}', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD'),
               coalesce(rating, 0), (rating IS NOT NULL)::int, 1
        FROM feedback WHERE created_at >= %(since)s AND created_at < %(next_hour_tz)s
    ) AS periods
    GROUP BY period ORDER BY period"""
"""Per ``{unit}`` (day or week): the whole hours from the rollup, the partial first hour
from the entries."""

CREATE = (*_TABLES, *_FUNCTIONS, *_TRIGGERS, *REBUILD)
"""The migration that adds the rollups, built from the entries already stored."""

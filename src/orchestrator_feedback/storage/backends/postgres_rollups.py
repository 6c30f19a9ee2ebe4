"""PostgreSQL's rollups: the same five aggregates as SQLite's (``sqlite_rollups``; the hour a
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

from orchestrator_feedback import rules
from orchestrator_feedback.rules import POSTGRES_JSON
from orchestrator_feedback.storage.backends import postgres_decayed as decayed_sums

__all__ = [
    "COMPACT_REMOVED",
    "CREATE",
    "DELTAS_TABLE",
    "FOLD",
    "FOLD_AT",
    "FOLD_LOCK",
    "FOLD_STEP",
    "FOLD_STEP_ROWS",
    "FOLD_TIDY",
    "LIFETIME_OUTCOMES",
    "LIFETIME_TYPES",
    "OUTCOMES",
    "OUTCOMES_PER_WORKER",
    "OUTCOMES_SINCE",
    "OUTCOMES_TABLE",
    "PENDING",
    "PERIOD_TABLES",
    "RATED_TYPES",
    "REBUILD",
    "REMOVED",
    "RENAME_WORKERS",
    "RESHAPE_SCORES",
    "SCORES",
    "SCORE_TOTALS",
    "SUMMARY_SINCE",
    "TREND",
    "TYPES",
    "VERIFY",
    "WORKERS",
]

FOLD_AT = 10_000
"""Pending deltas past which a reader folds them into the rollups first."""
DELTAS_TABLE = "feedback_rollup_deltas"
"""The table of pending deltas."""
FOLDED_TABLES = (
    "feedback_rollup_types",
    "feedback_rollup_workers",
    "feedback_rollup_hours",
    "feedback_rollup_scores",
    "feedback_rollup_outcomes",
    "feedback_rollup_type_hours",
    "feedback_rollup_outcome_days",
    "feedback_rollup_decayed",
)
"""The rollups a fold changes (a long fold vacuums and analyzes them)."""
FOLD_LOCK = 7_362_810_442
"""The ``pg_advisory_xact_lock`` key of folds and rebuilds ("feedback rollups")."""

RATED_TYPES = (
    f"""CREATE TABLE IF NOT EXISTS {rules.RATED_TYPES_TABLE} (
        feedback_type TEXT NOT NULL PRIMARY KEY
    )""",
    rules.RATED_TYPES_DEFAULT_SQL,
)
"""The store's rating types (``rules``), every type to begin with."""

OUTCOMES_TABLE = (
    """CREATE TABLE IF NOT EXISTS feedback_rollup_outcomes (
        worker TEXT NOT NULL,
        task_type TEXT NOT NULL,
        entries BIGINT NOT NULL,
        successes BIGINT NOT NULL,
        failures BIGINT NOT NULL,
        rated BIGINT NOT NULL,
        rating_sum BIGINT NOT NULL,
        timed BIGINT NOT NULL,
        time_sum DOUBLE PRECISION NOT NULL,
        latest TIMESTAMPTZ,
        PRIMARY KEY (worker, task_type)
    )""",
    # The newest day of a worker and task type, read when its newest outcome goes.
    """CREATE INDEX IF NOT EXISTS feedback_rollup_scores_by_worker
        ON feedback_rollup_scores (worker, task_type, day)""",
)
"""The outcomes rollup: per worker and task type, over every entry, the scores rollup's
sums without the day (a row a worker and task type, whatever the store's age)."""

PERIOD_TABLES = (
    """CREATE TABLE IF NOT EXISTS feedback_rollup_type_hours (
        hour TIMESTAMP NOT NULL,
        feedback_type TEXT NOT NULL,
        rating INTEGER NOT NULL,
        entries BIGINT NOT NULL,
        PRIMARY KEY (hour, feedback_type, rating)
    )""",
    """CREATE TABLE IF NOT EXISTS feedback_rollup_outcome_days (
        day DATE NOT NULL,
        task_type TEXT NOT NULL,
        outcome TEXT NOT NULL,
        entries BIGINT NOT NULL,
        newest TIMESTAMPTZ,
        PRIMARY KEY (day, task_type, outcome)
    )""",
)
"""The rollups of answers over a period (SQLite's in ``sqlite_rollups``): per hour, type and
rating (0: unrated) the count; per day, task type and outcome group (``rules``) the count
and the newest ``created_at``."""

_TABLES = (
    *RATED_TYPES,
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
        successes BIGINT NOT NULL,
        success_f DOUBLE PRECISION NOT NULL,
        success_ff DOUBLE PRECISION NOT NULL,
        failures BIGINT NOT NULL,
        failure_f DOUBLE PRECISION NOT NULL,
        failure_ff DOUBLE PRECISION NOT NULL,
        rated BIGINT NOT NULL,
        rated_f DOUBLE PRECISION NOT NULL,
        rated_ff DOUBLE PRECISION NOT NULL,
        rating_sum BIGINT NOT NULL,
        rating_f DOUBLE PRECISION NOT NULL,
        rating_ff DOUBLE PRECISION NOT NULL,
        timed BIGINT NOT NULL,
        time_sum DOUBLE PRECISION NOT NULL,
        latest TIMESTAMPTZ,
        PRIMARY KEY (day, worker, task_type)
    )""",
    *OUTCOMES_TABLE,
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
        time_sum DOUBLE PRECISION NOT NULL,
        all_f DOUBLE PRECISION NOT NULL,
        all_ff DOUBLE PRECISION NOT NULL,
        success_f DOUBLE PRECISION NOT NULL,
        success_ff DOUBLE PRECISION NOT NULL,
        failure_f DOUBLE PRECISION NOT NULL,
        failure_ff DOUBLE PRECISION NOT NULL,
        latest TIMESTAMPTZ,
        outcome TEXT,
        outcome_newest TIMESTAMPTZ
    )""",
    *PERIOD_TABLES,
)
_COMPLETION = "feedback_type = 'task_completion'"


_MEASURES = (
    "success",
    "failure",
    "timed",
    "elapsed",
    "f",
    "f * f",
    "success * f",
    "success * f * f",
    "failure * f",
    "failure * f * f",
)
_HAS_OUTCOME = f"success = 1 OR failure = 1 OR {rules.rated_sql()} = 1"
_OUTCOME_GROUP = rules.outcome_group_sql(POSTGRES_JSON, "(metadata->>'error_type')")


def _deltas_of(source: str, sign: int, *, grouped: bool = True) -> str:
    """The delta rows of the entries in ``source`` (a table or transition table): one per
    group of entries alike in everything the rollups group by, with ``sign`` (1, -1); with
    ``grouped=False``, one per entry (for a statement that wrote one: grouping one row cost
    a ``create`` about 20 µs).

    Each ``OFFSET 0`` keeps the planner from merging a subquery into the one above, which
    would compute an expression again wherever it is used (``f`` seven times an entry). The
    time of day is a cast to ``time`` and ``date_part`` (a float8), not ``extract`` (a
    numeric); the metadata's keys are looked up one by one (``->``, ``->>``), not through
    ``jsonb_to_record``. The delta rows of 100,000 entries took 373 ms before these three
    changes and 104 ms after, the same rows."""
    if grouped:
        count, group = f"{sign} * COUNT(*)", " GROUP BY 2, 3, 4, 5, 6, outcome"
        sums = ", ".join(f"{sign} * SUM({name})" for name in _MEASURES)
        latest = f"MAX(created_at) FILTER (WHERE {_HAS_OUTCOME})"
        newest = "MAX(created_at) FILTER (WHERE outcome IS NOT NULL)"
    else:
        count, group = str(sign), ""
        sums = ", ".join(f"{sign} * ({name})" for name in _MEASURES)
        latest = f"CASE WHEN {_HAS_OUTCOME} THEN created_at END"
        newest = "CASE WHEN outcome IS NOT NULL THEN created_at END"
    if sign < 0:
        latest = newest = "NULL::timestamptz"
    return f"""SELECT {count}, feedback_type, rating, worker, task_type, hour,
            {sums}, {latest}, outcome, {newest}
        FROM (
            SELECT feedback_type, rating, created_at, worker, task_type, outcome,
                date_trunc('hour', created_at AT TIME ZONE 'UTC') AS hour,
                date_part('epoch', (created_at AT TIME ZONE 'UTC')::time) / 86400 AS f,
                {rules.success_sql(POSTGRES_JSON)} AS success,
                {rules.failure_sql(POSTGRES_JSON)} AS failure,
                coalesce(jsonb_typeof(execution_time) = 'number', false)::int AS timed,
                CASE WHEN jsonb_typeof(execution_time) = 'number'
                    THEN execution_time::float8 ELSE 0 END AS elapsed
            FROM (
                SELECT feedback_type, rating, created_at, metadata,
                    {rules.worker_sql(POSTGRES_JSON)} AS worker,
                    {rules.task_type_sql(POSTGRES_JSON)} AS task_type,
                    {_OUTCOME_GROUP} AS outcome,
                    metadata->'execution_time' AS execution_time
                FROM {source} OFFSET 0
            ) AS m OFFSET 0
        ) AS entries{group}"""


_DELTA_COLUMNS = (
    "entries, feedback_type, rating, worker, task_type, hour, successes, failures, timed, "
    "time_sum, all_f, all_ff, success_f, success_ff, failure_f, failure_ff, latest, "
    "outcome, outcome_newest"
)

_RATED = rules.rated_sql()

# Each rollup: its keys and its values, as expressions over delta rows (summed; ``latest``
# is the newest, not a sum).
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
            "successes": "successes",
            "success_f": "success_f",
            "success_ff": "success_ff",
            "failures": "failures",
            "failure_f": "failure_f",
            "failure_ff": "failure_ff",
            "rated": f"entries * {_RATED}",
            "rated_f": f"all_f * {_RATED}",
            "rated_ff": f"all_ff * {_RATED}",
            "rating_sum": f"entries * coalesce(rating, 0) * {_RATED}",
            "rating_f": f"all_f * coalesce(rating, 0) * {_RATED}",
            "rating_ff": f"all_ff * coalesce(rating, 0) * {_RATED}",
            "timed": "timed",
            "time_sum": "time_sum",
            "latest": "latest",
        },
        "worker IS NOT NULL",
    ),
}
_ROLLUPS["feedback_rollup_type_hours"] = (
    {"hour": "hour", "feedback_type": "feedback_type", "rating": "coalesce(rating, 0)"},
    {"entries": "entries"},
    "true",
)
_ROLLUPS["feedback_rollup_outcome_days"] = (
    {"day": "hour::date", "task_type": "task_type", "outcome": "outcome"},
    {"entries": "entries", "newest": "outcome_newest"},
    "outcome IS NOT NULL",
)
_NEWEST = ("latest", "newest")
"""The values that are the newest of their rows, not a sum."""
_ROLLUPS["feedback_rollup_outcomes"] = (
    {"worker": "worker", "task_type": "task_type"},
    {
        name: expression
        for name, expression in _ROLLUPS["feedback_rollup_scores"][1].items()
        if not (name.endswith("_f") or name.endswith("_ff"))
    },
    "worker IS NOT NULL",
)


def _total(name: str, expression: str) -> str:
    """How ``name`` adds up over rows: the newest for ``latest`` and ``newest``, else the
    sum."""
    return f"MAX({expression})" if name in _NEWEST else f"SUM({expression})"


def _aggregate(table: str, deltas: str) -> str:
    """``table``'s rows for the delta rows ``deltas`` (a table or a CTE)."""
    keys, values, where = _ROLLUPS[table]
    columns = [f"{expression} AS {name}" for name, expression in keys.items()]
    columns += [f"{_total(name, expression)} AS {name}" for name, expression in values.items()]
    return (
        f"SELECT {', '.join(columns)} FROM {deltas} WHERE {where} "
        f"GROUP BY {', '.join(str(n + 1) for n in range(len(keys)))}"
    )


def _with_deltas(table: str, *, float_sums: bool = False) -> str:
    """``table`` as it stands with the pending deltas added (rows summing to no entries
    left out). ``float_sums``: the sums as ``float8``, for a caller that reads them so
    anyway: PostgreSQL sums ``bigint`` as ``numeric``, and the outcomes rollup's 4,000 rows
    took 17 ms to sum so, 6.5 ms as ``float8`` (exact below 2**53)."""
    keys, values, _where = _ROLLUPS[table]
    key_list = ", ".join(keys)
    sums = ", ".join(
        f"{_total(name, name if name in _NEWEST or not float_sums else name + '::float8')} "
        f"AS {name}"
        for name in values
    )
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
    sums = ", ".join(
        f"{name} = GREATEST(t.{name}, excluded.{name})"
        if name in _NEWEST
        else f"{name} = t.{name} + excluded.{name}"
        for name in values
    )
    return (
        f"INSERT INTO {table} AS t {_aggregate(table, moved)} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sums}"
    )


_TABLE_NAMES = tuple(_ROLLUPS)

_OUTCOME_NAMES = ("successes", "failures", "rated", "rating_sum")


def _compact(table: str, keys: str, values: tuple[str, ...]) -> str:
    sums = ", ".join(f"SUM({name})" for name in values)
    nonzero = " OR ".join(f"SUM({name}) <> 0" for name in values)
    return (
        f"WITH moved AS (DELETE FROM {table} RETURNING *) INSERT INTO {table} "
        f"SELECT {keys}, {sums} FROM moved GROUP BY {keys} HAVING {nonzero}"
    )


COMPACT_REMOVED = (
    _compact("feedback_removed_types", "change, feedback_type, rating", ("entries",)),
    _compact("feedback_removed_outcomes", "change, worker, task_type", _OUTCOME_NAMES),
)
"""Sum the removed ledger's appended rows per key (under the fold's lock)."""


def _move(chosen: str) -> str:
    """The statement that moves the delta rows ``chosen`` (a condition) into every rollup,
    and what that changes of the scores rollup's days into the decayed sums."""
    folds = []
    for table in _TABLE_NAMES:
        fold = _fold_into(table, "moved")
        if table == "feedback_rollup_scores":
            fold += " RETURNING t.*"
        folds.append(fold)
    scores = _TABLE_NAMES.index("feedback_rollup_scores")
    return (
        f"WITH moved AS (DELETE FROM feedback_rollup_deltas WHERE {chosen} RETURNING *), "
        + ", ".join(f"folded_{number} AS ({fold})" for number, fold in enumerate(folds[:-1]))
        + f", scores_moved AS ({_aggregate('feedback_rollup_scores', 'moved')})"
        + f", decayed AS ({decayed_sums.fold_into_sums(f'folded_{scores}', 'scores_moved')})"
        + f" {folds[-1]}"
    )


FOLD = (
    f"SELECT pg_advisory_xact_lock({FOLD_LOCK})",
    _move("true"),
    *(f"DELETE FROM {table} WHERE entries = 0" for table in _TABLE_NAMES),
    *COMPACT_REMOVED,
)
"""Move the pending deltas into the rollups, and sum the removed ledger's rows per key (in
the caller's transaction)."""

FOLD_STEP_ROWS = 5_000
"""Delta rows one step of a fold moves, in a transaction of its own: about 110 ms on the
store of 10,000,000 entries of ``make bench-scale`` (20,000 took 430 ms there)."""
FOLD_STEP = (
    f"SELECT pg_advisory_xact_lock({FOLD_LOCK})",
    _move("ctid = ANY (ARRAY(SELECT ctid FROM feedback_rollup_deltas LIMIT %(rows)s))"),
)
"""One step of a fold in steps: move ``rows`` of the pending deltas (any: they add up in
any order). A rollup row may then stand at zero, or below, until the rest are moved."""
FOLD_TIDY = (
    f"SELECT pg_advisory_xact_lock({FOLD_LOCK})",
    *(
        f"DELETE FROM {table} WHERE entries = 0 AND NOT EXISTS (SELECT FROM feedback_rollup_deltas)"
        for table in _TABLE_NAMES
    ),
    *COMPACT_REMOVED,
)
"""After a fold in steps: drop the rollup rows left at zero, when no delta is pending (one
that is may still be counted into such a row, with the newest outcome a deletion kept
there), and sum the removed ledger's rows per key."""

PENDING = "SELECT count(*) FROM (SELECT 1 FROM feedback_rollup_deltas LIMIT %s) AS pending"

_RECOMPUTE = (
    f"SELECT pg_advisory_xact_lock({FOLD_LOCK})",
    "DELETE FROM feedback_rollup_deltas",
    *(
        statement
        for table in _TABLE_NAMES
        for statement in (f"DELETE FROM {table}", f"INSERT INTO {table} {_recomputed(table)}")
    ),
)
REBUILD = (*_RECOMPUTE, *COMPACT_REMOVED)
"""Recompute every rollup from the entries, and sum the removed ledger's rows per key (in
the caller's transaction; the ledger itself cannot be recomputed: what it counts is gone)."""


def _comparable(table: str, rows: str) -> str:
    """``rows`` of ``table``'s shape, the float sum rounded: it is added up in other orders
    than a recompute's, which can move its last bits."""
    keys, values, _where = _ROLLUPS[table]
    columns = [
        *keys,
        *(
            f"round({v}::numeric, 6)"
            if v == "time_sum" or v.endswith("_f") or v.endswith("_ff")
            else v
            for v in values
        ),
    ]
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

TREND = f"""SELECT period, SUM(rating_sum)::float8 / NULLIF(SUM(rated), 0), SUM(entries),
        SUM(rated)
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
_OUTCOME_ZEROS = ", ".join(
    "0" for name in _ROLLUPS["feedback_rollup_outcomes"][1] if name != "latest"
)
_SCORE_ZEROS = ", ".join("0" for name in _ROLLUPS["feedback_rollup_scores"][1] if name != "latest")
_DAY_OF_WORKER = """(SELECT * FROM feedback
    WHERE created_at >= k.day::timestamp AT TIME ZONE 'UTC'
        AND created_at < (k.day + 1)::timestamp AT TIME ZONE 'UTC'
        AND metadata->>'worker_id' = k.worker) AS f"""
_KEYS_OF_OLD_ROWS = f"""(SELECT DISTINCT day, worker, task_type FROM (
        SELECT (created_at AT TIME ZONE 'UTC')::date AS day,
            {rules.worker_sql(POSTGRES_JSON)} AS worker,
            {rules.task_type_sql(POSTGRES_JSON)} AS task_type
        FROM old_rows) AS named WHERE worker IS NOT NULL) AS k"""
_OUTCOME_GROUP_OF_F = rules.outcome_group_sql(POSTGRES_JSON, "(f.metadata->>'error_type')", "f.")
_OUTCOME_KEYS_OF_OLD_ROWS = f"""(SELECT DISTINCT day, task_type, outcome FROM (
        SELECT (created_at AT TIME ZONE 'UTC')::date AS day,
            {rules.task_type_sql(POSTGRES_JSON)} AS task_type, {_OUTCOME_GROUP} AS outcome
        FROM old_rows) AS grouped WHERE outcome IS NOT NULL) AS k"""
# A deleted or changed entry may have been the newest outcome of its day, worker and task
# type: that day's newest is read again from the entries (the created_at index), kept in
# the rollup row (added with zero counts if only deltas hold that key so far), and the
# pending deltas of those keys stop claiming one; the outcomes rollup's newest is then
# that of the newest day (in a row of zero counts likewise). The newest of an outcome group
# that day is read again the same way.
_RENEW_LATEST = f"""PERFORM pg_advisory_xact_lock({FOLD_LOCK});
    INSERT INTO feedback_rollup_scores AS t
        SELECT k.day, k.worker, k.task_type, {_SCORE_ZEROS}, (
            SELECT MAX(d.latest) FROM ({_deltas_of(_DAY_OF_WORKER, 1)}) AS d ({_DELTA_COLUMNS})
            WHERE d.worker = k.worker AND d.task_type = k.task_type)
        FROM {_KEYS_OF_OLD_ROWS}
        ON CONFLICT (day, worker, task_type) DO UPDATE SET latest = excluded.latest;
    UPDATE feedback_rollup_deltas AS d SET latest = NULL FROM {_KEYS_OF_OLD_ROWS}
        WHERE d.latest IS NOT NULL AND d.hour::date = k.day AND d.worker = k.worker
            AND d.task_type = k.task_type;
    INSERT INTO feedback_rollup_outcomes AS t
        SELECT o.worker, o.task_type, {_OUTCOME_ZEROS}, (
            SELECT s.latest FROM feedback_rollup_scores AS s
            WHERE s.worker = o.worker AND s.task_type = o.task_type AND s.latest IS NOT NULL
            ORDER BY s.day DESC LIMIT 1)
        FROM (SELECT DISTINCT worker, task_type FROM {_KEYS_OF_OLD_ROWS}) AS o
        ON CONFLICT (worker, task_type) DO UPDATE SET latest = excluded.latest;
    INSERT INTO feedback_rollup_outcome_days AS t
        SELECT k.day, k.task_type, k.outcome, 0, (
            SELECT MAX(f.created_at) FROM feedback AS f
            WHERE f.created_at >= k.day::timestamp AT TIME ZONE 'UTC'
                AND f.created_at < (k.day + 1)::timestamp AT TIME ZONE 'UTC'
                AND f.feedback_type IN ('task_completion', 'error_report')
                AND {rules.task_type_sql(POSTGRES_JSON, "f.")} = k.task_type
                AND {_OUTCOME_GROUP_OF_F} = k.outcome)
        FROM {_OUTCOME_KEYS_OF_OLD_ROWS}
        ON CONFLICT (day, task_type, outcome) DO UPDATE SET newest = excluded.newest;
    UPDATE feedback_rollup_deltas AS d SET outcome_newest = NULL
        FROM {_OUTCOME_KEYS_OF_OLD_ROWS}
        WHERE d.outcome_newest IS NOT NULL AND d.hour::date = k.day
            AND d.task_type = k.task_type AND d.outcome = k.outcome"""
_FUNCTIONS = (
    _trigger_function(
        "feedback_rollup_inserted",
        "IF (SELECT count(*) FROM (SELECT FROM new_rows LIMIT 2) AS first_two) = 1 THEN "
        f"{_APPEND}{_deltas_of('new_rows', 1, grouped=False)}; "
        f"ELSE {_APPEND}{_deltas_of('new_rows', 1)}; END IF",
    ),
    _trigger_function(
        "feedback_rollup_deleted", f"{_APPEND}{_deltas_of('old_rows', -1)}; {_RENEW_LATEST}"
    ),
    _trigger_function(
        "feedback_rollup_updated",
        f"{_APPEND}{_deltas_of('old_rows', -1)} UNION ALL {_deltas_of('new_rows', 1)}; "
        f"{_RENEW_LATEST}",
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

CREATE = (*_TABLES, *_FUNCTIONS, *_TRIGGERS, *_RECOMPUTE)
"""The migration that adds the rollups, built from the entries already stored."""

RENEW_FUNCTIONS = _FUNCTIONS
"""The migration that replaces the triggers' functions with the current ones; the triggers
call them by name. Schema 7: the same delta rows, computed in about half the time; schema
10: deleting an entry whose ``worker_id`` is JSON null no longer writes a scores row for a
null worker (which failed the delete)."""

RESHAPE_SCORES = (
    f"SELECT pg_advisory_xact_lock({FOLD_LOCK})",
    "DROP TRIGGER IF EXISTS feedback_rollup_insert ON feedback",
    "DROP TRIGGER IF EXISTS feedback_rollup_delete ON feedback",
    "DROP TRIGGER IF EXISTS feedback_rollup_update ON feedback",
    "DROP TABLE IF EXISTS feedback_rollup_scores",
    "DROP TABLE IF EXISTS feedback_rollup_deltas",
    *CREATE,
)
"""The migration from schema 4's scores rollup (no time moments, successes only when
``metadata.success`` was true) to this one: every rollup rebuilt from the entries."""

_SCORE_VALUES = [name for name in _ROLLUPS["feedback_rollup_scores"][1] if name != "entries"]
_SCORE_COLUMNS = ", ".join(("worker", "day", "task_type", *_SCORE_VALUES))


def _entries_between(low: str, high: str) -> str:
    """The scores rollup's rows for the entries from ``low`` to ``high`` (SQL bounds)."""
    entries = f"(SELECT * FROM feedback WHERE created_at {low} AND created_at {high}) AS e"
    return _aggregate(
        "feedback_rollup_scores",
        f"({_deltas_of(entries, 1)}) AS entries_as_deltas ({_DELTA_COLUMNS})",
    )


SCORES = f"""SELECT worker, to_char(day, 'YYYY-MM-DD'),
        {
    ", ".join(
        _total(name, name) + ("" if name == "latest" else "::float8") for name in _SCORE_VALUES
    )
}
    FROM (
        SELECT {_SCORE_COLUMNS} FROM ({_with_deltas("feedback_rollup_scores")}) AS s
        WHERE day >= %(first_day)s AND day < %(end_day)s
        UNION ALL
        SELECT {_SCORE_COLUMNS} FROM ({_entries_between(">= %(since)s", "< %(head_end)s")})
            AS head
        UNION ALL
        SELECT {_SCORE_COLUMNS} FROM ({_entries_between(">= %(tail_start)s", "<= %(until)s")})
            AS tail
    ) AS days
    WHERE %(task_type)s::text IS NULL OR task_type = %(task_type)s::text
    GROUP BY worker, day"""
"""Per worker and day, the scores rollup's sums (``latest`` the newest) for the entries
from ``since`` to ``until``: the whole days from ``first_day`` to before ``end_day`` from the
rollup and its pending deltas, the partial days at either end from the entries; of one
``task_type`` or of all (NULL)."""

_WINDOW_NAMES = (
    "worker, day, task_type, entries, successes, failures, rated, rating_sum, timed, "
    "time_sum, latest"
)
_NO_MOMENT = "0.0::float8, 0.0::float8"
SCORES_PER_WORKER = f"""SELECT worker, to_char(MAX(day), 'YYYY-MM-DD'),
        SUM(successes)::float8, {_NO_MOMENT}, SUM(failures)::float8, {_NO_MOMENT},
        SUM(rated)::float8, {_NO_MOMENT}, SUM(rating_sum)::float8, {_NO_MOMENT},
        SUM(timed)::float8, SUM(time_sum)::float8, MAX(latest)
    FROM (
        SELECT {_WINDOW_NAMES} FROM feedback_rollup_scores
        WHERE day >= %(first_day)s AND day < %(end_day)s
        UNION ALL
        SELECT {_WINDOW_NAMES}
        FROM ({_aggregate("feedback_rollup_scores", "feedback_rollup_deltas")}) AS pending
        WHERE day >= %(first_day)s AND day < %(end_day)s
        UNION ALL
        SELECT {_WINDOW_NAMES} FROM ({_entries_between(">= %(since)s", "< %(head_end)s")})
            AS head
        UNION ALL
        SELECT {_WINDOW_NAMES} FROM ({_entries_between(">= %(tail_start)s", "<= %(until)s")})
            AS tail
    ) AS days
    WHERE %(task_type)s::text IS NULL OR task_type = %(task_type)s::text
    GROUP BY worker HAVING SUM(entries) <> 0"""
"""``SCORES`` summed per worker over the whole window (``day`` its newest; no moments,
which undecayed scores do not use): what undecayed scores need, the rollup's rows and the
pending deltas' read as they are, not summed per day first."""

SCORE_TOTALS = f"""SELECT worker, task_type, successes::float8, failures::float8,
        rated::float8, rating_sum::float8
    FROM ({_with_deltas("feedback_rollup_outcomes")}) AS s ORDER BY worker, task_type"""
"""Per worker and task type, over every entry: successes, failures, ratings, rating sum."""


# The removed ledger (``docs/metrics.md``; SQLite's in ``sqlite_rollups``): what deletes and
# updates took away, so that counts of what was ever created never go down. A deleted entry
# adds its values under change 'delete'; an update adds its old values and takes away its
# new ones under 'update'. Created is the rollups plus the ledger; deleted, the 'delete'
# rows. Rows are appended per statement, as the deltas are (no lock shared between
# writers), and summed per key when the deltas are folded.
_LEDGER_TYPES = "change, feedback_type, rating, entries"
_LEDGER_OUTCOMES = "change, worker, task_type, successes, failures, rated, rating_sum"


def _ledger_of(change: str, source: str, sign: int) -> str:
    """The statements that append the entries of ``source`` (``old_rows``, ``new_rows``)
    to the ledger under ``change``, with ``sign``."""
    deltas = f"(SELECT * FROM ({_deltas_of(source, sign)}) AS d ({_DELTA_COLUMNS})) AS d"
    scores = _ROLLUPS["feedback_rollup_scores"][1]
    sums = ", ".join(f"SUM({scores[name]})" for name in _OUTCOME_NAMES)
    return (
        f"INSERT INTO feedback_removed_types ({_LEDGER_TYPES}) SELECT '{change}', "
        f"feedback_type, coalesce(rating, 0), SUM(entries) FROM {deltas} GROUP BY 2, 3; "
        f"INSERT INTO feedback_removed_outcomes ({_LEDGER_OUTCOMES}) SELECT '{change}', "
        f"worker, task_type, {sums} FROM {deltas} WHERE worker IS NOT NULL GROUP BY 2, 3"
    )


_REMOVED_FUNCTIONS = (
    _trigger_function("feedback_removed_deleted", _ledger_of("delete", "old_rows", 1)),
    _trigger_function(
        "feedback_removed_updated",
        f"{_ledger_of('update', 'old_rows', 1)}; {_ledger_of('update', 'new_rows', -1)}",
    ),
)

REMOVED = (
    """CREATE TABLE IF NOT EXISTS feedback_removed_types (
        change TEXT NOT NULL,
        feedback_type TEXT NOT NULL,
        rating INTEGER NOT NULL,
        entries BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS feedback_removed_outcomes (
        change TEXT NOT NULL,
        worker TEXT NOT NULL,
        task_type TEXT NOT NULL,
        successes BIGINT NOT NULL,
        failures BIGINT NOT NULL,
        rated BIGINT NOT NULL,
        rating_sum BIGINT NOT NULL
    )""",
    *_REMOVED_FUNCTIONS,
    """CREATE TRIGGER feedback_removed_delete AFTER DELETE ON feedback
       REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
       EXECUTE FUNCTION feedback_removed_deleted()""",
    """CREATE TRIGGER feedback_removed_update AFTER UPDATE ON feedback
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
       EXECUTE FUNCTION feedback_removed_updated()""",
)
"""The migration that adds the removed ledger (empty: a store's earlier deletions are not
known)."""

LIFETIME_TYPES = f"""SELECT feedback_type, rating, SUM(entries), SUM(deleted) FROM (
        SELECT feedback_type, rating, entries, 0 AS deleted
        FROM ({_with_deltas("feedback_rollup_types")}) AS stored
        UNION ALL
        SELECT feedback_type, rating, entries, (change = 'delete')::int * entries
        FROM feedback_removed_types
    ) AS parts GROUP BY feedback_type, rating"""
"""Per type and rating (0: unrated): the entries ever created and those deleted, in one
statement (one snapshot)."""

_OUTCOME_COLUMNS = "worker, task_type, " + ", ".join(_OUTCOME_NAMES)
LIFETIME_OUTCOMES = f"""SELECT worker, task_type,
        {", ".join(f"SUM({name})::float8" for name in _OUTCOME_NAMES)}
    FROM (
        SELECT {_OUTCOME_COLUMNS} FROM ({_with_deltas("feedback_rollup_outcomes")}) AS stored
        UNION ALL
        SELECT {_OUTCOME_COLUMNS} FROM feedback_removed_outcomes
    ) AS parts GROUP BY worker, task_type ORDER BY worker, task_type"""
"""Per worker and task type: the outcomes and ratings of every entry ever created."""

RENAME_WORKERS = (
    *RATED_TYPES,
    *OUTCOMES_TABLE,  # the rebuild fills them: a store older than schema 14 has none yet
    *PERIOD_TABLES,
    *_FUNCTIONS,
    *_REMOVED_FUNCTIONS,
    *REBUILD,
)
"""The migration to the names of ``rules`` (a fraction or an object no longer names a
worker; every renaming the same as SQLite's and the score book's): the triggers' functions
again, and every rollup rebuilt from the entries. The removed ledger keeps what it counted
under the names of then."""

_OUTCOME_VALUES = tuple(_ROLLUPS["feedback_rollup_outcomes"][1])
OUTCOMES = (
    f"SELECT pg_advisory_xact_lock({FOLD_LOCK})",
    "ALTER TABLE feedback_rollup_deltas ADD COLUMN IF NOT EXISTS outcome TEXT",
    "ALTER TABLE feedback_rollup_deltas ADD COLUMN IF NOT EXISTS outcome_newest TIMESTAMPTZ",
    *OUTCOMES_TABLE,
    *PERIOD_TABLES,
    *decayed_sums.CREATE,  # the fold keeps them (schema 16 adds them to a store past 14)
    *_FUNCTIONS,
    *FOLD,
    "DELETE FROM feedback_rollup_outcomes",
    f"""INSERT INTO feedback_rollup_outcomes
        SELECT worker, task_type, {", ".join(_total(name, name) for name in _OUTCOME_VALUES)}
        FROM feedback_rollup_scores GROUP BY worker, task_type""",
    *(
        statement
        for table in ("feedback_rollup_type_hours", "feedback_rollup_outcome_days")
        for statement in (f"DELETE FROM {table}", f"INSERT INTO {table} {_recomputed(table)}")
    ),
)
"""The migration that adds the outcomes rollup, summed from the scores rollup's days once
the pending deltas are folded (a row a worker and task type: what undecayed scores,
``failures`` and the lifetime counters read), the rollups of answers over a period, built
from the entries, and the functions that keep them."""

_NO_MOMENTS = "0.0::float8, 0.0::float8"
OUTCOMES_PER_WORKER = f"""SELECT worker,
        coalesce(to_char(MAX(latest) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), '1970-01-01'),
        SUM(successes)::float8, {_NO_MOMENTS}, SUM(failures)::float8, {_NO_MOMENTS},
        SUM(rated)::float8, {_NO_MOMENTS}, SUM(rating_sum)::float8, {_NO_MOMENTS},
        SUM(timed)::float8, SUM(time_sum)::float8, MAX(latest)
    FROM ({_with_deltas("feedback_rollup_outcomes", float_sums=True)}) AS o
    WHERE %(task_type)s::text IS NULL OR task_type = %(task_type)s::text
    GROUP BY worker"""
"""``SCORES_PER_WORKER`` over every entry, from the outcomes rollup and its pending deltas:
a row a worker (``day`` that of its newest outcome; the moments, which undecayed scores do
not use, zero)."""

SUMMARY_SINCE = f"""SELECT feedback_type, NULLIF(rating, 0), SUM(entries)::bigint FROM (
        SELECT feedback_type, rating, entries
        FROM ({_with_deltas("feedback_rollup_type_hours")}) AS h WHERE hour >= %(next_hour)s
        UNION ALL
        SELECT feedback_type, coalesce(rating, 0), COUNT(*) FROM feedback
        WHERE created_at >= %(since)s AND created_at < %(next_hour_tz)s GROUP BY 1, 2
    ) AS parts GROUP BY feedback_type, rating HAVING SUM(entries) > 0"""
"""``(feedback_type, rating, count)`` of the entries created at or after ``since``: the
whole hours from the rollup and its pending deltas, the partial first hour from the
entries."""

OUTCOMES_SINCE = f"""SELECT outcome, SUM(entries)::bigint, MAX(newest) FROM (
        SELECT task_type, outcome, entries, newest
        FROM ({_with_deltas("feedback_rollup_outcome_days")}) AS o WHERE day >= %(day)s
        UNION ALL
        SELECT task_type, outcome, COUNT(*), MAX(created_at) FROM (
            SELECT created_at, {rules.task_type_sql(POSTGRES_JSON)} AS task_type,
                {_OUTCOME_GROUP} AS outcome
            FROM feedback WHERE created_at >= %(since)s AND created_at < %(next_day)s
                AND feedback_type IN ('task_completion', 'error_report')
        ) AS e WHERE outcome IS NOT NULL GROUP BY 1, 2
    ) AS parts
    WHERE %(task_type)s::text IS NULL OR task_type = %(task_type)s::text
    GROUP BY outcome"""
"""Per outcome group of the entries created at or after ``since`` (of ``task_type``, or all
when NULL): the count and the newest ``created_at``; the whole days from the rollup and its
pending deltas, the partial first day from the entries."""


_KEPT_SUMS = ", ".join(
    f"SUM({decayed_sums.KEPT[m]})::float8, 0.0::float8, 0.0::float8"
    for m in ("successes", "failures", "rated", "rating_sum")
)
DECAYED = f"""SELECT 1, o.worker, NULL, {_KEPT_SUMS},
        SUM({decayed_sums.KEPT["timed"]})::float8, SUM({decayed_sums.KEPT["time_sum"]})::float8,
        MAX(o.latest), {decayed_sums.COUNTS}
    FROM feedback_rollup_outcomes AS o
        LEFT JOIN feedback_rollup_decayed AS d
            ON d.half_life = %(half_life)s AND d.worker = o.worker AND d.task_type = o.task_type
    WHERE %(task_type)s::text IS NULL OR o.task_type = %(task_type)s::text
    GROUP BY o.worker
    UNION ALL
    SELECT 0, worker, to_char(day, 'YYYY-MM-DD'), {
    ", ".join(
        _total(name, name) + ("" if name == "latest" else "::float8") for name in _SCORE_VALUES
    )
}, SUM(entries), SUM(successes), SUM(failures), SUM(rated), SUM(timed)
    FROM ({_aggregate("feedback_rollup_scores", "feedback_rollup_deltas")}) AS pending
    WHERE %(task_type)s::text IS NULL OR task_type = %(task_type)s::text
    GROUP BY worker, day
    UNION ALL
    SELECT 2, '', to_char(t_ref, 'YYYY-MM-DD'), {", ".join(["0.0::float8"] * 14)}, NULL,
        0, 0, 0, 0, 0
    FROM feedback_rollup_decay
    WHERE half_life = %(half_life)s AND built_through = '{decayed_sums.COMPLETE}'"""
"""A half-life's decayed sums per worker (rows flagged 1, shaped as ``ScoreDay`` with no
day and no moments; ``latest`` and the counts from the outcomes rollup as folded, as the
sums are), the pending deltas' days (flagged 0), which the sums do not hold yet, each row
followed by its counts (``decayed.COUNTS``), and the sums' reference day (the day of a row
flagged 2; none while the sums are not whole), in one statement."""

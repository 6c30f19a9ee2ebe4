"""What counts, declared once (docs/scores.md): which worker and task type an entry names,
whether it is a success or a failure, which ratings rate a worker.

Each rule is written here twice, side by side: as Python, which the score book and the live
views apply to each committed entry, and as SQL, rendered for a dialect from its
``JsonSQL`` (how it reads one key of ``metadata``), which the rollups' triggers and folds,
the full scans and the answers over a period run. A rule changes here or nowhere; the
property test in ``tests/storage/test_rules.py`` holds the renderings to the same answers.

**Names.** A worker (``metadata.worker_id``) and a task type (``metadata.task_type``) are
text, whatever JSON value names them: a string as it is, ``true`` and ``false`` as those
words, a whole number of at most 18 digits in decimal (so ``7`` and ``"7"`` are one
worker). Any other value (null, a fraction, a longer number, an object, a list) names no
worker and no task type (the task type is then ``""``).

**Outcomes.** A ``task_completion`` whose ``metadata.success`` is ``true`` or absent is a
success; one whose ``success`` is ``false`` is a failure (any other value: neither); every
``error_report`` is a failure. A rating rates the worker the entry names when the entry's
type is one of the store's rating types: every type (``RATED_TYPES``) unless the store is
configured otherwise (``[scores] rating_types``); the store keeps its set in the table
``feedback_rated_types``, which the SQL reads. An entry's time is
``metadata.execution_time`` when it is a number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from orchestrator_feedback.models import WORKER_RATING_TYPES, FeedbackEntry, FeedbackType

__all__ = [
    "ERROR_GROUP_PREFIX",
    "FAILED_COMPLETION_GROUP",
    "MOST_DIGITS",
    "POSTGRES_JSON",
    "RATED_TYPES",
    "RATED_TYPES_DEFAULT_SQL",
    "RATED_TYPES_TABLE",
    "SQLITE_JSON",
    "SUCCEEDED_GROUP",
    "JsonSQL",
    "failure_sql",
    "is_rated",
    "name_sql",
    "name_text",
    "outcome_group_sql",
    "outcome_of",
    "rated_sql",
    "success_sql",
    "task_type_of",
    "task_type_sql",
    "worker_of",
    "worker_sql",
]

WORKER_KEY = "worker_id"
TASK_TYPE_KEY = "task_type"
SUCCESS_KEY = "success"
MOST_DIGITS = 18
"""The longest whole number that names a worker or a task type (it fits every integer type)."""
_MOST = 10**MOST_DIGITS - 1
RATED_TYPES: frozenset[FeedbackType] = WORKER_RATING_TYPES
"""The entry types whose rating rates the worker they name, unless a store is configured
otherwise: every type."""
RATED_TYPES_TABLE = "feedback_rated_types"
"""The table of a store's rating types (one ``feedback_type`` a row), which the SQL reads."""
RATED_TYPES_DEFAULT_SQL = (
    f"INSERT INTO {RATED_TYPES_TABLE} SELECT column1 FROM (VALUES "
    + ", ".join(f"('{kind.value}')" for kind in sorted(RATED_TYPES, key=lambda t: t.value))
    + f") AS every_type WHERE NOT EXISTS (SELECT 1 FROM {RATED_TYPES_TABLE})"
)
"""Both dialects: every type, into a rating types table that has none yet (a store never
has none: ``rating_types`` must name one)."""


# --- Python: applied to each committed entry -------------------------------------------


def name_text(value: object) -> str | None:
    """The text a JSON value names a worker or a task type by, or None (see above)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and -_MOST <= value <= _MOST:
        return str(value)
    return None


def worker_of(metadata: Mapping[str, Any]) -> str | None:
    """The worker an entry's metadata names, or None."""
    return name_text(metadata.get(WORKER_KEY))


def task_type_of(metadata: Mapping[str, Any]) -> str:
    """The task type an entry's metadata names ("" for none)."""
    return name_text(metadata.get(TASK_TYPE_KEY)) or ""


def outcome_of(entry: FeedbackEntry) -> tuple[bool, bool]:
    """``(success, failure)`` of an entry; both False for one that is neither."""
    kind = entry.feedback_type
    if kind is FeedbackType.ERROR_REPORT:
        return False, True
    if kind is FeedbackType.TASK_COMPLETION:
        flag = entry.metadata.get(SUCCESS_KEY, True)
        return flag is True, flag is False
    return False, False


def is_rated(entry: FeedbackEntry, rated_types: frozenset[FeedbackType] = RATED_TYPES) -> bool:
    """Whether the entry's rating rates the worker it names, for a store whose rating types
    are ``rated_types``."""
    return entry.rating is not None and entry.feedback_type in rated_types


# --- SQL: the same rules for a dialect --------------------------------------------------


@attrs.frozen
class JsonSQL:
    """How a dialect reads the top-level key ``key`` of the metadata of row ``row`` (``""``
    for the table's own columns, ``"NEW."`` or ``"OLD."`` in a trigger): each a function
    ``(row, key) -> SQL``."""

    is_string: Callable[[str, str], str]
    """True when the value is a JSON string."""
    boolean: Callable[[str, str], str]
    """'true' or 'false' for a JSON boolean, else NULL."""
    whole_number: Callable[[str, str], str]
    """A JSON whole number of at most ``MOST_DIGITS`` digits in decimal, else NULL."""
    text: Callable[[str, str], str]
    """A JSON string's text (only used where ``is_string`` holds)."""
    success_flag: Callable[[str], str]
    """``metadata.success`` as 'true', 'false' (JSON booleans), another text for any other
    value, NULL when absent."""


def name_sql(json: JsonSQL, row: str, key: str) -> str:
    """SQL for ``name_text`` of the metadata key ``key``: NULL when it names nothing."""
    return (
        f"(CASE WHEN {json.is_string(row, key)} THEN {json.text(row, key)} "
        f"ELSE coalesce({json.boolean(row, key)}, {json.whole_number(row, key)}) END)"
    )


def worker_sql(json: JsonSQL, row: str = "") -> str:
    """SQL for ``worker_of``."""
    return name_sql(json, row, WORKER_KEY)


def task_type_sql(json: JsonSQL, row: str = "") -> str:
    """SQL for ``task_type_of``."""
    return f"coalesce({name_sql(json, row, TASK_TYPE_KEY)}, '')"


def success_sql(json: JsonSQL, row: str = "") -> str:
    """SQL for ``outcome_of``'s success: 1 or 0."""
    flag = json.success_flag(row)
    return (
        f"(CASE WHEN {row}feedback_type = 'task_completion' "
        f"AND coalesce({flag}, 'true') = 'true' THEN 1 ELSE 0 END)"
    )


def failure_sql(json: JsonSQL, row: str = "") -> str:
    """SQL for ``outcome_of``'s failure: 1 or 0."""
    flag = json.success_flag(row)
    return (
        f"(CASE WHEN {row}feedback_type = 'error_report' OR ({row}feedback_type = "
        f"'task_completion' AND {flag} = 'false') THEN 1 ELSE 0 END)"
    )


SUCCEEDED_GROUP = "s"
FAILED_COMPLETION_GROUP = "f"
ERROR_GROUP_PREFIX = "e:"


def outcome_group_sql(json: JsonSQL, error_type: str, row: str = "") -> str:
    """SQL for an entry's outcome group, whether or not it names a worker (``failures``):
    ``SUCCEEDED_GROUP`` for a success, ``FAILED_COMPLETION_GROUP`` for a completion whose
    ``success`` is false, ``ERROR_GROUP_PREFIX`` and its error type (``error_type``: the
    dialect's text of ``metadata.error_type``; "Unknown" without one) for an error report,
    NULL for any other entry."""
    flag = json.success_flag(row)
    return (
        f"(CASE WHEN {row}feedback_type = 'error_report' "
        f"THEN '{ERROR_GROUP_PREFIX}' || coalesce({error_type}, 'Unknown') "
        f"WHEN {row}feedback_type = 'task_completion' THEN CASE coalesce({flag}, 'true') "
        f"WHEN 'true' THEN '{SUCCEEDED_GROUP}' WHEN 'false' THEN '{FAILED_COMPLETION_GROUP}' "
        "END END)"
    )


def rated_sql(row: str = "") -> str:
    """SQL for ``is_rated`` with the store's rating types: 1 or 0."""
    return (
        f"(CASE WHEN {row}rating IS NOT NULL AND {row}feedback_type IN "
        f"(SELECT feedback_type FROM {RATED_TYPES_TABLE}) THEN 1 ELSE 0 END)"
    )


def _sqlite_value(row: str, key: str) -> str:
    return f"json_type({row}metadata, '$.{key}')"


SQLITE_JSON = JsonSQL(
    is_string=lambda row, key: f"{_sqlite_value(row, key)} = 'text'",
    boolean=lambda row, key: (
        f"(CASE WHEN {_sqlite_value(row, key)} IN ('true', 'false') "
        f"THEN {_sqlite_value(row, key)} END)"
    ),
    whole_number=lambda row, key: (
        f"(CASE WHEN {_sqlite_value(row, key)} = 'integer' "
        f"AND {row}metadata->>'$.{key}' BETWEEN -{_MOST} AND {_MOST} "
        f"THEN CAST({row}metadata->>'$.{key}' AS TEXT) END)"
    ),
    text=lambda row, key: f"({row}metadata->>'$.{key}')",
    success_flag=lambda row: _sqlite_value(row, SUCCESS_KEY),
)
"""SQLite's JSON functions (``json_type``, ``->>``)."""


def _postgres_value(row: str, key: str) -> str:
    return f"({row}metadata->'{key}')"


POSTGRES_JSON = JsonSQL(
    is_string=lambda row, key: f"jsonb_typeof({_postgres_value(row, key)}) = 'string'",
    boolean=lambda row, key: (
        f"(CASE WHEN jsonb_typeof({_postgres_value(row, key)}) = 'boolean' "
        f"THEN {_postgres_value(row, key)}::text END)"
    ),
    whole_number=lambda row, key: (
        f"(CASE WHEN jsonb_typeof({_postgres_value(row, key)}) = 'number' "
        f"AND {_postgres_value(row, key)}::text ~ '^-?[0-9]+$' "
        f"AND length(ltrim({_postgres_value(row, key)}::text, '-')) <= {MOST_DIGITS} "
        f"THEN ({_postgres_value(row, key)}::text::bigint)::text END)"
    ),
    text=lambda row, key: f"({row}metadata->>'{key}')",
    success_flag=lambda row: f"({row}metadata->'{SUCCESS_KEY}')::text",
)
"""PostgreSQL's ``jsonb`` operators (``->``, ``->>``, ``jsonb_typeof``)."""

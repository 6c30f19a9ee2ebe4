"""Answers over a period of ``created_at``, in SQL both dialects speak: the summary's
groups since a moment, and the outcomes with the failures by error type. Each reads the
period through the ``created_at`` index (``backend.window_table``); a backend supplies its
JSON spelling (``json_text``, ``json_sql``); the outcome rules are ``rules``'."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrator_feedback import rules
from orchestrator_feedback.models import to_utc
from orchestrator_feedback.serialization import parse_timestamp
from orchestrator_feedback.storage.backends.base import StorageBackend

__all__ = [
    "count_around",
    "outcomes",
    "rating_counts_before",
    "rating_counts_since",
    "subtract",
]


def rating_counts_since(
    backend: StorageBackend, connection: Any, since: datetime, task_id: str | None
) -> list[tuple[str, int | None, int]]:
    """``(feedback_type, rating, count)`` groups of the entries created at or after
    ``since`` (of one task, or all), through the ``created_at`` index."""
    return _rating_counts(backend, connection, ">=", since, task_id)


def rating_counts_before(
    backend: StorageBackend, connection: Any, moment: datetime
) -> list[tuple[str, int | None, int]]:
    """``(feedback_type, rating, count)`` groups of the entries created before ``moment``."""
    return _rating_counts(backend, connection, "<", moment, None)


def _rating_counts(
    backend: StorageBackend, connection: Any, side: str, moment: datetime, task_id: str | None
) -> list[tuple[str, int | None, int]]:
    params: list[Any] = [backend.encode_time(to_utc(moment))]
    clause = f"created_at {side} {backend.placeholder}"
    if task_id is not None:
        clause += f" AND task_id = {backend.placeholder}"
        params.append(task_id)
    return list(
        connection.execute(
            f"SELECT feedback_type, rating, COUNT(*) FROM {backend.window_table} "
            f"WHERE {clause} GROUP BY feedback_type, rating",
            params,
        ).fetchall()
    )


def count_around(backend: StorageBackend, connection: Any, moment: datetime) -> tuple[int, int]:
    """How many entries were created before ``moment``, and how many at or after it (from
    the ``created_at`` index alone)."""
    table, mark = backend.window_table, backend.placeholder
    row = connection.execute(
        f"SELECT (SELECT COUNT(*) FROM {table} WHERE created_at < {mark}), "
        f"(SELECT COUNT(*) FROM {table} WHERE created_at >= {mark})",
        (backend.encode_time(to_utc(moment)),) * 2,
    ).fetchone()
    return int(row[0]), int(row[1])


def subtract(
    whole: list[tuple[str, int | None, int]], part: list[tuple[str, int | None, int]]
) -> list[tuple[str, int | None, int]]:
    """``whole``'s groups less ``part``'s (groups left at zero dropped)."""
    counts = {(kind, rating): count for kind, rating, count in whole}
    for kind, rating, count in part:
        counts[kind, rating] = counts.get((kind, rating), 0) - count
    return [(kind, rating, count) for (kind, rating), count in counts.items() if count]


def _outcome_filter(
    backend: StorageBackend, since: datetime, task_type: str | None
) -> tuple[str, list[Any]]:
    clause = f"created_at >= {backend.placeholder}"
    params: list[Any] = [backend.encode_time(to_utc(since))]
    if task_type is not None:
        clause += f" AND {rules.task_type_sql(backend.json_sql)} = {backend.placeholder}"
        params.append(task_type)
    return clause, params


_COMPLETED_WITHOUT_SUCCESS = "success: false"


def _outcome_groups(
    backend: StorageBackend, connection: Any, since: datetime, task_type: str | None
) -> list[tuple[str, int, Any]]:
    """``backend.outcome_groups_since`` read from the entries of the period (one pass
    through the ``created_at`` index, each entry's metadata read once)."""
    clause, params = _outcome_filter(backend, since, task_type)
    group = rules.outcome_group_sql(backend.json_sql, backend.json_text("error_type"))
    rows = connection.execute(
        f"""SELECT outcome, COUNT(*), MAX(created_at) FROM (
                SELECT {group} AS outcome, created_at FROM {backend.window_table}
                WHERE {clause} AND feedback_type IN ('task_completion', 'error_report')
            ) AS grouped WHERE outcome IS NOT NULL GROUP BY outcome""",
        params,
    ).fetchall()
    return [(outcome, int(count), newest) for outcome, count, newest in rows]


def outcomes(
    backend: StorageBackend, connection: Any, since: datetime, task_type: str | None
) -> tuple[int, list[tuple[str, int, Any, str]]]:
    """Successes, and the failures by error type, among the entries created at or after
    ``since`` (of one ``metadata.task_type``, or all), by the outcome rules of
    ``docs/scores.md`` whether or not an entry names its worker: a ``task_completion``
    whose ``metadata.success`` is true or absent succeeded, one whose ``success`` is false
    failed (grouped as ``"success: false"``), and every ``error_report`` failed (grouped by
    ``metadata.error_type``, ``"Unknown"`` without one).

    The failures come as ``(error type, count, newest created_at, newest message)``, most
    first; the message is ``metadata.error_message``, else the entry's content. The groups
    from the backend's rollup where it keeps one (``outcome_groups_since``), else from one
    pass over the period; then one lookup by ``created_at`` per group for its newest
    message.
    """
    groups = backend.outcome_groups_since(connection, since, task_type)
    if groups is None:
        groups = _outcome_groups(backend, connection, since, task_type)
    clause, params = _outcome_filter(backend, since, task_type)
    error_type = f"coalesce({backend.json_text('error_type')}, 'Unknown')"
    flag = backend.json_sql.success_flag("")
    successes = 0
    failed: list[tuple[str, int, Any, str]] = []  # (group, count, newest, condition)
    for group, count, newest in groups:
        if group == rules.SUCCEEDED_GROUP:
            successes += count
        elif group == rules.FAILED_COMPLETION_GROUP:
            condition = f"feedback_type = 'task_completion' AND {flag} = 'false'"
            failed.append((_COMPLETED_WITHOUT_SUCCESS, count, newest, condition))
        else:
            condition = f"feedback_type = 'error_report' AND {error_type} = {backend.placeholder}"
            failed.append((group.removeprefix(rules.ERROR_GROUP_PREFIX), count, newest, condition))
    message = f"coalesce({backend.json_text('error_message')}, content)"
    found = []
    for group, count, newest, condition in failed:
        extra = [] if group == _COMPLETED_WITHOUT_SUCCESS else [group]
        (newest_message,) = connection.execute(
            f"SELECT {message} FROM feedback WHERE created_at = {backend.placeholder} "
            f"AND {clause} AND {condition} ORDER BY id DESC LIMIT 1",
            [newest, *params, *extra],
        ).fetchone()
        found.append((group, count, parse_timestamp(newest), str(newest_message)))
    found.sort(key=lambda each: (-each[1], each[0]))
    return successes, found

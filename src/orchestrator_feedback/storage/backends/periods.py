"""Answers over a period of ``created_at``, in SQL both dialects speak: the summary's
groups since a moment, and the outcomes with the failures by error type. Each reads the
period through the ``created_at`` index (``backend.window_table``); a backend supplies its
JSON spelling (``json_text``) and the outcome rules (``success_sql``, ``failure_sql``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrator_feedback.models import to_utc
from orchestrator_feedback.serialization import parse_timestamp
from orchestrator_feedback.storage.backends.base import StorageBackend

__all__ = ["failure_groups", "outcome_counts", "rating_counts_since"]


def rating_counts_since(
    backend: StorageBackend, connection: Any, since: datetime, task_id: str | None
) -> list[tuple[str, int | None, int]]:
    """``(feedback_type, rating, count)`` groups of the entries created at or after
    ``since`` (of one task, or all), through the ``created_at`` index."""
    params: list[Any] = [backend.encode_time(to_utc(since))]
    clause = f"created_at >= {backend.placeholder}"
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


def _outcome_filter(
    backend: StorageBackend, since: datetime, task_type: str | None
) -> tuple[str, list[Any]]:
    clause = f"created_at >= {backend.placeholder}"
    params: list[Any] = [backend.encode_time(to_utc(since))]
    if task_type is not None:
        clause += f" AND {backend.json_text('task_type')} = {backend.placeholder}"
        params.append(task_type)
    return clause, params


def outcome_counts(
    backend: StorageBackend, connection: Any, since: datetime, task_type: str | None
) -> tuple[int, int]:
    """``(successes, failures)`` among the entries created at or after ``since`` (of
    one ``metadata.task_type``, or all): the outcome rules of ``docs/scores.md``,
    whether or not an entry names its worker."""
    clause, params = _outcome_filter(backend, since, task_type)
    row = connection.execute(
        f"SELECT COUNT(*) FILTER (WHERE {backend.success_sql}), "
        f"COUNT(*) FILTER (WHERE {backend.failure_sql}) FROM {backend.window_table} "
        f"WHERE {clause} AND feedback_type IN ('task_completion', 'error_report')",
        params,
    ).fetchone()
    return int(row[0] or 0), int(row[1] or 0)


def failure_groups(
    backend: StorageBackend, connection: Any, since: datetime, task_type: str | None
) -> list[tuple[str, int, Any, str]]:
    """The failures among the entries created at or after ``since`` (of one
    ``metadata.task_type``, or all), by ``metadata.error_type`` (``"Unknown"`` when an
    error report has none; ``"success: false"`` for completions that failed): ``(error
    type, count, newest created_at, newest message)``, most first. The message is
    ``metadata.error_message``, else the entry's content."""
    clause, params = _outcome_filter(backend, since, task_type)
    kind = (
        f"CASE WHEN feedback_type = 'error_report' "
        f"THEN coalesce({backend.json_text('error_type')}, 'Unknown') "
        "ELSE 'success: false' END"
    )
    message = f"coalesce({backend.json_text('error_message')}, content)"
    rows = connection.execute(
        f"""SELECT error_type, failures, created_at, message FROM (
                SELECT error_type, message, created_at,
                    COUNT(*) OVER (PARTITION BY error_type) AS failures,
                    ROW_NUMBER() OVER (
                        PARTITION BY error_type ORDER BY created_at DESC, id DESC
                    ) AS place
                FROM (
                    SELECT {kind} AS error_type, {message} AS message, created_at, id
                    FROM {backend.window_table} WHERE {clause} AND {backend.failure_sql}
                ) AS failed
            ) AS ranked
            WHERE place = 1 ORDER BY failures DESC, error_type""",
        params,
    ).fetchall()
    return [(str(t), int(n), parse_timestamp(at), str(m)) for t, n, at, m in rows]

"""The limits of a caller's own query (``execute_query``): a row cap and a time limit, with
one refusal message for every backend."""

from __future__ import annotations

from typing import Any

from orchestrator_feedback.errors import QueryRefusedError

__all__ = ["fetch_at_most", "past_time_limit"]


def fetch_at_most(cursor: Any, max_rows: int | None) -> list[Any]:
    """A caller's query's rows; ``QueryRefusedError`` when there are more than ``max_rows``
    (None: no cap). Reads at most one row past the cap."""
    if max_rows is None:
        return list(cursor.fetchall())
    rows = list(cursor.fetchmany(max_rows + 1))
    if len(rows) > max_rows:
        raise QueryRefusedError(
            f"the query returned more than {max_rows:,} rows, the most it may: "
            "narrow it (WHERE, LIMIT) or raise the row cap (--max-rows)"
        )
    return rows


def past_time_limit(time_limit: float | None) -> QueryRefusedError:
    """The refusal of a caller's query stopped at its time limit."""
    return QueryRefusedError(
        f"the query ran longer than its time limit of {time_limit:g} s and was stopped "
        "(raise it with --time-limit)"
    )

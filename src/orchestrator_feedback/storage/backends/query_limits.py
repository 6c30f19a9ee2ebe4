"""The limits of a caller's own query (``execute_query``): a row cap, a time limit and a
bound on the bytes a result may hold, with one refusal message for every backend."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from orchestrator_feedback.errors import QueryRefusedError

__all__ = ["MAX_RESULT_BYTES", "MAX_VALUE_BYTES", "fetch_at_most", "past_time_limit", "too_big"]

MAX_RESULT_BYTES = 256 * 1024 * 1024
"""The most text and blob bytes a caller's query may return, all rows together: past it
the query is stopped, not read on into memory (``export`` streams whole tables)."""

MAX_VALUE_BYTES = 16 * 1024 * 1024
"""The longest text or blob one value of a caller's query may be (SQLite refuses to
build a longer one; every stored value is far shorter)."""


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | bytearray | memoryview) else 8


def too_big() -> QueryRefusedError:
    """The refusal of a caller's query whose result would not fit the memory bound."""
    return QueryRefusedError(
        f"the query's result is larger than {MAX_RESULT_BYTES // 2**20:,} MiB, the most a "
        "query may return: narrow it (fewer columns, WHERE, LIMIT) or use export"
    )


def fetch_at_most(rows: Iterable[Any], max_rows: int | None) -> list[Any]:
    """A caller's query's rows, read one by one from ``rows`` (a cursor, or a stream):
    ``QueryRefusedError`` when there are more than ``max_rows`` (None: no cap) or they hold
    more than ``MAX_RESULT_BYTES``. Reads at most one row past either limit."""
    taken: list[Any] = []
    budget = MAX_RESULT_BYTES
    for row in rows:
        if max_rows is not None and len(taken) == max_rows:
            raise QueryRefusedError(
                f"the query returned more than {max_rows:,} rows, the most it may: "
                "narrow it (WHERE, LIMIT) or raise the row cap (--max-rows)"
            )
        budget -= sum(_size(value) for value in row)
        if budget < 0:
            raise too_big()
        taken.append(row)
    return taken


def past_time_limit(time_limit: float | None) -> QueryRefusedError:
    """The refusal of a caller's query stopped at its time limit."""
    return QueryRefusedError(
        f"the query ran longer than its time limit of {time_limit:g} s and was stopped "
        "(raise it with --time-limit)"
    )

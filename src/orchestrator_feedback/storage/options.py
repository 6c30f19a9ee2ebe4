"""The store's own options, checked where they enter: one line naming the option and what
is allowed."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from orchestrator_feedback.errors import FeedbackValidationError
from orchestrator_feedback.models import FeedbackEntry, text_problem, to_utc

__all__ = [
    "check_connection_options",
    "check_entry",
    "check_exit_timeout",
    "check_id",
    "check_optional_text",
    "check_page",
    "check_time",
    "encode_parameters",
    "is_number",
    "query_limits",
    "writer_options",
]


def check_time(field: str, value: object) -> datetime:
    """A datetime, in UTC (a naive one is local time)."""
    if not isinstance(value, datetime):
        raise FeedbackValidationError(field, value, "must be a datetime")
    return to_utc(value, field)


def check_optional_text(field: str, value: object) -> str | None:
    """A string, or None."""
    if value is not None and not isinstance(value, str):
        raise FeedbackValidationError(field, value, "must be a string or None")
    problem = None if value is None else text_problem(value)
    if problem is not None:
        raise FeedbackValidationError(field, value, problem)
    return value


def is_number(value: object) -> bool:
    """An int or a float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_connection_options(pool_size: object, timeout: object) -> None:
    """``pool_size`` a whole number >= 1, ``timeout`` seconds > 0 (NaN refused)."""
    if type(pool_size) is not int or pool_size < 1:
        raise FeedbackValidationError("pool_size", pool_size, "must be a whole number >= 1")
    if not is_number(timeout) or not timeout > 0:  # type: ignore[operator]  # "not >": NaN
        raise FeedbackValidationError("timeout", timeout, "must be a number of seconds > 0")


def writer_options(
    *, queue_size: object, batch_size: object, batch_window: object, on_full: object
) -> dict[str, Any]:
    """The background writer's options, checked."""
    if not is_number(batch_window) or not 0 <= batch_window < math.inf:  # type: ignore[operator]
        raise FeedbackValidationError(
            "batch_window", batch_window, "must be a finite number of seconds >= 0"
        )
    for name, value in (("queue_size", queue_size), ("batch_size", batch_size)):
        if type(value) is not int or value < 1:
            raise FeedbackValidationError(name, value, "must be a whole number >= 1")
    if on_full not in ("block", "drop"):
        raise FeedbackValidationError("on_full", on_full, "must be block or drop")
    return {
        "queue_size": queue_size,
        "batch_size": batch_size,
        "batch_window": batch_window,
        "on_full": on_full,
    }


def check_exit_timeout(exit_timeout: object) -> None:
    """None, or seconds >= 0."""
    if exit_timeout is not None and (not is_number(exit_timeout) or not exit_timeout >= 0):  # type: ignore[operator]
        raise FeedbackValidationError(
            "exit_timeout", exit_timeout, "must be None or a number of seconds >= 0"
        )


_LARGEST_ROW_COUNT = 2**63 - 1  # SQLite's and PostgreSQL's largest LIMIT


def check_page(limit: object, offset: object) -> None:
    """``limit`` None or 0..2**63 - 1, ``offset`` 0..2**63 - 1."""
    if limit is not None and (type(limit) is not int or not 0 <= limit <= _LARGEST_ROW_COUNT):
        raise FeedbackValidationError(
            "limit", limit, "must be None or a whole number from 0 to 2**63 - 1"
        )
    if type(offset) is not int or not 0 <= offset <= _LARGEST_ROW_COUNT:
        raise FeedbackValidationError(
            "offset", offset, "must be a whole number from 0 to 2**63 - 1"
        )


def check_entry(entry: object) -> FeedbackEntry:
    """``entry`` itself, if it is a ``FeedbackEntry`` (validated when it was made)."""
    if type(entry) is not FeedbackEntry:
        raise FeedbackValidationError("entry", entry, "must be a FeedbackEntry")
    return entry


def check_id(feedback_id: object) -> str:
    """``feedback_id`` itself, if it is a string."""
    if type(feedback_id) is not str:
        raise FeedbackValidationError("id", feedback_id, "must be a string")
    return feedback_id


def query_limits(time_limit: object, max_rows: object) -> dict[str, Any]:
    """``execute_query``'s ``time_limit`` (seconds > 0) and ``max_rows`` (a whole number
    >= 0), checked, as the backend's keyword arguments (unset ones left out)."""
    limits: dict[str, Any] = {}
    if time_limit is not None:
        if not is_number(time_limit) or not time_limit > 0:  # type: ignore[operator]
            raise FeedbackValidationError("time_limit", time_limit, "must be seconds > 0")
        limits["time_limit"] = float(time_limit)  # type: ignore[arg-type]
    if max_rows is not None:
        if type(max_rows) is not int or max_rows < 0:
            raise FeedbackValidationError("max_rows", max_rows, "must be a whole number >= 0")
        limits["max_rows"] = max_rows
    return limits


def encode_parameters(
    encode: Callable[[Any], Any], params: Sequence[Any] | dict[str, Any]
) -> Sequence[Any] | dict[str, Any]:
    """``execute_query``'s parameters, each as ``encode`` (the backend's) turns it."""
    if isinstance(params, dict):
        return {name: encode(value) for name, value in params.items()}
    return [encode(value) for value in params]

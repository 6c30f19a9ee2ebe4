"""The SQL the SQLite backend writes with: inserts of rows (one, or many in padded
multi-row statements), the background writer's insert of a whole JSON group, the update."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from datetime import datetime

from orchestrator_feedback.models import FeedbackEntry
from orchestrator_feedback.serialization import (
    SQLITE_TIMESTAMP_LENGTH,
    EncodedRow,
    entry_to_row,
    entry_to_timed_row,
    format_sqlite_timestamp,
)
from orchestrator_feedback.storage.backends.base import COLUMNS, OnConflict

__all__ = [
    "GROUP_INSERT",
    "MOST_ROWS_PER_GROUP_STATEMENT",
    "MOST_ROWS_PER_STATEMENT",
    "NULL_ROW",
    "ORDER",
    "UPDATE",
    "group_insert_sql",
    "group_spelling",
    "insert_sql",
    "padded_size",
]

_PLACEHOLDERS = ", ".join("?" * 9)
NULL_ROW = [None] * 9
"""The parameters of one padding row, which the padded INSERT leaves out."""
MOST_ROWS_PER_STATEMENT = 2048
"""The most rows one ``insert_sql`` statement holds (fewer where the build allows fewer)."""
_FEWEST_PADDED_ROWS = 8


def padded_size(count: int) -> int:
    """The statement size ``count`` rows are padded up to: a power of two, so that a few
    prepared statements serve every group size (preparing one costs ~2 µs a row)."""
    return max(_FEWEST_PADDED_ROWS, 1 << (count - 1).bit_length())


@functools.lru_cache(maxsize=64)
def insert_sql(on_conflict: OnConflict, count: int) -> str:
    """An INSERT of one row, or of up to ``count`` rows from a VALUES list padded with
    rows of NULLs (which the WHERE leaves out), with the conflict clause."""
    if count == 1:
        sql = f"INSERT INTO feedback ({COLUMNS}) VALUES ({_PLACEHOLDERS})"
    else:
        values = ", ".join([f"({_PLACEHOLDERS})"] * count)
        # The WHERE also settles the parse of INSERT ... SELECT ... ON CONFLICT.
        sql = (
            f"INSERT INTO feedback ({COLUMNS}) SELECT * FROM (VALUES {values}) "
            "WHERE column1 IS NOT NULL"
        )
    if on_conflict is OnConflict.SKIP:
        return f"{sql} ON CONFLICT(id) DO NOTHING"
    if on_conflict is OnConflict.REPLACE:
        return f"{sql} ON CONFLICT(id) DO UPDATE SET " + ", ".join(
            f"{column} = excluded.{column}" for column in COLUMNS.split(", ")[1:]
        )
    return sql


def _timestamp_sql(field: str) -> str:
    """SQL turning orjson's spelling of a UTC datetime (``2026-01-02T03:04:05.678901+00:00``)
    into ours (``2026-01-02 03:04:05.678901``); ours is left as it is. orjson leaves out a
    fraction of zero, so ``group_spelling`` spells whole seconds itself."""
    return f"replace(substr({field}, 1, {SQLITE_TIMESTAMP_LENGTH}), 'T', ' ')"


def group_insert_sql(field: str) -> str:
    """The background writer's INSERT: every row of a JSON array of rows (one parameter),
    reading value ``at`` of a row with ``field.format(at)``."""
    fields = [field.format(at) for at in range(9)]
    selected = fields[:7] + [_timestamp_sql(time) for time in fields[7:]]
    return f"INSERT INTO feedback ({COLUMNS}) SELECT {', '.join(selected)} FROM json_each(?)"


# ``->>`` came with SQLite 3.38; JSON1's json_extract serves before it.
GROUP_INSERT = group_insert_sql(
    "value->>{}" if sqlite3.sqlite_version_info >= (3, 38) else "json_extract(value, '$[{}]')"
)
"""The background writer's INSERT for this SQLite."""
MOST_ROWS_PER_GROUP_STATEMENT = 50_000
"""The most rows one ``GROUP_INSERT`` holds: its JSON text stays a few tens of megabytes."""


def group_spelling(
    protect: Callable[[EncodedRow], EncodedRow] | None,
) -> Callable[[object], object]:
    """orjson's ``default`` for a group: what it cannot write itself, in a form it can.

    An entry becomes its row (timestamps still datetimes, which orjson spells and
    ``GROUP_INSERT`` respells), protected by the privacy policy's ``protect`` if any. A
    timestamp on a whole second (which orjson spells without a fraction) and a datetime
    subclass (freezegun's, say) get our own spelling, which the SQL leaves as it is.
    """

    def spell(value: object) -> object:
        if type(value) is FeedbackEntry:
            if value.created_at.microsecond and value.updated_at.microsecond:
                row = entry_to_timed_row(value)
            else:
                row = entry_to_row(value)
            return row if protect is None else protect(row)
        if isinstance(value, datetime):
            return format_sqlite_timestamp(value)
        raise TypeError(f"cannot store a {type(value).__name__}")

    return spell


UPDATE = (
    "UPDATE feedback SET task_id = ?, feedback_type = ?, content = ?, rating = ?, "
    "user_id = ?, metadata = ?, created_at = ?, updated_at = ? WHERE id = ?"
)
"""Overwrite the entry columns of one id; the parameters are a row with its id last."""
ORDER = " ORDER BY created_at, id"
"""The order every read returns entries in."""

# Without statistics SQLite reads a period through the type index (all of it) when a query
# also names a type; the period's own index reads only the period.
WINDOW_TABLE = "feedback INDEXED BY idx_created_at"
"""The entries table as the queries over a period of ``created_at`` name it."""


def json_text(key: str) -> str:
    """SQL for ``metadata``'s top-level ``key`` as text (NULL when absent)."""
    return f"CAST(metadata->>'$.{key}' AS TEXT)"

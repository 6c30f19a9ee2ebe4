"""PostgreSQL rows in and out: COPY streams, query parameters, rows read by name."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import RowMaker

from orchestrator_feedback.errors import DuplicateFeedbackError, FeedbackError
from orchestrator_feedback.serialization import EncodedRow
from orchestrator_feedback.storage.backends.base import COLUMNS

__all__ = [
    "ROWS_PER_COPY",
    "CopyStream",
    "duplicate_error",
    "hide_password",
    "named_rows",
    "row_params",
]

_DUPLICATE_KEY = re.compile(r"Key \(id\)=\((.*)\) already exists", re.DOTALL)


def duplicate_error(rows: Sequence[EncodedRow], error: psycopg.Error) -> FeedbackError:
    """The error for an insert the id's unique index refused: which id, and where in
    ``rows`` the clashing one stands."""
    match = _DUPLICATE_KEY.search(error.diag.message_detail or "")
    if match is None:
        return FeedbackError(f"the database refused the entry: {error}")
    duplicate = match.group(1)
    positions = [index for index, row in enumerate(rows) if row[0] == duplicate]
    # Twice in the batch: the second one clashes; once: it clashes with the table.
    position = positions[1] if len(positions) > 1 else positions[0] if positions else None
    return DuplicateFeedbackError(duplicate, position=position)


def _timestamp(text: str) -> str:
    return f"{text}+00"


def row_params(row: EncodedRow) -> tuple[Any, ...]:
    """An EncodedRow as query parameters: its UTC text timestamps get their offset."""
    return (*row[:7], _timestamp(row[7]), _timestamp(row[8]))


class _Row(tuple):  # type: ignore[type-arg]
    """A result row readable by position and by column name, like ``sqlite3.Row``."""

    _names: tuple[str, ...] = ()

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self._names.index(key))
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        return list(self._names)


def named_rows(cursor: psycopg.Cursor[Any]) -> RowMaker[_Row]:
    names = tuple(column.name for column in cursor.description or ())
    row_class = type("Row", (_Row,), {"_names": names, "__slots__": ()})
    return row_class  # type: ignore[return-value]


_SECRET_PARAMETER = re.compile(r"(?i)((?:^|&)(?:ssl)?password=)[^&]*")


def hide_password(url: str) -> str:
    """The URL with every password libpq would read from it replaced by ``***``, for
    messages: the one after the user name, and ``password=`` or ``sslpassword=`` among
    the query parameters."""
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed URL: show nothing after the scheme
        return url.partition("://")[0] + "://***"
    user, at, host = parts.netloc.rpartition("@")
    if at and ":" in user:
        user = user.partition(":")[0] + ":***"
    query = _SECRET_PARAMETER.sub(r"\1***", parts.query)
    return urlunsplit(parts._replace(netloc=f"{user}{at}{host}", query=query))


ROWS_PER_COPY = 1_000_000
"""Rows one COPY statement writes at most: each statement's triggers gather its rows (the
commit log's array of ids is capped at 1 GB, about 26,800,000 ids)."""


class CopyStream:
    """One COPY kept open across a bulk load's batches (a new one every ``ROWS_PER_COPY``
    rows).

    The server inserts (and updates six indexes, a GIN one among them) while we parse
    the next batch, instead of waiting at the end of every batch.
    """

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection
        self._context: Any = None
        self._copy: Any = None
        self._copied = 0

    def write(self, rows: Sequence[EncodedRow]) -> None:
        """Send ``rows`` down the COPY, in a new one every ``ROWS_PER_COPY`` rows."""
        for start in range(0, len(rows), ROWS_PER_COPY):
            chunk = rows[start : start + ROWS_PER_COPY]
            if self._copy is None:
                self._context = self._connection.cursor().copy(
                    f"COPY feedback ({COLUMNS}) FROM STDIN"
                )
                self._copy = self._context.__enter__()
                self._copied = 0
            write_row = self._copy.write_row
            for row in chunk:
                write_row(row_params(row))
            self._copied += len(chunk)
            if self._copied >= ROWS_PER_COPY:
                self.finish()

    def finish(self, error: BaseException | None = None) -> None:
        """End the COPY: commit it to the transaction, or (``error``) abandon it."""
        context, self._context, self._copy = self._context, None, None
        if context is not None:
            if error is None:
                context.__exit__(None, None, None)
            else:
                context.__exit__(type(error), error, None)

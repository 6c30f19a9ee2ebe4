"""Choose the backend a database path or URL names."""

from __future__ import annotations

import os
import re
from typing import Any

from orchestrator_feedback.errors import FeedbackError
from orchestrator_feedback.storage.backends.base import StorageBackend
from orchestrator_feedback.storage.backends.sqlite import SQLiteBackend
from orchestrator_feedback.storage.backends.sqlite_files import sqlite_path_from_url

__all__ = ["BUILTIN_SCHEMES", "open_backend", "url_scheme"]

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
BUILTIN_SCHEMES = ("sqlite", "postgresql", "postgres")


def url_scheme(database: str) -> str | None:
    """Return the URL scheme of ``database`` (``"sqlite"``...), or None for a plain path."""
    match = _SCHEME.match(database)
    return match.group(1).lower() if match else None


def open_backend(database: str | os.PathLike[str], **options: Any) -> StorageBackend:
    """Open the backend for a file path, ``:memory:``, or a ``scheme://`` URL."""
    database = os.fspath(database)
    scheme = url_scheme(database)
    if scheme is None or scheme == "sqlite":
        return SQLiteBackend(sqlite_path_from_url(database), **options)
    if scheme in ("postgresql", "postgres"):
        # Imported here: psycopg is an optional extra, and its absence is explained there.
        from orchestrator_feedback.storage.backends.postgres import PostgresBackend

        return PostgresBackend(database, **options)
    raise FeedbackError(
        f"no storage backend for {scheme}:// URLs (built in: file paths, sqlite://, "
        "postgresql://; a plugin can add one with the feedback_backend hook)"
    )

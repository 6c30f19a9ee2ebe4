"""The PostgreSQL schema: numbered migrations, each applied in one transaction."""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

# The columns after the id; the history table keeps versions of the same rows.
_ENTRY_COLUMNS = """                task_id TEXT NOT NULL,
                feedback_type TEXT NOT NULL,
                content TEXT NOT NULL,
                rating INTEGER,
                user_id TEXT,
                metadata JSONB NOT NULL DEFAULT '{}',
                created_at TIMESTAMPTZ NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL,"""

MIGRATIONS: list[tuple[int, tuple[str, ...]]] = [
    (
        1,
        (
            """CREATE TABLE IF NOT EXISTS feedback (
                id TEXT PRIMARY KEY,
"""
            + _ENTRY_COLUMNS
            + """
                CONSTRAINT rating_range CHECK (rating IS NULL OR (rating >= 1 AND rating <= 5))
            )""",
            "CREATE INDEX IF NOT EXISTS idx_task_id ON feedback(task_id)",
            "CREATE INDEX IF NOT EXISTS idx_feedback_type ON feedback(feedback_type)",
            "CREATE INDEX IF NOT EXISTS idx_created_at ON feedback(created_at)",
            "CREATE INDEX IF NOT EXISTS idx_task_type_rating "
            "ON feedback(task_id, feedback_type, rating)",
            "CREATE INDEX IF NOT EXISTS idx_metadata ON feedback USING GIN (metadata)",
        ),
    ),
    (
        2,
        (
            """CREATE TABLE IF NOT EXISTS feedback_history (
                version_id BIGSERIAL PRIMARY KEY,
                id TEXT NOT NULL,
"""
            + _ENTRY_COLUMNS
            + """
                changed_at TIMESTAMPTZ NOT NULL,
                change TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS idx_history_id ON feedback_history(id)",
            "CREATE INDEX IF NOT EXISTS idx_history_user_id ON feedback_history(user_id)",
            "CREATE INDEX IF NOT EXISTS idx_user_id ON feedback(user_id)",
        ),
    ),
]
"""Numbered schema changes, each applied in one transaction under an advisory lock."""

SCHEMA_VERSION = MIGRATIONS[-1][0]

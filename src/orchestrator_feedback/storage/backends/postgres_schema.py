"""The PostgreSQL schema: numbered migrations, each applied in one transaction."""

from __future__ import annotations

from orchestrator_feedback.storage.backends.alert_tables import POSTGRES_CREATE as POSTGRES_ALERTS
from orchestrator_feedback.storage.backends.postgres_decayed import CREATE as DECAYED
from orchestrator_feedback.storage.backends.postgres_follow import CREATE as CREATE_FOLLOW
from orchestrator_feedback.storage.backends.postgres_follow import PARTS, SEPARATE_ORDER
from orchestrator_feedback.storage.backends.postgres_rollups import CREATE as CREATE_ROLLUPS
from orchestrator_feedback.storage.backends.postgres_rollups import (
    OUTCOMES,
    REMOVED,
    RENAME_WORKERS,
    RENEW_FUNCTIONS,
    RESHAPE_SCORES,
)

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
    (
        3,
        (
            # The same indexes as SQLite's schema 4: idx_task_id is a prefix of
            # idx_task_type_rating, and entries without a user need no place in idx_user_id.
            "DROP INDEX IF EXISTS idx_task_id",
            "DROP INDEX IF EXISTS idx_user_id",
            "CREATE INDEX idx_user_id ON feedback(user_id) WHERE user_id IS NOT NULL",
            # A GIN index over all of metadata (tracebacks included) served no query we run;
            # the worker is what people filter and group on.
            "DROP INDEX IF EXISTS idx_metadata",
            "CREATE INDEX idx_worker_id ON feedback ((metadata->>'worker_id')) "
            "WHERE (metadata->>'worker_id') IS NOT NULL",
        ),
    ),
    # Rollups kept by statement triggers, built from the entries stored (postgres_rollups).
    (4, CREATE_ROLLUPS),
    # The scores rollup with the time moments decay needs, and the outcome rules of
    # docs/scores.md.
    (5, RESHAPE_SCORES),
    # The commit log followers read new entries from, in commit order (postgres_follow).
    (6, CREATE_FOLLOW),
    # The rollups' trigger functions compute the same deltas in about half the time.
    (7, RENEW_FUNCTIONS),
    # Commits numbered in feedback_follow_order, not by updating their log row.
    (8, SEPARATE_ORDER),
    # What deletions and updates took away, so that counts of what was created never go
    # down (postgres_rollups, docs/metrics.md).
    (9, REMOVED),
    # Deleting or changing an entry whose worker_id is JSON null failed (a scores row for
    # a null worker): the functions again, with that fixed.
    (10, RENEW_FUNCTIONS),
    # Workers and task types named by the one rule of rules.py (postgres_rollups).
    (11, RENAME_WORKERS),
    # Ratings rate the worker their entry names whatever its type, unless the store is
    # configured otherwise (feedback_rated_types): the functions again, every rollup rebuilt.
    (12, RENAME_WORKERS),
    # Alerts: what was raised, each detector's state, how far detection has read
    # (alert_tables.py).
    (13, POSTGRES_ALERTS),
    # The outcomes rollup, a row a worker and task type (undecayed scores, outcome totals,
    # the lifetime counters), summed from the days; the rollups of answers over a period,
    # types and ratings per hour (get_summary(since=)) and outcome groups per day and task
    # type (failures), built from the entries (postgres_rollups).
    (14, OUTCOMES),
    # The commit log keeps a row per writing statement, numbered at commit in order: one
    # array per commit failed past about 26,800,000 ids (postgres_follow).
    (15, PARTS),
    # Decayed sums per half-life, worker and task type, kept by the fold from the scores
    # rollup's days; none kept until a half-life is asked for (postgres_decayed).
    (16, DECAYED),
]
"""Numbered schema changes, each applied in one transaction under an advisory lock."""

SCHEMA_VERSION = MIGRATIONS[-1][0]

"""What the store answers about many entries: a summary, a worker's stats and scores, a
trend point. Data only; ``storage/analysis.py`` and ``storage/scores.py`` compute them."""

from __future__ import annotations

from datetime import datetime

import attrs

from orchestrator_feedback.models import FeedbackType

__all__ = [
    "Alert",
    "FailureGroup",
    "FailureReport",
    "FeedbackSummary",
    "LifetimeCounts",
    "OutcomeTotals",
    "TrendPoint",
    "WorkerScore",
    "WorkerStats",
]


@attrs.define(frozen=True)
class FeedbackSummary:
    """Statistics over a set of feedback: a task's, or the whole store's."""

    total_count: int
    """How many entries there are."""
    average_rating: float | None
    """The mean of the ratings given; None when no entry is rated."""
    rating_distribution: dict[int, int]
    """How many entries have each rating; all five keys 1..5 are present."""
    feedback_by_type: dict[FeedbackType, int]
    """How many entries there are of each type; every ``FeedbackType`` is present."""


@attrs.frozen
class WorkerStats:
    """How one worker (metadata ``worker_id``) fared across all its feedback."""

    worker_id: str
    count: int
    """Entries that name this worker."""
    average_rating: float | None
    """Mean rating of those entries; None when none is rated."""
    failures: int
    """``ERROR_REPORT`` entries among them."""


@attrs.frozen
class TrendPoint:
    """Feedback in one period: a day, or a week named by its Monday (both ``YYYY-MM-DD``)."""

    period: str
    average_rating: float | None
    count: int
    rated: int = 0
    """How many of the ``count`` entries had a rating (the average's sample size)."""


@attrs.frozen
class WorkerScore:
    """How confidently a worker succeeds: outcome counts (weighted by decay, so floats),
    Wilson score intervals on them, and its ratings (``docs/scores.md`` gives the rules)."""

    worker_id: str
    attempts: float
    """Successes plus failures, each weighted ``0.5 ** (age / half_life)`` (1 without a
    half-life)."""
    successes: float
    """Weighted successes: ``task_completion`` entries whose ``metadata.success`` is true
    or absent."""
    failures: float
    """Weighted failures: ``task_completion`` entries whose ``metadata.success`` is false,
    and every ``error_report``."""
    success_rate: float | None
    """``successes / attempts``; None without attempts."""
    success_lower: float | None
    """The lower end of the Wilson score interval of the success rate."""
    success_upper: float | None
    """The upper end of that interval."""
    ratings: float
    """Weighted count of ratings of this worker: the rated entries that name it, of the
    store's rating types (every type unless configured otherwise)."""
    mean_rating: float | None
    """The weighted mean rating, 1 to 5; None without ratings."""
    rating_lower: float | None
    """The lower end of the mean rating's Wilson interval, on the 1 to 5 scale."""
    rating_upper: float | None
    """The upper end of that interval."""
    mean_execution_time: float | None
    """The weighted mean of numeric ``metadata.execution_time`` (seconds); None without."""
    last_seen: datetime | None
    """When the newest outcome or rating of this worker was created."""


@attrs.frozen
class OutcomeTotals:
    """One worker's outcomes of one task type over every stored entry, unweighted (the
    rules of ``docs/scores.md``); what the Prometheus metrics export."""

    worker_id: str
    task_type: str
    """The task type ("" for outcomes without one)."""
    successes: int
    failures: int
    ratings: int
    rating_sum: int


@attrs.frozen
class LifetimeCounts:
    """What a store ever created and deleted, for counters that never go down: deletions,
    retention and erasure lower what is stored, never these (``docs/metrics.md``). An
    entry counts under the type, rating and outcome it was created with; an update moves
    none of them. Counted from the schema that keeps the ledger on (SQLite 8,
    PostgreSQL 9): what was deleted before is not known."""

    created_by_type: dict[FeedbackType, int]
    """Entries created, per type; every ``FeedbackType`` is present."""
    deleted_by_type: dict[FeedbackType, int]
    """Entries deleted, per type; every ``FeedbackType`` is present."""
    created_by_rating: dict[int, int]
    """Rated entries created, per rating; all five keys 1..5 are present."""
    outcomes: list[OutcomeTotals]
    """Per worker and task type, the outcomes and ratings of every entry created."""


@attrs.frozen
class FailureGroup:
    """The failures of one error type: how many, and the newest one's time and message."""

    error_type: str
    """``metadata.error_type`` of an error report (``"Unknown"`` without one), or
    ``"success: false"`` for task completions that failed."""
    count: int
    newest_at: datetime
    newest_message: str
    """The newest failure's ``metadata.error_message``, else its content."""


@attrs.frozen
class FailureReport:
    """Outcomes over a period, whether or not entries name a worker (the rules of
    ``docs/scores.md``), and the failures by error type, most first."""

    successes: int
    failures: int
    groups: list[FailureGroup]

    @property
    def success_rate(self) -> float | None:
        """Successes over outcomes; None without any."""
        outcomes = self.successes + self.failures
        return self.successes / outcomes if outcomes else None


@attrs.frozen
class Alert:
    """A worker whose outcomes changed: ``kind`` is ``"degraded"`` or ``"recovered"``, of
    ``measure`` (``"success"``: the success rate; ``"rating"``: the mean rating), for one
    ``task_type`` (None: all of the worker's task types). ``since`` is the estimated change
    point (the first outcome of the change); ``before`` and ``after`` are the rate or mean
    before it and since it, each with its 95% interval; ``outcomes`` how many outcomes
    since the change point it rests on; ``statistic`` the CUSUM statistic that crossed
    ``threshold`` (``docs/alerts.md``). ``id`` orders alerts; ``raised_at`` is when the
    store raised it."""

    id: int
    worker_id: str
    task_type: str | None
    kind: str
    measure: str
    since: datetime
    raised_at: datetime
    before: float
    before_interval: tuple[float, float]
    after: float
    after_interval: tuple[float, float]
    outcomes: int
    statistic: float
    threshold: float

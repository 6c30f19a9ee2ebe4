"""A store's answers to the questions people ask of all its feedback: the summary, the
workers, the trends (read from the backend's rollups where it keeps them), and the checks
of those rollups."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator_feedback.errors import FeedbackValidationError, ForeignRowError, describe_value
from orchestrator_feedback.models import TYPE_BY_VALUE, FeedbackType
from orchestrator_feedback.privacy import MAX_RETENTION_DAYS
from orchestrator_feedback.storage.backends import periods
from orchestrator_feedback.storage.options import check_optional_text, check_time
from orchestrator_feedback.storage.transactions import Transactions
from orchestrator_feedback.summaries import (
    FailureGroup,
    FailureReport,
    FeedbackSummary,
    LifetimeCounts,
    OutcomeTotals,
    TrendPoint,
    WorkerStats,
)

__all__ = ["Analysis", "summary_of"]


class Analysis:
    """Answers from one store's backend, through ``transactions``."""

    def __init__(self, transactions: Transactions) -> None:
        self._transactions = transactions
        self._backend = transactions.backend

    def verify_rollups(self) -> list[str]:
        """Each difference between the rollups and a recompute from the entries."""
        backend = self._backend
        return self._transactions.read(lambda connection: backend.verify_rollups(connection))

    def rebuild_rollups(self) -> None:
        """Recompute the rollups from the entries, in one transaction."""
        backend = self._backend
        with self._transactions.transaction():
            backend.rebuild_rollups(self._transactions.connection)

    def summary(self, task_id: str | None, since: datetime | None = None) -> FeedbackSummary:
        """The summary of one task, or of the whole store (``task_id=None``); of the
        entries created at or after ``since`` only, when given."""
        backend = self._backend
        if since is None:
            return summary_of(
                self._transactions.read(
                    lambda connection: backend.rating_counts(connection, task_id)
                )
            )
        start = check_time("since", since)
        if task_id is not None:
            return summary_of(
                self._transactions.read(
                    lambda connection: periods.rating_counts_since(
                        backend, connection, start, task_id
                    )
                )
            )

        def read(connection: Any) -> list[tuple[str, int | None, int]]:
            rolled_up = backend.rating_counts_since(connection, start)
            if rolled_up is not None:
                return rolled_up
            # A period holding most of the store is the whole store (its rollup) less the
            # few entries before it: the shorter of the two reads. The entries before are
            # read first, so an entry committed meanwhile is never taken away uncounted.
            older, newer = periods.count_around(backend, connection, start)
            if older > newer:
                return periods.rating_counts_since(backend, connection, start, None)
            before = periods.rating_counts_before(backend, connection, start)
            return periods.subtract(backend.rating_counts(connection, None), before)

        return summary_of(self._transactions.read(read))

    def failures(self, since: datetime | None, task_type: str | None) -> FailureReport:
        """Outcomes and failures by error type of the entries created at or after
        ``since`` (None: all), of one ``metadata.task_type`` or all."""
        start = datetime(1, 1, 1, tzinfo=UTC) if since is None else check_time("since", since)
        check_optional_text("task_type", task_type)
        backend = self._backend

        def read(connection: Any) -> FailureReport:
            successes, groups = periods.outcomes(backend, connection, start, task_type)
            failures = sum(group[1] for group in groups)
            return FailureReport(successes, failures, [FailureGroup(*g) for g in groups])

        return self._transactions.read(read)

    def worker_stats(self) -> list[WorkerStats]:
        """Per worker (metadata ``worker_id``): count, average rating, failures; best first."""
        backend = self._backend
        rows = self._transactions.read(lambda connection: backend.worker_summary(connection))
        return [WorkerStats(str(w), n, average, failures or 0) for w, n, average, failures in rows]

    def outcome_totals(self) -> list[OutcomeTotals]:
        """Per worker and task type: outcomes and ratings over every entry (the rollup)."""
        backend = self._backend
        rows = self._transactions.read(lambda connection: backend.score_totals(connection))
        return [_outcome_totals(row) for row in rows]

    def lifetime_counts(self) -> LifetimeCounts:
        """What the store ever created and deleted (``LifetimeCounts``)."""
        types, outcomes = self._transactions.read(self._backend.lifetime_counts)
        created = dict.fromkeys(FeedbackType, 0)
        deleted = dict.fromkeys(FeedbackType, 0)
        by_rating = dict.fromkeys(range(1, 6), 0)
        for type_value, rating, made, gone in types:
            feedback_type = _feedback_type(type_value)
            created[feedback_type] += int(made)
            deleted[feedback_type] += int(gone)
            if rating in by_rating:
                by_rating[rating] += int(made)
        return LifetimeCounts(
            created, deleted, by_rating, [_outcome_totals(row) for row in outcomes]
        )

    def newest_created_at(self) -> datetime | None:
        """When the newest entry was created (None in an empty store)."""
        return self._transactions.read(self._backend.newest_created_at)

    def trends(self, days: int = 30, by: str = "day") -> list[TrendPoint]:
        """Average rating and count per day or week over the last ``days`` days."""
        if type(days) is not int or not 1 <= days <= MAX_RETENTION_DAYS:
            raise FeedbackValidationError(
                "days", days, f"must be a whole number from 1 to {MAX_RETENTION_DAYS:,}"
            )
        if by not in ("day", "week"):
            raise FeedbackValidationError("by", by, "must be day or week")
        since = datetime.now(UTC) - timedelta(days=days)
        backend = self._backend
        rows = self._transactions.read(
            lambda connection: backend.rating_trend(connection, since, by)
        )
        return [
            TrendPoint(str(period), average, count, rated) for period, average, count, rated in rows
        ]


def _feedback_type(value: str) -> FeedbackType:
    """The type a stored row names; a row another program wrote with another is refused."""
    feedback_type = TYPE_BY_VALUE.get(value)
    if feedback_type is None:
        raise ForeignRowError(
            f"feedback_type {describe_value(value)}", "not one of the feedback types"
        )
    return feedback_type


def _outcome_totals(row: tuple[str, str, float, float, float, float]) -> OutcomeTotals:
    """An ``OutcomeTotals`` from a backend's row (sums may come back as floats)."""
    worker, task_type, successes, failures, ratings, rating_sum = row
    return OutcomeTotals(
        worker, task_type, int(successes), int(failures), int(ratings), int(rating_sum)
    )


def summary_of(groups: Iterable[tuple[str, int | None, int]]) -> FeedbackSummary:
    """A ``FeedbackSummary`` from ``(feedback_type, rating, count)`` groups: the total, the
    mean rating over rated entries (sum of rating x count / rated count), the rating
    distribution and the count per type."""
    by_type = dict.fromkeys(FeedbackType, 0)
    distribution = dict.fromkeys(range(1, 6), 0)
    total = rated = rating_sum = 0
    for type_value, rating, count in groups:
        total += count
        feedback_type = _feedback_type(type_value)
        by_type[feedback_type] += count
        if rating is not None:
            distribution[rating] += count
            rated += count
            rating_sum += rating * count
    return FeedbackSummary(
        total_count=total,
        average_rating=rating_sum / rated if rated else None,
        rating_distribution=distribution,
        feedback_by_type=by_type,
    )

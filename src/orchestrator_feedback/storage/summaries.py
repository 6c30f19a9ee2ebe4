"""Summaries built from the grouped counts a backend returns."""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator_feedback.models import FeedbackSummary, FeedbackType

__all__ = ["summary_of"]


def summary_of(groups: Iterable[tuple[str, int | None, int]]) -> FeedbackSummary:
    """A ``FeedbackSummary`` from ``(feedback_type, rating, count)`` groups: the total, the
    mean rating over rated entries (sum of rating x count / rated count), the rating
    distribution and the count per type."""
    by_type = dict.fromkeys(FeedbackType, 0)
    distribution = dict.fromkeys(range(1, 6), 0)
    total = rated = rating_sum = 0
    for type_value, rating, count in groups:
        total += count
        by_type[FeedbackType(type_value)] += count
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

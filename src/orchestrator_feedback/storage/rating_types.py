"""A store's rating types (``[scores] rating_types``): the entry types whose rating rates
the worker the entry names (``rules``). The store keeps them in its database, so every
process counts by the same ones; opening it with other ones counts every rating again."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from orchestrator_feedback.errors import FeedbackValidationError
from orchestrator_feedback.models import FeedbackType, to_feedback_type
from orchestrator_feedback.storage.transactions import Transactions

__all__ = ["check_rating_types", "settle_rating_types"]

logger = logging.getLogger("orchestrator_feedback.storage")


def check_rating_types(value: object) -> frozenset[FeedbackType] | None:
    """``value`` (feedback types or their names) as a set; None stays None (keep the
    store's)."""
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise FeedbackValidationError(
            "rating_types", value, "must be a list of feedback types, such as ['task_quality']"
        )
    kinds: set[FeedbackType] = set()
    for item in value:
        try:
            kinds.add(to_feedback_type(item))
        except FeedbackValidationError as error:
            raise FeedbackValidationError("rating_types", item, error.rule) from None
    if not kinds:
        raise FeedbackValidationError(
            "rating_types", value, "must name at least one feedback type, such as ['task_quality']"
        )
    return frozenset(kinds)


def settle_rating_types(
    transactions: Transactions, wanted: frozenset[FeedbackType] | None
) -> frozenset[FeedbackType]:
    """The store's rating types, made ``wanted`` first when it is given and differs (every
    rating counted again by them: the rollups rebuilt, in one transaction)."""
    backend = transactions.backend
    stored = transactions.read(backend.rated_types)
    if wanted is None or wanted == stored:
        return stored
    with transactions.transaction():
        connection = transactions.connection
        if backend.rated_types(connection) != wanted:
            logger.info(
                "counting ratings again by the rating types %s",
                ", ".join(sorted(kind.value for kind in wanted)) or "(none)",
            )
            backend.set_rated_types(connection, wanted)
    return wanted

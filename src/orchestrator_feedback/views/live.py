"""What ``watch`` shows, as data: the newest entries and a rolling table per worker.

The rolling table counts entries by their ``created_at`` over the last ``window``, with the
outcome rules the scores use (``docs/scores.md``): a success is a task completion whose
``metadata.success`` is true or absent, a failure one whose ``success`` is false or any
error report; ratings count from the types that rate a worker.
"""

from __future__ import annotations

import collections
from datetime import datetime, timedelta

import attrs

from orchestrator_feedback import rules
from orchestrator_feedback.models import FeedbackEntry, FeedbackType
from orchestrator_feedback.storage.score_book import outcome_of

__all__ = ["LiveView", "WorkerWindow"]

NO_WORKER = ""
"""The row for entries without ``metadata.worker_id``."""


@attrs.define
class WorkerWindow:
    """One worker's entries over the rolling window."""

    worker: str
    entries: int = 0
    successes: int = 0
    failures: int = 0
    ratings: int = 0
    rating_sum: int = 0

    @property
    def success_rate(self) -> float | None:
        """Successes over outcomes; None without any."""
        outcomes = self.successes + self.failures
        return self.successes / outcomes if outcomes else None

    @property
    def mean_rating(self) -> float | None:
        """The mean of the ratings that rate the worker; None without any."""
        return self.rating_sum / self.ratings if self.ratings else None


class LiveView:
    """The entries followed so far, kept for a live screen: the ``newest`` few, and enough
    (at most ``keep``) to count every worker over the last ``window``."""

    def __init__(
        self,
        window: timedelta,
        newest: int = 12,
        keep: int = 100_000,
        rated_types: frozenset[FeedbackType] = rules.RATED_TYPES,
    ) -> None:
        self.window = window
        self.rated_types = rated_types
        """The store's rating types (``rules.is_rated``)."""
        self.total = 0
        """Entries seen since the view began."""
        self.recent: collections.deque[FeedbackEntry] = collections.deque(maxlen=newest)
        self._kept: collections.deque[FeedbackEntry] = collections.deque(maxlen=keep)

    def add(self, entry: FeedbackEntry) -> None:
        """Take one more followed entry."""
        self.total += 1
        self.recent.appendleft(entry)
        self._kept.append(entry)

    def workers(self, now: datetime) -> list[WorkerWindow]:
        """Per worker, the entries created in the ``window`` up to ``now``; most entries
        first, then by worker."""
        start = now - self.window
        while self._kept and self._kept[0].created_at < start - self.window:
            self._kept.popleft()  # long gone; a few late ones may stay and are skipped below
        rows: dict[str, WorkerWindow] = {}
        for entry in self._kept:
            if entry.created_at < start:
                continue
            worker = rules.worker_of(entry.metadata)
            key = NO_WORKER if worker is None else worker
            row = rows.get(key)
            if row is None:
                row = rows[key] = WorkerWindow(key)
            row.entries += 1
            outcome = outcome_of(entry, self.rated_types)
            if outcome is not None:
                _worker, _task_type, success, failure, rated = outcome
                row.successes += success
                row.failures += failure
                if rated and entry.rating is not None:
                    row.ratings += 1
                    row.rating_sum += entry.rating
        return sorted(rows.values(), key=lambda row: (-row.entries, row.worker))

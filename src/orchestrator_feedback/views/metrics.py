"""Prometheus metrics read from the store at scrape time (extra ``[metrics]``).

``StoreCollector(storage, counters)`` is a ``prometheus_client`` collector: each scrape reads
the rollups (milliseconds at millions of entries) and the manager's ``FeedbackCounters``, so
the figures cover every process writing the store and survive restarts. Register it in your
own registry, mount ``metrics_app(storage, counters)`` (WSGI) in your server, or run
``orchestrator-feedback serve-metrics``. Names follow Prometheus' conventions: the
``orchestrator_feedback_`` prefix, ``_total`` for counters, seconds for times, and no
per-task labels (workers and task types only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from orchestrator_feedback.counters import FeedbackCounters
from orchestrator_feedback.errors import FeedbackError
from orchestrator_feedback.storage import FeedbackStorage
from orchestrator_feedback.storage.scores import Tally, check_confidence, score_of

try:
    from prometheus_client import CollectorRegistry, make_wsgi_app
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
except ImportError as missing:  # pragma: no cover - only without the extra
    raise FeedbackError(
        f"metrics need their extra: pip install 'orchestrator-feedback[metrics]' ({missing})"
    ) from None

__all__ = ["PREFIX", "StoreCollector", "metrics_app", "metrics_registry"]

PREFIX = "orchestrator_feedback"
"""Every metric's name begins with this."""
_Z95 = check_confidence(0.95)


class StoreCollector:
    """Collects the store's metrics at each scrape; ``counters`` (a manager's) adds this
    process's recorded, rejected and dropped entries, subscriber failures and queue depth."""

    def __init__(
        self,
        storage: FeedbackStorage,
        counters: FeedbackCounters | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.storage = storage
        self.counters = counters
        self._clock = clock

    def describe(self) -> list[Metric]:
        """Nothing ahead of a scrape: the store is read only when scraped."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The metrics, read from the store now."""
        summary = self.storage.get_summary()
        entries = CounterMetricFamily(
            f"{PREFIX}_entries", "Feedback entries stored, by type.", labels=["type"]
        )
        for kind, count in summary.feedback_by_type.items():
            entries.add_metric([kind.value], count)
        yield entries
        ratings = CounterMetricFamily(
            f"{PREFIX}_ratings", "Rated entries stored, by rating (1-5).", labels=["rating"]
        )
        for rating, count in summary.rating_distribution.items():
            ratings.add_metric([str(rating)], count)
        yield ratings
        yield from self._outcomes()
        newest = self.storage.newest_created_at()
        if newest is not None:
            age = GaugeMetricFamily(
                f"{PREFIX}_newest_entry_age_seconds",
                "Seconds since the newest entry was created.",
            )
            age.add_metric([], max((self._clock() - newest).total_seconds(), 0.0))
            yield age
        if self.counters is not None:
            yield from self._process_counters(self.counters)

    def _outcomes(self) -> Iterator[Metric]:
        outcomes = CounterMetricFamily(
            f"{PREFIX}_outcomes",
            "Task outcomes by worker, task type and outcome (success, failure; docs/scores.md).",
            labels=["worker", "task_type", "outcome"],
        )
        per_worker: dict[str, Tally] = {}
        for total in self.storage.outcome_totals():
            if total.successes or total.failures:
                labels = [total.worker_id, total.task_type]
                outcomes.add_metric([*labels, "success"], total.successes)
                outcomes.add_metric([*labels, "failure"], total.failures)
            tally = per_worker.setdefault(total.worker_id, Tally())
            tally.successes += total.successes
            tally.failures += total.failures
            tally.ratings += total.ratings
            tally.rating_sum += total.rating_sum
        yield outcomes
        lower = GaugeMetricFamily(
            f"{PREFIX}_worker_success_lower_bound",
            "Lower end of the 95% Wilson interval of each worker's success rate (0-1).",
            labels=["worker"],
        )
        mean = GaugeMetricFamily(
            f"{PREFIX}_worker_mean_rating", "Each worker's mean rating (1-5).", labels=["worker"]
        )
        for worker, tally in sorted(per_worker.items()):
            score = score_of(worker, tally, _Z95)
            if score.success_lower is not None:
                lower.add_metric([worker], score.success_lower)
            if score.mean_rating is not None:
                mean.add_metric([worker], score.mean_rating)
        yield lower
        yield mean

    @staticmethod
    def _process_counters(counters: FeedbackCounters) -> Iterator[Metric]:
        counts = counters.snapshot()
        for name, help_text in (
            ("recorded", "Entries this process's plugin manager recorded."),
            ("rejected", "Entries this process's hooks rejected."),
            ("dropped", "Entries this process dropped (a full background queue)."),
            ("not_stored", "Entries this process's sync hook calls could not store."),
            ("subscriber_failures", "Exceptions raised by this process's subscribers."),
        ):
            family = CounterMetricFamily(f"{PREFIX}_process_{name}", help_text)
            family.add_metric([], counts.get(name, 0))
            yield family
        depth = GaugeMetricFamily(
            f"{PREFIX}_process_queue_depth", "Entries waiting in this process's writer queue."
        )
        depth.add_metric([], counters.queue_depth)
        yield depth


def metrics_registry(
    storage: FeedbackStorage, counters: FeedbackCounters | None = None
) -> CollectorRegistry:
    """A registry holding only a ``StoreCollector`` of ``storage``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(storage, counters))
    return registry


def metrics_app(storage: FeedbackStorage, counters: FeedbackCounters | None = None) -> Any:
    """A WSGI application serving the store's metrics in Prometheus' text format."""
    return make_wsgi_app(metrics_registry(storage, counters))

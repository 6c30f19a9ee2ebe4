"""Prometheus metrics read from the store at scrape time (extra ``[metrics]``).

``StoreCollector(storage, counters)`` is a ``prometheus_client`` collector: each scrape reads
the rollups and the removed ledger (milliseconds at millions of entries) and the manager's
``FeedbackCounters``, so the figures cover every process writing the store and survive
restarts. Counters count what was created (and, apart, deleted) and never go down when
entries are deleted; what is stored now is a gauge. Register it in your
own registry, mount ``metrics_app(storage, counters)`` (WSGI) in your server, or run
``orchestrator-feedback serve-metrics``. Names follow Prometheus' conventions: the
``orchestrator_feedback_`` prefix, ``_total`` for counters, ``_ratio`` for 0-1 values,
seconds since the epoch for times, ``_sum`` and ``_count`` for a mean, and no per-task
labels (workers and task types only).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from orchestrator_feedback.counters import FeedbackCounters
from orchestrator_feedback.errors import FeedbackError
from orchestrator_feedback.models import FeedbackType
from orchestrator_feedback.storage import FeedbackStorage
from orchestrator_feedback.storage.scores import Tally, check_confidence, score_of
from orchestrator_feedback.summaries import OutcomeTotals

try:
    from prometheus_client import CollectorRegistry, make_wsgi_app
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        Metric,
        SummaryMetricFamily,
    )
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

    def __init__(self, storage: FeedbackStorage, counters: FeedbackCounters | None = None) -> None:
        self.storage = storage
        self.counters = counters

    def describe(self) -> list[Metric]:
        """Nothing ahead of a scrape: the store is read only when scraped."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The metrics, read from the store now."""
        lifetime = self.storage.lifetime_counts()
        yield _per_type(
            CounterMetricFamily,
            "entries_created",
            "Feedback entries created, by type (deletions never lower it).",
            lifetime.created_by_type,
        )
        yield _per_type(
            CounterMetricFamily,
            "entries_deleted",
            "Feedback entries deleted (delete, purge, retention, erasure), by type.",
            lifetime.deleted_by_type,
        )
        yield _per_type(
            GaugeMetricFamily,
            "entries",
            "Feedback entries stored now, by type.",
            self.storage.get_summary().feedback_by_type,
        )
        ratings = CounterMetricFamily(
            f"{PREFIX}_ratings", "Rated entries created, by rating (1-5).", labels=["rating"]
        )
        for rating, count in lifetime.created_by_rating.items():
            ratings.add_metric([str(rating)], count)
        yield ratings
        yield from self._outcomes(lifetime.outcomes)
        yield self._success_lower_bounds()
        yield self._open_alerts()
        newest = self.storage.newest_created_at()
        if newest is not None:
            stamp = GaugeMetricFamily(
                f"{PREFIX}_newest_entry_timestamp_seconds",
                "When the newest entry was created, in seconds since the Unix epoch.",
            )
            stamp.add_metric([], newest.timestamp())
            yield stamp
        if self.counters is not None:
            yield from self._process_counters(self.counters)

    @staticmethod
    def _outcomes(totals: list[OutcomeTotals]) -> Iterator[Metric]:
        outcomes = CounterMetricFamily(
            f"{PREFIX}_outcomes",
            "Task outcomes created, by worker, task type and outcome (docs/scores.md).",
            labels=["worker", "task_type", "outcome"],
        )
        ratings = SummaryMetricFamily(
            f"{PREFIX}_worker_rating",
            "Ratings of each worker's entries created (1-5): _sum / _count is the mean.",
            labels=["worker", "task_type"],
        )
        for total in totals:
            labels = [total.worker_id, total.task_type]
            if total.successes or total.failures:
                outcomes.add_metric([*labels, "success"], total.successes)
                outcomes.add_metric([*labels, "failure"], total.failures)
            if total.ratings:
                ratings.add_metric(labels, total.ratings, total.rating_sum)
        yield outcomes
        yield ratings

    def _success_lower_bounds(self) -> Metric:
        lower = GaugeMetricFamily(
            f"{PREFIX}_worker_success_lower_bound_ratio",
            "Lower end of the 95% Wilson interval of each worker's success rate, over the "
            "entries stored (0-1).",
            labels=["worker"],
        )
        per_worker: dict[str, Tally] = {}
        for total in self.storage.outcome_totals():
            tally = per_worker.setdefault(total.worker_id, Tally())
            tally.successes += total.successes
            tally.failures += total.failures
        for worker, tally in sorted(per_worker.items()):
            score = score_of(worker, tally, _Z95)
            if score.success_lower is not None:
                lower.add_metric([worker], score.success_lower)
        return lower

    def _open_alerts(self) -> Metric:
        gauge = GaugeMetricFamily(
            f"{PREFIX}_worker_alert_open",
            "1 for each open alert: a worker's success rate or rating degraded on a task type "
            '("*": all its task types) and not recovered (docs/alerts.md).',
            labels=["worker", "task_type", "measure"],
        )
        for alert in self.storage.alerts(open_only=True):
            task_type = "*" if alert.task_type is None else alert.task_type
            gauge.add_metric([alert.worker_id, task_type, alert.measure], 1)
        return gauge

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


def _per_type(
    family: type[CounterMetricFamily] | type[GaugeMetricFamily],
    name: str,
    help_text: str,
    counts: Mapping[FeedbackType, int],
) -> Metric:
    metric = family(f"{PREFIX}_{name}", help_text, labels=["type"])
    for kind, count in counts.items():
        metric.add_metric([kind.value], count)
    return metric


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

"""``orchestrator-feedback report``: one self-contained HTML page of a period's feedback.

A view, never a second computation: every number comes from the store's own answers (the
same the command line prints): ``get_summary(since=...)`` for the cards, the rating
distribution and the types; ``failures(...)`` for the success rate and the failures by
error type; ``trends(days)`` for the trend; ``worker_scores(...)`` for the leaderboard.
The page is rendered by Jinja2 with autoescaping, its charts are inline SVG
(``charts.py``), and it needs no network, font or script to be read.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import jinja2

from orchestrator_feedback.storage import FeedbackStorage
from orchestrator_feedback.summaries import (
    Alert,
    FailureReport,
    FeedbackSummary,
    TrendPoint,
    WorkerScore,
)
from orchestrator_feedback.views import charts

__all__ = [
    "Report",
    "WorkerTrend",
    "build_report",
    "period_start",
    "render_report",
    "worker_trends",
    "write_report",
]


TREND_SPANS = 6
"""How many equal spans of the period each worker's small trend has."""
CHANGED_MOST = 5
"""How many workers the "changed most" section shows."""


@attrs.frozen
class WorkerTrend:
    """One worker's success rate in each span of the period (None: no outcome then), and how
    much its last span differs from the spans before it (the section's order)."""

    worker_id: str
    rates: list[float | None]
    change: float


def worker_trends(
    storage: FeedbackStorage, since: datetime, until: datetime, task_type: str | None
) -> list[WorkerTrend]:
    """The workers whose success rate in the last span differs most from the spans before
    it, most first: each span read with ``worker_scores(since=..., now=...)``, the store's
    own answer, without decay (a degraded worker shows without ``--half-life``); the rate
    before is those spans' successes over their outcomes."""
    # Whole days (UTC), the last ending tomorrow at midnight and read to the newest entry:
    # the spans read the scores rollup's days alone, no entry.
    span = timedelta(days=max(1, math.ceil((until - since) / timedelta(days=1) / TREND_SPANS)))
    today = until.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = today + timedelta(days=1)
    bounds = [end - span * (TREND_SPANS - n) for n in range(TREND_SPANS + 1)]
    per_span = [
        {
            s.worker_id: s
            for s in storage.worker_scores(
                task_type=task_type, since=a, now=None if b == end else b
            )
        }
        for a, b in itertools.pairwise(bounds)
    ]
    trends = []
    for worker in set().union(*per_span):
        last = per_span[-1].get(worker)
        earlier = [scores[worker] for scores in per_span[:-1] if worker in scores]
        successes = sum(score.successes for score in earlier)
        outcomes = successes + sum(score.failures for score in earlier)
        if last is None or last.success_rate is None or not outcomes:
            continue
        trends.append(
            WorkerTrend(
                worker_id=worker,
                rates=[
                    scores[worker].success_rate if worker in scores else None for scores in per_span
                ],
                change=last.success_rate - successes / outcomes,
            )
        )
    trends.sort(key=lambda trend: (-abs(trend.change), trend.worker_id))
    return [trend for trend in trends if trend.change][:CHANGED_MOST]


@attrs.frozen
class Report:
    """What the page shows, as the store answered it."""

    generated_at: datetime
    since: datetime
    days: int
    task_type: str | None
    half_life: timedelta | None
    summary: FeedbackSummary
    outcomes: FailureReport
    trend: list[TrendPoint]
    workers: list[WorkerScore]
    newest_at: datetime | None
    changed: list[WorkerTrend] = attrs.field(factory=list)
    """The workers that changed most (``worker_trends``)."""
    alerts: list[Alert] = attrs.field(factory=list)
    """The alerts open now or raised in the period, newest first (``docs/alerts.md``)."""
    open_alerts: frozenset[int] = frozenset()
    """The ids of the open ones."""


def period_start(now: datetime, days: int) -> datetime:
    """Where a report of the last ``days`` days at ``now`` starts: the UTC midnight ``days``
    days before, so that every count is read from the rollups' whole hours and days, none
    from the entries of a partial first day."""
    return (now.astimezone(UTC) - timedelta(days=days)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )


def build_report(
    storage: FeedbackStorage,
    *,
    days: int = 30,
    task_type: str | None = None,
    half_life: timedelta | None = None,
) -> Report:
    """Ask the store for the last ``days`` days; ``task_type`` narrows the outcomes, the
    failures and the leaderboard (the entries' counts, ratings and trend cover every type);
    ``half_life`` decays the leaderboard's scores (docs/scores.md)."""
    trend = storage.trends(days=days)  # checks ``days`` before the other reads
    now = datetime.now(UTC)
    since = period_start(now, days)
    return Report(
        generated_at=now,
        since=since,
        days=days,
        task_type=task_type,
        half_life=half_life,
        summary=storage.get_summary(since=since),
        outcomes=storage.failures(since=since, task_type=task_type),
        trend=trend,
        workers=storage.worker_scores(task_type=task_type, since=since, half_life=half_life),
        newest_at=storage.newest_created_at(),
        changed=worker_trends(storage, now - timedelta(days=days), now, task_type),
        **_alerts(storage, since),
    )


def _alerts(storage: FeedbackStorage, since: datetime) -> dict[str, Any]:
    opened = storage.alerts(open_only=True)
    recent = storage.alerts(since=since, limit=200)
    shown = {alert.id: alert for alert in [*opened, *recent]}
    return {
        "alerts": sorted(shown.values(), key=lambda alert: alert.id, reverse=True),
        "open_alerts": frozenset(alert.id for alert in opened),
    }


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Jinja's own cache of compiled templates, in its default folder (a private one of
    this user's in the system's temporary folder): compiling the report's template took
    about 100 ms of every ``report``; a template that changed is compiled again. A
    template it cannot keep (a full disk) is compiled again next time, never failing the
    report."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Keep the compiled template if the folder takes it."""
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _compiled_templates() -> jinja2.BytecodeCache | None:
    try:
        return _CompiledTemplates()
    except (OSError, RuntimeError):  # no private temporary folder: compile every time
        return None


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("orchestrator_feedback.views", "templates"),
        bytecode_cache=_compiled_templates(),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["percent"] = lambda value, places=1: (
        "–" if value is None else f"{value:.{places}%}"
    )
    environment.filters["number"] = lambda value, places=0: (
        "–" if value is None else f"{value:,.{places}f}"
    )
    return environment


def _half_life_text(half_life: timedelta | None) -> str:
    if half_life is None:
        return "no decay"
    days = half_life.total_seconds() / 86_400
    return f"half-life {days:g} days"


def render_report(report: Report) -> str:
    """The page, as one HTML string."""
    first: date = report.since.date()
    last: date = report.generated_at.date()
    summary = report.summary
    rated = sum(summary.rating_distribution.values())
    failures = report.outcomes.failures
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            first=first,
            last=last,
            half_life=_half_life_text(report.half_life),
            rated=rated,
            types=[
                (kind.value, count, count / summary.total_count if summary.total_count else None)
                for kind, count in summary.feedback_by_type.items()
                if count
            ],
            trend=charts.trend_chart(report.trend, first, last),
            sparklines=[charts.sparkline(trend.rates) for trend in report.changed],
            leaderboard=charts.interval_chart(report.workers[:40]),
            failure_bars=charts.bar_chart(
                [
                    (
                        group.error_type,
                        group.count,
                        f"{group.count:,} ({group.count / failures:.0%})",
                    )
                    for group in report.outcomes.groups[:15]
                ]
            ),
            rating_bars=charts.bar_chart(
                [
                    (f"{'★' * value} {value}", count, f"{count:,}")
                    for value, count in sorted(summary.rating_distribution.items(), reverse=True)
                ],
                left=110,
            ),
        )
    )


def write_report(
    storage: FeedbackStorage,
    path: str | Path,
    *,
    days: int = 30,
    task_type: str | None = None,
    half_life: timedelta | None = None,
) -> int:
    """Write the page for the last ``days`` days to ``path``; return its size in bytes."""
    page = render_report(
        build_report(storage, days=days, task_type=task_type, half_life=half_life)
    ).encode("utf-8")
    Path(path).write_bytes(page)
    return len(page)

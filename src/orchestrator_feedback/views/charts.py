"""The report's charts as geometry: where each bar, point, band and tick goes, in SVG user
units. The SVG itself is written by the report's template (``templates/report.html.j2``),
so every label is escaped by Jinja2's autoescaping; this module only does arithmetic.

Our own module rather than a charting library: four small chart kinds, no JavaScript, no
fonts or files to embed, and the page must open without network access.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta

import attrs

from orchestrator_feedback.storage.scores import check_confidence, rating_interval
from orchestrator_feedback.summaries import TrendPoint, WorkerScore

__all__ = [
    "BarChart",
    "IntervalChart",
    "TrendChart",
    "bar_chart",
    "interval_chart",
    "nice_ceiling",
    "trend_chart",
]

Z_95 = check_confidence(0.95)
"""The normal quantile for a two-sided 95% interval."""


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten that is at least ``value``
    (at least 1): an axis maximum people read easily."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


@attrs.frozen
class Tick:
    """An axis tick: where (``at``, in user units along its axis) and its label."""

    at: float
    label: str


@attrs.frozen
class TrendDay:
    """One day of the trend chart."""

    day: str
    count: int
    average: float | None
    lower: float | None
    upper: float | None
    bar_x: float
    bar_y: float
    bar_height: float
    point_y: float | None


@attrs.frozen
class TrendChart:
    """Entries per day as bars (left axis), the average rating as a line with its 95%
    band (right axis, 1 to 5)."""

    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    bar_width: float
    days: list[TrendDay]
    count_ticks: list[Tick]
    rating_ticks: list[Tick]
    day_ticks: list[Tick]
    lines: list[str]
    """SVG path data of the average, one per run of days with ratings."""
    bands: list[str]
    """SVG polygon points of the band, one per run of days with ratings."""


def _rating_interval(point: TrendPoint) -> tuple[float | None, float | None]:
    """The 95% interval of a day's mean rating, as ``WorkerScore``'s (docs/scores.md)."""
    if point.average_rating is None:
        return None, None
    return rating_interval(point.average_rating, point.rated, Z_95)


def trend_chart(
    points: Sequence[TrendPoint], first: date, last: date, width: float = 880
) -> TrendChart:
    """The chart for every day from ``first`` to ``last`` (days without entries at 0)."""
    height, left, right, top, bottom = 260.0, 56.0, 48.0, 16.0, 44.0
    by_day = {point.period: point for point in points}
    count_days = (last - first).days + 1
    plot_width = width - left - right
    plot_height = height - top - bottom
    step = plot_width / max(count_days, 1)
    bar_width = max(step * 0.8, 0.5)
    largest = nice_ceiling(max((p.count for p in points), default=0))

    def rating_y(value: float) -> float:
        return top + plot_height * (5 - value) / 4

    days: list[TrendDay] = []
    for n in range(count_days):
        day = (first + timedelta(days=n)).isoformat()
        point = by_day.get(day, TrendPoint(day, None, 0, 0))
        low, high = _rating_interval(point)
        bar_height = plot_height * point.count / largest
        days.append(
            TrendDay(
                day=day,
                count=point.count,
                average=point.average_rating,
                lower=low,
                upper=high,
                bar_x=left + n * step + (step - bar_width) / 2,
                bar_y=top + plot_height - bar_height,
                bar_height=bar_height,
                point_y=None if point.average_rating is None else rating_y(point.average_rating),
            )
        )
    lines: list[str] = []
    bands: list[str] = []
    run: list[TrendDay] = []
    for shown in [*days, None]:
        if shown is not None and shown.point_y is not None:
            run.append(shown)
            continue
        if run:
            centres = [(d.bar_x + bar_width / 2, d) for d in run]
            lines.append(
                " ".join(
                    f"{'M' if i == 0 else 'L'}{x:.1f},{d.point_y:.1f}"
                    for i, (x, d) in enumerate(centres)
                )
            )
            if len(run) == 1:  # a day alone: a band as wide as its bar
                (x, d), half = centres[0], bar_width / 2
                centres = [(x - half, d), (x + half, d)]
            upper = [f"{x:.1f},{rating_y(d.upper or 5):.1f}" for x, d in centres]
            lower = [f"{x:.1f},{rating_y(d.lower or 1):.1f}" for x, d in reversed(centres)]
            bands.append(" ".join([*upper, *lower]))
            run = []
    every = max(1, math.ceil(count_days / 8))
    return TrendChart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        bar_width=bar_width,
        days=days,
        # Whole counts only, each at its own height: a small or empty store gets 0 and 1,
        # not 0, 0, 0, 1, 1.
        count_ticks=[
            Tick(top + plot_height * (1 - value / largest), f"{value:,}")
            for value in sorted({round(largest * share) for share in (0, 0.25, 0.5, 0.75, 1)})
        ],
        rating_ticks=[Tick(rating_y(value), str(value)) for value in (1, 2, 3, 4, 5)],
        day_ticks=[
            Tick(days[n].bar_x + bar_width / 2, days[n].day[5:])
            for n in range(0, count_days, every)
        ],
        lines=lines,
        bands=bands,
    )


@attrs.frozen
class IntervalRow:
    """One worker's success rate and its 95% interval, drawn as a bar with a point."""

    label: str
    y: float
    rate: float | None
    x_rate: float | None
    x_lower: float
    x_upper: float


@attrs.frozen
class IntervalChart:
    """Workers' success intervals on a 0-100% axis, best lower bound first."""

    width: float
    height: float
    left: float
    right: float
    top: float
    row_height: float
    rows: list[IntervalRow]
    ticks: list[Tick]


def interval_chart(scores: Sequence[WorkerScore], width: float = 880) -> IntervalChart:
    """The chart for ``scores`` (those with outcomes), in the order given."""
    left, right, top, row_height = 180.0, 24.0, 24.0, 18.0
    plot = width - left - right
    shown = [score for score in scores if score.success_lower is not None]

    def x(share: float) -> float:
        return left + plot * share

    rows = [
        IntervalRow(
            label=score.worker_id,
            y=top + n * row_height,
            rate=score.success_rate,
            x_rate=None if score.success_rate is None else x(score.success_rate),
            x_lower=x(score.success_lower or 0.0),
            x_upper=x(score.success_upper if score.success_upper is not None else 1.0),
        )
        for n, score in enumerate(shown)
    ]
    return IntervalChart(
        width=width,
        height=top + row_height * len(rows) + 28,
        left=left,
        right=right,
        top=top,
        row_height=row_height,
        rows=rows,
        ticks=[Tick(x(share), f"{share:.0%}") for share in (0, 0.25, 0.5, 0.75, 1)],
    )


@attrs.frozen
class Bar:
    """One labelled bar of a bar chart."""

    label: str
    value: float
    text: str
    x: float
    y: float
    length: float


@attrs.frozen
class BarChart:
    """Horizontal bars, one per label, scaled to the largest value."""

    width: float
    height: float
    left: float
    top: float
    row_height: float
    bars: list[Bar]


def bar_chart(
    items: Sequence[tuple[str, float, str]], width: float = 880, left: float = 180
) -> BarChart:
    """Bars for ``(label, value, text shown after the bar)`` items, in the order given."""
    top, row_height, right = 8.0, 22.0, 120.0
    largest = max((value for _label, value, _text in items), default=0) or 1
    plot = width - left - right
    bars = [
        Bar(label, value, text, left, top + n * row_height, plot * value / largest)
        for n, (label, value, text) in enumerate(items)
    ]
    # 28 below the bars for the axis caption
    return BarChart(width, top + row_height * len(bars) + 28, left, top, row_height, bars)


@attrs.frozen
class Sparkline:
    """A small line of values from 0 to 1 (success rates), one point per span; spans
    without a value break the line."""

    width: float
    height: float
    paths: list[str]
    points: list[tuple[float, float]]


def sparkline(values: Sequence[float | None], width: float = 160, height: float = 28) -> Sparkline:
    """The line of ``values`` (each 0-1, None for a gap) across ``width``, 1 at the top."""
    pad = 3.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    paths: list[str] = []
    points: list[tuple[float, float]] = []
    run: list[str] = []
    for n, value in enumerate(values):
        if value is None:
            if run:
                paths.append("M" + " L".join(run))
            run = []
            continue
        x, y = pad + n * step, pad + (height - 2 * pad) * (1 - value)
        points.append((x, y))
        run.append(f"{x:.1f},{y:.1f}")
    if run:
        paths.append("M" + " L".join(run))
    return Sparkline(width, height, paths, points)

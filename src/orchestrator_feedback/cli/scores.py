"""Commands that rank workers: ``workers`` (scores with their intervals) and ``recommend``
(the advice ``allocation_advice`` gives)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import click

from orchestrator_feedback.cli.common import Settings, fails_cleanly, parse_age, parse_when
from orchestrator_feedback.cli.output import default_format, format_option, print_rows
from orchestrator_feedback.storage.ranking import OBJECTIVES, POLICIES
from orchestrator_feedback.summaries import WorkerScore

pass_settings = click.make_pass_decorator(Settings)

_COLUMNS = (
    "worker_id",
    "attempts",
    "successes",
    "failures",
    "success_rate",
    "success_lower",
    "success_upper",
    "ratings",
    "mean_rating",
    "rating_lower",
    "rating_upper",
    "mean_execution_time",
    "last_seen",
)
_TABLE_COLUMNS = (
    "worker",
    "attempts",
    "success rate (interval)",
    "rating (interval)",
    "mean time",
    "last seen",
)


def _interval(value: float | None, low: float | None, high: float | None, percent: bool) -> str:
    if value is None or low is None or high is None:
        return "-"
    if percent:
        return f"{value:.1%} ({low:.1%}-{high:.1%})"
    return f"{value:.2f} ({low:.2f}-{high:.2f})"


def _table_row(score: WorkerScore) -> tuple[str, ...]:
    seen = score.last_seen
    return (
        score.worker_id,
        f"{score.attempts:,.1f}" if score.attempts % 1 else f"{score.attempts:,.0f}",
        _interval(score.success_rate, score.success_lower, score.success_upper, True),
        _interval(score.mean_rating, score.rating_lower, score.rating_upper, False),
        "-" if score.mean_execution_time is None else f"{score.mean_execution_time:.2f} s",
        "-" if seen is None else seen.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _record(score: WorkerScore) -> tuple[Any, ...]:
    values = [getattr(score, name) for name in _COLUMNS]
    values[-1] = None if score.last_seen is None else score.last_seen.isoformat()
    return tuple(values)


def _nothing_known(worker: str) -> WorkerScore:
    """A worker named by entries none of which is an outcome or a rating of it."""
    return WorkerScore(worker, 0.0, 0.0, 0.0, None, None, None, 0.0, None, None, None, None, None)


def _scope_options(command: Any) -> Any:
    command = click.option(
        "--half-life",
        metavar="AGE",
        help="Outcomes weigh half as much per AGE, such as 7d (default: all weigh 1).",
    )(command)
    return click.option("--task-type", help="Only outcomes of this metadata task_type.")(command)


@click.command(epilog="Example: orchestrator-feedback workers --half-life 7d --task-type build")
@_scope_options
@click.option("--since", metavar="WHEN", help="Only outcomes since WHEN: 2026-01-31, or 7d.")
@click.option(
    "--confidence",
    type=float,
    default=0.95,
    show_default=True,
    help="The intervals' confidence, between 0 and 1.",
)
@format_option()
@pass_settings
@fails_cleanly
def workers(
    settings: Settings,
    half_life: str | None,
    task_type: str | None,
    since: str | None,
    confidence: float,
    output_format: str | None,
) -> None:
    """Rank workers by the lower bound of their success rate (Wilson interval), then of
    their rating: attempts, success rate and rating with intervals, mean time, last seen.
    Without --task-type and --since, every worker an entry names is listed: the ones with
    no outcome or rating last, with nothing known."""
    with settings.storage() as storage:
        scores = storage.worker_scores(
            task_type=task_type,
            since=None if since is None else parse_when(since),
            half_life=None if half_life is None else parse_age(half_life),
            confidence=confidence,
        )
        if task_type is None and since is None:
            scored = {score.worker_id for score in scores}
            scores += [
                _nothing_known(stats.worker_id)
                for stats in sorted(storage.worker_stats(), key=lambda stats: stats.worker_id)
                if stats.worker_id not in scored
            ]
    output_format = default_format(output_format)
    if output_format == "table":
        print_rows(
            _TABLE_COLUMNS,
            [_table_row(s) for s in scores],
            "table",
            title="Workers, best first (by the success rate's lower bound)",
        )
    else:
        print_rows(_COLUMNS, [_record(s) for s in scores], output_format)


@click.command(epilog="Example: orchestrator-feedback recommend w1 w2 w3 --task-type build")
@click.argument("candidates", nargs=-1, required=True)
@_scope_options
@click.option(
    "--policy",
    type=click.Choice(POLICIES),
    default="thompson",
    show_default=True,
    help="How to rank: Thompson draws (explores), the success rate's lower bound, or the mean.",
)
@click.option(
    "--objective",
    type=click.Choice(OBJECTIVES),
    default="time",
    show_default=True,
    help="What to rank by: the expected time to a successful result, the success rate, "
    "or the rating of successful results.",
)
@click.option("--seed", type=int, help="Seed the draws (the same seed, the same order).")
@format_option()
@pass_settings
@fails_cleanly
def recommend(
    settings: Settings,
    candidates: Sequence[str],
    half_life: str | None,
    task_type: str | None,
    policy: str,
    objective: str,
    seed: int | None,
    output_format: str | None,
) -> None:
    """Rank CANDIDATES (worker ids) best first, as allocation advice would, with each
    one's score."""
    age = None if half_life is None else parse_age(half_life)
    now = datetime.now().astimezone()
    with settings.storage() as storage:
        ranking = storage.recommend(
            candidates,
            task_type=task_type,
            policy=policy,
            objective=objective,
            half_life=age,
            now=now,
            rng=random.Random(seed),
        )
        scores = {
            s.worker_id: s
            for s in storage.worker_scores(task_type=task_type, half_life=age, now=now)
        }
    output_format = default_format(output_format)
    if output_format == "table":
        rows = [
            (str(place), *(_table_row(scores[w]) if w in scores else (w, "0", "-", "-", "-", "-")))
            for place, w in enumerate(ranking, 1)
        ]
        title = f"Ranked by {objective} ({policy})"
        print_rows(("rank", *_TABLE_COLUMNS), rows, "table", title=title)
    else:
        records = [
            (place, *(_record(scores[w]) if w in scores else (w, *[None] * (len(_COLUMNS) - 1))))
            for place, w in enumerate(ranking, 1)
        ]
        print_rows(("rank", *_COLUMNS), records, output_format)


COMMANDS = [workers, recommend]

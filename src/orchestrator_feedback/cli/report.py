"""``report``: a period's feedback as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrator_feedback.cli.common import Settings, WholeRange, fails_cleanly, parse_age
from orchestrator_feedback.privacy import MAX_RETENTION_DAYS

pass_settings = click.make_pass_decorator(Settings)


@click.command(epilog="Example: orchestrator-feedback report -o report.html --days 30")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The HTML file to write.",
)
@click.option(
    "--days",
    default=30,
    show_default=True,
    type=WholeRange(1, MAX_RETENTION_DAYS),
    help="The period: the last N days.",
)
@click.option("--task-type", help="Outcomes, failures and workers of this metadata.task_type only.")
@click.option(
    "--half-life",
    metavar="AGE",
    help="Decay the workers' scores with this half-life (7d, 12h); default: no decay.",
)
@pass_settings
@fails_cleanly
def report(
    settings: Settings, output: Path, days: int, task_type: str | None, half_life: str | None
) -> None:
    """Write one HTML page (no network, fonts or scripts needed to open it): summary cards,
    the trend per day, the worker leaderboard with intervals, failures by error type, the
    rating distribution and the entries per type. The numbers are the store's own, as
    stats, trends, workers and failures print them."""
    from orchestrator_feedback.views.report import write_report

    decay = None if half_life is None else parse_age(half_life)
    with settings.storage() as storage:
        size = write_report(storage, output, days=days, task_type=task_type, half_life=decay)
    click.echo(f"wrote {output} ({size:,} bytes)", err=True)


COMMANDS = [report]

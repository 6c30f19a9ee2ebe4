"""Commands that summarise: stats, trends, query, and the rollups behind them."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from orchestrator_feedback.cli.common import Settings, fails_cleanly
from orchestrator_feedback.cli.output import default_format, format_option, print_rows, visible
from orchestrator_feedback.errors import FeedbackError
from orchestrator_feedback.privacy import MAX_RETENTION_DAYS

pass_settings = click.make_pass_decorator(Settings)
BAR_WIDTH = 40


def _bar(value: float, largest: float) -> str:
    return "█" * (round(BAR_WIDTH * value / largest) if largest else 0)


def _average(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


@click.command(epilog="Example: orchestrator-feedback stats --task task-123")
@click.option("--task", "task_id", help="Summarise one task (default: the whole store).")
@format_option(("table", "json"))
@pass_settings
@fails_cleanly
def stats(settings: Settings, task_id: str | None, output_format: str | None) -> None:
    """The summary (count, average, counts by type) and the rating distribution as a chart."""
    with settings.storage() as storage:
        summary = storage.get_summary(task_id)
    if default_format(output_format) == "json":
        import json

        data = {
            "task_id": task_id,
            "total_count": summary.total_count,
            "average_rating": summary.average_rating,
            "rating_distribution": {str(k): v for k, v in summary.rating_distribution.items()},
            "feedback_by_type": {t.value: n for t, n in summary.feedback_by_type.items()},
        }
        click.echo(json.dumps(data, indent=2))
        return
    console = Console(highlight=False)
    scope = f"task {task_id}" if task_id else "all feedback"
    console.print(
        f"[bold]{scope}[/bold]: {summary.total_count} entries, "
        f"average rating {_average(summary.average_rating)}"
    )
    types = Table(title="By type")
    types.add_column("type")
    types.add_column("count", justify="right")
    for feedback_type, count in summary.feedback_by_type.items():
        if count:
            types.add_row(feedback_type.value, str(count))
    console.print(types)
    largest = max(summary.rating_distribution.values())
    console.print("[bold]Rating distribution[/bold]")
    for rating in range(5, 0, -1):
        count = summary.rating_distribution[rating]
        console.print(
            f"  {rating} {'★' * rating:<5} {count:>7}  [cyan]{_bar(count, largest)}[/cyan]"
        )


@click.group(epilog="Example: orchestrator-feedback rollups verify")
def rollups() -> None:
    """Check or rebuild the rollups behind stats, workers and trends."""


@rollups.command(name="verify")
@pass_settings
@fails_cleanly
def verify_rollups(settings: Settings) -> None:
    """Recompute the rollups from the entries; print each difference (exit 1 if any)."""
    with settings.storage() as storage:
        differences = storage.verify_rollups()
    for line in differences:
        click.echo(visible(line))
    if differences:
        click.echo(
            f"{len(differences)} differences: run `orchestrator-feedback rollups rebuild`",
            err=True,
        )
        sys.exit(1)
    click.echo("rollups agree with the entries")


@rollups.command(name="rebuild")
@pass_settings
@fails_cleanly
def rebuild_rollups(settings: Settings) -> None:
    """Recompute the rollups from the entries, in one transaction."""
    with settings.storage() as storage:
        storage.rebuild_rollups()
    click.echo("rollups rebuilt from the entries")


@click.command(epilog="Example: orchestrator-feedback trends --days 90 --by week")
@click.option(
    "--days", type=click.IntRange(min=1, max=MAX_RETENTION_DAYS), default=30, show_default=True
)
@click.option("--by", type=click.Choice(("day", "week")), default="day", show_default=True)
@format_option()
@pass_settings
@fails_cleanly
def trends(settings: Settings, days: int, by: str, output_format: str | None) -> None:
    """Average rating and count per period, as a table and a chart."""
    with settings.storage() as storage:
        points = storage.trends(days=days, by=by)
    output_format = default_format(output_format)
    if output_format != "table":
        print_rows(
            ("period", "average_rating", "count"),
            [(p.period, p.average_rating, p.count) for p in points],
            output_format,
        )
        return
    table = Table(title=f"Last {days} days, by {by}")
    for column in ("period", "avg rating", "count", ""):
        table.add_column(column, justify="right" if column in ("avg rating", "count") else "left")
    largest = max((p.count for p in points), default=0)
    for point in points:
        table.add_row(
            point.period,
            _average(point.average_rating),
            str(point.count),
            f"[cyan]{_bar(point.count, largest)}[/cyan]",
        )
    Console(highlight=False).print(table)


@click.command(
    epilog='Example: orchestrator-feedback query "SELECT task_id, AVG(rating) FROM feedback '
    'WHERE feedback_type = ? GROUP BY task_id" --param task_quality'
)
@click.argument("sql")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="VALUE",
    help="A ? parameter (repeatable, in order).",
)
@click.option("--write", is_flag=True, help="Allow statements that change the database.")
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.001, max=86_400),
    default=5.0,
    show_default=True,
    help="Stop the statement after this many seconds.",
)
@click.option(
    "--max-rows",
    type=click.IntRange(min=0, max=100_000_000),
    default=100_000,
    show_default=True,
    help="Refuse a result with more rows (use export for whole tables).",
)
@format_option()
@pass_settings
@fails_cleanly
def query(
    settings: Settings,
    sql: str,
    params: tuple[str, ...],
    write: bool,
    time_limit: float,
    max_rows: int,
    output_format: str | None,
) -> None:
    """Run one SQL statement; read-only unless --write is given.

    Read-only queries run on a read-only connection that allows reading only, as Datasette
    runs them; no statement may open or end a transaction, attach a file or change a
    connection setting.
    """
    with settings.storage() as storage:
        failures: tuple[type[Exception], ...] = (
            ValueError,
            TypeError,
            *storage.backend.database_errors,
        )
        try:
            rows = storage.execute_query(
                sql, list(params), read_only=not write, time_limit=time_limit, max_rows=max_rows
            )
        except FeedbackError:
            raise
        except failures as error:
            raise FeedbackError(f"the query failed: {error}") from None
    columns = list(rows[0].keys()) if rows else []
    if not rows and default_format(output_format) == "table":
        print("(no rows)", file=sys.stderr)
        return
    print_rows(columns, [tuple(row) for row in rows], default_format(output_format))


COMMANDS = [stats, trends, query, rollups]

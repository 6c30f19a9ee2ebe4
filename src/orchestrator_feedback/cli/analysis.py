"""Commands that summarise: stats, failures, trends, query, and the rollups behind them."""

from __future__ import annotations

import sys

import click

from orchestrator_feedback.cli.common import (
    NumberRange,
    Settings,
    WholeRange,
    fails_cleanly,
    parse_when,
)
from orchestrator_feedback.cli.output import (
    data_text,
    default_format,
    format_option,
    print_rows,
    visible,
)
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
@click.option(
    "--since",
    metavar="WHEN",
    help="Only entries created since then: an age (30d, 12h) or an ISO date or time.",
)
@format_option()
@pass_settings
@fails_cleanly
def stats(
    settings: Settings, task_id: str | None, since: str | None, output_format: str | None
) -> None:
    """The summary (count, average, counts by type) and the rating distribution as a chart."""
    start = None if since is None else parse_when(since)
    with settings.storage() as storage:
        summary = storage.get_summary(task_id, since=start)
    output_format = default_format(output_format)
    if output_format in ("json", "jsonl"):
        import json

        data = {
            "task_id": task_id,
            "since": None if start is None else start.isoformat(),
            "total_count": summary.total_count,
            "average_rating": summary.average_rating,
            "rating_distribution": {str(k): v for k, v in summary.rating_distribution.items()},
            "feedback_by_type": {t.value: n for t, n in summary.feedback_by_type.items()},
        }
        click.echo(json.dumps(data, indent=2 if output_format == "json" else None))
        return
    if output_format == "csv":  # one figure a row: what it is, of what, how much
        rows: list[tuple[str, str, object]] = [
            ("total_count", "", summary.total_count),
            ("average_rating", "", summary.average_rating),
            *(("rating", str(k), v) for k, v in summary.rating_distribution.items()),
            *(("feedback_type", t.value, n) for t, n in summary.feedback_by_type.items()),
        ]
        print_rows(("figure", "key", "value"), rows, "csv")
        return
    from rich.console import Console  # only for a table: a command's JSON does without rich
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False)
    scope = f"task {escape(task_id)}" if task_id else "all feedback"
    if start is not None:
        scope += f" since {start:%Y-%m-%d %H:%M}"
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
    click.echo("rollups agree with the entries", err=True)


@rollups.command(name="rebuild")
@pass_settings
@fails_cleanly
def rebuild_rollups(settings: Settings) -> None:
    """Recompute the rollups from the entries, in one transaction."""
    with settings.storage() as storage:
        storage.rebuild_rollups()
    click.echo("rollups rebuilt from the entries", err=True)


@click.command(epilog="Example: orchestrator-feedback failures --since 7d --task-type etl")
@click.option(
    "--since",
    metavar="WHEN",
    default="30d",
    show_default=True,
    help="Entries created since then: an age (30d, 12h) or an ISO date or time.",
)
@click.option("--task-type", help="Only entries whose metadata.task_type is this.")
@format_option()
@pass_settings
@fails_cleanly
def failures(
    settings: Settings, since: str, task_type: str | None, output_format: str | None
) -> None:
    """Successes, failures and the failures by error type, each with its share and newest
    message (the outcome rules of docs/scores.md)."""
    start = parse_when(since)
    with settings.storage() as storage:
        report = storage.failures(since=start, task_type=task_type)
    rows = [
        (
            group.error_type,
            group.count,
            round(group.count / report.failures, 4),
            group.newest_at.isoformat(),
            group.newest_message,
        )
        for group in report.groups
    ]
    fields = ("error_type", "count", "share", "newest_at", "newest_message")
    if default_format(output_format) in ("jsonl", "csv"):  # the error types, a row each
        print_rows(fields, rows, default_format(output_format))
        return
    if default_format(output_format) == "json":
        import json

        data = {
            "since": start.isoformat(),
            "task_type": task_type,
            "successes": report.successes,
            "failures": report.failures,
            "success_rate": report.success_rate,
            "by_error_type": [dict(zip(fields, row, strict=True)) for row in rows],
        }
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    rate = "" if report.success_rate is None else f"{report.success_rate:.1%}"
    Console(highlight=False).print(
        f"{report.successes:,} successes, {report.failures:,} failures, success rate "
        f"{rate or 'n/a'} since {start:%Y-%m-%d %H:%M}"
    )
    table = Table(title="Failures by error type")
    for column in ("error type", "count", "share", "newest (UTC)", "newest message"):
        table.add_column(column, overflow="fold")
    for error_type, count, share, newest, message in rows:
        table.add_row(
            data_text(error_type), str(count), f"{share:.1%}", newest[:19], data_text(message)
        )
    Console(highlight=False).print(table)


@click.command(epilog="Example: orchestrator-feedback trends --days 90 --by week")
@click.option(
    "--days",
    type=WholeRange(min=1, max=MAX_RETENTION_DAYS),
    default=30,
    show_default=True,
    help="The period: the last N days.",
)
@click.option(
    "--by",
    type=click.Choice(("day", "week")),
    default="day",
    show_default=True,
    help="One row per day, or per week (labelled with its Monday).",
)
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
    from rich.console import Console
    from rich.table import Table

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
    type=NumberRange(min=0.001, max=86_400),
    default=5.0,
    show_default=True,
    help="Stop the statement after this many seconds.",
)
@click.option(
    "--max-rows",
    type=WholeRange(min=0, max=100_000_000),
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
    with settings.storage(create=write) as storage:
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


COMMANDS = [stats, failures, trends, query, rollups]

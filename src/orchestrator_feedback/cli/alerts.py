"""``alerts``: the alerts a store raised and cleared (``docs/alerts.md``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from orchestrator_feedback.cli.common import Settings, WholeRange, fails_cleanly, parse_when
from orchestrator_feedback.cli.output import default_format, format_option, print_rows
from orchestrator_feedback.summaries import Alert

pass_settings = click.make_pass_decorator(Settings)

_COLUMNS = (
    "id",
    "raised_at",
    "worker_id",
    "task_type",
    "kind",
    "measure",
    "open",
    "since",
    "before",
    "before_low",
    "before_high",
    "after",
    "after_low",
    "after_high",
    "outcomes",
    "statistic",
    "threshold",
)
_TABLE_COLUMNS = ("raised", "worker", "task type", "alert", "since", "before", "after", "outcomes")


def _moment(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _value(alert: Alert, value: float, interval: tuple[float, float]) -> str:
    if alert.measure == "success":
        return f"{value:.1%} ({interval[0]:.1%}-{interval[1]:.1%})"
    return f"{value:.2f} ({interval[0]:.2f}-{interval[1]:.2f})"


def _table_row(alert: Alert, is_open: bool) -> tuple[str, ...]:
    what = f"{alert.kind} {alert.measure}" + (" (open)" if is_open else "")
    return (
        _moment(alert.raised_at),
        alert.worker_id,
        "(all)" if alert.task_type is None else alert.task_type,
        what,
        _moment(alert.since),
        _value(alert, alert.before, alert.before_interval),
        _value(alert, alert.after, alert.after_interval),
        str(alert.outcomes),
    )


def _record(alert: Alert, is_open: bool) -> tuple[Any, ...]:
    return (
        alert.id,
        alert.raised_at.isoformat(),
        alert.worker_id,
        alert.task_type,
        alert.kind,
        alert.measure,
        is_open,
        alert.since.isoformat(),
        alert.before,
        *alert.before_interval,
        alert.after,
        *alert.after_interval,
        alert.outcomes,
        alert.statistic,
        alert.threshold,
    )


@click.command(epilog="Example: orchestrator-feedback alerts --since 30d --worker w3")
@click.option(
    "--open", "open_only", is_flag=True, help="Only the open ones (degraded, not recovered)."
)
@click.option(
    "--since",
    metavar="WHEN",
    default="7d",
    show_default=True,
    help="Besides the open ones, those raised since WHEN: 2026-01-31, or 30d.",
)
@click.option("--worker", "worker_id", help="Only this worker's.")
@click.option(
    "--limit",
    type=WholeRange(min=1, max=2**63 - 1),
    default=100,
    show_default=True,
    help="At most this many alerts.",
)
@format_option()
@pass_settings
@fails_cleanly
def alerts(
    settings: Settings,
    open_only: bool,
    since: str,
    worker_id: str | None,
    limit: int,
    output_format: str | None,
) -> None:
    """List alerts newest first: every open one (a worker degraded, not yet recovered),
    and with them those raised or cleared since --since."""
    start = parse_when(since)
    with settings.storage() as storage:
        opened = storage.alerts(open_only=True, worker_id=worker_id, limit=limit)
        shown = list(opened)
        if not open_only:
            recent = storage.alerts(since=start, worker_id=worker_id, limit=limit)
            shown = sorted(
                {alert.id: alert for alert in [*opened, *recent]}.values(),
                key=lambda alert: alert.id,
                reverse=True,
            )[:limit]
    open_ids = {alert.id for alert in opened}
    output_format = default_format(output_format)
    if output_format == "table":
        print_rows(
            _TABLE_COLUMNS,
            [_table_row(alert, alert.id in open_ids) for alert in shown],
            "table",
            title="Alerts, newest first" if shown else "No alerts",
        )
    else:
        print_rows(
            _COLUMNS, [_record(alert, alert.id in open_ids) for alert in shown], output_format
        )


COMMANDS = [alerts]

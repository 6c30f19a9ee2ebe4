"""``watch``: new feedback as it is committed, live on a terminal, JSON lines when piped."""

from __future__ import annotations

import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

import click
import orjson
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from orchestrator_feedback.cli.common import Settings, fails_cleanly, parse_age, parse_when
from orchestrator_feedback.cli.output import data_text, stdout_console
from orchestrator_feedback.models import FeedbackEntry, FeedbackType
from orchestrator_feedback.serialization import entry_to_dict
from orchestrator_feedback.summaries import Alert
from orchestrator_feedback.views.live import NO_WORKER, LiveView

pass_settings = click.make_pass_decorator(Settings)

_REDRAW = 0.25  # seconds between redraws when nothing arrives (the window moves on)
_ALERTS_EVERY = 2.0  # seconds between two readings of the open alerts


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def _mean(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


class _Column:
    """A column of a live table: its header, the least width its values need to be read,
    its priority (the lower, the later it is dropped) and whether it takes spare room."""

    def __init__(self, name: str, least: int, priority: int, *, grows: bool = False) -> None:
        self.name, self.priority, self.grows = name, priority, grows
        self.least = max(least, len(name))  # a header is never cut either


_BORDERS = 3  # a column's share of the box: two spaces of padding and a rule


def fitting(columns: list[_Column], width: int) -> list[_Column]:
    """The columns that fit ``width`` at their least widths, dropping the lowest priority
    first (never squeezing one to nothing), in their own order."""
    kept = list(columns)
    while len(kept) > 1 and sum(c.least + _BORDERS for c in kept) + 1 > width:
        kept.remove(min(kept, key=lambda column: column.priority))
    return kept


_WORKER_COLUMNS = [
    _Column("worker", 10, 9, grows=True),
    _Column("entries", 7, 8),
    _Column("success rate", 7, 7),
    _Column("successes", 9, 4),
    _Column("failures", 8, 5),
    _Column("mean rating", 6, 6),
    _Column("ratings", 7, 3),
]
_NEWEST_COLUMNS = [
    _Column("created", 8, 9),
    _Column("type", 15, 5),
    _Column("task", 10, 7, grows=True),
    _Column("worker", 10, 8, grows=True),
    _Column("rating", 6, 6),
    _Column("content", 12, 4, grows=True),
]
"""The columns of the two tables, in their order, with the least width each needs and its
priority: at 80 columns the workers' table leaves out ``ratings``; narrower, ``successes``,
``failures`` and the rest go in priority order, never cut to nothing."""


def widths(columns: list[_Column], width: int) -> list[int]:
    """Each kept column's width: its least, and the room left shared by those that grow
    (rich would otherwise squeeze a column to nothing when the screen is narrow)."""
    spare = width - sum(c.least + _BORDERS for c in columns) - 1
    growing = [c for c in columns if c.grows] or columns[-1:]
    share, rest = divmod(max(spare, 0), len(growing))
    return [
        c.least + (share + (1 if growing.index(c) < rest else 0) if c in growing else 0)
        for c in columns
    ]


def _table(title: str, columns: list[_Column], width: int) -> tuple[Table, list[str]]:
    table = Table(title=title, title_justify="left", expand=False)
    kept = fitting(columns, width)
    for column, exact in zip(kept, widths(kept, width), strict=True):
        table.add_column(
            column.name,
            width=exact,
            no_wrap=True,
            overflow="ellipsis",
            justify="left" if column.grows or column.name == "type" else "right",
        )
    return table, [column.name for column in kept]


def alerts_line(alerts: Sequence[Alert]) -> Text:
    """One line naming the open alerts (worker, task type, measure, before and after)."""
    line = Text("Open alerts: ", style="bold")
    if not alerts:
        line.append("none", style="dim")
        return line
    for number, alert in enumerate(alerts):
        scope = "all types" if alert.task_type is None else alert.task_type
        if alert.measure == "success":
            change = f"{alert.before:.0%} -> {alert.after:.0%}"
        else:
            change = f"{alert.before:.2f} -> {alert.after:.2f}"
        line.append("; " if number else "")
        name = data_text(alert.worker_id)
        name.stylize("red")
        line.append(name)
        line.append(" (")
        line.append(data_text(scope))
        line.append(f", {alert.measure} {change} since {alert.since:%H:%M})")
    return line


def _screen(
    view: LiveView,
    source: str,
    now: datetime,
    width: int = 120,
    alerts: Sequence[Alert] = (),
) -> Group:
    """The live screen for a terminal ``width`` columns wide: columns of lower priority are
    left out when they do not fit, never cut to nothing."""
    minutes = view.window.total_seconds() / 60
    span = f"{minutes:g} min"
    heading = Text(f"orchestrator-feedback watch  {view.total:,} new entries  ")
    heading.append(data_text(source))
    heading.append("  (Ctrl-C to stop)", style="dim")
    workers, shown = _table(f"Workers, entries created in the last {span}", _WORKER_COLUMNS, width)
    for row in view.workers(now):
        cells: dict[str, str | Text] = {
            "worker": data_text("(no worker)" if row.worker == NO_WORKER else row.worker),
            "entries": str(row.entries),
            "success rate": _percent(row.success_rate),
            "successes": str(row.successes),
            "failures": str(row.failures),
            "mean rating": _mean(row.mean_rating),
            "ratings": str(row.ratings),
        }
        workers.add_row(*(cells[name] for name in shown))
    newest, shown = _table("Newest entries (times in UTC)", _NEWEST_COLUMNS, width)
    for entry in view.recent:
        cells = {
            "created": entry.created_at.strftime("%H:%M:%S"),
            "type": entry.feedback_type.value,
            "task": data_text(entry.task_id),
            "worker": data_text(entry.metadata.get("worker_id")),
            "rating": "" if entry.rating is None else str(entry.rating),
            "content": data_text(entry.content.splitlines()[0] if entry.content else ""),
        }
        newest.add_row(*(cells[name] for name in shown))
    return Group(heading, alerts_line(alerts), workers, newest)


def _follow_on_a_thread(entries: Iterator[FeedbackEntry]) -> queue.Queue[object]:
    """Entries as they come, on a queue the screen can wait on with a timeout; the
    follower's end (or its error) comes last."""
    arrivals: queue.Queue[object] = queue.Queue()

    def run() -> None:
        try:
            for entry in entries:
                arrivals.put(entry)
        except BaseException as error:  # handed to the main thread, which says it
            arrivals.put(error)
        arrivals.put(StopIteration())

    threading.Thread(target=run, name="watch-follower", daemon=True).start()
    return arrivals


def _live(
    entries: Iterator[FeedbackEntry],
    window: timedelta,
    source: str,
    rated_types: frozenset[FeedbackType],
    open_alerts: Callable[[], list[Alert]],
) -> None:
    view = LiveView(window, rated_types=rated_types)
    alerts = open_alerts()
    alerts_read = time.monotonic()
    arrivals = _follow_on_a_thread(entries)
    console = stdout_console()
    resized = threading.Event()
    previous = signal.signal(signal.SIGWINCH, lambda _signal, _frame: resized.set())
    try:
        with Live(
            _screen(view, source, datetime.now(UTC), console.width, alerts),
            console=console,
            auto_refresh=False,
        ) as live:
            while True:
                try:
                    item = arrivals.get(timeout=_REDRAW)
                    while True:
                        if isinstance(item, StopIteration):
                            return
                        if isinstance(item, BaseException):
                            raise item
                        assert isinstance(item, FeedbackEntry)
                        view.add(item)
                        item = arrivals.get_nowait()
                except queue.Empty:
                    pass
                if resized.is_set():
                    # The terminal changed size: clear the old frame, which was laid out for
                    # the old width, and draw the new one at once.
                    resized.clear()
                    console.clear()
                if time.monotonic() - alerts_read > _ALERTS_EVERY:
                    alerts, alerts_read = open_alerts(), time.monotonic()
                screen = _screen(view, source, datetime.now(UTC), console.width, alerts)
                live.update(screen, refresh=True)
    finally:
        signal.signal(signal.SIGWINCH, previous)


def _json_lines(entries: Iterator[FeedbackEntry]) -> None:
    out = sys.stdout
    for entry in entries:
        out.write(orjson.dumps(entry_to_dict(entry)).decode() + "\n")
        out.flush()


@click.command(
    "watch",
    epilog="Example: orchestrator-feedback watch --since 10m  "
    "(piped: orchestrator-feedback watch --type error_report | jq .content)",
)
@click.option(
    "--type",
    "feedback_type",
    type=click.Choice([kind.value for kind in FeedbackType]),
    help="Only entries of this type.",
)
@click.option("--worker", help="Only entries whose metadata.worker_id is this.")
@click.option("--task-type", help="Only entries whose metadata.task_type is this.")
@click.option(
    "--since",
    metavar="AGE_OR_TIME",
    help="First replay the entries created since then (10m, 2h, or an ISO time).",
)
@click.option(
    "--window",
    default="15m",
    show_default=True,
    metavar="AGE",
    help="The span the per-worker table counts.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["live", "jsonl"]),
    help="Default: live on a terminal, jsonl (one entry per line) when piped.",
)
@pass_settings
@fails_cleanly
def watch(
    settings: Settings,
    feedback_type: str | None,
    worker: str | None,
    task_type: str | None,
    since: str | None,
    window: str,
    output_format: str | None,
) -> None:
    """Show new feedback as any process commits it, until Ctrl-C: on a terminal a live
    screen (the open alerts, the newest entries, and per worker the count, success rate
    and mean rating over the last --window); piped, one JSON object per line, flushed as
    each arrives."""
    start = None if since is None else parse_when(since)
    span = parse_age(window)
    chosen = output_format or ("live" if sys.stdout.isatty() else "jsonl")
    with settings.storage() as storage:
        entries = storage.follow(
            since=start, feedback_type=feedback_type, worker_id=worker, task_type=task_type
        )
        try:
            if chosen == "jsonl":
                _json_lines(entries)
            else:
                _live(
                    entries,
                    span,
                    storage.backend.url,
                    storage.rating_types,
                    lambda: storage.alerts(open_only=True),
                )
        except KeyboardInterrupt:
            pass


COMMANDS = [watch]

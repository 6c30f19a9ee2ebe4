"""``watch``: new feedback as it is committed, live on a terminal, JSON lines when piped."""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Iterator
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
from orchestrator_feedback.views.live import NO_WORKER, LiveView

pass_settings = click.make_pass_decorator(Settings)

_REDRAW = 0.25  # seconds between redraws when nothing arrives (the window moves on)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def _mean(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _screen(view: LiveView, source: str, now: datetime) -> Group:
    minutes = view.window.total_seconds() / 60
    span = f"{minutes:g} min"
    heading = Text(f"orchestrator-feedback watch  {view.total:,} new entries  ")
    heading.append(data_text(source))
    heading.append("  (Ctrl-C to stop)", style="dim")
    workers = Table(title=f"Workers, entries created in the last {span}", title_justify="left")
    for column, justify in (
        ("worker", "left"),
        ("entries", "right"),
        ("success rate", "right"),
        ("successes", "right"),
        ("failures", "right"),
        ("mean rating", "right"),
        ("ratings", "right"),
    ):
        workers.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in view.workers(now):
        workers.add_row(
            data_text("(no worker)" if row.worker == NO_WORKER else row.worker),
            str(row.entries),
            _percent(row.success_rate),
            str(row.successes),
            str(row.failures),
            _mean(row.mean_rating),
            str(row.ratings),
        )
    newest = Table(title="Newest entries", title_justify="left")
    for column in ("created (UTC)", "type", "task", "worker", "rating", "content"):
        newest.add_column(column, overflow="ellipsis", no_wrap=True)
    for entry in view.recent:
        worker = entry.metadata.get("worker_id")
        newest.add_row(
            entry.created_at.strftime("%H:%M:%S"),
            entry.feedback_type.value,
            data_text(entry.task_id),
            data_text(worker),
            "" if entry.rating is None else str(entry.rating),
            data_text(entry.content.splitlines()[0] if entry.content else ""),
        )
    return Group(heading, workers, newest)


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


def _live(entries: Iterator[FeedbackEntry], window: timedelta, source: str) -> None:
    view = LiveView(window)
    arrivals = _follow_on_a_thread(entries)
    console = stdout_console()
    with Live(
        _screen(view, source, datetime.now(UTC)), console=console, auto_refresh=False
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
            live.update(_screen(view, source, datetime.now(UTC)), refresh=True)


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
    screen (the newest entries, and per worker the count, success rate and mean rating
    over the last --window); piped, one JSON object per line, flushed as each arrives."""
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
                _live(entries, span, storage.backend.url)
        except KeyboardInterrupt:
            pass


COMMANDS = [watch]

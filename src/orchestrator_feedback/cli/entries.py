"""Commands about single entries: init, add, list, show, delete, purge."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from orchestrator_feedback.cli.common import (
    TYPE_CHOICE,
    Settings,
    WholeRange,
    fails_cleanly,
    parse_age,
    parse_when,
)
from orchestrator_feedback.cli.output import (
    data_text,
    default_format,
    entry_count,
    format_option,
    print_entries,
    visible,
)
from orchestrator_feedback.errors import FeedbackError, FeedbackNotFoundError
from orchestrator_feedback.models import FeedbackEntry
from orchestrator_feedback.serialization import entry_to_dict
from orchestrator_feedback.storage import FeedbackStorage

pass_settings = click.make_pass_decorator(Settings)


@click.command(epilog="Example: orchestrator-feedback --database feedback.db init")
@pass_settings
@fails_cleanly
def init(settings: Settings) -> None:
    """Create the database (if new) and say which schema version it is at. An older store is
    left as it is: `orchestrator-feedback migrate` upgrades it."""
    with settings.storage(create=True) as storage:
        kept = (
            " (in memory: nothing is kept once this command ends)"
            if settings.database.removeprefix("sqlite:///") == ":memory:"
            else ""
        )
        click.echo(f"{settings.database}: schema version {storage.schema_version}{kept}")


def _parse_meta(pairs: tuple[str, ...]) -> dict[str, object]:
    metadata: dict[str, object] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="--meta")
        try:
            metadata[key] = json.loads(text)  # numbers, true/false, null, lists stay typed
        except json.JSONDecodeError:
            metadata[key] = text
        except RecursionError:
            raise click.BadParameter(
                f"the value of {key!r} nests too deeply", param_hint="--meta"
            ) from None
    return metadata


@click.command(
    epilog="Example: orchestrator-feedback add --task task-123 --type task_quality "
    '--rating 4 --meta worker_id=w1 "Clean result"'
)
@click.option("--task", "task_id", required=True, help="The task's id.")
@click.option("--type", "feedback_type", required=True, type=TYPE_CHOICE, help="The feedback type.")
@click.option("--rating", type=int, help="1 to 5.")
@click.option("--user", "user_id", help="Who gave the feedback.")
@click.option(
    "--meta", multiple=True, metavar="KEY=VALUE", help="Metadata (repeatable; JSON values allowed)."
)
@click.argument("content")
@pass_settings
@fails_cleanly
def add(
    settings: Settings,
    task_id: str,
    feedback_type: str,
    rating: int | None,
    user_id: str | None,
    meta: tuple[str, ...],
    content: str,
) -> None:
    """Store one entry and print its id."""
    entry = FeedbackEntry(
        task_id=task_id,
        feedback_type=feedback_type,
        content=content,
        rating=rating,
        user_id=user_id,
        metadata=_parse_meta(meta),
    )
    with settings.storage(create=True, tell_plugins=True) as storage:
        storage.create(entry)
    click.echo(visible(entry.id))


def filter_options(command: Callable[..., None]) -> Callable[..., None]:
    """The filters shared by list and export."""
    options = [
        click.option("--task", "task_id", help="Only this task."),
        click.option("--type", "feedback_type", type=TYPE_CHOICE, help="Only this type."),
        click.option("--user", "user_id", help="Only this user."),
        click.option("--min-rating", type=WholeRange(1, 5), help="Ratings at least this."),
        click.option("--max-rating", type=WholeRange(1, 5), help="Ratings at most this."),
        click.option(
            "--since", metavar="WHEN", help="Created at or after: ISO date/time or age (7d, 12h)."
        ),
        click.option("--until", metavar="WHEN", help="Created before: ISO date/time or age."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def filters_from(options: dict[str, object]) -> dict[str, object]:
    """Turn the filter options given into ``FeedbackFilter`` keywords."""
    filters = {
        k: options[k]
        for k in ("task_id", "feedback_type", "user_id", "min_rating", "max_rating")
        if options.get(k) is not None
    }
    if options.get("since"):
        filters["created_after"] = parse_when(str(options["since"]))
    if options.get("until"):
        filters["created_before"] = parse_when(str(options["until"]))
    return filters


@click.command(
    name="list",
    epilog="Example: orchestrator-feedback list --task task-123 --since 7d --format json",
)
@filter_options
@click.option(
    "--limit",
    type=WholeRange(min=0, max=2**63 - 1),
    default=100,
    show_default=True,
    help="At most this many entries.",
)
@click.option(
    "--offset",
    type=WholeRange(min=0, max=2**63 - 1),
    default=0,
    show_default=True,
    help="Skip this many first (in the chosen order).",
)
@click.option(
    "--order",
    type=click.Choice(["oldest", "newest"]),
    default="oldest",
    show_default=True,
    help="Oldest first (as the API's get_filtered), or newest first.",
)
@format_option()
@pass_settings
@fails_cleanly
def list_entries(
    settings: Settings,
    /,
    limit: int,
    offset: int,
    order: str,
    output_format: str | None,
    **options: object,
) -> None:
    """List entries, oldest first unless --order newest. The table shows each id's shortest
    prefix (8 characters at least) that tells the rows apart; show and delete take it."""
    filters: Any = filters_from(options)
    with settings.storage() as storage:
        if order == "oldest":
            found = storage.get_filtered(**filters, limit=limit, offset=offset)
        else:
            total = storage.count(**filters)
            end = max(0, total - offset)
            start = max(0, end - limit)
            found = storage.get_filtered(**filters, limit=end - start, offset=start)[::-1]
    print_entries(found, default_format(output_format))


_CANDIDATES_SHOWN = 5


def resolve_id(storage: FeedbackStorage, given: str) -> str:
    """The id ``given`` names: itself when an entry (or its history) has that id, else the
    one id it is a prefix of. Raises ``FeedbackError`` naming the candidates when several ids
    start with it; returns ``given`` unchanged when none does (the caller says not found)."""
    if storage.get(given) is not None or storage.get_history(given):
        return given
    mark = storage.backend.placeholder
    rows = storage.execute_query(
        f"SELECT id FROM feedback WHERE substr(id, 1, {mark}) = {mark} ORDER BY id "
        f"LIMIT {_CANDIDATES_SHOWN + 1}",
        [len(given), given],
        read_only=True,
    )
    ids = [str(row[0]) for row in rows]
    if len(ids) > 1:
        more = len(ids) > _CANDIDATES_SHOWN
        shown = ", ".join(ids[:_CANDIDATES_SHOWN]) + (", ..." if more else "")
        count = f"more than {_CANDIDATES_SHOWN}" if more else str(len(ids))
        raise FeedbackError(
            f"{given!r} is ambiguous: {count} ids start with it ({shown}); give more of the id"
        )
    return ids[0] if ids else given


@click.command(epilog="Example: orchestrator-feedback show 3f2c9a1e-... --history")
@click.argument("feedback_id")
@click.option("--history", is_flag=True, help="Also print every earlier version, oldest first.")
@format_option()
@pass_settings
@fails_cleanly
def show(settings: Settings, feedback_id: str, history: bool, output_format: str | None) -> None:
    """Show one entry, every field, metadata pretty-printed. FEEDBACK_ID may be any prefix of
    the id that no other entry shares (as list's table shows it)."""
    with settings.storage() as storage:
        feedback_id = resolve_id(storage, feedback_id)
        entry = storage.get(feedback_id)
        versions = storage.get_history(feedback_id) if history else []
    if entry is None and not versions:
        raise FeedbackNotFoundError(feedback_id)
    chosen = default_format(output_format)
    if chosen != "table":
        # The data formats: the entry (json: with "history", as export --with-history
        # writes it); jsonl and csv: every earlier version, oldest first, then the entry.
        past = (versions[:-1] if entry is not None else versions) if history else []
        if chosen == "json":
            record: dict[str, object] = (
                entry_to_dict(entry) if entry is not None else {"id": feedback_id}
            )
            if history:
                record["history"] = [entry_to_dict(version) for version in past]
            click.echo(json.dumps(record, indent=2, ensure_ascii=False, default=str))
        else:
            print_entries([*past, *([entry] if entry is not None else [])], chosen)
        return
    console = Console(highlight=False)
    if history:
        _print_versions(console, versions, deleted=entry is None)
    if entry is not None:
        _print_entry(console, entry)


def _print_versions(console: Console, versions: list[FeedbackEntry], deleted: bool) -> None:
    table = Table(title="History, oldest first")
    for column in ("version", "updated_at (UTC)", "rating", "type", "content"):
        table.add_column(column, overflow="fold")
    for number, version in enumerate(versions, start=1):
        label = "current" if number == len(versions) and not deleted else str(number)
        table.add_row(
            label,
            version.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
            "" if version.rating is None else str(version.rating),
            version.feedback_type.value,
            data_text(version.content),
        )
    console.print(table)
    if deleted:
        console.print("[bold]deleted[/bold]: the entry no longer exists; its last version is above")


def _print_entry(console: Console, entry: FeedbackEntry) -> None:
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in entry.to_dict().items():
        if name != "metadata":
            table.add_row(name, data_text(value))
    console.print(table)
    console.print("[bold]metadata[/bold]")
    console.print(
        Syntax(
            json.dumps(entry.metadata, indent=2, ensure_ascii=False),
            "json",
            theme="ansi_dark",
            background_color="default",
        )
    )


@click.command(epilog="Example: orchestrator-feedback delete 3f2c9a1e-...")
@click.argument("feedback_id")
@pass_settings
@fails_cleanly
def delete(settings: Settings, feedback_id: str) -> None:
    """Delete one entry. FEEDBACK_ID may be any prefix of the id that no other entry shares."""
    with settings.storage(tell_plugins=True) as storage:
        feedback_id = resolve_id(storage, feedback_id)
        if not storage.delete(feedback_id):
            raise FeedbackNotFoundError(feedback_id)
    click.echo(f"deleted {visible(feedback_id)}", err=True)


@click.command(epilog="Example: orchestrator-feedback purge --older-than 90d --dry-run")
@click.option(
    "--older-than",
    "age",
    metavar="AGE",
    help="Such as 90d, 12h, 2w (default: the [retention] policy).",
)
@click.option("--dry-run", is_flag=True, help="Only say how many entries would go.")
@pass_settings
@fails_cleanly
def purge(settings: Settings, age: str | None, dry_run: bool) -> None:
    """Delete entries older than AGE (or by the retention policy) and say how many went."""
    from datetime import UTC, datetime

    if age is None:
        with settings.storage(tell_plugins=not dry_run) as storage:
            counts = storage.retention_preview() if dry_run else storage.purge()
        verb = "would be deleted (dry run)" if dry_run else "deleted"
        for feedback_type, count in counts.items():
            click.echo(f"{feedback_type.value}: {count}", err=True)
        click.echo(f"{entry_count(sum(counts.values()))} {verb} by the retention policy", err=True)
        return
    cutoff = datetime.now(UTC) - parse_age(age)
    with settings.storage(tell_plugins=not dry_run) as storage:
        if dry_run:
            count = storage.count(created_before=cutoff)
            click.echo(
                f"{entry_count(count)} older than {age} would be deleted (dry run)", err=True
            )
        else:
            count = storage.purge(cutoff)
            click.echo(f"{entry_count(count)} older than {age} deleted", err=True)


@click.command(name="forget-user", epilog="Example: orchestrator-feedback forget-user user-456")
@click.argument("user_id")
@pass_settings
@fails_cleanly
def forget_user(settings: Settings, user_id: str) -> None:
    """Erase every entry by USER_ID and its history, and reclaim the space."""
    with settings.storage(tell_plugins=True) as storage:
        count = storage.forget_user(user_id)
    click.echo(f"erased {entry_count(count)} by {visible(user_id)}, with their history", err=True)


COMMANDS = [init, add, list_entries, show, delete, purge, forget_user]

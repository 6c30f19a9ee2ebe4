"""Commands that move feedback in and out: export, import."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import click
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from orchestrator_feedback.cli.common import Settings, fails_cleanly
from orchestrator_feedback.cli.entries import filter_options, filters_from
from orchestrator_feedback.cli.output import data_text, entry_count, stderr_console
from orchestrator_feedback.errors import FeedbackError
from orchestrator_feedback.host import open_storage
from orchestrator_feedback.models import FeedbackEntry
from orchestrator_feedback.storage import FeedbackStorage
from orchestrator_feedback.storage import file_formats as store_transfer

pass_settings = click.make_pass_decorator(Settings)
EXPORT_FORMATS = ("jsonl", "json", "csv")
_BY_SUFFIX = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}
_STEP = 1000


def _sniff(head: bytes) -> str:
    """The format of standard input, from its first character: ``[`` a JSON array, ``{``
    JSON Lines, anything else CSV (its header)."""
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return {b"[": "json", b"{": "jsonl"}.get(first, "csv")


class _Prefixed(io.RawIOBase):
    """A byte stream whose first few KiB were read ahead (to tell its format), served again."""

    def __init__(self, rest: BinaryIO) -> None:
        self.prefix = rest.read(4096)
        self._pending = self.prefix
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._pending:
            count = min(len(buffer), len(self._pending))
            buffer[:count] = self._pending[:count]
            self._pending = self._pending[count:]
            return count
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _progress() -> Progress:
    """A progress bar on stderr, shown only when stderr is a terminal."""
    console = stderr_console()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )


def _counted(
    entries: Iterator[FeedbackEntry], progress: Progress, task: Any
) -> Iterator[FeedbackEntry]:
    pending = 0
    for entry in entries:
        yield entry
        pending += 1
        if pending == _STEP:
            progress.advance(task, pending)
            pending = 0
    progress.advance(task, pending)


@click.command(
    epilog="Example: orchestrator-feedback export --format jsonl --since 30d -o recent.jsonl"
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(EXPORT_FORMATS),
    help="Default: from -o's extension, else jsonl.",
)
@filter_options
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="File to write (default: stdout).",
)
@click.option(
    "--with-history", is_flag=True, help="Add each entry's earlier versions (jsonl, json)."
)
@click.option(
    "--placeholders",
    is_flag=True,
    help="Export encrypted metadata values that cannot be read here (no key) as placeholders, "
    "instead of refusing.",
)
@pass_settings
@fails_cleanly
def export(
    settings: Settings,
    /,
    file_format: str | None,
    output: str | None,
    with_history: bool,
    placeholders: bool,
    **options: object,
) -> None:
    """Export entries to a file or stdout. Refuses (exit 1, no file left) when an entry holds
    encrypted metadata this process has no key for, unless --placeholders is given: the
    file would hold a placeholder instead of the value and be no backup of it."""
    chosen = file_format or _format_of(output)
    if with_history and chosen == "csv":
        raise click.UsageError("--with-history needs --format jsonl or json")
    filters = filters_from(options)
    existed = output is not None and Path(output).exists()
    unreadable = [0]
    try:
        with settings.storage() as storage, _progress() as progress:
            task = progress.add_task(
                "exporting", total=storage.count(**filters) if not progress.disable else None
            )
            entries = _counted(storage.iter_all(**filters), progress, task)
            entries = _readable(entries, storage, allow=placeholders, unreadable=unreadable)
            target: Any = output if output else sys.stdout
            if with_history:
                records = (_with_history(storage, entry) for entry in entries)
                written = store_transfer.export_records(records, target, chosen)
            else:
                written = store_transfer.export_entries(entries, target, chosen)
    except FeedbackError:
        if output is not None and not existed:
            Path(output).unlink(missing_ok=True)  # no half-written file left behind
        raise
    if unreadable[0]:
        click.echo(
            f"warning: {entry_count(unreadable[0])} {'holds' if unreadable[0] == 1 else 'hold'} "
            "encrypted metadata that could not be read (no key, or a key rotated out): the "
            "export has placeholders in their place",
            err=True,
        )
    if output:
        stderr_console().print(data_text(f"exported {entry_count(written)} to {output}"))


def _format_of(output: str | None) -> str:
    """The export format -o's extension names (jsonl without -o); an extension that names
    none of them is refused rather than written as something else."""
    if output is None:
        return "jsonl"
    suffix = Path(output).suffix.lower()
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    raise click.UsageError(
        f"cannot tell the format from {output!r}: export writes .jsonl, .json or .csv "
        "(or give --format)"
    )


def _readable(
    entries: Iterator[FeedbackEntry],
    storage: FeedbackStorage,
    *,
    allow: bool,
    unreadable: list[int],
) -> Iterator[FeedbackEntry]:
    """``entries``, refusing (unless ``allow``) at the first one whose encrypted metadata
    cannot be read; counting them in ``unreadable[0]``."""
    policy = storage.privacy
    if policy is None or not policy.encrypted_keys:
        yield from entries
        return
    for entry in entries:
        if policy.unreadable(entry):
            if not allow:
                raise FeedbackError(
                    f"entry {entry.id} holds encrypted metadata that cannot be read here (no "
                    "key in ORCHESTRATOR_FEEDBACK_ENCRYPTION_KEYS, or one rotated out): the "
                    "export would hold placeholders, not the values. Set the key, or pass "
                    "--placeholders to export them anyway"
                )
            unreadable[0] += 1
        yield entry


def _with_history(storage: FeedbackStorage, entry: FeedbackEntry) -> dict[str, Any]:
    record = entry.to_dict()
    record["history"] = [version.to_dict() for version in storage.get_history(entry.id)[:-1]]
    return record


class _CountingReader(io.RawIOBase):
    """Reports bytes read to the progress bar (a text layer sits on top)."""

    def __init__(self, raw: BinaryIO, progress: Progress, task: Any) -> None:
        self._raw, self._progress, self._task = raw, progress, task

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        self._progress.advance(self._task, count or 0)
        return int(count or 0)


@click.command(
    name="import",
    epilog="Example: orchestrator-feedback import backup.jsonl --on-conflict skip --dry-run",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--format",
    "file_format",
    type=click.Choice(EXPORT_FORMATS),
    help="Default: from the file's extension (from its first character for -).",
)
@click.option(
    "--on-conflict",
    type=click.Choice(("error", "skip", "replace")),
    default="error",
    show_default=True,
    help="An id already stored: refuse the whole file, keep the stored entry, or replace it.",
)
@click.option("--dry-run", is_flag=True, help="Check everything, import nothing.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    metavar="N",
    help="Check the whole file, then commit N entries a transaction, so that hosts writing "
    "meanwhile wait at most one batch (a file, not -).",
)
@pass_settings
@fails_cleanly
def import_entries(
    settings: Settings,
    file: str,
    file_format: str | None,
    on_conflict: str,
    dry_run: bool,
    batch_size: int | None,
) -> None:
    """Import entries from jsonl, json or csv (a file, or - for standard input), all or
    nothing.

    With --batch-size: the whole file checked first, then committed in batches."""
    from_stdin = file == "-"
    if batch_size is not None and from_stdin:
        raise click.UsageError(
            "--batch-size reads the file twice (once to check every record): give a file, not -"
        )
    raw: Any = _Prefixed(sys.stdin.buffer) if from_stdin else open(file, "rb")  # noqa: SIM115
    with raw:
        chosen = file_format or (
            _sniff(raw.prefix) if from_stdin else _BY_SUFFIX.get(Path(file).suffix.lower())
        )
        if chosen is None:
            raise click.UsageError(
                f"cannot tell the format of {file} from its extension: give --format"
            )
        with (
            settings.storage(create=True, tell_plugins=not dry_run) as storage,
            _progress() as progress,
        ):
            task = progress.add_task(
                "importing",
                total=None if from_stdin or batch_size else os.path.getsize(file),
            )
            text = io.TextIOWrapper(
                io.BufferedReader(_CountingReader(raw, progress, task), 1 << 16),
                encoding="utf-8-sig",
                errors="surrogateescape",  # named by line and field, see storage.transfer
                newline="",
            )
            load = {
                "jsonl": storage.import_jsonl,
                "json": storage.import_json,
                "csv": storage.import_csv,
            }[chosen]
            if batch_size is None:
                count = load(text, on_conflict, dry_run=dry_run)
            else:  # read twice, from the path: the progress shows the writing pass
                count = load(file, on_conflict, dry_run=dry_run, batch_size=batch_size)
    verb = "would import" if dry_run else "imported"
    stderr_console().print(
        data_text(
            f"{verb} {entry_count(count)} from {'standard input' if from_stdin else file}"
            + (" (dry run: nothing was written)" if dry_run else "")
        )
    )


def _read_for_copy(origin: FeedbackStorage, source: str, target: str) -> Iterator[FeedbackEntry]:
    """The source's entries; a failure to read them says that the copy stored nothing."""
    try:
        yield from origin.iter_all()
    except origin.backend.database_errors as error:
        raise FeedbackError(
            f"reading {source} failed during the copy ({error}); the copy is one transaction "
            f"on {target}, so nothing of it was stored there"
        ) from None


@click.command(
    epilog="Example: orchestrator-feedback copy --from feedback.db "
    "--to postgresql://feedback@db-host/feedback"
)
@click.option("--from", "source", required=True, metavar="PATH_OR_URL", help="Where to read.")
@click.option("--to", "target", required=True, metavar="PATH_OR_URL", help="Where to write.")
@click.option(
    "--on-conflict",
    type=click.Choice(("error", "skip", "replace")),
    default="error",
    show_default=True,
    help="An id already stored: refuse the whole file, keep the stored entry, or replace it.",
)
@fails_cleanly
def copy(source: str, target: str, on_conflict: str) -> None:
    """Copy all feedback from one store to another (any two backends), then check counts."""
    with (
        open_storage(source) as origin,
        open_storage(target) as destination,
        _progress() as progress,
    ):
        total = origin.count()
        before = destination.count()
        task = progress.add_task("copying", total=total)
        written = destination.import_entries(
            _counted(_read_for_copy(origin, source, target), progress, task),
            on_conflict=on_conflict,
        )
        after = destination.count()
    if on_conflict == "error" and after != before + total:
        raise FeedbackError(
            f"copied {written} entries but {target} grew from {before} to {after}, not by {total}"
        )
    stderr_console().print(
        data_text(f"copied {written} of {total} entries; {target} now holds {after} (was {before})")
    )


COMMANDS = [export, import_entries, copy]

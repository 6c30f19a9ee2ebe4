"""How the command line prints: tables for people, exact data for scripts."""

from __future__ import annotations

import base64
import csv
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click
import orjson

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

from orchestrator_feedback.models import ENTRY_FIELDS, FeedbackEntry
from orchestrator_feedback.serialization import entry_to_dict

FORMATS = ("table", "json", "jsonl", "csv")
Command = TypeVar("Command", bound=Callable[..., Any])
ENTRY_COLUMNS = ENTRY_FIELDS


_CONTROL = {code: f"\\x{code:02x}" for code in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]}
del _CONTROL[ord("\n")], _CONTROL[ord("\t")]
_CONTROL.update(
    {code: f"\\u{code:04x}" for code in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}
)


def visible(value: object) -> str:
    """Stored text as it may reach a terminal: control characters (escape sequences, OSC 52
    clipboard writes, bells, carriage returns) and bidirectional overrides shown as
    ``\\x1b`` and the like, never acted on; line breaks and tabs kept."""
    return str(value).translate(_CONTROL)


def data_text(value: object) -> Text:
    """Stored text for a rich table or console: ``visible``, and never read as markup, so
    ``[/bold]`` or ``[link=...]`` in it are shown as written."""
    from rich.text import Text  # rich is imported by what prints for people, when it does

    return Text("" if value is None else visible(value))


def format_option(choices: tuple[str, ...] = FORMATS) -> Callable[[Command], Command]:
    """The ``--format`` option: table on a terminal, JSON when piped, unless chosen."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        help="Default: table on a terminal, json when piped.",
    )


def stdout_console() -> Console:
    """A console on stdout: colours and boxes only when it is a terminal."""
    from rich.console import Console

    return Console(highlight=False)


def stderr_console() -> Console:
    """A console on stderr, for progress bars and messages."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def default_format(chosen: str | None) -> str:
    """The format asked for, else a table on a terminal and JSON when piped."""
    if chosen:
        return chosen
    return "table" if sys.stdout.isatty() else "json"


def json_value(value: Any) -> Any:
    """A value JSON has no type for, as sqlite-utils writes it: a blob as
    ``{"$base64": true, "encoded": ...}``, a PostgreSQL ``numeric`` as a number."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$base64": True, "encoded": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, Decimal):
        return int(value) if value.as_tuple().exponent == 0 else float(value)
    return str(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Decimal):  # PostgreSQL's numeric (AVG): as SQLite shows a number
        return str(json_value(value))
    return str(value)


def _table_cell(value: Any) -> Text:
    return data_text(_cell(value))


def write_csv_rows(out: TextIO, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a header and rows as CSV (JSON for nested values); return the row count."""
    writer = csv.writer(out)
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([_cell(value) for value in row])
        count += 1
    return count


def print_rows(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    output_format: str,
    title: str | None = None,
) -> None:
    """Print rows of plain values in the chosen format."""
    if output_format == "table":
        from rich.table import Table

        table = Table(title=None if title is None else data_text(title))
        for column in columns:
            table.add_column(data_text(column), overflow="fold")
        for row in rows:
            table.add_row(*(_table_cell(value) for value in row))
        stdout_console().print(table)
    elif output_format == "json":
        records = [dict(zip(columns, row, strict=True)) for row in rows]
        sys.stdout.write(
            json.dumps(records, indent=2, ensure_ascii=False, default=json_value) + "\n"
        )
    elif output_format == "jsonl":
        for row in rows:
            record = dict(zip(columns, row, strict=True))
            sys.stdout.write(json.dumps(record, ensure_ascii=False, default=json_value) + "\n")
    else:
        write_csv_rows(sys.stdout, columns, rows)


def entry_count(count: int) -> str:
    """``"1 entry"``, ``"2 entries"``: a count of entries as a person writes it."""
    return f"{count:,} {'entry' if count == 1 else 'entries'}"


def shortest_unique_prefix(ids: Sequence[str], at_least: int = 8) -> int:
    """The fewest leading characters (``at_least`` or more) that tell ``ids`` apart, as git
    abbreviates hashes: time-ordered ids written in the same minute share their first 8."""
    width = at_least
    longest = max((len(i) for i in ids), default=0)
    while width < longest and len({i[:width] for i in ids}) < len(set(ids)):
        width += 1
    return width


def print_entries(entries: Sequence[FeedbackEntry], output_format: str) -> None:
    """Print entries: a compact table, or every field in the data formats."""
    if output_format == "table":
        from rich.table import Table

        table = Table()
        width = shortest_unique_prefix([entry.id for entry in entries])
        table.add_column("id", no_wrap=True, min_width=width)  # never cut: show takes it
        for column in ("task", "type", "rating", "user", "created (UTC)", "content"):
            table.add_column(column, overflow="fold")
        for entry in entries:
            table.add_row(
                data_text(entry.id[:width]),
                data_text(entry.task_id),
                entry.feedback_type.value,
                "" if entry.rating is None else str(entry.rating),
                data_text(entry.user_id),
                entry.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                data_text(entry.content),
            )
        stdout_console().print(table)
        return
    records = [entry_to_dict(entry) for entry in entries]
    print_rows(ENTRY_COLUMNS, [[r[c] for c in ENTRY_COLUMNS] for r in records], output_format)

"""The ``orchestrator-feedback`` command line (also ``python -m orchestrator_feedback``).

Each command's module is imported when that command runs (click's lazily loaded
subcommands), so ``--version`` and a small ``stats`` start in a fraction of the time that
importing every command (rich, the storage, the report's templates) would take.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import click

__all__ = ["COMMAND_MODULES", "COMMAND_SUMMARIES", "cli", "main"]

COMMAND_MODULES = {
    "init": "entries",
    "add": "entries",
    "list": "entries",
    "show": "entries",
    "delete": "entries",
    "purge": "entries",
    "forget-user": "entries",
    "stats": "analysis",
    "failures": "analysis",
    "trends": "analysis",
    "query": "analysis",
    "rollups": "analysis",
    "workers": "scores",
    "alerts": "alerts",
    "recommend": "scores",
    "report": "report",
    "watch": "watch",
    "serve-metrics": "metrics",
    "export": "transfer",
    "import": "transfer",
    "copy": "transfer",
    "plugins": "plugins",
    "demo": "plugins",
    "migrate": "migrate",
}
"""Each command, and the module of ``orchestrator_feedback.cli`` that defines it (in the
module's ``COMMANDS``)."""

COMMAND_SUMMARIES = {
    "init": "Create the database (if new) and say which schema version it is at.",
    "add": "Store one entry and print its id.",
    "list": "List entries, oldest first unless --order newest.",
    "show": "Show one entry, every field, metadata pretty-printed.",
    "delete": "Delete one entry.",
    "purge": "Delete entries older than AGE (or by the retention policy) and say how many went.",
    "forget-user": "Erase every entry by USER_ID and its history, and reclaim the space.",
    "stats": "The summary (count, average, counts by type) and the rating distribution as a "
    "chart.",
    "failures": "Successes, failures and the failures by error type, each with its share and "
    "newest message (the outcome rules of docs/scores.md).",
    "trends": "Average rating and count per period, as a table and a chart.",
    "query": "Run one SQL statement; read-only unless --write is given.",
    "rollups": "Check or rebuild the rollups behind stats, workers and trends.",
    "workers": "Rank workers by the lower bound of their success rate (Wilson interval), then "
    "of their rating: attempts, success rate and rating with intervals, mean time, last seen.",
    "alerts": "List alerts newest first: every open one (a worker degraded, not yet "
    "recovered), and with them those raised or cleared since --since.",
    "recommend": "Rank CANDIDATES (worker ids) best first, as allocation advice would, with "
    "each one's score.",
    "report": "Write one HTML page (no network, fonts or scripts needed to open it): summary "
    "cards, the trend per day, the worker leaderboard with intervals, failures by error type, "
    "the rating distribution and the entries per type.",
    "watch": "Show new feedback as any process commits it, until Ctrl-C: on a terminal a live "
    "screen (the open alerts, the newest entries, and per worker the count, success rate and "
    "mean rating over the last --window); piped, one JSON object per line, flushed as each "
    "arrives.",
    "serve-metrics": "Serve the store's metrics for Prometheus at /metrics (entries, ratings, "
    "outcomes per worker and task type, each worker's success lower bound and mean rating, the "
    "newest entry's time), read from the rollups at each scrape, until Ctrl-C or SIGTERM.",
    "export": "Export entries to a file or stdout.",
    "import": "Import entries from jsonl, json or csv (a file, or - for standard input), all "
    "or nothing.",
    "copy": "Copy all feedback from one store to another (any two backends), then check "
    "counts.",
    "plugins": "List plugins found: name, version, hooks, status, and why a failed one failed.",
    "demo": "Run the toy orchestrator against the database and print what was stored.",
    "migrate": "Upgrade the store's schema to this version's, in one transaction.",
}
"""Each command's first sentence, which ``--help`` lists without importing the command's
module (a test holds each to the command's own help)."""


class _LazyGroup(click.Group):
    """A group whose commands are imported when asked for (click's documented pattern)."""

    def list_commands(self, context: click.Context) -> list[str]:
        return sorted({*super().list_commands(context), *COMMAND_MODULES})

    def format_commands(self, context: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their first sentences, as click lists them, from
        ``COMMAND_SUMMARIES``: ``--help`` imports no command's module."""
        names = self.list_commands(context)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = self.commands.get(name) or click.Command(name, help=COMMAND_SUMMARIES[name])
            rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, context: click.Context, name: str) -> click.Command | None:
        command = super().get_command(context, name)
        if command is not None or name not in COMMAND_MODULES:
            return command
        module = importlib.import_module(f"orchestrator_feedback.cli.{COMMAND_MODULES[name]}")
        for found in module.COMMANDS:
            # Global options are taken after the subcommand too (`list --database x.db`).
            found.params.extend(_global_options())
            self.add_command(found)
        return super().get_command(context, name)


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Example: orchestrator-feedback --database feedback.db list --task task-123",
)
@click.option(
    "--database",
    metavar="PATH_OR_URL",
    help="SQLite path or URL (default: the configuration's, else feedback.db).",
)
@click.option(
    "--config",
    "config_path",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="TOML config (default: $ORCHESTRATOR_FEEDBACK_CONFIG, else orchestrator-feedback.toml "
    "here or in a folder above, else in the user's configuration folder).",
)
@click.version_option(package_name="orchestrator-feedback")
@click.pass_context
def cli(context: click.Context, database: str | None, config_path: str | None) -> None:
    """Store, query and export the feedback your orchestrators produce."""
    from orchestrator_feedback.cli.common import Settings

    context.obj = Settings(database, config_path)


def _after_the_command(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """The callback of a global option given after the subcommand: it sets what the same
    option before the subcommand would have set."""

    def remember(context: click.Context, _parameter: click.Parameter, value: Any) -> None:
        from orchestrator_feedback.cli.common import Settings

        if value is not None:
            setattr(context.find_object(Settings), name, value)

    return remember


def _global_options() -> list[click.Option]:
    return [
        click.Option(
            ["--database"],
            metavar="PATH_OR_URL",
            expose_value=False,
            callback=_after_the_command("_database"),
            help="As before the command: SQLite path or URL.",
        ),
        click.Option(
            ["--config", "config_path"],
            metavar="FILE",
            type=click.Path(dir_okay=False),
            expose_value=False,
            callback=_after_the_command("_config_path"),
            help="As before the command: TOML configuration.",
        ),
    ]


def main() -> None:
    """Run the command line; database errors end in one sentence, not a traceback."""
    import sqlite3

    try:
        cli(standalone_mode=True)
    except sqlite3.Error as error:  # pragma: no cover - commands catch their own
        from orchestrator_feedback.cli.output import visible

        raise SystemExit(visible(f"Error: {error}")) from None

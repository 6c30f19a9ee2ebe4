"""The ``orchestrator-feedback`` command line (also ``python -m orchestrator_feedback``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import click

from orchestrator_feedback.cli import (
    analysis,
    entries,
    metrics,
    migrate,
    plugins,
    report,
    scores,
    transfer,
    watch,
)
from orchestrator_feedback.cli.common import Settings
from orchestrator_feedback.cli.output import visible

__all__ = ["cli", "main"]


@click.group(
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
    context.obj = Settings(database, config_path)


def _after_the_command(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """The callback of a global option given after the subcommand: it sets what the same
    option before the subcommand would have set."""

    def remember(context: click.Context, _parameter: click.Parameter, value: Any) -> None:
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


for module in (entries, analysis, scores, report, watch, metrics, transfer, plugins, migrate):
    for command in module.COMMANDS:
        # Global options are taken after the subcommand too (`list --database x.db`).
        command.params.extend(_global_options())
        cli.add_command(command)


def main() -> None:
    """Run the command line; database errors end in one sentence, not a traceback."""
    try:
        cli(standalone_mode=True)
    except sqlite3.Error as error:  # pragma: no cover - commands catch their own
        raise SystemExit(visible(f"Error: {error}")) from None

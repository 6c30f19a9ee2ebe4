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

__all__ = ["cli", "main"]

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


class _LazyGroup(click.Group):
    """A group whose commands are imported when asked for (click's documented pattern)."""

    def list_commands(self, context: click.Context) -> list[str]:
        return sorted({*super().list_commands(context), *COMMAND_MODULES})

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

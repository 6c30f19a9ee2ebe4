"""Commands about the plugin system: plugins, demo."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from orchestrator_feedback.cli.common import Settings, WholeRange, fails_cleanly
from orchestrator_feedback.cli.output import data_text, default_format, format_option, print_rows
from orchestrator_feedback.host import get_plugin_manager, list_plugins
from orchestrator_feedback.serialization import converter

pass_settings = click.make_pass_decorator(Settings)


@click.command(epilog="Example: orchestrator-feedback plugins --format json")
@format_option()
@click.option("--json", "as_json", is_flag=True, hidden=True, help="As --format json.")
@pass_settings
@fails_cleanly
def plugins(settings: Settings, output_format: str | None, as_json: bool) -> None:
    """List plugins found: name, version, hooks, status, and why a failed one failed."""
    manager = get_plugin_manager(settings.config)
    try:
        infos = list_plugins(manager)
    finally:
        manager.close()
    chosen = "json" if as_json else default_format(output_format)
    if chosen == "json":
        click.echo(json.dumps(converter.unstructure(infos), indent=2))
        return
    if chosen in ("jsonl", "csv"):
        records = [converter.unstructure(info) for info in infos]
        columns = ("name", "version", "distribution", "status", "hooks", "error")
        print_rows(columns, [[record[c] for c in columns] for record in records], chosen)
        return
    table = Table()
    for column in ("name", "version", "distribution", "status", "hooks", "error"):
        table.add_column(column, overflow="fold")
    for info in infos:
        status = {"active": "[green]active[/green]", "failed": "[red]failed[/red]"}.get(
            info.status, info.status
        )
        table.add_row(
            data_text(info.name),
            data_text(info.version or ""),
            data_text(info.distribution or ""),
            status,
            ", ".join(info.hooks),
            data_text(info.error or ""),
        )
    Console(highlight=False).print(table)


@click.command(epilog="Example: orchestrator-feedback --database demo.db demo --jobs 20")
@click.option(
    "--jobs",
    type=WholeRange(min=1),
    default=8,
    show_default=True,
    help="Jobs to run, one after another (each split into 2-4 subtasks run at once).",
)
@click.option(
    "--seed",
    type=int,
    default=7,
    show_default=True,
    help="Seed of the workers' luck and the advice's draws: the same seed, the same runs.",
)
@pass_settings
@fails_cleanly
def demo(settings: Settings, jobs: int, seed: int) -> None:
    """Run the toy orchestrator against the database and print what was stored."""
    from orchestrator_feedback.toy_orchestrator import run_demo

    run_demo(settings.database, jobs=jobs, seed=seed)


COMMANDS = [plugins, demo]

"""``migrate``: bring an older store's schema up to date, backing it up first."""

from __future__ import annotations

import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from orchestrator_feedback.cli.common import Settings, fails_cleanly
from orchestrator_feedback.errors import FeedbackError, SchemaUpgradeNeeded
from orchestrator_feedback.host import local_file, open_storage, storage_options

pass_settings = click.make_pass_decorator(Settings)

EXIT_MIGRATION_PENDING = 1
"""``migrate --check``'s exit status when the store needs a migration (0: it does not), so a
deployment script can tell, as ``django-admin makemigrations --check`` does."""


def backup_sqlite(path: Path, found: int) -> Path:
    """Copy the store with SQLite's online backup (consistent even while others write) to
    ``<path>.v<found>-<UTC time>.bak`` beside it; return that path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.v{found}-{stamp}.bak")
    source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    except sqlite3.Error as error:
        target.unlink(missing_ok=True)
        raise FeedbackError(
            f"could not back {path} up to {target} ({error}): nothing was migrated"
        ) from None
    finally:
        source.close()
    return target


@click.command(
    epilog="Example: orchestrator-feedback migrate --check   (then: orchestrator-feedback migrate)"
)
@click.option(
    "--check",
    is_flag=True,
    help="Only say whether a migration is needed and what it does (exit 1 if one is).",
)
@click.option(
    "--skip-backup",
    is_flag=True,
    help="PostgreSQL: migrate without a backup of ours (take one with pg_dump first).",
)
@pass_settings
@fails_cleanly
def migrate(settings: Settings, check: bool, skip_backup: bool) -> None:
    """Upgrade the store's schema to this version's, in one transaction. A SQLite store is
    first copied beside itself with SQLite's online backup; for PostgreSQL, take a backup
    with pg_dump and give --skip-backup. No other command changes a schema."""
    database = settings.database
    try:
        with settings.storage() as storage:
            click.echo(
                f"{storage.backend.url}: schema version {storage.schema_version}, this "
                "version's: nothing to migrate",
                err=True,
            )
            return
    except SchemaUpgradeNeeded as needed:
        pending = needed
    steps = ", ".join(str(number) for number in range(pending.found + 1, pending.wanted + 1))
    if check:
        click.echo(
            f"{pending.where}: schema version {pending.found}; `migrate` would apply "
            f"migration{'s' if pending.wanted - pending.found > 1 else ''} {steps} in one "
            f"transaction, to version {pending.wanted} (tables and triggers added or "
            "changed, the rollups rebuilt from the entries; no entry changes)",
            err=True,
        )
        sys.exit(EXIT_MIGRATION_PENDING)
    path = local_file(database)
    if path is not None:
        backup = backup_sqlite(path, pending.found)
        click.echo(f"backed up {path} to {backup}", err=True)
    elif not skip_backup:
        raise FeedbackError(
            f"{pending.where} needs migrations {steps}: back it up first (pg_dump "
            "--format=custom --file feedback-before-migrate.dump DATABASE_URL), then run "
            "`orchestrator-feedback migrate --skip-backup`"
        )
    with open_storage(database, **storage_options(settings.config)) as storage:
        click.echo(
            f"{storage.backend.url}: migrated from schema version {pending.found} to "
            f"{storage.schema_version}",
            err=True,
        )


COMMANDS = [migrate]

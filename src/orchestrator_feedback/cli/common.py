"""What every command shares: opening the store, parsing times and ages, failing cleanly."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, NoReturn, TypeVar

import attrs
import click

from orchestrator_feedback.cli.output import visible
from orchestrator_feedback.config import (
    ENV_DATABASE,
    FeedbackConfig,
    config_search_path,
    find_config_file,
    load_config,
)
from orchestrator_feedback.durations import DURATION, parse_duration
from orchestrator_feedback.errors import FeedbackError, FeedbackValidationError
from orchestrator_feedback.host import (
    get_plugin_manager,
    local_file,
    open_storage,
    storage_options,
)
from orchestrator_feedback.models import FeedbackType
from orchestrator_feedback.privacy import MAX_RETENTION_DAYS
from orchestrator_feedback.storage import FeedbackStorage

Command = TypeVar("Command", bound=Callable[..., Any])


def _spelled_range(low: float | None, high: float | None) -> str:
    if high is None or high >= 2**53:  # "no upper bound" as far as a person is concerned
        return f"{low:,g} or more" if low is not None else "any number"
    if low is None:
        return f"at most {high:,g}"
    return f"{low:,g} to {high:,g}"


class WholeRange(click.IntRange):
    """``click.IntRange`` whose help and errors say "1 to 5" or "0 or more", as people write
    ranges, not ``0<=x<=9223372036854775807``."""

    def _describe_range(self) -> str:
        return _spelled_range(self.min, self.max)


class NumberRange(click.FloatRange):
    """``click.FloatRange`` with ranges said as ``WholeRange`` says them."""

    def _describe_range(self) -> str:
        return _spelled_range(self.min, self.max)


TYPE_CHOICE = click.Choice([t.value for t in FeedbackType])


class Settings:
    """The global options, handed to each command through click's context."""

    def __init__(self, database: str | None, config_path: str | None) -> None:
        self._database = database
        self._config_path = config_path
        self._config: FeedbackConfig | None = None

    @property
    def config(self) -> FeedbackConfig:
        """The configuration (read once, on first use)."""
        if self._config is None:
            self._config = load_config(self._config_path)
        return self._config

    @property
    def database(self) -> str:
        """``--database``, else the configuration's (which honours the environment)."""
        return self._database or self.config.database

    @contextmanager
    def storage(
        self, *, create: bool = False, tell_plugins: bool = False
    ) -> Iterator[FeedbackStorage]:
        """Open the store for one command. A command that only reads (``create`` False)
        refuses a SQLite file that does not exist, rather than create an empty store and
        report that it holds nothing (a mistyped ``--database``). ``tell_plugins``: a command
        that changes entries does it through the plugin manager, as the API does, so every
        enabled plugin hears of each committed change (``feedback_recorded``,
        ``feedback_updated``, ``feedback_deleted``)."""
        # The command line never changes a schema on its own: `migrate` does (migrate=False).
        options = {**storage_options(self.config), "migrate": False}  # bad config said first
        database = self.database
        if not create:
            self._refuse_a_missing_file(database)
        with open_storage(database, **options) as storage:
            manager = None
            if tell_plugins and self.config.enabled:
                config = attrs.evolve(self.config, database=database, write_mode="sync")
                manager = get_plugin_manager(config, storage=storage)
            try:
                yield storage
            finally:
                if manager is not None:
                    manager.close()

    def _refuse_a_missing_file(self, database: str) -> None:
        path = local_file(database)
        if path is None or path.exists():
            return
        if self._database:
            source = "given with --database"
        elif os.environ.get(ENV_DATABASE):
            source = f"from ${ENV_DATABASE}"
        else:
            found = self._config_path or find_config_file()
            source = (
                f"from {found}"
                if found is not None and self.config.database == database
                else "the default"
            )
            if found is None:
                search = config_search_path()
                source += (
                    f"; no {search[0].name} in {search[0].parent}, the folders above it "
                    f"or {search[-1].parent}"
                )
        raise FeedbackError(
            f"no store at {path} ({source}): check the path, or create one with "
            "`orchestrator-feedback init` (commands that write create it)"
        )


def parse_age(text: str) -> timedelta:
    """``90d``, ``12h``, ``30m``, ``2w``, ``45s`` as a timedelta."""
    try:
        return parse_duration(text, "age")
    except FeedbackValidationError as error:
        if error.rule.startswith("must be a duration"):
            raise click.BadParameter(
                f"{text!r} is not an age such as 90d, 12h, 30m or 2w"
            ) from None
        raise click.BadParameter(
            f"{text!r} is longer than {MAX_RETENTION_DAYS:,} days, the longest age accepted"
        ) from None


def parse_when(text: str) -> datetime:
    """An ISO date or time (naive means local), or an age ago such as ``7d``."""
    if DURATION.match(text):
        return datetime.now(UTC) - parse_age(text)
    try:
        moment = datetime.fromisoformat(text)
        moment.astimezone(UTC)  # year 1 at +14:00 is before the year 1 in UTC
        return moment
    except OverflowError:
        raise click.BadParameter(f"{text!r} falls outside the years 1 to 9999 in UTC") from None
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither an ISO date or time (2026-01-31, 2026-01-31T12:00) "
            "nor an age such as 7d or 12h"
        ) from None


EXIT_BROKEN_PIPE = 141
"""The exit status when the reader of our output goes away (``export | head``): 128 +
SIGPIPE, as a command killed by that signal reports, but without a message."""


def quiet_exit_on_broken_pipe() -> NoReturn:
    """End the command quietly: the reader of its output has gone away."""
    # What is still buffered for stdout would fail again when Python flushes it at exit
    # (and print "Exception ignored"): point stdout at /dev/null first.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (a test runner's stream)
        pass
    raise SystemExit(EXIT_BROKEN_PIPE)


def fails_cleanly(command: Command) -> Command:
    """Turn library errors into one line on stderr and exit status 1, without a traceback.
    The line may quote stored text or a file's contents (a database's error, an import's
    field name): its control characters are shown escaped, never acted on."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except FeedbackError as error:
            raise click.ClickException(visible(str(error))) from None
        except BrokenPipeError:
            quiet_exit_on_broken_pipe()
        except UnicodeEncodeError as error:
            # An argument with a byte that is not UTF-8 (Python keeps it as a lone
            # surrogate), which no database can store or compare.
            bad = error.object[error.start : error.end] if isinstance(error.object, str) else ""
            raise click.ClickException(
                f"an argument is not valid UTF-8 text: {bad.encode('utf-8', 'surrogateescape')!r} "
                "cannot be stored or compared (give it in UTF-8)"
            ) from None
        except OSError as error:
            raise click.ClickException(
                visible(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "))
            ) from None

    return run  # type: ignore[return-value]

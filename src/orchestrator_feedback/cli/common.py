"""What every command shares: opening the store, parsing times and ages, failing cleanly."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

import click

from orchestrator_feedback.config import FeedbackConfig, load_config
from orchestrator_feedback.errors import FeedbackError
from orchestrator_feedback.manager import open_storage, storage_options
from orchestrator_feedback.models import FeedbackType
from orchestrator_feedback.storage import FeedbackStorage

Command = TypeVar("Command", bound=Callable[..., Any])
_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
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
    def storage(self) -> Iterator[FeedbackStorage]:
        """Open the store for one command."""
        with open_storage(self.database, **storage_options(self.config)) as storage:
            yield storage


def parse_age(text: str) -> timedelta:
    """``90d``, ``12h``, ``30m``, ``2w``, ``45s`` as a timedelta."""
    match = _AGE.match(text)
    if not match:
        raise click.BadParameter(f"{text!r} is not an age such as 90d, 12h, 30m or 2w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_when(text: str) -> datetime:
    """An ISO date or time (naive means local), or an age ago such as ``7d``."""
    if _AGE.match(text):
        return datetime.now(UTC) - parse_age(text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither an ISO date or time (2026-01-31, 2026-01-31T12:00) "
            "nor an age such as 7d or 12h"
        ) from None


def fails_cleanly(command: Command) -> Command:
    """Turn library errors into one line on stderr and exit status 1, without a traceback."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except FeedbackError as error:
            raise click.ClickException(str(error)) from None
        except OSError as error:
            raise click.ClickException(
                f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")
            ) from None

    return run  # type: ignore[return-value]

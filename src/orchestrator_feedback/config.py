"""``FeedbackConfig``: the TOML file plus environment overrides, structured by cattrs.

Where it comes from, first match wins: the path given to ``load_config``, the file named
by ``ORCHESTRATOR_FEEDBACK_CONFIG``, ``orchestrator-feedback.toml`` in the working
directory, else the defaults. ``ORCHESTRATOR_FEEDBACK_DATABASE`` and
``ORCHESTRATOR_FEEDBACK_ENABLED`` then override the file.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
from cattrs.gen import make_dict_structure_fn

from orchestrator_feedback.durations import parse_duration
from orchestrator_feedback.errors import FeedbackValidationError
from orchestrator_feedback.models import FeedbackEntry, FeedbackType
from orchestrator_feedback.privacy import check_retention_days
from orchestrator_feedback.serialization import converter, structure_or_explain
from orchestrator_feedback.storage.alerts import AlertSettings
from orchestrator_feedback.storage.backends.sqlite_files import names_no_file
from orchestrator_feedback.storage.ranking import OBJECTIVES, POLICIES
from orchestrator_feedback.storage.rating_types import check_rating_types
from orchestrator_feedback.storage.scores import check_confidence

__all__ = [
    "CONFIG_FILE_NAME",
    "AdviceConfig",
    "AlertsConfig",
    "BackgroundConfig",
    "CollectionPointConfig",
    "FeedbackConfig",
    "PluginsConfig",
    "PrivacyConfig",
    "RetentionConfig",
    "ScoresConfig",
    "config_search_path",
    "find_config_file",
    "load_config",
]

CONFIG_FILE_NAME = "orchestrator-feedback.toml"
ENV_CONFIG = "ORCHESTRATOR_FEEDBACK_CONFIG"
ENV_DATABASE = "ORCHESTRATOR_FEEDBACK_DATABASE"
ENV_ENABLED = "ORCHESTRATOR_FEEDBACK_ENABLED"
ENV_WRITE_MODE = "ORCHESTRATOR_FEEDBACK_WRITE_MODE"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _within_model_limit(attribute: attrs.Attribute[Any], value: Any) -> None:
    limit = FeedbackEntry.max_content_length
    if isinstance(value, int) and value > limit:
        raise FeedbackValidationError(
            attribute.name,
            value,
            f"must be at most {limit:,} (FeedbackEntry.max_content_length, the longest content "
            "any entry may have; raise that in code for longer content)",
        )


def _at_least(bound: float) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    """An attrs validator: the value is at least ``bound``; the error names the field."""

    def check(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not value >= bound:  # "not >=" refuses NaN too
            raise FeedbackValidationError(attribute.name, value, f"must be at least {bound}")
        if value == math.inf:
            raise FeedbackValidationError(attribute.name, value, "must be a finite number")

    return check


def _one_of(*choices: str) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    """An attrs validator: the value is one of ``choices``; the error names the field."""

    def check(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in choices:
            raise FeedbackValidationError(
                attribute.name, value, f"must be one of: {', '.join(choices)}"
            )

    return check


def _database_named(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """An attrs validator: the database is named; an empty one would be a throwaway
    temporary database (SQLite's meaning of ""), where nothing is kept."""
    if names_no_file(value):
        raise FeedbackValidationError(
            attribute.name,
            value,
            "must name a database file or URL (an empty one would keep nothing; "
            "say ':memory:' for a database that lives only while the process runs)",
        )


@attrs.frozen(kw_only=True)
class CollectionPointConfig:
    """One collection point of the ``FeedbackCollector`` (``[collection_points.NAME]``)."""

    enabled: bool = True
    """A disabled point stores nothing."""
    prompt: str | None = None
    """The question ``request_feedback`` asks at this point."""
    feedback_type: FeedbackType | None = None
    """The type of what is stored here, if not the point's usual one."""


@attrs.frozen(kw_only=True)
class PluginsConfig:
    """Which third-party plugins load (``[plugins]``), and each one's own settings."""

    enable: tuple[str, ...] | None = None
    """Only these entry-point names load; None (the default) loads every one found."""
    disable: tuple[str, ...] = ()
    """These never load."""
    settings: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    """``[plugins.NAME]`` tables, read with ``FeedbackConfig.plugin_settings(NAME)``."""


@attrs.frozen(kw_only=True)
class BackgroundConfig:
    """How the background writer groups commits (``[background]``)."""

    queue_size: int = attrs.field(default=10_000, validator=_at_least(1))
    """Entries that may wait; then callers wait (or entries drop, see ``on_full``)."""
    batch_size: int = attrs.field(default=10_000, validator=_at_least(1))
    """The most entries committed together."""
    batch_window_ms: float = attrs.field(default=50.0, validator=_at_least(0))
    """How long the writer waits to fill a group, in milliseconds."""
    on_full: str = attrs.field(default="block", validator=_one_of("block", "drop"))
    """``"block"``: the caller waits for room; ``"drop"``: the entry is dropped, counted, logged."""
    exit_timeout_s: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(_at_least(0))
    )
    """How long interpreter exit waits for queued entries, in seconds;
    unset: as long as it takes. Past it, how many remain unsaved is logged."""


@attrs.frozen(kw_only=True)
class PrivacyConfig:
    """``[privacy]``: what is never stored in plain text."""

    anonymize_user_ids: bool = False
    """Store user ids as keyed HMAC-SHA256 pseudonyms (key: ``ORCHESTRATOR_FEEDBACK_SECRET``)."""
    encrypt_metadata_keys: tuple[str, ...] = ()
    """Metadata keys whose values are Fernet-encrypted
    (keys: ``ORCHESTRATOR_FEEDBACK_ENCRYPTION_KEYS``)."""


@attrs.frozen(kw_only=True)
class RetentionConfig:
    """``[retention]``: how long feedback is kept, in days (``purge`` applies it)."""

    max_age_days: int | None = attrs.field(default=None, validator=check_retention_days)
    """Entries older than this go; unset keeps them."""
    by_type: Mapping[FeedbackType, int] = attrs.field(factory=dict, validator=check_retention_days)
    """``[retention.by_type]``: per-type maximum ages, such as ``error_report = 30``."""


def _duration_or_none(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """An attrs validator: unset, or a duration such as ``7d`` (``durations.py``)."""
    if value is not None and parse_duration(value, attribute.name) <= timedelta(0):
        raise FeedbackValidationError(attribute.name, value, "must be longer than 0")


def _confidence(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """An attrs validator: the API's own check of a confidence, naming the field."""
    try:
        check_confidence(value)
    except FeedbackValidationError as error:
        raise FeedbackValidationError(attribute.name, value, error.rule) from None


@attrs.frozen(kw_only=True)
class AdviceConfig:
    """``[advice]``: how the built-in plugin answers ``allocation_advice``
    (``docs/scores.md``)."""

    policy: str = attrs.field(default="thompson", validator=_one_of(*POLICIES))
    """How candidates are estimated: Thompson sampling, the lower bounds, or the plain
    rates (for comparison only)."""
    objective: str = attrs.field(default="time", validator=_one_of(*OBJECTIVES))
    """What candidates are ranked by: the expected time until a successful result
    (``time``), the success rate (``success``) or the rating of successful results
    (``quality``)."""
    half_life: str | None = attrs.field(default=None, validator=_duration_or_none)
    """Outcomes weigh half as much per this age, such as ``"7d"``; unset: all weigh 1."""
    confidence: float = attrs.field(default=0.95, validator=_confidence)
    """The confidence of the Wilson intervals."""
    refresh_s: float = attrs.field(default=5.0, validator=_at_least(0))
    """Seconds after which the scores held in memory are read again from the store, so
    that other processes' updates and deletions count (new entries count within about
    0.2 s: the scores follow the store)."""

    @property
    def half_life_delta(self) -> timedelta | None:
        """``half_life`` as a timedelta (None when unset)."""
        return None if self.half_life is None else parse_duration(self.half_life, "half_life")


def _rating_types(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_rating_types(value)  # the store's own check: feedback types, at least one


@attrs.frozen(kw_only=True)
class ScoresConfig:
    """``[scores]``: what counts toward a worker's scores (``docs/scores.md``)."""

    rating_types: tuple[str, ...] | None = attrs.field(default=None, validator=_rating_types)
    """The entry types whose rating rates the worker the entry names, such as
    ``["task_completion", "manager_review"]``; unset: the store's (every type unless set
    before). Kept in the store; other ones than the store's count every rating again."""


def _task_types_or_none(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not all(isinstance(name, str) for name in value):
        raise FeedbackValidationError(attribute.name, value, "must be a list of task types")


@attrs.frozen(kw_only=True)
class AlertsConfig:
    """``[alerts]``: change detection on workers' outcomes (``docs/alerts.md``)."""

    enabled: bool = True
    """Whether the built-in plugin's store detects changes and fires ``feedback_alert``."""
    false_alarm_every: int = attrs.field(
        default=100_000, validator=lambda _c, a, v: _check_alert_setting(a.name, v)
    )
    """On average at most one false alarm per this many outcomes of a steady worker, per
    detector."""
    min_outcomes: int = attrs.field(
        default=20, validator=lambda _c, a, v: _check_alert_setting(a.name, v)
    )
    """The outcomes a worker's reference must rest on before it can be called degraded."""
    task_types: tuple[str, ...] | None = attrs.field(default=None, validator=_task_types_or_none)
    """The task types watched (unset: every one)."""
    poll_s: float = attrs.field(
        default=1.0, validator=lambda _c, a, v: _check_alert_setting("poll", v)
    )
    """Seconds between two looks for alerts in what other processes committed."""
    deprioritise: bool = False
    """Rank the candidates with an open ``degraded`` alert last in ``allocation_advice``
    (off by default: ``docs/alerts.md`` has what it was measured to do)."""

    @property
    def settings(self) -> AlertSettings | None:
        """The store's ``AlertSettings`` (None when disabled)."""
        if not self.enabled:
            return None
        return AlertSettings(
            false_alarm_every=self.false_alarm_every,
            min_outcomes=self.min_outcomes,
            task_types=self.task_types,
            poll=self.poll_s,
        )


def _check_alert_setting(name: str, value: Any) -> None:
    AlertSettings(**{name: value})  # the store's own checks


@attrs.frozen(kw_only=True)
class FeedbackConfig:
    """Everything orchestrator-feedback can be configured with."""

    enabled: bool = True
    """Whether the built-in plugin stores feedback at all."""
    database: str = attrs.field(default="feedback.db", validator=_database_named)
    """A SQLite path, ``:memory:``, or a URL such as ``sqlite:///path``."""
    max_content_length: int = attrs.field(
        default=65_536, validator=[_at_least(1), lambda _c, a, v: _within_model_limit(a, v)]
    )
    """The longest ``content`` the manager's hooks and collector record, in characters: a
    setting of each manager built with this configuration, at most the model's own limit
    (``FeedbackEntry.max_content_length``, 65,536 unless your code raises it)."""
    strict: bool = False
    """Let plugin errors reach the host, and fail on a plugin that does not load."""
    write_mode: str = attrs.field(default="sync", validator=_one_of("sync", "background"))
    """``"sync"``: a hook call returns once its entry is committed (its result holds the
    entry) or once the store refused it (no entry in the result); ``"background"``: it
    returns once the entry is validated and queued for the writer thread."""
    on_not_stored: str = attrs.field(default="log", validator=_one_of("log", "raise"))
    """Sync mode, when the store refuses an entry (a full disk, a database locked past the
    timeout, a lost connection): ``"log"`` logs it, counts it in ``not_stored`` and leaves
    it out of the hook's result; ``"raise"`` also raises ``FeedbackNotStoredError`` to the
    host from the hook call."""
    background: BackgroundConfig = attrs.field(factory=BackgroundConfig)
    """``[background]``: the writer thread's grouping."""
    history: bool = True
    """Keep every version that ``update`` and ``delete`` replace."""
    privacy: PrivacyConfig = attrs.field(factory=PrivacyConfig)
    """``[privacy]``: pseudonymous user ids, encrypted metadata values."""
    retention: RetentionConfig = attrs.field(factory=RetentionConfig)
    """``[retention]``: maximum ages, for ``purge``."""
    plugins: PluginsConfig = attrs.field(factory=PluginsConfig)
    """``[plugins]``: which plugins load, and their settings."""
    collection_points: Mapping[str, CollectionPointConfig] = attrs.field(factory=dict)
    """``[collection_points.NAME]``: the collector's points, by name."""
    advice: AdviceConfig = attrs.field(factory=AdviceConfig)
    """``[advice]``: how ``allocation_advice`` is answered."""
    scores: ScoresConfig = attrs.field(factory=ScoresConfig)
    """``[scores]``: what counts toward a worker's scores."""
    alerts: AlertsConfig = attrs.field(factory=AlertsConfig)
    """``[alerts]``: change detection on workers' outcomes."""

    def plugin_settings(self, name: str) -> Mapping[str, Any]:
        """Return the ``[plugins.NAME]`` table for plugin ``name`` (empty if none)."""
        return self.plugins.settings.get(name, {})

    def collection_point(self, name: str) -> CollectionPointConfig:
        """Return the configuration of collection point ``name`` (defaults if none)."""
        return self.collection_points.get(name) or CollectionPointConfig()


_structure_name_items = converter.get_structure_hook(tuple[str, ...])


def _structure_names(value: Any, _type: Any) -> tuple[str, ...]:
    """A list of names; a lone string is refused, not read as a list of its letters."""
    if not isinstance(value, list | tuple):
        raise FeedbackValidationError(
            "value", value, 'must be a list of names, such as ["a", "b"] (not a single string)'
        )
    names: tuple[str, ...] = _structure_name_items(value, tuple[str, ...])
    return names


converter.register_structure_hook_func(lambda cls: cls == tuple[str, ...], _structure_names)


_structure_plugins_fields = make_dict_structure_fn(PluginsConfig, converter)


def _structure_plugins(value: Any, _type: type) -> PluginsConfig:
    if not isinstance(value, Mapping):
        raise FeedbackValidationError("plugins", value, "must be a table")
    fields = {key: value[key] for key in ("enable", "disable") if key in value}
    settings = {key: item for key, item in value.items() if key not in fields}
    for name, table in settings.items():
        if not isinstance(table, Mapping):
            raise FeedbackValidationError(
                f"plugins.{name}", table, "must be a table of that plugin's settings"
            )
    return _structure_plugins_fields({**fields, "settings": settings}, PluginsConfig)


converter.register_structure_hook(PluginsConfig, _structure_plugins)
converter.register_structure_hook_func(
    lambda cls: cls == Mapping[FeedbackType, int],
    lambda value, _type: {
        converter.structure(key, FeedbackType): converter.structure(days, int)
        for key, days in value.items()
    },
)
converter.register_structure_hook_func(
    lambda cls: cls == Mapping[str, Mapping[str, Any]], lambda value, _type: dict(value)
)


def _parse_bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise FeedbackValidationError(name, text, "must be one of 1, true, yes, on, 0, false, no, off")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise FeedbackValidationError("config", str(path), "file does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise FeedbackValidationError("config", str(path), f"is not valid TOML: {error}") from None
    except RecursionError:
        raise FeedbackValidationError(
            "config", str(path), "nests values too deeply to be read"
        ) from None
    except UnicodeDecodeError as error:
        raise FeedbackValidationError(
            "config", str(path), f"is not UTF-8 text ({error.reason})"
        ) from None


def config_from_mapping(data: Mapping[str, Any], *, location: str | None = None) -> FeedbackConfig:
    """Structure a config table (as TOML gives it), naming the path of any bad key."""
    config: FeedbackConfig = structure_or_explain(dict(data), FeedbackConfig, location=location)
    return config


def config_search_path() -> list[Path]:
    """Where ``load_config`` looks for ``orchestrator-feedback.toml`` when neither a path nor
    ``ORCHESTRATOR_FEEDBACK_CONFIG`` names one, first found wins: the working directory and
    each folder above it (as git, ruff and pytest find theirs), then the user's configuration
    folder (``platformdirs.user_config_dir``: ``~/.config/orchestrator-feedback`` on Linux)."""
    import platformdirs

    here = Path.cwd()
    folders = [here, *here.parents]
    folders.append(Path(platformdirs.user_config_dir("orchestrator-feedback")))
    return [folder / CONFIG_FILE_NAME for folder in folders]


def find_config_file() -> Path | None:
    """The configuration file ``load_config`` reads, or None (defaults and environment)."""
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG])
    return next((candidate for candidate in config_search_path() if candidate.is_file()), None)


def load_config(path: str | os.PathLike[str] | None = None) -> FeedbackConfig:
    """Read the configuration from ``path``, else ``ORCHESTRATOR_FEEDBACK_CONFIG``, else the
    first ``orchestrator-feedback.toml`` of ``config_search_path()``; then the environment's
    overrides; defaults for the rest."""
    chosen: Path | None = Path(path) if path is not None else find_config_file()
    data = _read_toml(chosen) if chosen is not None else {}
    config = config_from_mapping(data, location=str(chosen) if chosen else None)
    overrides: dict[str, Any] = {}
    if os.environ.get(ENV_DATABASE):
        overrides["database"] = os.environ[ENV_DATABASE]
    if os.environ.get(ENV_ENABLED):
        overrides["enabled"] = _parse_bool(ENV_ENABLED, os.environ[ENV_ENABLED])
    if os.environ.get(ENV_WRITE_MODE):
        mode = os.environ[ENV_WRITE_MODE].strip().lower()
        if mode not in ("sync", "background"):
            raise FeedbackValidationError(ENV_WRITE_MODE, mode, "must be sync or background")
        overrides["write_mode"] = mode
    return attrs.evolve(config, **overrides) if overrides else config

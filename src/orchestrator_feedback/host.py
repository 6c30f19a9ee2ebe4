"""The host's wiring: build a plugin manager with the built-in plugin and its store from
the configuration, open a store on a path or URL, list the plugins found."""

from __future__ import annotations

import logging
import os
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from orchestrator_feedback.config import FeedbackConfig, load_config
from orchestrator_feedback.errors import FeedbackError
from orchestrator_feedback.privacy import PrivacyPolicy, RetentionPolicy
from orchestrator_feedback.storage.backends.base import StorageBackend
from orchestrator_feedback.storage.backends.registry import BUILTIN_SCHEMES, url_scheme
from orchestrator_feedback.storage.backends.sqlite_files import names_no_file, sqlite_path_from_url
from orchestrator_feedback.storage.store import FeedbackStorage

if TYPE_CHECKING:
    import pluggy

    from orchestrator_feedback.manager import FeedbackPluginManager, PluginInfo

# The plugin manager, pluggy and the built-in plugin are imported by the functions that
# build or read one: a command that only opens a store does not pay for them at start-up.

__all__ = [
    "ENV_TRACE",
    "get_plugin_manager",
    "list_plugins",
    "local_file",
    "open_storage",
    "storage_options",
]

ENV_TRACE = "ORCHESTRATOR_FEEDBACK_TRACE"


def _trace_to_log(manager: FeedbackPluginManager) -> None:
    trace_log = logging.getLogger("orchestrator_feedback.trace")
    manager.trace.root.setwriter(lambda message: trace_log.debug(message.rstrip()))
    manager.enable_tracing()


def get_plugin_manager(
    config: FeedbackConfig | None = None,
    *,
    storage: FeedbackStorage | None = None,
    load_entrypoints: bool = True,
) -> FeedbackPluginManager:
    """Build a plugin manager: hookspecs, the built-in plugin, then third-party plugins.

    ``config`` defaults to ``load_config()``. ``storage`` is the store the built-in
    plugin writes to (default: one opened on ``config.database``, closed by
    ``manager.close()``). ``load_entrypoints=False`` skips third-party plugins.
    """
    config = config if config is not None else load_config()
    from orchestrator_feedback.manager import FeedbackPluginManager
    from orchestrator_feedback.plugin import BUILTIN_PLUGIN_NAME, FeedbackPlugin

    manager = FeedbackPluginManager(config)
    if os.environ.get(ENV_TRACE):
        _trace_to_log(manager)
    if load_entrypoints:
        manager.load_entry_points()  # first, so that a plugin can serve the database URL
    if config.enabled:
        if storage is None:
            storage = open_storage(
                config.database, manager, **storage_options(config), alerts=config.alerts.settings
            )
            manager.own(storage)
        plugin = FeedbackPlugin(storage, manager, write_mode=config.write_mode)
        manager.register(plugin, name=BUILTIN_PLUGIN_NAME)
    manager.hook.feedback_configure.call_historic(kwargs={"config": config})
    return manager


def storage_options(config: FeedbackConfig) -> dict[str, Any]:
    """The ``FeedbackStorage`` keyword arguments a configuration asks for.

    Raises ``FeedbackError`` at once when anonymisation is on and no secret is set.
    """
    background = config.background
    privacy = PrivacyPolicy.from_environment(
        anonymize_user_ids=config.privacy.anonymize_user_ids,
        encrypt_metadata_keys=config.privacy.encrypt_metadata_keys,
    )
    return {
        "queue_size": background.queue_size,
        "batch_size": background.batch_size,
        "batch_window": background.batch_window_ms / 1000,
        "on_full": background.on_full,
        "exit_timeout": background.exit_timeout_s,
        "history": config.history,
        "score_refresh": config.advice.refresh_s,
        "rating_types": config.scores.rating_types,
        "privacy": privacy,
        "retention": RetentionPolicy(
            max_age_days=config.retention.max_age_days, by_type=dict(config.retention.by_type)
        ),
    }


def local_file(database: str) -> Path | None:
    """The file a database path or ``sqlite://`` URL names; None for ``:memory:`` and for
    every other kind of URL (a server's database)."""
    if url_scheme(database) not in (None, "sqlite") or names_no_file(database):
        return None
    path = sqlite_path_from_url(database)
    return None if path == ":memory:" else Path(path)


def open_storage(
    database: str,
    plugin_manager: pluggy.PluginManager | None = None,
    *,
    pool_size: int = 5,
    timeout: float = 30.0,
    **options: Any,
) -> FeedbackStorage:
    """Open a store on a path or URL, asking plugins (``feedback_backend``) for any URL
    scheme that is not built in. Without ``plugin_manager`` the configured plugins load."""
    scheme = url_scheme(database)
    if scheme is None or scheme in BUILTIN_SCHEMES:
        return FeedbackStorage(database, pool_size=pool_size, timeout=timeout, **options)
    if plugin_manager is None:
        from orchestrator_feedback.manager import FeedbackPluginManager

        # Only the plugins, to ask them: no built-in plugin, no store of its own.
        plugin_manager = FeedbackPluginManager(attrs.evolve(load_config(), enabled=False))
        plugin_manager.load_entry_points()
    backend = plugin_manager.hook.feedback_backend(
        url=database, pool_size=pool_size, timeout=timeout
    )
    if backend is None:
        raise FeedbackError(
            f"no storage backend for {scheme}:// URLs: none is built in (sqlite, postgresql) "
            "and no installed plugin serves it through the feedback_backend hook"
        )
    if not isinstance(backend, StorageBackend):
        raise FeedbackError(
            f"a plugin's feedback_backend answered {scheme}:// with a "
            f"{type(backend).__name__}, not a StorageBackend: that plugin is broken"
        )
    return FeedbackStorage(backend, **options)


def list_plugins(manager: pluggy.PluginManager) -> list[PluginInfo]:
    """Every plugin found: the built-in one, entry-point plugins (even refused ones), and
    any registered by hand, with version, hooks, status and the error of a failed one."""
    from orchestrator_feedback.manager import PluginInfo
    from orchestrator_feedback.plugin import BUILTIN_PLUGIN_NAME

    found = dict(getattr(manager, "found", {}))
    infos: list[PluginInfo] = []
    for name, plugin in manager.list_name_plugin():
        if plugin is None:
            continue
        hooks = sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])
        info = found.pop(name, None)
        if info is None:
            distribution = "orchestrator-feedback" if name == BUILTIN_PLUGIN_NAME else None
            version = _version(distribution) if distribution else None
            info = PluginInfo(
                name=name, version=version, distribution=distribution, hooks=[], status="active"
            )
        info = attrs.evolve(info, hooks=hooks, status="active")
        infos.append(info)
    infos.extend(found.values())
    return sorted(infos, key=lambda info: (info.name != BUILTIN_PLUGIN_NAME, info.name))


def _version(distribution: str) -> str | None:
    try:
        return importlib_metadata.version(distribution)
    except importlib_metadata.PackageNotFoundError:
        return None
